"""Incremental builds: what a build read decides what is rebuilt, and nothing else.

The staleness tests run in a scratch repository (a copy of the templates, styles and code
with two small publications of its own, committed with git), so they can edit any kind of
input and ask the real `build.py` which publications it would rebuild.
"""

import json
import re
import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager

import pytest

from conftest import PROJECT, ROOT

BUILD = [sys.executable, "build.py"]
PLAN = ("import json; from trotter.project import Project; "
        "from trotter.runner import catalog, plan; project = Project.of_checkout(); "
        "current, todo = plan(project, catalog(project), 'print'); "
        "print(json.dumps(sorted(e.id for e, _ in todo)))")

CAHIER_YML = """\
id: {id}
kind: cahier
series: Proefreeks
number: {number}
title: Proef {id}
language: nl
trim: 210mm 297mm
template: cahier.html.j2
stylesheet: cahier.css
pages: {{multiple: 4}}
colophon: colofon.md
sources:
  - tekst.md
"""
BROCHURE_YML = """\
id: folder
kind: brochure
title: Proeffolder
language: nl
trim: 148mm 210mm
template: brochure.html.j2
stylesheet: brochure.css
pages: {multiple: 4}
sources:
  - tekst.md
"""
TEXT_A = """\
# Een proef {#proef}

Een alinea met een verwijzing naar de lijst (zie [[#lijst]]) en een ![kaart][kaart].

- !include in-lijst.md

> !include in-citaat.md

| kolom |
|---|
| ![cel](cel.svg) |

## Lijst {#lijst}

![Een kaart](<beelden/café kaart.svg>)

::: wat Een begrip
Uitleg in een kader met een pictogram uit de stylesheet.
:::

[kaart]: referentie.svg
"""
SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="20" height="10">'
       '<rect width="20" height="10" fill="#{}"/></svg>')


def git(repo, *args, date: int | None = None):
    when = {"GIT_COMMITTER_DATE": f"@{date} +0000"} if date else {}
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t", **when})


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """A repository with cahier `a` (includes in a list, a quote and a table cell, a
    reference-style image, an image named with a space and an accent, a box whose icon comes
    from the stylesheet), cahier `b` (plain text) and brochure `folder`."""
    repo = tmp_path_factory.mktemp("repo")
    for name in ("trotter", "templates", "styles", ".cache"):
        shutil.copytree(ROOT / name, repo / name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("build.py", "README.md", "pyproject.toml"):
        shutil.copy(ROOT / name, repo / name)
    (repo / ".gitignore").write_text("/dist/\n/.cache/\n__pycache__/\n")
    a, b, folder = repo / "cahiers" / "01-a", repo / "cahiers" / "02-b", repo / "brochure"
    for path, number in ((a, 1), (b, 2)):
        path.mkdir(parents=True)
        (path / "publication.yml").write_text(CAHIER_YML.format(id=path.name[3:],
                                                                number=number))
        (path / "colofon.md").write_text(f"Colofon van proef {number}.\n")
    (a / "tekst.md").write_text(TEXT_A)
    for name, text in (("in-lijst.md", "Een punt uit een ander bestand."),
                       ("in-citaat.md", "Een citaat uit een ander bestand.")):
        (a / name).write_text(text + "\n")
    (a / "beelden").mkdir()
    for name, colour in (("cel.svg", "336699"), ("referentie.svg", "993366"),
                         ("beelden/café kaart.svg", "669933")):
        (a / name).write_text(SVG.format(colour))
    (b / "tekst.md").write_text("# Gewoon {#gewoon}\n\nGewone tekst zonder meer.\n")
    folder.mkdir()
    (folder / "publication.yml").write_text(BROCHURE_YML)
    (folder / "tekst.md").write_text("# De folder {#folder}\n\nKorte tekst.\n")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "start")
    built = subprocess.run(BUILD + ["build"], cwd=repo, capture_output=True, text=True)
    assert built.returncode == 0, built.stdout + built.stderr
    return repo


def to_rebuild(repo):
    done = subprocess.run([sys.executable, "-c", PLAN], cwd=repo, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout))


CASES = [
    ("cahiers/01-a/in-lijst.md", {"a"}),               # include in a list item
    ("cahiers/01-a/in-citaat.md", {"a"}),              # include in a blockquote
    ("cahiers/01-a/cel.svg", {"a"}),                   # image in a table cell
    ("cahiers/01-a/referentie.svg", {"a"}),            # reference-style image
    ("cahiers/01-a/beelden/café kaart.svg", {"a"}),    # space and accent in the name
    ("cahiers/01-a/colofon.md", {"a"}),
    ("cahiers/02-b/tekst.md", {"b"}),
    ("styles/icons/wat.svg", {"a"}),                   # image loaded from CSS
    ("styles/cahier.css", {"a", "b"}),                 # a publication's stylesheet
    ("styles/brochure.css", {"folder"}),
    ("styles/tokens.css", {"a", "b", "folder"}),
    ("templates/partials/cahier-backcover.html.j2", {"a", "b"}),   # a template partial
    ("templates/partials/toc.html.j2", {"folder"}),
    ("trotter/model.py", {"a", "b", "folder"}),        # build code
    ("trotter/serve.py", set()),                       # code that takes no part
    ("trotter/release.py", set()),
    ("README.md", set()),                              # an unrelated file
]


@pytest.mark.parametrize("name,expected", CASES, ids=[c[0] for c in CASES])
def test_a_change_rebuilds_exactly_the_publications_that_read_it(repo, name, expected):
    path = repo / name
    original = path.read_bytes()
    assert to_rebuild(repo) == set()
    try:
        path.write_bytes(original + (b"\n" if path.suffix != ".svg" else b"<!-- x -->"))
        assert to_rebuild(repo) == expected
    finally:
        path.write_bytes(original)
    assert to_rebuild(repo) == set()          # the same bytes again: nothing to do


def test_a_font_loaded_from_css_is_an_input(repo):
    font = next((repo / ".cache" / "fonts").glob("SourceCodePro-400.ttf"))
    original = font.read_bytes()
    try:
        font.write_bytes(original + b"\0")
        assert to_rebuild(repo) == {"a", "b", "folder"}
    finally:
        font.write_bytes(original)


def test_a_new_cahier_changes_the_series_on_the_other_back_covers(repo):
    new = repo / "cahiers" / "03-c"
    shutil.copytree(repo / "cahiers" / "02-b", new)
    (new / "publication.yml").write_text(CAHIER_YML.format(id="c", number=3))
    try:
        assert to_rebuild(repo) == {"a", "b", "c"}
    finally:
        shutil.rmtree(new)


def test_a_commit_that_touches_only_the_readme_rebuilds_nothing(repo):
    before = {p.name: p.read_bytes() for p in (repo / "dist" / "print").glob("*.pdf")}
    (repo / "README.md").write_text("Een andere README.\n")
    git(repo, "commit", "-q", "-am", "README only")
    assert to_rebuild(repo) == set()
    run = subprocess.run(BUILD + ["build"], cwd=repo, capture_output=True, text=True)
    assert run.returncode == 0 and "done" not in run.stdout
    assert before == {p.name: p.read_bytes() for p in (repo / "dist" / "print").glob("*.pdf")}


def test_a_commit_that_touches_an_input_gives_that_publication_a_new_date(repo):
    text = repo / "cahiers" / "02-b" / "tekst.md"
    text.write_text(text.read_text() + "\nNog een zin.\n")
    run = subprocess.run(BUILD + ["build"], cwd=repo, capture_output=True, text=True)
    assert "b: done" in run.stdout
    later = int(subprocess.run(["git", "log", "-1", "--format=%ct"], cwd=repo, text=True,
                               capture_output=True).stdout) + 60
    git(repo, "commit", "-q", "-am", "text of b", date=later)   # a commit time of its own
    assert to_rebuild(repo) == {"b"}                           # new source date


HEAD = ("import json, pathlib; from trotter import deps; "
        "print(json.dumps(deps._head(pathlib.Path.cwd())))")


def test_the_commit_read_from_git_files_is_the_one_git_names(repo):
    """The source dates are cached per commit; the commit is read from .git without starting
    git, loose ref and packed ref alike, and must be exactly what git says."""
    def ours():
        run = subprocess.run([sys.executable, "-c", HEAD], cwd=repo, capture_output=True,
                             text=True)
        assert run.returncode == 0, run.stderr
        return json.loads(run.stdout)

    def gits():
        return subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()

    assert ours() == gits()
    git(repo, "pack-refs", "--all")                          # no loose ref any more
    assert ours() == gits()
    git(repo, "commit", "-q", "--allow-empty", "-m", "empty")  # a loose ref again, moved
    assert ours() == gits()
    git(repo, "checkout", "-q", "--detach")
    try:
        assert ours() == gits()
    finally:
        git(repo, "checkout", "-q", "-")


def test_noop_build_does_not_import_weasyprint(repo):
    assert subprocess.run(BUILD + ["build"], cwd=repo, capture_output=True).returncode == 0
    run = subprocess.run([sys.executable, "-X", "importtime", "build.py", "build"], cwd=repo,
                         capture_output=True, text=True)
    assert run.returncode == 0 and "up to date" in run.stdout
    assert "weasyprint" not in run.stderr and "pypdf" not in run.stderr


def test_a_broken_publication_does_not_stop_the_others(repo):
    yml = repo / "cahiers" / "02-b" / "publication.yml"
    text = repo / "cahiers" / "01-a" / "tekst.md"
    original_yml, original_text = yml.read_text(), text.read_text()
    try:
        yml.write_text(original_yml.replace("kind: cahier", "kind: [cahier"))
        text.write_text(original_text + "\nEen wijziging.\n")
        run = subprocess.run(BUILD + ["build"], cwd=repo, capture_output=True, text=True)
        assert run.returncode == 1
        assert "a: done" in run.stdout
        assert "cahiers/02-b/publication.yml:" in run.stderr and "invalid YAML" in run.stderr
        assert "Traceback" not in run.stderr
    finally:
        yml.write_text(original_yml)
        text.write_text(original_text)
    assert subprocess.run(BUILD + ["build"], cwd=repo).returncode == 0


def test_absolute_image_path_is_an_editor_mistake_and_the_others_build(repo):
    text = repo / "cahiers" / "02-b" / "tekst.md"
    original = text.read_text()
    try:
        text.write_text(original + "\n![Geheim](/etc/passwd)\n")
        (repo / "cahiers" / "01-a" / "colofon.md").write_text("Colofon, herzien.\n")
        run = subprocess.run(BUILD + ["build"], cwd=repo, capture_output=True, text=True)
        assert run.returncode == 1, run.stderr
        line = original.count("\n") + 2
        assert f"cahiers/02-b/tekst.md:{line}: image `/etc/passwd` may not be read: " \
            "outside the repository" in run.stderr
        assert "a: done" in run.stdout and "internal error" not in run.stderr
    finally:
        text.write_text(original)
        (repo / "cahiers" / "01-a" / "colofon.md").write_text("Colofon van proef 1.\n")
    assert subprocess.run(BUILD + ["build"], cwd=repo).returncode == 0


def test_a_killed_release_leaves_nothing_that_breaks_later_builds(repo):
    staging = repo / "dist" / "release" / ".1.0.0.abcd.tmp"
    staging.mkdir(parents=True)
    (staging / "half.pdf").write_bytes(b"%PDF-1.7 half")
    (repo / "dist" / "print" / ".a.pdf.x.tmp").write_bytes(b"half")
    (repo / "cahiers" / "02-b" / "colofon.md").write_text("Colofon, herzien.\n")
    try:
        run = subprocess.run(BUILD + ["build"], cwd=repo, capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        assert not staging.exists() and not (repo / "dist" / "print" / ".a.pdf.x.tmp").exists()
    finally:
        (repo / "cahiers" / "02-b" / "colofon.md").write_text("Colofon van proef 2.\n")


def test_one_lock_for_every_command_that_writes_dist(repo):
    holder = subprocess.Popen([sys.executable, "-c",
                               "import pathlib, time; from trotter.runner import build_lock\n"
                               "with build_lock(pathlib.Path('dist'), 'test'):\n"
                               "    print('held', flush=True); time.sleep(30)"],
                              cwd=repo, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        for command in (["build", "--force"], ["clean"],
                        ["release", "--version", "1.0.0", "--allow-dirty"]):
            run = subprocess.run(BUILD + command, cwd=repo, capture_output=True, text=True)
            assert run.returncode == 1 and "another build is running" in run.stderr, command
        assert (repo / "dist" / "print" / "a.pdf").exists()     # clean did not clean
        assert (repo / "dist" / ".lock").exists()
    finally:
        holder.kill()
        holder.wait()


def test_a_dead_worker_fails_only_its_task_and_the_pool_goes_on():
    """A worker killed while it lays out (as the out-of-memory killer would): that task fails
    with the reason, the pool starts a new worker for the next one."""
    from trotter.finishing import pdf_settings
    from trotter.workers import Pool, WorkerDied

    settings = {k: v for k, v in pdf_settings(PROJECT, "screen").items() if k != "variant"}
    long_html = "<html><body>" + "<p>Een lange alinea om te zetten.</p>" * 40000 + "</body></html>"
    short_html = "<html lang=\"nl\"><head><title>Kort</title></head><body><p>Kort.</p></body></html>"
    with Pool(1) as pool:
        doomed = pool.submit("render", dict(html=long_html, **settings))
        deadline = time.monotonic() + 30
        while not any(w.task for w in pool.workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(pool.workers[0].process.pid, signal.SIGKILL)
        with pytest.raises(WorkerDied, match="ended by SIGKILL"):
            doomed.result(timeout=60)
        assert pool.submit("render", dict(html=short_html, **settings)).result(
            timeout=120)["pdf"].startswith(b"%PDF")


def test_a_dead_worker_is_a_failed_publication_not_a_crash(monkeypatch):
    from trotter import runner
    from trotter.workers import WorkerDied

    def dies(*args, **kwargs):
        raise WorkerDied("a worker process died: it was ended by SIGKILL (killed: out of "
                         "memory?)")

    monkeypatch.setattr("trotter.pipeline.build_publication", dies)
    entry = runner.Entry("kapot", ROOT / "card" / "publication.yml", project=PROJECT)
    status, error = runner._build_one(PROJECT, runner.Task(entry, "print"), pool=None)
    assert status == "failed" and "SIGKILL" in str(error)
    assert str(error).startswith("card/publication.yml: a worker process died")


def test_interrupted_build_leaves_no_partial_pdf_and_no_current_claim(repo):
    text = repo / "cahiers" / "02-b" / "tekst.md"
    original = text.read_text()
    text.write_text(original + "\n" + "Een lange alinea om te zetten. " * 20000 + "\n")
    try:
        proc = subprocess.Popen(BUILD + ["build", "b"], cwd=repo, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
        out = proc.stdout.readline()             # the sign: "b: building", layout under way
        assert "b: building" in out, out
        os.killpg(proc.pid, signal.SIGINT)
        rest, err = proc.communicate(timeout=60)
        out += rest
        assert proc.returncode == 130, out + err
        assert "interrupted" in err
        assert not list((repo / "dist" / "print").glob(".*.tmp"))
        assert "b" in to_rebuild(repo)
    finally:
        text.write_text(original)
    assert subprocess.run(BUILD + ["build"], cwd=repo).returncode == 0


def test_watch_rebuilds_on_save(repo):
    import queue
    import threading

    proc = subprocess.Popen(BUILD + ["watch", "b"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, cwd=repo)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout],
                     daemon=True).start()
    seen = []

    def wait_for(text, timeout=90):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                line = lines.get(timeout=max(0.1, end - time.monotonic()))
            except queue.Empty:
                break
            seen.append(line)
            if text in line:
                return
        raise AssertionError(f"no {text!r} within {timeout} s in {seen}")

    colofon = repo / "cahiers" / "02-b" / "colofon.md"
    original = colofon.read_text()
    code = repo / "trotter" / "html.py"
    source = code.read_text()
    try:
        wait_for("watching for changes")     # said once the file watcher is set up
        colofon.write_text(original + "Een regel erbij.\n")
        wait_for("cahiers/02-b/colofon.md")
        wait_for("b: done")
        wait_for("watching for changes")
        # saved build code: the process starts again and builds with the new code
        code.write_text(source + "\n# a comment saved while watching\n")
        wait_for("watch starts again")
        wait_for("b: done")
    finally:
        colofon.write_text(original)
        code.write_text(source)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    assert proc.returncode is not None


def test_new_cahier_builds_without_any_other_change(repo):
    made = subprocess.run(BUILD + ["new", "cahier", "de-haven", "--title", "Haven & Co"],
                          cwd=repo, capture_output=True, text=True)
    folder = repo / "cahiers" / "03-de-haven"
    try:
        assert made.returncode == 0, made.stderr
        assert "cahiers/03-de-haven/" in made.stdout and "build.py check cahier-03" in made.stdout
        assert {p.name for p in folder.iterdir()} == {"publication.yml", "cahier.md",
                                                      "formulier.md", "colofon.md"}
        run = subprocess.run(BUILD + ["build"], cwd=repo, capture_output=True, text=True)
        assert run.returncode == 0 and "cahier-03: done" in run.stdout, run.stderr
        assert "Haven & Co" in (repo / "cahiers" / "03-de-haven" / "publication.yml").read_text()
        again = subprocess.run(BUILD + ["new", "cahier", "de-haven", "--title", "X"], cwd=repo,
                               capture_output=True, text=True)
        assert again.returncode == 1 and "exists already" in again.stderr
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    subprocess.run(BUILD + ["build"], cwd=repo, capture_output=True)


def test_check_reports_every_mistake_of_every_publication_at_once(repo):
    a, b = repo / "cahiers" / "01-a" / "tekst.md", repo / "cahiers" / "02-b" / "tekst.md"
    css = repo / "styles" / "cahier.css"
    originals = {p: p.read_bytes() for p in (a, b, css)}
    try:
        a.write_text(a.read_text() + "\n::: onbekend\nx\n:::\n\nZie [[#nergens]].\n")
        b.write_text(b.read_text() + "\n<br>\n")
        css.write_text(css.read_text() + "\n.x { colr: red; }\n")
        run = subprocess.run(BUILD + ["check", "--no-spelling"], cwd=repo, capture_output=True,
                             text=True)
        assert run.returncode == 1
        lines = run.stdout.splitlines()
        assert any(re.match(r"cahiers/01-a/tekst\.md:\d+: unknown box `onbekend`", l)
                   for l in lines), lines
        assert any(re.match(r"cahiers/01-a/tekst\.md:\d+: cross-reference to unknown anchor",
                            l) for l in lines), lines
        assert any(re.match(r"cahiers/02-b/tekst\.md:\d+: raw HTML `<br>`", l) for l in lines)
        assert any(re.match(r"styles/cahier\.css:\d+:\d+: unknown property `colr`", l)
                   for l in lines), lines
        assert "dist" not in run.stdout
        warned = subprocess.run(BUILD + ["build", "b", "--strict"], cwd=repo,
                                capture_output=True, text=True)
        assert warned.returncode == 1 and "error: styles/cahier.css:" in warned.stderr
    finally:
        for path, data in originals.items():
            path.write_bytes(data)
    run = subprocess.run(BUILD + ["check", "--no-spelling"], cwd=repo, capture_output=True,
                         text=True)
    assert run.returncode == 0 and run.stdout == ""


def test_check_warns_once_about_an_unlisted_file(repo):
    """The catalog reads each publication.yml once; check does not read it again (and warn
    twice)."""
    loose = repo / "cahiers" / "02-b" / "los.md"
    loose.write_text("# Los {#los}\n\nNergens opgenomen.\n")
    try:
        run = subprocess.run(BUILD + ["check", "b", "--no-spelling"], cwd=repo,
                             capture_output=True, text=True)
    finally:
        loose.unlink()
    assert run.returncode == 0, run.stdout + run.stderr
    assert (run.stdout + run.stderr).count("los.md: not listed") == 1, run.stderr


@contextmanager
def full_dist(repo):
    """dist/ of the scratch repository on a file system of its own (tmpfs, as root), with
    what the last build left in it, and full; the real dist/ is back afterwards."""
    dist = repo / "dist"
    saved = {p.relative_to(dist): p.read_bytes() for p in dist.rglob("*") if p.is_file()}
    size = sum(len(b) for b in saved.values()) + (1 << 20)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs",
                              str(dist)], capture_output=True, text=True)
    assert mounted.returncode == 0, f"this test mounts a small tmpfs as root: {mounted.stderr}"
    try:
        for name, data in saved.items():
            (dist / name).parent.mkdir(parents=True, exist_ok=True)
            (dist / name).write_bytes(data)
        with open(dist / "filler", "wb") as fh:      # fill it up
            try:
                while True:
                    fh.write(b"\0" * 65536)
                    fh.flush()
            except OSError:
                pass
        yield dist
    finally:
        subprocess.run(["umount", str(dist)], check=True)


def test_a_full_disk_or_a_read_only_dist_is_named_with_its_own_exit_code(repo):
    text = repo / "cahiers" / "02-b" / "tekst.md"
    original = text.read_text()
    try:
        text.write_text(original + "\nEen zin die niet meer op de schijf past.\n")
        with full_dist(repo) as dist:
            before = (dist / "print" / "b.pdf").read_bytes()
            run = subprocess.run(BUILD + ["build", "b"], cwd=repo, capture_output=True,
                                 text=True)
            assert run.returncode == 4, run.stdout + run.stderr
            assert "cannot write dist/" in run.stderr and "No space left" in run.stderr
            assert "internal" not in run.stderr and "Traceback" not in run.stderr
            assert (dist / "print" / "b.pdf").read_bytes() == before       # kept
            subprocess.run(["mount", "-o", "remount,ro", str(dist)], check=True)
            run = subprocess.run(BUILD + ["build", "b"], cwd=repo, capture_output=True,
                                 text=True)
            assert run.returncode == 4 and "Read-only file system" in run.stderr, run.stderr
            assert "cannot write dist/" in run.stderr
        # the fault is gone: the same build succeeds
        run = subprocess.run(BUILD + ["build", "b"], cwd=repo, capture_output=True, text=True)
        assert run.returncode == 0 and "b: done" in run.stdout, run.stdout + run.stderr
    finally:
        text.write_text(original)

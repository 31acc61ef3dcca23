"""The imposed sheets are outputs of the build like the PDF: in a scratch repository, a
deleted or changed sheet makes the next build write it again (the same bytes from the same
commit); the sheets are preflighted when they are built. An SVG drawn in a token's screen RGB
prints in the token's CMYK, and the token files are inputs of the builds that converted it."""

import json
import os
import shutil
import subprocess
import sys

import pytest
from pypdf import PdfReader

from conftest import PROJECT, ROOT

from test_incremental import BROCHURE_YML, git

BUILD = [sys.executable, "build.py"]
PLAN = ("import json; from trotter.project import Project; "
        "from trotter.runner import catalog, plan; project = Project.of_checkout(); "
        "current, todo = plan(project, catalog(project), 'print'); "
        "print(json.dumps({e.id: why for e, why in todo}))")
#: petrol as the screen shows it (styles/screen.css: --c-primary: rgb(16 88 96))
SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20">'
       '<rect width="40" height="20" fill="#105860"/></svg>')


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    repo = tmp_path_factory.mktemp("imposed")
    for name in ("trotter", "templates", "styles", ".cache"):
        shutil.copytree(ROOT / name, repo / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("build.py", "pyproject.toml"):
        shutil.copy(ROOT / name, repo / name)
    (repo / ".gitignore").write_text("/dist/\n/.cache/\n__pycache__/\n")
    folder = repo / "brochure"
    folder.mkdir()
    (folder / "publication.yml").write_text(BROCHURE_YML)
    (folder / "petrol.svg").write_text(SVG)
    (folder / "tekst.md").write_text("# De folder {#folder}\n\nKorte tekst.\n\n"
                                     "![Een petrolkleurig vlak](petrol.svg)\n")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "start")
    built = subprocess.run(BUILD + ["build"], cwd=repo, capture_output=True, text=True)
    assert built.returncode == 0, built.stdout + built.stderr
    return repo


def to_rebuild(repo) -> dict:
    done = subprocess.run([sys.executable, "-c", PLAN], cwd=repo, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def sheets(repo):
    return repo / "dist" / "imposed" / "folder-booklet-a4.pdf"


def test_the_imposed_sheets_are_in_the_cache_entry(repo):
    entry = json.loads((repo / "dist" / ".cache" / "print" / "folder.json").read_text())
    assert [row[0] for row in entry["outputs"]] == ["dist/imposed/folder-booklet-a4.pdf"]
    assert to_rebuild(repo) == {}


def test_a_deleted_sheet_is_built_again_with_the_same_bytes(repo):
    before = sheets(repo).read_bytes()
    sheets(repo).unlink()
    assert to_rebuild(repo) == {"folder": "dist/imposed/folder-booklet-a4.pdf is gone"}
    run = subprocess.run(BUILD + ["build"], cwd=repo, capture_output=True, text=True)
    assert run.returncode == 0 and "folder: done" in run.stdout, run.stdout + run.stderr
    assert sheets(repo).read_bytes() == before
    assert to_rebuild(repo) == {}


def test_a_sheet_changed_by_hand_is_built_again(repo):
    before = sheets(repo).read_bytes()
    changed = bytearray(before)
    changed[-20] ^= 1                                       # same size, other bytes
    sheets(repo).write_bytes(bytes(changed))
    assert to_rebuild(repo) == {
        "folder": "dist/imposed/folder-booklet-a4.pdf was changed by hand"}
    run = subprocess.run(BUILD + ["build"], cwd=repo, capture_output=True, text=True)
    assert run.returncode == 0 and "folder: done" in run.stdout, run.stdout + run.stderr
    assert sheets(repo).read_bytes() == before


def test_build_py_preflight_checks_the_sheets_too(repo):
    run = subprocess.run(BUILD + ["preflight", "folder"], cwd=repo, capture_output=True,
                         text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "[dist/imposed/folder-booklet-a4.pdf]" in run.stdout
    assert "sheets, max ink" in run.stdout


def test_an_svg_in_a_token_colour_prints_as_the_token(repo):
    data = b"".join(page.get_contents().get_data()
                    for page in PdfReader(repo / "dist" / "print" / "folder.pdf").pages)
    forms = PdfReader(repo / "dist" / "print" / "folder.pdf")
    for page in forms.pages:
        for xobject in (page["/Resources"].get("/XObject") or {}).values():
            data += xobject.get_object().get_data()
    assert b"0.9 0.3 0.4 0.3 scn" in data or b"0.9 0.3 0.4 0.3 k" in data


def test_the_token_files_are_inputs_of_a_build_that_converted_svg_colours(repo):
    screen = repo / "styles" / "screen.css"
    original = screen.read_bytes()
    try:
        screen.write_bytes(original + b"\n")
        assert list(to_rebuild(repo)) == ["folder"]
    finally:
        screen.write_bytes(original)
    assert to_rebuild(repo) == {}

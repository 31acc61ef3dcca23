"""Trust: one read policy for everything a build reads, unique publications, publication.yml
validated whole, environment errors named as such."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from conftest import PROJECT, ROOT
from trotter.errors import BuildError
from trotter.model import build_document
from trotter.policy import refusal
from trotter.project import Project
from trotter.sources import load_config

from test_errors import GOOD_YML, error_of, pub  # noqa: F401  (the fixture)


@pytest.mark.parametrize("name, reason", [
    (".git/config", "hidden"),
    ("book/.notes/x.md", "hidden"),
    ("book/images/.x.svg", "hidden"),
    ("dist/print/book.pdf", "dist/"),
    (".cache/fonts/stamp", "a cache"),
    ("../outside.md", "outside the repository"),
])
def test_the_read_policy_refuses(name, reason):
    assert reason in refusal(ROOT / name, ROOT)


def test_the_read_policy_lets_the_project_files_and_its_own_fonts_be_read():
    assert refusal(ROOT / "book" / "publication.yml", ROOT) is None
    assert refusal(ROOT / "styles" / "book.css", ROOT) is None
    font = ROOT / ".cache" / "fonts" / "x.ttf"
    assert refusal(font, ROOT) is not None and refusal(font, ROOT, allowed_files=[font]) is None


def test_a_chapter_cannot_include_the_git_configuration(pub):
    folder = pub(**{"a.md": "# Titel\n\nTekst.\n\n!include ../../.git/config\n"})
    error = error_of(folder)
    assert error.line == 5 and "may not be read" in error.message and "hidden" in error.message
    assert str(error).startswith(f"{(folder / 'a.md').relative_to(ROOT)}:5:")


def test_a_symbolic_link_out_of_the_repository_is_refused(pub):
    outside = Path(tempfile.mkdtemp())
    try:
        (outside / "geheim.md").write_text("Geheim wachtwoord\n", encoding="utf-8")
        folder = pub(**{"a.md": "# Titel\n\n!include link/geheim.md\n"})
        os.symlink(outside, folder / "link")
        error = error_of(folder)
        assert error.line == 3 and "outside the repository (through a symbolic link)" in error.message
    finally:
        shutil.rmtree(outside)


def test_images_colophons_and_sources_in_hidden_places_are_refused(pub):
    yml = GOOD_YML + "colophon: ../../.cache/colofon.md\n"
    folder = pub(yml, **{"a.md": "# Titel\n\n![Kaart](.beelden/kaart.svg)\n",
                         ".beelden/kaart.svg": "<svg xmlns='http://www.w3.org/2000/svg'/>"})
    with pytest.raises(BuildError) as info:
        build_document(load_config(PROJECT, folder / "publication.yml"))
    text = str(info.value)
    assert "a.md:3: image `.beelden/kaart.svg` may not be read: in a hidden folder" in text
    assert "publication.yml:10: `colophon` file" in text
    (folder / "publication.yml").write_text(GOOD_YML.replace("a.md", "../../dist/x.md"))
    with pytest.raises(BuildError) as info:
        load_config(PROJECT, folder / "publication.yml")
    assert info.value.line == 9 and "dist/" in info.value.message


def test_a_stylesheet_loading_from_outside_is_named_with_its_line():
    from trotter.pdf import render

    folder = Path(tempfile.mkdtemp(prefix="tmp-css-", dir=ROOT / "tests"))
    try:
        (folder / "s.css").write_text('/* first */\n@import url("https://example.com/x.css");\n')
        (folder / "t.css").write_text('body {\n  background: url("../../.git/config");\n}\n')
        for name, line in (("s.css", 2), ("t.css", 2)):
            html = f'<html><head><link rel="stylesheet" href="{folder.as_uri()}/{name}">' \
                   '</head><body><p>x</p></body></html>'
            with pytest.raises(BuildError) as info:
                render(html, str(ROOT), ROOT / "book" / "publication.yml")
            assert (info.value.path, info.value.line) == (folder / name, line), str(info.value)
            assert "refused to load" in info.value.message
    finally:
        shutil.rmtree(folder)


CAHIER_YML = """\
id: {id}
kind: cahier
title: Proef {n}
language: nl
trim: 210mm 297mm
template: cahier.html.j2
stylesheet: cahier.css
series: Proefreeks
number: {n}
sources:
  - a.md
"""


def test_two_publications_with_one_id_or_number_are_both_errors_naming_each_other():
    """A project of its own (its templates and styles): the catalog of that project."""
    from trotter.runner import catalog, select

    root = Path(tempfile.mkdtemp(prefix="tmp-root-"))
    try:
        for name in ("templates", "styles"):
            shutil.copytree(ROOT / name, root / name)
        for folder, pid, n in (("01-een", "cahier-01", 1), ("02-kopie", "cahier-01", 2),
                               ("03-drie", "cahier-03", 3), ("04-vier", "cahier-04", 3),
                               ("05-vijf", "cahier-05", 5)):
            (root / "cahiers" / folder).mkdir(parents=True)
            (root / "cahiers" / folder / "publication.yml").write_text(
                CAHIER_YML.format(id=pid, n=n))
            (root / "cahiers" / folder / "a.md").write_text("# Titel\n\nTekst.\n")
        entries = catalog(Project(root))
        errors = {e.path.parent.name: str(e.error) for e in entries if e.error}
        assert sorted(errors) == ["01-een", "02-kopie", "03-drie", "04-vier"]
        assert errors["01-een"].endswith("01-een/publication.yml:1: publication id `cahier-01` "
                                         "is also used by cahiers/02-kopie/publication.yml: "
                                         "give each publication its own")
        assert "02-kopie/publication.yml:1: publication id `cahier-01`" in errors["02-kopie"]
        assert "03-drie/publication.yml:9: number 3 of the series `Proefreeks` is also used " \
               "by" in errors["03-drie"] and "04-vier/publication.yml" in errors["03-drie"]
        assert [e.path.parent.name for e in select(entries, ["cahier-01"])] == ["01-een",
                                                                               "02-kopie"]
        assert [e.error for e in entries if e.id == "cahier-05"] == [None]
    finally:
        shutil.rmtree(root)


@pytest.mark.parametrize("change, line, words", [
    (("trim: 148mm 210mm", "trim: Amm 210mm"), 5, "`trim` must be"),
    (("trim: 148mm 210mm", "trim: 1480mm 210mm"), 5, "outside 40–1000 mm"),
    (("id: proef", "id: ../../etc"), 1, "lower-case letters"),
    (("language: nl", "language: Nederlands!"), 4, "language tag"),
    (("template: book.html.j2", "template: ../book/publication.yml"), 6, "not found"),
    (("sources:", "pages: {multiple: 0}\nsources:"), 8, "at least 1"),
    (("sources:", "pages: {max: true}\nsources:"), 8, "whole number"),
    (("sources:", "keywords: [een, 2]\nsources:"), 8, "list of texts"),
    (("sources:", "imposition: misschien\nsources:"), 8, "yes or no"),
    (("  - a.md", "  - part: 3\n    sources: [a.md]"), 9, "`part` of a part"),
])
def test_publication_yml_is_validated_whole_with_its_line(pub, change, line, words):
    folder = pub(GOOD_YML.replace(*change))
    with pytest.raises(BuildError) as info:
        load_config(PROJECT, folder / "publication.yml")
    assert info.value.line == line and words in info.value.message, str(info.value)


def test_a_unit_that_takes_too_long_is_stopped_and_named_and_the_pool_goes_on():
    from trotter.finishing import pdf_settings
    from trotter.workers import Pool

    settings = {k: v for k, v in pdf_settings(PROJECT, "screen").items() if k != "variant"}
    endless = "<html><body>" + "<p>Een lange alinea om te zetten.</p>" * 60000 + "</body></html>"
    short = '<html lang="nl"><head><title>Kort</title></head><body><p>Kort.</p></body></html>'
    with Pool(1, timeout=3) as pool:
        slow = pool.submit("render", dict(html=endless, unit="02-lang", source=str(
            ROOT / "book" / "publication.yml"), **settings))
        with pytest.raises(BuildError) as info:
            slow.result(timeout=120)
        assert "`02-lang` took longer than 3 s, the unit timeout" in str(info.value)
        assert str(info.value).startswith("book/publication.yml: ")
        assert pool.submit("render", dict(html=short, **settings)).result(
            timeout=120)["pdf"].startswith(b"%PDF")


def test_a_failed_publication_cancels_its_waiting_units(monkeypatch):
    from concurrent.futures import Future

    from trotter import pipeline

    class FakePool:
        def __init__(self):
            self.futures = []

        def submit(self, kind, kwargs, priority=0):
            future = Future()
            self.futures.append(future)
            return future

        def idle(self):
            return True

    layout = pipeline._Layout.__new__(pipeline._Layout)
    layout.pool, layout.queued, layout.memory = FakePool(), [], None
    layout.config = load_config(PROJECT, ROOT / "tests" / "sample" / "publication.yml")
    layout.settings, layout.render_settings, layout.priority = {"variant": "print"}, {}, 0
    layout.cache = type("NoCache", (), {"get": lambda s, k: None, "put": lambda s, k, v: None,
                                        "hint": lambda s: {}})()
    layout.key = lambda html, lead: str(hash((html, lead)))

    def settle(parts, submit, *args):
        from trotter.units import Placement

        for unit in parts:
            submit(unit, Placement(0, 1, (), ()), "<p>x</p>")
        layout.pool.futures[0].set_exception(BuildError("a mistake"))
        raise BuildError("a mistake")

    monkeypatch.setattr("trotter.units.settle", settle)
    with pytest.raises(BuildError):
        layout.settle([type("Unit", (), {"name": n})() for n in ("een", "twee", "drie")])
    assert [f.cancelled() for f in layout.pool.futures] == [False, True, True]


CODE_AS_IT_RAN = """
import hashlib, json, pathlib
import trotter.html
from trotter import deps
path = pathlib.Path(trotter.html.__file__)
path.write_text(path.read_text() + "# saved during the build\\n")
rows = {row[0]: row[3] for row in deps.code_rows(pathlib.Path.cwd())}
print(json.dumps([rows["trotter/html.py"], hashlib.sha256(path.read_bytes()).hexdigest()]))
"""


def test_build_code_is_recorded_as_it_was_imported(tmp_path):
    import hashlib
    import json
    import subprocess
    import sys

    shutil.copytree(ROOT / "trotter", tmp_path / "trotter",
                    ignore=shutil.ignore_patterns("__pycache__"))
    original = hashlib.sha256((ROOT / "trotter" / "html.py").read_bytes()).hexdigest()
    run = subprocess.run([sys.executable, "-c", CODE_AS_IT_RAN], cwd=tmp_path,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    recorded, now = json.loads(run.stdout)
    assert recorded == original != now


def _scratch_project(folder: Path) -> Path:
    """A project of its own beside this checkout: the card, the styles and templates, the
    fonts and profile setup made; no `trotter/` and no `build.py` of its own."""
    for name in ("card", "styles", "templates"):
        shutil.copytree(ROOT / name, folder / name)
    for name in ("fonts", "icc"):
        shutil.copytree(ROOT / ".cache" / name, folder / ".cache" / name)
    return folder


def test_this_code_builds_another_project_that_has_no_code_of_its_own(tmp_path):
    """`build.py --project DIR`: the root, the catalog and the settings are the project's,
    passed down; nothing of this checkout is read or written, and its read policy is the
    other project's (its own git configuration is refused, named by file and line)."""
    import subprocess
    import sys

    other = _scratch_project(tmp_path / "other")
    (other / ".git").mkdir()
    (other / ".git" / "config").write_text("[remote]\n\turl = https://token@example\n")
    before = {p: p.stat().st_mtime_ns for p in (ROOT / "dist" / "print").glob("*.pdf")}
    run = subprocess.run([sys.executable, str(ROOT / "build.py"), "--project", str(other),
                          "build", "card"], cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "card: done, 2 pages" in run.stdout and "-> dist/print/card.pdf" in run.stdout
    assert (other / "dist" / "print" / "card.pdf").is_file()
    assert {p: p.stat().st_mtime_ns for p in (ROOT / "dist" / "print").glob("*.pdf")} == before
    entry = (other / "dist" / ".cache" / "print" / "card.json").read_text()
    assert '"card/card.md"' in entry and str(ROOT / "card") not in entry   # its own inputs

    card = other / "card" / "card.md"
    card.write_text(card.read_text(encoding="utf-8") + "\n!include ../.git/config\n",
                    encoding="utf-8")
    lines = card.read_text(encoding="utf-8").count("\n")
    run = subprocess.run([sys.executable, str(ROOT / "build.py"), "--project", str(other),
                          "build", "card"], cwd=other, capture_output=True, text=True)
    assert run.returncode == 1
    assert f"card/card.md:{lines}: include `../.git/config` may not be read: in a hidden " \
           "folder or file" in run.stderr
    assert "token" not in run.stdout + run.stderr

    (tmp_path / "empty").mkdir()                      # a mistyped --project: said, not "ok"
    run = subprocess.run([sys.executable, str(ROOT / "build.py"), "--project",
                          str(tmp_path / "empty"), "build"], capture_output=True, text=True)
    assert run.returncode == 1 and "no publications in" in run.stderr


def test_two_projects_side_by_side_in_one_process(tmp_path):
    """Nothing global: the catalogs of two projects, read in one process, are each their
    own, and each config carries its project."""
    other = _scratch_project(tmp_path / "other")
    ours, theirs = PROJECT.catalog(), Project(other).catalog()
    assert [e.id for e in theirs] == ["card"] and len(ours) >= 7
    (card,) = theirs
    assert card.config.project.root == other.resolve() and card.path.is_relative_to(other)
    assert next(e for e in ours if e.id == "card").config.project is PROJECT

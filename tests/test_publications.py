"""The real publications, built once into a temporary folder and checked with pypdf."""

import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from conftest import PROJECT, ROOT
from trotter.preflight import pdf_fonts
from trotter.sources import discover, load_config

MM = 72 / 25.4
CONFIGS = {c.id: c for c in (load_config(PROJECT, p) for p in discover(ROOT))}


def build_all(ids, out: Path, cache: bool = True) -> dict:
    """Build publications concurrently (as `build.py build` does) into `out`."""
    from trotter.runner import Task, catalog, run_tasks

    entries = [e for e in catalog(PROJECT) if e.id in ids]
    tasks = [Task(e, "print", out=out / f"{e.id}.pdf", cache=cache) for e in entries]
    results = {}
    for task, (status, value) in run_tasks(PROJECT, tasks, jobs=2):
        assert status == "done", value
        results[task.entry.id] = value
    return results


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    return {i: PdfReader(r.output) for i, r in build_all(CONFIGS, out).items()}


def trim_mm(reader):
    box = reader.pages[0].trimbox
    return round(float(box.width) / MM), round(float(box.height) / MM)


def test_all_four_products_exist():
    kinds = {c.kind for c in CONFIGS.values()}
    assert kinds == {"book", "brochure", "card", "cahier"}
    assert sum(c.kind == "cahier" for c in CONFIGS.values()) >= 4


def test_sizes_and_page_rules(built):
    assert trim_mm(built["book"]) == (148, 210)
    assert trim_mm(built["brochure"]) == (148, 210)
    assert trim_mm(built["card"]) == (99, 210)
    assert len(built["card"].pages) == 2
    assert len(built["brochure"].pages) % 4 == 0 and len(built["brochure"].pages) <= 24
    assert len(built["book"].pages) >= 80
    for pub_id, reader in built.items():
        if pub_id.startswith("cahier-"):
            assert trim_mm(reader) == (210, 297)
            assert len(reader.pages) % 4 == 0 and 8 <= len(reader.pages) <= 16


def test_bleed_boxes(built):
    for pub_id, reader in built.items():
        for page in reader.pages:
            trim, bleed = page.trimbox, page.bleedbox
            assert abs((float(bleed.width) - float(trim.width)) / MM - 6) < 0.1, pub_id


def test_only_project_fonts(built):
    for pub_id, reader in built.items():
        for name, embedded in pdf_fonts(reader).items():
            assert embedded and name.startswith(("Trotter-Text", "Trotter-Display")), \
                (pub_id, name)


def test_metadata_language_and_title(built):
    for pub_id, reader in built.items():
        assert str(reader.trailer["/Root"]["/Lang"]) == "nl", pub_id
        assert reader.metadata.title.startswith(CONFIGS[pub_id].title), pub_id


def test_every_pdf_has_a_file_identifier(built):
    """PDF/X-4 wants /ID in the trailer, two equal strings in a file as first written; a
    publication merged from render units must have one too."""
    for pub_id, reader in built.items():
        first, second = (bytes(x.original_bytes if hasattr(x, "original_bytes") else x)
                         for x in reader.trailer["/ID"])
        assert len(first) == 16 and first == second and first != bytes(16), pub_id


def folio(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def test_table_of_contents_matches_the_pages(built):
    """Every chapter in the book's contents points at the page where its heading stands."""
    pages = [p.extract_text() for p in built["book"].pages]
    toc = "\n".join(t for t in pages[:8] if "Inhoud" in t or "...." in t)
    doc_chapters = [c for c in _book_chapters()]
    checked = 0
    for title in doc_chapters:
        match = re.search(re.escape(title[:25]) + r"[^\n]*?\.{3,}\s*([0-9ivx]+)", toc)
        if not match:
            continue
        number = match.group(1)
        where = [i for i, t in enumerate(pages)
                 if title[:25] in re.sub(r"\s+", " ", t) and folio(t) == number]
        assert where, f"{title!r}: contents say p. {number}, heading not found there"
        checked += 1
    assert checked >= 15


def _book_chapters():
    from trotter.model import build_document

    return [c.title_text for c in build_document(CONFIGS["book"]).chapters]


def test_top10_tips_have_one_source():
    tips = ROOT / "card" / "top10.md"
    first_tip = tips.read_text(encoding="utf-8").splitlines()[0][3:40]
    holders = [p for p in ROOT.glob("**/*.md") if first_tip in p.read_text(encoding="utf-8")
               and ".venv" not in p.parts]
    assert holders == [tips]
    assert "!include ../../card/top10.md" in (
        ROOT / "book" / "05-medewerker" / "13-top10.md").read_text(encoding="utf-8")


def test_top10_on_card_and_in_book(built):
    card = "\n".join(p.extract_text() for p in built["card"].pages)
    book = "\n".join(p.extract_text() for p in built["book"].pages)
    for tip in ("Vraag naar je profiel", "Geef door wat je kunt"):
        assert tip in card and tip in book


def test_register_entries_point_at_pages_where_the_term_stands(built):
    pages = [p.extract_text().replace("-\n", "").replace("\u00ad", "").lower()
             for p in built["book"].pages]
    folios = {}
    for i, text in enumerate(pages):
        lines = [line for line in text.strip().splitlines() if line.strip()]
        if lines:
            folios.setdefault(lines[-1].strip(), i)
    start = next(i for i, t in enumerate(pages) if t.strip().startswith("register"))
    entries = re.findall(r"^(\D+?) ((?:[0-9]+|[ivx]+)(?:, (?:[0-9]+|[ivx]+))*)$",
                         "\n".join(pages[start:start + 3]), re.M)
    checked = found = 0
    for term, numbers in entries:
        stem = term.strip()[:6]
        for number in numbers.split(", "):
            if number in folios:
                checked += 1
                found += stem in re.sub(r"\s+", "", pages[folios[number]]) or \
                    stem in pages[folios[number]]
    assert checked >= 100
    assert found / checked >= 0.97, f"{found} of {checked} register pages show their term"


def _colours_used(pdf: Path) -> str:
    """All content streams of a PDF, decompressed, as text."""
    from pypdf.generic import ContentStream

    reader = PdfReader(pdf)
    out = []
    for page in reader.pages:
        stream = ContentStream(page.get_contents(), reader)
        out.append(stream.get_data().decode("latin-1"))
        for xobject in (page["/Resources"].get("/XObject") or {}).values():
            xobject = xobject.get_object()
            if hasattr(xobject, "get_data"):
                out.append(xobject.get_data().decode("latin-1"))
    return "\n".join(out)


def test_one_token_changes_all_four_publications(tmp_path):
    """A scratch copy of the repository with only --c-primary changed in tokens.css recolours
    every publication: what CSS draws, and the SVG illustrations drawn in its screen RGB
    (colour.py keeps them to the tokens)."""
    import shutil
    import subprocess
    import sys

    repo = tmp_path / "repo"
    for name in ("trotter", "templates", "styles", ".cache", "book", "brochure", "card",
                 "cahiers"):
        shutil.copytree(ROOT / name, repo / name,
                        ignore=shutil.ignore_patterns("__pycache__", "tmp-*"))
    for name in ("build.py", "pyproject.toml"):
        shutil.copy(ROOT / name, repo / name)
    tokens = repo / "styles" / "tokens.css"
    text = tokens.read_text(encoding="utf-8")
    changed = re.sub(r"--c-primary: device-cmyk\([^)]*\)",
                     "--c-primary: device-cmyk(0.11 0.22 0.33 0.44)", text, count=1)
    assert changed != text
    tokens.write_text(changed, encoding="utf-8")
    ids = ("book", "brochure", "card", "cahier-01")
    run = subprocess.run([sys.executable, "build.py", "build", *ids], cwd=repo,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    for pub_id in ids:
        used = _colours_used(repo / "dist" / "print" / f"{pub_id}.pdf")
        assert "0.11 0.22 0.33 0.44" in used, pub_id
        assert "0.9 0.3 0.4 0.3" not in used, pub_id

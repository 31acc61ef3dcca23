"""The real publications, built once into a temporary folder and checked with pypdf."""

import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from trotter import ROOT
from trotter.pipeline import build_publication
from trotter.preflight import pdf_fonts
from trotter.sources import discover, load_config

MM = 72 / 25.4
CONFIGS = {c.id: c for c in (load_config(p) for p in discover())}


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    readers = {}
    for pub_id, config in CONFIGS.items():
        result = build_publication(config, "print", out=out / f"{pub_id}.pdf")
        readers[pub_id] = PdfReader(result.output)
    return readers


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

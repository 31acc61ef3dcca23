"""Markdown written elsewhere (tests/fixtures/extern: an HTML comment before a setext
heading, headings without anchors, closing hashes, inline code and a code block with a long
line, a long table, an image wider than the column with a title) builds with only a
publication.yml added, in the project's fonts, and passes preflight."""

from pathlib import Path

import pypdfium2 as pdfium
import pytest
from pypdf import PdfReader

from conftest import PROJECT
from trotter.pipeline import build_publication
from trotter.preflight import pdf_fonts

EXTERN = Path(__file__).parent / "fixtures" / "extern" / "publication.yml"
MM = 72 / 25.4


@pytest.fixture(scope="module")
def extern(tmp_path_factory):
    out = tmp_path_factory.mktemp("extern") / "extern.pdf"
    build_publication(PROJECT, EXTERN, "print", out=out, cache=False)     # preflight included
    return out


def texts(pdf):
    return [page.extract_text() for page in PdfReader(pdf).pages]


def test_builds_in_the_projects_fonts_code_included(extern):
    fonts = pdf_fonts(PdfReader(extern))
    assert any(name.startswith("Trotter-Mono") for name in fonts), fonts
    assert all(name.startswith(("Trotter-Text", "Trotter-Display", "Trotter-Mono"))
               for name in fonts), fonts


def test_headings_without_anchors_can_be_referred_to(extern):
    pages = texts(extern)
    workwise = next(i for i, t in enumerate(pages, 1) if "Werkwijze" in t and "Een overzicht" in t)
    assert f"werkwijze (zie p. {workwise})" in " ".join(pages[1].split())


def test_comments_are_not_printed(extern):
    assert "nagekeken" not in "".join(texts(extern)) and "nakijken" not in "".join(texts(extern))


def test_a_long_table_repeats_its_header_row(extern):
    with_rows = [t for t in texts(extern) if "Vakmanschap" in t]
    assert len(with_rows) >= 2
    assert all("Onderwerp" in t for t in with_rows)        # the header on every page


def test_an_image_with_a_title_has_a_caption(extern):
    assert "Figuur 1. Het netwerk van vijf bedrijven" in " ".join(texts(extern)[1].split())


def test_code_and_images_stay_inside_the_text_area(extern):
    """No character and no image past the right margin (18 mm on A4) of any page."""
    document = pdfium.PdfDocument(str(extern))
    for number in range(1, len(document) - 1):          # the covers are full-bleed
        page = document[number]
        left, bottom, right, top = page.get_trimbox()
        limit = right - 18 * MM + 0.5
        text = page.get_textpage()
        for i in range(text.count_chars()):
            char = text.get_text_range(i, 1)
            if char.strip():
                box = text.get_charbox(i)
                assert box[2] <= limit, (number + 1, char, box)
        for obj in page.get_objects():
            if obj.type == pdfium.raw.FPDF_PAGEOBJ_IMAGE or obj.type == pdfium.raw.FPDF_PAGEOBJ_FORM:
                assert obj.get_pos()[2] <= limit, (number + 1, obj.get_pos())

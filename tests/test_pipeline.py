"""End to end: the sample publication built through every stage, checked with pypdf."""

from pathlib import Path

import pytest
from pypdf import PdfReader

from conftest import PROJECT
from trotter.pipeline import build_publication
from trotter.preflight import pdf_fonts
from trotter.sources import load_config

SAMPLE = Path(__file__).parent / "sample" / "publication.yml"
MM = 72 / 25.4


@pytest.fixture(scope="module")
def sample_pdf(tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "sample.pdf"
    result = build_publication(PROJECT, load_config(PROJECT, SAMPLE), "print", out=out)
    return result, PdfReader(out)


def test_trim_is_a5(sample_pdf):
    _, reader = sample_pdf
    for page in reader.pages:
        assert round(float(page.trimbox.width) / MM) == 148
        assert round(float(page.trimbox.height) / MM) == 210


def test_page_count_matches_result(sample_pdf):
    result, reader = sample_pdf
    assert len(reader.pages) == result.pages >= 6


def test_text_and_include(sample_pdf):
    _, reader = sample_pdf
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert "De route kiezen" in text
    assert "Vraag je profiel." in text          # from the included file
    assert "Een voetnoot onderaan de pagina." in text


def test_only_project_fonts_embedded(sample_pdf):
    _, reader = sample_pdf
    fonts = pdf_fonts(reader)
    assert fonts, "no fonts found"
    for name, embedded in fonts.items():
        assert embedded, name
        assert name.startswith(("Trotter-Text", "Trotter-Display")), name


def test_metadata(sample_pdf):
    _, reader = sample_pdf
    assert reader.metadata.title.startswith("Proefreis")
    assert reader.metadata.author == "Testteam"
    assert str(reader.trailer["/Root"].get("/Lang")) == "nl"


def test_cross_reference_points_to_the_right_page(sample_pdf):
    _, reader = sample_pdf
    pages = [p.extract_text() for p in reader.pages]
    target = next(t for t in pages if "Een reiziger in competentieland" in t)
    folio = target.strip().splitlines()[-1]          # the printed page number
    assert folio.isdigit()
    ref_page = next(t for t in pages if "Lees verder" in t)
    assert f"zie p. {folio})" in ref_page.replace("\u00a0", " ")


def test_register_points_at_the_pages_of_its_terms(sample_pdf):
    """Each register entry carries the printed page number(s) where the term stands,
    in roman numerals for the front matter."""
    _, reader = sample_pdf
    pages = [p.extract_text() for p in reader.pages]
    register = next(t for t in pages if t.strip().startswith("Register"))
    for term in ("competentiemanagement", "competentieprofiel"):
        where = next(t for t in pages if term in t.replace("-\n", "").replace("\u00ad", "")
                     and t is not register)
        folio = where.strip().splitlines()[-1]
        assert f"{term}{folio}" in register.replace(" ", ""), (term, folio)

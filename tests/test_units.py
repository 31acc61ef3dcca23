"""Render units: a publication laid out chapter by chapter, in parallel, and merged cannot be
told apart from the same publication laid out as one document — the same pages (size, bleed,
number), the same text on every page (running heads, page numbers, "zie p. N", contents,
register, footnote numbers) and the same bookmarks. On the book, and on the sample (tests/
sample: front matter numbered apart, a perspective part with thumb tabs, two chapters with
footnotes and cross-chapter references, a register)."""

from pathlib import Path

import pytest
from pypdf import PdfReader

from conftest import PROJECT, ROOT
from trotter.pipeline import build_publication
from trotter.workers import Pool

SAMPLE = Path(__file__).parent / "sample" / "publication.yml"


def outline(reader):
    found = []

    def walk(items, level):
        for item in items:
            if isinstance(item, list):
                walk(item, level + 1)
            else:
                found.append((level, item.title, reader.get_destination_page_number(item)))
    walk(reader.outline, 0)
    return found


def pages(reader):
    """Size, bleed and the text line by line of every page. Spaces are left out: where a
    page number comes from (`target-counter` or the number written in) changes how the
    PDF encodes the space before it, not where anything stands (the pictures are equal)."""
    return [(round(float(p.trimbox.width)), round(float(p.trimbox.height)),
             round(float(p.mediabox.width)),
             [line.replace(" ", "") for line in p.extract_text().splitlines()])
            for p in reader.pages]


@pytest.mark.parametrize("publication", [SAMPLE, ROOT / "book" / "publication.yml"],
                         ids=["sample", "book"])
def test_units_merged_equal_the_whole_document(publication, tmp_path):
    """Whole, then every unit laid out again (`force`), from the page map a build of these
    sources left (or, without one, found unit by unit)."""
    with Pool(2) as pool:
        whole = build_publication(PROJECT, publication, "print", out=tmp_path / "whole.pdf", pool=pool,
                                  cache=False, whole=True)
        units = build_publication(PROJECT, publication, "print", out=tmp_path / "units.pdf", pool=pool,
                                  force=True, seed=False)
    assert units.units > 2 and units.rendered >= units.units      # really laid out apart
    a, b = PdfReader(whole.output), PdfReader(units.output)
    assert pages(a) == pages(b)
    assert outline(a) == outline(b) and len(outline(a)) > 3
    assert a.named_destinations.keys() == b.named_destinations.keys()


def test_footnotes_are_numbered_per_chapter_in_units(tmp_path):
    out = build_publication(PROJECT, SAMPLE, "print", out=tmp_path / "s.pdf", cache=False,
                            seed=False).output
    text = "\n".join(p.extract_text() for p in PdfReader(out).pages)
    assert "1. Een voetnoot in een tweede hoofdstuk begint weer bij 1." in text
    assert "3. De derde voetnoot van dit hoofdstuk." in text

"""Proof sheets: spreads as in the printed book, trim line, shaded bleed, sheet files."""

import pypdfium2 as pdfium
import pytest
from PIL import Image

from conftest import PROJECT
from trotter import proof
from trotter.project import Project
from trotter.proof import (BACKGROUND, TRIM_LINE, mark_page, page_side, proof_sheets,
                           render_page, spreads)
from visual.pdfs import make_pdf, page

MM = 72 / 25.4


@pytest.fixture(scope="module")
def five_pages(tmp_path_factory):
    """A 5-page print PDF, 60 x 80 mm trim, 3 mm bleed; page 2 has a full-bleed accent band."""
    path = tmp_path_factory.mktemp("proof") / "mini.pdf"
    return make_pdf(path, [page(1), page(2, accent=True), page(3), page(4), page(5)],
                    accent="#00a0e0")


@pytest.mark.parametrize("count, expected", [
    (0, []),
    (1, [(None, 1)]),
    (2, [(None, 1), (2, None)]),
    (5, [(None, 1), (2, 3), (4, 5)]),
    (8, [(None, 1), (2, 3), (4, 5), (6, 7), (8, None)]),
])
def test_spreads_lie_as_in_the_book(count, expected):
    assert spreads(count) == expected


def test_odd_pages_are_right_hand_pages():
    assert [page_side(n) for n in (1, 2, 3)] == ["right", "left", "right"]
    assert page_side(2, bound=False) is None


def test_trim_box_found_in_pixels(five_pages):
    doc = pdfium.PdfDocument(str(five_pages))
    rendered = render_page(doc[0], 72, 1)
    doc.close()
    x0, y0, x1, y1 = rendered.trim
    bleed = 3 * MM
    assert (x0, y0) == (round(bleed), round(bleed))
    assert abs((x1 - x0) - 60 * MM) <= 1 and abs((y1 - y0) - 80 * MM) <= 1
    assert abs(rendered.image.width - 66 * MM) <= 1 and abs(rendered.image.height - 86 * MM) <= 1


def test_bleed_shaded_trim_drawn_spine_cut(five_pages):
    doc = pdfium.PdfDocument(str(five_pages))
    raw = render_page(doc[1], 72, 2)
    doc.close()
    marked = mark_page(raw)
    x0, y0, x1, y1 = raw.trim
    inside = raw.image.getpixel((x0 + 20, y0 + 20))
    assert marked.image.getpixel((x0 + 20, y0 + 20)) == inside          # the page itself
    assert marked.image.getpixel((x0, y0 + 40)) == TRIM_LINE              # the trim line
    corner_raw, corner = raw.image.getpixel((2, 2)), marked.image.getpixel((2, 2))
    assert sum(corner) < sum(corner_raw) - 60                            # bleed darkened
    left = mark_page(raw, "left")                 # page 2, a left-hand page: spine on the right
    assert left.image.width == x1 and left.trim[2] == x1
    right = mark_page(raw, "right")
    assert right.image.width == raw.image.width - x0 and right.trim[0] == 0


def test_sheets_written_and_old_ones_removed(five_pages, tmp_path):
    (tmp_path / "mini-07.png").write_bytes(b"old")      # from an earlier, longer PDF
    (tmp_path / "other-01.png").write_bytes(b"keep")
    sheets = proof_sheets(five_pages, tmp_path, "mini", dpi=40, rows=1, columns=1)
    assert [p.name for p in sheets] == ["mini-01.png", "mini-02.png", "mini-03.png"]
    assert not (tmp_path / "mini-07.png").exists()
    assert (tmp_path / "other-01.png").read_bytes() == b"keep"
    first = Image.open(sheets[0])
    assert first.getpixel((2, 2)) == BACKGROUND
    # the cover lies alone on the right of its spread: the left half is empty background
    middle_row = first.height // 2
    assert first.getpixel((first.width // 4, middle_row)) == BACKGROUND
    assert first.getpixel((3 * first.width // 4, middle_row)) != BACKGROUND


def test_all_spreads_on_one_sheet_by_default(five_pages, tmp_path):
    (sheet,) = proof_sheets(five_pages, tmp_path, "mini")
    image = Image.open(sheet)
    assert image.width < 2400 and image.height > 100


def test_run_reports_a_missing_pdf(tmp_path, capsys):
    assert proof.run(PROJECT, [("nothing", "book")], pdf_dir=tmp_path, out_dir=tmp_path,
                     build=False) == 1
    assert "nothing.pdf not found" in capsys.readouterr().err


def test_run_writes_sheets(five_pages, tmp_path, capsys):
    out = tmp_path / "proofs"
    assert proof.run(PROJECT, [("mini", "card")], pdf_dir=five_pages.parent, out_dir=out,
                     build=False) == 0
    assert (out / "mini-01.png").is_file()
    assert "mini: 1 proof sheet ->" in capsys.readouterr().out


def test_sheets_outside_dist_do_not_need_the_lock(five_pages, tmp_path, capsys):
    """The lock guards a checkout's dist/: proof sheets written elsewhere go ahead while a
    build holds it, and sheets for dist/ wait their turn."""
    from trotter.runner import build_lock

    root = tmp_path / "checkout"
    (root / "dist").mkdir(parents=True)
    with build_lock(root / "dist", "build"):
        assert proof.run(Project(root), [("mini", "card")], pdf_dir=five_pages.parent,
                         out_dir=tmp_path / "elders", build=False) == 0
        assert proof.run(Project(root), [("mini", "card")], pdf_dir=five_pages.parent,
                         out_dir=root / "dist" / "proofs", build=False) == 1
    assert "another build is running" in capsys.readouterr().err

"""Print production: PDF/X-4 with output intent, screen edition, preflight, imposition,
byte-identical builds."""

import io
from pathlib import Path

import pytest
from pypdf import PdfReader

from trotter.impose import booklet, card_sheet, saddle_stitch_order
from trotter.pipeline import build_publication
from trotter.preflight import inspect
from trotter.sources import load_config

SAMPLE = Path(__file__).parent / "sample" / "publication.yml"
MM = 72 / 25.4


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    out = tmp_path_factory.mktemp("variants")
    config = load_config(SAMPLE)
    paths = {}
    for variant in ("print", "screen"):
        paths[variant] = build_publication(config, variant, out=out / variant / "s.pdf").output
    again = build_publication(config, "print", out=out / "again" / "s.pdf").output
    return config, paths, again


def test_print_is_pdfx4_with_cmyk_output_intent(builds):
    config, paths, _ = builds
    data = paths["print"].read_bytes()
    root = PdfReader(paths["print"]).trailer["/Root"]
    intent = root["/OutputIntents"][0].get_object()
    assert intent["/S"] == "/GTS_PDFX"
    assert intent["/DestOutputProfile"].get_object()["/N"] == 4
    assert b"PDF/X-4" in data
    assert inspect(data, config, "print").problems == []


def test_print_has_bleed_and_no_annotations(builds):
    _, paths, _ = builds
    for page in PdfReader(paths["print"]).pages:
        assert round((float(page.bleedbox.width) - float(page.trimbox.width)) / MM) == 6
        assert "/Annots" not in page


def test_screen_is_tagged_rgb_without_bleed_with_links(builds):
    config, paths, _ = builds
    reader = PdfReader(paths["screen"])
    root = reader.trailer["/Root"]
    assert "/StructTreeRoot" in root and str(root["/Lang"]) == "nl"
    assert "/Outlines" in root
    for page in reader.pages:
        assert page.mediabox == page.trimbox
    assert any(page.get("/Annots") for page in reader.pages)   # contents, cross-references
    assert inspect(paths["screen"].read_bytes(), config, "screen").problems == []


def test_preflight_finds_what_a_print_shop_refuses(builds):
    config, paths, _ = builds
    problems = "\n".join(inspect(paths["screen"].read_bytes(), config, "print").problems)
    assert "no output intent" in problems
    assert "bleed box" in problems
    assert "RGB colour" in problems
    assert "annotations are not allowed" in problems


def test_same_sources_give_the_same_bytes(builds):
    _, paths, again = builds
    assert paths["print"].read_bytes() == again.read_bytes()


def test_saddle_stitch_order():
    assert saddle_stitch_order(8) == [(8, 1), (2, 7), (6, 3), (4, 5)]
    with pytest.raises(ValueError):
        saddle_stitch_order(6)


def _pdf(pages: int, size: str) -> bytes:
    from weasyprint import HTML

    body = "".join(f'<p style="break-after: page">{n}</p>' for n in range(1, pages + 1))
    css = f"<style>@page {{ size: {size}; bleed: 3mm }}</style>"
    return HTML(string=f"<html>{css}<body>{body}</body></html>").write_pdf()


def test_booklet_pages_in_saddle_stitch_order():
    reader = PdfReader(io.BytesIO(booklet(_pdf(8, "148mm 210mm"))))
    assert len(reader.pages) == 4
    assert round(float(reader.pages[0].mediabox.width) / MM) == 297
    texts = [p.extract_text().split() for p in reader.pages]
    assert texts[0] == ["8", "1"] and texts[1] == ["2", "7"]


def test_card_sheet_three_up_front_and_back():
    reader = PdfReader(io.BytesIO(card_sheet(_pdf(2, "99mm 210mm"))))
    assert len(reader.pages) == 2
    assert reader.pages[0].extract_text().split() == ["1", "1", "1"]
    assert reader.pages[1].extract_text().split() == ["2", "2", "2"]


def _publication_with_image(folder: Path, pixels: tuple[int, int]) -> Path:
    from PIL import Image

    Image.new("RGB", pixels, (200, 40, 40)).save(folder / "foto.png")
    (folder / "publication.yml").write_text(
        SAMPLE.read_text(encoding="utf-8").replace("id: sample", "id: foto")
        .replace("  - inleiding.md\n", "").replace("      - hoofdstuk.md", "      - foto.md"),
        encoding="utf-8")
    (folder / "foto.md").write_text(
        "# Foto {#foto}\n\n![Een rode vlek](foto.png)\n", encoding="utf-8")
    return folder / "publication.yml"


@pytest.fixture
def image_folder():
    import shutil
    import tempfile

    from trotter import ROOT

    folder = Path(tempfile.mkdtemp(prefix="tmp-image-", dir=ROOT / "tests"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_raster_image_becomes_cmyk_in_print(image_folder, tmp_path):
    config = load_config(_publication_with_image(image_folder, (1600, 1000)))
    out = build_publication(config, "print", out=tmp_path / "foto.pdf").output
    images = [x.get_object() for page in PdfReader(out).pages
              for x in (page["/Resources"].get("/XObject") or {}).values()
              if x.get_object().get("/Subtype") == "/Image"]
    assert images and all(str(i["/ColorSpace"]) == "/DeviceCMYK" for i in images)


def test_low_resolution_image_is_reported(image_folder, tmp_path):
    from trotter.errors import BuildError

    config = load_config(_publication_with_image(image_folder, (60, 40)))
    with pytest.raises(BuildError, match=r"image at \d+ ppi where placed \(at least 300\)"):
        build_publication(config, "print", out=tmp_path / "foto.pdf")

"""Print production: PDF/X-4 with output intent, screen edition, preflight, imposition,
byte-identical builds."""

import io
import shutil
import tempfile
from pathlib import Path

import pytest
from pypdf import PdfReader

from conftest import PROJECT, ROOT
from trotter.impose import booklet, card_sheet, saddle_stitch_order
from trotter.pipeline import build_publication
from trotter.preflight import inspect
from trotter.sources import load_config

SAMPLE = Path(__file__).parent / "sample" / "publication.yml"
MM = 72 / 25.4


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    out = tmp_path_factory.mktemp("variants")
    config = load_config(PROJECT, SAMPLE)
    paths = {}
    for variant in ("print", "screen"):
        paths[variant] = build_publication(PROJECT, config, variant, out=out / variant / "s.pdf").output
    again = build_publication(PROJECT, config, "print", out=out / "again" / "s.pdf").output
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
        .replace("  - inleiding.md\n", "").replace("      - verder.md\n", "")
        .replace("      - hoofdstuk.md", "      - foto.md"),
        encoding="utf-8")
    (folder / "foto.md").write_text(
        "# Foto {#foto}\n\n![Een rode vlek](foto.png)\n", encoding="utf-8")
    return folder / "publication.yml"


@pytest.fixture
def image_folder():
    import shutil
    import tempfile


    folder = Path(tempfile.mkdtemp(prefix="tmp-image-", dir=ROOT / "tests"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_raster_image_becomes_cmyk_in_print(image_folder, tmp_path):
    config = load_config(PROJECT, _publication_with_image(image_folder, (1600, 1000)))
    out = build_publication(PROJECT, config, "print", out=tmp_path / "foto.pdf").output
    images = [x.get_object() for page in PdfReader(out).pages
              for x in (page["/Resources"].get("/XObject") or {}).values()
              if x.get_object().get("/Subtype") == "/Image"]
    assert images and all(str(i["/ColorSpace"]) == "/DeviceCMYK" for i in images)


def test_low_resolution_image_is_reported(image_folder, tmp_path):
    from trotter.errors import BuildError

    config = load_config(PROJECT, _publication_with_image(image_folder, (60, 40)))
    with pytest.raises(BuildError, match=r"image at \d+ ppi where placed \(at least 300\)"):
        build_publication(PROJECT, config, "print", out=tmp_path / "foto.pdf")


# -- preflight: every colour space and every placement --------------------------------------

def _rule_breaking_pdf(content: bytes, resources: dict) -> bytes:
    """One A5 page with `content` drawn over `resources` (pypdf objects), for preflight."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(420, 595)
    stream = DecodedStreamObject()
    stream.set_data(content)
    page[NameObject("/Contents")] = writer._add_object(stream)
    page[NameObject("/Resources")] = DictionaryObject(resources)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _problems(data: bytes) -> list[str]:
    from trotter.preflight import check_pages

    return check_pages(data, ("148mm", "210mm"), "print").problems


def test_preflight_finds_an_rgb_gradient():
    from pypdf.generic import (ArrayObject, DictionaryObject, FloatObject, NameObject,
                               NumberObject)

    function = DictionaryObject({NameObject("/FunctionType"): NumberObject(2),
                                 NameObject("/Domain"): ArrayObject([NumberObject(0),
                                                                     NumberObject(1)]),
                                 NameObject("/C0"): ArrayObject([FloatObject(1)] * 3),
                                 NameObject("/C1"): ArrayObject([FloatObject(0)] * 3),
                                 NameObject("/N"): NumberObject(1)})
    shading = DictionaryObject({NameObject("/ShadingType"): NumberObject(2),
                                NameObject("/ColorSpace"): NameObject("/DeviceRGB"),
                                NameObject("/Coords"): ArrayObject(
                                    [NumberObject(v) for v in (0, 0, 100, 0)]),
                                NameObject("/Function"): function})
    data = _rule_breaking_pdf(b"/Sh0 sh", {NameObject("/Shading"): DictionaryObject(
        {NameObject("/Sh0"): shading})})
    assert "page 1: RGB colour in a shading (gradient)" in _problems(data)


@pytest.mark.parametrize("content,resources,expected", [
    (b"/DeviceRGB cs 1 0 0 sc 0 0 10 10 re f", {}, "RGB colour space selected"),
    (b"/CalRGB CS 0 0 1 SC", {}, "RGB colour space selected"),
    (b"/CS0 cs 1 0 0 sc 0 0 10 10 re f", "calrgb", "RGB colour space"),
])
def test_preflight_finds_rgb_colour_spaces_selected_with_cs(content, resources, expected):
    from pypdf.generic import ArrayObject, DictionaryObject, FloatObject, NameObject

    if resources == "calrgb":
        calrgb = ArrayObject([NameObject("/CalRGB"), DictionaryObject(
            {NameObject("/WhitePoint"): ArrayObject([FloatObject(v) for v in (0.95, 1, 1.09)])})])
        resources = {NameObject("/ColorSpace"): DictionaryObject({NameObject("/CS0"): calrgb})}
    problems = _problems(_rule_breaking_pdf(content, resources))
    assert any(p.startswith("page 1: ") and expected in p for p in problems), problems


def test_preflight_measures_images_inside_forms_where_they_are_drawn():
    """A 150 × 150 px CMYK image in a form that is drawn 1 inch wide: 150 ppi, too low; the
    same form drawn half an inch wide elsewhere on the page: 300 ppi, fine."""
    from pypdf.generic import (ArrayObject, DecodedStreamObject, DictionaryObject,
                               NameObject, NumberObject)

    image = DecodedStreamObject()
    image.set_data(bytes(150 * 150 * 4))
    image.update({NameObject("/Type"): NameObject("/XObject"),
                  NameObject("/Subtype"): NameObject("/Image"),
                  NameObject("/Width"): NumberObject(150), NameObject("/Height"): NumberObject(150),
                  NameObject("/ColorSpace"): NameObject("/DeviceCMYK"),
                  NameObject("/BitsPerComponent"): NumberObject(8)})
    form = DecodedStreamObject()
    form.set_data(b"q 1 0 0 1 0 0 cm /Im0 Do Q")
    form.update({NameObject("/Type"): NameObject("/XObject"),
                 NameObject("/Subtype"): NameObject("/Form"),
                 NameObject("/BBox"): ArrayObject([NumberObject(v) for v in (0, 0, 1, 1)]),
                 NameObject("/Resources"): DictionaryObject({NameObject("/XObject"):
                     DictionaryObject({NameObject("/Im0"): image})})})
    resources = {NameObject("/XObject"): DictionaryObject({NameObject("/Fm0"): form})}
    big = _problems(_rule_breaking_pdf(b"q 72 0 0 72 50 50 cm /Fm0 Do Q", resources))
    assert "page 1: image at 150 ppi where placed (at least 300)" in big
    small = _problems(_rule_breaking_pdf(b"q 36 0 0 36 50 50 cm /Fm0 Do Q", resources))
    assert not any("ppi" in p for p in small), small


# -- SVG colours for print ----------------------------------------------------------------------

def test_svg_colours_converted_where_svg_has_colours():
    from trotter.pdf import svg_to_cmyk

    svg = (b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
           b'<style>.a { fill: rgb(255, 0, 0); stroke: #fff }</style>'
           b'<linearGradient id="facade"><stop offset="0" stop-color="navy"/></linearGradient>'
           b'<rect fill="url(#facade)" stroke="#c0ffee" width="4" height="4"/>'
           b'<use xlink:href="#c0ffee"/><circle style="fill: #abc; opacity: 0.5" r="2"/>'
           b'<path fill="none" d="M0 0"/></svg>')
    out = svg_to_cmyk(PROJECT, svg).decode()
    assert 'fill="url(#facade)"' in out and 'href="#c0ffee"' in out     # references alone
    assert 'stroke="device-cmyk(' in out                                # a hex colour
    assert 'stop-color="device-cmyk(' in out                            # a named colour
    assert "fill:device-cmyk(" in out.replace(" ", "") and "opacity: 0.5" in out   # style
    assert "rgb(" not in out and "#fff" not in out                      # the <style> sheet
    assert 'fill="none"' in out


def test_upper_case_svg_suffix_is_converted_too(tmp_path):
    from trotter.pdf import RestrictedFetcher

    folder = Path(tempfile.mkdtemp(prefix="tmp-icon-", dir=ROOT / "tests"))
    try:
        icon = folder / "ICOON.SVG"
        icon.write_bytes(b'<svg xmlns="http://www.w3.org/2000/svg"><rect fill="#ff0000"/></svg>')
        body = RestrictedFetcher(PROJECT, cmyk_svg=True).fetch(icon.as_uri()).read()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert b"device-cmyk" in body and b"#ff0000" not in body

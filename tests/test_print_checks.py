"""The print shop's side: one colour path (SVG and CSS colours through the same ICC transform
as raster images, the tokens' CMYK kept), total ink on rendered separations, the profile's ink
limit, the GWG 2015 sheetfed checks (a PDF that breaks each rule, made of raw content
streams), and the imposed sheets (preflighted by sheet; an output of the cache entry)."""

import io
import shutil
import subprocess
import sys
from types import SimpleNamespace

import pytest
from PIL import Image, ImageCms
from pypdf import PdfWriter
from pypdf.generic import (ArrayObject, BooleanObject, DecodedStreamObject, DictionaryObject,
                           NameObject, NumberObject)

from conftest import PROJECT
from trotter import colour, icc, preflight
from trotter.preflight import check_pages, inspect_sheets

MM = 72 / 25.4


# -- one colour path --------------------------------------------------------------------------

def _through_profile(rgb):
    pixel = ImageCms.applyTransform(Image.new("RGB", (1, 1), rgb), colour.transform(PROJECT))
    return tuple(round(v / 255, 3) for v in pixel.getpixel((0, 0)))


def test_svg_colour_goes_through_the_same_transform_as_raster_images():
    # a colour that is no token and no grey: the ICC transform, as for every pixel of a photo
    assert colour.rgb_to_cmyk(PROJECT, (200, 40, 40)) == _through_profile((200, 40, 40))
    c, m, y, k = _through_profile((200, 40, 40))
    assert colour.cmyk(PROJECT, "#c82828") == f"device-cmyk({c:g} {m:g} {y:g} {k:g})"
    # and not the old hand-written formula (1 - max, ...)
    assert colour.rgb_to_cmyk(PROJECT, (200, 40, 40)) != (0.0, 0.8, 0.8, 0.216)
    # one transform per process and profile, one conversion per colour
    assert colour.transform(PROJECT) is colour.transform(PROJECT)
    svg = (b'<svg xmlns="http://www.w3.org/2000/svg"><rect fill="#c82828"/>'
           b'<style>.a { stroke: rgb(200 40 40 / 0.5) }</style></svg>')
    out = colour.svg_to_cmyk(PROJECT, svg).decode()
    assert f'fill="device-cmyk({c:g} {m:g} {y:g} {k:g})"' in out
    assert f"device-cmyk({c:g} {m:g} {y:g} {k:g} / 0.5)" in out


def test_raster_pixels_convert_like_svg_colours():
    png = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 40, 40)).save(png, "PNG")
    with Image.open(io.BytesIO(colour.raster_to_cmyk(PROJECT, png.getvalue()))) as jpeg:
        pixel = [v / 255 for v in jpeg.convert("CMYK").getpixel((1, 1))]
    assert all(abs(a - b) < 0.03 for a, b in zip(pixel, colour.rgb_to_cmyk(PROJECT, (200, 40, 40))))


def test_token_colours_print_as_the_tokens_cmyk():
    from trotter.tokens import palette

    tokens = [(rgb, cmyk) for _, cmyk, rgb in palette(PROJECT) if rgb is not None]
    assert len(tokens) > 10
    for rgb, cmyk in tokens:
        assert colour.rgb_to_cmyk(PROJECT, rgb) == cmyk
    assert colour.cmyk(PROJECT, "#105860") == "device-cmyk(0.9 0.3 0.4 0.3)"       # petrol, as drawn


def test_greys_print_in_black_only():
    for grey in (0x1d, 0x64, 0xbe, 0xe8):
        c, m, y, k = colour.rgb_to_cmyk(PROJECT, (grey, grey, grey))
        assert (c, m, y) == (0, 0, 0) and 0 < k <= 1
    assert colour.rgb_to_cmyk(PROJECT, (0x1d, 0x1d, 0x1b))[3] == 1.0          # the icons' near-black
    light, dark = colour.rgb_to_cmyk(PROJECT, (200, 200, 200)), colour.rgb_to_cmyk(PROJECT, (60, 60, 60))
    assert light[3] < dark[3]


def test_saturated_photo_stays_within_the_ink_limit_of_the_profile():
    assert icc.INK_LIMIT == preflight.MAX_INK
    assert "TAC300" in icc.NAME and PROJECT.own_profile.name == icc.NAME
    import colorsys
    photo = Image.new("RGB", (180, 60))
    photo.putdata([tuple(round(v * 255) for v in colorsys.hsv_to_rgb(x / 180, 1, 1 - y / 60))
                   for y in range(60) for x in range(180)])
    cube = Image.new("RGB", (64, 1))
    cube.putdata([(r, g, b) for r in (0, 64, 128, 255) for g in (0, 64, 128, 255)
                  for b in (0, 64, 128, 255)])
    for image in (photo, cube):
        cmyk = ImageCms.applyTransform(image, colour.transform(PROJECT))
        worst = max(sum(cmyk.getpixel((x, y))) for x in range(cmyk.width)
                    for y in range(cmyk.height))
        assert worst * 100 / 255 <= preflight.MAX_INK + 0.5


# -- raw PDFs that break one rule each ---------------------------------------------------------

def _pdf(content: bytes, resources: dict | None = None, pages: int = 1) -> bytes:
    """A5 pages (3 mm bleed) drawing `content` over `resources`; streams made indirect."""
    from pypdf.generic import RectangleObject, StreamObject

    writer = PdfWriter()
    bleed = 3 * MM

    def indirect(value):
        if isinstance(value, StreamObject):
            if "/Resources" in value:
                value[NameObject("/Resources")] = indirect(value["/Resources"])
            return writer._add_object(value)
        if isinstance(value, dict):
            return DictionaryObject({k: indirect(v) for k, v in value.items()})
        return value

    resources = indirect(DictionaryObject(resources or {}))
    for _ in range(pages):
        page = writer.add_blank_page(148 * MM + 2 * bleed, 210 * MM + 2 * bleed)
        page.mediabox = RectangleObject([-bleed, -bleed, 148 * MM + bleed, 210 * MM + bleed])
        page.trimbox = RectangleObject([0, 0, 148 * MM, 210 * MM])
        page.bleedbox = page.mediabox
        stream = DecodedStreamObject()
        stream.set_data(content)
        page[NameObject("/Contents")] = writer._add_object(stream)
        page[NameObject("/Resources")] = resources
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _report(content: bytes, resources: dict | None = None):
    return check_pages(_pdf(content, resources), ("148mm", "210mm"), "print")


def _found(report) -> str:
    return "\n".join(report.problems + report.warnings)


OVERPRINT = {NameObject("/ExtGState"): DictionaryObject({NameObject("/GS0"): DictionaryObject(
    {NameObject("/OP"): BooleanObject(True), NameObject("/op"): BooleanObject(True)})})}


@pytest.mark.parametrize("content,resources,expected", [
    (b"BT /F1 6 Tf 0 0 0 0 k 20 20 Td (wit) Tj ET", None,
     "reverse (white) text at 6.0 pt"),
    (b"q 0.5 0 0 0.5 0 0 cm BT /F1 14 Tf 0 0 0 0 k 20 20 Td (wit) Tj ET Q", None,
     "reverse (white) text at 7.0 pt"),                               # scaled by the transform
    (b"BT /F1 7 Tf 0.9 0.3 0.4 0.3 k 20 20 Td (petrol) Tj ET", None,
     "text at 7.0 pt in 4 inks"),
    (b"BT /F1 8 Tf /CS0 cs 0.5 0.5 0 0 scn 20 20 Td (blauw) Tj ET",
     {NameObject("/ColorSpace"): DictionaryObject({NameObject("/CS0"): NameObject(
         "/DeviceCMYK")})}, "text at 8.0 pt in 2 inks"),
    (b"0 0 0 1 k 20 20 100 100 re f", None, "a 35 x 35 mm area in 100 % K only"),
], ids=["reverse", "reverse-scaled", "four-inks", "two-inks", "large-k-area"])
def test_each_print_shop_warning_can_be_found(content, resources, expected):
    report = _report(content, resources)
    assert any(w.startswith(expected) and w.endswith("on page 1") for w in report.warnings), \
        _found(report)


@pytest.mark.parametrize("content,resources,expected", [
    (b"0 0 0 1 K 0.1 w 20 20 m 200 20 l S", None, "page 1: line 0.100 pt wide"),
    (b"q 0.5 0 0 0.5 0 0 cm 0 0 0 1 K 0.2 w 20 20 m 200 20 l S Q", None,
     "page 1: line 0.100 pt wide"),                                   # as printed
    (b"0 0 0 1 K 0 w 20 20 m 200 20 l S", None, "page 1: line 0.000 pt wide"),
    (b"/GS0 gs 0 0 0 0 k 20 20 100 100 re f", OVERPRINT,
     "page 1: white area set to overprint"),
    (b"/GS0 gs 0 0 0 0 K 2 w 20 20 m 200 20 l S", OVERPRINT,
     "page 1: white line set to overprint"),
    (b"/GS0 gs BT /F1 12 Tf 1 g 20 20 Td (wit) Tj ET", OVERPRINT,
     "page 1: white text set to overprint"),
    (b"0.9 0.9 0.9 0.9 k 20 20 100 100 re f", None, "page 1: total ink 360 %"),
    (b"BT /F1 9.4 Tf 0.6 0.4 0.4 1 k 20 20 Td (zwart) Tj ET", None,
     "page 1: black text at 9.4 pt in 4 inks"),
], ids=["hairline", "hairline-scaled", "zero-width", "white-fill-op", "white-stroke-op",
        "white-text-op", "ink", "rich-black-text"])
def test_each_print_shop_error_fails(content, resources, expected):
    problems = _report(content, resources).problems
    assert any(p.startswith(expected) for p in problems), problems


def test_what_the_rules_allow_passes():
    allowed = (b"BT /F1 8 Tf 0 0 0 0 k 20 20 Td (wit) Tj ET "             # reverse at 8 pt
               b"BT /F1 7 Tf 0 0 0 1 k 20 40 Td (zwart) Tj ET "           # K only: any size
               b"BT /F1 7 Tf 0 0.55 0 0 k 20 60 Td (een inkt) Tj ET "     # one ink
               b"BT /F1 9 Tf 0.9 0.3 0.4 0.3 k 20 80 Td (petrol) Tj ET "  # 4 inks at 9 pt
               b"BT /F1 14 Tf 0.6 0.4 0.4 1 k 20 100 Td (kop) Tj ET "      # rich black, large
               b"0 0 0 1 K 0.125 w 20 120 m 200 120 l S "                 # the thinnest line
               b"0.4 0.3 0.3 1 k 20 140 100 100 re f "                    # rich black area
               b"0 0 0 1 k 20 250 40 5 re f "                             # a K bar, small
               b"/GS0 gs 0 0 0 1 k 20 300 40 40 re f")                    # black overprints
    report = _report(allowed, OVERPRINT)
    assert not [p for p in report.problems if "font" not in p], report.problems
    assert report.warnings == [], report.warnings


def test_forms_are_walked_with_their_transform():
    form = DecodedStreamObject()
    form.set_data(b"0 0 0 1 K 0.25 w 0 0 m 100 0 l S")
    form.update({NameObject("/Type"): NameObject("/XObject"),
                 NameObject("/Subtype"): NameObject("/Form"),
                 NameObject("/BBox"): ArrayObject([NumberObject(v) for v in (0, 0, 100, 10)])})
    resources = {NameObject("/XObject"): DictionaryObject({NameObject("/Fm0"): form})}
    thin = _report(b"q 0.25 0 0 0.25 10 10 cm /Fm0 Do Q", resources).problems
    assert "page 1: line 0.062 pt wide (at least 0.125 pt)" in thin
    assert _report(b"q 1 0 0 1 10 10 cm /Fm0 Do Q", resources).problems == []


# -- total ink on the rendered separations -----------------------------------------------------

def _image_page(value: int) -> dict:
    image = DecodedStreamObject()
    image.set_data(bytes([value, value, value, value]) * (150 * 150))
    image.update({NameObject("/Type"): NameObject("/XObject"),
                  NameObject("/Subtype"): NameObject("/Image"),
                  NameObject("/Width"): NumberObject(150),
                  NameObject("/Height"): NumberObject(150),
                  NameObject("/ColorSpace"): NameObject("/DeviceCMYK"),
                  NameObject("/BitsPerComponent"): NumberObject(8)})
    return {NameObject("/XObject"): DictionaryObject({NameObject("/Im0"): image})}


def test_total_ink_of_images_is_measured_on_the_rendered_separations():
    assert shutil.which("gs"), "Ghostscript is installed by .ci/system-packages"
    heavy = _report(b"q 36 0 0 36 50 50 cm /Im0 Do Q", _image_page(230))   # 4 x 90 %
    assert "page 1: total ink 361 % where an image is drawn (at most 300 %)" in heavy.problems
    light = _report(b"q 36 0 0 36 50 50 cm /Im0 Do Q", _image_page(160))   # 4 x 63 %
    assert not any("ink" in p for p in light.problems), light.problems
    assert 245 < light.max_ink < 255


# -- imposed sheets -----------------------------------------------------------------------------

CARD = SimpleNamespace(trim=("99mm", "210mm"))


def _card_pdf() -> bytes:
    from pypdf.generic import RectangleObject

    writer = PdfWriter()
    bleed = 3 * MM
    for _ in range(2):
        page = writer.add_blank_page(99 * MM + 2 * bleed, 210 * MM + 2 * bleed)
        page.mediabox = RectangleObject([-bleed, -bleed, 99 * MM + bleed, 210 * MM + bleed])
        page.trimbox = RectangleObject([0, 0, 99 * MM, 210 * MM])
        page.bleedbox = page.mediabox
        stream = DecodedStreamObject()
        stream.set_data(b"0 0.02 0.07 0 k -8.5 -8.5 297.6 612.3 re f "
                        b"0 0 0 1 k BT /F1 9 Tf 20 500 Td (kaart) Tj ET")
        page[NameObject("/Contents")] = writer._add_object(stream)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_the_card_sheet_keeps_its_marks_outside_the_bleed():
    from trotter.impose import card_sheet

    report = inspect_sheets(card_sheet(_card_pdf()), CARD)
    assert report.pages == 2
    assert not [p for p in report.problems if "font" not in p], report.problems


def test_a_mark_inside_a_placed_pages_bleed_is_named_by_sheet():
    # one card placed by its bleed box at (100, 100); a crop mark 1 mm inside its bleed
    sheet = (b"q 0 0 0 1 K 0.3 w 95 110 m 105 110 l S Q "
             b"q 1 0 0 1 108.5 108.5 cm -8.5 -8.5 297.6 612.3 re W n "
             b"0 0.02 0.07 0 k -8.5 -8.5 297.6 612.3 re f Q")
    report = inspect_sheets(_pdf(sheet, pages=2), CARD)
    assert any(p.startswith("sheet 1: a mark drawn inside the bleed of a placed page")
               for p in report.problems), report.problems
    assert any(p.startswith("sheet 2: ") for p in report.problems)
    outside = sheet.replace(b"95 110 m 105 110 l", b"80 110 m 93 110 l")
    assert inspect_sheets(_pdf(outside), CARD).problems == []


def test_a_sheet_breaking_the_colour_rules_is_named_by_sheet():
    report = inspect_sheets(_pdf(b"1 0 0 rg 0 0 10 10 re f 0 0 0 1 K 0.05 w 0 0 m 9 9 l S",
                                 pages=3), CARD)
    for sheet in (1, 2, 3):
        assert f"sheet {sheet}: RGB colour in a content stream" in report.problems
        assert f"sheet {sheet}: line 0.050 pt wide (at least 0.125 pt)" in report.problems


def test_registration_colour_is_no_ink_and_no_multi_ink_text():
    registration = {NameObject("/ColorSpace"): DictionaryObject({NameObject("/All"): ArrayObject(
        [NameObject("/Separation"), NameObject("/All"), NameObject("/DeviceCMYK"),
         DictionaryObject({NameObject("/FunctionType"): NumberObject(2),
                           NameObject("/Domain"): ArrayObject([NumberObject(0),
                                                               NumberObject(1)]),
                           NameObject("/C0"): ArrayObject([NumberObject(0)] * 4),
                           NameObject("/C1"): ArrayObject([NumberObject(1)] * 4),
                           NameObject("/N"): NumberObject(1)})])})}
    report = _report(b"/All CS 1 SCN 0.3 w 5 5 m 20 5 l S "
                     b"/All cs 1 scn BT /F1 6 Tf 5 10 Td (vel 1) Tj ET", registration)
    assert not [p for p in report.problems if "font" not in p], report.problems
    assert report.warnings == [] and report.max_ink == 0


def test_a_warning_names_the_worst_case_and_every_page():
    report = check_pages(_pdf(b"BT /F1 8 Tf 0.9 0.3 0.4 0.3 k 20 20 Td (a) Tj ET "
                              b"BT /F1 5 Tf 0.9 0.3 0.4 0.3 k 20 40 Td (1) Tj ET", pages=3),
                         ("148mm", "210mm"), "print", first=5)
    assert report.warnings == ["text at 5.0 pt in 4 inks (at least 9 pt, else one ink) — "
                               "on pages 5–7"]

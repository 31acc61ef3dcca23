"""Finishing, imposition: print PDFs placed on press or office sheets with pypdf.

- `booklet`: a saddle-stitched publication 2-up on A4 landscape, pages in saddle-stitch
  order, for duplex printing with short-edge flip: fold the stack and it is the brochure.
- `card_sheet`: the card repeated 3-up on A3 landscape, front and back aligned for duplex,
  with crop marks outside the bleed.

WeasyPrint's MediaBox starts at a negative origin when there is bleed, so every page is
placed by its TrimBox (translated by minus the TrimBox origin), and clipped to what it shows.
"""

from __future__ import annotations

import io

from pypdf import PageObject, PdfReader, PdfWriter, Transformation
from pypdf.generic import ContentStream, RectangleObject

MM = 72 / 25.4
A4_LANDSCAPE = (297 * MM, 210 * MM)
A3_LANDSCAPE = (420 * MM, 297 * MM)
BLEED = 3 * MM
MARK_GAP = 2 * MM        # crop marks start this far outside the bleed
MARK_LENGTH = 5 * MM


def saddle_stitch_order(pages: int) -> list[tuple[int, int]]:
    """(left, right) page numbers (1-based) of each sheet side, front then back."""
    if pages % 4:
        raise ValueError(f"a saddle-stitched booklet needs a multiple of 4 pages, not {pages}")
    sides = []
    for sheet in range(pages // 4):
        sides.append((pages - 2 * sheet, 2 * sheet + 1))          # front
        sides.append((2 * sheet + 2, pages - 2 * sheet - 1))      # back
    return sides


def _clipped(page: PageObject, box: RectangleObject) -> PageObject:
    """The page clipped to `box` (merging clips to the source's MediaBox)."""
    page.mediabox = box
    page.cropbox = box
    return page


def booklet(data: bytes) -> bytes:
    reader = PdfReader(io.BytesIO(data))
    writer = PdfWriter()
    sheet_w, sheet_h = A4_LANDSCAPE
    for left, right in saddle_stitch_order(len(reader.pages)):
        sheet = writer.add_blank_page(sheet_w, sheet_h)
        for slot, number in enumerate((left, right)):
            source = reader.pages[number - 1]
            trim = source.trimbox
            w, h = float(trim.width), float(trim.height)
            x = sheet_w / 2 - w if slot == 0 else sheet_w / 2       # meet at the fold
            y = (sheet_h - h) / 2
            page = _clipped(source, RectangleObject(trim))
            sheet.merge_transformed_page(
                page, Transformation().translate(x - float(trim.left), y - float(trim.bottom)))
    return _write(writer)


def card_sheet(data: bytes, columns: int = 3) -> bytes:
    reader = PdfReader(io.BytesIO(data))
    writer = PdfWriter()
    sheet_w, sheet_h = A3_LANDSCAPE
    first = reader.pages[0].trimbox
    w, h = float(first.width), float(first.height)
    pitch = w + 2 * (BLEED + MARK_GAP + MARK_LENGTH)
    x0 = (sheet_w - (columns - 1) * pitch - w) / 2
    y0 = (sheet_h - h) / 2
    # the columns lie symmetrically about the sheet's centre, so the back (turned over the
    # short edge) lands exactly behind the front
    slots = [x0 + c * pitch for c in range(columns)]
    for number, source in enumerate(reader.pages):
        sheet = writer.add_blank_page(sheet_w, sheet_h)
        _crop_marks(writer, sheet, [(x, y0, w, h) for x in slots])
        trim = source.trimbox
        bleed_box = RectangleObject([float(trim.left) - BLEED, float(trim.bottom) - BLEED,
                                     float(trim.right) + BLEED, float(trim.top) + BLEED])
        for x in slots:
            page = _clipped(PdfReader(io.BytesIO(data)).pages[number], bleed_box)
            sheet.merge_transformed_page(
                page, Transformation().translate(x - float(trim.left), y0 - float(trim.bottom)))
    return _write(writer)


def _crop_marks(writer: PdfWriter, sheet: PageObject, cells) -> None:
    """Thin K-only lines at each trim corner, starting outside the bleed."""
    ops = ["q", "0 0 0 1 K", "0.3 w"]
    start, end = BLEED + MARK_GAP, BLEED + MARK_GAP + MARK_LENGTH
    for x, y, w, h in cells:
        for cx, dx in ((x, -1), (x + w, 1)):
            for cy, dy in ((y, -1), (y + h, 1)):
                ops.append(f"{cx + dx * start:.2f} {cy:.2f} m {cx + dx * end:.2f} {cy:.2f} l S")
                ops.append(f"{cx:.2f} {cy + dy * start:.2f} m {cx:.2f} {cy + dy * end:.2f} l S")
    ops.append("Q")
    stream = ContentStream(None, writer)
    stream.set_data("\n".join(ops).encode())
    sheet.replace_contents(stream)   # on the blank sheet, before the cards are merged


IMPOSITIONS = {"brochure": ("booklet-a4", booklet), "card": ("sheet-a3", card_sheet)}


def imposed(kind: str, data: bytes) -> tuple[str, bytes] | None:
    """(name suffix, PDF bytes) of the imposed sheets for this kind of publication, if any."""
    if kind not in IMPOSITIONS:
        return None
    suffix, impose = IMPOSITIONS[kind]
    return suffix, impose(data)


def _write(writer: PdfWriter) -> bytes:
    writer.compress_identical_objects(remove_duplicates=True, remove_unreferenced=True)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()

"""Finishing, imposition: print PDFs placed on press or office sheets with pypdf.

- `booklet`: a saddle-stitched publication 2-up on A4 landscape, pages in saddle-stitch
  order, for duplex printing with short-edge flip: fold the stack and it is the brochure.
- `card_sheet`: the card repeated 3-up on A3 landscape, front and back aligned for duplex,
  with crop marks outside the bleed.

Every source page becomes a Form XObject (its content stream as it is, its resources, a
bounding box that clips it to what the sheet shows: the trim in the booklet, the bleed on the
card sheet) placed on the sheet with one `cm`: no content stream is parsed or rewritten.
WeasyPrint's MediaBox starts at a negative origin when there is bleed, so every page is
placed by its TrimBox (translated by minus the TrimBox origin).

The sheets are print files like the publications (`_write`): PDF/X-4 with the source's output
intent and XMP metadata, `/Trapped /False`, `GTS_PDFXVersion`, one subset tag per font
program, identifiers derived from the content (the same input gives the same bytes). Each
sheet's TrimBox and BleedBox are the sheet itself: a sheet is printed and delivered whole —
the booklet is folded as it is, the card sheet is cut along its crop marks, which lie on the
sheet outside every card's bleed. Crop marks are drawn in registration colour (a
`/Separation /All` colour space), so they print on every plate.
"""

from __future__ import annotations

import io

from pypdf import PageObject, PdfReader, PdfWriter
from pypdf import __version__ as PYPDF_VERSION
from pypdf.generic import (ArrayObject, ByteStringObject, DecodedStreamObject,
                           DictionaryObject, FloatObject, NameObject, NumberObject,
                           RectangleObject)

from . import finishing

MM = 72 / 25.4
A4_LANDSCAPE = (297 * MM, 210 * MM)
A3_LANDSCAPE = (420 * MM, 297 * MM)
BLEED = 3 * MM
MARK_GAP = 2 * MM        # crop marks start this far outside the bleed
MARK_LENGTH = 5 * MM
MARK_WIDTH = 0.3         # pt
REGISTRATION = "/Registration"


def saddle_stitch_order(pages: int) -> list[tuple[int, int]]:
    """(left, right) page numbers (1-based) of each sheet side, front then back."""
    if pages % 4:
        raise ValueError(f"a saddle-stitched booklet needs a multiple of 4 pages, not {pages}")
    sides = []
    for sheet in range(pages // 4):
        sides.append((pages - 2 * sheet, 2 * sheet + 1))          # front
        sides.append((2 * sheet + 2, pages - 2 * sheet - 1))      # back
    return sides


class _Sheets:
    """The sheets being written: source pages as Form XObjects, placed by their TrimBox."""

    def __init__(self, data: bytes, size: tuple[float, float]):
        self.reader = PdfReader(io.BytesIO(data))
        self.writer = PdfWriter()
        self.size = size
        self.forms: dict[tuple[int, bool], object] = {}
        self.registration = None

    def form(self, number: int, bleed: bool):
        """Page `number` (1-based) as a Form XObject clipped to its trim (or bleed) box."""
        key = (number, bleed)
        if key not in self.forms:
            page = self.reader.pages[number - 1]
            trim = page.trimbox
            grow = BLEED if bleed else 0
            box = [float(trim.left) - grow, float(trim.bottom) - grow,
                   float(trim.right) + grow, float(trim.top) + grow]
            contents = page.get_contents()
            form = DecodedStreamObject()
            form.set_data(contents.get_data() if contents is not None else b"")
            form.update({
                NameObject("/Type"): NameObject("/XObject"),
                NameObject("/Subtype"): NameObject("/Form"),
                NameObject("/BBox"): ArrayObject(FloatObject(round(v, 4)) for v in box),
                NameObject("/Resources"): page.raw_get("/Resources").clone(self.writer)})
            if "/Group" in page:
                form[NameObject("/Group")] = page.raw_get("/Group").clone(self.writer)
            self.forms[key] = self.writer._add_object(form.flate_encode(level=9))
        return self.forms[key]

    def sheet(self, placed, marks=()) -> PageObject:
        """A sheet with `placed` = [(page number, x, y, bleed)], where (x, y) is the place of
        the page's trim corner, and crop marks around the `marks` cells (x, y, w, h)."""
        width, height = self.size
        sheet = self.writer.add_blank_page(width, height)
        box = RectangleObject([0, 0, width, height])
        sheet.trimbox = box
        sheet.bleedbox = box
        xobjects = DictionaryObject()
        resources = DictionaryObject({NameObject("/XObject"): xobjects})
        ops = []
        if marks:
            resources[NameObject("/ColorSpace")] = DictionaryObject(
                {NameObject(REGISTRATION): self._registration()})
            ops += _crop_marks(marks)
        for n, (number, x, y, bleed) in enumerate(placed):
            name = f"/P{n}"
            xobjects[NameObject(name)] = self.form(number, bleed)
            trim = self.reader.pages[number - 1].trimbox
            ops.append(f"q 1 0 0 1 {x - float(trim.left):.4f} {y - float(trim.bottom):.4f} cm "
                       f"{name} Do Q")
        sheet[NameObject("/Resources")] = resources
        stream = DecodedStreamObject()
        stream.set_data("\n".join(ops).encode())
        sheet[NameObject("/Contents")] = self.writer._add_object(stream.flate_encode(level=9))
        return sheet

    def _registration(self):
        """`[/Separation /All /DeviceCMYK tint]`: the colour of printer's marks, full tint on
        every plate (ISO 32000-1, 8.6.6.4); one object per file."""
        if self.registration is None:
            tint = DictionaryObject({
                NameObject("/FunctionType"): NumberObject(2),
                NameObject("/Domain"): ArrayObject([NumberObject(0), NumberObject(1)]),
                NameObject("/C0"): ArrayObject([NumberObject(0)] * 4),
                NameObject("/C1"): ArrayObject([NumberObject(1)] * 4),
                NameObject("/N"): NumberObject(1)})
            self.registration = self.writer._add_object(ArrayObject([
                NameObject("/Separation"), NameObject("/All"), NameObject("/DeviceCMYK"),
                self.writer._add_object(tint)]))
        return self.registration

    def write(self) -> bytes:
        """The sheets as a PDF/X-4 print file, with the source's output intent and metadata
        (a source without an output intent gives plain sheets)."""
        reader, writer = self.reader, self.writer
        source = reader.trailer["/Root"]
        for key in ("/OutputIntents", "/Metadata", "/Lang"):
            if key in source:
                writer._root_object[NameObject(key)] = source.raw_get(key).clone(writer)
        metadata = reader.metadata or {}
        if metadata:
            writer.add_metadata(dict(metadata))
        writer.pdf_header = reader.pdf_header
        finishing.retag_fonts(writer)
        producer = f"{metadata.get('/Producer', 'WeasyPrint')}; imposed with pypdf {PYPDF_VERSION}"
        if "/OutputIntents" in source:        # a print file (always, from the pipeline)
            finishing.make_pdfx(writer, producer=producer)
        else:                                 # any other PDF (tests): sheets, not PDF/X
            writer.add_metadata({"/Producer": producer})
            writer.pdf_header = max(writer.pdf_header, "%PDF-1.6")
        finishing.compact(writer)
        writer._ID = ArrayObject([ByteStringObject(bytes(16)), ByteStringObject(bytes(16))])
        out = io.BytesIO()
        writer.write(out)
        return finishing.reproducible(out.getvalue())


def booklet(data: bytes) -> bytes:
    sheets = _Sheets(data, A4_LANDSCAPE)
    sheet_w, sheet_h = A4_LANDSCAPE
    for left, right in saddle_stitch_order(len(sheets.reader.pages)):
        placed = []
        for slot, number in enumerate((left, right)):
            trim = sheets.reader.pages[number - 1].trimbox
            w, h = float(trim.width), float(trim.height)
            x = sheet_w / 2 - w if slot == 0 else sheet_w / 2       # meet at the fold
            placed.append((number, x, (sheet_h - h) / 2, False))
        sheets.sheet(placed)
    return sheets.write()


def card_sheet(data: bytes, columns: int = 3) -> bytes:
    sheets = _Sheets(data, A3_LANDSCAPE)
    sheet_w, sheet_h = A3_LANDSCAPE
    first = sheets.reader.pages[0].trimbox
    w, h = float(first.width), float(first.height)
    pitch = w + 2 * (BLEED + MARK_GAP + MARK_LENGTH)
    x0 = (sheet_w - (columns - 1) * pitch - w) / 2
    y0 = (sheet_h - h) / 2
    # the columns lie symmetrically about the sheet's centre, so the back (turned over the
    # short edge) lands exactly behind the front
    slots = [x0 + c * pitch for c in range(columns)]
    for number in range(1, len(sheets.reader.pages) + 1):
        sheets.sheet([(number, x, y0, True) for x in slots],
                     marks=[(x, y0, w, h) for x in slots])
    return sheets.write()


def _crop_marks(cells) -> list[str]:
    """Thin lines in registration colour at each trim corner, starting outside the bleed."""
    ops = ["q", f"{REGISTRATION} CS", "1 SCN", f"{MARK_WIDTH} w"]
    start, end = BLEED + MARK_GAP, BLEED + MARK_GAP + MARK_LENGTH
    for x, y, w, h in cells:
        for cx, dx in ((x, -1), (x + w, 1)):
            for cy, dy in ((y, -1), (y + h, 1)):
                ops.append(f"{cx + dx * start:.2f} {cy:.2f} m {cx + dx * end:.2f} {cy:.2f} l S")
                ops.append(f"{cx:.2f} {cy + dy * start:.2f} m {cx:.2f} {cy + dy * end:.2f} l S")
    ops.append("Q")
    return ops


IMPOSITIONS = {"brochure": ("booklet-a4", booklet), "card": ("sheet-a3", card_sheet)}


def imposed(kind: str, data: bytes) -> tuple[str, bytes] | None:
    """(name suffix, PDF bytes) of the imposed sheets for this kind of publication, if any."""
    if kind not in IMPOSITIONS:
        return None
    suffix, impose = IMPOSITIONS[kind]
    return suffix, impose(data)

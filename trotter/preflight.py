"""Stage 6, preflight: checks on the finished PDF bytes, each problem located by page.

Print files (PDF/X-4): TrimBox = trim size and BleedBox = trim + 3 mm on every page; page-count
rules; every font embedded and one of the project's; no DeviceRGB anywhere (content streams,
images, transparency groups); an output intent; raster images at 300 ppi or more where
placed; total ink at most 300 %, on vector colours and on the rendered separations of every
page that holds an image (Ghostscript, 72 dpi); no annotations or form fields; and the checks
a print shop runs (GWG 2015 sheetfed CMYK as the reference, see `GWG`): reverse (white) text
and text in more than one ink not below a minimum size, lines at least 0.125 pt wide, black
text in K only, large black areas in rich black, white never set to overprint.
Screen files: MediaBox = trim size, tagged, language set.
Imposed sheets (`check_sheets`): the marks outside every placed page's bleed, fonts, colour
and ink as on pages, each problem located by sheet.

One operator walker (`_Walker`) reads every content stream (pages, forms at any depth) with
the graphics state in force: transform, colours, line width, overprint, text size.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from pypdf import PdfReader
from pypdf.generic import ContentStream

from .fonts import declared_font_names
from .sources import PublicationConfig
from .variants import get as variant_of

MM = 72 / 25.4
BLEED_MM = 3.0
MIN_PPI = 300
MAX_INK = 300.0
TOLERANCE_MM = 0.2
#: the print shop's checks, GWG 2015 sheetfed CMYK (GWG_SheetCmyk_2015) as the reference
GWG = {
    "reverse_text_pt": 8.0,       # white (knocked-out) text: at least this size
    "multi_ink_text_pt": 9.0,     # text built from more than one ink: at least this size
    "line_width_pt": 0.125,       # stroked lines: at least this wide, as printed
    "rich_black_text_pt": 12.0,   # black text below this size: K only, never rich black
    "rich_black_area_mm": 20.0,   # a 100 % K area this large (both sides): rich black
}
#: what the print shop would question but print (the design decides): reported, never failing
#: the build; everything else is an error. The two text sizes are warnings because the house
#: style breaks them (folios, footnote numbers, box labels, bullets and thumb tabs in 2-4 inks
#: at 5-8.7 pt; the cahiers' white colophon at 7.6 pt): take them out once the design changes
WARNINGS = frozenset({"reverse", "multi-ink", "rich-area"})
INK_DPI = 72                      # resolution of the rendered separations (max over area)
CHECKS = 3                        # version of the page checks: cached unit reports older
                                  # than this are checked again


@dataclass
class Report:
    """What preflight found in one PDF."""
    problems: list[str] = field(default_factory=list)
    pages: int = 0
    max_ink: float = 0.0
    images: int = 0
    fonts: list[str] = field(default_factory=list)
    located: list[tuple[int | None, str]] = field(default_factory=list)
    label: str = "page"             # what a number names: a page, or a sheet
    stale: bool = False             # made by older checks (a cached unit): check again
    image_pages: list[int] = field(default_factory=list)
    warned: list[tuple[int | None, str, str, float]] = field(default_factory=list)

    def add(self, page: int | None, message: str) -> None:
        self.located.append((page, message))
        self.problems.append(f"{self.label} {page}: {message}" if page else message)

    def warn(self, page: int | None, kind: str, message: str, worst: float = 0.0) -> None:
        """What a print shop would question but print (see WARNINGS); `worst`: the smaller,
        the worse (a text size)."""
        self.warned.append((page, kind, message, worst))

    @property
    def warnings(self) -> list[str]:
        """The warnings, one line per kind: the worst case and every page it happens on."""
        kinds: dict[str, list] = {}
        for page, kind, message, worst in self.warned:
            pages, case = kinds.setdefault(kind, [[], (worst, message)])
            kinds[kind][1] = min(case, (worst, message))
            if page and page not in pages:
                pages.append(page)
        return [f"{case[1]} — on {self.label}{'s' if len(pages) > 1 else ''} "
                f"{_ranges(sorted(pages))}" if pages else case[1]
                for pages, case in kinds.values()]

    def data(self) -> dict:
        """As plain data (a worker hands it to the build)."""
        return {"located": self.located, "pages": self.pages, "max_ink": self.max_ink,
                "images": self.images, "fonts": self.fonts, "checks": CHECKS,
                "warned": self.warned}

    @classmethod
    def from_data(cls, data: dict, offset: int = 0) -> "Report":
        """A worker's page report, its page numbers moved by `offset`."""
        report = cls(pages=data["pages"], max_ink=data["max_ink"], images=data["images"],
                     fonts=list(data["fonts"]), stale=data.get("checks") != CHECKS)
        for page, message in data["located"]:
            report.add(page + offset if page else None, message)
        for page, kind, message, worst in data.get("warned", []):
            report.warn(page + offset if page else None, kind, message, worst)
        return report


def _ranges(numbers: list[int]) -> str:
    """1, 2, 3, 5 -> `1–3, 5`."""
    out, start = [], None
    for i, n in enumerate(numbers):
        if start is None:
            start = n
        if i + 1 == len(numbers) or numbers[i + 1] != n + 1:
            out.append(f"{start}" if start == n else f"{start}–{n}")
            start = None
    return ", ".join(out)


def check_pdf(data: bytes, config: PublicationConfig, variant: str,
              pages: Report | None = None) -> list[str]:
    """Problems of a finished PDF. `pages`: the page checks already made per render unit (in
    the workers, see `check_pages`); then only the document is checked here."""
    return inspect(data, config, variant, pages).problems


def inspect(data: bytes, config: PublicationConfig, variant: str,
            pages: Report | None = None) -> Report:
    reader = PdfReader(io.BytesIO(data))
    report = Report(pages=len(reader.pages))
    _check_page_rules(reader, config, report)
    root = reader.trailer["/Root"]
    if str(root.get("/Lang", "")) != config.language:
        report.add(None, f"document language is not `{config.language}`")
    if variant_of(variant).colour == "cmyk":
        if data[:8] < b"%PDF-1.6":
            report.add(None, f"PDF version {data[5:8].decode()}: PDF/X-4 needs 1.6 or later")
        if not root.get("/OutputIntents"):
            report.add(None, "no output intent (PDF/X needs the CMYK profile)")
        if "/AcroForm" in root:
            report.add(None, "form fields are not allowed in a print file")
        for number, page in enumerate(reader.pages, start=1):
            if page.get("/Annots"):
                report.add(number, "annotations are not allowed in a print file")
    elif "/StructTreeRoot" not in root:
        report.add(None, "the screen edition must be a tagged PDF")
    if pages is None or pages.stale:
        pages = page_report(reader, config.trim, variant, data=data)
    report.problems += pages.problems
    report.warned += pages.warned
    report.max_ink, report.images = pages.max_ink, pages.images
    report.fonts = pages.fonts
    return report


def check_sheets(data: bytes, config: PublicationConfig) -> list[str]:
    """Problems of imposed sheets (print): located by sheet."""
    return inspect_sheets(data, config).problems


def inspect_sheets(data: bytes, config: PublicationConfig) -> Report:
    """The imposed sheets of a publication: every mark (what is drawn outside the placed
    pages) outside the bleed of every placed page; fonts embedded and the project's; no RGB;
    total ink on vector colours and, where images are, on the rendered separations."""
    reader = PdfReader(io.BytesIO(data))
    report = Report(pages=len(reader.pages), label="sheet")
    _check_fonts(reader, report)
    trim = tuple(float(v.removesuffix("mm")) * MM for v in config.trim)
    seen: set[int] = set()
    for number, page in enumerate(reader.pages, start=1):
        sheet = _Sheet(trim)
        contents = page.get_contents()
        if contents is not None:
            _Walker(reader, number, report, seen, sheet).run(
                contents, page.get("/Resources"), [1, 0, 0, 1, 0, 0])
        sheet.check(number, report)
        group = page.get("/Group")
        if group and "RGB" in str(group.get_object().get("/CS", "")):
            report.add(number, "transparency group in DeviceRGB")
    if report.image_pages:
        _check_image_ink(data, report.image_pages, 1, report)
    return report


class _Sheet:
    """What the walker saw on one imposed sheet: the placed pages (a clip set outside any
    other clip, or a form drawn there) and the marks (anything painted outside them)."""

    def __init__(self, trim: tuple[float, float]):
        self.trim = trim
        self.regions: list[tuple[float, float, float, float]] = []
        self.marks: list[tuple[tuple[float, float, float, float], str]] = []

    @staticmethod
    def _box(points) -> tuple[float, float, float, float]:
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        return min(xs), min(ys), max(xs), max(ys)

    def placed(self, number: int, points) -> None:
        if not points:
            return
        x0, y0, x1, y1 = self._box(points)
        w, h = self.trim
        if abs(x1 - x0 - w) < 1 and abs(y1 - y0 - h) < 1:    # placed by its trim: its bleed
            bleed = BLEED_MM * MM                             # reaches 3 mm further
            x0, y0, x1, y1 = x0 - bleed, y0 - bleed, x1 + bleed, y1 + bleed
        self.regions.append((x0, y0, x1, y1))

    def mark(self, number: int, points, what: str, pad: float = 0.0) -> None:
        """Something painted outside the placed pages; `pad`: half its line width."""
        if points:
            x0, y0, x1, y1 = self._box(points)
            self.marks.append(((x0 - pad, y0 - pad, x1 + pad, y1 + pad), what))

    def check(self, number: int, report: Report) -> None:
        for (x0, y0, x1, y1), what in self.marks:
            for rx0, ry0, rx1, ry1 in self.regions:
                if min(x1, rx1) - max(x0, rx0) > 0.1 and min(y1, ry1) - max(y0, ry0) > 0.1:
                    report.add(number, f"a {'mark' if what == 'mark' else what} drawn inside "
                                       f"the bleed of a placed page (at {x0 / MM:.1f}, "
                                       f"{y0 / MM:.1f} mm from the sheet's lower left corner)")
                    return


def check_pages(data: bytes, trim: tuple[str, str], variant: str, first: int = 1) -> Report:
    """The checks of every page (boxes, fonts, colour, ink, images, annotations), numbered
    from `first`: made per render unit in the worker that laid it out."""
    return page_report(PdfReader(io.BytesIO(data)), trim, variant, first, data)


def page_report(reader: PdfReader, trim, variant: str, first: int = 1,
                data: bytes | None = None) -> Report:
    report = Report(pages=len(reader.pages))
    _check_boxes(reader, trim, variant, report, first)
    _check_fonts(reader, report)
    if variant_of(variant).colour == "cmyk":
        seen: set[int] = set()      # form XObjects are shared by pages: scan each once
        for number, page in enumerate(reader.pages, start=first):
            _check_colour(page, number, report, seen)
        if report.image_pages and data is not None:
            _check_image_ink(data, [n - first + 1 for n in report.image_pages], first, report)
    else:
        for number, page in enumerate(reader.pages, start=first):
            for operands, operator in ContentStream(page.get_contents(), reader).operations:
                if operator in CMYK_OPERATORS:
                    report.add(number, "CMYK colour in the screen edition (use RGB tokens)")
                    break
    return report


def merge_reports(reports: list[Report]) -> Report:
    """Page checks of consecutive units as one report (page numbers as in the whole PDF)."""
    total = Report()
    for part in reports:
        for page, message in part.located:
            if (page, message) not in total.located and message not in total.problems:
                total.add(page, message)
        total.warned += part.warned
        total.pages += part.pages
        total.stale = total.stale or part.stale
        total.max_ink = max(total.max_ink, part.max_ink)
        total.images += part.images
        total.fonts = sorted(set(total.fonts) | set(part.fonts))
    return total


def _check_page_rules(reader: PdfReader, config: PublicationConfig, report: Report) -> None:
    rules, pages = config.pages, len(reader.pages)
    if rules.get("exact") and pages != rules["exact"]:
        report.add(None, f"{pages} pages, expected exactly {rules['exact']}")
    if rules.get("multiple") and pages % rules["multiple"]:
        report.add(None, f"{pages} pages is not a multiple of {rules['multiple']}")
    if rules.get("max") and pages > rules["max"]:
        report.add(None, f"{pages} pages, more than the maximum of {rules['max']}")


def _size_mm(box) -> tuple[float, float]:
    return float(box.width) / MM, float(box.height) / MM


def _check_boxes(reader: PdfReader, trim, variant: str, report: Report, first: int) -> None:
    width, height = (float(v.removesuffix("mm")) for v in trim)
    bleed = variant_of(variant).bleed_mm
    for number, page in enumerate(reader.pages, start=first):
        w, h = _size_mm(page.trimbox)
        if abs(w - width) > TOLERANCE_MM or abs(h - height) > TOLERANCE_MM:
            report.add(number, f"trim box {w:.1f} x {h:.1f} mm, expected "
                               f"{width:g} x {height:g} mm")
        box = page.bleedbox if variant_of(variant).bleed_mm else page.mediabox
        name = "bleed box" if variant_of(variant).bleed_mm else "media box"
        bw, bh = _size_mm(box)
        if abs(bw - width - 2 * bleed) > TOLERANCE_MM or abs(bh - height - 2 * bleed) > TOLERANCE_MM:
            report.add(number, f"{name} {bw:.1f} x {bh:.1f} mm, expected "
                               f"{width + 2 * bleed:g} x {height + 2 * bleed:g} mm")


def pdf_fonts(reader: PdfReader) -> dict[str, bool]:
    """Base font name (subset prefix removed) -> embedded?"""
    fonts: dict[str, bool] = {}
    seen: set[int] = set()

    def walk(resources):
        if not resources:
            return
        for font in (resources.get("/Font") or {}).values():
            font = font.get_object()
            name = str(font.get("/BaseFont", "?")).lstrip("/")
            name = name.split("+", 1)[-1]
            descendants = font.get("/DescendantFonts")
            target = descendants[0].get_object() if descendants else font
            descriptor = target.get("/FontDescriptor")
            embedded = bool(descriptor) and any(
                k in descriptor.get_object() for k in ("/FontFile", "/FontFile2", "/FontFile3"))
            fonts[name] = fonts.get(name, True) and embedded
        for xobject in (resources.get("/XObject") or {}).values():
            xobject = xobject.get_object()
            if xobject.get("/Subtype") == "/Form" and id(xobject) not in seen:
                seen.add(id(xobject))
                walk(xobject.get("/Resources"))

    for page in reader.pages:
        walk(page.get("/Resources"))
    return fonts


def _check_fonts(reader: PdfReader, report: Report) -> None:
    declared = declared_font_names()
    for name, embedded in sorted(pdf_fonts(reader).items()):
        report.fonts.append(name)
        if not embedded:
            report.add(None, f"font {name} is not embedded")
        if not any(name == d or name.startswith(d + "-") for d in declared):
            report.add(None, f"font {name} is not one of the project's fonts "
                             "(a glyph fell back to a system font)")


# -- colour, ink and images ----------------------------------------------------------------

RGB_OPERATORS = {b"rg", b"RG"}
CMYK_OPERATORS = {b"k", b"K"}


def _check_colour(page, number: int, report: Report, seen: set[int]) -> None:
    _scan(page.get_contents(), page.get("/Resources"), number, report, seen,
          [1, 0, 0, 1, 0, 0], page)
    group = page.get("/Group")
    if group and "RGB" in str(group.get_object().get("/CS", "")):
        report.add(number, "transparency group in DeviceRGB")


def _colour_space_is_rgb(cs) -> bool:
    cs = cs.get_object() if hasattr(cs, "get_object") else cs
    if isinstance(cs, list) and cs:
        if str(cs[0]) in ("/CalRGB", "/DeviceRGB"):
            return True
        if str(cs[0]) == "/ICCBased":
            return int(cs[1].get_object().get("/N", 0)) == 3
        if str(cs[0]) in ("/Indexed", "/Separation", "/DeviceN"):
            return _colour_space_is_rgb(cs[1] if str(cs[0]) == "/Indexed" else cs[2])
    return str(cs) in ("/DeviceRGB", "/CalRGB")


def _multiply(a, b):
    return [a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3],
            a[2] * b[0] + a[3] * b[2], a[2] * b[1] + a[3] * b[3],
            a[4] * b[0] + a[5] * b[2] + b[4], a[4] * b[1] + a[5] * b[3] + b[5]]


def _scan(contents, resources, number: int, report: Report, seen: set, ctm, page) -> None:
    """Colour and ink of one content stream (a page's) from its raw bytes (fast), then every
    operator with the graphics state in force (`_Walker`): images where they are drawn,
    text, lines, fills, overprint; forms at any depth."""
    if contents is None:
        return
    _Walker(page.pdf, number, report, seen).run(contents, resources, ctm)


def _scan_resources(resources, number: int, report: Report) -> None:
    """RGB in the resources of a content stream: colour spaces, shadings, groups. (What the
    stream itself selects and paints, the walker sees.)"""
    spaces = resources.get("/ColorSpace") or {}
    for cs in spaces.values():
        if _colour_space_is_rgb(cs):
            report.add(number, "DeviceRGB colour space in the page resources")
            break
    shadings = dict(resources.get("/Shading") or {})
    for pattern in (resources.get("/Pattern") or {}).values():
        pattern = pattern.get_object()
        if pattern.get("/Shading") is not None:
            shadings[id(pattern)] = pattern["/Shading"]
    for shading in shadings.values():
        shading = shading.get_object()
        if _colour_space_is_rgb(shading.get("/ColorSpace", "")):
            report.add(number, "RGB colour in a shading (gradient)")
            break
    for xobject in (resources.get("/XObject") or {}).values():
        group = xobject.get_object().get("/Group")
        if group and "RGB" in str(group.get_object().get("/CS", "")):
            report.add(number, "transparency group in DeviceRGB")


#: one token of a content stream: a literal string (one level of nested parentheses), a hex
#: string or dictionary bracket, an array bracket, a name, a number, an operator, a comment
TOKEN = re.compile(rb"\((?:\\.|[^\\()]|\((?:\\.|[^\\()])*\))*\)|<<|>>|<[0-9A-Fa-f\s]*>|[\[\]]"
                   rb"|/[^\s/\[\]()<>{}%]*|[-+]?(?:\d+\.?\d*|\.\d+)|[A-Za-z'\"*][\w'\"*]*"
                   rb"|%[^\r\n]*")
#: the glyphs of a TJ array: not needed by any check, three quarters of a text page's tokens
TJ_ARRAY = re.compile(rb"\[(?:[^\[\]()]|\((?:\\.|[^\\()])*\))*\]\s*TJ")
INLINE_IMAGE = re.compile(rb"(?<![\w])BI\s.*?\sID\s.*?\sEI(?![\w])", re.S)
NUMERIC = frozenset(b"+-.0123456789")
STROKE_OPS = {b"S", b"s", b"B", b"B*", b"b", b"b*"}
FILL_OPS = {b"f", b"F", b"f*", b"B", b"B*", b"b", b"b*"}
TEXT_OPS = {b"Tj", b"TJ", b"'", b'"'}
PATH_OPS = {b"m", b"l", b"c", b"v", b"y"}


@dataclass
class _State:
    """The graphics state the checks need."""
    ctm: list
    fill: tuple | None = (0.0, 0.0, 0.0, 1.0)       # CMYK ink of the fill colour (None: ?)
    stroke: tuple | None = (0.0, 0.0, 0.0, 1.0)
    fill_space: object = "/DeviceGray"
    stroke_space: object = "/DeviceGray"
    width: float = 1.0
    op_fill: bool = False
    op_stroke: bool = False
    font_size: float = 0.0
    render: int = 0
    clipped: bool = False

    def copy(self) -> "_State":
        return _State(**self.__dict__)


def _scale(m) -> float:
    """How much a transform scales lengths (the geometric mean of its axes)."""
    return abs(m[0] * m[3] - m[1] * m[2]) ** 0.5


def _apply(m, x: float, y: float) -> tuple[float, float]:
    return m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5]


def _inks(colour) -> int:
    return sum(v > 0.005 for v in colour) if colour else 0


def _white(colour) -> bool:
    return colour is not None and not any(v > 0.005 for v in colour)


def _black_text_rich(colour) -> bool:
    return colour is not None and colour[3] >= 0.9 and any(v > 0.005 for v in colour[:3])


class _Walker:
    """Every operator of a content stream with the graphics state in force; forms at any
    depth with their matrix. Problems go into the report, by page, each kind once a page."""

    def __init__(self, pdf, number: int, report: Report, seen: set, sheet=None):
        self.pdf, self.number, self.report, self.seen = pdf, number, report, seen
        self.sheet = sheet            # imposition: placed regions and marks (check_sheets)
        self.found: dict[str, tuple[float, str]] = {}
        self.spaces: dict[tuple, tuple] = {}
        self.graphics: dict[tuple, tuple] = {}

    def run(self, contents, resources, ctm) -> None:
        self.walk(contents, resources, _State(list(ctm)))
        for kind, (worst, message) in self.found.items():
            if kind in WARNINGS:
                self.report.warn(self.number, kind, message, worst)
            else:
                self.report.add(self.number, message)

    def note(self, kind: str, message: str, worst: float = 0.0) -> None:
        """A problem of this page: of each kind the worst case (the smallest `worst`)."""
        if kind not in self.found or worst < self.found[kind][0]:
            self.found[kind] = (worst, message)

    # -- colour spaces -------------------------------------------------------------------

    def _space(self, name, resources):
        if name in ("/DeviceCMYK", "/DeviceGray", "/DeviceRGB", "/Pattern", "/CalRGB"):
            return name
        spaces = resources.get("/ColorSpace") or {}
        space = spaces.get(name)
        space = space.get_object() if hasattr(space, "get_object") else space
        if isinstance(space, list) and space:
            kind = str(space[0])
            if kind == "/ICCBased":
                n = int(space[1].get_object().get("/N", 0))
                return {1: "/DeviceGray", 3: "/DeviceRGB", 4: "/DeviceCMYK"}.get(n, kind)
            if kind == "/Separation":
                return ("/Separation", str(space[1]))
            if kind == "/DeviceN":
                return ("/DeviceN", [str(v) for v in space[1]])
            return kind
        return str(space) if space is not None else name

    @staticmethod
    def _colour(space, values) -> tuple | None:
        try:
            values = [float(v) for v in values]
        except ValueError:
            return None
        if space == "/DeviceCMYK" and len(values) >= 4:
            return tuple(values[:4])
        if space == "/DeviceGray" and values:
            return (0.0, 0.0, 0.0, 1 - values[0])
        if isinstance(space, tuple) and values:
            if space[0] == "/Separation":
                if space[1] == "/All":                  # registration: every ink
                    return (values[0],) * 4
                if space[1] == "/None":
                    return (0.0, 0.0, 0.0, 0.0)
                return (values[0], 0.0, 0.0, 0.0) if values[0] else (0.0, 0.0, 0.0, 0.0)
            process = {"/Cyan": 0, "/Magenta": 1, "/Yellow": 2, "/Black": 3}
            ink = [0.0] * 4
            for name, value in zip(space[1], values):
                ink[process.get(name, 0)] = max(ink[process.get(name, 0)], value)
            return tuple(ink)
        return None

    @staticmethod
    def _initial(space) -> tuple | None:
        if space == "/DeviceCMYK":
            return (0.0, 0.0, 0.0, 1.0)
        if space == "/DeviceGray":
            return (0.0, 0.0, 0.0, 1.0)
        if isinstance(space, tuple):
            return (1.0, 1.0, 1.0, 1.0) if space[1:] == ("/All",) else (1.0, 0.0, 0.0, 0.0)
        return None

    # -- the walk ------------------------------------------------------------------------

    def walk(self, contents, resources, state: _State) -> None:
        resources = resources.get_object() if resources else {}
        data = contents.get_data() if hasattr(contents, "get_data") else b""
        if id(contents) not in self.seen:
            self.seen.add(id(contents))
            _scan_resources(resources, self.number, self.report)
        if b"BI" in data:
            data = INLINE_IMAGE.sub(b" ", data)
        data = TJ_ARRAY.sub(b"[]TJ", data)
        xobjects = resources.get("/XObject") or {}
        states = resources.get("/ExtGState") or {}
        stack: list[_State] = []
        operands: list = []
        arrays: list[list] = []
        path: list[tuple[float, float]] = []
        text_matrix = [1, 0, 0, 1, 0, 0]
        line_matrix = text_matrix
        leading = 0.0
        for token in TOKEN.findall(data):
            first = token[0]
            if first in NUMERIC or first == 47 or first == 40 or first == 60 and token != b"<<":
                (arrays[-1] if arrays else operands).append(token)
                continue
            if token == b"[":
                arrays.append([])
                continue
            if token == b"]":
                if arrays:
                    done = arrays.pop()
                    (arrays[-1] if arrays else operands).append(done)
                continue
            if first == 37 or token in (b"<<", b">>"):              # comment, dictionary
                continue
            op = token
            if op in TEXT_OPS:
                if op == b"'" or op == b'"':
                    line_matrix = [1, 0, 0, 1, 0, -leading]
                    line_matrix = _multiply(line_matrix, text_matrix)
                    text_matrix = line_matrix
                self.text(state, text_matrix)
            elif op == b"cm":
                try:
                    state.ctm = _multiply([float(v) for v in operands[-6:]], state.ctm)
                except (ValueError, TypeError):
                    pass
            elif op == b"q":
                stack.append(state.copy())
            elif op == b"Q":
                if stack:
                    state = stack.pop()
            elif op in PATH_OPS:
                try:
                    values = [float(v) for v in operands]
                except (ValueError, TypeError):
                    values = []
                for i in range(0, len(values) - 1, 2):
                    path.append(_apply(state.ctm, values[i], values[i + 1]))
            elif op == b"re":
                try:
                    x, y, w, h = (float(v) for v in operands[-4:])
                except (ValueError, TypeError):
                    x = y = w = h = 0.0
                path += [_apply(state.ctm, x, y), _apply(state.ctm, x + w, y),
                         _apply(state.ctm, x, y + h), _apply(state.ctm, x + w, y + h)]
            elif op in STROKE_OPS or op in FILL_OPS or op == b"n":
                if op != b"n":
                    self.paint(op, state, path)
                elif self.sheet is not None and self._clip_pending and not state.clipped:
                    self.sheet.placed(self.number, path)
                if self._clip_pending:
                    state.clipped = True
                    self._clip_pending = False
                path = []
            elif op in (b"W", b"W*"):
                self._clip_pending = True
            elif op == b"w":
                if operands:
                    state.width = _number(operands[-1], state.width)
            elif op in (b"k", b"K", b"g", b"G", b"rg", b"RG"):
                space = {b"k": "/DeviceCMYK", b"g": "/DeviceGray",
                         b"rg": "/DeviceRGB"}[op.lower()]
                if space == "/DeviceRGB":
                    self.note("rgb", "RGB colour in a content stream")
                colour = self._colour(space, operands)
                self.ink(space, colour)
                if op.islower():
                    state.fill_space, state.fill = space, colour
                else:
                    state.stroke_space, state.stroke = space, colour
            elif op in (b"cs", b"CS"):
                if operands:
                    name = operands[-1].decode("latin-1") if isinstance(
                        operands[-1], bytes) else ""
                    key = (id(resources), name)
                    if key not in self.spaces:
                        named = resources.get("/ColorSpace") or {}
                        self.spaces[key] = (self._space(name, resources), name in named
                                            and _colour_space_is_rgb(named[name]))
                    space, rgb = self.spaces[key]
                    if name in ("/DeviceRGB", "/CalRGB"):
                        self.note("rgb-space", "RGB colour space selected in a content "
                                               "stream (cs/CS)")
                    elif rgb or space in ("/DeviceRGB", "/CalRGB"):
                        self.note("rgb-named", f"RGB colour space {name} selected in a "
                                               "content stream")
                    if op == b"cs":
                        state.fill_space, state.fill = space, self._initial(space)
                    else:
                        state.stroke_space, state.stroke = space, self._initial(space)
            elif op in (b"sc", b"scn", b"SC", b"SCN"):
                values = [v for v in operands if isinstance(v, bytes) and v[0] in NUMERIC]
                space = state.fill_space if op.islower() else state.stroke_space
                colour = self._colour(space, values)
                self.ink(space, colour)
                if op.islower():
                    state.fill = colour
                else:
                    state.stroke = colour
            elif op == b"gs":
                if operands:
                    self.ext_state(states, operands[-1], state)
            elif op == b"BT":
                text_matrix = line_matrix = [1, 0, 0, 1, 0, 0]
            elif op == b"Tf":
                if operands:
                    state.font_size = _number(operands[-1], state.font_size)
            elif op == b"Tm":
                try:
                    text_matrix = line_matrix = [float(v) for v in operands[-6:]]
                except (ValueError, TypeError):
                    pass
            elif op in (b"Td", b"TD"):
                try:
                    tx, ty = float(operands[-2]), float(operands[-1])
                except (ValueError, TypeError, IndexError):
                    tx = ty = 0.0
                if op == b"TD":
                    leading = -ty
                line_matrix = _multiply([1, 0, 0, 1, tx, ty], line_matrix)
                text_matrix = line_matrix
            elif op == b"T*":
                line_matrix = _multiply([1, 0, 0, 1, 0, -leading], line_matrix)
                text_matrix = line_matrix
            elif op == b"TL":
                if operands:
                    leading = _number(operands[-1], leading)
            elif op == b"Tr":
                if operands:
                    state.render = int(_number(operands[-1], 0))
            elif op == b"Do":
                if operands:
                    self.do(xobjects, operands[-1], state)
            operands = []

    _clip_pending = False

    def ink(self, space, colour) -> None:
        """Total ink of a process colour (registration, `/All`, is no colour of the page)."""
        if colour is None or isinstance(space, tuple) and space[0] == "/Separation":
            return
        ink = sum(colour) * 100
        self.report.max_ink = max(self.report.max_ink, ink)
        if ink > MAX_INK + 0.5:
            self.note("ink", f"total ink {ink:.0f} % (at most {MAX_INK:.0f} %)", -ink)

    def ext_state(self, states, name: bytes, state: _State) -> None:
        key = (id(states), name)
        if key not in self.graphics:
            graphics = states.get(name.decode("latin-1"))
            graphics = graphics.get_object() if graphics is not None else {}
            self.graphics[key] = (
                bool(graphics["/OP"]) if "/OP" in graphics else None,
                bool(graphics.get("/op", graphics["/OP"])) if "/OP" in graphics
                else bool(graphics["/op"]) if "/op" in graphics else None,
                float(graphics["/LW"]) if "/LW" in graphics else None)
        stroke, fill, width = self.graphics[key]
        if stroke is not None:
            state.op_stroke = stroke
        if fill is not None:
            state.op_fill = fill
        if width is not None:
            state.width = width

    def do(self, xobjects, name: bytes, state: _State) -> None:
        xobject = xobjects.get(name.decode("latin-1"))
        if xobject is None:
            return
        xobject = xobject.get_object()
        if xobject.get("/Subtype") == "/Image":
            _check_image(xobject, state.ctm, self.number, self.report)
            if self.number not in self.report.image_pages:
                self.report.image_pages.append(self.number)
            if self.sheet is not None and not state.clipped:
                corners = [_apply(state.ctm, x, y) for x in (0, 1) for y in (0, 1)]
                self.sheet.mark(self.number, corners, "image")
        elif xobject.get("/Subtype") == "/Form":
            inner = state.copy()
            matrix = [float(v) for v in xobject.get("/Matrix", [1, 0, 0, 1, 0, 0])]
            inner.ctm = _multiply(matrix, state.ctm)
            if self.sheet is not None and not state.clipped and "/BBox" in xobject:
                x0, y0, x1, y1 = (float(v) for v in xobject["/BBox"])
                self.sheet.placed(self.number, [_apply(inner.ctm, x, y)
                                                for x in (x0, x1) for y in (y0, y1)])
                inner.clipped = True
            self.walk(xobject, xobject.get("/Resources"), inner)

    # -- the checks ----------------------------------------------------------------------

    def text(self, state: _State, text_matrix) -> None:
        if state.render in (3, 7):                       # invisible, clip only
            return
        size = state.font_size * _scale(_multiply(text_matrix, state.ctm))
        space = state.stroke_space if state.render in (1, 5) else state.fill_space
        if space == ("/Separation", "/All"):            # registration: on every plate by
            return                                       # intent (a sheet's slug line)
        colour = state.stroke if state.render in (1, 5) else state.fill
        overprint = state.op_stroke if state.render in (1, 5) else state.op_fill
        if _white(colour):
            if size < GWG["reverse_text_pt"] - 0.01:
                self.note("reverse", f"reverse (white) text at {size:.1f} pt "
                                     f"(at least {GWG['reverse_text_pt']:g} pt)", size)
            if overprint:
                self.note("white-op", "white text set to overprint (it would vanish)")
            return
        if _black_text_rich(colour) and size < GWG["rich_black_text_pt"] - 0.01:
            self.note("rich-text", f"black text at {size:.1f} pt in {_inks(colour)} inks "
                                   f"(C{colour[0]:.0%} M{colour[1]:.0%} Y{colour[2]:.0%} "
                                   f"K{colour[3]:.0%}): body text is K only", size)
        elif _inks(colour) > 1 and size < GWG["multi_ink_text_pt"] - 0.01:
            self.note("multi-ink", f"text at {size:.1f} pt in {_inks(colour)} inks (at least "
                                   f"{GWG['multi_ink_text_pt']:g} pt, else one ink)", size)

    def paint(self, op: bytes, state: _State, path) -> None:
        if self.sheet is not None and not state.clipped and path:
            stroked = op in STROKE_OPS
            self.sheet.mark(self.number, path, "mark",
                            max(state.width * _scale(state.ctm), 0.3) / 2 if stroked else 0.0)
        if op in STROKE_OPS:
            width = state.width * _scale(state.ctm)
            if width < GWG["line_width_pt"] - 0.001 and not _white(state.stroke):
                self.note("line", f"line {width:.3f} pt wide (at least "
                                  f"{GWG['line_width_pt']:g} pt)", width)
            if _white(state.stroke) and state.op_stroke:
                self.note("white-op", "white line set to overprint (it would vanish)")
        if op in FILL_OPS:
            if _white(state.fill) and state.op_fill:
                self.note("white-op", "white area set to overprint (it would vanish)")
            colour = state.fill
            if (colour and colour[3] >= 0.995 and not any(v > 0.005 for v in colour[:3])
                    and path):
                xs, ys = [p[0] for p in path], [p[1] for p in path]
                w, h = (max(xs) - min(xs)) / MM, (max(ys) - min(ys)) / MM
                if min(w, h) >= GWG["rich_black_area_mm"]:
                    self.note("rich-area", f"a {w:.0f} x {h:.0f} mm area in 100 % K only: "
                                           "large black areas print in rich black "
                                           "(e.g. C40 M30 Y30 K100)")


def _number(token, default: float) -> float:
    try:
        return float(token)
    except (ValueError, TypeError):
        return default


# -- total ink on the rendered separations --------------------------------------------------

def _check_image_ink(data: bytes, pages: list[int], first: int, report: Report) -> None:
    """Total ink of the pages that hold images, on their rendered separations: Ghostscript
    renders them in CMYK (`tiff32nc`, the colours as in the file) at `INK_DPI`; the highest
    sum of the four inks of any pixel counts."""
    from PIL import Image, ImageMath

    gs = shutil.which("gs")
    if gs is None:
        from .errors import BuildError
        raise BuildError("total ink of images needs Ghostscript: apt-get install ghostscript")
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "in.pdf"
        source.write_bytes(data)
        done = subprocess.run([gs, "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER",
                               "-sDEVICE=tiff32nc", f"-r{INK_DPI}",
                               "-sPageList=" + ",".join(map(str, pages)),
                               f"-sOutputFile={tmp}/p%d.tif", str(source)],
                              capture_output=True, text=True, timeout=600)
        for index, number in enumerate(pages, start=1):
            rendered = Path(tmp) / f"p{index}.tif"
            if done.returncode or not rendered.is_file():
                why = " ".join((done.stderr or done.stdout).split())[:200]
                report.add(number + first - 1, "the total ink of its images cannot be "
                                               f"measured: Ghostscript: {why}")
                continue
            with Image.open(rendered) as image:
                c, m, y, k = (band.convert("I") for band in image.convert("CMYK").split())
                total = ImageMath.lambda_eval(lambda a: a["c"] + a["m"] + a["y"] + a["k"],
                                              c=c, m=m, y=y, k=k)
                ink = total.getextrema()[1] * 100 / 255
            report.max_ink = max(report.max_ink, ink)
            if ink > MAX_INK + 0.5:
                report.add(number + first - 1, f"total ink {ink:.0f} % where an image is "
                                               f"drawn (at most {MAX_INK:.0f} %)")


def _check_image(image, ctm, number: int, report: Report) -> None:
    report.images += 1
    if _colour_space_is_rgb(image.get("/ColorSpace", "")):
        report.add(number, "RGB image (convert it to CMYK)")
    width_pt = (ctm[0] ** 2 + ctm[1] ** 2) ** 0.5
    height_pt = (ctm[2] ** 2 + ctm[3] ** 2) ** 0.5
    if width_pt and height_pt:
        ppi = min(int(image["/Width"]) / (width_pt / 72), int(image["/Height"]) / (height_pt / 72))
        if ppi < MIN_PPI - 1:
            report.add(number, f"image at {ppi:.0f} ppi where placed (at least {MIN_PPI})")

"""Stage 6, preflight: checks on the finished PDF bytes, each problem located by page.

Print files (PDF/X-4): TrimBox = trim size and BleedBox = trim + 3 mm on every page; page-count
rules; every font embedded and one of the project's; no DeviceRGB anywhere (content streams,
images, transparency groups); an output intent; raster images at 300 ppi or more where
placed; total ink at most 300 %; no annotations or form fields.
Screen files: MediaBox = trim size, tagged, language set.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

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


@dataclass
class Report:
    """What preflight found in one PDF."""
    problems: list[str] = field(default_factory=list)
    pages: int = 0
    max_ink: float = 0.0
    images: int = 0
    fonts: list[str] = field(default_factory=list)
    located: list[tuple[int | None, str]] = field(default_factory=list)

    def add(self, page: int | None, message: str) -> None:
        self.located.append((page, message))
        self.problems.append(f"page {page}: {message}" if page else message)

    def data(self) -> dict:
        """As plain data (a worker hands it to the build)."""
        return {"located": self.located, "pages": self.pages, "max_ink": self.max_ink,
                "images": self.images, "fonts": self.fonts}

    @classmethod
    def from_data(cls, data: dict, offset: int = 0) -> "Report":
        """A worker's page report, its page numbers moved by `offset`."""
        report = cls(pages=data["pages"], max_ink=data["max_ink"], images=data["images"],
                     fonts=list(data["fonts"]))
        for page, message in data["located"]:
            report.add(page + offset if page else None, message)
        return report


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
    if pages is None:
        pages = page_report(reader, config.trim, variant)
    report.problems += pages.problems
    report.max_ink, report.images = pages.max_ink, pages.images
    report.fonts = pages.fonts
    return report


def check_pages(data: bytes, trim: tuple[str, str], variant: str, first: int = 1) -> Report:
    """The checks of every page (boxes, fonts, colour, ink, images, annotations), numbered
    from `first`: made per render unit in the worker that laid it out."""
    return page_report(PdfReader(io.BytesIO(data)), trim, variant, first)


def page_report(reader: PdfReader, trim, variant: str, first: int = 1) -> Report:
    report = Report(pages=len(reader.pages))
    _check_boxes(reader, trim, variant, report, first)
    _check_fonts(reader, report)
    if variant_of(variant).colour == "cmyk":
        seen: set[int] = set()      # form XObjects are shared by pages: scan each once
        for number, page in enumerate(reader.pages, start=first):
            _check_colour(page, number, report, seen)
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
        total.pages += part.pages
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


NUMBER = rb"(-?\d*\.?\d+)"
CMYK_OP = re.compile(rb"(?<![\w.])" + rb"\s+".join([NUMBER] * 4) + rb"\s+(?:k|K|scn|SCN|sc|SC)(?!\w)")
RGB_OP = re.compile(rb"(?<![\w.])" + rb"\s+".join([NUMBER] * 3) + rb"\s+(?:rg|RG)(?!\w)")


RGB_SPACE_OP = re.compile(rb"/(?:DeviceRGB|CalRGB)\s+(?:cs|CS)(?!\w)")
SPACE_OP = re.compile(rb"/([^\s/\[\]<>()]+)\s+(?:cs|CS)(?!\w)")


def _scan(contents, resources, number: int, report: Report, seen: set, ctm, page) -> None:
    """Colour and ink of one content stream (a page's or a form's), from its raw bytes (fast);
    the operators are parsed only where images are placed — directly or in forms — to know
    the transform in force where each image is drawn, and so its resolution."""
    if contents is None:
        return
    resources = resources.get_object() if resources else {}
    data = contents.get_data() if hasattr(contents, "get_data") else b""
    first_time = id(contents) not in seen
    seen.add(id(contents))
    if first_time:
        _scan_colour(data, resources, number, report)
    xobjects = {name: x.get_object() for name, x in (resources.get("/XObject") or {}).items()}
    if any(_holds_images(x, set()) for x in xobjects.values()):
        _place_images(contents, resources, xobjects, number, report, ctm, page, seen)
    else:
        for xobject in xobjects.values():
            if xobject.get("/Subtype") == "/Form" and id(xobject) not in seen:
                _scan(xobject, xobject.get("/Resources"), number, report, seen, ctm, page)


def _scan_colour(data: bytes, resources, number: int, report: Report) -> None:
    spaces = resources.get("/ColorSpace") or {}
    for cs in spaces.values():
        if _colour_space_is_rgb(cs):
            report.add(number, "DeviceRGB colour space in the page resources")
            break
    if RGB_OP.search(data):
        report.add(number, "RGB colour in a content stream")
    if RGB_SPACE_OP.search(data):
        report.add(number, "RGB colour space selected in a content stream (cs/CS)")
    for match in SPACE_OP.finditer(data):
        name = "/" + match.group(1).decode("latin-1")
        if name in spaces and _colour_space_is_rgb(spaces[name]):
            report.add(number, f"RGB colour space {name} selected in a content stream")
            break
    for match in CMYK_OP.finditer(data):
        ink = sum(float(v) for v in match.groups()) * 100
        report.max_ink = max(report.max_ink, ink)
        if ink > MAX_INK + 0.5:
            report.add(number, f"total ink {ink:.0f} % (at most {MAX_INK:.0f} %)")
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


def _holds_images(xobject, visiting: set) -> bool:
    """An image, or a form that draws one (at any depth)."""
    if xobject.get("/Subtype") == "/Image":
        return True
    if xobject.get("/Subtype") != "/Form" or id(xobject) in visiting:
        return False
    visiting.add(id(xobject))
    resources = (xobject.get("/Resources") or {})
    resources = resources.get_object() if hasattr(resources, "get_object") else resources
    return any(_holds_images(x.get_object(), visiting)
               for x in (resources.get("/XObject") or {}).values())


def _place_images(contents, resources, xobjects: dict, number: int, report: Report, ctm,
                  page, seen: set) -> None:
    stack = []
    for operands, operator in ContentStream(contents, page.pdf).operations:
        if operator == b"q":
            stack.append(ctm)
        elif operator == b"Q" and stack:
            ctm = stack.pop()
        elif operator == b"cm":
            ctm = _multiply([float(v) for v in operands], ctm)
        elif operator == b"Do" and operands and operands[0] in xobjects:
            xobject = xobjects[operands[0]]
            if xobject.get("/Subtype") == "/Image":
                _check_image(xobject, ctm, number, report)
            elif xobject.get("/Subtype") == "/Form":
                matrix = [float(v) for v in xobject.get("/Matrix", [1, 0, 0, 1, 0, 0])]
                _scan(xobject, xobject.get("/Resources"), number, report, seen,
                      _multiply(matrix, ctm), page)


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

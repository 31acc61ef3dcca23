"""Stage 6, preflight: checks on the finished PDF bytes, each problem located by page."""

from __future__ import annotations

import io

from pypdf import PdfReader

from .fonts import declared_font_names
from .sources import PublicationConfig

MM = 72 / 25.4


def check_pdf(data: bytes, config: PublicationConfig, variant: str) -> list[str]:
    reader = PdfReader(io.BytesIO(data))
    problems: list[str] = []
    problems += _check_boxes(reader, config)
    problems += _check_fonts(reader)
    return problems


def _check_boxes(reader: PdfReader, config: PublicationConfig) -> list[str]:
    width, height = (float(v.removesuffix("mm")) for v in config.trim)
    problems = []
    for number, page in enumerate(reader.pages, start=1):
        trim = page.trimbox
        w, h = float(trim.width) / MM, float(trim.height) / MM
        if abs(w - width) > 0.2 or abs(h - height) > 0.2:
            problems.append(f"page {number}: trim box {w:.1f} x {h:.1f} mm, "
                            f"expected {width:g} x {height:g} mm")
    return problems


def pdf_fonts(reader: PdfReader) -> dict[str, bool]:
    """Base font name (subset prefix removed) -> embedded?"""
    fonts: dict[str, bool] = {}

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
            if xobject.get("/Subtype") == "/Form":
                walk(xobject.get("/Resources"))

    for page in reader.pages:
        walk(page.get("/Resources"))
    return fonts


def _check_fonts(reader: PdfReader) -> list[str]:
    declared = declared_font_names()
    problems = []
    for name, embedded in sorted(pdf_fonts(reader).items()):
        if not embedded:
            problems.append(f"font {name} is not embedded")
        if not any(name == d or name.startswith(d + "-") for d in declared):
            problems.append(f"font {name} is not one of the project's fonts "
                            f"(a glyph fell back to a system font)")
    return problems

"""Fonts come from Python packages (fontpkg-*, OFL), never from the machine.

The build resolves the font files of the installed packages and writes the `@font-face`
rules; stylesheets use only the family names declared here.
"""

from __future__ import annotations

import importlib
from pathlib import Path

#: CSS family name -> font package. The names are our own, so fontconfig cannot swap them
#: for a system font (a family called "Sans" silently becomes DejaVu).
FAMILIES = {
    "Trotter Text": "fontpkg_literata",       # serif for reading: Literata
    "Trotter Display": "fontpkg_source_sans_3",  # sans for headings, boxes, card: Source Sans 3
}


def font_files() -> dict[str, list[Path]]:
    files = {}
    for family, package in FAMILIES.items():
        root = Path(importlib.import_module(package).__file__).resolve().parent / "files"
        files[family] = sorted(p for p in root.iterdir() if p.suffix in (".ttf", ".otf"))
    return files


def font_face_css() -> str:
    # Variable fonts: one face per style; WeasyPrint picks the weight instance itself.
    rules = []
    for family, paths in font_files().items():
        for path in paths:
            style = "italic" if "italic" in path.name.lower() else "normal"
            rules.append(
                f'@font-face {{ font-family: "{family}"; src: url("{path.as_uri()}"); '
                f"font-style: {style}; }}")
    return "\n".join(rules) + "\n"


def declared_font_names() -> set[str]:
    """Font names as WeasyPrint writes them into the PDF: the family, spaces as hyphens."""
    return {family.replace(" ", "-") for family in FAMILIES}

"""Every glyph comes from the project's fonts: a character the fonts lack is an error.

WeasyPrint silently falls back to a system font for a missing glyph (or draws a blank box);
checking the source text against the fonts' character maps names the character and the
file and line instead.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from pathlib import Path

from .errors import BuildError
from .fonts import package_files

#: Characters WeasyPrint never draws with a font (breaks, joiners, soft hyphen).
INVISIBLE = {"\n", "\r", "\t", "\u00ad", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"}


#: the families text is set in (code has its own font, with Trotter Text as its fallback)
TEXT_FAMILIES = ("Trotter Text", "Trotter Display")


@lru_cache(maxsize=1)
def _coverage() -> dict[str, set[int]]:
    """Character map of each text family (its instances share one map)."""
    from fontTools.ttLib import TTFont

    coverage = {}
    for family in TEXT_FAMILIES:     # the package's font: its static instances share its map
        path = next(p for p in package_files(family) if "italic" not in p.name.lower())
        coverage[path.name] = set(TTFont(path, lazy=True).getBestCmap())
    return coverage


def check_text(text: str, path: Path) -> None:
    """Raise for the first character of `text` that one of the project's fonts lacks."""
    coverage = _coverage()
    common = set.intersection(*coverage.values())
    for line_number, line in enumerate(text.splitlines(), start=1):
        for char in line:
            if ord(char) < 128 or char in INVISIBLE or ord(char) in common:
                continue
            lacking = sorted(name.split("[")[0].split(".")[0]
                             for name, cmap in coverage.items() if ord(char) not in cmap)
            name = unicodedata.name(char, "unnamed character")
            raise BuildError(f"character {char!r} (U+{ord(char):04X} {name}) is not in the "
                             f"project's fonts ({', '.join(lacking)} lack it): use another "
                             "character", path, line_number)

"""The design tokens, read from styles/tokens.css and styles/screen.css: for the specimen's
token sheet (every colour with its CMYK value and its screen RGB, and the contrast of the text
colours against white paper; the type scale)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .deps import read_bytes
DECLARATION = re.compile(r"(--[\w-]+)\s*:\s*([^;]+);")
CMYK = re.compile(r"device-cmyk\(\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*\)")
RGB = re.compile(r"rgb\(\s*(\d+)[\s,]+(\d+)[\s,]+(\d+)\s*\)")
VAR = re.compile(r"^var\((--[\w-]+)\)$")


@dataclass
class Colour:
    name: str
    cmyk: tuple[float, float, float, float]
    rgb: tuple[int, int, int]
    text: bool                       # used as a text colour somewhere in styles/
    screen: bool = True              # its RGB is set in screen.css (else from the profile)

    @property
    def cmyk_text(self) -> str:
        return " ".join(f"{round(v * 100)}" for v in self.cmyk)

    @property
    def rgb_hex(self) -> str:
        return "#" + "".join(f"{v:02x}" for v in self.rgb)

    @property
    def contrast(self) -> float:
        """WCAG contrast ratio against white paper."""
        def channel(v):
            v /= 255
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
        r, g, b = (channel(v) for v in self.rgb)
        return 1.05 / (0.2126 * r + 0.7152 * g + 0.0722 * b + 0.05)


def _declarations(project, name: str) -> dict[str, str]:
    text = read_bytes(project.styles / name).decode("utf-8")
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return {k: v.strip() for k, v in DECLARATION.findall(text)}


def _resolve(name: str, tokens: dict[str, str], seen=()) -> str | None:
    value = tokens.get(name)
    match = VAR.match(value or "")
    if match and match.group(1) not in seen:
        return _resolve(match.group(1), tokens, (*seen, name))
    return value


def palette(project) -> list[tuple[str, tuple[float, float, float, float], tuple[int, int, int] | None]]:
    """Every colour token: name, print CMYK (tokens.css) and screen RGB (screen.css, None where
    it sets none). Reads those two files only."""
    print_tokens = _declarations(project, "tokens.css")
    screen_tokens = {**print_tokens, **_declarations(project, "screen.css")}
    found = []
    for name in print_tokens:
        value = _resolve(name, print_tokens) or ""
        cmyk = CMYK.search(value)
        if not name.startswith("--c-") or not cmyk:
            continue
        screen = RGB.search(_resolve(name, screen_tokens) or "")
        found.append((name, tuple(float(v) for v in cmyk.groups()),
                      tuple(int(v) for v in screen.groups()) if screen else None))
    return found


def colours(project) -> list[Colour]:
    used_for_text = set()
    for path in sorted(project.styles.glob("*.css")):
        used_for_text |= set(re.findall(r"(?<![\w-])color:\s*var\((--[\w-]+)\)",
                                        read_bytes(path).decode("utf-8")))
    return [Colour(name, cmyk, rgb or _on_screen(project, cmyk), name in used_for_text,
                   rgb is not None) for name, cmyk, rgb in palette(project)]


def _on_screen(project, cmyk: tuple[float, float, float, float]) -> tuple[int, int, int]:
    """A CMYK token without a screen RGB: as it prints, through the output profile (the
    way back of the one colour path, see colour.py); the naive formula without a profile."""
    from .errors import BuildError

    try:
        from .colour import cmyk_to_rgb

        return cmyk_to_rgb(project, cmyk)
    except BuildError:
        c, m, y, k = cmyk
        return tuple(round(255 * (1 - ch) * (1 - k)) for ch in (c, m, y))


def type_scale(project) -> list[tuple[str, str]]:
    tokens = _declarations(project, "tokens.css")
    return [(name, value) for name, value in tokens.items()
            if name.startswith(("--fs-", "--lh-"))]

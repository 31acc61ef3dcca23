"""One colour path for print: every RGB colour that reaches a print PDF goes through the same
ICC transform — sRGB to the project's output profile (`Project.profile`, FOGRA39 built with a 300 %
ink limit), relative colorimetric, littleCMS through Pillow's ImageCms — whether it is a pixel
of a raster image or a colour in an SVG (presentation attributes, `style` declarations,
`<style>` sheets).

Two exceptions keep the house style exact:

- **The design tokens are the source of truth.** An SVG colour that is the screen RGB of a
  token (`styles/screen.css`) prints as that token's `device-cmyk` value (`styles/tokens.css`):
  a brand colour drawn in an illustration prints like the same colour set in CSS. Tokens are
  never converted.
- **Greys print in black only.** A neutral colour (R, G and B within 6 %) becomes pure K, the
  K whose lightness through the same profile matches the grey's: thin lines and text in four
  inks would show every registration error (GWG: small text and fine lines in one ink).

The transform is built once per process and profile; a colour is converted once (cached).
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from functools import lru_cache
from pathlib import Path

from . import deps

#: the rendering intent of every RGB → CMYK conversion (rasters and vector colours alike)
INTENT = "RELATIVE_COLORIMETRIC"
NEUTRAL = 0.06                  # R, G, B within this of each other: a grey, printed in K only


# -- the transform ---------------------------------------------------------------------------

def _profile(project) -> Path:
    from .icc import require_profile

    return require_profile(project)


@lru_cache(maxsize=4)
def _transform(profile: str, mtime_ns: int):
    from PIL import ImageCms

    return ImageCms.buildTransform(
        ImageCms.createProfile("sRGB"), ImageCms.getOpenProfile(profile), "RGB", "CMYK",
        renderingIntent=getattr(ImageCms.Intent, INTENT))


def transform(project):
    """The sRGB → output CMYK transform of the project's profile (built once per profile
    file and process)."""
    path = _profile(project)
    return _transform(str(path), path.stat().st_mtime_ns)


@lru_cache(maxsize=4)
def _k_lightness(profile: str, mtime_ns: int) -> list[float]:
    """L* of K-only tints 0..255 printed on this profile (index = K in 1/255)."""
    from PIL import Image, ImageCms

    ramp = Image.frombytes("CMYK", (256, 1), b"".join(bytes((0, 0, 0, k)) for k in range(256)))
    to_lab = ImageCms.buildTransform(
        ImageCms.getOpenProfile(profile), ImageCms.createProfile("LAB"), "CMYK", "LAB",
        renderingIntent=getattr(ImageCms.Intent, INTENT))
    lab = ImageCms.applyTransform(ramp, to_lab)
    return [lab.getpixel((k, 0))[0] * 100 / 255 for k in range(256)]


def _srgb_lightness(grey: float) -> float:
    """CIE L* of an sRGB grey (0..1)."""
    linear = grey / 12.92 if grey <= 0.04045 else ((grey + 0.055) / 1.055) ** 2.4
    return 116 * linear ** (1 / 3) - 16 if linear > 0.008856 else 903.3 * linear


def rgb_to_cmyk(project, rgb: tuple[int, int, int]) -> tuple[float, float, float, float]:
    """One sRGB colour (0..255 each) as CMYK fractions, by the rules of this module."""
    path = _profile(project)
    return token_cmyk(project).get(tuple(rgb)) or _convert(tuple(rgb), str(path),
                                                     path.stat().st_mtime_ns)


@lru_cache(maxsize=4096)
def _convert(rgb: tuple[int, int, int], profile: str, mtime_ns: int):
    r, g, b = (v / 255 for v in rgb)
    if max(r, g, b) - min(r, g, b) < NEUTRAL:
        wanted = _srgb_lightness((r + g + b) / 3)
        lightness = _k_lightness(profile, mtime_ns)
        k = min(range(256), key=lambda i: abs(lightness[i] - wanted))
        return (0.0, 0.0, 0.0, round(k / 255, 3))
    from PIL import Image, ImageCms

    pixel = ImageCms.applyTransform(Image.new("RGB", (1, 1), rgb),
                                    _transform(profile, mtime_ns)).getpixel((0, 0))
    return tuple(round(v / 255, 3) for v in pixel)


TOKEN_FILES = ("tokens.css", "screen.css")          # in the project's styles/


def token_cmyk(project) -> dict[tuple[int, int, int], tuple[float, float, float, float]]:
    """Screen RGB of every colour token that has one -> its print CMYK (the tokens' own).

    Read again when tokens.css or screen.css changed (a worker lives on between builds);
    both are recorded as inputs of the build that converts colours (deps.note_data)."""
    stamp = []
    for name in TOKEN_FILES:
        stat = (project.styles / name).stat()
        stamp.append((stat.st_size, stat.st_mtime_ns))
    table, rows = _token_table(project, tuple(stamp))
    deps.note_data(rows)
    return dict(table)


@lru_cache(maxsize=2)
def _token_table(project, stamp: tuple) -> tuple:
    from .tokens import palette

    with deps.recording(project.root) as read:
        table = tuple((rgb, cmyk) for _, cmyk, rgb in palette(project) if rgb is not None)
    return table, tuple(tuple(r.row()) for r in read.files.values())


# -- raster images ---------------------------------------------------------------------------

def raster_to_cmyk(project, data: bytes) -> bytes:
    """A raster image converted from sRGB to the output profile's CMYK (the transform above),
    as a high-quality JPEG; transparency goes onto white paper; CMYK stays as it is."""
    from PIL import Image, ImageCms

    with Image.open(io.BytesIO(data)) as image:
        if image.mode == "CMYK":
            return data
        extra = {"dpi": image.info["dpi"]} if "dpi" in image.info else {}
        rgba = image.convert("RGBA")
        rgb = Image.new("RGB", image.size, (255, 255, 255))
        rgb.paste(rgba, mask=rgba.getchannel("A"))
        out = io.BytesIO()
        ImageCms.applyTransform(rgb, transform(project)).save(out, "JPEG", quality=92, **extra)
        return out.getvalue()


# -- SVG and CSS colours ---------------------------------------------------------------------

SVG_NS = "http://www.w3.org/2000/svg"
#: SVG properties whose value is a colour (presentation attributes and `style` declarations)
COLOUR_PROPERTIES = {"fill", "stroke", "stop-color", "flood-color", "lighting-color", "color",
                     "solid-color"}


def cmyk(project, colour: str) -> str | None:
    """A CSS colour (hex, named, rgb()) as `device-cmyk()`, through the output profile.
    None for what is not a colour (`none`, `url(#verloop)`, `currentColor`, cmyk already).
    An alpha below 1 is kept as the colour's opacity."""
    return _Converter(project)(colour)


class _Converter:
    """Colours of one document: the profile and tokens looked at once, each colour once."""

    def __init__(self, project):
        path = _profile(project)
        self.key = (str(path), path.stat().st_mtime_ns)
        self.tokens = tuple(sorted(token_cmyk(project).items()))

    def __call__(self, colour: str) -> str | None:
        return _css_cmyk(colour.strip(), self.key, self.tokens)


@lru_cache(maxsize=4096)
def _css_cmyk(colour: str, key: tuple, tokens: tuple) -> str | None:
    import tinycss2.color4

    parsed = tinycss2.color4.parse_color(colour)
    if parsed is None or isinstance(parsed, str):
        return None
    try:
        parsed = parsed.to("srgb")          # hex, names, rgb(), hsl(), hwb(): sRGB
    except NotImplementedError:             # a wide-gamut space: WeasyPrint's, preflight's
        return None
    rgb = tuple(round(min(max(v, 0.0), 1.0) * 255) for v in parsed.coordinates)
    c, m, y, k = dict(tokens).get(rgb) or _convert(rgb, *key)
    alpha = f" / {parsed.alpha:g}" if parsed.alpha < 1 else ""
    return f"device-cmyk({c:g} {m:g} {y:g} {k:g}{alpha})"


def _convert_declarations(text: str, convert) -> str:
    out = []
    for declaration in text.split(";"):
        name, colon, value = declaration.partition(":")
        if colon and name.strip().lower() in COLOUR_PROPERTIES:
            converted = convert(value)
            if converted:
                declaration = f"{name}:{converted}"
        out.append(declaration)
    return ";".join(out)


def _convert_stylesheet(css: str, convert) -> str:
    import tinycss2

    rules = tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True)
    for rule in rules:
        if rule.type == "qualified-rule":
            body = tinycss2.serialize(rule.content)
            rule.content = tinycss2.parse_component_value_list(
                _convert_declarations(body, convert))
    return tinycss2.serialize(rules)


def svg_to_cmyk(project, svg: bytes) -> bytes:
    """The colours of an SVG as `device-cmyk()`, where SVG has colours: the presentation
    attributes, `style` declarations and `<style>` sheets, and the default fill (black) as
    CMYK black. References (`url(#verloop)`, `href="#c0ffee"`) and other text are left
    alone."""
    ET.register_namespace("", SVG_NS)
    ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")
    try:
        root = ET.fromstring(svg)
    except ET.ParseError:
        return svg                      # WeasyPrint reports an unreadable SVG itself
    convert = _Converter(project)
    if "fill" not in root.attrib:           # SVG's default fill is black: CMYK black
        root.set("fill", "device-cmyk(0 0 0 1)")
    for element in root.iter():
        for name, value in list(element.attrib.items()):
            if name in COLOUR_PROPERTIES:
                converted = convert(value)
                if converted:
                    element.set(name, converted)
            elif name == "style":
                element.set(name, _convert_declarations(value, convert))
        if element.tag in (f"{{{SVG_NS}}}style", "style") and element.text:
            element.text = _convert_stylesheet(element.text, convert)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def cmyk_to_rgb(project, cmyk: tuple[float, float, float, float]) -> tuple[int, int, int]:
    """How a CMYK colour prints, as sRGB (the output profile back to sRGB, same intent)."""
    from PIL import Image, ImageCms

    path = _profile(project)
    back = _back_transform(str(path), path.stat().st_mtime_ns)
    pixel = Image.new("CMYK", (1, 1), tuple(round(v * 255) for v in cmyk))
    return tuple(ImageCms.applyTransform(pixel, back).getpixel((0, 0)))


@lru_cache(maxsize=4)
def _back_transform(profile: str, mtime_ns: int):
    from PIL import ImageCms

    return ImageCms.buildTransform(
        ImageCms.getOpenProfile(profile), ImageCms.createProfile("sRGB"), "CMYK", "RGB",
        renderingIntent=getattr(ImageCms.Intent, INTENT))

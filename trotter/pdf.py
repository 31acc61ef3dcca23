"""Stage 4, PDF: WeasyPrint lays out the HTML and writes the PDF.

The only module that imports WeasyPrint. Every resource goes through `RestrictedFetcher`:
files inside the repository (real path checked), the project's font files and colour
profile, and `data:` URLs; nothing else, no network. Every WeasyPrint ERROR fails the build.
"""

from __future__ import annotations

import io
import logging
import mimetypes
import re
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlparse

import weasyprint
from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

from . import ROOT
from .errors import BuildError



class RefusedURL(FatalURLFetchingError):
    def __init__(self, url: str, reason: str):
        super().__init__(f"refused to load `{url}`: {reason}")
        self.url, self.reason = url, reason


class RestrictedFetcher(URLFetcher):
    """Only repository files, declared extra files (fonts, ICC profile) and `data:` URLs."""

    def __init__(self, extra_files=(), allowed_roots=None, cmyk_svg=False, profile=None):
        super().__init__(timeout=1, allowed_protocols={"file", "data"})
        self.cmyk_svg = cmyk_svg
        self.profile = profile
        self.extra = {Path(p).resolve() for p in extra_files}
        self.roots = [Path(r).resolve() for r in (allowed_roots or [ROOT])]

    def fetch(self, url, headers=None):
        scheme = url.split(":", 1)[0].lower()
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme != "file":
            raise RefusedURL(url, "only files inside the repository may be loaded")
        path = Path(unquote(urlparse(url).path)).resolve()
        if path not in self.extra and not self._allowed(path):
            raise RefusedURL(url, "outside the repository")
        if not path.is_file():
            raise RefusedURL(url, "file not found")
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        body = path.read_bytes()
        if self.cmyk_svg and path.suffix == ".svg":
            body = svg_to_cmyk(body)
        elif self.cmyk_svg and path.suffix.lower() in RASTER:
            body, mime = raster_to_cmyk(body, self.profile), "image/jpeg"
        return URLFetcherResponse(path.as_uri(), body, headers={"Content-Type": mime})

    def _allowed(self, path: Path) -> bool:
        for root in self.roots:
            if path.is_relative_to(root):
                parts = path.relative_to(root).parts
                if root == ROOT and parts and (parts[0].startswith(".")):
                    return False
                return True
        return False


HEX = re.compile(rb"#([0-9a-fA-F]{6})\b")
RASTER = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".gif"}


def raster_to_cmyk(data: bytes, profile) -> bytes:
    """Print variant: a raster image converted from sRGB to the output profile's CMYK
    (Pillow ImageCms, relative colorimetric), as a high-quality JPEG; CMYK stays as it is."""
    from PIL import Image, ImageCms

    with Image.open(io.BytesIO(data)) as image:
        if image.mode == "CMYK":
            return data
        extra = {"dpi": image.info["dpi"]} if "dpi" in image.info else {}
        rgba = image.convert("RGBA")             # transparency goes onto white paper
        rgb = Image.new("RGB", image.size, (255, 255, 255))
        rgb.paste(rgba, mask=rgba.getchannel("A"))
        transform = ImageCms.buildTransform(
            ImageCms.createProfile("sRGB"), ImageCms.getOpenProfile(str(profile)), "RGB",
            "CMYK", renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC)
        out = io.BytesIO()
        ImageCms.applyTransform(rgb, transform).save(out, "JPEG", quality=92, **extra)
        return out.getvalue()


def svg_to_cmyk(svg: bytes) -> bytes:
    """Print variant: the SVG's hex colours as `device-cmyk()`; near-greys become pure K."""
    def convert(match):
        r, g, b = (int(match.group(1)[i:i + 2], 16) / 255 for i in (0, 2, 4))
        if max(r, g, b) - min(r, g, b) < 0.06:
            return f"device-cmyk(0 0 0 {1 - (r + g + b) / 3:.3f})".encode()
        k = 1 - max(r, g, b)
        c, m, y = ((1 - v - k) / (1 - k) for v in (r, g, b))
        return f"device-cmyk({c:.3f} {m:.3f} {y:.3f} {k:.3f})".encode()
    return HEX.sub(convert, svg)


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.errors: list[str] = []
        self.warnings: list[str] = []

    def emit(self, record):
        message = record.getMessage().splitlines()[0]
        (self.errors if record.levelno >= logging.ERROR else self.warnings).append(message)


@contextmanager
def _captured_logs():
    handler = _Collect()
    logger = logging.getLogger("weasyprint")
    old_level, old_propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    logger.propagate = False
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        logger.propagate = old_propagate


class Rendered:
    """A laid-out document: page count and, on demand, the PDF bytes."""

    def __init__(self, document, fetcher, options, warnings):
        self.document = document
        self.fetcher = fetcher
        self.options = options
        self.warnings = warnings

    @property
    def pages(self) -> int:
        return len(self.document.pages)

    def write(self) -> bytes:
        with _captured_logs() as logs:
            try:
                data = self.document.write_pdf(**self.options)
            except FatalURLFetchingError as exc:
                raise BuildError(str(exc)) from None
        _raise_errors(logs)
        self.warnings += logs.warnings
        return data


def layout(html: str, source: Path, extra_files=(), options=None,
           allowed_roots=None, cmyk=False, profile=None) -> Rendered:
    """Lay out the HTML (base URL: the repository). `source` names the file in errors."""
    fetcher = RestrictedFetcher(extra_files, allowed_roots, cmyk_svg=cmyk, profile=profile)
    with _captured_logs() as logs:
        try:
            document = weasyprint.HTML(string=html, base_url=str(ROOT) + "/",
                                       url_fetcher=fetcher).render()
        except FatalURLFetchingError as exc:
            raise BuildError(str(exc), source) from None
    _raise_errors(logs, source)
    return Rendered(document, fetcher, dict(options or {}), logs.warnings)


def _raise_errors(logs: _Collect, source: Path | None = None) -> None:
    if logs.errors:
        raise BuildError("WeasyPrint: " + "; ".join(dict.fromkeys(logs.errors)), source)

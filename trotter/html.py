"""Stage 3, HTML: the document model rendered by Jinja2 templates (autoescaping on)."""

from __future__ import annotations

from datetime import datetime, timezone

from jinja2 import Environment, FileSystemLoader, select_autoescape

from . import ROOT
from .fonts import font_face_css
from .icc import require_profile
from .model import Document

VARIANTS = ("print", "screen")


def stylesheets(config, variant: str) -> list[str]:
    """The style stack, in its one order: tokens -> base -> print|screen -> publication."""
    return ["styles/tokens.css", "styles/base.css", f"styles/{variant}.css",
            f"styles/{config.stylesheet}"]


def environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(ROOT / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True)


def render_html(doc: Document, variant: str, source_date: int, extra_pages: int = 0,
                version: str | None = None) -> str:
    config = doc.config
    date = datetime.fromtimestamp(source_date, tz=timezone.utc)
    page_css = font_face_css()
    if variant == "print":   # PDF/X-4 output intent: the CMYK profile
        page_css += ('@color-profile device-cmyk { src: url("%s"); components: c, m, y, k; }\n'
                     % require_profile().as_uri())
    template = environment().get_template(config.template)
    return template.render(
        pub=config.data, doc=doc, variant=variant, kind=config.kind,
        stylesheets=stylesheets(config, variant), font_css=page_css,
        date_iso=date.strftime("%Y-%m-%dT%H:%M:%SZ"), year=date.year,
        extra_pages=extra_pages, version=version)

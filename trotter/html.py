"""Stage 3, HTML: the document model rendered by Jinja2 templates (autoescaping on).

A template marks its render units with `unit("name")`: `{% if unit("front") %}…{% endif %}`.
Rendered whole, every unit is shown and the names are collected in document order; rendered
for one unit, only that unit's content is there (wrappers of the others stay, `hidden`, so
structural selectors such as `.part:first-child` mean the same in every render). A
publication whose template names no units is one unit.

Templates are read through a loader that records them as inputs of the build. Dates in the
HTML metadata are neutral: finishing stamps the publication's source date into the PDF, so a
new date does not make every unit render again.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from jinja2 import BaseLoader, Environment, TemplateNotFound, select_autoescape
from markupsafe import Markup

from .deps import read_bytes
from .fonts import font_face_css
from .icc import require_profile
from .model import Document
from .variants import PDF_NAMES, get as variant_of

VARIANTS = PDF_NAMES      # the variants WeasyPrint lays out (variants.py)
NEUTRAL_DATE = "2000-01-01T00:00:00Z"      # replaced by the source date in finishing


def stylesheets(config, variant: str) -> list[str]:
    """The style stack, in its one order: tokens -> base -> print|screen -> publication."""
    return ["styles/tokens.css", "styles/base.css", f"styles/{variant_of(variant).stylesheet}",
            f"styles/{config.stylesheet}"]


class RecordingLoader(BaseLoader):
    """Templates from the project's templates/, each recorded as an input of the running
    build."""

    def __init__(self, folder: Path):
        self.folder = folder

    def get_source(self, environment, template):
        path = (self.folder / template).resolve()
        if not path.is_relative_to(self.folder) or not path.is_file():
            raise TemplateNotFound(template)
        source = read_bytes(path).decode("utf-8")
        return source, str(path), lambda: True     # one environment per build


def environment(project) -> Environment:
    return Environment(
        loader=RecordingLoader(project.templates),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True)


class Units:
    """`unit(name)` in templates: which units exist, and which one is being rendered."""

    def __init__(self, only):
        self.only = {only} if isinstance(only, str) else (set(only) if only else None)
        self.names: list[str] = []

    def __call__(self, name: str) -> bool:
        if name not in self.names:
            self.names.append(name)
        return self.only is None or name in self.only


class _Design:
    """`design.colours()`, `design.type_scale()` in templates: the tokens (the specimen)."""

    def __init__(self, project):
        self.project = project

    def colours(self):
        from .tokens import colours

        return colours(self.project)

    def type_scale(self):
        from .tokens import type_scale

        return type_scale(self.project)


def render_html(doc: Document, variant: str, source_date: int, extra_pages: int = 0,
                version: str | None = None, only: str | None = None) -> str:
    return render_units(doc, variant, source_date, extra_pages, version, only)[0]


def render_units(doc: Document, variant: str, source_date: int, extra_pages: int = 0,
                 version: str | None = None, only: str | None = None,
                 env: Environment | None = None) -> tuple[str, list[str]]:
    """The HTML of the whole publication (or of the unit `only`, a name or a set of names)
    and the names of all units."""
    config = doc.config
    project = config.project
    year = datetime.fromtimestamp(source_date, tz=timezone.utc).year
    page_css = font_face_css(project.fonts)
    if variant_of(variant).colour == "cmyk":   # PDF/X-4 output intent: the CMYK profile
        page_css += ('@color-profile device-cmyk { src: url("%s"); components: c, m, y, k; }\n'
                     % require_profile(project).as_uri())
    units = Units(only)
    template = (env or environment(project)).get_template(config.template)
    html = template.render(
        pub=config.data, doc=doc, variant=variant, kind=config.kind,
        stylesheets=stylesheets(config, variant), font_css=page_css,
        date_iso=NEUTRAL_DATE, year=year, extra_pages=extra_pages, version=version,
        unit=units, hidden=lambda shown: Markup("") if shown else Markup(" hidden"),
        design=_Design(project))
    return html, units.names

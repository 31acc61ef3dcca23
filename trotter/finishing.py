"""Stage 5, finishing: page rules (padding, exact counts) and the PDF after WeasyPrint."""

from __future__ import annotations

import hashlib

from .errors import BuildError
from .fonts import font_files
from .sources import PublicationConfig


def pdf_settings(variant: str, html: str) -> dict:
    """What the PDF stage may read besides the repository, and how it writes.

    The file identifier is derived from the HTML (WeasyPrint would make a random one), so the
    same sources give the same bytes.
    """
    extra = [p for paths in font_files().values() for p in paths]
    identifier = hashlib.md5(html.encode("utf-8"), usedforsecurity=False).hexdigest()
    return {"extra_files": extra, "options": {"pdf_identifier": identifier.encode()},
            "cmyk": variant == "print"}


def padding_pages(config: PublicationConfig, pages: int) -> int:
    """Intentional pages (notes) needed to reach the page multiple, within the maximum."""
    rules = config.pages
    multiple = rules.get("multiple")
    if not multiple or pages % multiple == 0:
        return 0
    extra = multiple - pages % multiple
    maximum = rules.get("max")
    if maximum and pages + extra > maximum:
        raise BuildError(f"{pages} pages cannot be padded to a multiple of {multiple} within "
                         f"the maximum of {maximum} pages: shorten the text",
                         config.path, config.lines.get("pages"))
    return extra


def check_page_rules(config: PublicationConfig, pages: int) -> None:
    rules = config.pages
    exact, maximum = rules.get("exact"), rules.get("max")
    if exact and pages != exact:
        sources = ", ".join(str(p.relative_to(config.folder)) for p in config.all_sources())
        raise BuildError(f"the text does not fit on {exact} pages: it needs {pages}; "
                         f"shorten {sources}", config.path, config.lines.get("pages"))
    if maximum and pages > maximum:
        raise BuildError(f"{pages} pages is more than the maximum of {maximum}",
                         config.path, config.lines.get("pages"))
    multiple = rules.get("multiple")
    if multiple and pages % multiple:
        raise BuildError(f"{pages} pages is not a multiple of {multiple}", config.path,
                         config.lines.get("pages"))


def finish(data: bytes, config: PublicationConfig, variant: str, date: int) -> bytes:
    return data

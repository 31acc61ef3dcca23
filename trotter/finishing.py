"""Stage 5, finishing: page rules (padding, exact counts) and the PDF after WeasyPrint."""

from __future__ import annotations

import hashlib
import io
import re
import uuid

from pypdf import PdfReader, PdfWriter
from pypdf.generic import NameObject

from .errors import BuildError
from .fonts import font_files
from .icc import require_profile
from .sources import PublicationConfig


def pdf_settings(variant: str, html: str) -> dict:
    """What the PDF stage may read besides the repository, and how it writes.

    The file identifier is derived from the HTML (WeasyPrint would make a random one), so the
    same sources give the same bytes.
    """
    extra = [p for paths in font_files().values() for p in paths]
    identifier = hashlib.md5(html.encode("utf-8"), usedforsecurity=False).hexdigest()
    options = {"pdf_identifier": identifier.encode()}
    profile = None
    if variant == "print":
        profile = require_profile()
        extra.append(profile)
        options["pdf_variant"] = "pdf/x-4"
    else:
        options["pdf_variant"] = "pdf/ua-1"
    return {"extra_files": extra, "options": options, "cmyk": variant == "print",
            "profile": profile}


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


XMP_ID = re.compile(rb"(xmp\.(?:did|iid):)([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")
TRAILER_ID = re.compile(
    rb"/ID\s*\[\s*([(<])([0-9a-fA-F]{32,64})([)>])\s*([(<])([0-9a-fA-F]{32,64})([)>])\s*\]")


def finish(data: bytes, config: PublicationConfig, variant: str, date: int) -> bytes:
    if variant == "print":
        data = without_annotations(data)
    return reproducible(data)


def without_annotations(data: bytes) -> bytes:
    """A print file has no annotations: drop the links WeasyPrint makes for the contents,
    cross-references and footnote calls (the screen edition keeps them)."""
    reader = PdfReader(io.BytesIO(data))
    if not any("/Annots" in page for page in reader.pages):
        return data
    writer = PdfWriter(clone_from=reader)
    writer.pdf_header = reader.pdf_header      # PDF/X-4 needs 1.6; pypdf would write 1.3
    for page in writer.pages:
        if "/Annots" in page:
            del page[NameObject("/Annots")]
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def reproducible(data: bytes) -> bytes:
    """Replace what WeasyPrint makes random (the XMP DocumentID, a uuid4) by values derived
    from the content. Same-length replacements keep every byte offset valid."""
    ids = [m.group(2) for m in XMP_ID.finditer(data)]
    blank = TRAILER_ID.sub(b"/ID []", XMP_ID.sub(rb"\1", data))
    digest = hashlib.sha256(blank).hexdigest()
    for n, old in enumerate(dict.fromkeys(ids)):
        new = uuid.UUID(hashlib.sha256(f"{digest}{n}".encode()).hexdigest()[:32], version=4)
        data = data.replace(old, str(new).encode())
    def trailer_id(m):   # only the hex digits change: same length, no offset moves
        text = bytearray(m.group(0))
        for group, value in ((2, digest[:len(m.group(2))]), (5, digest[64 - len(m.group(5)):])):
            start, end = m.start(group) - m.start(0), m.end(group) - m.start(0)
            text[start:end] = value.encode()
        return bytes(text)
    return TRAILER_ID.sub(trailer_id, data)

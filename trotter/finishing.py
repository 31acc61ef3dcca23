"""Stage 5, finishing: the laid-out units become one PDF, with its date, for its use.

- `pdf_settings`: what the PDF stage may read besides the repository, and how it writes.
- `padding_pages` / `check_page_rules`: notes pages to reach the page multiple, exact counts.
- `finish`: merge the units (pypdf: pages, bookmarks and named destinations; a single unit,
  such as the tagged screen edition, is kept whole), stamp the source date into the document
  information and the XMP metadata, drop annotations from print files, and derive the
  identifiers from the content (`reproducible`).
"""

from __future__ import annotations

import hashlib
import io
import re
import uuid
from datetime import datetime, timezone

from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, ByteStringObject, NameObject

from .errors import BuildError
from .fonts import font_files
from .html import NEUTRAL_DATE
from .icc import require_profile
from .sources import PublicationConfig
from .variants import get as variant_of

#: document-level entries of the first unit that the merged PDF keeps (PDF/X, language)
CATALOG_KEYS = ("/OutputIntents", "/Metadata", "/Lang", "/MarkInfo", "/ViewerPreferences")


def pdf_settings(variant: str) -> dict:
    """What the PDF stage may read besides the repository, and how it writes."""
    extra = [p for paths in font_files().values() for p in paths]
    options = {"pdf_identifier": b"0" * 32}     # replaced by `reproducible`
    profile = None
    if variant_of(variant).colour == "cmyk":
        profile = require_profile()
        extra.append(profile)
    options["pdf_variant"] = variant_of(variant).pdf_variant
    return {"variant": variant, "extra_files": [str(p) for p in extra], "options": options,
            "cmyk": variant_of(variant).colour == "cmyk", "profile": str(profile) if profile else None}


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


def finish(units: list[bytes], variant: str, date: int) -> bytes:
    """One PDF from the units' PDFs, dated `date` (seconds since 1970, UTC)."""
    readers = [PdfReader(io.BytesIO(data)) for data in units]
    if len(readers) == 1:
        writer = PdfWriter(clone_from=readers[0])
        if not variant_of(variant).annotations:
            for page in writer.pages:
                if "/Annots" in page:
                    del page[NameObject("/Annots")]
    else:
        writer = PdfWriter()
        excluded = () if variant_of(variant).annotations else ("/Annots",)
        for reader in readers:
            writer.append(reader, import_outline=True, excluded_fields=excluded)
        first = readers[0].trailer["/Root"]
        for key in CATALOG_KEYS:
            if key in first:
                # raw: an indirect object (a stream) stays indirect
                writer._root_object[NameObject(key)] = first.raw_get(key).clone(writer)
        if readers[0].metadata:
            writer.add_metadata(dict(readers[0].metadata))
        # every unit carries the CMYK profile and the same resources: keep one of each
        writer.compress_identical_objects(remove_duplicates=True, remove_unreferenced=True)
    writer.pdf_header = readers[0].pdf_header    # PDF/X-4 needs 1.6; pypdf would write 1.3
    # PDF/X-4 wants a file identifier in the trailer; a merged writer has none. Zeros here,
    # `reproducible` derives it from the content.
    writer._ID = ArrayObject([ByteStringObject(bytes(16)), ByteStringObject(bytes(16))])
    _stamp_date(writer, date)
    out = io.BytesIO()
    writer.write(out)
    return reproducible(out.getvalue())


def _stamp_date(writer: PdfWriter, date: int) -> None:
    """The source date in the document information and the XMP packet (WeasyPrint wrote the
    neutral date of the HTML there)."""
    when = datetime.fromtimestamp(date, tz=timezone.utc)
    writer.add_metadata({key: when.strftime("D:%Y%m%d%H%M%SZ")
                         for key in ("/CreationDate", "/ModDate")})
    root = writer._root_object
    if "/Metadata" in root:
        stream = root["/Metadata"].get_object()
        xmp = stream.get_data()
        for old, new in ((NEUTRAL_DATE, when.strftime("%Y-%m-%dT%H:%M:%SZ")),
                         (NEUTRAL_DATE.replace("Z", "+00:00"),
                          when.strftime("%Y-%m-%dT%H:%M:%S+00:00"))):
            xmp = xmp.replace(old.encode(), new.encode())
        stream.set_data(xmp)


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
        for group in (2, 5):             # both halves alike: a file as first written
            value = digest[:len(m.group(group))]
            start, end = m.start(group) - m.start(0), m.end(group) - m.start(0)
            text[start:end] = value.encode()
        return bytes(text)
    return TRAILER_ID.sub(trailer_id, data)

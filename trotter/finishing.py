"""Stage 5, finishing: the laid-out units become one PDF, with its date, for its use.

- `pdf_settings`: what the PDF stage may read besides the repository, and how it writes.
- `padding_pages` / `check_page_rules`: notes pages to reach the page multiple, exact counts.
- `finish`: merge the units (pypdf: pages, bookmarks and named destinations; a single unit,
  such as the tagged screen edition, is kept whole), stamp the source date into the document
  information and the XMP metadata, give every distinct font program its own subset tag
  (`retag_fonts`), write the page labels of the printed folios (`page_labels`), make a print
  file PDF/X-4 whatever path made it (`make_pdfx`: drop annotations, /Trapped a name,
  GTS_PDFXVersion in Info and XMP, PDF 1.6), and derive the identifiers from the content
  (`reproducible`).
"""

from __future__ import annotations

import hashlib
import io
import re
import uuid
from datetime import datetime, timezone

from pypdf import PdfReader, PdfWriter
from pypdf.generic import (ArrayObject, ByteStringObject, DecodedStreamObject,
                           DictionaryObject, FloatObject, NameObject,
                           NumberObject, TextStringObject)

from .errors import BuildError
from .fonts import font_files
from .html import NEUTRAL_DATE
from .icc import require_profile
from .sources import PublicationConfig
from .variants import get as variant_of

#: document-level entries of the first unit that the merged PDF keeps (PDF/X, language)
CATALOG_KEYS = ("/OutputIntents", "/Metadata", "/Lang", "/MarkInfo", "/ViewerPreferences")


def pdf_settings(project, variant: str) -> dict:
    """The project the PDF stage lays out for (its root), what it may read besides the
    repository (fonts, profile), and how it writes."""
    extra = [p for paths in font_files(project.fonts).values() for p in paths]
    options = {"pdf_identifier": b"0" * 32}     # replaced by `reproducible`
    profile = None
    if variant_of(variant).colour == "cmyk":
        profile = require_profile(project)
        extra.append(profile)
    options["pdf_variant"] = variant_of(variant).pdf_variant
    return {"variant": variant, "root": str(project.root),
            "extra_files": [str(p) for p in extra], "options": options,
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


def finish(units: list[bytes], variant: str, date: int, pages=None) -> bytes:
    """One PDF from the units' PDFs, dated `date` (seconds since 1970, UTC). `pages`: the
    page info of every page in order (pdf._page_info), for the page labels."""
    readers = [PdfReader(io.BytesIO(data)) for data in units]
    if len(readers) == 1:
        writer = PdfWriter(clone_from=readers[0])
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
    writer.pdf_header = readers[0].pdf_header    # PDF/X-4 needs 1.6; pypdf would write 1.3
    # every unit subsets the fonts on its own, under the same tag: one program per font,
    # one tag per program
    if len(readers) > 1:
        merge_font_subsets(writer)
        merge_font_dictionaries(writer)
    retag_fonts(writer)
    if len(readers) > 1:
        # every unit carries the CMYK profile and the same resources: keep one of each
        compact(writer)
    if pages:
        set_page_labels(writer, pages)
    # PDF/X-4 wants a file identifier in the trailer; a merged writer has none. Zeros here,
    # `reproducible` derives it from the content.
    writer._ID = ArrayObject([ByteStringObject(bytes(16)), ByteStringObject(bytes(16))])
    _stamp_date(writer, date)
    if variant_of(variant).pdf_variant == "pdf/x-4":
        make_pdfx(writer)
    out = io.BytesIO()
    writer.write(out)
    return reproducible(out.getvalue())


def compact(writer: PdfWriter) -> None:
    """Identical objects once, and nothing the document does not reach: pypdf removes only
    objects nothing refers to, in one pass, so what only removed objects referred to (the
    font descriptors, widths and maps of merged-away fonts) would stay in the file."""
    writer.compress_identical_objects(remove_duplicates=True, remove_unreferenced=True)
    seen: set[int] = set()
    todo = [writer._root_object, writer._info]
    while todo:
        obj = todo.pop()
        if obj is None:
            continue
        if hasattr(obj, "idnum") and not isinstance(obj, (DictionaryObject, ArrayObject)):
            if obj.idnum in seen or obj.idnum > len(writer._objects):
                continue
            seen.add(obj.idnum)
            todo.append(writer._objects[obj.idnum - 1])
        elif isinstance(obj, DictionaryObject):
            todo.extend(obj.values())
        elif isinstance(obj, ArrayObject):
            todo.extend(obj)
    for reference in (writer._root_object, writer._info):
        ref = getattr(reference, "indirect_reference", None)
        if ref is not None:
            seen.add(ref.idnum)
    for index, obj in enumerate(writer._objects):
        if obj is not None and index + 1 not in seen:
            writer._objects[index] = None


# -- PDF/X-4 -----------------------------------------------------------------------------------

PDFX_VERSION = "PDF/X-4"


def make_pdfx(writer: PdfWriter, producer: str | None = None) -> None:
    """What PDF/X-4 asks of the document, whatever path made it: header 1.6 or later, no
    annotations, `/Trapped /False` as a name (pypdf's add_metadata writes every value as a
    string), `/GTS_PDFXVersion` in the document information and in the XMP packet, the
    output intent and the page boxes (checked: WeasyPrint writes them, imposition copies
    them). `producer` replaces the producer in Info and XMP alike."""
    if _header_version(writer.pdf_header) < (1, 6):
        writer.pdf_header = "%PDF-1.6"
    for page in writer.pages:
        if "/Annots" in page:
            del page[NameObject("/Annots")]
        for box in ("/TrimBox", "/BleedBox"):
            if box not in page:
                raise BuildError(f"internal: a print page without {box}")
    root = writer._root_object
    if not root.get("/OutputIntents"):
        raise BuildError("internal: a print PDF without an output intent")
    if writer._info is None:
        writer._info = DictionaryObject()
    info = writer._info.get_object()
    info[NameObject("/Trapped")] = NameObject("/False")
    info[NameObject("/GTS_PDFXVersion")] = TextStringObject(PDFX_VERSION)
    if producer:
        info[NameObject("/Producer")] = TextStringObject(producer)
    if "/Metadata" in root:
        stream = root["/Metadata"].get_object()
        xmp = stream.get_data()
        if b"pdfxid:GTS_PDFXVersion" not in xmp or b"<pdf:Trapped>" not in xmp:
            raise BuildError("internal: XMP metadata without the PDF/X keys")
        if producer:
            xmp = re.sub(rb'pdf:Producer="[^"]*"',
                         b'pdf:Producer="' + _xml(producer) + b'"', xmp)
            xmp = re.sub(rb"<pdf:Producer>[^<]*</pdf:Producer>",
                         b"<pdf:Producer>" + _xml(producer) + b"</pdf:Producer>", xmp)
        stream.set_data(xmp)
    else:
        raise BuildError("internal: a print PDF without XMP metadata")


def _xml(text: str) -> bytes:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
            .encode("utf-8"))


def _header_version(header: str) -> tuple[int, int]:
    m = re.match(r"%PDF-(\d+)\.(\d+)", header or "")
    return (int(m.group(1)), int(m.group(2))) if m else (1, 3)


# -- font subsets ------------------------------------------------------------------------------

SUBSET_TAG = re.compile(r"^/?([A-Z]{6})\+")
FONT_FILES = ("/FontFile", "/FontFile2", "/FontFile3")


def subset_tag(program: bytes) -> str:
    """Six upper-case letters derived from a font program (ISO 32000-1, 9.6.4)."""
    digest = hashlib.sha256(program).digest()
    return "".join(chr(ord("A") + b % 26) for b in digest[:6])


def retag_fonts(writer: PdfWriter) -> dict[str, str]:
    """Give every embedded font program its own subset tag, derived from its bytes: units
    laid out apart subset the same font differently, and WeasyPrint gives all of them one
    tag. The same program keeps the same tag (and is merged by compress_identical_objects).
    Returns old name -> new name of the descriptors changed."""
    renamed: dict[str, str] = {}
    descriptors: dict[int, str] = {}           # id of a descriptor -> its new tag
    fonts = []
    for obj in writer._objects:
        if not isinstance(obj, DictionaryObject):
            continue
        kind = obj.get("/Type")
        if kind == "/FontDescriptor":
            program = next((obj[k].get_object() for k in FONT_FILES if k in obj), None)
            name = str(obj.get("/FontName", ""))
            if program is None or not SUBSET_TAG.match(name):
                continue
            tag = subset_tag(program.get_data())
            new = SUBSET_TAG.sub(f"/{tag}+", name)
            if new != name:
                renamed[name] = new
                obj[NameObject("/FontName")] = NameObject(new)
            descriptors[id(obj)] = tag
        elif kind == "/Font":
            fonts.append(obj)
    for font in fonts:
        descriptor = font.get("/FontDescriptor")
        if descriptor is None and "/DescendantFonts" in font:
            descendants = font["/DescendantFonts"].get_object()
            if descendants:
                descriptor = descendants[0].get_object().get("/FontDescriptor")
        if descriptor is None:
            continue
        tag = descriptors.get(id(descriptor.get_object()))
        base = str(font.get("/BaseFont", ""))
        if tag and SUBSET_TAG.match(base):
            font[NameObject("/BaseFont")] = NameObject(SUBSET_TAG.sub(f"/{tag}+", base))
    return renamed


def merge_font_subsets(writer: PdfWriter) -> int:
    """One TrueType program per font in a merged file: the subsets the units embedded of one
    font (descriptors with the same name after the tag) become one program holding every
    glyph any of them holds.

    WeasyPrint's subsets (harfbuzz) keep the font's glyph id for every glyph a page shows
    (CIDToGIDMap /Identity: the content streams, /W and ToUnicode use those ids), up to the
    highest one used; glyphs needed only as components of composite glyphs and lying above
    that come after it, renumbered, differently in every subset. So the merged program holds
    every used glyph at its own id, and each subset's component glyphs after the highest id
    used by any of them, with the composites' references rewritten. A group whose subsets
    disagree on a glyph (not one font after all), or that cannot be read, is left alone.
    Returns the number of programs merged away."""
    used: dict[int, set[int]] = {}               # id of a descriptor -> glyph ids shown
    for obj in writer._objects:
        if isinstance(obj, DictionaryObject) and obj.get("/Subtype") == "/CIDFontType2" \
                and "/FontDescriptor" in obj:
            used.setdefault(id(obj["/FontDescriptor"].get_object()), set()).update(
                _cids(obj.get("/W")))
    groups: dict[str, list[DictionaryObject]] = {}
    for obj in writer._objects:
        if (isinstance(obj, DictionaryObject) and obj.get("/Type") == "/FontDescriptor"
                and "/FontFile2" in obj and SUBSET_TAG.match(str(obj.get("/FontName", "")))):
            groups.setdefault(SUBSET_TAG.sub("", str(obj["/FontName"])), []).append(obj)
    merged = 0
    for descriptors in groups.values():
        programs: dict[int, tuple[bytes, set[int]]] = {}
        for descriptor in descriptors:
            stream = descriptor["/FontFile2"].get_object()
            data, shown = programs.get(id(stream), (stream.get_data(), set()))
            programs[id(stream)] = (data, shown | used.get(id(descriptor), set()))
        if len(programs) < 2 or any(not shown for _, shown in programs.values()):
            continue
        data = _merged_program(sorted(programs.values(), key=lambda p: p[0]))
        if data is None:
            continue
        stream = DecodedStreamObject()
        stream.set_data(data)
        stream[NameObject("/Length1")] = NumberObject(len(data))
        ref = writer._add_object(stream.flate_encode(level=9))
        for descriptor in descriptors:
            descriptor[NameObject("/FontFile2")] = ref
        merged += len(programs) - 1
    return merged


BFCHAR = re.compile(rb"<([0-9a-fA-F]{4})>\s*<([0-9a-fA-F]*)>")


def merge_font_dictionaries(writer: PdfWriter) -> int:
    """One font dictionary per font program: the Type0 fonts of the units that now share a
    program (merge_font_subsets) become one, with the union of their widths (/W) and
    ToUnicode maps, and every /Font resource that named one of them names it. Fonts whose
    widths or Unicode values disagree on a glyph stay apart. Returns the dictionaries
    merged away."""
    groups: dict[int, list] = {}
    for obj in writer._objects:
        if not (isinstance(obj, DictionaryObject) and obj.get("/Subtype") == "/Type0"
                and obj.get("/Encoding") == "/Identity-H" and "/ToUnicode" in obj):
            continue
        cid_font = obj["/DescendantFonts"].get_object()[0].get_object()
        if cid_font.get("/Subtype") != "/CIDFontType2" or \
                cid_font.get("/CIDToGIDMap") != "/Identity":
            continue
        descriptor = cid_font["/FontDescriptor"].get_object()
        program = descriptor.get("/FontFile2")
        if program is not None:
            groups.setdefault(program.idnum if hasattr(program, "idnum") else id(program),
                              []).append((obj, cid_font, descriptor))
    replaced: dict[int, object] = {}
    for members in groups.values():
        if len(members) < 2:
            continue
        widths: dict[int, float] = {}
        unicode: dict[int, bytes] = {}
        try:
            for font, cid_font, _ in members:
                for cid, width in _widths(cid_font.get("/W")).items():
                    if widths.setdefault(cid, width) != width:
                        raise ValueError("widths differ")
                cmap = font["/ToUnicode"].get_object().get_data()
                if b"bfrange" in cmap:
                    raise ValueError("a ToUnicode map with ranges")
                for glyph, text in BFCHAR.findall(cmap.split(b"endcodespacerange", 1)[-1]):
                    if unicode.setdefault(int(glyph, 16), text.lower()) != text.lower():
                        raise ValueError("Unicode values differ")
        except ValueError:
            continue
        font, cid_font, descriptor = members[0]
        boxes = [[float(v) for v in d["/FontBBox"]] for _, _, d in members]
        descriptor[NameObject("/FontBBox")] = ArrayObject(NumberObject(round(v)) for v in (
            min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes),
            max(b[3] for b in boxes)))
        flags = [int(d.get("/Flags", 0)) for _, _, d in members]
        descriptor[NameObject("/Flags")] = NumberObject(
            flags[0] & ~1 | (1 if all(f & 1 for f in flags) else 0))   # FixedPitch: all
        cid_font[NameObject("/W")] = _width_array(widths)
        cmap = font["/ToUnicode"].get_object()
        cmap.set_data(_to_unicode(unicode))
        ref = font.indirect_reference
        for other, _, _ in members[1:]:
            replaced[id(other)] = ref
    if not replaced:
        return 0
    for obj in list(writer._objects):            # pages, forms, resource dictionaries
        if not isinstance(obj, DictionaryObject) or obj.get("/Type") == "/Font":
            continue
        holders = [obj]
        if "/Resources" in obj:
            holders.append(obj["/Resources"].get_object())
        for holder in holders:
            fonts = holder.get("/Font") if isinstance(holder, DictionaryObject) else None
            fonts = fonts.get_object() if fonts is not None else None
            if not isinstance(fonts, DictionaryObject):
                continue
            for key, value in list(fonts.items()):
                target = replaced.get(id(value.get_object()))
                if target is not None:
                    fonts[NameObject(key)] = target
    return len(replaced)


def _widths(array) -> dict[int, float]:
    """cid -> width of a /W array."""
    widths: dict[int, float] = {}
    items = list(array.get_object()) if array is not None else []
    i = 0
    while i < len(items):
        first = int(items[i])
        second = items[i + 1].get_object()
        if isinstance(second, ArrayObject):
            for n, width in enumerate(second):
                widths[first + n] = float(width)
            i += 2
        else:
            for cid in range(first, int(second) + 1):
                widths[cid] = float(items[i + 2])
            i += 3
    return widths


def _width_array(widths: dict[int, float]) -> ArrayObject:
    """A /W array as WeasyPrint writes it: runs of consecutive cids."""
    out, run = ArrayObject(), None
    for cid in sorted(widths):
        if run is None or cid - 1 not in widths:
            run = ArrayObject()
            out += [NumberObject(cid), run]
        width = widths[cid]
        run.append(NumberObject(int(width)) if width == int(width) else FloatObject(width))
    return out


def _to_unicode(mapping: dict[int, bytes]) -> bytes:
    """A ToUnicode CMap as WeasyPrint writes it, for glyph id -> UTF-16BE hex."""
    lines = [b"/CIDInit /ProcSet findresource begin", b"12 dict begin", b"begincmap",
             b"/CIDSystemInfo", b"<< /Registry (Adobe)", b"/Ordering (UCS)", b"/Supplement 0",
             b">> def", b"/CMapName /Adobe-Identity-UCS def", b"/CMapType 2 def",
             b"1 begincodespacerange", b"<0000> <ffff>", b"endcodespacerange"]
    items = sorted(mapping.items())
    for start in range(0, len(items), 100):
        batch = items[start:start + 100]
        lines.append(f"{len(batch)} beginbfchar".encode())
        lines += [b"<%04x> <%s>" % (glyph, text) for glyph, text in batch]
        lines.append(b"endbfchar")
    lines += [b"endcmap", b"CMapName currentdict /CMap defineresource pop", b"end", b"end"]
    return b"\n".join(lines)


def _cids(widths) -> set[int]:
    """The CIDs a /W array gives widths for."""
    cids: set[int] = set()
    items = list(widths.get_object()) if widths is not None else []
    i = 0
    while i < len(items):
        first = int(items[i])
        second = items[i + 1].get_object() if i + 1 < len(items) else None
        if isinstance(second, ArrayObject):
            cids.update(range(first, first + len(second)))
            i += 2
        else:
            cids.update(range(first, int(second) + 1))
            i += 3
    return cids


COMPONENT_FLAGS = (0x0001, 0x0008, 0x0020, 0x0040, 0x0080)   # words, scale, more, xy, 2x2


def _components(data: bytes) -> list[int]:
    """Offsets of the glyph indices in a composite glyph's records."""
    import struct

    offsets, at = [], 10
    while True:
        flags = struct.unpack(">H", data[at:at + 2])[0]
        offsets.append(at + 2)
        at += 4 + (4 if flags & 0x0001 else 2)
        at += 2 if flags & 0x0008 else 4 if flags & 0x0040 else 8 if flags & 0x0080 else 0
        if not flags & 0x0020:
            return offsets


def _glyph_table(data: bytes):
    """(font, glyph data by id, (advance, lsb) by id) of a TrueType program, read raw."""
    import struct

    from fontTools.ttLib import TTFont

    font = TTFont(io.BytesIO(data), recalcTimestamp=False)   # same bytes every time
    raw = font.reader
    count = struct.unpack(">H", raw["maxp"][4:6])[0]
    long_loca = struct.unpack(">h", raw["head"][50:52])[0] == 1
    loca = (struct.unpack(f">{count + 1}L", raw["loca"][:4 * (count + 1)]) if long_loca else
            [2 * v for v in struct.unpack(f">{count + 1}H", raw["loca"][:2 * (count + 1)])])
    glyf = raw["glyf"]
    glyphs = [glyf[loca[i]:loca[i + 1]] for i in range(count)]
    hmetrics = struct.unpack(">H", raw["hhea"][34:36])[0]
    hmtx = raw["hmtx"]
    metrics = list(struct.iter_unpack(">Hh", hmtx[:4 * hmetrics]))
    if count > hmetrics:
        advance = metrics[-1][0]
        lsbs = struct.unpack(f">{count - hmetrics}h",
                             hmtx[4 * hmetrics:4 * hmetrics + 2 * (count - hmetrics)])
        metrics += [(advance, lsb) for lsb in lsbs]
    return font, glyphs, metrics


#: the tables a CIDFontType2 program needs (ISO 32000-1, 9.9); the rest refer to glyph ids
KEEP_TABLES = {"head", "hhea", "maxp", "OS/2", "hmtx", "cmap", "loca", "glyf", "post", "name",
               "cvt ", "fpgm", "prep", "gasp"}


def _merged_program(programs: list[tuple[bytes, set[int]]]) -> bytes | None:
    """The union of subsets (program, glyph ids shown) of one TrueType font, or None."""
    try:
        return _merge(programs)
    except Exception:          # noqa: BLE001 - not a font we can merge: leave it as it is
        return None


def _merge(programs: list[tuple[bytes, set[int]]]) -> bytes | None:
    import struct

    tables = [(*_glyph_table(data), max(shown)) for data, shown in programs]
    top = max(t[3] for t in tables)                   # the highest glyph id shown
    glyphs, metrics = [b""] * (top + 1), [(0, 0)] * (top + 1)
    simple: dict[bytes, int] = {}                     # a component glyph stored once

    def composite(data: bytes) -> bool:
        return struct.unpack(">h", data[:2])[0] < 0

    for _font, own, own_metrics, last in tables:
        new_id: dict[int, int] = {}
        for gid in range(last + 1, len(own)):         # the subset's components: after top
            if not own[gid]:
                continue
            key = own[gid].rstrip(b"\0")
            if not composite(key) and key in simple:
                new_id[gid] = simple[key]
                continue
            new_id[gid] = len(glyphs)
            glyphs.append(b"")
            metrics.append(tuple(own_metrics[gid]))
            if not composite(key):
                simple[key] = new_id[gid]

        def rewritten(data: bytes) -> bytes:
            """A composite's references to this subset's renumbered components."""
            if not composite(data):
                return data
            buffer = bytearray(data)
            for at in _components(data):
                old = struct.unpack(">H", data[at:at + 2])[0]
                if old > last:
                    buffer[at:at + 2] = struct.pack(">H", new_id[old])   # KeyError: give up
            return bytes(buffer)

        for gid, slot in new_id.items():
            if not glyphs[slot]:
                glyphs[slot] = rewritten(own[gid])
        for gid in range(min(last, len(own) - 1) + 1):
            data = own[gid]
            if not data:
                if not metrics[gid][0] and own_metrics[gid][0]:
                    metrics[gid] = tuple(own_metrics[gid])    # a shown empty glyph (space)
            elif not glyphs[gid]:
                glyphs[gid], metrics[gid] = rewritten(data), tuple(own_metrics[gid])
            elif not composite(data) and glyphs[gid].rstrip(b"\0") != data.rstrip(b"\0"):
                return None                                   # not the same font
    return _sfnt(tables, glyphs, metrics)


def _sfnt(tables, glyphs: list[bytes], metrics: list[tuple[int, int]]) -> bytes:
    """The merged program, written from raw tables: the base subset's tables (cmap maps only
    shown glyphs, which keep their ids), glyf/loca/hmtx of the merged glyphs, maxp with the
    largest of each subset's maxima, head with the union of their boxes, post without
    glyph names. No glyph is decompiled; the bytes depend only on the subsets."""
    import struct

    from fontTools.ttLib.sfnt import SFNTWriter

    raws = [t[0].reader for t in tables]
    base = raws[0]
    count = len(glyphs)
    glyf, loca = bytearray(), []
    for data in glyphs:
        loca.append(len(glyf))
        glyf += data + b"\0" * (-len(data) % 4)
    loca.append(len(glyf))
    out = {tag: base[tag] for tag in base.keys() if tag in KEEP_TABLES}
    out["glyf"] = bytes(glyf)
    out["loca"] = struct.pack(f">{count + 1}L", *loca)
    out["hmtx"] = b"".join(struct.pack(">Hh", *m) for m in metrics)
    hhea = bytearray(base["hhea"])
    hhea[10:12] = struct.pack(">H", max(m[0] for m in metrics))       # advanceWidthMax
    hhea[34:36] = struct.pack(">H", count)                            # numberOfHMetrics
    out["hhea"] = bytes(hhea)
    maxp = bytearray(base["maxp"])
    maxp[4:6] = struct.pack(">H", count)
    if len(maxp) >= 32:                        # version 1.0: the largest of every maximum
        fields = [struct.unpack(">13H", r["maxp"][6:32]) for r in raws]
        maxp[6:32] = struct.pack(">13H", *(max(f[i] for f in fields) for i in range(13)))
    out["maxp"] = bytes(maxp)
    head = bytearray(base["head"])
    boxes = [struct.unpack(">4h", r["head"][36:44]) for r in raws]
    head[36:44] = struct.pack(">4h", min(b[0] for b in boxes), min(b[1] for b in boxes),
                              max(b[2] for b in boxes), max(b[3] for b in boxes))
    head[8:12] = bytes(4)                      # checkSumAdjustment: SFNTWriter writes it
    head[50:52] = struct.pack(">h", 1)         # long loca offsets
    out["head"] = bytes(head)
    if "post" in out:
        out["post"] = struct.pack(">L", 0x00030000) + base["post"][4:32]
    file = io.BytesIO()
    writer = SFNTWriter(file, len(out))
    for tag in sorted(out):
        writer[tag] = out[tag]
    writer.close()
    return file.getvalue()


# -- page labels -------------------------------------------------------------------------------

#: CSS counter styles that PDF page labels can show (ISO 32000-1, 12.4.2)
LABEL_STYLES = {"decimal": "/D", "lower-roman": "/r", "upper-roman": "/R",
                "lower-alpha": "/a", "lower-latin": "/a", "upper-alpha": "/A",
                "upper-latin": "/A"}
COVER = "cover"          # the named page of the covers (components.css): no number


def page_labels(pages) -> list[tuple[str | None, int, str]]:
    """(style, number, prefix) of each page's label, from the layout (pdf._page_info): the
    folio it prints, in its counter style; the covers have no number; a page that prints no
    folio (title page, colophon, blank pages, part openers) is numbered like the printed
    folios of its run of consecutive page numbers (the front matter in roman numerals)."""
    info = [tuple(p) + ("", "", "")[:max(0, 6 - len(p))] for p in pages]
    own: list[tuple[str | None, int, str] | None] = []
    for counter, _side, _blank, name, style, folio in info:
        if name == COVER:
            own.append((None, 0, ""))
        elif style in LABEL_STYLES and counter >= 1:
            own.append((LABEL_STYLES[style], counter, ""))
        elif style:                                # a style labels cannot show: its text
            own.append((None, 0, folio))
        else:
            own.append(None)
    runs, start = [], 0                           # runs of consecutive page counters
    for i in range(1, len(info) + 1):
        if (i == len(info) or info[i][0] != info[i - 1][0] + 1 or info[i][3] == COVER
                or info[i - 1][3] == COVER):
            runs.append(range(start, i))
            start = i
    labels = list(own)
    for run in runs:
        styles = [own[i][0] for i in run if own[i] and own[i][0]]
        style = styles[0] if styles else "/D"
        for i in run:
            if labels[i] is None:
                counter = info[i][0]
                labels[i] = (style, counter, "") if counter >= 1 else (None, 0, str(counter))
    return labels


def label_text(style: str | None, number: int, prefix: str) -> str:
    """The label a viewer shows for (style, number, prefix)."""
    if style is None:
        return prefix
    if style == "/D":
        return prefix + str(number)
    if style in ("/r", "/R"):
        text = _roman(number)
        return prefix + (text if style == "/R" else text.lower())
    letters = chr(ord("A") + (number - 1) % 26) * ((number - 1) // 26 + 1)
    return prefix + (letters if style == "/A" else letters.lower())


def _roman(n: int) -> str:
    out = ""
    for value, numeral in ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"),
                           (90, "XC"), (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"),
                           (4, "IV"), (1, "I")):
        while n >= value:
            out, n = out + numeral, n - value
    return out


def set_page_labels(writer: PdfWriter, pages) -> None:
    """/PageLabels in the catalog: one range per run of labels that count on."""
    labels = page_labels(pages)
    if len(labels) != len(writer.pages):
        raise BuildError(f"internal: {len(labels)} page labels for {len(writer.pages)} pages")
    nums = ArrayObject()
    previous = None
    for index, (style, number, prefix) in enumerate(labels):
        continues = (previous is not None and style is not None and not prefix
                     and previous[0] == style and number == previous[1] + 1)
        previous = (style, number)
        if continues:
            continue
        entry = DictionaryObject()
        if style is not None:
            entry[NameObject("/S")] = NameObject(style)
            if number != 1:
                entry[NameObject("/St")] = NumberObject(number)
        if prefix or style is None:
            entry[NameObject("/P")] = TextStringObject(prefix)
        nums += [NumberObject(index), entry]
        previous = (style, number) if not prefix else None
    writer._root_object[NameObject("/PageLabels")] = DictionaryObject(
        {NameObject("/Nums"): nums})


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

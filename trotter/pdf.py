"""Stage 4, PDF: WeasyPrint lays out the HTML of one render unit and writes its PDF.

The only module that imports WeasyPrint; it runs in the worker processes. Every resource goes
through `RestrictedFetcher`: files inside the repository (real path checked; not in hidden
folders, not under dist/), the project's font files and colour profile, and `data:` URLs;
nothing else, no network. What it serves is recorded as an input of the build. Every
WeasyPrint ERROR fails the build; its WARNINGs are reported.

`render` lays out one unit (a whole publication, or one chapter with the lead pages that put
it on the right side and page number, see units.py), reads back from WeasyPrint what the
next units need (page numbers, anchors, running-head strings), drops the lead pages and
writes the PDF.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import re
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import weasyprint
from weasyprint.document import Document
from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

from .colour import raster_to_cmyk, svg_to_cmyk  # print: one colour path (colour.py)
from .deps import Recorder, read_bytes
from .errors import BuildError

RASTER = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".gif"}
FORCED_BREAKS = {"page", "left", "right", "recto", "verso"}


class RefusedURL(FatalURLFetchingError):
    def __init__(self, url: str, reason: str):
        super().__init__(f"refused to load `{url}`: {reason}")
        self.url, self.reason = url, reason


class RestrictedFetcher(URLFetcher):
    """Only repository files, declared extra files (fonts, ICC profile) and `data:` URLs;
    every file it serves is recorded."""

    def __init__(self, project, extra_files=(), cmyk_svg=False,
                 recorder: Recorder | None = None):
        super().__init__(timeout=1, allowed_protocols={"file", "data"})
        self.project = project
        self.cmyk_svg = cmyk_svg
        self.extra = {Path(p).resolve() for p in extra_files}
        self.recorder = recorder if recorder is not None else Recorder(project.root)

    def fetch(self, url, headers=None):
        scheme = url.split(":", 1)[0].lower()
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme != "file":
            raise RefusedURL(url, "only files inside the repository may be loaded")
        parsed = urlparse(url)
        if parsed.netloc not in ("", "localhost"):
            raise RefusedURL(url, f"a file on another host (`{parsed.netloc}`)")
        path = Path(unquote(parsed.path)).resolve()
        if path not in self.extra:
            reason = self.project.refusal(path)
            if reason:
                raise RefusedURL(url, reason)
        if not path.is_file():
            raise RefusedURL(url, "file not found")
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        body = read_bytes(path, self.recorder)
        suffix = path.suffix.lower()
        if self.cmyk_svg and suffix == ".svg":
            body, mime = svg_to_cmyk(self.project, body), "image/svg+xml"
        elif self.cmyk_svg and suffix in RASTER:
            body, mime = raster_to_cmyk(self.project, body), "image/jpeg"
        return URLFetcherResponse(path.as_uri(), body, headers={"Content-Type": mime})


# -- WeasyPrint's log -----------------------------------------------------------------------

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


def _raise_errors(logs: _Collect, source: Path | None = None) -> None:
    if logs.errors:
        raise BuildError("WeasyPrint: " + "; ".join(dict.fromkeys(logs.errors)), source)


# -- what WeasyPrint knows after layout ----------------------------------------------------

@contextmanager
def _keep_layout_context():
    """Keep WeasyPrint's layout context of the next render: it holds the page counter of
    every page and the running-head strings, which a unit hands on to the next one."""
    kept = []
    original = Document.__dict__["_build_layout_context"]

    def build(cls, *args, **kwargs):
        context = original.__func__(cls, *args, **kwargs)
        kept.append(context)
        return context

    Document._build_layout_context = classmethod(build)
    try:
        yield kept
    finally:
        Document._build_layout_context = original


@contextmanager
def _streams_compressed_once():
    """pydyf compresses every stream twice per write (once to hash the file for its
    identifier, once to write it), at level 9: compress each stream once, and a large stream
    that every unit repeats (the CMYK profile) once per process."""
    import pydyf

    original = pydyf.Stream.data
    done: dict[int, tuple[object, bytes]] = {}

    def data(self):
        if id(self) in done and done[id(self)][0] is self:
            return done[id(self)][1]
        key = None
        if (len(self.stream) == 1 and isinstance(self.stream[0], bytes)
                and len(self.stream[0]) > 65536):
            key = hashlib.sha256(self.stream[0] + pydyf.Dictionary(self.extra).data
                                 + bytes([self.compress])).digest()
        value = _BIG_STREAMS.get(key) if key else None
        if value is None:
            value = original.fget(self)
            if key:
                _BIG_STREAMS[key] = value
                while len(_BIG_STREAMS) > BIG_STREAMS_KEPT:      # a worker lives long
                    del _BIG_STREAMS[next(iter(_BIG_STREAMS))]
        done[id(self)] = (self, value)
        return value

    pydyf.Stream.data = property(data)
    try:
        yield
    finally:
        pydyf.Stream.data = original


_BIG_STREAMS: dict[bytes, bytes] = {}
#: large compressed streams kept per worker (the CMYK profile; the most recent ones)
BIG_STREAMS_KEPT = 8


# -- one render unit ---------------------------------------------------------------------------

def render(html: str, root: str, source: Path | str | None = None, lead: int = 0,
           extra_files=(), options=None, cmyk=False, profile=None) -> dict:
    """Lay out one unit of the project in `root` and write its PDF without the `lead` pages.

    Returns the PDF bytes and, for the pages written: the page counter and side of each,
    the anchors on them (id -> page counter), the last value of every running-head string,
    whether the content after the lead starts with a forced page break, the files read,
    WeasyPrint's warnings and the seconds spent laying out and writing."""
    from .project import Project, Settings

    project = Project(Path(root), Settings(cmyk_profile=Path(profile) if profile else None))
    recorder = Recorder(project.root)
    fetcher = RestrictedFetcher(project, extra_files, cmyk_svg=cmyk, recorder=recorder)
    started = time.perf_counter()
    with _captured_logs() as logs, _keep_layout_context() as kept:
        try:
            document = weasyprint.HTML(string=html, base_url=str(project.root) + "/",
                                       url_fetcher=fetcher).render()
        except FatalURLFetchingError as exc:
            raise _refused(exc, recorder, source) from None
    _raise_errors(logs, source)
    laid_out = time.perf_counter()
    context = kept[0]
    pages = document.pages
    info = _page_info(context, pages)
    forced = (_starts_with_forced_break(pages[lead], info[lead][2])
              if lead and len(pages) > lead else True)
    kept_pages = pages[lead:]
    with _captured_logs() as write_logs, _streams_compressed_once():
        try:
            data = document.copy(kept_pages).write_pdf(**dict(options or {}))
        except FatalURLFetchingError as exc:
            raise _refused(exc, recorder, source) from None
    _raise_errors(write_logs, source)
    anchors: dict[str, int] = {}
    anchor_pages: dict[str, int] = {}
    for index, (page, (counter, *_)) in enumerate(zip(kept_pages, info[lead:])):
        for name in page.anchors:
            anchors.setdefault(name, counter)
            anchor_pages.setdefault(name, index)
    return {"pdf": data, "pages": info[lead:], "anchors": anchors,
            "anchor_pages": anchor_pages,
            "strings": _last_strings(context, len(pages)), "forced": forced,
            "strings_by_page": [_last_strings(context, n) for n in range(lead + 1,
                                                                        len(pages) + 1)],
            "inputs": [r.row() for r in recorder.files.values()],
            "warnings": logs.warnings + write_logs.warnings,
            "layout": laid_out - started, "write": time.perf_counter() - laid_out}


CSS_URL = re.compile(r"""@import\s+(?:url\(\s*)?["']?([^"')\s;]+)|url\(\s*["']?([^"')\s]+)""")


def _refused(exc: FatalURLFetchingError, recorder: Recorder, source) -> BuildError:
    """A refused resource, named where it was asked for: the stylesheet and line that
    load it (`@import`, `url()`), else the unit's source."""
    url = getattr(exc, "url", None)
    for path in recorder.paths():
        if url is None or path.suffix.lower() != ".css":
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            for match in CSS_URL.finditer(line):
                ref = match.group(1) or match.group(2)
                if ref == url or urljoin(path.as_uri(), ref) == url:
                    return BuildError(str(exc), path, number)
    return BuildError(str(exc), source)


def _page_info(context, pages) -> list[tuple]:
    """(page counter, side, blank, page name, folio style, folio) of every page: the folio
    is the page counter as a margin box prints it, in its counter style ("" when the page
    prints none); finishing turns them into the PDF's page labels."""
    info = []
    for i, page in enumerate(pages):
        counters = context.page_maker[i + 1][3][1]
        values = counters.get("page") or [i + 1]
        page_type = page._page_box.page_type
        info.append((int(values[-1]), page_type.side, bool(page_type.blank), page_type.name)
                    + _folio(page._page_box))
    return info


def _folio(page_box) -> tuple[str, str]:
    """(counter style, text) of the page number a margin box prints, or ("", "")."""
    for box in page_box.children[1:]:
        for value in box.style["content"] or ():
            if isinstance(value, tuple) and value[0] == "counter()" and value[1][0] == "page":
                text = "".join(getattr(b, "text", "") or "" for b in box.descendants())
                return value[1][1] if len(value[1]) > 1 else "decimal", text.strip()
    return "", ""


def _last_strings(context, count: int) -> dict[str, str]:
    strings = {}
    for name, per_page in context.string_set.items():
        for number in range(count, 0, -1):
            if per_page.get(number):
                strings[name] = per_page[number][-1]
                break
    return strings


def _starts_with_forced_break(page, blank: bool) -> bool:
    """Does the content after the lead begin with a forced page break (so that rendering it
    on its own lays it out as the whole document would)? A blank page WeasyPrint inserted
    before it means a break to a side; else the first element (or its first descendant, whose
    break the parents take over) must force one."""
    if blank:
        return True
    box = page._page_box.children[0]             # the root box
    while box is not None:
        if box.style["break_before"] in FORCED_BREAKS:
            return True
        children = getattr(box, "children", None)
        box = children[0] if children else None
    return False

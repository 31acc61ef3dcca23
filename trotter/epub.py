"""The reader edition: an accessible, reflowable EPUB 3 from the same document model.

`build_epub` reads as the whole build, top to bottom:

1. sources and document model, exactly as for the PDFs (sources.py, model.py);
2. the print edition's page map (dist/.cache/units/print/<id>/map.json, which the print
   build leaves; when the print edition is not current it is laid out first): every anchor
   with the page it is printed on;
3. one XHTML content document per chapter (and cover, colophon, part openers, register,
   back cover), rendered by the Jinja2 templates in templates/epub/, then made into EPUB
   markup by `epubxhtml.py` (footnotes, boxes, tables, images, print page breaks, links);
4. nav.xhtml (contents, the print page list, landmarks) and package.opf with the EPUB
   Accessibility 1.1 metadata;
5. styles/epub.css with the tokens filled in (the screen palette), the fonts (OFL) and the
   images, zipped in a fixed order with fixed times: the same commit gives the same bytes.

Every file read is recorded (deps.py) like a PDF build's, so the runner's up-to-date check
works the same way.
"""

from __future__ import annotations

import hashlib
import re
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from io import BytesIO
from pathlib import Path

from . import deps
from .epubxhtml import Page, PageMap, finish_document, trailing_pages, well_formed
from .errors import BuildError
from .sources import PublicationConfig

EPOCH_1980 = 315532800           # the earliest time a zip file can carry
#: the faces the reader edition embeds: (family, style, weight)
EMBEDDED = (("Trotter Text", "normal", 400), ("Trotter Text", "normal", 700),
            ("Trotter Text", "italic", 400), ("Trotter Display", "normal", 400),
            ("Trotter Display", "normal", 600), ("Trotter Display", "normal", 700),
            ("Trotter Display", "normal", 800), ("Trotter Mono", "normal", 400))
MEDIA = {".xhtml": "application/xhtml+xml", ".css": "text/css", ".ttf": "font/ttf",
         ".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg",
         ".jpeg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp"}
CONTAINER = ('<?xml version="1.0" encoding="UTF-8"?>\n<container version="1.0" '
             'xmlns="urn:oasis:names:tc:opendocument:xmlns:container">\n  <rootfiles>\n'
             '    <rootfile full-path="EPUB/package.opf" '
             'media-type="application/oebps-package+xml"/>\n  </rootfiles>\n</container>\n')


@dataclass
class ContentDoc:
    """One XHTML content document of the spine."""
    name: str                      # file name under EPUB/text/
    title: str
    template: str
    context: dict
    kind: str = "chapter"          # cover | colophon | chapter | part | index | backcover
    front: bool = False            # in the front matter (pages numbered apart)
    xhtml: str = ""
    ids: list[str] = field(default_factory=list)


def build_epub(project, path: Path, out: Path | None = None, version: str | None = None,
               pool=None, cache: bool = True, force: bool = False):
    """Build the EPUB of the publication of `project` at `path` (its publication.yml) into
    `out` (default dist/epub/<id>.epub); returns a pipeline.Result."""
    from .model import build_document
    from .pipeline import Result, atomic_write, output_path
    from .sources import load_config
    from .variants import get

    started = time.perf_counter()
    laps: dict[str, float] = {}
    with deps.recording(project.root) as inputs:
        config = load_config(project, path)                                  # 1.
        if not get("epub").makes(config.kind):
            raise BuildError(f"a {config.kind} has no EPUB edition (print only)", config.path)
        out = out or output_path(project, config.id, "epub")
        doc = build_document(config)
        laps["sources"] = time.perf_counter() - started
        pages, _ = print_page_map(config, pool, cache)                 # 2.
        laps["print"] = time.perf_counter() - started - laps["sources"]
        inputs.add_rows(deps.code_rows(project.root))   # the date counts the build code too
        date, tried = deps.source_date(project, inputs.paths()), set()
        while True:     # the source date of every input read (templates, fonts too)
            docs = content_documents(config, doc, version, date)              # 3.
            files = render(config, doc, docs, pages)
            files.update(package(config, doc, docs, files, date, version))   # 4.
            tried.add(date)
            date = deps.source_date(project, inputs.paths())
            if date in tried:
                break
        data = zip_epub(files, date)                                          # 5.
        laps["epub"] = time.perf_counter() - started - laps["sources"] - laps["print"]
        atomic_write(out, data)
        inputs.add_rows(deps.code_rows(project.root))   # modules loaded since
    mapped = sum(len(d.context["pages"]) for d in docs)
    return Result(config.id, out, pages=mapped, seconds=time.perf_counter() - started,
                  timings=laps, date=date, units=1, rendered=1,
                  inputs=inputs)


# -- 2. the print page map ---------------------------------------------------------------------

def print_page_map(config: PublicationConfig, pool, cache: bool) -> tuple[dict, str | None]:
    """The anchors of the print edition with their page counters, and why the print
    edition was laid out first (None when its map was current)."""
    from .pipeline import build_publication, output_path
    from .units import cache_folder

    project = config.project
    map_file = cache_folder(project, config.id, "print") / "map.json"
    reason = None
    if cache:
        entry = deps.load(project, config.id, "print")
        reason = deps.why_stale(project, entry, output_path(project, config.id, "print"),
                                deps.settings(project, "print"), deps.packages(), None)
        if reason is None and map_file.is_file():
            import json

            return json.loads(deps.read_bytes(map_file)), None
        reason = reason or "no page map"
    if cache:
        result = build_publication(project, config.path, "print", pool=pool)
    else:                  # a release: the print edition laid out aside, for its page map
        import tempfile

        with tempfile.TemporaryDirectory(prefix="trotter-epub-") as folder:
            result = build_publication(project, config.path, "print", pool=pool, cache=False,
                                       out=Path(folder) / f"{config.id}.pdf")
    if cache:
        deps.store(project, config.id, "print", result.inputs, result.output, result.pages,
                   result.date, deps.settings(project, "print"), deps.packages())
    hint = result.page_map or {}
    if not hint.get("anchors"):
        raise BuildError("the print edition gives no page map: it is not laid out in render "
                         "units", config.path)
    if map_file.is_file() and cache:
        deps.read_bytes(map_file)         # recorded: a new print layout rebuilds the EPUB
    return hint, reason or "not cached"


# -- 3. content documents ----------------------------------------------------------------------

def content_documents(config: PublicationConfig, doc, version, date: int) -> list[ContentDoc]:
    """The spine: what the print edition has, in its order, minus what only paper needs
    (title page, printed contents, notes pages)."""
    year = datetime.fromtimestamp(date, tz=timezone.utc).year
    base = {"pub": config.data, "doc": doc, "kind": config.kind, "version": version,
            "year": year}
    front = numbered_apart(config)
    docs = [ContentDoc("cover.xhtml", config.title, "epub/cover.xhtml.j2", base, "cover",
                       front)]
    if doc.colophon and config.kind != "cahier":
        docs.append(ContentDoc("colofon.xhtml", "Colofon", "epub/colophon.xhtml.j2", base,
                               "colophon", front))
    number = 0
    for chapter in doc.front:
        number += 1
        docs.append(ContentDoc(f"{number:02d}-{chapter.id}.xhtml", chapter.title_text,
                               "epub/chapter.xhtml.j2",
                               {**base, "chapter": chapter, "preface": front},
                               "chapter", front))
    for index, part in enumerate(doc.parts, start=1):
        if config.kind == "book":
            number += 1
            docs.append(ContentDoc(f"{number:02d}-deel-{part.id}.xhtml", part.title,
                                   "epub/part.xhtml.j2",
                                   {**base, "part": part, "part_number": index}, "part"))
        for chapter in part.chapters:
            number += 1
            docs.append(ContentDoc(f"{number:02d}-{chapter.id}.xhtml", chapter.title_text,
                                   "epub/chapter.xhtml.j2",
                                   {**base, "chapter": chapter, "part": part}, "chapter"))
    if doc.register:
        docs.append(ContentDoc("register.xhtml", "Register", "epub/register.xhtml.j2", base,
                               "index"))
    docs.append(ContentDoc("achterkant.xhtml", "Achterkant", "epub/backcover.xhtml.j2", base,
                           "backcover"))
    return docs


def render(config: PublicationConfig, doc, docs: list[ContentDoc], hint: dict) -> dict:
    """Every content document rendered and made into EPUB markup; returns name -> bytes
    (images included)."""
    from .html import environment

    env = environment(config.project)
    for item in docs:
        item.xhtml = env.get_template(item.template).render(title=item.title,
                                                            epub_kind=item.kind,
                                                            **item.context)
        item.ids = re.findall(r'\sid="([^"]+)"', item.xhtml)
    where = {ident: item.name for item in docs for ident in item.ids}
    front_ids = {ident for item in docs if item.front for ident in item.ids}
    pages = PageMap(hint.get("anchors", {}), front_ids, roman=numbered_apart(config))
    files: dict[str, bytes] = {}
    images: dict[str, str] = {}
    listed: set[str] = set()
    for item in docs:
        item.xhtml, found = finish_document(item.xhtml, item.name, where, pages, images,
                                            listed, _chapter_path(item))
        item.context = {**item.context, "pages": found}
    _trailing(docs, pages, hint, listed)
    for item in docs:
        well_formed(item.xhtml, item.name)
        files[f"EPUB/text/{item.name}"] = item.xhtml.encode("utf-8")
    for source, name in images.items():
        files[f"EPUB/{name}"] = deps.read_bytes(config.project.absolute(source))
    return files


def numbered_apart(config: PublicationConfig) -> bool:
    """Whether the front matter is numbered apart in roman numerals: the book's (base.css,
    `.pub-book … lower-roman`)."""
    return config.kind == "book"


def _trailing(docs: list[ContentDoc], pages: PageMap, hint: dict, listed: set) -> None:
    """Print pages without an anchor between two documents (a chapter's last pages, blank
    pages) and after the last one: marked at the end of the document before them."""
    last_page = max((u.get("last", 0) for u in hint.get("units", {}).values()), default=0)
    previous: dict[bool, tuple[ContentDoc, int]] = {}
    tails: dict[str, list[Page]] = {}

    def fill(item: ContentDoc, start: int, stop: int, front: bool) -> None:
        for number in range(start, stop):
            label = pages.format(number, front)
            if label not in listed:
                listed.add(label)
                tails.setdefault(item.name, []).append(Page(label, f"page-{label}", number,
                                                            front))

    for item in docs:
        for page in item.context["pages"][:1]:
            if page.front in previous:
                before, counter = previous[page.front]
                fill(before, counter + 1, page.counter, page.front)
        for page in item.context["pages"]:
            previous[page.front] = (item, page.counter)
    if False in previous:                      # the last pages of the main numbering
        before, counter = previous[False]
        fill(before, counter + 1, last_page + 1, False)
    for item in docs:
        if item.name in tails:
            item.xhtml = trailing_pages(item.xhtml, tails[item.name])
            item.context["pages"] = item.context["pages"] + tails[item.name]


def _chapter_path(item: ContentDoc) -> Path | None:
    chapter = item.context.get("chapter")
    return chapter.path if chapter is not None else None


# -- 4. navigation and package -----------------------------------------------------------------

def package(config: PublicationConfig, doc, docs: list[ContentDoc], files: dict, date: int,
            version) -> dict:
    from .html import environment

    env = environment(config.project)
    files = dict(files)
    accent = config.data.get("accent")
    project = config.project
    css = stylesheet(project, {"--c-accent": str(accent)} if accent else None)
    files["EPUB/css/epub.css"] = css.encode("utf-8")
    for name, data in fonts(project).items():
        files[f"EPUB/fonts/{name}"] = data
    for icon in sorted(set(re.findall(r"url\(\.\./images/icons/([\w-]+\.svg)\)", css))):
        files[f"EPUB/images/icons/{icon}"] = deps.read_bytes(project.styles / "icons" / icon)
    page_list = [(item.name, page) for item in docs for page in item.context["pages"]]
    toc = toc_entries(doc, docs)
    first_body = next((d.name for d in docs if d.kind in ("part", "chapter") and not d.front),
                      docs[0].name)
    nav = env.get_template("epub/nav.xhtml.j2").render(
        pub=config.data, toc=toc, page_list=page_list, docs=docs, first_body=first_body,
        register=next((d.name for d in docs if d.kind == "index"), None))
    well_formed(nav, "nav.xhtml")
    files["EPUB/nav.xhtml"] = nav.encode("utf-8")
    # the identifier: a hash of every file but the package document itself
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    identifier = uuid.UUID(bytes=digest.digest()[:16], version=5)
    manifest = [{"id": _item_id(name), "href": name[len("EPUB/"):],
                 "media": MEDIA[Path(name).suffix.lower()],
                 "properties": "nav" if name == "EPUB/nav.xhtml" else None}
                for name in sorted(files)]
    images = any(name.startswith("EPUB/images/") and "/icons/" not in name for name in files)
    opf = env.get_template("epub/package.opf.j2").render(
        pub=config.data, kind=config.kind, identifier=f"urn:uuid:{identifier}",
        modified=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(date)),
        manifest=manifest, spine=spine(docs),
        images=images, register=bool(doc.register), page_list=bool(page_list),
        version=version, year=datetime.fromtimestamp(date, tz=timezone.utc).year)
    well_formed(opf, "package.opf")
    files["EPUB/package.opf"] = opf.encode("utf-8")
    return files


def spine(docs: list[ContentDoc]) -> list[str]:
    """The reading order: the contents (nav.xhtml) where the printed one stands, after the
    cover and colophon."""
    order = [_item_id(f"EPUB/text/{d.name}") for d in docs]
    at = 1 + sum(d.kind in ("cover", "colophon") for d in docs[:2])
    return order[:at] + [_item_id("EPUB/nav.xhtml")] + order[at:]


def toc_entries(doc, docs: list[ContentDoc]) -> list[dict]:
    """The contents as a tree: (title, href, children)."""
    entries, current = [], None
    for item in docs:
        if item.kind == "cover":
            continue
        entry = {"title": item.title, "href": f"text/{item.name}", "children": []}
        if item.kind == "part":
            current = entry
            entries.append(entry)
        elif item.kind == "chapter" and current is not None and not item.front:
            current["children"].append(entry)
        else:
            if item.kind != "chapter":
                current = None
            entries.append(entry)
    return entries


def _item_id(name: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", name[len("EPUB/"):])
    return f"i-{stem}"


TOKEN = re.compile(r"(--[\w-]+)\s*:\s*([^;]+);")
VAR = re.compile(r"var\((--[\w-]+)(?:\s*,\s*([^()]*))?\)")


def tokens(project) -> dict[str, str]:
    """The design tokens with the screen palette (tokens.css, then screen.css)."""
    values: dict[str, str] = {}
    for name in ("tokens.css", "screen.css"):
        text = deps.read_bytes(project.styles / name).decode("utf-8")
        text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
        values.update({k: v.strip() for k, v in TOKEN.findall(text)})
    return values


def stylesheet(project, overrides: dict | None = None) -> str:
    """styles/epub.css with every `var(--token)` replaced by its value: reading systems that
    know no custom properties show the same colours. `overrides`: a publication's own
    tokens (a cahier's `accent`)."""
    values = {**tokens(project), **(overrides or {})}
    text = deps.read_bytes(project.styles / "epub.css").decode("utf-8")
    text = re.sub(r"/\*.*?\*/\n?", "", text, flags=re.S)      # what is this: in the source

    def resolve(match, depth=0):
        name, fallback = match.group(1), match.group(2)
        value = values.get(name, fallback)
        if value is None:
            raise BuildError(f"styles/epub.css: unknown token `{name}`")
        return VAR.sub(lambda m: resolve(m, depth + 1), value) if depth < 8 else value

    return VAR.sub(resolve, text)


def fonts(project) -> dict[str, bytes]:
    """The embedded font files (the project's static instances, OFL), by file name."""
    from .fonts import faces, font_files

    font_files(project.fonts)             # missing instances: a clear error
    wanted = set(EMBEDDED)
    return {face.path.name: deps.read_bytes(face.path) for face in faces(project.fonts)
            if (face.family, face.style, face.weight) in wanted}


# -- 5. the container --------------------------------------------------------------------------

def zip_epub(files: dict[str, bytes], date: int) -> bytes:
    """The OCF container: `mimetype` first and stored, then META-INF, the package, the
    navigation, the content in spine order and the resources, every entry with the source
    date as its time."""
    stamp = time.gmtime(max(date, EPOCH_1980))[:6]
    order = ["META-INF/container.xml", "EPUB/package.opf", "EPUB/nav.xhtml"]
    order += sorted(n for n in files if n.startswith("EPUB/text/"))
    order += sorted(n for n in files if n not in order)
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        entries = [("mimetype", b"application/epub+zip", zipfile.ZIP_STORED),
                   ("META-INF/container.xml", CONTAINER.encode(), zipfile.ZIP_DEFLATED)]
        entries += [(name, files[name], zipfile.ZIP_DEFLATED) for name in order
                    if name in files]
        for name, data, method in entries:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = method
            info.create_system = 3
            info.external_attr = 0o100644 << 16
            archive.writestr(info, data, compresslevel=9 if method else None)
    return buffer.getvalue()


__all__ = ["build_epub", "Page", "zip_epub"]

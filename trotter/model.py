"""Stage 2, document model: Markdown sources become parts, chapters, a register and anchors.

Everything an editor can get wrong in a Markdown file is found here, with file and line:
unknown or unclosed boxes, includes that are missing, cyclic or outside the repository,
images that are missing, outside the repository or unreadable, anchors that are defined twice
and cross-references to anchors that do not exist.
"""

from __future__ import annotations

import difflib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from markupsafe import Markup

from . import ROOT
from .errors import BuildError
from .glyphs import check_text
from .markup import BOXES, box_name, extract_footnotes, make_parser
from .sources import PublicationConfig, check_keys, load_yaml, read_text, series_members

FRONT_MATTER_KEYS = {"intro": str, "running": str}
MAX_INCLUDE_DEPTH = 10
RASTER = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".gif"}


@dataclass
class Chapter:
    id: str
    title: Markup
    title_text: str
    intro: str | None
    running: str
    html: Markup
    path: Path


@dataclass
class Part:
    id: str
    title: str
    perspective: str | None
    intro: str | None
    chapters: list[Chapter]


@dataclass
class RegisterTarget:
    id: str
    front: bool      # in the front matter, which is numbered apart


@dataclass
class RegisterEntry:
    term: str
    targets: list[RegisterTarget]


@dataclass
class Document:
    config: PublicationConfig
    front: list[Chapter]
    parts: list[Part]
    colophon: Markup | None
    register: list[RegisterEntry]
    backcover: Markup | None = None
    series: list[dict] = field(default_factory=list)
    anchors: dict[str, tuple[Path, int]] = field(default_factory=dict)
    inputs: set[Path] = field(default_factory=set)

    @property
    def chapters(self) -> list[Chapter]:
        return self.front + [c for p in self.parts for c in p.chapters]


class _Collector:
    """What the parse of all files of one publication finds: anchors, references, inputs."""

    def __init__(self):
        self.anchors: dict[str, tuple[Path, int]] = {}
        self.refs: list[tuple[str, Path, int]] = []
        self.index_hits: list[tuple[str, str]] = []
        self.inputs: set[Path] = set()

    def anchor(self, ident: str, path: Path, line: int) -> None:
        if ident in self.anchors:
            first, first_line = self.anchors[ident]
            raise BuildError(f"duplicate anchor `#{ident}` (first defined at "
                             f"{first.relative_to(ROOT)}:{first_line})", path, line)
        self.anchors[ident] = (path, line)


def build_document(config: PublicationConfig) -> Document:
    md = make_parser()
    found = _Collector()
    found.inputs.add(config.path)

    def chapter(path: Path) -> Chapter:
        return _parse_chapter(md, path, found)

    front = [chapter(p) for p in config.front]
    front_hits = {ident for _, ident in found.index_hits}   # numbered apart (roman)
    front_anchors = set(found.anchors)
    parts = []
    for part in config.parts:
        found.anchor(f"part-{part.id}", config.path, part.line)
        parts.append(Part(part.id, part.title, part.perspective, part.intro,
                          [chapter(p) for p in part.sources]))
    colophon, backcover = (_extra_text(md, config, key, found)
                           for key in ("colophon", "backcover"))

    for target, path, line in found.refs:
        if target not in found.anchors:
            close = difflib.get_close_matches(target, list(found.anchors), n=1)
            hint = f" (did you mean `#{close[0]}`?)" if close else ""
            raise BuildError(f"cross-reference to unknown anchor `#{target}`{hint}", path, line)

    if front_anchors:   # page references into the front matter print roman numerals
        for ch in front + [c for p in parts for c in p.chapters]:
            ch.html = Markup(_mark_front_refs(str(ch.html), front_anchors))
    return Document(config=config, front=front, parts=parts, colophon=colophon,
                    register=_register(found.index_hits, front_hits), anchors=found.anchors,
                    inputs=found.inputs, backcover=backcover, series=series_members(config))


def _extra_text(md, config: PublicationConfig, key: str, found: _Collector) -> Markup | None:
    """The colophon or back-cover text named in publication.yml (`colophon: colofon.md`)."""
    name = config.data.get(key)
    if not name:
        return None
    path = (config.folder / name).resolve()
    if not path.is_relative_to(ROOT):
        raise BuildError(f"`{key}` file `{name}` lies outside the repository", config.path,
                         config.lines.get(key))
    if not path.is_file():
        raise BuildError(f"`{key}` file `{name}` not found", config.path, config.lines.get(key))
    html, _ = _render_file(md, path, found, stack=(), prefix={"colophon": "colofon"}.get(
        key, "achterflap"))
    return Markup(html)


def _mark_front_refs(html: str, anchors: set[str]) -> str:
    for anchor in anchors:
        html = html.replace(f'<a class="pageref" href="#{anchor}">',
                            f'<a class="pageref front" href="#{anchor}">')
    return html


def _parse_chapter(md, path: Path, found: _Collector) -> Chapter:
    prefix = path.stem
    html, meta = _render_file(md, path, found, stack=(), prefix=prefix, chapter=True)
    if not meta.get("id"):
        raise BuildError("a chapter starts with a level-1 heading: `# Titel {#anker}`", path, 1)
    return Chapter(id=meta["id"], title=Markup(meta["title"]), title_text=meta["title_text"],
                   intro=meta.get("intro"), running=meta.get("running") or meta["title_text"],
                   html=Markup(html), path=path)


def _render_file(md, path: Path, found: _Collector, stack: tuple, prefix: str,
                 chapter: bool = False) -> tuple[str, dict]:
    """Parse one Markdown file (and what it includes) into HTML; check what can be checked."""
    found.inputs.add(path)
    text = read_text(path)
    check_text(text, path)
    env: dict = {"id_prefix": prefix, "index_hits": found.index_hits}
    tokens = md.parse(text, env)
    meta: dict = {}
    lines = text.splitlines()

    for token in tokens:
        if token.type == "front_matter":
            data, keylines = load_yaml(token.content, path, first_line=2)
            if data is None:
                data = {}
            if not isinstance(data, dict):
                raise BuildError("front matter must be a mapping of keys to values", path, 1)
            check_keys(data, FRONT_MATTER_KEYS, path, keylines, "front matter")
            meta.update({k: str(v) for k, v in data.items() if v is not None})

    tokens = [t for t in tokens if t.type != "front_matter"]
    if chapter:
        tokens = _take_title(md, tokens, path, meta, env)
        found.anchor(meta["id"], path, meta["id_line"])
    tokens = extract_footnotes(md, tokens, env)
    include_html: dict[str, str] = {}
    for i, token in enumerate(tokens):
        line = token.map[0] + 1 if token.map else None
        if token.type == "container_box_open":
            _check_box(token, lines, path, line)
        elif token.type == "heading_open" and token.attrGet("id"):
            found.anchor(str(token.attrGet("id")), path, line)
        elif token.type == "include":
            include_html[token.info] = _include(md, token.info, path, line, found, stack,
                                                f"{prefix}-i{i}")
        elif token.type == "inline":
            for child in token.children or []:
                if child.type == "xref":
                    found.refs.append((child.meta["target"], path, line))
                elif child.type == "link_open":
                    href = str(child.attrGet("href") or "")
                    if href.startswith("#"):
                        found.refs.append((href[1:], path, line))
                elif child.type == "image":
                    child.attrSet("src", _image(str(child.attrGet("src")), path, line, found))
    env["include_html"] = include_html
    html = md.renderer.render(tokens, md.options, env)
    return html, meta


def _take_title(md, tokens, path: Path, meta: dict, env: dict):
    """Remove the chapter's level-1 heading from the body; its text and anchor become meta."""
    for i, token in enumerate(tokens):
        if token.type == "heading_open" and token.tag == "h1":
            line = token.map[0] + 1 if token.map else 1
            ident = token.attrGet("id")
            if not ident:
                raise BuildError("the chapter heading needs an anchor: `# Titel {#anker}`",
                                 path, line)
            inline = tokens[i + 1]
            meta["id"] = str(ident)
            meta["id_line"] = line
            meta["title"] = md.renderer.renderInline(inline.children, md.options, env)
            meta["title_text"] = "".join(c.content for c in inline.children
                                         if c.type in ("text", "code_inline", "index_term"))
            return tokens[:i] + tokens[i + 3:]
        if token.type not in ("front_matter",):
            break
    raise BuildError("a chapter starts with a level-1 heading: `# Titel {#anker}`", path, 1)


def _check_box(token, lines: list[str], path: Path, line: int | None) -> None:
    name, _ = box_name(token)
    if name not in BOXES:
        close = difflib.get_close_matches(name, list(BOXES), n=1)
        hint = f" (did you mean `{close[0]}`?)" if close else ""
        raise BuildError(f"unknown box `{name}`{hint}; boxes are: {', '.join(BOXES)}",
                         path, line)
    end = token.map[1] if token.map else None  # the closing marker's line (0-based)
    if end is None or end >= len(lines) or not lines[end].strip().startswith(":::"):
        raise BuildError(f"box `{name}` is not closed: end it with a line `:::`", path, line)


def _include(md, target: str, path: Path, line, found: _Collector, stack: tuple,
             prefix: str) -> str:
    file = (path.parent / target).resolve()
    if not file.is_relative_to(ROOT):
        raise BuildError(f"include `{target}` reaches outside the repository", path, line)
    if file == path or file in stack:
        chain = " -> ".join(str(p.relative_to(ROOT)) for p in (*stack, path, file))
        raise BuildError(f"include cycle: {chain}", path, line)
    if len(stack) >= MAX_INCLUDE_DEPTH:
        raise BuildError("includes nested too deeply", path, line)
    if not file.is_file():
        raise BuildError(f"include `{target}`: file not found", path, line)
    html, _ = _render_file(md, file, found, (*stack, path), prefix)
    return html


def _image(src: str, path: Path, line, found: _Collector) -> str:
    if ":" in src.split("/")[0]:
        raise BuildError(f"image `{src}`: only images inside the repository can be used",
                         path, line)
    file = (path.parent / src).resolve()
    if not file.is_relative_to(ROOT):
        raise BuildError(f"image `{src}` lies outside the repository", path, line)
    if not file.is_file():
        raise BuildError(f"image `{src}` not found", path, line)
    _check_image(file, src, path, line)
    found.inputs.add(file)
    return file.relative_to(ROOT).as_posix()


def _check_image(file: Path, src: str, path: Path, line) -> None:
    suffix = file.suffix.lower()
    if suffix == ".svg":
        import xml.etree.ElementTree as ET

        try:
            ET.parse(file)
        except (ET.ParseError, OSError) as exc:
            raise BuildError(f"image `{src}` is not a readable SVG: {exc}", path, line) from None
    elif suffix in RASTER:
        from PIL import Image

        try:
            with Image.open(file) as img:
                img.verify()
        except Exception as exc:  # Pillow raises many kinds for corrupt files
            raise BuildError(f"image `{src}` is unreadable or corrupt: {exc}", path,
                             line) from None
    else:
        raise BuildError(f"image `{src}`: unsupported type `{suffix}` (use SVG, PNG or JPEG)",
                         path, line)


def sort_key(term: str) -> str:
    """Dutch register order: letters without accents, case-insensitive, `ĳ` as `ij`."""
    text = unicodedata.normalize("NFKD", term.casefold())
    return "".join(c for c in text if not unicodedata.combining(c))


def _register(hits: list[tuple[str, str]], front: set[str]) -> list[RegisterEntry]:
    """Terms in Dutch order; a term counts once per chapter (ids are `<chapter>-idx-<n>`),
    so the register does not list the same page twice."""
    entries: dict[str, RegisterEntry] = {}
    seen: set[tuple[str, str]] = set()
    for term, ident in hits:
        key, chapter = term.casefold(), ident.rsplit("-idx-", 1)[0]
        if (key, chapter) in seen:
            continue
        seen.add((key, chapter))
        entries.setdefault(key, RegisterEntry(term, [])).targets.append(
            RegisterTarget(ident, ident in front))
    return sorted(entries.values(), key=lambda e: sort_key(e.term))

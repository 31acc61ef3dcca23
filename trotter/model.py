"""Stage 2, document model: Markdown sources become parts, chapters, a register and anchors.

Everything an editor can get wrong in a Markdown file is found here, with file and line, and
all of it at once (not the first mistake only): unknown or unclosed boxes, raw HTML, includes
that are missing, cyclic or outside the repository, images that are missing, outside the
repository or unreadable, anchors that are defined twice and cross-references to anchors that
do not exist — in the body, in boxes and in footnotes alike.

Three passes over a publication: parse every file (and what it includes) into tokens,
collecting explicit anchors; give every heading without `{#anker}` an anchor made from its
text, unique in the publication (an explicit anchor always wins); then check the references
and render the HTML.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from markupsafe import Markup

from .deps import read_bytes
from .errors import BuildError, BuildErrors
from .glyphs import check_text
from .markup import BOXES, box_name, extract_footnotes, make_parser
from .sources import (PublicationConfig, check_keys, load_yaml, read_text, series_members,
                      slug)

FRONT_MATTER_KEYS = {"intro": str, "running": str}
#: ids the templates give their own sections (and `part-…` for part openers)
RESERVED_ANCHORS = {"cover", "inhoud", "register", "notities", "achterkant"}
MAX_INCLUDE_DEPTH = 10
RASTER = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".gif"}
IMAGES = RASTER | {".svg"}
#: raw HTML an editor may bring from elsewhere -> what to write in our Markdown instead
HTML_HINTS = {
    "br": "end the line with a backslash `\\` for a line break",
    "img": "use `![beschrijving](pad/naar/beeld.png)`",
    "a": "use `[tekst](adres)` or a page reference `[[#anker]]`",
    "b": "use `**vet**`", "strong": "use `**vet**`", "i": "use `*cursief*`",
    "em": "use `*cursief*`", "table": "use a Markdown table (`| a | b |`)",
    "sup": "use a footnote `[^1]`", "u": "use `*cursief*`", "center": "leave it out",
    "div": "leave it out, or use a box `::: wat Titel`", "span": "leave it out",
    "p": "leave it out: an empty line starts a paragraph",
}


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
    anchors: dict[str, tuple[Path, int]] = field(default_factory=dict)
    backcover: Markup | None = None
    series: list[dict] = field(default_factory=list)

    @property
    def chapters(self) -> list[Chapter]:
        return self.front + [c for p in self.parts for c in p.chapters]


@dataclass
class _File:
    """One parsed Markdown file: its tokens, and the files its `!include` lines bring in."""
    path: Path
    tokens: list
    env: dict
    meta: dict
    includes: dict[str, "_File"] = field(default_factory=dict)


class _Collector:
    """What the parse of all files of one publication finds, and every mistake in them."""

    def __init__(self, project):
        self.project = project              # project.Project: what may be read, and names
        self.anchors: dict[str, tuple[Path, int]] = {}
        self.auto: list[tuple[object, str, Path, int]] = []      # (token, text, path, line)
        self.refs: list[tuple[str, Path, int]] = []
        self.index_hits: list[tuple[str, str]] = []
        self.errors: list[BuildError] = []

    def error(self, message: str, path: Path, line: int | None) -> None:
        self.errors.append(BuildError(message, path, line))

    def anchor(self, ident: str, path: Path, line: int, template: bool = False) -> None:
        if not template and (ident in RESERVED_ANCHORS or ident.startswith("part-")):
            self.error(f"anchor `#{ident}` is reserved for the templates: choose another",
                       path, line)
            return
        if ident in self.anchors:
            first, first_line = self.anchors[ident]
            self.error(f"duplicate anchor `#{ident}` (first defined at "
                       f"{self.project.shown(first)}:{first_line})", path, line)
            return
        self.anchors[ident] = (path, line)


def build_document(config: PublicationConfig) -> Document:
    md = make_parser()
    found = _Collector(config.project)

    # 1. parse every file, collect explicit anchors and what can be checked in one file
    front = [_parse(md, p, found, chapter=True) for p in config.front]
    parts = [(part, [_parse(md, p, found, chapter=True) for p in part.sources])
             for part in config.parts]
    for part, _ in parts:
        found.anchor(f"part-{part.id}", config.path, part.line, template=True)
    extra = {key: _parse_extra(md, config, key, found) for key in ("colophon", "backcover")}

    # 2. anchors for headings without one, then the cross-references
    _assign_auto_anchors(found)
    for target, path, line in found.refs:
        if target not in found.anchors:
            close = difflib.get_close_matches(target, list(found.anchors), n=1)
            hint = f" (did you mean `#{close[0]}`?)" if close else ""
            found.error(f"cross-reference to unknown anchor `#{target}`{hint}", path, line)
    if found.errors:
        raise BuildErrors(found.errors) if len(found.errors) > 1 else found.errors[0]

    # 3. render
    front_chapters = [_chapter(md, f, found) for f in front if f]
    front_hits = {ident for _, ident in found.index_hits}   # numbered apart (roman)
    front_anchors = {a for a, (path, _) in found.anchors.items()
                     if path in {f.path for f in front if f}}
    doc_parts = [Part(part.id, part.title, part.perspective, part.intro,
                      [_chapter(md, f, found) for f in files if f]) for part, files in parts]
    colophon, backcover = (Markup(_render(md, f, "colofon" if k == "colophon" else "achterflap"))
                           if f else None for k, f in extra.items())
    if front_anchors:   # page references into the front matter print roman numerals
        for ch in front_chapters + [c for p in doc_parts for c in p.chapters]:
            ch.html = Markup(_mark_front_refs(str(ch.html), front_anchors))
    return Document(config=config, front=front_chapters, parts=doc_parts, colophon=colophon,
                    register=_register(found.index_hits, front_hits), anchors=found.anchors,
                    backcover=backcover, series=series_members(config))


def _parse_extra(md, config: PublicationConfig, key: str, found: _Collector):
    """The colophon or back-cover text named in publication.yml (`colophon: colofon.md`)."""
    name = config.data.get(key)
    if not name:
        return None
    path = config.folder / name
    if reason := found.project.refusal(path):
        found.error(f"`{key}` file `{name}` may not be read: {reason}", config.path,
                    config.lines.get(key))
    elif not (path := path.resolve()).is_file():
        found.error(f"`{key}` file `{name}` not found", config.path, config.lines.get(key))
    else:
        return _parse(md, path, found)
    return None


def _mark_front_refs(html: str, anchors: set[str]) -> str:
    for anchor in anchors:
        html = html.replace(f'<a class="pageref" href="#{anchor}">',
                            f'<a class="pageref front" href="#{anchor}">')
    return html


# -- pass 1: parse ----------------------------------------------------------------------------

def _parse(md, path: Path, found: _Collector, stack: tuple = (), chapter: bool = False):
    """Parse one Markdown file (and what it includes); None when it cannot be read at all."""
    try:
        text = read_text(path)
        check_text(text, path)
    except BuildError as exc:
        found.errors.append(exc)
        return None
    env: dict = {}
    try:            # a final newline: a container inside a quote at the very end of a file
        tokens = md.parse(text if text.endswith("\n") else text + "\n", env)  # trips it up
    except Exception as exc:  # noqa: BLE001 - a parser bug must not become a crash
        found.error(f"the Markdown parser cannot read this file ({exc.__class__.__name__}): "
                    "look for an unclosed box, quote or list near the end", path, None)
        return None
    meta: dict = {}
    lines = text.splitlines()
    for token in tokens:
        if token.type == "front_matter":
            try:
                data, keylines = load_yaml(token.content, path, first_line=2)
                if data is not None and not isinstance(data, dict):
                    raise BuildError("front matter must be a mapping of keys to values", path, 1)
                check_keys(data or {}, FRONT_MATTER_KEYS, path, keylines, "front matter")
            except BuildError as exc:
                found.errors.append(exc)
                continue
            meta.update({k: str(v) for k, v in (data or {}).items() if v is not None})
    tokens = [t for t in tokens if t.type != "front_matter"]
    if chapter:
        tokens = _take_title(md, tokens, path, meta, env, found)
    parsed = _File(path, tokens, env, meta)
    for token in tokens:                     # footnote bodies are in here too: same checks
        _check_token(md, token, parsed, lines, found, stack)
    return parsed


def _check_token(md, token, parsed: _File, lines: list[str], found: _Collector,
                 stack: tuple) -> None:
    path = parsed.path
    line = token.map[0] + 1 if token.map else None
    if token.type == "container_box_open":
        _check_box(token, lines, path, line, found)
    elif token.type == "heading_open":
        if token.attrGet("id"):
            found.anchor(str(token.attrGet("id")), path, line)
        elif token.meta.get("auto"):
            found.auto.append((token, _heading_text(parsed.tokens, token), path, line))
        if token.tag == "h1":
            found.error("a second level-1 heading: a chapter file has one `# Titel`; use "
                        "`## Titel` for a section or start a new file", path, line)
    elif token.type == "html_block":
        _raw_html(token.content, path, line, found)
    elif token.type == "include":
        included = _include(md, token.info, path, line, found, stack)
        if included is not None:
            parsed.includes[token.info] = included
    elif token.type == "inline":
        for child in token.children or []:
            if child.type == "xref":
                found.refs.append((child.meta["target"], path, line))
            elif child.type == "link_open":
                href = str(child.attrGet("href") or "")
                if href.startswith("#"):
                    found.refs.append((href[1:], path, line))
            elif child.type == "image":
                src = _image(str(child.attrGet("src")), path, line, found)
                if src:
                    child.attrSet("src", src)
            elif child.type == "html_inline":
                _raw_html(child.content, path, line, found)


def _raw_html(content: str, path: Path, line, found: _Collector) -> None:
    match = re.match(r"\s*</?\s*([a-zA-Z][a-zA-Z0-9]*)", content)
    tag = match.group(1).lower() if match else ""
    hint = HTML_HINTS.get(tag, "write it in Markdown")
    shown = content.strip().splitlines()[0][:40] if content.strip() else content
    found.error(f"raw HTML `{shown}` is not part of the dialect: {hint}", path, line)


def _heading_text(tokens, opening) -> str:
    index = tokens.index(opening)
    inline = tokens[index + 1]
    return "".join(c.content for c in inline.children or []
                   if c.type in ("text", "code_inline", "index_term"))


def _take_title(md, tokens, path: Path, meta: dict, env: dict, found: _Collector):
    """Remove the chapter's level-1 heading from the body; its text and anchor become meta."""
    for i, token in enumerate(tokens):
        if token.type == "heading_open" and token.tag == "h1":
            line = token.map[0] + 1 if token.map else 1
            inline = tokens[i + 1]
            meta["heading"] = token
            meta["id_line"] = line
            meta["title_tokens"] = inline.children
            meta["title_text"] = "".join(c.content for c in inline.children
                                         if c.type in ("text", "code_inline", "index_term"))
            if token.attrGet("id"):
                found.anchor(str(token.attrGet("id")), path, line)
            else:
                found.auto.append((token, meta["title_text"], path, line))
            return tokens[:i] + tokens[i + 3:]
        if token.type == "html_block":
            continue
        break
    found.error("a chapter starts with a level-1 heading: `# Titel` (or `# Titel {#anker}`)",
                path, 1)
    return tokens


def _check_box(token, lines: list[str], path: Path, line: int | None,
               found: _Collector) -> None:
    name, _ = box_name(token)
    if name not in BOXES:
        close = difflib.get_close_matches(name, list(BOXES), n=1)
        hint = f" (did you mean `{close[0]}`?)" if close else ""
        found.error(f"unknown box `{name}`{hint}; boxes are: {', '.join(BOXES)}", path, line)
        return
    end = token.map[1] if token.map else None  # the closing marker's line (0-based)
    if end is None or end >= len(lines) or not lines[end].strip().startswith(":::"):
        found.error(f"box `{name}` is not closed: end it with a line `:::`", path, line)


def _include(md, target: str, path: Path, line, found: _Collector, stack: tuple):
    file = path.parent / unquote(target)
    if reason := found.project.refusal(file):
        found.error(f"include `{target}` may not be read: {reason}", path, line)
    elif (file := file.resolve()) == path or file in stack:
        chain = " -> ".join(found.project.shown(p) for p in (*stack, path, file))
        found.error(f"include cycle: {chain}", path, line)
    elif len(stack) >= MAX_INCLUDE_DEPTH:
        found.error("includes nested too deeply", path, line)
    elif not file.is_file():
        found.error(f"include `{target}`: file not found", path, line)
    else:
        return _parse(md, file, found, (*stack, path))
    return None


def _image(src: str, path: Path, line, found: _Collector) -> str | None:
    """The image's path relative to the repository, once it is checked; None on a mistake."""
    if ":" in src.split("/")[0]:
        found.error(f"image `{src}`: only images inside the repository can be used", path, line)
        return None
    name = unquote(src)            # markdown-it percent-encodes spaces and accents
    file = path.parent / name
    if reason := found.project.refusal(file):
        found.error(f"image `{name}` may not be read: {reason}", path, line)
        return None
    file = file.resolve()
    if not file.is_file():
        found.error(f"image `{name}` not found", path, line)
        return None
    try:
        _check_image(file, name, path, line)
    except BuildError as exc:
        found.errors.append(exc)
        return None
    return found.project.shown(file)


def _check_image(file: Path, src: str, path: Path, line) -> None:
    suffix = file.suffix.lower()
    if suffix not in IMAGES:
        raise BuildError(f"image `{src}`: unsupported type `{suffix}` (use SVG, PNG or JPEG)",
                         path, line)
    data = read_bytes(file)
    if suffix == ".svg":
        import xml.etree.ElementTree as ET

        try:
            ET.fromstring(data)
        except ET.ParseError as exc:
            raise BuildError(f"image `{src}` is not a readable SVG: {exc}", path, line) from None
    else:
        import io

        from PIL import Image

        try:
            with Image.open(io.BytesIO(data)) as img:
                img.verify()
        except Exception as exc:  # Pillow raises many kinds for corrupt files
            raise BuildError(f"image `{src}` is unreadable or corrupt: {exc}", path,
                             line) from None


# -- pass 2: anchors for headings without one -------------------------------------------------

def _assign_auto_anchors(found: _Collector) -> None:
    taken = set(found.anchors) | RESERVED_ANCHORS
    for token, text, path, line in found.auto:
        base = slug(text) or "sectie"
        ident, n = base, 2
        if base.startswith("part-"):
            base = ident = f"h-{base}"
        while ident in taken:
            ident, n = f"{base}-{n}", n + 1
        taken.add(ident)
        token.attrSet("id", ident)
        found.anchors[ident] = (path, line)


# -- pass 3: render ----------------------------------------------------------------------------

def _chapter(md, parsed: _File, found: _Collector) -> Chapter:
    meta = parsed.meta
    html = _render(md, parsed, parsed.path.stem, found)
    title = md.renderer.renderInline(meta["title_tokens"], md.options, parsed.env)
    return Chapter(id=str(meta["heading"].attrGet("id")), title=Markup(title),
                   title_text=meta["title_text"], intro=meta.get("intro"),
                   running=meta.get("running") or meta["title_text"], html=Markup(html),
                   path=parsed.path)


def _render(md, parsed: _File, prefix: str, found: _Collector | None = None) -> str:
    env = parsed.env
    env["id_prefix"] = prefix
    if found is not None:
        env["index_hits"] = found.index_hits
    env["include_html"] = {target: _render(md, included, f"{prefix}-i{n}", found)
                           for n, (target, included) in enumerate(parsed.includes.items())}
    tokens = extract_footnotes(md, list(parsed.tokens), env)
    return md.renderer.render(tokens, md.options, env)


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

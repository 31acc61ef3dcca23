"""The document model's HTML made into EPUB 3 content: what differs from paper.

The chapters' HTML is the one the PDFs are made from (model.py, markup.py). For a reader
edition, `finish_document` changes, in this order:

- footnotes: the body that stands at its call for the paper's `float: footnote` becomes an
  `<aside epub:type="footnote" role="doc-footnote">` at the end of the chapter with a back
  link, and the call a numbered `noteref` link;
- print page breaks: before the first element of each printed page that carries an anchor,
  a `doc-pagebreak` marker with the print page number (the page list of nav.xhtml links to
  them); a page without an anchor of its own is marked at the next one;
- travel-guide boxes: the head becomes a heading (its level follows the section it stands
  in) that names the `<aside>`; the pictogram is decoration (`aria-hidden`);
- tables: header cells with `scope="col"`;
- images: copied into the package; an image without a description is a mistake
  (`path:line`);
- links to anchors: to the document that holds the anchor; page references and register
  numbers show the print page ("p. 42") and link to the place itself.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from .errors import BuildError

ELEMENT_ID = re.compile(r'<([a-z][a-z0-9]*)\b[^>]*?\sid="([^"]+)"')
HREF = re.compile(r'href="#([^"]*)"')
BOX_HEAD = re.compile(r'<aside class="box box-([a-z-]+)"><div class="box-head">'
                      r'<span class="box-icon"></span>(.*?)</div>', re.S)
HEADING = re.compile(r"<h([1-6])\b")
IMG = re.compile(r'<img\s([^>]*?)\s*/?>')
PAGEREF = re.compile(r'(<a class="(?:pageref|register-page)[^"]*" href="([^"#]*)#([^"]+)"[^>]*>)'
                     r'(p\.&#160;)?</a>')
NOTES_HERE = "<!-- footnotes -->"
TO_NAV = {"inhoud": "../nav.xhtml#toc"}     # the printed contents is nav.xhtml here


@dataclass(frozen=True)
class Page:
    label: str
    id: str
    counter: int = 0
    front: bool = False


def roman(number: int) -> str:
    out = ""
    for value, letters in ((1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"),
                           (90, "xc"), (50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"),
                           (4, "iv"), (1, "i")):
        while number >= value:
            out, number = out + letters, number - value
    return out


class PageMap:
    """The print page of every anchor: the counter from the print layout, written in roman
    numerals in a front matter that is numbered apart (the book's)."""

    def __init__(self, anchors: dict[str, int], front_ids: set[str], roman: bool):
        self.anchors, self.front_ids, self.roman = anchors, front_ids, roman

    def counter(self, ident: str) -> int | None:
        value = self.anchors.get(ident)
        return value if isinstance(value, int) and value > 0 else None

    def front(self, ident: str) -> bool:
        return self.roman and ident in self.front_ids

    def label(self, ident: str) -> str | None:
        counter = self.counter(ident)
        if counter is None:
            return None
        return roman(counter) if self.front(ident) else str(counter)

    def format(self, counter: int, front: bool) -> str:
        return roman(counter) if front and self.roman else str(counter)


def finish_document(xhtml: str, name: str, where: dict[str, str], pages: PageMap,
                    images: dict[str, str], listed: set[str],
                    source: Path | None) -> tuple[str, list[Page]]:
    """One content document's EPUB markup, and the print pages marked in it."""
    xhtml, notes = _take_footnotes(xhtml)
    xhtml, found = _page_breaks(xhtml, pages, listed)
    xhtml = _put_footnotes(xhtml, notes)
    xhtml = _boxes(xhtml)
    xhtml = _quotes(xhtml)
    xhtml = re.sub(r"<th(?=[\s>])(?![^>]*\sscope=)", '<th scope="col"', xhtml)
    xhtml = re.sub(r'<th scope="col"( style="[^"]*")?></th>', r'<td class="th-empty"\1></td>',
                   xhtml)                       # an empty header cell heads nothing
    xhtml = IMG.sub(lambda m: _image(m, images, source), xhtml)
    xhtml = _links(xhtml, name, where, pages, source)
    return xhtml, found


# -- footnotes ---------------------------------------------------------------------------------

def _closing(xhtml: str, start: int, opening: str, tag: str, what: str) -> int:
    """The position just after the `</tag>` that closes the element whose opening tag
    `opening` stands at `start` (elements of the same tag nested inside it counted)."""
    depth, pos = 1, start + len(opening)
    open_tag, close_tag = f"<{tag}", f"</{tag}>"
    while depth:
        next_open, next_close = xhtml.find(open_tag, pos), xhtml.find(close_tag, pos)
        if next_close < 0:
            raise BuildError(f"unbalanced {what} markup")
        if 0 <= next_open < next_close:
            depth, pos = depth + 1, next_open + len(open_tag)
        else:
            depth, pos = depth - 1, next_close + len(close_tag)
    return pos


def _take_footnotes(xhtml: str) -> tuple[str, list[str]]:
    """`<span class="footnote">…</span>` (nested spans and all) out of the text; a
    placeholder stays at the call."""
    notes: list[str] = []
    opening = '<span class="footnote">'
    while (start := xhtml.find(opening)) >= 0:
        pos = _closing(xhtml, start, opening, "span", "footnote")
        notes.append(xhtml[start + len(opening):pos - 7])
        xhtml = f"{xhtml[:start]}\x00{len(notes)}\x00{xhtml[pos:]}"
    return xhtml, notes


def _put_footnotes(xhtml: str, notes: list[str]) -> str:
    if not notes:
        return xhtml.replace(NOTES_HERE, "")
    for n in range(1, len(notes) + 1):
        xhtml = xhtml.replace(
            f"\x00{n}\x00", f'<a class="noteref" href="#fn-{n}" id="fnref-{n}" '
                            f'epub:type="noteref" role="doc-noteref">{n}</a>', 1)
    asides = "".join(
        f'<aside class="footnote" id="fn-{n}" epub:type="footnote" role="doc-footnote">'
        f'<p><a class="backlink" href="#fnref-{n}" role="doc-backlink" '
        f'aria-label="Terug naar voetnoot {n} in de tekst">{n}.</a> {body}</p></aside>\n'
        for n, body in enumerate(notes, start=1))
    section = f'<section class="footnotes" aria-label="Voetnoten">\n{asides}</section>\n'
    if NOTES_HERE in xhtml:
        return xhtml.replace(NOTES_HERE, section)
    return xhtml.replace("</body>", section + "</body>")


# -- print page breaks -------------------------------------------------------------------------

def _page_breaks(xhtml: str, pages: PageMap, listed: set[str]) -> tuple[str, list[Page]]:
    """A `doc-pagebreak` marker before the first anchored element of every print page (once
    in the whole publication); pages skipped between two anchors of one numbering are marked
    at the later one."""
    inserts: list[tuple[int, str]] = []
    found: list[Page] = []
    last: dict[bool, int] = {}
    for match in ELEMENT_ID.finditer(xhtml):
        ident = match.group(2)
        counter = pages.counter(ident)
        if counter is None:
            continue
        front = pages.front(ident)
        previous = last.get(front)
        if previous is not None and counter <= previous:
            continue
        start = counter if previous is None else previous + 1
        markers = ""
        for number in range(start, counter + 1):
            label = pages.format(number, front)
            if label in listed:
                continue
            listed.add(label)
            found.append(Page(label, f"page-{label}", number, front))
            markers += marker(label)
        last[front] = counter
        if markers:
            inserts.append((match.start(), markers))
    for position, markers in reversed(inserts):
        xhtml = xhtml[:position] + markers + xhtml[position:]
    return xhtml, found


def marker(label: str) -> str:
    return (f'<span class="pagebreak" id="page-{label}" epub:type="pagebreak" '
            f'role="doc-pagebreak" aria-label="{label}"></span>')


def trailing_pages(xhtml: str, pages: list[Page]) -> str:
    """Print pages with no anchor of their own after the last one of a document (a
    chapter's last pages, a blank page before the next): marked at its end."""
    if not pages:
        return xhtml
    markers = "".join(marker(page.label) for page in pages)
    return xhtml.replace("</body>", markers + "\n</body>", 1)


# -- boxes, images, links ----------------------------------------------------------------------

def _boxes(xhtml: str) -> str:
    out, pos, count = [], 0, 0
    for match in BOX_HEAD.finditer(xhtml):
        before = xhtml[:match.start()]
        levels = HEADING.findall(before)
        level = min(int(levels[-1]) + 1 if levels else 2, 6)
        count += 1
        ident = f"kader-{count}"
        out.append(xhtml[pos:match.start()])
        out.append(f'<aside class="box box-{match.group(1)}" aria-labelledby="{ident}">'
                   f'<h{level} class="box-head" id="{ident}"><span class="box-icon" '
                   f'aria-hidden="true"></span>{match.group(2)}</h{level}>')
        pos = match.end()
    out.append(xhtml[pos:])
    return "".join(out)


def _quotes(xhtml: str) -> str:
    """A pulled-out quote (`citaat`) is a quotation, not a landmark: `<blockquote>`."""
    opening = '<aside class="box box-citaat">'
    while (start := xhtml.find(opening)) >= 0:
        pos = _closing(xhtml, start, opening, "aside", "box")
        inner = xhtml[start + len(opening):pos - 8]
        xhtml = (f'{xhtml[:start]}<blockquote class="box box-citaat">{inner}</blockquote>'
                 f'{xhtml[pos:]}')
    return xhtml


def _image(match, images: dict[str, str], source: Path | None) -> str:
    attrs = dict(re.findall(r'([a-z-]+)="([^"]*)"', match.group(1)))
    src = attrs.get("src", "")
    if not attrs.get("alt", "").strip():
        raise BuildError(f"image `{src}` has no description: write what it shows, "
                         "`![beschrijving](pad)` (the EPUB is read aloud too)",
                         source, _line_of(source, src))
    if src not in images:
        suffix = Path(src).suffix.lower()
        stem = re.sub(r"[^a-z0-9-]+", "-", Path(src).stem.lower()).strip("-") or "beeld"
        images[src] = f"images/{len(images) + 1:02d}-{stem}{suffix}"
    attrs["src"] = f"../{images[src]}"
    attrs.pop("title", None)              # the caption is in the figure already
    return "<img " + " ".join(f'{k}="{v}"' for k, v in attrs.items()) + "/>"


def _line_of(source: Path | None, needle: str) -> int | None:
    if source is None:
        return None
    from urllib.parse import unquote

    name = Path(unquote(needle)).name
    try:
        lines = source.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    return next((n for n, line in enumerate(lines, start=1) if name in line), None)


def _links(xhtml: str, name: str, where: dict[str, str], pages: PageMap,
           source: Path | None) -> str:
    local = set(re.findall(r'\sid="([^"]+)"', xhtml))

    def href(match):
        target = match.group(1)
        if target in local:
            return f'href="#{target}"'
        if target in TO_NAV:
            return f'href="{TO_NAV[target]}"'
        if target not in where:
            raise BuildError(f"`#{target}` is not in the EPUB edition (print only)", source,
                             _line_of(source, f"#{target}"))
        document = where[target]
        return f'href="{"" if document == name else document}#{target}"'

    xhtml = HREF.sub(href, xhtml)

    def number(match):
        opening, _, target, prefix = match.groups()
        label = pages.label(target)
        if label is None:
            raise BuildError(f"no print page for `#{target}`: the print page map is older "
                             "than the sources (build the print edition)", source,
                             _line_of(source, f"#{target}"))
        return f"{opening}{prefix or ''}{label}</a>"

    return PAGEREF.sub(number, xhtml)


def well_formed(text: str, name: str) -> None:
    """Every document must be XML: a mistake here is the pipeline's, not the editor's."""
    try:
        ET.fromstring(text.encode("utf-8"))
    except ET.ParseError as exc:
        line = exc.position[0]
        shown = text.splitlines()[line - 1][:120] if line else ""
        raise BuildError(f"EPUB document {name} is not well-formed XML ({exc}): {shown}") \
            from None


__all__ = ["Page", "PageMap", "finish_document", "trailing_pages", "well_formed", "roman"]

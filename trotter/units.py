"""Render units: a publication laid out in parts, in parallel, as if it were laid out whole.

A template names its units (html.py): the book's front matter, each chapter, the register
and back cover; a cahier's cover, chapters and back. Each unit is laid out by WeasyPrint on
its own, in a worker process, with what it would have inherited from the pages before it
in a single document (its `Placement`):

- the side and page number it starts on: one or two *lead* pages put the page before it on
  the right side (so a `break-before: right` inserts the same blank page as in the whole
  document) and set the page counter; the lead pages are dropped from its PDF;
- the running-head strings (`string-set`) in force where it starts;
- the page number of every target it refers to that lies in another unit ("zie p. 42",
  contents, register): written into the link (`class="ext"`, `counter-reset: pageref 42`),
  which loses its `href` (WeasyPrint cannot link to what it does not lay out; print files
  carry no links, and the tagged screen edition, with its links, is laid out whole).

`settle` finds the placements that agree with the laid-out units: it starts from the last
build's page map (so an edit usually settles in one pass), renders what is not yet rendered
for its placement, and renders a unit again only when something it prints changed (its
first page number, side, strings or a page number it refers to). Rendered units are cached
in dist/.cache/units/ by their exact HTML and render options; their files are checked like
a publication's inputs. A unit whose content does not start with a forced page break cannot
be laid out apart: the publication is then laid out whole.
"""

from __future__ import annotations

import hashlib
import html as htmlmod
import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .deps import changed_input, write_atomic, write_json
from .errors import BuildError

DEBUG = bool(os.environ.get("TROTTER_DEBUG_UNITS"))
PLACEHOLDER = 10           # a page number not known yet (two digits, like most)
MAX_RENDERS = 6            # renders of one unit in one build before giving up
ANCHOR_ID = re.compile(r'\sid="([^"]+)"')
LINK = re.compile(r'<a\b([^>]*?)\shref="#([^"]+)"([^>]*)>')
BODY = re.compile(r"<body\b[^>]*>")


class Unsplittable(Exception):
    """A unit's content does not begin with a forced page break."""


@dataclass(frozen=True)
class Placement:
    lead: int                          # 0: first unit; 1 or 2 lead pages before the content
    start: int                         # page counter of the first page after the lead
    strings: tuple = ()                # (name, value) running-head strings in force
    numbers: tuple = ()                # (anchor, page counter) of targets in other units


@dataclass
class Unit:
    name: str
    html: str                          # the unit's HTML, before its placement is applied
    ids: set[str]
    targets: list[str]                 # anchors it links to that lie in other units


@dataclass
class Laid:
    """One unit laid out for one placement (see pdf.render)."""
    placement: Placement
    pdf: bytes
    pages: list                        # (page counter, side, blank, name, folio style,
                                       # folio) of each page it keeps (pdf._page_info)
    anchors: dict[str, int]
    strings: dict[str, str]
    inputs: list
    warnings: list[str] = field(default_factory=list)
    preflight: dict | None = None      # the page checks of its pages (preflight.Report)
    anchor_pages: dict = field(default_factory=dict)      # id -> index of its page
    strings_by_page: list = field(default_factory=list)   # strings in force after each page
    layout: float = 0.0
    write: float = 0.0
    cached: bool = False


def split(html: str, names: list[str], render_unit: Callable[[str], str]) -> list[Unit]:
    """The units of a publication: each one's HTML, the ids it holds and its outside links."""
    if len(names) < 2:
        return [Unit("whole", html, set(ANCHOR_ID.findall(html)), [])]
    units = []
    for name in names:
        text = render_unit(name)
        ids = set(ANCHOR_ID.findall(text))
        targets = sorted({t for _, t, _ in LINK.findall(text) if t not in ids})
        units.append(Unit(name, text, ids, targets))
    return units


def placed_html(unit: Unit, placement: Placement) -> str:
    """The unit's HTML with its placement: the lead pages and the outside page numbers."""
    if placement.lead == 0 and not placement.numbers:
        return unit.html
    numbers = dict(placement.numbers)

    def link(match):
        attrs, target, rest = match.groups()
        if target not in numbers:
            return match.group(0)
        style = f' style="counter-reset: pageref {numbers[target]}"'
        if 'class="' in attrs + rest:
            attrs, rest = (a.replace('class="', 'class="ext ', 1) for a in (attrs, rest))
        else:
            attrs += ' class="ext"'
        return f'<a{attrs}{rest}{style}>'        # no link: the target is not in this render

    text = LINK.sub(link, unit.html)
    if placement.lead:
        strings = ", ".join(f"{name} {_css_string(value)}" for name, value in placement.strings)
        state = f" string-set: {strings};" if strings else ""
        lead = "".join(
            '<div class="unit-lead" style="' + htmlmod.escape(
                "page: unit-lead; break-after: page;" + (state if n == placement.lead - 1
                                                         else ""), quote=True) + '"></div>'
            for n in range(placement.lead))
        start = placement.start - placement.lead
        text = text.replace("</head>", f"<style>@page :first {{ counter-reset: page {start}; }}"
                                       "</style>\n</head>", 1)
        body = BODY.search(text)
        text = text[:body.end()] + "\n" + lead + text[body.end():]
    return text


def _css_string(value: str) -> str:
    """A CSS string literal (the HTML attribute around it is escaped by the caller)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\A ")
    return f'"{escaped}"'


# -- the cache of laid-out units ---------------------------------------------------------------

class UnitCache:
    """dist/.cache/units/<variant>/<id>/: laid-out units by key, and the last page map."""

    def __init__(self, folder: Path | None, root: Path, reuse: bool = True):
        self.folder = folder
        self.root = root                # the project's: recorded inputs are named from it
        self.reuse = reuse              # False (--force): lay everything out again, but
        self.used: set[str] = set()     # still start from the last build's page map

    def get(self, key: str) -> Laid | None:
        if self.folder is None or not self.reuse:
            return None
        meta, pdf = self.folder / f"{key}.json", self.folder / f"{key}.pdf"
        try:
            data = json.loads(meta.read_text(encoding="utf-8"))
            if changed_input(data["inputs"], self.root) is not None:
                return None
            if any(len(p) < 6 for p in data["pages"]):   # laid out before page labels
                return None
            body = pdf.read_bytes()
            if hashlib.sha256(body).hexdigest() != data["pdf_sha256"]:
                return None                     # a damaged or foreign file: lay it out again
            laid = Laid(Placement(**{k: tuple(tuple(x) for x in v) if isinstance(v, list)
                                     else v for k, v in data["placement"].items()}),
                        body, [tuple(p) for p in data["pages"]], data["anchors"],
                        data["strings"], data["inputs"], data["warnings"],
                        data.get("preflight"), cached=True)
        except (OSError, ValueError, KeyError, TypeError):
            return None
        self.used.add(key)
        return laid

    def put(self, key: str, laid: Laid) -> None:
        if self.folder is None:
            return
        # both files by rename, the PDF first; the entry names the PDF's hash, so a PDF that
        # does not match its entry (a kill between the two, a damaged file) is never used
        write_atomic(self.folder / f"{key}.pdf", laid.pdf)
        data = {"pdf_sha256": hashlib.sha256(laid.pdf).hexdigest(), "placement": {"lead": laid.placement.lead, "start": laid.placement.start,
                              "strings": laid.placement.strings,
                              "numbers": laid.placement.numbers},
                "pages": laid.pages, "anchors": laid.anchors, "strings": laid.strings,
                "inputs": laid.inputs, "warnings": laid.warnings, "preflight": laid.preflight}
        write_json(self.folder / f"{key}.json", data)
        self.used.add(key)

    def hint(self) -> dict:
        """The last build's units (name -> pages, last counter, strings) and page map."""
        if self.folder is None:
            return {}
        try:
            return json.loads((self.folder / "map.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def keep(self, hint: dict | None) -> None:
        """After a successful build: remember its page map, drop units it did not use."""
        if self.folder is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        if hint:
            write_json(self.folder / "map.json", hint)
        for path in self.folder.iterdir():
            if path.suffix in (".pdf", ".json") and path.stem not in self.used \
                    and path.name != "map.json":
                path.unlink(missing_ok=True)


def hint_from_units(laid: dict[str, Laid], **extra) -> dict:
    """The page map of a build laid out in units: per unit its page count, the counter of
    its last page and the strings in force at its end; the page counter of every anchor."""
    return {**extra,
            "units": {name: {"pages": len(u.pages),
                             "last": u.pages[-1][0] if u.pages else u.placement.start - 1,
                             "strings": u.strings} for name, u in laid.items()},
            "anchors": {k: v for u in laid.values() for k, v in u.anchors.items()}}


def group(name: str, members: list[Unit], html: str) -> Unit:
    """Consecutive units laid out together (`html`: their HTML rendered as one)."""
    ids = set(ANCHOR_ID.findall(html))
    targets = sorted({t for _, t, _ in LINK.findall(html) if t not in ids})
    return Unit(name, html, ids, targets)


def hint_from_groups(groups: list[tuple[list[Unit], Laid]], **extra) -> dict | None:
    """The page map of the units, read from groups of them laid out together: within a group
    each unit starts on the page of its first anchor (with the blank pages WeasyPrint put
    before it). None when a unit has no anchor to find it by."""
    units, anchors = {}, {}
    for members, laid in groups:
        anchors.update(laid.anchors)
        starts = [0]
        for unit in members[1:]:
            pages = [laid.anchor_pages[i] for i in unit.ids if i in laid.anchor_pages]
            if not pages:
                return None
            first = min(pages)
            while first > starts[-1] + 1 and laid.pages[first - 1][2]:   # blank before it
                first -= 1
            if first <= starts[-1]:
                return None
            starts.append(first)
        ends = starts[1:] + [len(laid.pages)]
        for unit, start, end in zip(members, starts, ends):
            units[unit.name] = {"pages": end - start, "last": laid.pages[end - 1][0],
                                "strings": laid.strings_by_page[end - 1]}
    return {**extra, "units": units, "anchors": anchors}


def cache_folder(project, pub_id: str, variant: str) -> Path:
    return project.cache / "units" / variant / pub_id


# -- settling ----------------------------------------------------------------------------------

@dataclass
class Memory:
    """The layouts of one build: by cache key, and the latest of each unit by name."""
    done: dict = field(default_factory=dict)
    latest: dict = field(default_factory=dict)
    by_unit: dict = field(default_factory=dict)     # name -> its layouts in this build
    keys: dict = field(default_factory=dict)

    def add(self, name: str, key: str, laid: Laid) -> None:
        self.done[key] = self.latest[name] = laid
        self.by_unit.setdefault(name, []).insert(0, laid)


def settle(units: list[Unit], submit, key_of, cache: UnitCache, idle: Callable[[], bool],
           source=None, memory: Memory | None = None) -> list[Laid]:
    """Lay out every unit for the placement that agrees with all the others.

    `submit(unit, placement, html)` starts a render and returns a concurrent future of its
    `Laid`; `key_of(html, lead)` is the cache key; `idle()` says whether a worker is free for
    a speculative render (one whose side or first page number rests on an estimate)."""
    from concurrent.futures import FIRST_COMPLETED, wait

    memory = memory or Memory()
    hint = cache.hint()
    running: dict = {}                          # future -> (unit name, key)
    renders = {u.name: 0 for u in units}

    def key(unit: Unit, placement: Placement) -> str:
        ident = (unit.name, hash(unit.html), placement)
        if ident not in memory.keys:
            memory.keys[ident] = key_of(placed_html(unit, placement), placement.lead)
        return memory.keys[ident]

    def laid_for(unit: Unit, placement: Placement) -> Laid | None:
        return memory.done.get(key(unit, placement))

    while True:
        plan = _expected(units, memory, hint)
        if all(laid_for(u, plan[u.name][0]) is not None for u in units):
            return [laid_for(u, plan[u.name][0]) for u in units]
        # the page structure (sides, first pages, strings) is settled when every unit has a
        # layout for its expected structure; page numbers it refers to are settled last
        structured = all(any(_same_structure(laid, plan[u.name][0])
                             for laid in memory.by_unit.get(u.name, [])) for u in units)
        pending = set(k for _, k, _ in running.values())
        in_flight = {(name, _structure(p)) for name, _, p in running.values()}
        looked = False
        for unit in units:
            placement, state = plan[unit.name]
            unit_key = key(unit, placement)
            if unit_key in memory.done or unit_key in pending:
                continue
            cached = cache.get(unit_key)
            if cached is not None:
                memory.add(unit.name, unit_key, cached)
                looked = True
                continue
            numbers_only = (_same_structure(memory.latest.get(unit.name), placement)
                            or (unit.name, _structure(placement)) in in_flight)
            if numbers_only and not structured:
                continue                        # its numbers change once more: wait
            if state != "certain" and unit.name in {n for n, _, _ in running.values()}:
                continue                        # one guess of a unit at a time
            if state == "guessed" and (running or looked) and not idle():
                continue                        # a speculative render only on a free worker
            renders[unit.name] += state == "certain"
            if renders[unit.name] > MAX_RENDERS:
                raise BuildError(f"the page numbers of `{unit.name}` do not settle after "
                                 f"{MAX_RENDERS} layouts", source)
            if DEBUG:
                print(f"[units] {unit.name}: lead {placement.lead}, page {placement.start}, "
                      f"{len(placement.numbers)} numbers, {state}", file=sys.stderr)
            future = submit(unit, placement, placed_html(unit, placement))
            running[future] = (unit.name, unit_key, placement)
            pending.add(unit_key)
        if not running:
            if looked:
                continue                        # cache hits changed the plan: look again
            detail = "; ".join(f"{u.name}: {plan[u.name]}" for u in units
                               if laid_for(u, plan[u.name][0]) is None)
            raise BuildError(f"internal: nothing to lay out, yet units are missing ({detail})",
                             source)
        finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
        for future in finished:
            name, unit_key, _ = running.pop(future)
            laid = future.result()              # BuildError, Unsplittable: raised here
            memory.add(name, unit_key, laid)
            cache.put(unit_key, laid)


def _same_structure(laid: Laid | None, placement: Placement) -> bool:
    return laid is not None and _structure(laid.placement) == _structure(placement)


def _structure(placement: Placement) -> tuple:
    return placement.lead, placement.start, placement.strings


def _disagrees(laid: Laid, known: dict) -> bool:
    last = laid.pages[-1][0] if laid.pages else None
    return (len(laid.pages), last, laid.strings) != (known["pages"], known["last"],
                                                     known["strings"])


def _expected(units: list[Unit], memory: "Memory", hint: dict) -> dict:
    """name -> (placement, state) for every unit, from the best knowledge of the units before
    it: a layout of theirs for their own expected side, first page and strings in this build
    (state "certain" when all of them have one), else the last build's map ("hinted"), else
    an estimate ("guessed"). Page numbers of targets come from the same layouts, else from
    the last build's map, else a placeholder."""
    known_units = hint.get("units", {})
    laid_out = [(u, memory.latest[u.name]) for u in units if u.name in memory.latest]
    per_char = (sum(len(laid.pages) for _, laid in laid_out)
                / max(1, sum(len(u.html) for u, _ in laid_out))) if laid_out else 0
    structures: dict[str, tuple[Placement, str]] = {}
    sources: dict[str, Laid] = {}
    pages_before, last_counter, strings, state = 0, 0, {}, "certain"
    for index, unit in enumerate(units):
        placement = (Placement(0, 1) if index == 0 else Placement(
            1 if pages_before % 2 == 1 else 2, last_counter + 1, tuple(sorted(strings.items()))))
        structures[unit.name] = (placement, state)
        source = next((laid for laid in memory.by_unit.get(unit.name, [])
                       if _same_structure(laid, placement)), None)
        if source is not None and unit.name in known_units \
                and _disagrees(source, known_units[unit.name]):
            known_units = {}                # the last build's map is out of date from here
        if source is None and unit.name in known_units:
            known = known_units[unit.name]
            pages, last, new_strings = known["pages"], known["last"], known["strings"]
            state = "guessed" if state == "guessed" else "hinted"
        else:
            source = source or memory.latest.get(unit.name)
            if source is None:       # an estimate from the size of the units laid out
                pages = max(1, round(len(unit.html) * per_char))
                last, new_strings = placement.start + pages - 1, {}
            else:
                pages, new_strings = len(source.pages), source.strings
                last = source.pages[-1][0] if source.pages else placement.start - 1
            if source is None or not _same_structure(source, placement):
                state = "guessed"
            else:
                sources[unit.name] = source
        pages_before += pages
        last_counter = last
        strings = {**strings, **new_strings}
    anchors = dict(hint.get("anchors", {}))
    for name in [u.name for u in units]:
        laid = sources.get(name) or memory.latest.get(name)
        if laid is not None:
            anchors.update(laid.anchors)
    plan = {}
    for unit in units:
        placement, unit_state = structures[unit.name]
        numbers = tuple((t, int(anchors.get(t, PLACEHOLDER))) for t in unit.targets)
        plan[unit.name] = (Placement(placement.lead, placement.start, placement.strings,
                                     numbers), unit_state)
    return plan

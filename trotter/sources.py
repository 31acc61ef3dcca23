"""Stage 1, sources: find the publications and read `publication.yml` and Markdown files.

Every publication is a folder with a `publication.yml`. `book/`, `brochure/` and `card/` hold
one each; `cahiers/` holds one folder per cahier, so adding a folder adds a cahier.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import BuildError

KINDS = ("book", "brochure", "card", "cahier")

#: publication.yml keys: name -> (required, type, description)
SCHEMA: dict[str, tuple[bool, type | tuple, str]] = {
    "id": (True, str, "output name: dist/print/<id>.pdf"),
    "kind": (True, str, "book, brochure, card or cahier"),
    "title": (True, str, "title on the cover and in the PDF metadata"),
    "subtitle": (False, str, "subtitle on the cover"),
    "language": (True, str, "content language, `nl`"),
    "trim": (True, str, "trim size, `148mm 210mm` (width height)"),
    "pages": (False, dict, "page rules: exact, multiple, max"),
    "template": (True, str, "Jinja2 template in templates/"),
    "stylesheet": (True, str, "publication stylesheet in styles/"),
    "sources": (True, list, "ordered Markdown sources and parts"),
    "author": (False, str, "PDF metadata author"),
    "subject": (False, str, "PDF metadata subject"),
    "keywords": (False, list, "PDF metadata keywords"),
    "series": (False, str, "series name (cahiers)"),
    "number": (False, int, "number in the series (cahiers)"),
    "accent": (False, str, "accent colour token override, e.g. `var(--c-logistiek)`"),
    "summary": (False, str, "one sentence for the cover"),
    "colophon": (False, str, "Markdown file with the colophon text"),
    "backcover": (False, str, "Markdown file printed on the back cover"),
    "imposition": (False, bool, "make the imposed sheets of a brochure or card (default: yes)"),
    "edition": (False, str, "edition line in the colophon, with its year (else: first edition, the year of the source date)"),
    "readability": (False, dict, "reading level the chapters keep, e.g. "
                    "`{max_sentence_words: 25, max_average_words: 15}`"),
}
PAGE_RULES = {"exact": int, "multiple": int, "max": int}
#: `readability:` keys (measured by readability.py, which the build never loads)
LEVEL_KEYS = {
    "max_sentence_words": "the most words one sentence may have",
    "max_average_words": "the most words a sentence may have on average, per chapter",
}
PART_KEYS = {"part": str, "id": str, "perspective": str, "intro": str, "sources": list}
PERSPECTIVES = ("management", "hr", "lijn", "medewerker")


@dataclass
class PartConfig:
    title: str
    id: str
    perspective: str | None
    intro: str | None
    sources: list[Path]
    line: int


@dataclass
class PublicationConfig:
    path: Path                     # publication.yml
    id: str
    kind: str
    title: str
    language: str
    trim: tuple[str, str]
    template: str
    stylesheet: str
    front: list[Path]              # chapters before the first part
    parts: list[PartConfig]
    data: dict = field(default_factory=dict)
    lines: dict = field(default_factory=dict)
    project: object = field(default=None, repr=False, compare=False)   # project.Project

    @property
    def folder(self) -> Path:
        return self.path.parent

    @property
    def pages(self) -> dict:
        return self.data.get("pages") or {}

    def all_sources(self) -> list[Path]:
        return self.front + [s for part in self.parts for s in part.sources]


def discover(root: Path) -> list[Path]:
    """All publication.yml files, in a stable order: book, brochure, card, cahiers."""
    found = [root / name / "publication.yml" for name in ("book", "brochure", "card")]
    found = [p for p in found if p.exists()]
    cahiers = root / "cahiers"
    if cahiers.is_dir():
        found += sorted(p for p in cahiers.glob("*/publication.yml"))
    return found


def read_text(path: Path) -> str:
    """Read a UTF-8 text file (recorded as an input of the running build); a bad byte is
    reported with its line and byte offset."""
    from .deps import read_bytes

    try:
        data = read_bytes(path)
    except FileNotFoundError:
        raise BuildError("file not found", path) from None
    except OSError as exc:
        raise BuildError(f"cannot read file: {exc.strerror}", path) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise BuildError(f"not UTF-8: byte 0x{data[exc.start]:02x} at byte offset {exc.start}"
                         " (save the file as UTF-8)", path, line) from None
    return text.removeprefix("\ufeff")


def _yaml():
    """PyYAML and its fastest safe loader (libyaml when there is one), imported when a YAML
    text is parsed: a no-op build finds every publication.yml in the parse memo."""
    import yaml

    return yaml, getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str, path: Path, first_line: int = 1):
    """Parse YAML; return (data, {key: line}) for a top-level mapping."""
    yaml, safe_loader = _yaml()
    loader = safe_loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = first_line + mark.line if mark else first_line
        problem = getattr(exc, "problem", None) or str(exc)
        raise BuildError(f"invalid YAML: {problem}", path, line) from None
    finally:
        loader.dispose()
    lines = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            lines[key.value] = first_line + key.start_mark.line
            if isinstance(value, yaml.SequenceNode):
                for i, item in enumerate(value.value):
                    lines[(key.value, i)] = first_line + item.start_mark.line
    return data, lines


PARSED = "publication-yml.json"          # the memo, in the project's build cache


def _load_config_yaml(project, text: str, path: Path):
    """`load_yaml` of a publication.yml, memoised by the text's hash (the same text always
    parses the same; only JSON-exact results are kept, so the memo can never differ from a
    parse). Validation runs on the result every time."""
    from .deps import write_json

    key = hashlib.sha256(text.encode()).hexdigest()
    parsed = project.cache / PARSED
    try:
        memo = json.loads(parsed.read_text(encoding="utf-8"))
        data, rows = memo[key]
        return data, {(k if i is None else (k, i)): line for k, i, line in rows}
    except (OSError, ValueError, KeyError, TypeError):
        pass
    data, lines = load_yaml(text, path)
    rows = [[k, None, line] if isinstance(k, str) else [k[0], k[1], line]
            for k, line in lines.items()]
    try:
        exact = json.loads(json.dumps([data, rows])) == [data, rows]
    except (TypeError, ValueError):
        exact = False
    if exact:
        try:
            memo = json.loads(parsed.read_text(encoding="utf-8"))
            memo = memo if isinstance(memo, dict) else {}
        except (OSError, ValueError):
            memo = {}
        memo = {k: v for k, v in memo.items() if k != key}
        memo = dict(list(memo.items())[-63:])       # the texts seen lately, not every one ever
        memo[key] = [data, rows]
        try:
            write_json(parsed, memo)
        except OSError:
            pass                               # a cache only
    return data, lines


def check_keys(data: dict, allowed, path: Path, lines: dict, what: str, line: int = 1) -> None:
    for key in data:
        if key not in allowed:
            import difflib

            close = difflib.get_close_matches(str(key), list(allowed), n=1)
            hint = f" (did you mean `{close[0]}`?)" if close else ""
            raise BuildError(f"unknown key `{key}` in {what}{hint}", path,
                             lines.get(key, line))


def load_config(project, path: Path) -> PublicationConfig:
    """Read and validate one publication.yml of `project` (project.Project)."""
    path = Path(path).resolve()
    data, lines = _load_config_yaml(project, read_text(path), path)
    if not isinstance(data, dict):
        raise BuildError("publication.yml must be a mapping of keys to values", path, 1)
    check_keys(data, SCHEMA, path, lines, "publication.yml")
    for key, (required, kind, description) in SCHEMA.items():
        if key not in data or data[key] is None:
            if required:
                raise BuildError(f"missing required key `{key}` ({description})", path, 1)
            continue
        if not _is_a(data[key], kind):
            raise BuildError(f"`{key}` must be a {_type_name(kind)} ({description})",
                             path, lines.get(key))
    _check_values(project, data, path, lines)
    _check_readability(data.get("readability"), path, lines.get("readability", 1))
    trim = data["trim"].split()
    front, parts = _load_sources(project, data["sources"], path, lines)
    if not front and not any(p.sources for p in parts):
        raise BuildError("empty publication: `sources` lists no Markdown file", path,
                         lines.get("sources"))
    config = PublicationConfig(
        path=path, id=data["id"], kind=data["kind"], title=data["title"],
        language=data["language"], trim=(trim[0], trim[1]), template=data["template"],
        stylesheet=data["stylesheet"], front=front, parts=parts, data=data, lines=lines,
        project=project)
    _warn_unlisted(config)
    return config


ID = re.compile(r"[a-z0-9][a-z0-9-]*")
LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")
LENGTH_MM = re.compile(r"(\d+(?:\.\d+)?)mm")
TRIM_RANGE = (40.0, 1000.0)          # mm: from a bookmark to a poster


def _check_values(project, data: dict, path: Path, lines: dict) -> None:
    """Every value of a publication.yml that has the right type, checked for what it says:
    an error names the key's line."""
    def fail(key, message):
        raise BuildError(message, path, lines.get(key))

    if data["kind"] not in KINDS:
        fail("kind", f"unknown kind `{data['kind']}`: use one of {', '.join(KINDS)}")
    if not ID.fullmatch(data["id"]):
        fail("id", f"`id` `{data['id']}` must be lower-case letters, digits and `-` (it names "
                   "the output file)")
    if not LANGUAGE.fullmatch(data["language"]):
        fail("language", f"`language` `{data['language']}` is not a language tag, e.g. `nl`")
    pages = data.get("pages") or {}
    check_keys(pages, PAGE_RULES, path, lines, "pages", lines.get("pages", 1))
    for rule, value in pages.items():
        if value is not None and (not _is_a(value, int) or value < 1):
            fail("pages", f"page rule `{rule}` must be a whole number of at least 1, "
                          f"not `{value}`")
    if "accent" in data and not re.fullmatch(r"var\(--c-[a-z0-9-]+\)", data["accent"]):
        fail("accent", "`accent` must name a colour token, e.g. `var(--c-hr)`")
    trim = data["trim"].split()
    sizes = [LENGTH_MM.fullmatch(t) for t in trim]
    if len(trim) != 2 or not all(sizes):
        fail("trim", f"`trim` must be `<width>mm <height>mm`, e.g. `148mm 210mm`, "
                     f"not `{data['trim']}`")
    for size in sizes:
        if not TRIM_RANGE[0] <= float(size.group(1)) <= TRIM_RANGE[1]:
            fail("trim", f"trim size {size.group(0)} lies outside {TRIM_RANGE[0]:.0f}–"
                         f"{TRIM_RANGE[1]:.0f} mm")
    for key in ("keywords",):
        for i, item in enumerate(data.get(key) or []):
            if not isinstance(item, str):
                raise BuildError(f"`{key}` must be a list of texts, item {i + 1} is not",
                                 path, lines.get((key, i), lines.get(key)))
    for key in ("template", "stylesheet"):
        folder = project.templates if key == "template" else project.styles
        file = (folder / data[key]).resolve()
        if not file.is_relative_to(folder) or not file.is_file():
            fail(key, f"{key} `{data[key]}` not found in {folder.name}/")


def _is_a(value, kind) -> bool:
    """isinstance, where a yes/no is not a number"""
    if isinstance(value, bool) and kind is not bool and bool not in (
            kind if isinstance(kind, tuple) else (kind,)):
        return False
    return isinstance(value, kind)


def _check_readability(level, path: Path, line: int) -> None:
    """`readability: {max_sentence_words: 25, max_average_words: 15}` (readability.py)."""
    if level is None:
        return
    check_keys(level, LEVEL_KEYS, path, {}, "readability", line)
    if not level:
        raise BuildError(f"`readability` needs {' and/or '.join(LEVEL_KEYS)}", path, line)
    for key, value in level.items():
        whole = key == "max_sentence_words"
        if (isinstance(value, bool) or not isinstance(value, int if whole else (int, float))
                or value <= 0):
            raise BuildError(f"`readability: {key}` must be a {'whole ' if whole else ''}number "
                             f"of words above 0, not `{value}` ({LEVEL_KEYS[key]})", path, line)


def _load_sources(project, entries: list, path: Path, lines: dict):
    front: list[Path] = []
    parts: list[PartConfig] = []
    seen: set[Path] = set()

    def source(value, line) -> Path:
        if not isinstance(value, str):
            raise BuildError("a source must be a Markdown path or a `part:` mapping", path, line)
        file = path.parent / value
        if reason := project.refusal(file):
            raise BuildError(f"source `{value}` may not be read: {reason}", path, line)
        file = file.resolve()
        if not file.is_file():
            raise BuildError(f"source `{value}` is listed but missing", path, line)
        if file in seen:
            raise BuildError(f"source `{value}` is listed twice", path, line)
        seen.add(file)
        return file

    for i, entry in enumerate(entries):
        line = lines.get(("sources", i), lines.get("sources"))
        if isinstance(entry, dict):
            check_keys(entry, PART_KEYS, path, {}, "a part", line)
            for key, kind in PART_KEYS.items():
                if entry.get(key) is not None and not _is_a(entry[key], kind):
                    raise BuildError(f"`{key}` of a part must be a {_type_name(kind)}",
                                     path, line)
            if "part" not in entry or "sources" not in entry:
                raise BuildError("a part needs `part:` (its title) and `sources:`", path, line)
            perspective = entry.get("perspective")
            if perspective is not None and perspective not in PERSPECTIVES:
                raise BuildError(f"unknown perspective `{perspective}`: use one of "
                                 f"{', '.join(PERSPECTIVES)}", path, line)
            pid = entry.get("id") or slug(entry["part"]) or "part"
            parts.append(PartConfig(
                title=entry["part"], id=pid, perspective=perspective, intro=entry.get("intro"),
                sources=[source(s, line) for s in entry["sources"]], line=line))
        elif parts:
            raise BuildError("chapters after the first part must be listed inside a part",
                             path, line)
        else:
            front.append(source(entry, line))
    return front, parts


def series_members(config: PublicationConfig) -> list[dict]:
    """The publications of the same series (the cahiers), by number: number, title, subtitle
    and whether it is this one. Read lightly (a broken publication.yml is reported by its own
    build, not by every cahier that lists the series)."""
    from .deps import current

    series = config.data.get("series")
    if not series:
        return []
    members = []
    project = config.project
    found = discover(project.root)
    if current() is not None:       # a new cahier changes the series on every back cover
        current().listing("cahiers/*/publication.yml",
                          [p for p in found if p.parent.parent == project.cahiers])
    for path in found:
        try:
            data = (_load_config_yaml(project, read_text(path), path)[0] if path != config.path
                    else config.data)
        except BuildError:
            continue
        if isinstance(data, dict) and data.get("series") == series:
            members.append({"number": data.get("number"), "title": str(data.get("title", "")),
                            "subtitle": str(data.get("subtitle") or ""),
                            "current": path == config.path})
    return sorted(members, key=lambda m: (not isinstance(m["number"], int), m["number"] or 0))


def _warn_unlisted(config: PublicationConfig) -> None:
    """A Markdown file in the publication folder that no source list names is a warning."""
    from .report import warn

    listed = set(config.all_sources())
    for key in ("colophon", "backcover"):
        if config.data.get(key):
            listed.add((config.folder / config.data[key]).resolve())
    for md in sorted(config.folder.rglob("*.md")):
        if md.resolve() not in listed and not _is_included_somewhere(md, listed):
            shown = config.project.shown
            warn(f"{shown(md)}: not listed in {shown(config.path)} "
                 "and included nowhere")


def _is_included_somewhere(md: Path, listed: set[Path]) -> bool:
    name = md.name
    for source in listed:
        try:
            if name in source.read_text(encoding="utf-8", errors="replace"):
                return True
        except OSError:
            pass
    return False


def slug(text: str) -> str:
    """`Vervoer De Leie, één!` -> `vervoer-de-leie-een`: accents folded, ASCII, lower case,
    words joined by `-` (empty when nothing is left). Anchors, part ids, folder and release
    file names."""
    import unicodedata

    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def _type_name(kind) -> str:
    names = {str: "text", int: "whole number", list: "list", dict: "mapping", bool: "yes or no"}
    return names.get(kind, getattr(kind, "__name__", str(kind)))

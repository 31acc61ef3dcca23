"""The stylesheets, checked file by file like a compiler checks code.

Every declaration WeasyPrint would ignore (an unknown property, an invalid value, a rule it
does not support) is reported as `styles/card.css:6:8: unknown property `colr: red``, in the
file where it stands — an `@import`ed file is checked as itself. A `var(--naam)` that names
no token defined in any stylesheet is reported too.

WeasyPrint's own validator does the checking, which costs its import (about a second): the
findings are cached by the stylesheets' content and WeasyPrint's version in
dist/.cache/stylecheck.json, so a check after editing Markdown only stays instant.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from pathlib import Path

from .deps import packages, write_json

SHARED = ("tokens.css", "base.css", "print.css", "screen.css")
IGNORED = re.compile(r"^Ignored `(?P<what>.+?)` at (?P<line>\d+):(?P<column>\d+), "
                     r"(?P<why>.+?)\.?$")
POSITION = re.compile(r"^(?P<text>.*?) at (?P<line>\d+):(?P<column>\d+)(?P<rest>.*)$")
IMPORT = re.compile(r"""@import\s+(?:url\()?\s*["']?([^"')\s;]+)""")
CACHED = "stylecheck.json"          # in the project's build cache


def stylesheets(project, names=()) -> list[Path]:
    """The shared stack and the given publication stylesheets, with what they import."""
    found: list[Path] = []
    todo = [project.styles / n for n in SHARED] + [project.styles / n for n in names]
    while todo:
        path = todo.pop(0).resolve()
        if path in found or not path.is_file():
            continue
        found.append(path)
        text = path.read_text(encoding="utf-8", errors="replace")
        todo += [(path.parent / target) for target in IMPORT.findall(text)]
    return found


def check_stylesheets(project, names=()):
    """Problems (check.Problem) of the project's shared stylesheets and the publication
    ones named."""
    from .check import Problem

    files = stylesheets(project, names)
    every = sorted(project.styles.rglob("*.css"))   # tokens may be defined in any of them
    key = hashlib.sha256(json.dumps(
        [packages().get("weasyprint")] + [(p.name, hashlib.sha256(p.read_bytes()).hexdigest())
                                          for p in every]).encode()).hexdigest()
    cache = _load_cache(project.cache / CACHED)
    found = {}
    for path in files:
        name = project.shown(path)
        entry = cache.get(name)
        if entry and entry["key"] == key:
            found[name] = entry["problems"]
        else:
            found[name] = _check_file(path, _defined_tokens(every))
            cache[name] = {"key": key, "problems": found[name]}
    _store_cache(project.cache / CACHED, cache)
    return [Problem(name, line, message, column)
            for name, problems in found.items() for line, column, message in problems]


def _check_file(path: Path, tokens: set[str]) -> list[tuple[int, int, str]]:
    """(line, column, message) of every problem in one stylesheet."""
    import weasyprint
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class NoImports(URLFetcher):             # an imported file is checked as itself
        def fetch(self, url, headers=None):
            return URLFetcherResponse(url, b"", headers={"Content-Type": "text/css"})

    handler = _Collect()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(handler)
    old, logger.propagate = logger.propagate, False
    try:
        weasyprint.CSS(string=path.read_text(encoding="utf-8"), base_url=path.as_uri(),
                       url_fetcher=NoImports())
    finally:
        logger.removeHandler(handler)
        logger.propagate = old
    problems = []
    for message in handler.messages:
        ignored = IGNORED.match(message)
        placed = POSITION.match(message)
        if ignored:
            what, why = ignored["what"], ignored["why"]
            if why == "unknown property":
                text = f"unknown property `{what.split(':')[0].strip()}` (`{what}`)"
            else:
                text = f"{why}: `{what}`"
            problems.append((int(ignored["line"]), int(ignored["column"]), text))
        elif placed:
            problems.append((int(placed["line"]), int(placed["column"]),
                             (placed["text"] + placed["rest"]).strip(" .,")))
        else:
            problems.append((0, 0, message))
    problems += _undefined_tokens(path, tokens)
    return sorted(problems)


def _defined_tokens(paths) -> set[str]:
    tokens = set()
    for path in paths:
        tokens.update(re.findall(r"(--[A-Za-z0-9_-]+)\s*:",
                                 path.read_text(encoding="utf-8", errors="replace")))
    return tokens


def _undefined_tokens(path: Path, tokens: set[str]) -> list[tuple[int, int, str]]:
    import tinycss2

    found = []

    def walk(nodes):
        for node in nodes or ():
            if node.type == "function" and node.lower_name == "var":
                names = [t for t in node.arguments if t.type == "ident"]
                if names and names[0].value not in tokens:
                    found.append((node.source_line, node.source_column,
                                  f"`var({names[0].value})` names no token defined in "
                                  "styles/ (see tokens.css)"))
            for attribute in ("prelude", "content", "arguments", "value"):
                children = getattr(node, attribute, None)
                if isinstance(children, list):
                    walk(children)

    walk(tinycss2.parse_stylesheet(path.read_text(encoding="utf-8"), skip_comments=True))
    return found


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage().splitlines()[0])


def _load_cache(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _store_cache(path: Path, cache: dict) -> None:
    try:
        write_json(path, cache)
    except OSError:
        pass                                   # a cache only

"""`build.py check`: the source stages only — every mistake of every publication at once.

Reads each publication.yml and its Markdown into the document model (no WeasyPrint, no
layout), checks the stylesheets (stylecheck.py), and, when hunspell-nl is there, the
spelling. Reports one `path:line: message` per mistake, sorted by file and line, as
compilers do, so an editor's "problems" pane and a pre-commit hook can read it.

A publication that declares a reading level (`readability:` in publication.yml) is measured
too (readability.py): a sentence or a chapter above the level is a warning,
`path:line: warning: readability: …`, which does not make the check fail.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import BuildError, BuildErrors, display_path as _shown


@dataclass(frozen=True)
class Problem:
    path: str
    line: int | None
    message: str
    column: int | None = None
    warning: bool = False          # reported, but does not fail the check

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        if self.line and self.column:
            where += f":{self.column}"
        return f"{where}: {'warning: ' if self.warning else ''}{self.message}"


def from_error(error: BuildError) -> list[Problem]:
    errors = error.errors if isinstance(error, BuildErrors) else [error]
    return [Problem(_shown(e.path) if e.path else "", e.line, e.message) for e in errors]


def check(project, entries, spelling: bool = True, styles: bool = True) -> list[Problem]:
    """Every mistake in the sources of `entries` (runner.Entry of `project`), sorted by
    place."""
    from .deps import recording
    from .model import build_document
    from .sources import load_config

    from concurrent.futures import ThreadPoolExecutor

    from . import spelling as hunspell

    problems: list[Problem] = []
    markdown: set[Path] = set()
    stylesheets: set[str] = set()
    spell = spelling and hunspell.available()
    early: list[Path] = []
    background = ThreadPoolExecutor(max_workers=1)
    if spell:       # hunspell runs beside the model on the Markdown in the folders named
        folders = {e.path.parent for e in entries}
        early = [p for p in hunspell.sources(project.root)
                 if any(p.is_relative_to(f) for f in folders)]
        spelled = background.submit(hunspell.findings, early, project.root)
    for entry in entries:
        if entry.error is not None:
            problems += from_error(entry.error)
            continue
        with recording(project.root) as read:      # the Markdown files it really reads
            try:
                config = entry.config or load_config(project, entry.path)
                stylesheets.add(config.stylesheet)
                build_document(config)
                problems += _readability(config)
            except BuildError as exc:
                problems += from_error(exc)
        markdown.update(p for p in read.paths() if p.suffix == ".md")
    if styles:
        from .stylecheck import check_stylesheets

        problems += check_stylesheets(project, sorted(stylesheets))
    if spell:
        found = [f for f in spelled.result() if f[0] in markdown]
        found += hunspell.findings(sorted(markdown - set(early)),   # included from elsewhere
                                   project.root)
        for path, line, word in found:
            problems.append(Problem(_shown(path), line, f"spelling: unknown word `{word}` "
                                    f"(right? add it to "
                                    f"{_shown(hunspell.wordlist(project.root))})"))
    background.shutdown()
    return sorted(set(problems), key=lambda p: (p.path, p.line or 0, p.column or 0, p.message))


def _readability(config) -> list[Problem]:
    """Warnings for what goes beyond the reading level the publication declares."""
    if not config.data.get("readability"):
        return []
    from .readability import measure, warnings

    return [Problem(_shown(path), line, message, warning=True)
            for path, line, message in warnings(measure(config))]

"""User-facing errors: every mistake an editor can make is reported as `path:line: message`."""

from __future__ import annotations

from pathlib import Path


class BuildError(Exception):
    """A mistake in the sources, reported without a traceback."""

    def __init__(self, message: str, path: Path | str | None = None, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line

    def location(self) -> str:
        if self.path is None:
            return ""
        from . import ROOT

        path = Path(self.path)
        try:
            shown = path.resolve().relative_to(ROOT)
        except ValueError:
            shown = path
        return f"{shown}:{self.line}" if self.line else f"{shown}"

    def __str__(self) -> str:
        where = self.location()
        return f"{where}: {self.message}" if where else self.message


class BuildErrors(BuildError):
    """Several mistakes found in one pass, reported together."""

    def __init__(self, errors: list[BuildError]):
        first = errors[0]
        super().__init__("\n".join(str(e) for e in errors), first.path, first.line)
        self.errors = errors

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)

"""User-facing errors: every mistake an editor can make is reported as `path:line: message`
(the path relative to the working directory, as compilers do);
what the machine refuses (a full disk, a read-only folder) is an `EnvironmentFault`."""

from __future__ import annotations

import errno
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
        shown = display_path(self.path)
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


#: what the machine refuses, not a mistake in the sources or in the code
ENVIRONMENT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS,
                      errno.EMFILE, errno.ENFILE, errno.ENOTDIR, errno.EISDIR, errno.EIO}


class EnvironmentFault(BuildError):
    """The machine refused to read or write a file: full disk, permission denied, read-only
    file system. Its own exit code (4); the message names the path."""

    exit_code = 4

    @classmethod
    def from_os_error(cls, exc: OSError) -> "EnvironmentFault | None":
        if exc.errno not in ENVIRONMENT_ERRNOS:
            return None
        what = exc.strerror or str(exc)
        where = exc.filename
        if where is None:
            return cls(f"the system refused: {what}")
        return cls(f"cannot write {display_path(where)}: {what}")

    def __str__(self) -> str:
        return self.message


def display_path(path) -> str:
    """A path as a compiler shows it: relative to the working directory when inside it
    (the project's root, run as `build.py` or `make`), else absolute."""
    path = Path(path)
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except (ValueError, OSError):
        return str(path)

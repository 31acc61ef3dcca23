"""The read policy: what a build may read, for the model and WeasyPrint's fetcher alike.

A build reads the project's own files and nothing else:

- inside the repository, by real path (a symbolic link is followed, then checked);
- no hidden file or folder at any depth (`.git/config`, `.env`, `.github/…`);
- nothing under `dist/` (build output is never an input) or `.cache/` (caches);
- the project's own fonts and colour profile, by exact path (`allowed_files`), which may lie
  in `.cache/` or, for a print shop's profile (`TROTTER_CMYK_PROFILE`), elsewhere.

`refusal` says why a path may not be read (None when it may); every reader turns that into an
error naming the file and line that asked for it.
"""

from __future__ import annotations

import os
from pathlib import Path

#: top-level folders of the repository that never hold an input
OUTPUT_FOLDERS = {"dist": "build output (dist/) is never an input",
                  ".cache": "a cache (.cache/) is never an input"}


def refusal(path: Path, root: Path, allowed_files=()) -> str | None:
    """Why `path` may not be read by a build of the project in `root`, or None when it
    may."""
    try:
        real = Path(path).resolve()
    except (OSError, RuntimeError):              # a symbolic link loop
        return "a symbolic link that leads nowhere"
    if real in {Path(p).resolve() for p in allowed_files}:
        return None
    root = Path(root).resolve()
    if not real.is_relative_to(root):
        via = " (through a symbolic link)" if _linked(Path(path), root) else ""
        return f"outside the repository{via}"
    parts = real.relative_to(root).parts
    if parts and parts[0] in OUTPUT_FOLDERS:
        return OUTPUT_FOLDERS[parts[0]]
    if any(part.startswith(".") for part in parts):
        return "in a hidden folder or file"
    return None


def _linked(path: Path, root: Path) -> bool:
    """Whether `path`, as written, lies inside the repository (so a link took it out)."""
    return Path(os.path.normpath(Path(path).absolute())).is_relative_to(root)

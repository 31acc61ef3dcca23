"""Messages to the user: one place that decides how warnings and progress are printed."""

from __future__ import annotations

import sys

_warnings: list[str] = []


def warn(message: str) -> None:
    _warnings.append(message)
    print(f"warning: {message}", file=sys.stderr)


def take_warnings() -> list[str]:
    """Warnings since the last call (for the per-publication summary line)."""
    taken = list(_warnings)
    _warnings.clear()
    return taken


def info(message: str) -> None:
    print(message, flush=True)

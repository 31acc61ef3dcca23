"""Messages to the user: one place that decides how warnings and progress are printed.

Nothing is kept: a long-lived process (watch, serve) prints its warnings as they come."""

from __future__ import annotations

import sys


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def info(message: str) -> None:
    print(message, flush=True)

"""A worker process (`python -m trotter.worker`): WeasyPrint imported once, then render units
as the pool asks, one at a time, until it is told to stop or its input closes.

A task is `("render", kwargs)` for `pdf.render`; the answer is `("ok", result)`,
`("build", message, path, line)` for a mistake in the sources or `("internal", traceback)`.
The code this process runs (its `trotter` modules) is reported with every result: it is an
input of what it made.
"""

from __future__ import annotations

import signal
import traceback
from pathlib import Path

from . import deps, pdf
from .errors import BuildError

def run(kind: str, kwargs: dict):
    if kind == "render":
        check = kwargs.pop("preflight", None)      # (trim, variant): the page checks
        kwargs.pop("unit", None)                   # its name, for the pool's messages
        result = pdf.render(**kwargs)
        if check:
            from .preflight import check_pages

            result["preflight"] = check_pages(result["pdf"], tuple(check[0]), check[1]).data()
        result["inputs"] += deps.code_rows(Path(kwargs["root"]).resolve())
        return result
    raise ValueError(f"unknown task {kind}")


def main() -> None:
    """The worker loop: tasks come on standard input, answers go out on standard output
    (anything else printed goes to standard error). Ctrl-C goes to the whole process group:
    the pool, not the worker, decides what happens to an unfinished render."""
    import os
    import sys
    from multiprocessing.connection import Connection

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    tasks = Connection(os.dup(0), writable=False)
    answers = Connection(os.dup(1), readable=False)
    os.dup2(2, 1)                               # stray output must not reach the pool
    sys.stdout = sys.stderr
    while True:
        try:
            task = tasks.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        kind, kwargs = task
        try:
            answer = ("ok", run(kind, kwargs))
        except BuildError as exc:
            answer = ("build", exc.message, str(exc.path) if exc.path else None, exc.line)
        except Exception:  # noqa: BLE001 - reported to the pool, not raised here
            answer = ("internal", traceback.format_exc())
        try:
            answers.send(answer)
        except (BrokenPipeError, OSError):
            return


if __name__ == "__main__":
    main()

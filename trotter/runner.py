"""Running builds: what is out of date, in parallel, one lock, one line per publication.

`run_builds` decides from the input fingerprints (deps.py) which publications need a build,
renders those in separate processes (largest first), reports `up to date / building / done`
per publication, keeps going when one fails, and never leaves a cache entry claiming a PDF is
current when the build did not finish.
"""

from __future__ import annotations

import fcntl
import os
import sys
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from . import ROOT, deps
from .errors import BuildError
from .pipeline import DIST, mark_stale, output_path, source_date
from .sources import PublicationConfig

LOCK = DIST / ".lock"
LOG = DIST / "build.log"


class Locked(Exception):
    pass


@dataclass
class Outcome:
    built: list[str] = field(default_factory=list)
    up_to_date: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    internal: list[tuple[str, str]] = field(default_factory=list)   # (id, traceback)
    seconds: float = 0.0


@contextmanager
def build_lock():
    """One build at a time in a checkout: a second one is told so, and nothing is corrupted."""
    LOCK.parent.mkdir(parents=True, exist_ok=True)
    with open(LOCK, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "?"
            raise Locked(f"another build is running (pid {holder}); wait for it to finish")
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        try:
            yield
        finally:
            fh.truncate(0)
            fcntl.flock(fh, fcntl.LOCK_UN)


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _size(config: PublicationConfig) -> int:
    return sum(p.stat().st_size for p in config.all_sources())


def _build_one(config_path: str, variant: str, fingerprint: str) -> dict:
    """Worker: build one publication; errors come back as data, never as a crash."""
    from .pipeline import build_publication
    from .sources import load_config

    try:
        config = load_config(Path(config_path))
        result = build_publication(config, variant)
        deps.record(config.id, variant, result.output, fingerprint, result.pages)
        return {"status": "done", "pages": result.pages, "seconds": result.seconds,
                "warnings": list(dict.fromkeys(result.warnings)), "timings": result.timings}
    except BuildError as exc:
        return {"status": "failed", "error": str(exc)}
    except Exception:  # noqa: BLE001 - an internal error is reported, not raised
        return {"status": "internal", "error": traceback.format_exc()}


class Progress:
    """One line per publication; on a terminal also a short running count."""

    def __init__(self, total: int, stream=sys.stdout):
        self.total, self.done, self.stream = total, 0, stream
        self.tty = stream.isatty()

    def line(self, text: str) -> None:
        if self.tty:
            self.stream.write("\r\033[K")
        self.stream.write(text + "\n")
        if self.tty and self.done < self.total:
            self.stream.write(f"[{self.done}/{self.total}] building…")
        self.stream.flush()

    def finished(self, text: str) -> None:
        self.done += 1
        self.line(text)


def run_builds(configs: list[PublicationConfig], variant: str = "print", jobs: int | None = None,
               force: bool = False, echo=print, echo_err=None) -> Outcome:
    echo_err = echo_err or (lambda m: print(m, file=sys.stderr))
    outcome = Outcome()
    date = source_date()
    todo = []
    for config in configs:
        out = output_path(config.id, variant)
        fp = deps.fingerprint(config, variant, date)
        if not force and deps.up_to_date(config.id, variant, out, fp):
            echo(f"{config.id}: up to date -> {_shown(out)}")
            outcome.up_to_date.append(config.id)
        else:
            deps.forget(config.id, variant)   # a cache entry never outlives its PDF
            todo.append((config, fp))
    if not todo:
        return outcome
    _remove_leftovers()
    todo.sort(key=lambda item: _size(item[0]), reverse=True)     # largest first
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(todo)))
    progress = Progress(len(todo))
    os.environ["SOURCE_DATE_EPOCH"] = str(date)
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = {}
        for config, fp in todo:
            futures[pool.submit(_build_one, str(config.path), variant, fp)] = config
            progress.line(f"{config.id}: building")
        pending = set(futures)
        started = time.perf_counter()
        try:
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    _report(futures[future], future.result(), variant, progress, outcome,
                            echo_err)
        except KeyboardInterrupt:
            for future in pending:
                future.cancel()
            raise
    outcome.seconds = time.perf_counter() - started
    return outcome


def _remove_leftovers() -> None:
    """Temporary files of a build that was killed (under the lock, so none is in use)."""
    for tmp in DIST.glob("*/.*.tmp"):
        tmp.unlink(missing_ok=True)


def _report(config, result: dict, variant: str, progress: Progress, outcome: Outcome,
            echo_err) -> None:
    out = output_path(config.id, variant)
    if result["status"] == "done":
        for message in result["warnings"]:
            echo_err(f"{config.id}: warning: {message}")
        warn = f", {len(result['warnings'])} warnings" if result["warnings"] else ""
        progress.finished(f"{config.id}: done, {result['pages']} pages, "
                          f"{result['seconds']:.1f} s{warn} -> {_shown(out)}")
        outcome.built.append(config.id)
        return
    kept = mark_stale(out, result["error"].splitlines()[-1])
    note = f" (previous {_shown(out)} kept, it is STALE)" if kept else ""
    if result["status"] == "failed":
        progress.finished(f"{config.id}: failed{note}")
        echo_err(result["error"])
        outcome.failed.append((config.id, result["error"]))
    else:
        progress.finished(f"{config.id}: internal error{note}")
        outcome.internal.append((config.id, result["error"]))

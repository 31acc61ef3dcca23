"""Running builds: one orchestrator for `build`, `watch`, `serve` and `release`.

`run_builds` takes the lock, decides from the recorded inputs (deps.py) which publications
need a build, builds those concurrently — each in a thread of this process that hands its
render units to one shared worker pool (largest publication first) — reports
`up to date / building / done` per publication, keeps going when one fails (a broken
publication.yml, a mistake in a source, a worker that died), and never leaves a cache entry
claiming a PDF is current when the build did not finish.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import sys
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from . import deps
from .errors import BuildError, EnvironmentFault
from .pipeline import mark_stale, output_path, source_size
from .variants import DEFAULT

LOCK = ".lock"              # in a project's dist/
LOG = "build.log"           # in a project's dist/: the tracebacks of internal errors


def log_path(project) -> Path:
    return project.dist / LOG


class Locked(Exception):
    pass


@dataclass
class Outcome:
    built: list[str] = field(default_factory=list)
    up_to_date: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    internal: list[tuple[str, str]] = field(default_factory=list)   # (id, traceback)
    environment: list[tuple[str, str]] = field(default_factory=list)  # failed: the machine
    results: dict = field(default_factory=dict)                     # id -> pipeline.Result
    seconds: float = 0.0


@dataclass
class Entry:
    """A publication found in the repository: its id, publication.yml and, when that file
    cannot be read, the mistake (the others are still built)."""
    id: str
    path: Path
    kind: str = "?"
    title: str = ""
    size: int = 0
    error: BuildError | None = None
    stylesheet: str | None = None
    out: Path | None = None          # where the print PDF goes, when not dist/print/<id>.pdf
    config: object = field(default=None, repr=False, compare=False)   # as catalog read it
    project: object = field(default=None, repr=False, compare=False)  # project.Project

    def output(self, variant: str) -> Path:
        return (self.out if self.out and variant == DEFAULT
                else output_path(self.project, self.id, variant))


def catalog(project) -> list[Entry]:
    """Every publication of `project`, read lightly (no Markdown is parsed): a broken
    publication.yml becomes an entry with its error, named after its folder."""
    from .sources import discover, load_config

    entries = []
    for path in discover(project.root):
        try:
            config = load_config(project, path)
        except BuildError as exc:
            entries.append(Entry(_light_id(path), path, error=exc, project=project))
            continue
        size = source_size(config)
        entries.append(Entry(config.id, path, config.kind, config.title, size,
                             stylesheet=config.stylesheet, config=config, project=project))
    _unique(entries)
    return entries


def _unique(entries: list[Entry]) -> None:
    """Two publications with one id (or two cahiers of a series with one number) would
    write one PDF twice: both are errors that name the other folder; the rest still build."""
    def claims(entry):
        data = entry.config.data
        yield "id", entry.id, f"publication id `{entry.id}`"
        if data.get("series") and data.get("number") is not None:
            yield "number", (data["series"], data["number"]), \
                f"number {data['number']} of the series `{data['series']}`"

    seen: dict[tuple, Entry] = {}
    clashes: dict[int, BuildError] = {}
    for entry in entries:
        if entry.error is not None:
            continue
        for key, value, what in claims(entry):
            other = seen.setdefault((key, value), entry)
            if other is entry:
                continue
            for one, two in ((entry, other), (other, entry)):
                clashes.setdefault(id(one), BuildError(
                    f"{what} is also used by {two.project.shown(two.path)}: give each publication "
                    f"its own", one.path, one.config.lines.get(key)))
    for entry in entries:
        if id(entry) in clashes:
            entry.error = clashes[id(entry)]


def _light_id(path: Path) -> str:
    import yaml                       # only for a broken publication.yml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and isinstance(data.get("id"), str):
            return data["id"]
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        pass
    return path.parent.name


def select(entries: list[Entry], ids) -> list[Entry]:
    """The entries named by `ids` (publication ids or `cahiers`); all when none are named.
    Raises KeyError with the unknown names."""
    if not ids:
        return entries
    known = {e.id: e for e in entries}
    wanted: list[str] = []
    for name in ids:
        if name == "cahiers":
            wanted += [e.id for e in entries if e.kind == "cahier"
                       or e.path.parent.parent.name == "cahiers"]
        else:
            wanted.append(name)
    unknown = [i for i in wanted if i not in known]
    if unknown:
        raise KeyError(unknown)
    wanted = list(dict.fromkeys(wanted))
    # two publications with one id are both selected (both fail, naming each other)
    return sorted((e for e in entries if e.id in wanted), key=lambda e: wanted.index(e.id))


# -- the lock ----------------------------------------------------------------------------------

@contextmanager
def build_lock(dist: Path, what: str = "build"):
    """One command that writes `dist` (a project's dist/) at a time (build, watch and serve
    builds, release, clean, proof, diff): a second one is told so, and nothing is
    corrupted."""
    lock = dist / LOCK
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "?"
            raise Locked(f"another build is running ({holder}); wait for it to finish") \
                from None
        try:                      # who holds it: a courtesy, the lock is the flock
            fh.seek(0)
            fh.truncate()
            fh.write(f"pid {os.getpid()}, {what}")
            fh.flush()
        except OSError:
            pass
        try:
            yield
        finally:
            fh.seek(0)
            fh.truncate()
            fcntl.flock(fh, fcntl.LOCK_UN)


def remove_leftovers(dist: Path) -> None:
    """What a killed command left in `dist` (under the lock, so none of it is in use):
    temporary files beside the PDFs and cache entries, and release staging folders."""
    if not dist.is_dir():
        return
    for tmp in list(dist.rglob(".*.tmp")) + list(dist.rglob("*.json.tmp")):
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)


def clean(project) -> None:
    """Empty the project's dist/ but for the lock file (removing it while another command
    waits for it would let two commands run at once)."""
    with build_lock(project.dist, "clean"):
        for path in project.dist.iterdir():
            if path.name == LOCK:
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


@contextmanager
def interrupt_on_terminate():
    """SIGTERM ends a command as Ctrl-C does: the pool stops its workers, nothing stale is
    claimed current."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


# -- building ----------------------------------------------------------------------------------

class Progress:
    """One line per publication; on a terminal also a short running count."""

    def __init__(self, total: int, echo):
        self.total, self.done, self.echo = total, 0, echo
        self.lock = threading.Lock()

    def line(self, text: str) -> None:
        with self.lock:
            self.echo(text)

    def finished(self, text: str) -> None:
        with self.lock:
            self.done += 1
            self.echo(text)


def plan(project, entries: list[Entry], variant: str, force: bool = False):
    """(up to date, to build with the reason) — from the recorded inputs only."""
    settings, packages = deps.settings(project, variant), deps.packages()
    cached = {e.id: deps.load(project, e.id, variant) for e in entries if e.error is None}
    dates = deps.source_dates(project, {i: [row[0] for row in c.get("inputs", [])]
                                        for i, c in cached.items() if c})
    current, todo = [], []
    for entry in entries:
        if entry.error is not None:
            todo.append((entry, str(entry.error)))
            continue
        reason = "forced" if force else deps.why_stale(
            project, cached.get(entry.id), entry.output(variant), settings, packages,
            dates.get(entry.id))
        (todo.append((entry, reason)) if reason else current.append(entry))
    return current, todo


def run_builds(project, entries: list[Entry], variant: str = "print",
               jobs: int | None = None, force: bool = False, echo=print, echo_err=None,
               pool=None, verbose: bool = False, first: str | None = None,
               planned=None) -> Outcome:
    """Build what is out of date (everything with `force`). Call with the lock held.
    `first`: a publication whose units go before all others (the one `serve` shows)."""
    echo_err = echo_err or (lambda m: print(m, file=sys.stderr))
    outcome = Outcome()
    current, todo = planned or plan(project, entries, variant, force)
    for entry in current:
        echo(f"{entry.id}: up to date -> {project.shown(entry.output(variant))}")
        outcome.up_to_date.append(entry.id)
    if not todo:
        return outcome
    remove_leftovers(project.dist)
    started = time.perf_counter()
    progress = Progress(len(todo), echo)
    settings, packages = deps.settings(project, variant), deps.packages()
    tasks = []
    for entry, reason in todo:
        if entry.error is None:
            deps.forget(project, entry.id, variant)    # never outlives the PDF it vouched for
            progress.line(f"{entry.id}: building" + (f" ({reason})" if verbose else ""))
        tasks.append(Task(entry, variant, out=entry.output(variant), force=force,
                          first=entry.id == first))
    for task, result in run_tasks(project, tasks, jobs, pool):
        _report(project, task.entry, result, variant, progress, outcome, echo_err, settings,
                packages)
    outcome.seconds = time.perf_counter() - started
    return outcome


@dataclass
class Task:
    """One publication to build in one variant (`out`, `version`, `cache`: see pipeline)."""
    entry: Entry
    variant: str
    out: Path | None = None
    version: str | None = None
    cache: bool = True
    force: bool = False
    first: bool = False             # before every other task, in the pool too


def run_tasks(project, tasks: list[Task], jobs: int | None = None, pool=None):
    """Build the tasks concurrently, the largest publication first: each in a thread of this
    process, their render units in one worker pool. Yields (task, (status, value)) as each
    finishes; status is done (value: the pipeline's Result), failed (a BuildError) or
    internal (a traceback). Ctrl-C stops the workers and is raised here."""
    from .workers import Pool

    own_pool = pool is None
    pool = pool or Pool(jobs, project.settings.unit_timeout)
    tasks = sorted(tasks, key=lambda t: (t.first, t.entry.size), reverse=True)
    threads = ThreadPoolExecutor(max_workers=max(1, len(tasks)), thread_name_prefix="build")
    try:
        futures = {threads.submit(_build_one, project, task, pool): task for task in tasks}
        for future in as_completed(futures):
            yield futures[future], future.result()
    except BaseException:
        pool.terminate()                    # unblocks the threads: their renders fail
        threads.shutdown(wait=True, cancel_futures=True)
        raise
    threads.shutdown(wait=True)
    if own_pool:
        pool.close()


def _build_one(project, task: Task, pool):
    """One publication, in a thread; its errors come back as data."""
    from .pipeline import build_publication
    from .workers import InternalError, WorkerDied

    entry = task.entry
    if entry.error is not None:
        return ("failed", entry.error)
    try:
        return ("done", build_publication(project, entry.path, task.variant, out=task.out,
                                          version=task.version, pool=pool, cache=task.cache,
                                          force=task.force, first=task.first))
    except BuildError as exc:
        return ("failed", exc)
    except WorkerDied as exc:
        return ("failed", BuildError(str(exc), entry.path))
    except OSError as exc:
        fault = EnvironmentFault.from_os_error(exc)
        if fault is None:
            return ("internal", traceback.format_exc())
        return ("failed", fault)
    except InternalError as exc:
        return ("internal", str(exc))
    except Exception:  # noqa: BLE001 - an internal error is reported, not raised
        return ("internal", traceback.format_exc())


def _report(project, entry: Entry, result, variant: str, progress: Progress,
            outcome: Outcome, echo_err, settings: dict, packages: dict) -> None:
    status, value = result
    out = entry.output(variant)
    if status == "done":
        deps.store(project, entry.id, variant, value.inputs, value.output, value.pages, value.date,
                   settings, packages)
        for message in value.warnings:
            echo_err(f"{entry.id}: warning: {message}")
        warn = f", {len(value.warnings)} warnings" if value.warnings else ""
        units = (f", {value.rendered} of {value.units} units laid out" if value.units > 1
                 else "")
        progress.finished(f"{entry.id}: done, {value.pages} pages, {value.seconds:.1f} s"
                          f"{units}{warn} -> {project.shown(out)}")
        outcome.built.append(entry.id)
        outcome.results[entry.id] = value
        return
    message = str(value)
    kept = mark_stale(out, message.splitlines()[-1] if message else "")
    note = f" (previous {project.shown(out)} kept, it is STALE)" if kept else ""
    if status == "failed":
        progress.finished(f"{entry.id}: failed{note}")
        echo_err(message)
        outcome.failed.append((entry.id, message))
        if isinstance(value, EnvironmentFault):
            outcome.environment.append((entry.id, message))
    else:
        progress.finished(f"{entry.id}: internal error{note}")
        outcome.internal.append((entry.id, message))


def write_log(project, outcome: Outcome) -> None:
    log = log_path(project)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("\n".join(f"{i}:\n{tb}" for i, tb in outcome.internal), encoding="utf-8")


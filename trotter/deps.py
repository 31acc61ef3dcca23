"""What a build read, recorded while it ran, and the up-to-date check that trusts only that.

Every stage that reads a file reads it through `read_bytes` (the sources, the document
model, the template loader, WeasyPrint's URL fetcher in the worker processes). While a build
runs, a `Recorder` is active in its thread and notes each file with the size, modification
time and SHA-256 of the bytes that were read. A successful build stores that list in
`dist/.cache/<variant>/<id>.json` together with the settings it ran with, the versions of the
packages that shape a PDF, the build code that was loaded, the listings it looked at (the
series of cahiers) and its source date.

`check` re-examines exactly that list, without parsing Markdown or importing WeasyPrint: size
and modification time first, the content hash only when they differ. A lost or corrupt entry
only costs a rebuild.

The source date of a publication is `SOURCE_DATE_EPOCH` when it is set, else the time of the
last commit that touched one of its recorded inputs, else a fixed date. A commit that touches
none of a publication's inputs leaves its date, and so its bytes, alone.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import os
import subprocess
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

VERSION = 4                        # of the cache entries: an older one means "build"
FIXED_DATE = 1767225600            # 2026-01-01T00:00:00Z: no commit touched the inputs
#: the packages whose version shapes a PDF (layout, fonts, hyphenation, Markdown, PDF writing)
PACKAGES = ("weasyprint", "pydyf", "pypdf", "pillow", "fonttools", "tinycss2", "cssselect2",
            "pyphen", "markdown-it-py", "mdit-py-plugins", "jinja2", "pyyaml",
            "fontpkg-literata", "fontpkg-source-sans-3", "fontpkg-source-code-pro")
#: modules that run builds but take no part in what a PDF contains: editing them rebuilds
#: nothing. Every other `trotter` module loaded by a build is one of its inputs.
ORCHESTRATION = frozenset({
    "trotter.cli", "trotter.runner", "trotter.workers", "trotter.watch", "trotter.serve",
    "trotter.preview_page", "trotter.proof", "trotter.diff", "trotter.release",
    "trotter.report", "trotter.check", "trotter.scaffold", "trotter.specimen"})


@dataclass
class Record:
    """One file as a build read it."""
    path: str            # relative to the repository when inside it, else absolute
    size: int
    mtime_ns: int
    sha256: str

    def row(self) -> list:
        return [self.path, self.size, self.mtime_ns, self.sha256]


def shown(path: Path, root: Path) -> str:
    """A path as recorded: relative to the project's root when inside it, else absolute."""
    path = Path(path)
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)


def absolute(name: str, root: Path) -> Path:
    path = Path(name)
    return path if path.is_absolute() else root / path


@dataclass
class Recorder:
    """The files, listings and code one build of the project in `root` read, and the files
    it wrote beside its PDF (the imposed sheets): outputs too, checked like the PDF by the
    up-to-date check. Names are relative to `root` when inside it."""
    root: Path
    files: dict[str, Record] = field(default_factory=dict)
    listings: dict[str, list[str]] = field(default_factory=dict)
    outputs: list[Path] = field(default_factory=list)

    def wrote(self, path: Path) -> None:
        if Path(path) not in self.outputs:
            self.outputs.append(Path(path))

    def add(self, record: Record) -> None:
        self.files.setdefault(record.path, record)

    def add_rows(self, rows) -> None:
        for row in rows:
            self.add(Record(*row))

    def listing(self, name: str, paths) -> None:
        self.listings[name] = sorted(shown(p, self.root) for p in paths)

    def paths(self) -> list[Path]:
        return [absolute(name, self.root) for name in self.files]


_current: contextvars.ContextVar[Recorder | None] = contextvars.ContextVar("recorder",
                                                                          default=None)


@contextmanager
def recording(root: Path):
    """Record every file read through `read_bytes` in this thread until the block ends
    (named relative to `root`, the project's)."""
    recorder = Recorder(Path(root))
    token = _current.set(recorder)
    try:
        yield recorder
    finally:
        _current.reset(token)


def current() -> Recorder | None:
    return _current.get()


def read_bytes(path: Path, recorder: Recorder | None = None) -> bytes:
    """Read a file; the active recorder (or `recorder`) notes what was read.

    The size and time are taken before reading and the hash of the bytes read: a file saved
    during the build is seen as changed by the next check, never as current."""
    path = Path(path)
    stat = path.stat()
    data = path.read_bytes()
    recorder = recorder or _current.get()
    if recorder is not None:
        recorder.add(Record(shown(path, recorder.root), stat.st_size, stat.st_mtime_ns,
                            hashlib.sha256(data).hexdigest()))
    return data


def write_json(path: Path, data, indent: int | None = None) -> None:
    """Write a JSON file whole or not at all: a temporary file beside it (`.<name>.*.tmp`,
    which runner.remove_leftovers clears after a killed command), then a rename."""
    write_atomic(path, json.dumps(data, indent=indent).encode("utf-8"))


def write_atomic(path: Path, data: bytes) -> None:
    """Write a file whole or not at all (a temporary file beside it, then a rename); what
    the machine refuses is an OSError that names `path`."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror, str(path)) from None


# -- what else shapes a PDF ------------------------------------------------------------------

def _canonical(name: str) -> str:
    return name.lower().replace("-", "_").replace(".", "_")


def _installed() -> dict[str, str]:
    """Versions from the `NAME-VERSION.dist-info` folders on sys.path: what
    importlib.metadata would find first, at a fraction of its start-up cost."""
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if name.endswith(".dist-info") and "-" in name:
                project, _, version = name[:-len(".dist-info")].partition("-")
                found.setdefault(_canonical(project), version)
    return found


@lru_cache(maxsize=1)
def _packages() -> tuple:
    versions = {"python": ".".join(map(str, sys.version_info[:3]))}
    installed = _installed()
    for name in PACKAGES:
        version = installed.get(_canonical(name))
        if version is None:                   # not a plain dist-info (an egg, a zip): ask
            from importlib import metadata
            try:
                version = metadata.version(name)
            except metadata.PackageNotFoundError:
                version = "absent"
        versions[name] = version
    return tuple(versions.items())


def packages() -> dict[str, str]:
    """The versions of the packages that shape a PDF (and Python's), read once."""
    return dict(_packages())


def code_files(modules=None) -> list[Path]:
    """The build code loaded in this process: every `trotter` module but the orchestration."""
    modules = sys.modules if modules is None else modules
    files = []
    for name, module in list(modules.items()):
        if (name == "trotter" or name.startswith("trotter.")) and name not in ORCHESTRATION:
            file = getattr(module, "__file__", None)
            if file:
                files.append(Path(file))
    return sorted(files)


_code_memo: dict[tuple[Path, Path], list] = {}
_data_rows: dict[str, list] = {}


def note_data(rows) -> None:
    """Files the build code read for itself, outside any one stage (colour.py: the tokens it
    keeps SVG colours to, read once per process): inputs of the build recording now, and of
    the render running in this worker, reported with its code by the next `code_rows`."""
    for row in rows:
        _data_rows[row[0]] = list(row)
    recorder = _current.get()
    if recorder is not None:
        recorder.add_rows(rows)


#: the EPUB writer's modules: a PDF built in the same process did not run them
EPUB_CODE = frozenset({"trotter.epub", "trotter.epubxhtml"})


def code_rows(root: Path, exclude=frozenset()) -> list:
    """The build code loaded in this process as input records, as it was when it was
    imported (a long-lived process, serve or a worker, runs the code it loaded, whatever is
    saved later; a module saved during a build is recorded as the code that ran); and the
    data files the code read for itself since the last call (`note_data`). `exclude`:
    modules loaded here that the build did not use (EPUB_CODE)."""
    from . import IMPORTED

    rows = []
    modules = {k: v for k, v in sys.modules.items() if k not in exclude}
    for path in code_files(modules):
        if (root, path) not in _code_memo:
            known = IMPORTED.get(str(path))
            if known is None:           # loaded some other way (a zip, a frozen module)
                recorder = Recorder(root)
                read_bytes(path, recorder)
                _code_memo[root, path] = next(iter(recorder.files.values())).row()
            else:
                _code_memo[root, path] = [shown(path, root), *known]
        rows.append(_code_memo[root, path])
    data = list(_data_rows.values())          # noted since the last call: this task's
    _data_rows.clear()
    return rows + data


def settings(project, variant: str) -> dict:
    """The environment a build depends on: the variant and the CMYK profile chosen."""
    from .variants import get as variant_of

    return {"variant": variant,
            "profile": str(project.profile) if variant_of(variant).colour == "cmyk" else None,
            "source_date_epoch": os.environ.get("SOURCE_DATE_EPOCH") or None}


# -- the source date ---------------------------------------------------------------------------

def _epoch_from_env() -> int | None:
    value = os.environ.get("SOURCE_DATE_EPOCH", "")
    return int(value) if value.isdigit() else None


def source_dates(project, inputs: dict[str, list[Path]]) -> dict[str, int]:
    """The source date of each publication (id -> seconds): SOURCE_DATE_EPOCH, else the time of
    the last commit that touched one of its inputs, else FIXED_DATE. One `git log` for all."""
    fixed = _epoch_from_env()
    if fixed is not None:
        return {key: fixed for key in inputs}
    wanted = {key: {p for p in (_relative(path, project.root) for path in paths) if p}
              for key, paths in inputs.items()}
    union = sorted(set().union(*wanted.values())) if wanted else []
    dates = {key: FIXED_DATE for key in inputs}
    if not union:
        return dates
    head = _head(project.root)
    question = hashlib.sha256(json.dumps([head, {k: sorted(v) for k, v in wanted.items()}],
                                         sort_keys=True).encode()).hexdigest()
    cached = _load_dates(project, question) if head else None
    if cached is not None and set(cached) == set(dates):
        return cached
    try:
        out = subprocess.run(
            ["git", "-C", str(project.root), "-c", "core.quotepath=off", "log", "--format=%x00%ct",
             "--name-only", "--no-renames", "--", *union],
            capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return dates
    if out.returncode != 0:
        return dates
    left = {key for key, files in wanted.items() if files}
    for block in out.stdout.split("\0")[1:]:            # newest commit first
        lines = block.strip().splitlines()
        if not lines or not lines[0].isdigit():
            continue
        when, files = int(lines[0]), set(lines[1:])
        for key in list(left):
            if wanted[key] & files:
                dates[key] = when
                left.discard(key)
        if not left:
            break
    if head:
        _store_dates(project, question, dates)
    return dates


def _dates_file(project) -> Path:
    return project.cache / "source-dates.json"


def _head(root: Path) -> str | None:
    """The commit checked out, read from .git without starting git (None when unsure: then
    git is asked and nothing is cached). The history behind a commit never changes, so the
    dates found for one commit and one set of inputs hold until HEAD moves."""
    git = root / ".git"
    try:
        head = (git / "HEAD").read_text(encoding="ascii").strip()
        if not head.startswith("ref: "):
            return head if len(head) == 40 else None
        ref = head[5:]
        loose = git / ref
        if loose.is_file():
            sha = loose.read_text(encoding="ascii").strip()
            return sha if len(sha) == 40 else None
        for line in (git / "packed-refs").read_text(encoding="ascii").splitlines():
            if line.endswith(" " + ref) and len(line) == 41 + len(ref):
                return line[:40]
    except (OSError, UnicodeDecodeError):   # a worktree's .git file, no repository at all
        return None
    return None


def _load_dates(project, question: str) -> dict[str, int] | None:
    try:
        return dict(json.loads(_dates_file(project).read_text(encoding="utf-8"))[question])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _store_dates(project, question: str, dates: dict[str, int]) -> None:
    """Keep the answer beside the last few others: a build asks for its own publication, a
    no-op build for all of them, and neither should push the other out."""
    try:
        memo = json.loads(_dates_file(project).read_text(encoding="utf-8"))
        memo = memo if isinstance(memo, dict) else {}
    except (OSError, ValueError):
        memo = {}
    memo.pop(question, None)
    memo = dict(list(memo.items())[-31:])
    memo[question] = dates
    try:
        write_json(_dates_file(project), memo)
    except OSError:
        pass                                   # a cache only


def _relative(path, root: Path) -> str | None:
    """A path relative to the repository (recorded names already are), or None outside it."""
    if isinstance(path, str) and not path.startswith("/"):
        return path
    path = Path(path)
    return shown(path, root) if path.is_relative_to(root) else None


def source_date(project, paths) -> int:
    return source_dates(project, {"x": list(paths)})["x"]


# -- cache entries -----------------------------------------------------------------------------

def entry_path(project, pub_id: str, variant: str) -> Path:
    return project.cache / variant / f"{pub_id}.json"


def load(project, pub_id: str, variant: str) -> dict | None:
    try:
        entry = json.loads(entry_path(project, pub_id, variant).read_text(encoding="utf-8"))
        return entry if isinstance(entry, dict) and entry.get("version") == VERSION else None
    except (OSError, ValueError):
        return None


def store(project, pub_id: str, variant: str, recorder: Recorder, output: Path, pages: int,
          date: int, settings_: dict, packages_: dict) -> None:
    """After a successful build: what it read, with the output it made."""
    path = entry_path(project, pub_id, variant)
    root = project.root
    data = output.read_bytes()
    entry = {"version": VERSION, "id": pub_id, "variant": variant, "date": date, "pages": pages,
             "output": {"path": shown(output, root), "bytes": len(data),
                        "sha256": hashlib.sha256(data).hexdigest()},
             "settings": settings_, "packages": packages_,
             "inputs": [r.row() for r in sorted(recorder.files.values(), key=lambda r: r.path)],
             "listings": recorder.listings,
             "outputs": [_output_row(out, root) for out in recorder.outputs]}
    write_json(path, entry, indent=1)


def _output_row(path: Path, root: Path) -> list:
    stat = path.stat()
    return [shown(path, root), stat.st_size, stat.st_mtime_ns,
            hashlib.sha256(path.read_bytes()).hexdigest()]


def changed_output(rows, root: Path) -> str | None:
    """The first other output (an imposed sheet) that is gone or not as this build wrote it."""
    return changed_input(rows, root, "was changed by hand")


def forget(project, pub_id: str, variant: str) -> None:
    entry_path(project, pub_id, variant).unlink(missing_ok=True)


def inputs_of(project, entry: dict) -> list[Path]:
    return [absolute(row[0], project.root) for row in entry.get("inputs", [])]


def changed_input(rows, root: Path, changed: str = "changed") -> str | None:
    """The first recorded file that is missing or whose content changed, else None."""
    for name, size, mtime_ns, sha in rows:
        path = absolute(name, root)
        try:
            stat = path.stat()
        except OSError:
            return f"{name} is gone"
        if stat.st_size == size and stat.st_mtime_ns == mtime_ns:
            continue
        try:
            if stat.st_size != size or hashlib.sha256(path.read_bytes()).hexdigest() != sha:
                return f"{name} {changed}"
        except OSError:
            return f"{name} cannot be read"
    return None


def why_stale(project, entry: dict | None, output: Path, settings_: dict, packages_: dict,
              date: int | None) -> str | None:
    """Why the publication must be built again, or None when its PDF is current."""
    if entry is None:
        return "never built (or its cache entry is gone)"
    if not output.is_file():
        return "no PDF"
    if output.with_name(output.name + ".STALE").exists():
        return "the last build failed"
    try:
        if output.stat().st_size != entry["output"]["bytes"]:
            return "the PDF was changed by hand"
        if entry["settings"] != settings_:
            return "other settings (variant, CMYK profile or SOURCE_DATE_EPOCH)"
        if entry["packages"] != packages_:
            return "other package versions"
        if date is not None and entry["date"] != date:
            return "a commit touched its inputs (new source date)"
        for name, listed in entry.get("listings", {}).items():
            if sorted(shown(p, project.root) for p in listing(project, name)) != listed:
                return f"{name} changed"
        return (changed_output(entry.get("outputs", []), project.root)
                or changed_input(entry["inputs"], project.root))
    except (KeyError, TypeError, ValueError):
        return "unreadable cache entry"


#: listings a build can depend on: name -> how to list it now in a project
LISTINGS = {"cahiers/*/publication.yml": lambda project: sorted(project.cahiers.glob(
    "*/publication.yml"))}


def listing(project, name: str) -> list[Path]:
    return LISTINGS[name](project) if name in LISTINGS else []

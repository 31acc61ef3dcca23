"""Releases: every publication, print and screen, and the imposed sheets in one folder.

`release("1.2.0")` builds from the sources, never from dist/ or the build cache, into
dist/release/1.2.0/:

    talenten-trotter-boek-1.2.0-print.pdf     talenten-trotter-boek-1.2.0-screen.pdf
    samen-onderweg-1.2.0-print.pdf            samen-onderweg-1.2.0-screen.pdf
    samen-onderweg-1.2.0-boekje-a4.pdf        top10-kaart-1.2.0-drukvel-a3.pdf
    top10-kaart-1.2.0-print.pdf               top10-kaart-1.2.0-screen.pdf
    cahier-01-vervoer-de-leie-1.2.0-print.pdf ...  (cahiers: id + slug of the title)
    manifest.json                             SHA256SUMS

The version is in each colophon ("Versie 1.2.0", rendered by the templates) and in the
document information dictionary of every PDF (`/Version`). Nothing is released unless every
publication builds and passes preflight: the files are written into a temporary folder beside
the target, which is renamed into place only at the end. Built twice from the same commit, a
release is byte-identical: each publication's source date comes from the last commit that
touched its inputs, the JSON has sorted keys and no time of now, and every PDF goes through
`finishing.reproducible`. The build runs through the same orchestrator as `build.py build`
(runner.py: the lock, the worker pool, keep-going), without the build cache. A working tree
with uncommitted changes is refused, unless `allow_dirty`: then the manifest says
`"dirty": true`.

A release can also be made in parts, one machine per publication (the release workflow's
matrix): `release_part(version, ids, out)` builds the same files of some publications with a
part manifest (part.json: commit, version, source dates, the package versions, the CMYK
profile's hash), and `gather(version, parts, out)` checks that the parts agree and are
complete and writes manifest.json and SHA256SUMS: the gathered release is byte for byte the
release built on one machine.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

from pypdf import PdfReader
from pypdf.generic import DictionaryObject, NameObject, TextStringObject

from . import finishing
from .errors import BuildError
from .impose import imposed
from .preflight import inspect
from .runner import Task, catalog, run_tasks, select
from .sources import PublicationConfig, load_config, slug
from .variants import VARIANTS as ALL_VARIANTS, get as variant_of

#: publication id -> the base of its file names; any other publication (every cahier) is
#: named `<id>-<slug of the title>`, so a new cahier needs no change here
BASE_NAMES = {
    "book": "talenten-trotter-boek",
    "brochure": "samen-onderweg",
    "card": "top10-kaart",
}
#: imposition (trotter.impose) -> the word in the file name
IMPOSED_NAMES = {"booklet-a4": "boekje-a4", "sheet-a3": "drukvel-a3"}
SEMVER = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")
MANIFEST, SUMS, PART = "manifest.json", "SHA256SUMS", "part.json"
PART_FORMAT = 1                     # of part.json; gather refuses any other
MM = 72 / 25.4


@dataclass(frozen=True)
class Edition:
    """One file the pipeline builds of a publication for a release (the variant, its file
    suffix, the kinds of publication that have it: None for every kind)."""
    variant: str
    suffix: str = ".pdf"
    kinds: frozenset[str] | None = None

    def of(self, config: PublicationConfig) -> bool:
        return self.kinds is None or config.kind in self.kinds


#: What a release holds of each publication, in manifest order: every edition of
#: trotter.variants (print, screen, and the EPUB of every kind but the card). The imposed
#: sheets come from the print edition (trotter.impose).
EDITIONS = tuple(Edition(v.name, v.suffix, v.kinds) for v in ALL_VARIANTS.values())
VARIANTS = tuple(e.variant for e in EDITIONS)


def editions(config: PublicationConfig) -> list[Edition]:
    """The editions released of this publication."""
    return [e for e in EDITIONS if e.of(config)]


@dataclass
class Release:
    """A finished release: its folder and the manifest's entry of every PDF in it."""
    version: str
    folder: Path
    files: list[dict] = field(default_factory=list)
    seconds: float = 0.0


# -- names ---------------------------------------------------------------------------------

def check_version(version: str) -> str:
    """The version if it is `X.Y.Z` (semantic versioning, no leading zeros, no `v`)."""
    if not SEMVER.fullmatch(version or ""):
        raise BuildError(f"version `{version}` is not X.Y.Z (for example 1.2.0; "
                         "no leading `v`, no leading zeros)")
    return version


def base_name(config: PublicationConfig) -> str:
    """`talenten-trotter-boek`, `top10-kaart`, `cahier-01-vervoer-de-leie`, ..."""
    if config.id in BASE_NAMES:
        return BASE_NAMES[config.id]
    title = slug(config.title)
    return f"{config.id}-{title}" if title else config.id


def file_name(config: PublicationConfig, version: str, variant: str) -> str:
    """The released file name; `variant` is an edition (print, screen) or an imposition
    (`booklet-a4`)."""
    suffix = next((e.suffix for e in EDITIONS if e.variant == variant), ".pdf")
    return f"{base_name(config)}-{version}-{IMPOSED_NAMES.get(variant, variant)}{suffix}"


def default_folder(project, version: str) -> Path:
    return project.dist / "release" / version


# -- the release ---------------------------------------------------------------------------

def release(project, version: str, out: Path | str | None = None, force: bool = False,
            jobs: int | None = None, echo: Callable[[str], None] = print,
            ids: Sequence[str] | None = None, allow_dirty: bool = False) -> Release:
    """Build every publication (print, screen, imposed sheets) into `out`, by default
    dist/release/<version>/, with manifest.json and SHA256SUMS. Call with the build lock held.

    Raises BuildError, and leaves no release folder, when the version is not X.Y.Z, the
    folder exists (without `force`), the working tree has uncommitted changes (without
    `allow_dirty`), a publication fails to build or preflight finds a problem. `ids`
    restricts the release to some publications (for the tests).
    """
    started = time.perf_counter()
    version = check_version(version)
    target = Path(out).absolute() if out else default_folder(project, version)
    _refuse_existing(project, target, force)
    dirty = _refuse_dirty(project, allow_dirty)
    entries, configs = _prepare(project, ids, version)

    def fill(staging: Path) -> list[dict]:
        with tempfile.TemporaryDirectory(prefix="trotter-release-") as work:
            files = _build_all(project, entries, configs, version, Path(work), staging,
                               jobs, echo)
        _write_release(staging, version, _commit(project), bool(dirty), files)
        return files

    files = _staged(target, force, fill)
    seconds = time.perf_counter() - started
    echo(f"released {version}{' (from a working tree with uncommitted changes)' if dirty else ''}"
         f": {len(files)} files, {MANIFEST} and {SUMS} in {project.shown(target)} ({seconds:.0f} s)")
    return Release(version, target, files, seconds)


def release_part(project, version: str, ids: Sequence[str], out: Path | str, force: bool = False,
                 jobs: int | None = None, echo: Callable[[str], None] = print,
                 allow_dirty: bool = False) -> Release:
    """Build the release files of the publications `ids` into `out` with a part manifest
    (part.json): the files, and what must be the same on every machine that builds a part
    of one release (commit, version, package versions, CMYK profile). `gather` makes the
    release of the parts. The same refusals as `release`."""
    started = time.perf_counter()
    version = check_version(version)
    if not ids:
        raise BuildError("a part needs the publications it holds (--only ID…)")
    target = Path(out).absolute()
    _refuse_existing(project, target, force, PART)
    dirty = _refuse_dirty(project, allow_dirty)
    entries, configs = _prepare(project, ids, version)

    def fill(staging: Path) -> list[dict]:
        with tempfile.TemporaryDirectory(prefix="trotter-release-") as work:
            files = _build_all(project, entries, configs, version, Path(work), staging,
                               jobs, echo)
        dates: dict[str, dict] = {c.id: {} for c in configs}
        for entry in files:
            if entry["variant"] != "imposed":           # made from the print edition
                dates[entry["id"]][entry["variant"]] = entry["source_date"]
        part = {"part": PART_FORMAT, "version": version, "commit": _commit(project),
                "dirty": bool(dirty), "publications": {
                    pub_id: {"source_date": max(by_edition.values()),
                             "source_date_utc": _utc(max(by_edition.values())),
                             "editions": by_edition} for pub_id, by_edition in dates.items()},
                "shaped_by": shaped_by(project), "files": files}
        _write_json(staging / PART, part)
        return files

    files = _staged(target, force, fill, PART)
    seconds = time.perf_counter() - started
    echo(f"built the part {', '.join(c.id for c in configs)} of release {version}: "
         f"{len(files)} files and {PART} in {project.shown(target)} ({seconds:.0f} s)")
    return Release(version, target, files, seconds)


def shaped_by(project) -> dict:
    """What shapes the bytes of a file besides the commit: the versions of the packages
    (deps.PACKAGES, Python's) and the SHA-256 of the CMYK output profile."""
    from .deps import packages
    from .icc import require_profile

    return {"packages": packages(),
            "profile_sha256": hashlib.sha256(require_profile(project).read_bytes()).hexdigest()}


def gather(project, version: str, parts: Sequence[Path | str], out: Path | str | None = None,
           force: bool = False, echo: Callable[[str], None] = print,
           allow_dirty: bool = False) -> Release:
    """The release made of parts (folders written by `release_part`), into `out` (default
    dist/release/<version>/): manifest.json and SHA256SUMS exactly as `release` writes them.

    Refused, naming the part, when a part is not a part of this release: another version or
    commit (this checkout's), other package versions or CMYK profile than the first part,
    a publication in two parts, a file whose bytes are not those its part.json lists, a
    file it does not list; and when a publication of `build.py list` is in no part."""
    started = time.perf_counter()
    version = check_version(version)
    if not parts:
        raise BuildError("nothing to gather: name the part folders (--gather DIR…)")
    target = Path(out).absolute() if out else default_folder(project, version)
    _refuse_existing(project, target, force)
    folders = [Path(p) for p in parts]
    for n, folder in enumerate(folders):
        if any(os.path.realpath(folder) == os.path.realpath(f) for f in folders[:n]):
            raise BuildError("this part is named twice", folder)
    commit = _commit(project)
    loaded = [(folder, _read_part(folder, version, commit)) for folder in folders]
    dirty = [folder for folder, part in loaded if part["dirty"]]
    if dirty and not allow_dirty:
        raise BuildError("built from a working tree with uncommitted changes: gather with "
                         "--allow-dirty (the manifest then says so)", dirty[0])
    first_folder, first = loaded[0]
    holder: dict[str, Path] = {}
    names: dict[str, Path] = {}
    for folder, part in loaded:
        if part["shaped_by"] != first["shaped_by"]:
            raise BuildError(f"built with {_differences(part['shaped_by'], first['shaped_by'])} "
                             f"than {first_folder}: every part of a release is built the same "
                             "way (the locked packages, the same CMYK profile)", folder)
        for pub_id in part["publications"]:
            if pub_id in holder:
                raise BuildError(f"{pub_id} is also in {holder[pub_id]}: a publication "
                                 "belongs to one part", folder)
            holder[pub_id] = folder
        for entry in part["files"]:
            if entry["file"] in names:
                raise BuildError(f"{entry['file']} is also in {names[entry['file']]}", folder)
            names[entry["file"]] = folder
    entries = catalog(project)
    known = [e.id for e in entries]
    unknown = [i for i in holder if i not in known]
    if unknown:
        raise BuildError(f"{', '.join(unknown)}: not a publication of this checkout "
                         f"(`build.py list`)", holder[unknown[0]])
    missing = [i for i in known if i not in holder]
    if missing:
        raise BuildError(f"incomplete release: {', '.join(missing)} in no part (gather a part "
                         f"of every publication `build.py list` shows)")
    configs = {e.id: e.config for e in entries}
    for folder, part in loaded:
        for pub_id in part["publications"]:
            config = configs[pub_id] or load_config(project, entries[known.index(pub_id)].path)
            held = {f["variant"] for f in part["files"] if f["id"] == pub_id}
            lacking = [e.variant for e in editions(config) if e.variant not in held]
            if lacking:
                raise BuildError(f"{pub_id} without its {', '.join(lacking)} edition", folder)
    order = {pub_id: n for n, pub_id in enumerate(known)}
    files = sorted((entry for _, part in loaded for entry in part["files"]),
                   key=lambda f: (order[f["id"]], _rank(f["variant"]), f["file"]))

    def fill(staging: Path) -> list[dict]:
        for entry in files:
            shutil.copyfile(names[entry["file"]] / entry["file"], staging / entry["file"])
        _write_release(staging, version, first["commit"], bool(dirty), files)
        return files

    _staged(target, force, fill)
    seconds = time.perf_counter() - started
    echo(f"gathered {version} from {len(loaded)} parts: {len(files)} files, {MANIFEST} and "
         f"{SUMS} in {project.shown(target)} ({seconds:.1f} s)")
    return Release(version, target, files, seconds)


def _read_part(folder: Path, version: str, commit: str | None) -> dict:
    """part.json of `folder`, checked against the files beside it."""
    path = folder / PART
    try:
        part = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BuildError(f"not a part of a release: no {PART} (build parts with "
                         "`build.py release --version X.Y.Z --only ID… --out DIR`)",
                         folder) from None
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise BuildError(f"cannot read it: {exc}", path) from None
    types = {"part": int, "version": str, "dirty": bool, "publications": dict,
             "shaped_by": dict, "files": list}
    if (not isinstance(part, dict) or part.get("part") != PART_FORMAT or "commit" not in part
            or not all(isinstance(part.get(k), t) for k, t in types.items())):
        raise BuildError(f"not a part manifest this version of build.py reads (format "
                         f"{PART_FORMAT})", path)
    if part["version"] != version:
        raise BuildError(f"a part of release {part['version']}, not {version}", folder)
    if part["commit"] != commit:
        raise BuildError(f"built from commit {part['commit']}, but this checkout is at "
                         f"{commit}: every part of a release is built from one commit", folder)
    listed = set()
    for entry in part["files"]:
        name = entry.get("file") if isinstance(entry, dict) else None
        if (not isinstance(name, str) or "/" in name or name.startswith(".") or name == PART
                or entry.get("id") not in part["publications"]
                or not isinstance(entry.get("variant"), str)):
            raise BuildError(f"a file entry that is not one: {entry!r}", path)
        listed.add(name)
        try:
            data = (folder / name).read_bytes()
        except OSError:
            raise BuildError(f"{name} is listed in {PART} but missing", folder) from None
        if len(data) != entry.get("bytes") or hashlib.sha256(data).hexdigest() != entry.get(
                "sha256"):
            raise BuildError(f"{name} is not the file {PART} lists (other bytes: changed "
                             "after it was built)", folder)
    extra = sorted(p.name for p in folder.iterdir() if p.name != PART and p.name not in listed)
    if extra:
        raise BuildError(f"files {PART} does not list: {', '.join(extra)}", folder)
    return part


def _differences(one: dict, other: dict) -> str:
    if one.get("profile_sha256") != other.get("profile_sha256"):
        return "another CMYK profile"
    a, b = one.get("packages", {}), other.get("packages", {})
    names = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    return "other package versions (" + ", ".join(
        f"{n} {a.get(n, 'absent')} vs {b.get(n, 'absent')}" for n in names) + ")"


def _prepare(project, ids, version: str):
    entries = _select(project, ids)
    configs = [e.config or load_config(project, e.path) for e in entries]
    _refuse_name_clashes(configs, version)
    _refuse_stylesheet_problems(project, configs)
    return entries, configs


def _refuse_dirty(project, allow_dirty: bool) -> list[str]:
    dirty = _dirty(project)
    if dirty and not allow_dirty:
        raise BuildError("the working tree has uncommitted changes "
                         f"({', '.join(dirty[:3])}{' …' if len(dirty) > 3 else ''}): commit "
                         "them, or release with --allow-dirty (the manifest then says so)")
    return dirty


def _staged(target: Path, force: bool, fill: Callable[[Path], list[dict]],
            marker: str = MANIFEST) -> list[dict]:
    """`fill` a staging folder beside the target, then rename it into place; nothing is left
    when `fill` fails."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp",
                                    dir=target.parent))
    try:
        files = fill(staging)
        _move_into_place(staging, target, force)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return files


def _write_release(staging: Path, version: str, commit: str | None, dirty: bool,
                   files: list[dict]) -> None:
    """manifest.json and SHA256SUMS: the same bytes whether built whole or gathered."""
    _write_json(staging / MANIFEST, {"version": version, "commit": commit, "dirty": dirty,
                                     "files": files})
    (staging / SUMS).write_text(checksums(staging), encoding="utf-8")


def _write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
                    encoding="utf-8")


def _rank(variant: str) -> int:
    order = VARIANTS + ("imposed",)
    return order.index(variant) if variant in order else len(order)


def _select(project, ids: Sequence[str] | None):
    entries = catalog(project)
    if ids is None:
        return entries
    try:
        return select(entries, (ids,) if isinstance(ids, str) else tuple(ids))
    except KeyError as exc:
        raise BuildError(f"unknown publication {', '.join(exc.args[0])}; known: "
                         f"{', '.join(e.id for e in entries)}") from None


def _refuse_stylesheet_problems(project, configs) -> None:
    """A release is strict: a declaration WeasyPrint would ignore is an error."""
    from .stylecheck import check_stylesheets

    problems = check_stylesheets(project, sorted({c.stylesheet for c in configs}))
    if problems:
        raise BuildError("nothing was released: the stylesheets have problems\n"
                         + "\n".join(str(p) for p in problems))


def _dirty(project) -> list[str]:
    """Uncommitted changes (and new files git does not ignore) in the working tree. When git
    cannot tell (no git, not a checkout), that is said as a change: never "clean" unseen."""
    try:
        out = subprocess.run(["git", "-C", str(project.root), "status", "--porcelain"],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        return [f"(git could not be asked: {exc})"]
    if out.returncode != 0:
        return [f"(git status failed: {out.stderr.strip().splitlines()[-1] if out.stderr.strip() else out.returncode})"]
    return [line[3:] for line in out.stdout.splitlines() if line.strip()]


def _refuse_existing(project, target: Path, force: bool, marker: str = MANIFEST) -> None:
    if target == project.root or project.root.is_relative_to(target):
        raise BuildError("this folder holds the repository: choose another release folder",
                         target)
    if not os.path.lexists(target):
        return
    if not force:
        raise BuildError("the release folder already exists: use --force to replace it",
                         target)
    if target.is_dir() and any(target.iterdir()) and not (target / marker).is_file():
        what = "release" if marker == MANIFEST else "part of a release"
        raise BuildError(f"not a {what} folder (no {marker}); --force only replaces a "
                         f"{what}: choose another folder", target)


def _refuse_name_clashes(configs: list[PublicationConfig], version: str) -> None:
    seen: dict[str, str] = {}
    for config in configs:
        name = file_name(config, version, "print")
        if name in seen:
            raise BuildError(f"{config.id} and {seen[name]} would both be released as {name}: "
                             "give them different titles", config.path, config.lines.get("title"))
        seen[name] = config.id


def _build_all(project, entries, configs, version: str, work: Path, staging: Path,
               jobs: int | None, echo) -> list[dict]:
    """Build print and screen of every publication from the sources (no build cache), through
    the orchestrator; stamp, preflight and impose each PDF as it arrives. Returns the
    manifest entries in publication order."""
    order = {c.id: n for n, c in enumerate(configs)}
    by_id = {c.id: c for c in configs}
    tasks = [Task(e, ed.variant, out=work / ed.variant / f"{e.id}{ed.suffix}",
                  version=version, cache=False)
             for e, c in zip(entries, configs) for ed in editions(c)]
    files: list[dict] = []
    failed: list[str] = []
    for task, (status, value) in run_tasks(project, tasks, jobs):
        config, variant = by_id.get(task.entry.id), task.variant
        if status != "done":
            echo(f"{task.entry.id} ({variant}): failed")
            failed.append(f"{task.entry.id} ({variant}): {value}")
            continue
        for message in value.warnings:
            echo(f"{config.id} ({variant}): warning: {message}")
        files += _finish(config, variant, value.output, version, staging, failed, echo,
                         value.date, value.pages)
    if failed:
        raise BuildError(f"nothing was released: {len(failed)} of {len(tasks)} files failed\n"
                         + "\n".join(sorted(failed)))
    return sorted(files, key=lambda f: (order[f["id"]], _rank(f["variant"]), f["file"]))


def _finish(config: PublicationConfig, variant: str, built: Path, version: str,
            staging: Path, failed: list[str], echo, date: int, pages: int) -> list[dict]:
    """Stamp the version, preflight, write into the staging folder; from a print PDF also
    the imposed sheets. Returns the manifest entries written. An EPUB carries its version
    from the build (colophon, package metadata) and is written as it is: its `pages` are the
    print pages its page list maps."""
    if variant_of(variant).backend == "epub":
        name = file_name(config, version, variant)
        echo(f"{name}: ok, {pages} print pages in its page list")
        return [_write(staging, name, built.read_bytes(), config, variant, pages,
                       "reflowable", date)]
    data = with_version(built.read_bytes(), version)
    name = file_name(config, version, variant)
    report = inspect(data, config, variant)
    if report.problems:
        echo(f"{name}: preflight FAIL")
        failed.append(f"{name}: preflight failed:\n    " + "\n    ".join(report.problems))
        return []
    entries = [_write(staging, name, data, config, variant, report.pages, " ".join(config.trim),
                      date)]
    echo(f"{name}: ok, {report.pages} pages")
    sheets = imposed(config.kind, data) if variant_of(variant).imposition else None
    if sheets:
        suffix, sheet_data = sheets
        sheet_data = with_version(finishing.reproducible(sheet_data), version)
        reader = PdfReader(io.BytesIO(sheet_data))
        box = reader.pages[0].mediabox
        size = f"{float(box.width) / MM:.0f}mm {float(box.height) / MM:.0f}mm"
        name = file_name(config, version, suffix)
        entry = _write(staging, name, sheet_data, config, "imposed", len(reader.pages), size,
                       date)
        entry["imposition"] = suffix
        entries.append(entry)
        echo(f"{name}: ok, {len(reader.pages)} sheet sides")
    return entries


def _write(folder: Path, name: str, data: bytes, config: PublicationConfig, variant: str,
           pages: int, trim: str, date: int) -> dict:
    (folder / name).write_bytes(data)
    return {"file": name, "id": config.id, "kind": config.kind, "variant": variant,
            "title": config.title, "pages": pages, "trim": trim, "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(), "source_date": date,
            "source_date_utc": _utc(date)}


def checksums(folder: Path) -> str:
    """SHA256SUMS text of every file in `folder` but itself: `<sha256>  <name>`, sorted by
    name, checkable with `sha256sum -c SHA256SUMS` inside the folder."""
    lines = []
    for path in sorted(folder.iterdir(), key=lambda p: p.name):
        if path.is_file() and path.name != SUMS:
            lines.append(f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.name}\n")
    return "".join(lines)


def _move_into_place(staging: Path, target: Path, force: bool) -> None:
    """Rename the finished staging folder to the target; with `force`, the old release is
    moved aside first and removed only once the new one is in place."""
    mask = os.umask(0)
    os.umask(mask)
    staging.chmod(0o777 & ~mask)            # mkdtemp made it private
    old = None
    if os.path.lexists(target):
        if not force:
            raise BuildError("the release folder appeared during the build: use --force to "
                             "replace it", target)
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old",
                                    dir=target.parent))
        os.replace(target, old / target.name)
    try:
        os.rename(staging, target)
    except BaseException:
        if old is not None:                 # put the previous release back
            os.replace(old / target.name, target)
            shutil.rmtree(old, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# -- the version in the PDF metadata ---------------------------------------------------------

STARTXREF = re.compile(rb"startxref\s+(\d+)\s+%%EOF\s*$")


def with_version(data: bytes, version: str) -> bytes:
    """The PDF with `/Version (X.Y.Z)` in its document information dictionary.

    Written as an incremental update: the original bytes stay as they are and a new Info
    object plus a cross-reference section (a table or a stream, like the file's own) are
    appended, so PDF/X and tagged-PDF structures are not rewritten. Then
    `finishing.reproducible`: the file identifiers are derived from the content.
    """
    reader = PdfReader(io.BytesIO(data))
    trailer = reader.trailer
    found = STARTXREF.search(data[-2048:])
    if not found:
        raise BuildError("PDF without a final startxref: cannot add the version")
    prev = int(found.group(1))
    size = int(trailer["/Size"])
    info = DictionaryObject()
    if "/Info" in trailer:
        ref = trailer.raw_get("/Info")
        number, generation = ref.idnum, ref.generation
        info.update(ref.get_object())
    else:
        number, generation, size = size, 0, size + 1
    info[NameObject("/Version")] = TextStringObject(version)
    root = trailer.raw_get("/Root")
    ids = list(finishing.TRAILER_ID.finditer(data))
    refs = (f"/Root {root.idnum} {root.generation} R /Info {number} {generation} R "
            f"/Prev {prev}").encode() + (b" " + ids[-1].group(0) if ids else b"")

    body = bytearray(data if data.endswith(b"\n") else data + b"\n")
    info_at = len(body)
    text = io.BytesIO()
    info.write_to_stream(text)
    body += f"{number} {generation} obj\n".encode() + text.getvalue() + b"\nendobj\n"
    xref_at = len(body)
    if data[prev:prev + 4] == b"xref":      # a cross-reference table: append a table
        body += (f"xref\n{number} 1\n{info_at:010d} {generation:05d} n \n"
                 f"trailer\n<< /Size {size} ").encode() + refs + b" >>\n"
    else:                                   # a cross-reference stream: append a stream
        xref_number = size
        rows = (b"\x01" + info_at.to_bytes(4, "big") + generation.to_bytes(2, "big")
                + b"\x01" + xref_at.to_bytes(4, "big") + (0).to_bytes(2, "big"))
        body += (f"{xref_number} 0 obj\n<< /Type /XRef /Size {size + 1} "
                 f"/Index [{number} 1 {xref_number} 1] /W [1 4 2] ").encode() + refs
        body += f" /Length {len(rows)} >>\nstream\n".encode() + rows + b"\nendstream\nendobj\n"
    body += f"startxref\n{xref_at}\n%%EOF\n".encode()
    return finishing.reproducible(bytes(body))


def pdf_version(data: bytes) -> str | None:
    """The `/Version` in a PDF's document information dictionary, if any."""
    metadata = PdfReader(io.BytesIO(data)).metadata or {}
    value = metadata.get("/Version")
    return str(value) if value is not None else None


# -- small helpers ---------------------------------------------------------------------------

def _commit(project) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(project.root), "rev-parse", "HEAD"],
                             capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else None


def _utc(date: int) -> str:
    return datetime.fromtimestamp(date, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


"""The whole build of one publication, top to bottom: `build_publication`.

sources -> document model -> HTML per render unit -> layout and PDF per unit (WeasyPrint, in
worker processes) -> page rules -> finishing (merge, date) -> preflight -> atomic write ->
imposition. Every file a stage reads is recorded (deps.py) and returned with the result, so
the next build knows exactly what this PDF is made from.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import deps
from .errors import BuildError, EnvironmentFault
from .sources import PublicationConfig
from .variants import get as variant_of


@dataclass
class Result:
    id: str
    output: Path
    pages: int = 0
    seconds: float = 0.0
    status: str = "done"           # done | up to date | failed
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    date: int = 0
    units: int = 1
    rendered: int = 0              # units laid out in this build (the others were cached)
    inputs: deps.Recorder | None = None
    page_map: dict | None = None   # anchors -> print page counters (the EPUB's page list)


def output_path(project, pub_id: str, variant: str = "print") -> Path:
    """dist/<folder>/<id><suffix> of the variant (variants.py), in the project."""
    edition = variant_of(variant)
    return project.dist / edition.folder / edition.output_name(pub_id)


def imposed_path(pub_id: str, suffix: str, out: Path) -> Path:
    """dist/imposed/<id>-<suffix>.pdf beside dist/print/ (or beside a custom output)."""
    return out.parent.parent / "imposed" / f"{pub_id}-{suffix}.pdf"


def build_publication(project, config: PublicationConfig | Path, variant: str = "print",
                      out: Path | None = None, version: str | None = None, pool=None,
                      cache: bool = True, force: bool = False, whole: bool = False,
                      first: bool = False, seed: bool = True) -> Result:
    """Build one publication of `project` (project.Project), given by its configuration or
    its publication.yml, into `out` (default dist/<variant>/<id>.pdf).

    `pool`: the worker pool (workers.Pool) to lay out in; without one, a pool of one worker
    is started for this build. `cache`: use and keep laid-out units in dist/.cache/units/
    (a release builds without); `force`: lay out every unit again, starting from the last
    build's page map. `whole`: lay the publication out as one document (what its units
    must equal). `first`: its units go before those of every other publication in the pool.
    The source date comes from its recorded inputs (deps.source_date). `seed`: with no page
    map yet, lay out all units but the last together (False: each unit on its own, as
    always after)."""
    from . import finishing, preflight, units
    from .model import build_document
    from .sources import load_config
    from .workers import Pool

    path = config.path if isinstance(config, PublicationConfig) else Path(config)
    if variant_of(variant).backend == "epub":          # the reader edition: trotter/epub.py
        from .epub import build_epub

        return build_epub(project, path, out=out, version=version, pool=pool, cache=cache)
    clock = _Clock()
    own_pool = pool is None
    pool = pool or Pool(1, project.settings.unit_timeout)
    try:
        with deps.recording(project.root) as inputs:
            config = load_config(project, path)                           # 1. sources
            out = out or output_path(project, config.id, variant)
            doc = build_document(config)                                  # 2. document model
            clock.lap("sources")
            cache_ = units.UnitCache(
                units.cache_folder(project, config.id, variant) if cache else None,
                project.root, reuse=not force)
            layout = _Layout(pool, finishing.pdf_settings(project, variant), config, cache_,
                             first)
            laid = layout.run(doc, variant, version, inputs,              # 3. HTML per unit
                              whole or variant_of(variant).whole, clock, seed)  # 4. layout + PDF
            pages = sum(len(u.pages) for u in laid)                       #    + page rules
            if config.pages.get("exact") and pages > config.pages["exact"]:
                raise _overflow(config, laid, inputs)
            finishing.check_page_rules(config, pages)
            data = finishing.finish([u.pdf for u in laid], variant, layout.date,  # 5.
                                    [p for u in laid for p in u.pages])
            clock.lap("finishing")
            problems = preflight.check_pdf(data, config, variant,       # 6. preflight
                                           _page_checks(laid, preflight))
            if problems:
                raise BuildError("preflight failed:\n  " + "\n  ".join(problems), config.path)
            clock.lap("preflight")
            atomic_write(out, data)
            if variant_of(variant).imposition and config.data.get("imposition", True):  # 7.
                from .impose import imposed

                sheets = imposed(config.kind, data)
                if sheets:
                    sheet_path = imposed_path(config.id, sheets[0], out)
                    sheet = finishing.reproducible(sheets[1])
                    problems = preflight.check_sheets(sheet, config)
                    if problems:
                        raise BuildError(f"preflight of {project.shown(sheet_path)} failed:\n  "
                                         + "\n  ".join(problems), config.path)
                    atomic_write(sheet_path, sheet)
                    inputs.wrote(sheet_path)          # an output: gone or changed -> build
            clock.lap("imposition")
            inputs.add_rows(deps.code_rows(project.root, deps.EPUB_CODE))   # the code it ran
            cache_.keep(layout.hint())
    finally:
        if own_pool:
            pool.close()
    clock.laps["layout"] = sum(u.layout for u in laid if not u.cached)
    clock.laps["write"] = sum(u.write for u in laid if not u.cached)
    warnings = list(dict.fromkeys(layout.warnings + [w for u in laid for w in u.warnings]))
    return Result(config.id, out, pages=pages, seconds=clock.total(), warnings=warnings,
                  timings=clock.laps, date=layout.date, units=len(layout.parts),
                  rendered=sum(not u.cached for u in laid), inputs=inputs,
                  page_map=layout.hint())


class _Layout:
    """Lays out the units of one publication in the pool, until the page rules and the
    source date agree with what was laid out."""

    def __init__(self, pool, settings: dict, config: PublicationConfig, cache, first=False):
        self.pool, self.settings, self.config, self.cache = pool, settings, config, cache
        self.project = config.project
        self.render_settings = {k: v for k, v in settings.items() if k != "variant"}
        self.priority = -source_size(config) - (1 << 40) * first   # the largest first
        self.packages = json.dumps(deps.packages(), sort_keys=True)
        self.warnings: list[str] = []
        self.memory = None
        self.queued: list = []                  # the pool's futures of this publication
        self.parts, self.groups, self.extra, self.date = [], None, 0, 0

    def run(self, doc, variant: str, version, inputs, whole: bool, clock,
            seed: bool = True) -> list:
        """HTML per unit, laid out; notes pages added as the page rules ask, the colophon
        year as the source date says. With no page map yet (a first build), all units but
        the last are laid out together: that gives the map for the next build."""
        from . import finishing, units
        from .html import environment, render_units

        env = environment(self.project)
        hint = self.cache.hint()
        self.extra = hint.get("extra_pages", 0)
        seed = seed and not hint and not whole
        provisional = deps.source_date(self.project, inputs.paths())
        tried: set = set()
        while True:
            def render(only=None):
                return render_units(doc, variant, provisional, self.extra, version, only=only,
                                    env=env)

            html, names = render()
            self.parts = units.split(html, [] if whole else names, lambda n: render(n)[0])
            self.groups = None
            if seed and len(self.parts) > 1:
                main = units.group("main", self.parts[:-1], render(names[:-1])[0])
                if set(main.targets) & self.parts[-1].ids:    # it refers into the last one:
                    self.groups = [self.parts]                # lay out all together
                    todo = [units.group("all", self.parts, html)]
                else:
                    self.groups = [self.parts[:-1], self.parts[-1:]]
                    todo = [main, self.parts[-1]]
            else:
                todo = self.parts
            clock.lap("html")
            try:
                laid = self.settle(todo)
            except units.Unsplittable as exc:   # a unit the CSS does not start on a new page
                whole = True
                self.warnings.append(f"render unit `{exc}` does not start with a page "
                                     "break: laid out whole")
                continue
            clock.lap("layout")
            total = sum(len(u.pages) for u in laid)
            wanted = finishing.padding_pages(self.config, total - self.extra)
            if wanted != self.extra and (self.extra, wanted) not in tried:
                tried.add((self.extra, wanted))  # notes pages (in the last unit) to reach
                self.extra = wanted              # the page multiple: more, or fewer
                continue
            finishing.padding_pages(self.config, total)      # within the maximum?
            self.date = deps.source_date(self.project, inputs.paths() + [
                self.project.absolute(row[0]) for row in self.inputs])
            if _year(self.date) != _year(provisional):
                provisional = self.date          # the year printed in the colophon
                continue
            inputs.add_rows(self.inputs)
            self.laid = laid
            return laid

    def hint(self) -> dict | None:
        """The page map of this build, for the next one."""
        from . import units

        if self.groups:
            return units.hint_from_groups(list(zip(self.groups, self.laid)),
                                          extra_pages=self.extra)
        if len(self.parts) > 1:
            return units.hint_from_units({u.name: laid for u, laid in
                                          zip(self.parts, self.laid)}, extra_pages=self.extra)
        return {"extra_pages": self.extra} if self.extra else None

    def key(self, html: str, lead: int) -> str:
        options = json.dumps(self.settings, sort_keys=True, default=str)
        return hashlib.sha256(f"{lead}\0{options}\0{self.packages}\0".encode()
                              + html.encode()).hexdigest()

    def submit(self, unit, placement, html: str):
        from concurrent.futures import Future

        from .units import Laid, Unsplittable

        future = self.pool.submit("render", dict(
            html=html, source=str(self.config.path), unit=unit.name, lead=placement.lead,
            preflight=(self.config.trim, self.settings["variant"]), **self.render_settings),
            priority=self.priority)
        result: Future = Future()

        def done(f):
            try:
                r = f.result()
            except BaseException as exc:  # noqa: BLE001 - handed on to the build
                result.set_exception(exc)
                return
            if not r["forced"]:
                result.set_exception(Unsplittable(unit.name))
                return
            result.set_result(Laid(placement, r["pdf"], [tuple(p) for p in r["pages"]],
                                   r["anchors"], r["strings"], r["inputs"], r["warnings"],
                                   r["preflight"], r["anchor_pages"], r["strings_by_page"],
                                   r["layout"], r["write"]))

        future.add_done_callback(done)
        self.queued.append(future)
        return result

    def settle(self, parts) -> list:
        from .units import Memory, settle

        self.memory = self.memory or Memory()
        try:
            laid = settle(parts, self.submit, self.key, self.cache, self.pool.idle,
                          self.config.path, self.memory)
        except BaseException:
            for future in self.queued:       # a failed publication's waiting units go
                future.cancel()
            raise
        finally:
            self.queued = [f for f in self.queued if not f.done()]
        self.inputs = [row for unit in laid for row in unit.inputs]
        return laid


def _overflow(config: PublicationConfig, laid, inputs) -> BuildError:
    """Text that does not fit on the exact number of pages: by how much, every file on the
    publication, and the one where the overflowing text comes from."""
    import io
    import re

    from pypdf import PdfReader

    exact, texts = config.pages["exact"], []
    for unit in laid:
        texts += [page.extract_text() or "" for page in PdfReader(io.BytesIO(unit.pdf)).pages]
    over = [line.strip() for text in texts[exact:] for line in text.splitlines()
            if line.strip()]
    project = config.project
    files = [project.absolute(name) for name in inputs.files if name.endswith(".md")]
    shown = [project.shown(f) for f in files]

    def words(text: str) -> str:
        return re.sub(r"[^a-z0-9]+", " ", text.lower().replace("-\n", "")).strip()

    source = None
    for line in over:                     # the first overflowing line found in a source
        needle = words(line)[:40]
        if len(needle) < 12:
            continue
        source = next((project.shown(f) for f in files
                       if needle in words(f.read_text(encoding="utf-8", errors="replace"))),
                      None)
        if source:
            break
    where = f"; the overflow starts in {source}" if source else ""
    return BuildError(
        f"the text does not fit on {exact} pages: it needs {len(texts)}, about {len(over)} "
        f"lines too many{where}; shorten one of {', '.join(shown)}",
        config.path, config.lines.get("pages"))


def _page_checks(laid, preflight):
    """The page checks the workers made, numbered as in the whole PDF."""
    reports, offset = [], 0
    for unit in laid:
        reports.append(preflight.Report.from_data(unit.preflight, offset))
        offset += len(unit.pages)
    return preflight.merge_reports(reports)


def source_size(config: PublicationConfig) -> int:
    """The bytes of a publication's sources: the largest is built first."""
    return sum(p.stat().st_size for p in config.all_sources() if p.exists())


def _year(date: int) -> int:
    return time.gmtime(date).tm_year


def atomic_write(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, then rename: never a half-written PDF."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        fault = (EnvironmentFault.from_os_error(OSError(exc.errno, exc.strerror, str(path)))
                 if isinstance(exc, OSError) else None)
        if fault is None:
            raise
        kept = " (the previous file was kept)" if path.exists() else ""
        raise EnvironmentFault(f"{fault.message}{kept}") from None
    stale_marker(path).unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def stale_marker(path: Path) -> Path:
    return path.with_name(path.name + ".STALE")


def mark_stale(path: Path, reason: str) -> bool:
    """After a failed build: keep the previous PDF, but mark it as stale. True if it exists."""
    if path.exists():
        try:
            stale_marker(path).write_text(f"This PDF is stale: the last build failed.\n"
                                          f"{reason}\n", encoding="utf-8")
        except OSError:
            pass          # a full disk: its cache entry is gone, so the next build rebuilds it
        return True
    return False


class _Clock:
    def __init__(self):
        self.start = self.last = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = self.laps.get(name, 0.0) + now - self.last
        self.last = now

    def total(self) -> float:
        return time.perf_counter() - self.start

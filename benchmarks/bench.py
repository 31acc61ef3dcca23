#!/usr/bin/env python3
"""Benchmark of the print pipeline (issue 6): `python benchmarks/bench.py` or `make bench`.

Measures, in one run, the median of several runs of:

- a cold full build (`build.py build --force`, every publication) with `-j 1` and `-j 2`;
- a no-op build (`build.py build` with everything up to date);
- the rebuild after editing one cahier (a newline appended to cahiers/02-distrivaart/cahier.md;
  only cahier-02 may be rebuilt) and after editing one shared stylesheet (a comment appended to
  styles/base.css, `-j 2`; every publication is rebuilt). Restoring the file is a change too,
  so edit and restore alternate and every rebuild is a sample;
- the book's build per stage (`build_publication(...).timings`, in a fresh process, output in a
  temporary folder) and, as the yardstick, plain WeasyPrint rendering the same final HTML in a
  fresh process: `weasyprint.HTML(string=html, base_url=<repository>/).render().write_pdf()`
  with WeasyPrint's default URL fetcher and the same PDF options (pdf/x-4, identifier);
- peak memory: the maximum resident set size of the largest process of each build (the build
  process and its `-j` workers), from `os.wait4()`'s rusage of the build process, which on Linux
  includes every descendant it waited for. The maximum over all build runs is reported.

Whole-process times are wall-clock (`time.perf_counter`) around the subprocess, so they include
Python's start-up and imports. It prints a table and writes benchmarks/results.json.

The builds run in the real checkout (dist/). Every edited file is restored byte for byte (and
its mtime) in a `finally` block, and the benchmark ends with a normal `build.py build`, so
dist/print is left fully built. Options: `--repeat N` (default 3), `--quick` (= `--repeat 1`),
`--json PATH`, `--markdown` (also print the table as Markdown), `--show` (print the table of
the last results.json as Markdown, without measuring).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
BUILD = ROOT / "build.py"
BOOK = ROOT / "book" / "publication.yml"
CAHIER, CAHIER_ID = ROOT / "cahiers" / "02-distrivaart" / "cahier.md", "cahier-02"
STYLESHEET = ROOT / "styles" / "base.css"
RESULTS = HERE / "results.json"
LOCKED = "another build is running"
LOCK_WAIT = 300          # seconds to wait for somebody else's build to finish
DONE = re.compile(r"^(\S+): done\b", re.M)
UP_TO_DATE = re.compile(r"^(\S+): up to date\b", re.M)
MB = 1024                # ru_maxrss is in kB on Linux

TARGET_NOOP = 0.3        # s
TARGET_PARALLEL = 0.65   # -j 2 / -j 1
TARGET_OUTSIDE = 0.10    # share of the book build outside WeasyPrint's layout and writing
TARGET_MEMORY = 400      # MB
WEASYPRINT_STAGES = ("layout", "write")
STAGES = ("sources", "html", "layout", "write", "finishing", "preflight", "imposition")


class BenchError(Exception):
    pass


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------
# Running processes: wall time and the peak RSS of the largest process in the tree


@dataclass
class Run:
    seconds: float
    rss_kb: int
    returncode: int
    stdout: str
    stderr: str
    cpu_seconds: float = 0.0      # user + system CPU of the whole waited-for tree
    others_share: float = 0.0     # CPU used by other processes, as a share of all CPUs

    @property
    def built(self) -> set[str]:
        return set(DONE.findall(self.stdout))

    @property
    def up_to_date(self) -> set[str]:
        return set(UP_TO_DATE.findall(self.stdout))


def run_process(args: list[str]) -> Run:
    """Run `args` in the repository; wall time and ru_maxrss of the whole waited-for tree."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        busy_before = busy_cpu_seconds()
        start = time.perf_counter()
        # Own process group: an interrupted benchmark stops the build and its workers.
        proc = subprocess.Popen(args, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=err, start_new_session=True)
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            _stop(proc)
            raise
        seconds = time.perf_counter() - start
        busy = busy_cpu_seconds() - busy_before
        proc.returncode = os.waitstatus_to_exitcode(status)
        cpu = usage.ru_utime + usage.ru_stime
        others = max(0.0, busy - cpu) / (seconds * (os.cpu_count() or 1)) if busy >= 0 else 0.0
        out.seek(0)
        err.seek(0)
        return Run(seconds, usage.ru_maxrss, proc.returncode,
                   out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"),
                   cpu, others)


def busy_cpu_seconds() -> float:
    """CPU time all processes of the machine used so far (/proc/stat), -1 if unknown."""
    try:
        with open("/proc/stat") as fh:
            fields = [int(v) for v in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return -1.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)      # idle + iowait
    busy = sum(fields[:8]) - idle                                   # without guest time
    return busy / os.sysconf("SC_CLK_TCK")


def _stop(proc: subprocess.Popen) -> None:
    """Interrupt the process group we started (SIGINT: the build cleans up), then kill it."""
    for sig, wait in ((signal.SIGINT, 30), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def build(*args: str, check: bool = True) -> Run:
    """`build.py build ARGS`; waits for (and does not time) somebody else's build."""
    waited = 0.0
    while True:
        run = run_process([sys.executable, str(BUILD), "build", *args])
        if run.returncode != 0 and LOCKED in run.stderr and waited < LOCK_WAIT:
            if waited == 0:
                log("another build holds the lock; waiting for it")
            time.sleep(2)
            waited += 2 + run.seconds
            continue
        if check and run.returncode != 0:
            raise BenchError(f"`build.py build {' '.join(args)}` failed with exit code "
                             f"{run.returncode}:\n{run.stdout}{run.stderr}")
        return run


# ------------------------------------------------------------------------------------------
# Editing a file, always restored


class Edit:
    """Append `suffix` to a file and restore it byte for byte (and its mtime)."""

    def __init__(self, path: Path, suffix: bytes):
        self.path, self.suffix = path, suffix
        self.original = path.read_bytes()
        stat = path.stat()
        self.times = (stat.st_atime_ns, stat.st_mtime_ns)
        self.edited = False

    def apply(self) -> None:
        self.edited = True
        with open(self.path, "ab") as fh:
            fh.write(self.suffix)

    def restore(self) -> None:
        if not self.edited:
            return
        current = self.path.read_bytes()
        if current == self.original + self.suffix:
            self.path.write_bytes(self.original)
        elif current != self.original:
            # Somebody else changed the file meanwhile: take out only our own suffix.
            if current.endswith(self.suffix):
                self.path.write_bytes(current[:-len(self.suffix)])
            log(f"warning: {self.path.relative_to(ROOT)} was changed by someone else during "
                f"the benchmark; removed only the benchmark's edit")
            self.edited = False
            return
        os.utime(self.path, ns=self.times)
        self.edited = False


# ------------------------------------------------------------------------------------------
# Children: the book per stage, and the yardstick, each in a fresh process


def child_stages(html_path: Path) -> dict:
    """Build the book in this process into a temporary folder; report build_publication's
    timings and write the final HTML (and the PDF options) for the yardstick."""
    sys.path.insert(0, str(ROOT))
    start = time.perf_counter()
    from trotter import finishing, pdf, pipeline, preflight  # noqa: F401 - imports WeasyPrint
    from trotter.sources import load_config
    imports = time.perf_counter() - start

    laid_out: list[str] = []
    layout = pdf.layout

    def recording_layout(html, *args, **kwargs):
        laid_out.append(html)
        return layout(html, *args, **kwargs)

    pdf.layout = recording_layout
    config = load_config(BOOK)
    with tempfile.TemporaryDirectory() as tmp:
        result = pipeline.build_publication(config, "print", out=Path(tmp) / "print" / "book.pdf")
        size = result.output.stat().st_size
    html = laid_out[-1]
    options = finishing.pdf_settings("print", html)["options"]
    html_path.write_text(html, encoding="utf-8")
    html_path.with_suffix(".json").write_text(json.dumps(
        {"pdf_variant": options["pdf_variant"],
         "pdf_identifier": options["pdf_identifier"].decode()}), encoding="utf-8")
    return {"imports": imports, "timings": result.timings, "total": result.seconds,
            "pages": result.pages, "bytes": size, "layouts": len(laid_out),
            "warnings": len(result.warnings)}


def child_yardstick(html_path: Path) -> dict:
    """Plain WeasyPrint: the same HTML, base URL and PDF options, default URL fetcher."""
    html = html_path.read_text(encoding="utf-8")
    options = json.loads(html_path.with_suffix(".json").read_text(encoding="utf-8"))
    start = time.perf_counter()
    import weasyprint
    imports = time.perf_counter() - start

    class Count(logging.Handler):
        counts = {"errors": 0, "warnings": 0}

        def emit(self, record):
            self.counts["errors" if record.levelno >= logging.ERROR else "warnings"] += 1

    logger = logging.getLogger("weasyprint")
    logger.addHandler(Count(logging.WARNING))
    start = time.perf_counter()
    document = weasyprint.HTML(string=html, base_url=str(ROOT) + "/").render()
    rendered = time.perf_counter()
    data = document.write_pdf(pdf_variant=options["pdf_variant"],
                              pdf_identifier=options["pdf_identifier"].encode())
    written = time.perf_counter()
    return {"imports": imports, "render": rendered - start, "write": written - rendered,
            "total": written - start, "pages": len(document.pages), "bytes": len(data),
            **Count.counts}


IGNORED = {"dist", "tests", "benchmarks", "__pycache__", "node_modules"}


def tree_signature() -> dict[Path, tuple[int, int]]:
    """Size and mtime of every file below the repository's folders that a build may read
    (not dist/, tests/, hidden folders): to notice somebody else's edits."""
    found = {}
    for folder in ROOT.iterdir():
        if not folder.is_dir() or folder.name.startswith(".") or folder.name in IGNORED \
                or folder.name.endswith(".egg-info"):
            continue
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames[:] = [d for d in dirnames if not d.startswith(".") and d not in IGNORED]
            for name in filenames:
                path = Path(dirpath) / name
                try:
                    stat = path.stat()
                except OSError:
                    continue
                found[path] = (stat.st_size, stat.st_mtime_ns)
    return found


def changed_files(before: dict, after: dict) -> set[Path]:
    return {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}


def run_child(kind: str, html_path: Path) -> tuple[dict, Run]:
    run = run_process([sys.executable, str(Path(__file__).resolve()), "--child", kind,
                       str(html_path)])
    if run.returncode != 0:
        raise BenchError(f"{kind} child failed with exit code {run.returncode}:\n{run.stderr}")
    return json.loads(run.stdout.strip().splitlines()[-1]), run


# ------------------------------------------------------------------------------------------
# The benchmark


def median(values: list[float]) -> float:
    return statistics.median(values)


def machine() -> dict:
    import importlib.metadata as md

    def version(package):
        try:
            return md.version(package)
        except md.PackageNotFoundError:
            return None

    def git(*args):
        try:
            return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True,
                                  text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None

    status = git("status", "--porcelain") or ""
    return {"cpu_count": os.cpu_count(), "python": platform.python_version(),
            "weasyprint": version("weasyprint"), "pydyf": version("pydyf"),
            "platform": platform.platform(), "machine": platform.machine(),
            "commit": git("rev-parse", "--short", "HEAD"),
            "dirty_files": len(status.splitlines())}


class Bench:
    def __init__(self, repeat: int):
        self.repeat = repeat
        self.edits: list[Edit] = []
        self.samples: dict[str, list] = {}
        self.rss: dict[str, list[int]] = {}
        self.checks: dict[str, list] = {}
        self.publications: set[str] = set()
        self.disturbed: dict[str, int] = {}
        self.cpu: dict[str, list[float]] = {}       # CPU seconds of each timed build
        self.others: dict[str, list[float]] = {}    # other processes' share of the CPUs

    def add(self, name: str, run: Run, value: float | None = None) -> None:
        self.samples.setdefault(name, []).append(run.seconds if value is None else value)
        self.rss.setdefault(name, []).append(run.rss_kb)
        self.cpu.setdefault(name, []).append(round(run.cpu_seconds, 2))
        self.others.setdefault(name, []).append(round(run.others_share, 3))

    def settle(self) -> Run:
        """An untimed normal build: everything up to date before a measurement (somebody may
        have changed a file in the checkout meanwhile); again if files changed during it."""
        for _ in range(5):
            before = tree_signature()
            run = build()
            self.publications |= run.built | run.up_to_date
            self.signature = tree_signature()
            if not changed_files(before, self.signature):
                break
        return run

    # -- the measurements, in an order that needs no extra builds -------------------------

    def sampled(self, name: str, wanted: int, step, edit: Edit | None = None) -> None:
        """Collect `wanted` undisturbed samples of `step(n) -> Run`. A sample is disturbed
        when a build input other than our own edit changed meanwhile (somebody else working
        in the checkout): it is dropped and counted. With an edit, steps alternate edit and
        restore, and stop only with the file restored and built."""
        kept = attempts = 0
        before = self.signature   # taken by settle(), right after its build
        while kept < wanted or (edit is not None and edit.edited):
            if attempts >= 3 * wanted + 6:
                raise BenchError(f"{name}: too many disturbed samples (others keep changing "
                                 f"the sources); run the benchmark when the checkout is quiet")
            run = step(attempts)
            attempts += 1
            after = tree_signature()
            changed = changed_files(before, after) - ({edit.path} if edit else set())
            before = after
            if changed:
                self.disturbed[name] = self.disturbed.get(name, 0) + 1
                log(f"{name}: sample dropped, changed meanwhile by someone else: "
                    f"{', '.join(sorted(str(p.relative_to(ROOT)) for p in changed)[:5])}")
                continue
            if kept < wanted:
                self.add(name, run)
                self.checks.setdefault(f"{name}_rebuilt", []).append(sorted(run.built))
                kept += 1

    def noop(self) -> None:
        log("no-op build")
        self.settle()
        self.sampled("noop", max(self.repeat, 3), lambda n: build())   # cheap: at least 3

    def edit_cahier(self) -> None:
        log(f"edit one cahier ({CAHIER.relative_to(ROOT)})")
        self.settle()
        edit = Edit(CAHIER, b"\n")
        self.edits.append(edit)

        def step(n):
            edit.apply() if n % 2 == 0 else edit.restore()
            return build()

        self.sampled("edit_cahier", self.repeat, step, edit)

    def edit_stylesheet(self) -> None:
        log(f"edit one stylesheet ({STYLESHEET.relative_to(ROOT)}), -j 2")
        self.settle()
        edit = Edit(STYLESHEET, b"\n/* benchmark edit */\n")
        self.edits.append(edit)
        for n in range(self.repeat):
            edit.apply() if n % 2 == 0 else edit.restore()
            run = build("-j", "2")
            self.add("edit_stylesheet", run)
            self.checks.setdefault("edit_stylesheet_rebuilt", []).append(sorted(run.built))
        edit.restore()   # left stale on purpose: the cold builds next rebuild everything

    def stages(self, tmp: Path) -> None:
        log("book per stage, and the yardstick (plain WeasyPrint)")
        html = tmp / "book.html"
        for _ in range(self.repeat):
            stages, run = run_child("stages", html)
            self.samples.setdefault("book_stages", []).append(stages)
            self.rss.setdefault("book_stages", []).append(run.rss_kb)
            self.others.setdefault("book_stages", []).append(round(run.others_share, 3))
            yard, run = run_child("yardstick", html)
            self.samples.setdefault("yardstick", []).append(yard)
            self.rss.setdefault("yardstick", []).append(run.rss_kb)
            self.others.setdefault("yardstick", []).append(round(run.others_share, 3))

    def cold(self) -> None:
        for n in range(self.repeat):              # interleaved, so drift hits both alike
            for jobs in ("1", "2"):
                log(f"cold full build -j {jobs} ({n + 1}/{self.repeat})")
                run = build("-j", jobs, "--force")
                self.add(f"cold_j{jobs}", run)
                self.publications |= run.built
                self.checks.setdefault(f"cold_j{jobs}_rebuilt", []).append(len(run.built))

    def run(self) -> None:
        with tempfile.TemporaryDirectory(prefix="trotter-bench-") as tmp:
            self.noop()
            self.edit_cahier()
            self.edit_stylesheet()
            self.stages(Path(tmp))
            self.cold()

    def cleanup(self) -> None:
        """Restore every edited file, then a normal build: dist/print fully built."""
        problems = []
        for edit in self.edits:
            try:
                edit.restore()
            except OSError as exc:
                problems.append(f"could not restore {edit.path}: {exc}")
        log("final build: leave dist/print up to date")
        final = build(check=False)
        if final.returncode != 0:
            problems.append(f"final `build.py build` failed:\n{final.stdout}{final.stderr}")
        stale = sorted(p.name for p in (ROOT / "dist" / "print").glob("*.STALE"))
        if stale:
            problems.append(f"stale PDFs left in dist/print: {', '.join(stale)}")
        if problems:
            raise BenchError("\n".join(problems))
        self.final = final

    # -- the results ----------------------------------------------------------------------

    def results(self, started: float, load_before) -> dict:
        s, everything = self.samples, sorted(self.publications)
        j1, j2 = median(s["cold_j1"]), median(s["cold_j2"])
        noop = median(s["noop"])
        cahier, style = median(s["edit_cahier"]), median(s["edit_stylesheet"])
        stage_runs = s["book_stages"]
        stage = {name: median([r["timings"].get(name, 0.0) for r in stage_runs])
                 for name in STAGES}
        book_total = median([r["total"] for r in stage_runs])
        outside_runs = [sum(v for k, v in r["timings"].items() if k not in WEASYPRINT_STAGES)
                        / r["total"] for r in stage_runs]
        outside = median(outside_runs)
        outside_s = median([sum(v for k, v in r["timings"].items()
                                if k not in WEASYPRINT_STAGES) for r in stage_runs])
        yard_runs = s["yardstick"]
        yard = {k: median([r[k] for r in yard_runs]) for k in ("render", "write", "total",
                                                                  "imports")}
        book_imports = median([r["imports"] for r in stage_runs])
        vs_yard = median([a["total"] / b["total"] for a, b in zip(stage_runs, yard_runs)])
        vs_yard_proc = median([(a["total"] + a["imports"]) / (b["total"] + b["imports"])
                               for a, b in zip(stage_runs, yard_runs)])
        build_rss = max(kb for name, values in self.rss.items()
                        if name not in ("book_stages", "yardstick") for kb in values) / MB
        child_rss = max(self.rss["book_stages"]) / MB
        yard_rss = max(self.rss["yardstick"]) / MB

        cahier_ok = all(b == [CAHIER_ID] for b in self.checks["edit_cahier_rebuilt"])
        style_ok = all(b == everything for b in self.checks["edit_stylesheet_rebuilt"])
        noop_ok = all(not b for b in self.checks["noop_rebuilt"])
        n = self.repeat
        all_others = [v for values in self.others.values() for v in values]
        others_median, others_max = median(all_others), max(all_others)

        def sec(x):
            return f"{x:.2f} s"

        def verdict(ok):
            return "PASS" if ok else "FAIL"

        rows = [
            ("cold full build, -j 1", sec(j1), "", "1.00", ""),
            ("cold full build, -j 2", sec(j2), f"≤ {TARGET_PARALLEL} × -j 1",
             f"{j2 / j1:.2f}", verdict(j2 <= TARGET_PARALLEL * j1)),
            ("no-op build", sec(noop), f"≤ {TARGET_NOOP} s", f"{noop / j1:.3f}",
             verdict(noop <= TARGET_NOOP and noop_ok)),
            (f"edit one cahier → rebuild ({CAHIER_ID})", sec(cahier),
             f"only {CAHIER_ID} rebuilt", f"{cahier / j1:.2f}", verdict(cahier_ok)),
            ("edit one stylesheet (base.css) → rebuild, -j 2", sec(style),
             f"all {len(everything)} rebuilt", f"{style / j1:.2f}",
             "ok" if style_ok else "UNEXPECTED"),
        ]
        for name in STAGES:
            label = {"layout": "layout (WeasyPrint render)",
                     "write": "PDF writing (WeasyPrint)"}.get(name, name)
            rows.append((f"book: {label}", sec(stage[name]), "",
                         f"{stage[name] / book_total:.1%}", ""))
        rows += [
            ("book: total (build_publication)", sec(book_total), "", "100%", ""),
            ("book: outside WeasyPrint layout + writing", sec(outside_s), "≤ 10 % of build",
             f"{outside:.1%}", verdict(outside <= TARGET_OUTSIDE)),
            ("yardstick: plain WeasyPrint, same HTML", sec(yard["total"]),
             f"render {yard['render']:.2f} + write {yard['write']:.2f}",
             f"{vs_yard:.2f}", ""),
            ("yardstick incl. imports vs book incl. imports",
             sec(yard["total"] + yard["imports"]), f"book {book_total + book_imports:.2f} s",
             f"{vs_yard_proc:.2f}", ""),
            ("peak memory, any build process", f"{build_rss:.0f} MB", f"≤ {TARGET_MEMORY} MB",
             "", verdict(build_rss <= TARGET_MEMORY)),
            ("peak memory, book built in one process", f"{child_rss:.0f} MB", "", "", ""),
            ("peak memory, yardstick", f"{yard_rss:.0f} MB", "", "", ""),
            ("cold full build CPU time, -j 1 / -j 2", f"{median(self.cpu['cold_j1']):.1f} s",
             f"-j 2: {median(self.cpu['cold_j2']):.1f} s", "", ""),
            ("other processes' CPU during the runs", f"{others_median:.0%}",
             "0 % on a quiet machine", f"max {others_max:.0%}",
             "quiet" if others_median < 0.10 else "BUSY: timings inflated"),
        ]
        table = [dict(zip(("measure", "median", "target", "ratio", "result"), row))
                 for row in rows]
        return {
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "machine": machine(), "repeat": n,
            "benchmark_seconds": round(time.perf_counter() - started, 1),
            "load_average": {"before": load_before, "after": list(os.getloadavg())},
            "ratio_column": "cold -j 2 / -j 1; other builds / cold -j 1; book stages: share of "
                            "the book build; yardstick rows: book build / yardstick",
            "methods": {
                "timing": "wall clock (time.perf_counter) around each build.py subprocess, "
                          "median of the samples",
                "cold": "build.py build -j N --force (every publication rebuilt, cache "
                        "ignored); -j 1 and -j 2 interleaved",
                "edits": "append to the file, build, restore, build, ...: every rebuild is a "
                         "sample; the file is restored byte for byte",
                "stages": "build_publication(book, 'print', out=<tmp>).timings in a fresh "
                          "process; imports of trotter/WeasyPrint timed separately",
                "yardstick": "fresh process: weasyprint.HTML(string=<the book's final HTML>, "
                             "base_url=<repo>/).render().write_pdf(pdf_variant='pdf/x-4', "
                             "pdf_identifier=<same>), WeasyPrint's default URL fetcher",
                "memory": "ru_maxrss from os.wait4() of each build process: the largest "
                          "single process of the tree (build process or -j worker), Linux",
                "contention": "other processes' CPU = busy CPU time of the machine "
                              "(/proc/stat) minus the build tree's user+system time (wait4), "
                              "as a share of wall time x CPUs, per run",
            },
            "targets": {"noop_seconds": TARGET_NOOP, "parallel_ratio": TARGET_PARALLEL,
                        "outside_weasyprint_share": TARGET_OUTSIDE,
                        "peak_memory_mb": TARGET_MEMORY,
                        "edit_cahier": f"only {CAHIER_ID} rebuilt"},
            "pass": {"noop": noop <= TARGET_NOOP and noop_ok, "edit_cahier": cahier_ok,
                     "parallel": j2 <= TARGET_PARALLEL * j1,
                     "outside_weasyprint": outside <= TARGET_OUTSIDE,
                     "peak_memory": build_rss <= TARGET_MEMORY},
            "medians": {"cold_j1": j1, "cold_j2": j2, "noop": noop, "edit_cahier": cahier,
                        "edit_stylesheet": style, "book_stages": stage,
                        "book_total": book_total, "book_imports": book_imports,
                        "outside_weasyprint_share": outside, "yardstick": yard,
                        "book_vs_yardstick": vs_yard,
                        "book_vs_yardstick_with_imports": vs_yard_proc},
            "peak_memory_mb": {"build_processes": round(build_rss, 1),
                               "book_in_one_process": round(child_rss, 1),
                               "yardstick": round(yard_rss, 1)},
            "samples": self.samples,
            "rss_kb": self.rss,
            "cpu_seconds": self.cpu,
            "other_processes_cpu_share": self.others,
            "checks": self.checks,
            "disturbed_samples_dropped": self.disturbed,
            "publications": everything,
            "table": table,
        }


# ------------------------------------------------------------------------------------------
# Output


COLUMNS = ("measure", "median", "target", "ratio", "result")


def text_table(results: dict) -> str:
    rows = [dict(zip(COLUMNS, COLUMNS))] + results["table"]
    widths = {c: max(len(r[c]) for r in rows) for c in COLUMNS}
    m = results["machine"]
    lines = [f"Talenten Trotter benchmark: median of {results['repeat']} "
             f"(no-op: of {len(results['samples']['noop'])}); {m['cpu_count']} CPUs, "
             f"Python {m['python']}, WeasyPrint {m['weasyprint']}; "
             f"{results['benchmark_seconds']:.0f} s in all", ""]
    for n, row in enumerate(rows):
        lines.append("  ".join(row[c].ljust(widths[c]) if c in ("measure", "target", "result")
                               else row[c].rjust(widths[c]) for c in COLUMNS).rstrip())
        if n == 0:
            lines.append("  ".join("-" * widths[c] for c in COLUMNS))
    lines += ["", "ratio: " + results["ratio_column"]]
    return "\n".join(lines)


def markdown_table(results: dict) -> str:
    m = results["machine"]
    lines = [f"Median of {results['repeat']} runs on {m['cpu_count']} CPUs, Python {m['python']}, "
             f"WeasyPrint {m['weasyprint']} ({results['date'][:10]}). Ratio: "
             f"{results['ratio_column']}.", "",
             "| " + " | ".join(COLUMNS) + " |",
             "|---|---:|---|---:|---|"]
    for row in results["table"]:
        lines.append("| " + " | ".join(row[c].replace("|", "\\|") for c in COLUMNS) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="runs per measure (default 3)")
    parser.add_argument("--quick", action="store_true", help="one run per measure")
    parser.add_argument("--json", type=Path, default=RESULTS, help="where to write results")
    parser.add_argument("--markdown", action="store_true", help="also print a Markdown table")
    parser.add_argument("--show", action="store_true",
                        help="print the Markdown table of the last results and exit")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "HTML"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        kind, html = args.child
        report = (child_stages if kind == "stages" else child_yardstick)(Path(html))
        print(json.dumps(report))
        return 0
    if args.show:
        print(markdown_table(json.loads(args.json.read_text(encoding="utf-8"))))
        return 0
    repeat = 1 if args.quick else args.repeat
    if repeat < 1:
        parser.error("--repeat must be at least 1")

    def terminate(signum, frame):   # SIGTERM as Ctrl-C: the finally block still restores
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    started, load_before = time.perf_counter(), list(os.getloadavg())
    bench = Bench(repeat)
    try:
        bench.run()
    finally:
        bench.cleanup()
    results = bench.results(started, load_before)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(text_table(results))
    if args.markdown:
        print()
        print(markdown_table(results))
    print(f"\nwritten: {args.json}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("benchmark interrupted (edited files restored)", file=sys.stderr)
        sys.exit(130)

#!/usr/bin/env python3
"""Benchmark of the print pipeline: `python benchmarks/bench.py` or `make bench`.

Everything runs in a scratch copy of the repository (a temporary folder with the sources,
templates, styles, build code, fonts and CMYK profile, committed with git), so the real dist/
and sources are never touched. Measured, as the median of several runs (`--repeat N`,
`--quick` for one), each a whole `build.py` process (Python start-up and imports included):

- the first build of a fresh checkout (no page map yet), `-j 2`;
- a cold full build, `build.py build --force` (every unit laid out again from the kept page
  map), with `-j 1` and `-j 2`;
- a no-op build; a commit that touches only README.md (how many publications it rebuilds);
- the book: a cold build (`build book --force -j 2`) against plain WeasyPrint laying out the
  same HTML in one process (`weasyprint.HTML(...).render().write_pdf()`, the yardstick); and
  a one-sentence edit in a middle chapter, from saving until the book is rebuilt with
  `build.py watch book` running (the edit loop), and as one `build.py build book` process;
- a large cahier made for the benchmark (12 chapters, over 150 A4 pages, padded to a multiple
  of 4), `-j 1` and `-j 2`, against the yardstick on its HTML;
- editing one cahier (only it is rebuilt) and one stylesheet token (the specimen of the book
  rebuilt, as `serve` does first);
- the peak memory of any one process (ru_maxrss of each build's process tree);
- the release in parts (`--only release` measures only this): a whole `build.py release`
  against one `build.py release --only ID` process per publication (each part as a job of
  the release workflow's matrix would build it) and the gathering of the parts, which must
  give the whole release's bytes. One run of each: the longest part against the whole is
  what the fan-out can gain.

It prints a table, writes benchmarks/results.json; `--show` prints the last table as Markdown.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results.json"
COPY = ("trotter", "templates", "styles", "book", "brochure", "card", "cahiers", ".cache",
        "build.py", "README.md", "pyproject.toml")
DONE = re.compile(r"^(\S+): done\b", re.M)
MIDDLE_CHAPTER = "book/03-hr/08-hr-instrumenten.md"
CAHIER = "cahiers/02-distrivaart/cahier.md"

TARGETS = {            # measure -> (comparison, target, description)
    "edit_ratio": ("<=", 0.25, "one-sentence edit in a middle chapter, vs cold book build"),
    "book_vs_plain": ("<=", 0.6, "cold book build -j 2, vs plain WeasyPrint"),
    "large_j1_vs_plain": ("<=", 1.1, "large cahier -j 1, vs plain WeasyPrint"),
    "large_j2_vs_plain": ("<=", 0.6, "large cahier -j 2, vs plain WeasyPrint"),
    "readme_rebuilt": ("<=", 0, "commit touching only README: publications rebuilt"),
    "noop": ("<=", 0.3, "no-op build (s)"),
    "peak_mb": ("<=", 400, "peak memory of any one process (MB)"),
}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass
class Run:
    seconds: float
    rss_mb: float
    stdout: str
    stderr: str

    @property
    def built(self) -> set[str]:
        return set(DONE.findall(self.stdout))


def run(repo: Path, *args: str, check: bool = True) -> Run:
    """A command in the scratch repository: wall time and the peak RSS of its process tree."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(list(args), cwd=repo, stdout=out, stderr=err,
                                stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        result = Run(seconds, usage.ru_maxrss / 1024, out.read().decode(), err.read().decode())
    if check and os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result


def build(repo: Path, *args: str) -> Run:
    return run(repo, sys.executable, "build.py", "build", *args)


def median(values):
    return statistics.median(values)


# -- the scratch repository ------------------------------------------------------------------

def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "b@b",
                        "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "b@b"})


def scratch(base: Path) -> Path:
    repo = base / "repo"
    repo.mkdir()
    for name in COPY:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, repo / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy(source, repo / name)
    (repo / ".gitignore").write_text("/dist/\n/.cache/\n__pycache__/\n")
    large_cahier(repo / "cahiers" / "90-groot")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "bench")
    return repo


SENTENCES = [
    "De ploeg bespreekt elke maandag wat de voorbije week goed liep en wat beter kan.",
    "Een nieuwe collega krijgt een peter die de eerste weken naast hem werkt.",
    "Het competentieprofiel beschrijft in gewone woorden wat een goede medewerker doet.",
    "De leidinggevende luistert eerst en stelt daarna pas vragen over de aanpak.",
    "Wie iets nieuws leert, toont het aan een collega en krijgt daar een paraaf voor.",
    "In de matrix staat per taak wie ze zelfstandig kan en wie ze nog leert.",
    "De directie maakt tijd vrij zodat leren niet na de werkuren hoeft te gebeuren.",
    "Een goed gesprek eindigt met een afspraak die iedereen begrijpt en kan nakijken.",
]


def large_cahier(folder: Path, chapters: int = 12, paragraphs: int = 84) -> None:
    """A cahier of `chapters` chapter files, over 150 A4 pages, padded to a multiple of 4."""
    folder.mkdir(parents=True)
    sources = []
    for n in range(1, chapters + 1):
        name = f"hoofdstuk-{n:02d}.md"
        sources.append(name)
        lines = [f"# Hoofdstuk {n} van de proef {{#groot-{n}}}", ""]
        for p in range(paragraphs):
            text = " ".join(SENTENCES[(p + i + n) % len(SENTENCES)] for i in range(9))
            lines += [text, ""]
            if p % 15 == 7:
                lines += ["::: aanrader Onthouden", SENTENCES[p % len(SENTENCES)], ":::", ""]
            if p % 20 == 11:
                lines += [f"## Een tussenstap {p} {{#groot-{n}-{p}}}", ""]
        lines += [f"Meer in het volgende hoofdstuk (zie [[#groot-{n % chapters + 1}]]).", ""]
        (folder / name).write_text("\n".join(lines), encoding="utf-8")
    (folder / "publication.yml").write_text(
        "id: cahier-90\nkind: cahier\nseries: Talenten Trotter cahier\nnumber: 90\n"
        "title: Grote proef\nlanguage: nl\ntrim: 210mm 297mm\ntemplate: cahier.html.j2\n"
        "stylesheet: cahier.css\npages: {multiple: 4}\nsources:\n"
        + "".join(f"  - {s}\n" for s in sources), encoding="utf-8")


# -- the yardstick: plain WeasyPrint on the same HTML --------------------------------------------

YARDSTICK = """
import sys, time, logging
logging.getLogger("weasyprint").setLevel(logging.CRITICAL)
html = open(sys.argv[1], encoding="utf-8").read()
import weasyprint
start = time.perf_counter()
document = weasyprint.HTML(string=html, base_url=sys.argv[2]).render()
rendered = time.perf_counter()
document.write_pdf(pdf_variant="pdf/x-4", pdf_identifier=b"0" * 32)
print(rendered - start, time.perf_counter() - rendered, len(document.pages))
"""


def yardstick(repo: Path, pub_id: str, repeat: int) -> dict:
    html = run(repo, sys.executable, "build.py", "html", pub_id).stdout.strip()
    runs = [run(repo, sys.executable, "-c", YARDSTICK, str(repo / html), f"{repo}/")
            for _ in range(repeat)]
    values = [tuple(map(float, r.stdout.split())) for r in runs]
    return {"seconds": median(r.seconds for r in runs),
            "render": median(v[0] for v in values), "write": median(v[1] for v in values),
            "pages": int(values[0][2]), "rss_mb": max(r.rss_mb for r in runs)}


class Watch:
    """`build.py watch ID` running in the scratch repository; `wait_for` a line it prints
    (a failed build or a held lock ends the benchmark)."""

    def __init__(self, repo: Path, pub_id: str):
        import queue
        import threading

        self.proc = subprocess.Popen([sys.executable, "build.py", "watch", pub_id], cwd=repo,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: [self.lines.put(line) for line in self.proc.stdout],
                         daemon=True).start()

    def wait_for(self, text: str, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.lines.get(timeout=deadline - time.monotonic())
            if text in line:
                return
            if "failed" in line or "another build is running" in line:
                raise SystemExit(f"watch: {line.strip()}")
        raise SystemExit(f"watch did not say {text!r}")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=60)


def watch_edit(repo: Path, name: str, old: bytes, new: bytes, repeat: int) -> float:
    """`build.py watch book` running (the edit loop): from saving a one-sentence edit until
    the book is rebuilt; saving and restoring in turn, median of `repeat`."""
    watch = Watch(repo, "book")
    path = repo / name
    original = path.read_bytes()
    times = []
    try:
        watch.wait_for("watching for changes")       # said once the file watcher is set up
        for n in range(repeat):
            started = time.monotonic()
            path.write_bytes(original.replace(old, new, 1) if n % 2 == 0 else original)
            watch.wait_for("book: done")
            times.append(time.monotonic() - started)
            watch.wait_for("watching for changes")
    finally:
        path.write_bytes(original)
        watch.stop()
    return median(times)


def tree_rss_mb(pid: int) -> tuple[float, float]:
    """(RSS of the process `pid` and all its descendants, of the largest one) in MB, now."""
    children: dict[int, list[int]] = {}
    rss: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        children.setdefault(int(fields["PPid"]), []).append(int(entry))
        rss[int(entry)] = int(fields.get("VmRSS", "0 kB").split()[0]) / 1024
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo += children.get(current, [])
    sizes = [rss.get(p, 0.0) for p in tree]
    return sum(sizes), max(sizes)


def watch_memory(repo: Path, saves: int = 200) -> dict:
    """`build.py watch card` through `saves` rebuilds (a save, the card rebuilt, and again):
    the RSS of its process tree (watch and its workers) after each rebuild; the peak over
    the first and over the last 20. Memory that stays flat: the two are about the same."""
    watch = Watch(repo, "card")
    path = repo / "card" / "top10.md"
    original = path.read_bytes()
    samples = []
    try:
        watch.wait_for("watching for changes")       # said once the file watcher is set up
        for n in range(saves):
            path.write_bytes(original + f"\n<!-- save {n} -->\n".encode())
            watch.wait_for("card: done")
            watch.wait_for("watching for changes")
            samples.append(tree_rss_mb(watch.proc.pid))
    finally:
        path.write_bytes(original)
        watch.stop()
    first, last = samples[:20], samples[-20:]
    return {"saves": saves, "first_total": max(t for t, _ in first),
            "last_total": max(t for t, _ in last), "first_process": max(p for _, p in first),
            "last_process": max(p for _, p in last)}


def serve_specimen_refresh(repo: Path, repeat: int) -> float:
    """`build.py serve` running: a token saved in styles/tokens.css until the specimens show
    it (the first refresh of the page), median of `repeat` saves."""
    import urllib.request

    proc = subprocess.Popen([sys.executable, "build.py", "serve", "--port", "0"], cwd=repo,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        url = re.search(r"(http://127\.0\.0\.1:\d+/)", proc.stdout.readline()).group(1)

        def state():
            with urllib.request.urlopen(url + "state.json", timeout=30) as response:
                return json.loads(response.read())

        def wait(condition, timeout=600):
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                st = state()
                if condition(st):
                    return st
                time.sleep(0.05)
            raise SystemExit("serve did not finish its build")

        wait(lambda st: st["round"] >= 1 and not st["building"])
        tokens = repo / "styles" / "tokens.css"
        original = tokens.read_bytes()
        times = []
        for n in range(repeat):
            before = state()
            started = time.monotonic()
            tokens.write_bytes(original.replace(b"0.38 0.92 0)", b"0.40 0.92 0)")
                               if n % 2 == 0 else original)
            wait(lambda st: st["generation"] > before["generation"])
            times.append(time.monotonic() - started)
            wait(lambda st: st["round"] > before["round"] and not st["building"])
        tokens.write_bytes(original)
        return median(times)
    finally:
        proc.terminate()
        proc.wait(timeout=60)


# -- the measures --------------------------------------------------------------------------------

class Bench:
    def __init__(self, repeat: int):
        self.repeat = repeat
        self.values: dict = {}
        self.peak = 0.0

    def timed(self, repo: Path, *args: str, repeat: int | None = None) -> list[Run]:
        runs = [build(repo, *args) for _ in range(repeat or self.repeat)]
        self.peak = max(self.peak, *(r.rss_mb for r in runs))
        return runs

    def edit(self, repo: Path, name: str, old: bytes, new: bytes, *args: str) -> list[Run]:
        """Edit and restore in turn; each is a rebuild (restoring is a change too)."""
        path = repo / name
        original = path.read_bytes()
        assert old in original, (name, old)
        edited = original.replace(old, new, 1)
        runs = []
        for n in range(self.repeat):
            path.write_bytes(edited if n % 2 == 0 else original)
            runs += self.timed(repo, *args, repeat=1)
        path.write_bytes(original)
        build(repo, *args)
        return runs

    def measure(self, repo: Path) -> None:
        log("first build of a fresh checkout (-j 2)")
        first = self.timed(repo, "-j", "2", repeat=1)[0]
        self.values["first_build"] = first.seconds
        log("no-op build")
        self.values["noop"] = median(r.seconds for r in self.timed(repo))
        for jobs in ("1", "2"):
            log(f"cold full build, --force -j {jobs}")
            self.values[f"cold_j{jobs}"] = median(
                r.seconds for r in self.timed(repo, "--force", "-j", jobs))
        log("book: cold build --force -j 2, yardstick, one-sentence edit")
        book = self.timed(repo, "book", "--force", "-j", "2")
        self.values["book_cold"] = median(r.seconds for r in book)
        plain = yardstick(repo, "book", self.repeat)
        self.values["book_plain"] = plain
        self.values["book_vs_plain"] = self.values["book_cold"] / plain["seconds"]
        text = (repo / MIDDLE_CHAPTER).read_bytes()
        at = text.index(b". ", len(text) // 2) + 2          # after a sentence, mid-chapter
        sentence = text[at - 2:at + 40]
        edits = self.edit(repo, MIDDLE_CHAPTER, sentence,
                          sentence[:2] + b"Een extra zin om te meten. " + sentence[2:], "book")
        self.values["book_edit_cli"] = median(r.seconds for r in edits)
        self.values["book_edit"] = watch_edit(
            repo, MIDDLE_CHAPTER, sentence,
            sentence[:2] + b"Een extra zin om te meten. " + sentence[2:], self.repeat)
        self.values["edit_ratio"] = self.values["book_edit"] / self.values["book_cold"]
        self.values["edit_cli_ratio"] = (self.values["book_edit_cli"]
                                         / self.values["book_cold"])
        log("book EPUB: cold (the print edition current), then the same one-sentence edit")
        build(repo, "book")                 # the print page map current, as after `make`
        epub = self.timed(repo, "book", "--variant", "epub", "--force")
        self.values["epub_cold"] = median(r.seconds for r in epub)
        epub_edits = self.edit(repo, MIDDLE_CHAPTER, sentence,
                               sentence[:2] + b"Een extra zin om te meten. " + sentence[2:],
                               "book", "--variant", "epub")
        self.values["epub_edit"] = median(r.seconds for r in epub_edits)
        log("large cahier: -j 1 and -j 2, yardstick")
        large_repeat = min(self.repeat, 2)
        for jobs in ("1", "2"):
            runs = self.timed(repo, "cahier-90", "--force", "-j", jobs, repeat=large_repeat)
            self.values[f"large_j{jobs}"] = median(r.seconds for r in runs)
        plain = yardstick(repo, "cahier-90", large_repeat)
        self.values["large_plain"] = plain
        for jobs in ("1", "2"):
            self.values[f"large_j{jobs}_vs_plain"] = (self.values[f"large_j{jobs}"]
                                                      / plain["seconds"])
        log("edit one cahier; a stylesheet token and the specimen")
        build(repo)                       # everything current first (watch left the book)
        cahier = self.edit(repo, CAHIER, b"\n", b" \n")
        self.values["cahier_edit"] = median(r.seconds for r in cahier)
        self.values["cahier_edit_built"] = sorted(set().union(*(r.built for r in cahier)))
        self.values["specimen_refresh"] = serve_specimen_refresh(repo, self.repeat)
        log("a commit that touches only README.md")
        build(repo)
        (repo / "README.md").write_text("Een andere README.\n", encoding="utf-8")
        git(repo, "commit", "-q", "-am", "README only")
        after = build(repo)
        self.values["readme_rebuilt"] = len(after.built)
        self.values["peak_mb"] = self.peak

    def memory(self, repo: Path, saves: int = 200) -> None:
        log(f"memory: {saves} rebuilds with watch running")
        build(repo, "card")
        self.values["watch_memory"] = watch_memory(repo, saves)

    def release_parts(self, repo: Path, version: str = "0.0.1") -> None:
        """The whole release, then one part per publication (each its own process, -j 2, as
        one job of the matrix), then the gathering; the gathered release must be the whole
        one byte for byte. One run each (a whole release is minutes)."""
        base = repo.parent
        log("release: the whole release (-j 2)")
        whole = run(repo, sys.executable, "build.py", "release", "--version", version,
                    "--out", str(base / "whole"), "-j", "2")
        self.peak = max(self.peak, whole.rss_mb)
        ids = [row["id"] for row in json.loads(
            run(repo, sys.executable, "build.py", "list", "--json").stdout)]
        parts = {}
        for pub_id in ids:
            log(f"release: the part {pub_id} (-j 2)")
            part = run(repo, sys.executable, "build.py", "release", "--version", version,
                       "--only", pub_id, "--out", str(base / "parts" / pub_id), "-j", "2")
            self.peak = max(self.peak, part.rss_mb)
            parts[pub_id] = part.seconds
        log("release: gather the parts")
        gathered = run(repo, sys.executable, "build.py", "release", "--version", version,
                       "--gather", *(str(base / "parts" / i) for i in ids),
                       "--out", str(base / "gathered"))
        names = sorted(p.name for p in (base / "whole").iterdir())
        same = (names == sorted(p.name for p in (base / "gathered").iterdir())
                and all((base / "whole" / n).read_bytes() == (base / "gathered" / n).read_bytes()
                        for n in names))
        longest = max(parts, key=parts.get)
        self.values["release"] = {
            "whole": whole.seconds, "parts": parts, "gather": gathered.seconds,
            "longest": longest, "longest_vs_whole": parts[longest] / whole.seconds,
            "sum_vs_whole": sum(parts.values()) / whole.seconds, "identical": same}
        self.values["peak_mb"] = self.peak


def machine() -> dict:
    def version(package):
        try:
            from importlib import metadata
            return metadata.version(package)
        except Exception:  # noqa: BLE001
            return "?"
    return {"cpus": os.cpu_count(), "python": platform.python_version(),
            "weasyprint": version("weasyprint"), "machine": platform.machine(),
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d")}


def verdict(name: str, value) -> str:
    if name not in TARGETS:
        return ""
    op, target, _ = TARGETS[name]
    return "PASS" if value <= target else "FAIL"


def markdown_table(results: dict) -> str:
    v = results["values"]
    rows = build_rows(v) if "first_build" in v else []
    if "watch_memory" in v:
        w = v["watch_memory"]
        rows += [(f"`watch`: RSS of watch and its workers, peak of the first / last 20 of "
                  f"{w['saves']} rebuilds", f"{w['first_total']:.0f} / {w['last_total']:.0f} MB",
                  "flat", f"largest process {w['first_process']:.0f} / "
                  f"{w['last_process']:.0f} MB",
                  "PASS" if w["last_total"] <= w["first_total"] * 1.1 + 5 else "FAIL")]
    if "release" in v:
        rows += release_rows(v["release"])
    m = results["machine"]
    head = (f"Median of {results['repeat']} runs on {m['cpus']} CPUs, Python {m['python']}, "
            f"WeasyPrint {m['weasyprint']} ({m['date']})"
            f"{'; the release: one run' if 'release' in v else ''}.\n\n"
            "| measure | value | target | note | result |\n|---|---:|---|---|---|\n")
    return head + "\n".join(f"| {' | '.join(row)} |" for row in rows)


def release_rows(r: dict) -> list[tuple]:
    rows = [("release, whole (`build.py release`, -j 2)", f"{r['whole']:.1f} s", "", "", "")]
    for pub_id, seconds in sorted(r["parts"].items(), key=lambda kv: -kv[1]):
        rows.append((f"release part `--only {pub_id}`, -j 2", f"{seconds:.1f} s", "",
                     f"{seconds / r['whole']:.2f}× the whole", ""))
    rows += [
        ("release: gather the parts", f"{r['gather']:.1f} s", "", "", ""),
        ("longest part / whole release", f"{r['longest_vs_whole']:.2f}×", "", r["longest"] +
         "; what a job per publication can gain, set-up of each job aside", ""),
        ("all parts one after another / whole release", f"{r['sum_vs_whole']:.2f}×", "",
         "the CPU the fan-out costs", ""),
        ("gathered release = whole release, byte for byte", "yes" if r["identical"] else "no",
         "yes", "", "PASS" if r["identical"] else "FAIL"),
    ]
    return rows


def build_rows(v: dict) -> list[tuple]:
    return [
        ("first build of a fresh checkout, -j 2", f"{v['first_build']:.1f} s", "", "", ""),
        ("cold full build (--force), -j 1", f"{v['cold_j1']:.1f} s", "", "", ""),
        ("cold full build (--force), -j 2", f"{v['cold_j2']:.1f} s", "",
         f"{v['cold_j2'] / v['cold_j1']:.2f}", ""),
        ("no-op build", f"{v['noop']:.2f} s", "≤ 0.3 s", "", verdict("noop", v["noop"])),
        ("book: cold build, -j 2", f"{v['book_cold']:.1f} s", "", "", ""),
        ("book: plain WeasyPrint, one process (yardstick)",
         f"{v['book_plain']['seconds']:.1f} s",
         f"render {v['book_plain']['render']:.1f} + write {v['book_plain']['write']:.1f}",
         f"{v['book_plain']['pages']} pages", ""),
        ("cold book build -j 2 / plain WeasyPrint", f"{v['book_vs_plain']:.2f}×", "≤ 0.6×", "",
         verdict("book_vs_plain", v["book_vs_plain"])),
        ("one-sentence edit in a middle chapter → book rebuilt, `watch` running",
         f"{v['book_edit']:.1f} s", "", "save to PDF, the edit loop", ""),
        ("edit (watch) / cold book build", f"{v['edit_ratio']:.2f}×", "≤ 0.25×", "",
         verdict("edit_ratio", v["edit_ratio"])),
        ("the same edit, one `build.py build book` process",
         f"{v['book_edit_cli']:.1f} s", "", f"{v['edit_cli_ratio']:.2f}× the cold build; "
         "starting Python and WeasyPrint included", ""),
        *([("book EPUB: cold (`--variant epub --force`)", f"{v['epub_cold']:.1f} s", "",
            "print page map current", ""),
           ("book EPUB after a one-sentence edit", f"{v['epub_edit']:.1f} s", "",
            "the print edition's changed units laid out again first, for the page map", "")]
          if "epub_cold" in v else []),      # measured since the EPUB exists
        ("large cahier, -j 1", f"{v['large_j1']:.1f} s", "", "", ""),
        ("large cahier, -j 2", f"{v['large_j2']:.1f} s", "", "", ""),
        ("large cahier: plain WeasyPrint (yardstick)", f"{v['large_plain']['seconds']:.1f} s",
         "", f"{v['large_plain']['pages']} pages", ""),
        ("large cahier -j 1 / plain WeasyPrint", f"{v['large_j1_vs_plain']:.2f}×", "≤ 1.1×",
         "", verdict("large_j1_vs_plain", v["large_j1_vs_plain"])),
        ("large cahier -j 2 / plain WeasyPrint", f"{v['large_j2_vs_plain']:.2f}×", "≤ 0.6×",
         "", verdict("large_j2_vs_plain", v["large_j2_vs_plain"])),
        ("commit touching only README → publications rebuilt", f"{v['readme_rebuilt']}", "0",
         "", verdict("readme_rebuilt", v["readme_rebuilt"])),
        ("edit one cahier → rebuild", f"{v['cahier_edit']:.1f} s",
         "only cahier-02 rebuilt", ", ".join(v["cahier_edit_built"]),
         "PASS" if v["cahier_edit_built"] == ["cahier-02"] else "FAIL"),
        ("serve: a token saved → the specimens show it", f"{v['specimen_refresh']:.1f} s",
         "about 2 s", "", ""),
        ("peak memory of any one process", f"{v['peak_mb']:.0f} MB", "≤ 400 MB", "",
         verdict("peak_mb", v["peak_mb"])),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one run of each")
    parser.add_argument("--show", action="store_true", help="print the last table")
    parser.add_argument("--only", choices=("builds", "release", "memory"),
                        help="only the builds, only the release in parts, or only the "
                             "memory of 200 rebuilds in watch (the other measures of "
                             "results.json are kept)")
    args = parser.parse_args()
    if args.show:
        print(markdown_table(json.loads(RESULTS.read_text(encoding="utf-8"))))
        return 0
    repeat = 1 if args.quick else args.repeat
    bench = Bench(repeat)
    with tempfile.TemporaryDirectory(prefix="trotter-bench-") as tmp:
        repo = scratch(Path(tmp))
        if args.only in (None, "builds"):
            bench.measure(repo)
        if args.only in (None, "memory"):
            bench.memory(repo)
        if args.only in (None, "release"):
            bench.release_parts(repo)
    values = bench.values
    if args.only and RESULTS.exists():          # keep the other measures of the last run
        last = json.loads(RESULTS.read_text(encoding="utf-8"))
        values = {**last["values"], **values}
        values["peak_mb"] = max(last["values"].get("peak_mb", 0), bench.peak)
        if args.only in ("release", "memory"):
            repeat = last["repeat"]
    results = {"repeat": repeat, "machine": machine(), "values": values}
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(markdown_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())

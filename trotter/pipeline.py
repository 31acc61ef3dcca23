"""The whole build of one publication, top to bottom: `build_publication`.

sources -> document model -> HTML -> layout (WeasyPrint) -> page rules -> PDF -> finishing
-> preflight -> atomic write. `build_all` runs it for several publications and keeps going
when one fails.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import ROOT
from .errors import BuildError
from .sources import PublicationConfig

DIST = ROOT / "dist"


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


def output_path(pub_id: str, variant: str = "print") -> Path:
    return DIST / variant / f"{pub_id}.pdf"


def imposed_path(pub_id: str, suffix: str, out: Path) -> Path:
    """dist/imposed/<id>-<suffix>.pdf beside dist/print/ (or beside a custom output)."""
    return out.parent.parent / "imposed" / f"{pub_id}-{suffix}.pdf"


def source_date() -> int:
    """SOURCE_DATE_EPOCH, else the last commit's time, else a fixed date: never `now`."""
    if os.environ.get("SOURCE_DATE_EPOCH", "").isdigit():
        return int(os.environ["SOURCE_DATE_EPOCH"])
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%ct"],
                             capture_output=True, text=True, timeout=5)
        if out.returncode == 0 and out.stdout.strip().isdigit():
            return int(out.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    return 1767225600  # 2026-01-01T00:00:00Z


def build_publication(config: PublicationConfig, variant: str = "print",
                      out: Path | None = None, version: str | None = None) -> Result:
    """Build one publication into `out` (default dist/<variant>/<id>.pdf)."""
    from . import finishing, pdf, preflight
    from .html import render_html
    from .model import build_document

    out = out or output_path(config.id, variant)
    clock = _Clock()
    date = source_date()
    os.environ["SOURCE_DATE_EPOCH"] = str(date)  # fontTools stamps font subsets with it

    doc = build_document(config)                                   # 2. document model
    clock.lap("sources")
    html = render_html(doc, variant, date, version=version)         # 3. HTML
    clock.lap("html")
    rendered = pdf.layout(html, config.path, **finishing.pdf_settings(variant, html))  # 4.
    extra = finishing.padding_pages(config, rendered.pages)         # page rules
    if extra:
        html = render_html(doc, variant, date, extra_pages=extra, version=version)
        rendered = pdf.layout(html, config.path, **finishing.pdf_settings(variant, html))
    finishing.check_page_rules(config, rendered.pages)
    clock.lap("layout")
    data = rendered.write()                                         # 5. PDF writing
    clock.lap("write")
    data = finishing.finish(data, config, variant, date)            # 6. finishing
    clock.lap("finishing")
    problems = preflight.check_pdf(data, config, variant)           # 7. preflight
    if problems:
        raise BuildError("preflight failed:\n  " + "\n  ".join(problems), config.path)
    clock.lap("preflight")
    atomic_write(out, data)
    if variant == "print":                                          # 8. imposition
        from .impose import imposed

        sheets = imposed(config.kind, data)
        if sheets:
            atomic_write(imposed_path(config.id, sheets[0], out),
                         finishing.reproducible(sheets[1]))
    clock.lap("imposition")
    return Result(config.id, out, pages=rendered.pages, seconds=clock.total(),
                  warnings=rendered.warnings, timings=clock.laps)


def atomic_write(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, then rename: never a half-written PDF."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
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
        stale_marker(path).write_text(f"This PDF is stale: the last build failed.\n{reason}\n",
                                      encoding="utf-8")
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

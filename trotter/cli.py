"""Command-line interface. `build.py` at the top of the repository calls `main`.

Exit codes: 0 success, 1 a build error (a mistake in the sources), 2 usage error,
3 an unexpected internal error (traceback in dist/build.log).
"""

from __future__ import annotations

import json
import shutil
import sys
import traceback

import click

from . import ROOT
from .errors import BuildError
from .pipeline import DIST, build_publication, mark_stale, output_path
from .sources import discover, load_config

VARIANT = click.option("--variant", type=click.Choice(["print", "screen"]), default="print",
                       show_default=True, help="print: CMYK, bleed; screen: RGB, tagged.")
LOG = DIST / "build.log"


def _configs(ids: tuple[str, ...]):
    configs = [load_config(p) for p in discover()]
    if not ids:
        return configs
    known = {c.id: c for c in configs}
    if "cahiers" in ids:
        ids = tuple(i for i in ids if i != "cahiers") + tuple(
            c.id for c in configs if c.kind == "cahier")
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise click.UsageError(f"unknown publication {', '.join(unknown)}; "
                               f"known: {', '.join(known)}")
    return [known[i] for i in dict.fromkeys(ids)]


def _fail_internal(exc: BaseException) -> None:
    LOG.parent.mkdir(parents=True, exist_ok=True)
    LOG.write_text("".join(traceback.format_exception(exc)), encoding="utf-8")
    click.echo(f"internal error: {exc.__class__.__name__}: {exc} "
               f"(traceback in {LOG.relative_to(ROOT)})", err=True)
    sys.exit(3)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main():
    """Build the Talenten Trotter publications from their Markdown sources."""


@main.command()
@click.argument("ids", nargs=-1)
@VARIANT
@click.option("--force", is_flag=True, help="Rebuild even when nothing changed.")
def build(ids, variant, force):
    """Build publications (default: all) into dist/<variant>/<id>.pdf.

    IDS are publication ids (book, brochure, card, cahier-01, ...) or `cahiers`.
    """
    try:
        configs = _configs(ids)
    except BuildError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    from . import deps
    from .pipeline import source_date

    date = source_date()
    failed = []
    for config in configs:
        out = output_path(config.id, variant)
        fp = deps.fingerprint(config, variant, date)
        if not force and deps.up_to_date(config.id, variant, out, fp):
            click.echo(f"{config.id}: up to date -> {out.relative_to(ROOT)}")
            continue
        deps.forget(config.id, variant)
        try:
            result = build_publication(config, variant)
        except BuildError as exc:
            kept = mark_stale(out, str(exc))
            note = f" (previous {out.relative_to(ROOT)} kept, it is STALE)" if kept else ""
            click.echo(f"{config.id}: failed{note}\n{exc}", err=True)
            failed.append((config.id, exc))
            continue
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # noqa: BLE001 - reported in one line, traceback in log
            _fail_internal(exc)
        deps.record(config.id, variant, result.output, fp, result.pages)
        for message in dict.fromkeys(result.warnings):
            click.echo(f"{config.id}: warning: {message}", err=True)
        warn = f", {len(result.warnings)} warnings" if result.warnings else ""
        click.echo(f"{config.id}: done, {result.pages} pages, {result.seconds:.1f} s{warn}"
                   f" -> {result.output.relative_to(ROOT)}")
    if failed:
        click.echo(f"\n{len(failed)} of {len(configs)} publications failed: "
                   + ", ".join(i for i, _ in failed), err=True)
        sys.exit(1)


@main.command()
@click.argument("ids", nargs=-1)
@VARIANT
def preflight(ids, variant):
    """Check the built PDFs (default all) for the print shop: boxes, page counts, fonts,
    colour, output intent, images, total ink, annotations. Exit 1 when anything fails."""
    from .preflight import inspect

    try:
        configs = _configs(ids)
    except BuildError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    failed = 0
    for config in configs:
        path = output_path(config.id, variant)
        if not path.is_file():
            click.echo(f"{config.id}: FAIL {path.relative_to(ROOT)} is missing: build it first")
            failed += 1
            continue
        report = inspect(path.read_bytes(), config, variant)
        stale = " (STALE: the last build failed)" if path.with_name(path.name + ".STALE").exists() else ""
        status = "FAIL" if report.problems else "ok"
        click.echo(f"{config.id}: {status}{stale} — {report.pages} pages, "
                   f"{len(report.fonts)} fonts, {report.images} images, "
                   f"max ink {report.max_ink:.0f} %  [{path.relative_to(ROOT)}]")
        for problem in report.problems:
            click.echo(f"    {problem}")
        failed += bool(report.problems or stale)
    sys.exit(1 if failed else 0)


@main.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_(as_json):
    """List the publications with their sources and outputs."""
    try:
        configs = _configs(())
    except BuildError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    rows = [{
        "id": c.id, "kind": c.kind, "title": c.data["title"],
        "trim": " ".join(c.trim),
        "sources": [str(p.relative_to(ROOT)) for p in c.all_sources()],
        "outputs": {v: str(output_path(c.id, v).relative_to(ROOT)) for v in ("print", "screen")},
    } for c in configs]
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        for row in rows:
            click.echo(f"{row['id']:<12} {row['kind']:<9} {row['title']}")


@main.command()
@click.argument("pub_id")
@VARIANT
def html(pub_id, variant):
    """Stop after the HTML stage: write dist/html/<id>.html for inspection."""
    from .html import render_html
    from .model import build_document
    from .pipeline import source_date

    try:
        (config,) = _configs((pub_id,))
        text = render_html(build_document(config), variant, source_date())
    except BuildError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    out = DIST / "html" / f"{pub_id}.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    click.echo(str(out.relative_to(ROOT)))


@main.command()
def clean():
    """Remove dist/ (all outputs and the build cache)."""
    shutil.rmtree(DIST, ignore_errors=True)
    shutil.rmtree(ROOT / ".cache", ignore_errors=True)
    click.echo("removed dist/")

"""Command-line interface. `build.py` at the top of the repository calls `main`.

Exit codes: 0 success, 1 a build error (a mistake in the sources), 2 usage error,
3 an unexpected internal error (traceback in dist/build.log), 4 the machine refused (a full
disk, permission denied, a read-only folder: the message names the path), 130 interrupted.
One error policy for every command: `Policy.invoke`.

The CLI makes the one `Project` (the checkout build.py lies in, or `--project DIR`) and every
command passes it down; commands that write dist/ hold its lock (`_writing`).
"""

from __future__ import annotations

import json
import sys
import traceback
from contextlib import contextmanager
from pathlib import Path

import click

from .errors import BuildError, EnvironmentFault
from .pipeline import output_path
from .project import Project, Settings
from .runner import log_path
from .sources import load_config
from .variants import DEFAULT, NAMES, PDF_NAMES, VARIANTS

VARIANT = click.option("--variant", type=click.Choice(PDF_NAMES), default=DEFAULT,
                       show_default=True, help="; ".join(
                           f"{v}: {VARIANTS[v].note}" for v in PDF_NAMES) + ".")
ANY_VARIANT = click.option("--variant", type=click.Choice(NAMES), default=DEFAULT,
                           show_default=True, help="; ".join(
                               f"{v}: {VARIANTS[v].note}" for v in NAMES) + ".")


def _project() -> Project:
    """The project of this command (made by `main`)."""
    return click.get_current_context().find_object(Project)


@contextmanager
def _writing(what: str):
    """What every command that writes dist/ does: SIGTERM ends it as Ctrl-C does, and it
    holds the project's lock (a second command is told, nothing is corrupted)."""
    from .runner import build_lock, interrupt_on_terminate

    with interrupt_on_terminate(), build_lock(_project().dist, what):
        yield


def _entries(ids: tuple[str, ...]):
    """The publications named (all when none): a broken publication.yml is an entry with
    its error, so the others still build."""
    from .runner import select

    project = _project()
    entries = project.catalog()
    if not entries:
        raise BuildError(f"no publications in {project.root}: a project holds "
                         "book/, brochure/, card/ or cahiers/<folder>/ with a publication.yml")
    try:
        return select(entries, ids)
    except KeyError as exc:
        raise click.UsageError(f"unknown publication {', '.join(exc.args[0])}; "
                               f"known: {', '.join(e.id for e in entries)}") from None


def _configs(ids: tuple[str, ...]):
    """The configurations of the publications named; the first broken one raises."""
    configs = []
    for entry in _entries(ids):
        if entry.error is not None:
            raise entry.error
        configs.append(entry.config or load_config(_project(), entry.path))
    return configs


def run() -> None:
    """Entry point: any unexpected exception is one line and exit code 3, not a traceback."""
    try:
        main()
    except Exception as exc:  # noqa: BLE001
        _fail_internal(exc)


class Policy(click.Group):
    """The one error policy of every command: a mistake in the sources or a held lock is its
    message and exit 1, what the machine refuses is one line with the path and exit 4,
    Ctrl-C or SIGTERM exit 130 (nothing unfinished was written); anything else is internal:
    one line, exit 3, the traceback in the project's dist/build.log."""

    def invoke(self, ctx):
        from .runner import Locked

        try:
            return super().invoke(ctx)
        except (BuildError, Locked) as exc:
            click.echo(str(exc), err=True)
            sys.exit(getattr(exc, "exit_code", 1))
        except OSError as exc:
            fault = EnvironmentFault.from_os_error(exc)
            if fault is None:
                _fail_internal(exc, ctx.find_object(Project))
            click.echo(str(fault), err=True)
            sys.exit(fault.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted: nothing unfinished was written", err=True)
            sys.exit(130)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except Exception as exc:  # noqa: BLE001 - the internal error, one line
            _fail_internal(exc, ctx.find_object(Project))


def _fail_internal(exc: BaseException, project: Project | None = None) -> None:
    log = log_path(project or Project.of_checkout())
    shown = (project or Project.of_checkout()).shown(log)
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("".join(traceback.format_exception(exc)), encoding="utf-8")
        where = f"traceback in {shown}"
    except OSError as err:
        where = f"no traceback: {shown} cannot be written: {err.strerror}"
    click.echo(f"internal error: {exc.__class__.__name__}: {exc} ({where})", err=True)
    sys.exit(3)


def _project_folder(ctx, param, value):
    folder = Path(value).resolve() if value else None
    if folder is not None and not folder.is_dir():
        raise click.BadParameter(f"{value} is not a folder")
    return folder


@click.group(cls=Policy, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--project", "folder", metavar="DIR", default=None, callback=_project_folder,
              expose_value=True, is_eager=True,
              help="The project to build (default: the checkout build.py lies in).")
@click.pass_context
def main(ctx, folder):
    """Build the Talenten Trotter publications from their Markdown sources."""
    settings = Settings.from_environment()
    ctx.obj = Project(folder, settings) if folder else Project.of_checkout(settings)


@main.command()
@click.argument("ids", nargs=-1)
@ANY_VARIANT
@click.option("--force", is_flag=True,
              help="Lay out every unit again (the last page map is still the first guess).")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=None,
              help="Worker processes (default: number of CPUs).")
@click.option("-v", "--verbose", is_flag=True, help="Say why each publication is built.")
@click.option("--strict", is_flag=True,
              help="Fail on stylesheet problems instead of warning (CI and releases).")
def build(ids, variant, force, jobs, verbose, strict):
    """Build publications (default: all) into dist/<variant>/<id>.pdf (.epub).

    IDS are publication ids (book, brochure, card, cahier-01, ...) or `cahiers`. Only
    publications whose recorded inputs changed are rebuilt, and within a publication only
    the chapters (render units) that changed or moved.
    """
    from .runner import plan, run_builds, write_log

    project = _project()
    entries = _entries(ids)
    edition = VARIANTS[variant]
    for entry in [e for e in entries if e.error is None and not edition.makes(e.kind)]:
        click.echo(f"{entry.id}: skipped, a {entry.kind} has no {variant} edition")
    entries = [e for e in entries if e.error is not None or edition.makes(e.kind)]
    planned = plan(project, entries, variant, force)
    if (strict or planned[1]) and _stylesheet_problems(entries, strict):
        sys.exit(1)
    with _writing("build"):
        outcome = run_builds(project, entries, variant, jobs=jobs, force=force,
                             echo=click.echo, echo_err=lambda m: click.echo(m, err=True),
                             verbose=verbose, planned=planned)
    if outcome.internal:
        write_log(project, outcome)
        names = ", ".join(i for i, _ in outcome.internal)
        click.echo(f"internal error while building {names} "
                   f"(traceback in {project.shown(log_path(project))})", err=True)
    if outcome.failed:
        click.echo(f"\n{len(outcome.failed)} of {len(entries)} publications failed:", err=True)
        for pub_id, error in outcome.failed:
            click.echo(f"  {pub_id}: {error.splitlines()[0]}", err=True)
    sys.exit(_exit_code(outcome))


def _exit_code(outcome) -> int:
    """3 internal, 4 the machine refused, 1 a mistake in the sources, else 0."""
    return (3 if outcome.internal else 4 if outcome.environment else 1 if outcome.failed
            else 0)


def _stylesheet_problems(entries, strict: bool) -> bool:
    """Print what the stylesheets of `entries` have that WeasyPrint would ignore; True when
    that must stop the build (`strict`)."""
    from .stylecheck import check_stylesheets

    names = sorted({_stylesheet_of(e) for e in entries} - {None})
    problems = check_stylesheets(_project(), names)
    for problem in problems:
        click.echo(f"{'error' if strict else 'warning'}: {problem}", err=True)
    if problems and strict:
        click.echo(f"{len(problems)} stylesheet problems (--strict): nothing was built",
                   err=True)
    return bool(problems) and strict


def _stylesheet_of(entry) -> str | None:
    return entry.stylesheet


@main.command("check")
@click.argument("ids", nargs=-1)
@click.option("--no-spelling", is_flag=True, help="Leave the spelling out.")
def check_(ids, no_spelling):
    """Check the sources (default: all publications) without laying anything out: every
    mistake at once as `path:line: message`, the stylesheets, and the spelling when
    hunspell-nl is installed. Exit 1 when anything is found. Fit for a pre-commit hook."""
    import time

    from .check import check

    started = time.perf_counter()
    entries = _entries(ids)
    problems = check(_project(), entries, spelling=not no_spelling)
    for problem in problems:
        click.echo(str(problem))
    errors = [p for p in problems if not p.warning]
    files = len({p.path for p in errors})
    summary = (f"{_count(len(errors), 'problem')} in {_count(files, 'file')}" if errors
               else "no problems")
    if len(errors) < len(problems):
        summary += f", {_count(len(problems) - len(errors), 'warning')}"
    click.echo(f"{summary} ({_count(len(entries), 'publication')}, "
               f"{time.perf_counter() - started:.2f} s)", err=True)
    sys.exit(1 if errors else 0)


@main.command()
@click.argument("ids", nargs=-1)
@click.option("--strict", is_flag=True,
              help="Exit 1 when a chapter is above the level its publication declares.")
def readability(ids, strict):
    """Readability per publication (default: all) and chapter: sentences, words per
    sentence, the longest sentence and the Flesch-Douma score (higher is easier), then
    every sentence over the declared maximum (else 25 words) as `path:line`. A publication
    declares its level in publication.yml: `readability: {max_sentence_words: 25,
    max_average_words: 15}`. Exit 1 on a mistake in the sources, and with --strict when a
    chapter is above its level."""
    from .readability import measure, shown, table

    failed = above = 0
    for n, entry in enumerate(_entries(ids)):
        try:
            if entry.error is not None:
                raise entry.error
            report = measure(entry.config or load_config(_project(), entry.path))
        except BuildError as exc:
            click.echo(str(exc), err=True)
            failed += 1
            continue
        click.echo(("\n" if n else "") + "\n".join(table(report)))
        for chapter, found in report.above():
            click.echo(f"{shown(chapter.path)}: above the level: {'; '.join(found)}")
            above += 1
    if strict and above:
        click.echo(f"{_count(above, 'chapter')} above the declared level (--strict)", err=True)
    sys.exit(1 if failed or (strict and above) else 0)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


@main.command()
@click.argument("ids", nargs=-1)
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=None,
              help="Worker processes (default: number of CPUs).")
def specimen(ids, jobs):
    """Every component of the house style once, with the styles of each publication named
    (default: one of every kind), and the token sheet: dist/specimen/specimen-<id>.pdf."""
    from .runner import run_builds, write_log
    from .specimen import entries as specimen_entries

    project = _project()
    named = [e.id for e in _entries(ids)] if ids else None   # `cahiers` too; unknown: usage
    with _writing("specimen"):
        built = specimen_entries(project, named)
        _stylesheet_problems(built, strict=False)
        outcome = run_builds(project, built, "print", jobs=jobs, echo=click.echo,
                             echo_err=lambda m: click.echo(m, err=True))
    if outcome.internal:
        write_log(project, outcome)
        click.echo(f"internal error (traceback in {project.shown(log_path(project))})",
                   err=True)
    sys.exit(_exit_code(outcome))


@main.group()
def new():
    """Start a new publication from a skeleton that builds at once."""


@new.command("cahier")
@click.argument("name")
@click.option("--title", required=True, help="The cahier's title (the organisation).")
@click.option("--subtitle", default=None, help="One line under the title on the cover.")
def new_cahier(name, title, subtitle):
    """Create cahiers/NN-NAME/ with the next number of the series."""
    from .scaffold import new_cahier as create

    folder = create(_project(), name, title, subtitle)
    shown = Path(_project().shown(folder))
    pub_id = f"cahier-{shown.name.split('-', 1)[0]}"
    click.echo(f"created {shown}/: publication.yml, cahier.md, formulier.md, colofon.md\n"
               f"next:\n"
               f"  1. write the case in {shown}/cahier.md (each section says what belongs "
               "there)\n"
               f"  2. put its working document in {shown}/formulier.md\n"
               f"  3. set the subtitle and summary in {shown}/publication.yml\n"
               f"  4. `build.py check {pub_id}` for mistakes, `make` (or `build.py build "
               f"{pub_id}`) for the PDF in dist/print/{pub_id}.pdf")


@main.command()
@click.argument("ids", nargs=-1)
@VARIANT
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=None,
              help="Worker processes (default: number of CPUs).")
def watch(ids, variant, jobs):
    """Rebuild the affected publications (default: all) whenever a file is saved."""
    from .runner import interrupt_on_terminate
    from .watch import watch as watch_loop

    try:
        with interrupt_on_terminate():
            watch_loop(_project(), lambda: _entries(ids), variant, jobs=jobs, echo=click.echo,
                       echo_err=lambda m: click.echo(m, err=True))
    except KeyboardInterrupt:
        click.echo("stopped", err=True)


@main.command()
@click.argument("ids", nargs=-1)
@VARIANT
def preflight(ids, variant):
    """Check the built PDFs (default all) for the print shop: boxes, page counts, fonts,
    colour, output intent, images, total ink, annotations. Exit 1 when anything fails."""
    from .preflight import inspect, inspect_sheets

    project = _project()
    configs = _configs(ids)
    failed = 0
    for config in configs:
        path = output_path(project, config.id, variant)
        if not path.is_file():
            click.echo(f"{config.id}: FAIL {project.shown(path)} is missing: build it first")
            failed += 1
            continue
        report = inspect(path.read_bytes(), config, variant)
        stale = " (STALE: the last build failed)" if path.with_name(path.name + ".STALE").exists() else ""
        status = "FAIL" if report.problems else "ok"
        click.echo(f"{config.id}: {status}{stale} — {report.pages} pages, "
                   f"{len(report.fonts)} fonts, {report.images} images, "
                   f"max ink {report.max_ink:.0f} %  [{project.shown(path)}]")
        for problem in report.problems:
            click.echo(f"    {problem}")
        for warning in report.warnings:
            click.echo(f"    warning: {warning}")
        failed += bool(report.problems or stale)
        for sheets in sorted(path.parent.parent.glob(f"imposed/{config.id}-*.pdf")
                             if VARIANTS[variant].imposition else []):
            sheet_report = inspect_sheets(sheets.read_bytes(), config)
            click.echo(f"{config.id}: {'FAIL' if sheet_report.problems else 'ok'} — "
                       f"{sheet_report.pages} sheets, max ink {sheet_report.max_ink:.0f} %  "
                       f"[{project.shown(sheets)}]")
            for line in sheet_report.problems + [f"warning: {w}" for w in sheet_report.warnings]:
                click.echo(f"    {line}")
            failed += bool(sheet_report.problems)
    sys.exit(1 if failed else 0)


@main.command()
@click.argument("ids", nargs=-1)
@click.option("--dpi", type=click.IntRange(20, 300), default=56, show_default=True)
@click.option("--no-build", is_flag=True, help="Use the PDFs as they are.")
def proof(ids, dpi, no_build):
    """Contact sheets of the print PDFs as spreads: dist/proofs/<id>-NN.png."""
    from .proof import run as run_proof

    configs = _configs(ids)
    sys.exit(run_proof(_project(), [(c.id, c.kind) for c in configs], dpi=dpi,
                       build=not no_build))


@main.command("diff")
@click.argument("ids", nargs=-1)
@click.option("--against", metavar="DIR|GIT-REF", default=None,
              help="Folder of PDFs or git revision (default: last v* tag, else HEAD).")
@click.option("--no-build", is_flag=True, help="Use the current PDFs as they are.")
def diff_(ids, against, no_build):
    """Compare the PDFs page by page with another build; report in dist/diff/index.html.

    Exit 0 when nothing changed, 1 when pages changed, 2 on errors.
    """
    from . import diff as visual_diff

    try:
        configs = _configs(ids) if ids else []
    except BuildError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    sys.exit(visual_diff.run(_project(), [c.id for c in configs], against,
                             build=not no_build))


@main.command()
@click.argument("ids", nargs=-1)
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
def serve(ids, port):
    """Live preview on 127.0.0.1: the pages as spreads, rebuilt and refreshed on save."""
    from .runner import interrupt_on_terminate
    from .serve import serve as run_server

    entries = _entries(ids)
    with interrupt_on_terminate():
        sys.exit(run_server(_project(), port, [e.id for e in entries] if ids else None))


def _semver(ctx, param, value):
    from .release import check_version

    try:
        return check_version(value)
    except BuildError as exc:
        raise click.BadParameter(exc.message) from None


@main.command("release")
@click.argument("names", nargs=-1, metavar="[ID… | DIR…]")
@click.option("--version", "version", required=True, metavar="X.Y.Z", callback=_semver,
              help="Release version (semantic versioning, no leading v).")
@click.option("--only", is_flag=True,
              help="Build a part: the files of the publications ID… with part.json "
                   "(needs --out).")
@click.option("--gather", is_flag=True,
              help="Make the release of the parts in DIR…: check them, then write "
                   "manifest.json and SHA256SUMS.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Release folder (default: dist/release/X.Y.Z), or the part's folder.")
@click.option("--force", is_flag=True, help="Replace an existing release folder (or part).")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=None,
              help="Worker processes (default: number of CPUs).")
@click.option("--allow-dirty", is_flag=True,
              help="Release from a working tree with uncommitted changes (the manifest says "
                   "so).")
def release_(names, version, only, gather, out, force, jobs, allow_dirty):
    """Build a release into dist/release/X.Y.Z/: print and screen editions and the imposed
    sheets, named for people, with manifest.json and SHA256SUMS. Nothing is released unless
    every file builds and passes preflight, and not from uncommitted changes unless
    --allow-dirty. Exit 1 when anything fails.

    In parts, one machine per publication: `--only ID… --out DIR` builds the files of those
    publications with part.json; `--gather DIR… [--out DIR]` checks that the parts agree
    and are complete and makes the release of them, byte for byte the one built whole."""
    from .release import gather as gather_parts, release, release_part

    if only and gather:
        raise click.UsageError("--only builds a part, --gather joins parts: one or the other")
    if (only or gather) and not names:
        raise click.UsageError(f"--{'only' if only else 'gather'} needs "
                               f"{'publication ids' if only else 'part folders'}")
    if names and not (only or gather):
        raise click.UsageError(f"unexpected {' '.join(names)}: a release holds every "
                               "publication; a part takes --only ID…, a gather --gather DIR…")
    if only and out is None:
        raise click.UsageError("--only needs --out DIR (the part's folder)")
    if only:
        _entries(names)                 # an unknown id is a usage error, before the lock
    project = _project()
    with _writing("release"):
        if only:
            release_part(project, version, names, out, force=force, jobs=jobs,
                         echo=click.echo, allow_dirty=allow_dirty)
        elif gather:
            gather_parts(project, version, [Path(n) for n in names], out=out, force=force,
                         echo=click.echo, allow_dirty=allow_dirty)
        else:
            release(project, version, out=out, force=force, jobs=jobs, echo=click.echo,
                    allow_dirty=allow_dirty)


@main.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_(as_json):
    """List the publications with their sources and outputs."""
    project = _project()
    configs = _configs(())
    rows = [{
        "id": c.id, "kind": c.kind, "title": c.data["title"],
        "trim": " ".join(c.trim),
        "sources": [project.shown(p) for p in c.all_sources()],
        "outputs": {v: project.shown(output_path(project, c.id, v)) for v in NAMES
                    if VARIANTS[v].makes(c.kind)},
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
    from .deps import source_date
    from .html import render_html
    from .model import build_document

    project = _project()
    (config,) = _configs((pub_id,))
    text = render_html(build_document(config), variant,
                       source_date(project, [config.path, *config.all_sources()]))
    out = project.dist / "html" / f"{pub_id}.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    click.echo(project.shown(out))


@main.command()
def clean():
    """Empty dist/ (all outputs and the build cache). Waits for no one: refused while a
    build is running. The fonts and CMYK profile in .cache/ stay."""
    from .runner import clean as clean_dist

    clean_dist(_project())
    click.echo("emptied dist/")

"""`build.py watch`: rebuild the affected publications when a file is saved.

Watches the sources, templates, styles and the build code; changes are debounced by
watchfiles. Every batch of changes runs the normal build (runner.py) with a pool of workers
that stays up between builds, so a saved chapter is laid out again at once: exactly the
publications whose recorded inputs changed are rebuilt, and in them the units that changed.
A failed build is reported and watching goes on. When the build code itself changes, the
process starts again (the main process and the workers would otherwise build with the code
they loaded, while the cache recorded the new files).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from . import CODE
from .errors import BuildError
from .runner import Locked, build_lock, run_builds
from .workers import Pool

WATCHED = ("book", "brochure", "card", "cahiers", "templates", "styles")   # and the code


def relevant(change, path: str) -> bool:
    """A saved file worth a build (not an editor's backup, swap or temporary file)."""
    path = Path(path)
    return not (path.name.startswith(".") or path.suffix in (".tmp", ".pyc", ".swp")
                or path.name.endswith("~") or "__pycache__" in path.parts)


def watch(project, load_entries, variant: str = "print", jobs: int | None = None,
          echo=print, echo_err=print, debounce_ms: int = 300, stop_event=None) -> None:
    """Build the entries `load_entries()` gives (of `project`) now and after every save."""
    try:
        _watch(project, load_entries, variant, jobs, echo, echo_err, debounce_ms, stop_event)
    except CodeChanged:
        echo("build code changed: watch starts again with it")
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(sys.executable, sys.orig_argv)


class CodeChanged(Exception):
    """A module of the build code was saved."""


def _watch(project, load_entries, variant, jobs, echo, echo_err, debounce_ms,
           stop_event) -> None:
    from watchfiles import watch as watch_changes

    code = CODE
    with Pool(jobs, project.settings.unit_timeout) as pool:
        def build():
            try:
                with build_lock(project.dist, "watch"):
                    run_builds(project, load_entries(), variant, echo=echo, echo_err=echo_err,
                               pool=pool)
            except (BuildError, Locked) as exc:
                echo_err(str(exc))

        build()
        paths = [project.root / name for name in WATCHED if (project.root / name).exists()]
        paths.append(code)
        # watchfiles yields an empty set when it has watched for `rust_timeout` ms without a
        # change: the watcher is set up, so a save from now on is seen. Said once per build.
        announce = True
        for changes in watch_changes(*paths, debounce=debounce_ms, step=50,
                                     watch_filter=relevant, rust_timeout=250,
                                     yield_on_timeout=True,
                                     stop_event=stop_event, raise_interrupt=True):
            if not changes:
                if announce:
                    echo("watching for changes (Ctrl-C to stop)")
                    announce = False
                continue
            announce = True
            names = sorted({project.shown(p) for _, p in changes})
            echo(f"changed: {', '.join(names[:5])}{' …' if len(names) > 5 else ''}")
            if any(Path(p).suffix == ".py" and Path(p).is_relative_to(code)
                   for _, p in changes):
                raise CodeChanged
            build()

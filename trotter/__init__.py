"""Talenten Trotter print pipeline.

One module per stage, one way through:
sources (YAML + Markdown) -> model (document model) -> html (Jinja2) -> pdf (WeasyPrint)
-> finishing (pypdf) -> preflight.  `trotter.pipeline.build_publication` reads as the whole
build, top to bottom.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

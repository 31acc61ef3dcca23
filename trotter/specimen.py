"""`build.py specimen [ID…]`: every component of the house style on a few pages, per
publication's styles, built by the real pipeline so it can never drift from the publications.

For a publication (default: the first of every kind: book, brochure, card, a cahier) the
specimen is a publication of its own, written in dist/specimen/<id>/publication.yml: the text
of styles/specimen/specimen.md in the template `specimen.html.j2`, with the publication's
stylesheet, trim and accent; the token sheet comes after it. It is built like any other
publication (recorded inputs, render units, preflight) into dist/specimen/specimen-<id>.pdf.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from .runner import Entry, catalog
from .sources import load_config

FOLDER = "specimen"                                  # in the project's dist/
TEXT = Path("styles") / "specimen" / "specimen.md"   # in the project


def default_ids(entries) -> list[str]:
    """The first publication of every kind."""
    seen, ids = set(), []
    for entry in entries:
        if entry.error is None and entry.kind not in seen:
            seen.add(entry.kind)
            ids.append(entry.id)
    return ids


def entries(project, ids=None) -> list[Entry]:
    """The specimen of each publication of `project` named (default: one of every kind),
    ready to build."""
    found = catalog(project)
    ids = list(ids) if ids else default_ids(found)
    made = []
    for entry in found:
        if entry.id not in ids or entry.error is not None:
            continue
        config = entry.config or load_config(project, entry.path)
        folder = project.dist / FOLDER / entry.id
        folder.mkdir(parents=True, exist_ok=True)
        data = {"id": f"specimen-{entry.id}", "kind": config.kind,
                "title": f"Specimen · {config.title}", "language": config.language,
                "trim": " ".join(config.trim), "template": "specimen.html.j2",
                "stylesheet": config.stylesheet,
                "sources": [{"part": "Specimen", "id": "specimen", "perspective": "hr",
                             "sources": [Path("../../..", TEXT).as_posix()]}],
                "series": config.data.get("series", "Talenten Trotter"),
                "number": config.data.get("number", 0), "imposition": False}
        if config.data.get("accent"):
            data["accent"] = config.data["accent"]
        text = ("# The specimen of " + entry.id + ", written by `build.py specimen`.\n"
                + yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
        yml = folder / "publication.yml"
        if not yml.is_file() or yml.read_text(encoding="utf-8") != text:
            yml.write_text(text, encoding="utf-8")
        made.append(Entry(data["id"], yml, config.kind, data["title"], size=1 << 30,
                          stylesheet=config.stylesheet, project=project,
                          out=project.dist / FOLDER / f"specimen-{entry.id}.pdf"))
    return made

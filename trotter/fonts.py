"""Fonts come from Python packages (fontpkg-*, OFL), never from the machine.

The packages ship variable fonts. WeasyPrint would turn every (weight, size) a document uses
into a static instance again for every PDF it writes, which costs more than the layout of a
chapter; so setup (`make`, `python -m trotter.fonts`) makes the static instances once, from
the package files, into `.cache/fonts/` (kept by `make clean`), and the build declares one
`@font-face` per instance. Literata's optical size is fixed at the text size (10 pt).
Stylesheets use only the family names declared here.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import BuildError

#: CSS family name -> font package. The names are our own, so fontconfig cannot swap them
#: for a system font (a family called "Sans" silently becomes DejaVu).
FAMILIES = {
    "Trotter Text": "fontpkg_literata",          # serif for reading: Literata
    "Trotter Display": "fontpkg_source_sans_3",  # sans for headings, boxes, card: Source Sans 3
    "Trotter Mono": "fontpkg_source_code_pro",   # code: Source Code Pro, Source Sans's sibling
}
#: the static faces: family -> style -> weights
FACES = {
    "Trotter Text": {"normal": (400, 600, 700), "italic": (400, 600)},
    "Trotter Display": {"normal": (400, 500, 600, 700, 800), "italic": (400, 600, 700)},
    "Trotter Mono": {"normal": (400, 600), "italic": (400,)},
}
OPTICAL_SIZE = 10


@dataclass(frozen=True)
class Face:
    family: str
    style: str
    weight: int
    source: Path
    folder: Path            # the project's static instances (Project.fonts)

    @property
    def path(self) -> Path:
        stem = self.source.name.split("[")[0].split(".")[0]
        return self.folder / f"{stem}-{self.weight}.ttf"


def package_files(family: str) -> list[Path]:
    package = importlib.import_module(FAMILIES[family])
    root = Path(package.__file__).resolve().parent / "files"
    return sorted(p for p in root.iterdir() if p.suffix in (".ttf", ".otf"))


def faces(folder: Path) -> list[Face]:
    """Every static face, its instance in `folder` (the project's `.cache/fonts/`)."""
    found = []
    for family, styles in FACES.items():
        files = package_files(family)
        for style, weights in styles.items():
            italic = [p for p in files if "italic" in p.name.lower()]
            roman = [p for p in files if "italic" not in p.name.lower()]
            source = (italic if style == "italic" else roman)[0]
            found += [Face(family, style, weight, source, folder) for weight in weights]
    return found


def font_files(folder: Path) -> dict[str, list[Path]]:
    """Family -> its static font files in `folder` (built at setup); BuildError when they are
    missing."""
    files: dict[str, list[Path]] = {}
    missing = []
    for face in faces(folder):
        files.setdefault(face.family, []).append(face.path)
        if not face.path.is_file():
            missing.append(face.path.name)
    if missing:
        raise BuildError(f"static fonts missing in {folder}/ "
                         f"({', '.join(missing[:3])}…): run `make` (or "
                         "`python -m trotter.fonts`)")
    return files


def font_face_css(folder: Path) -> str:
    rules = [f'@font-face {{ font-family: "{f.family}"; src: url("{f.path.as_uri()}"); '
             f"font-style: {f.style}; font-weight: {f.weight}; }}" for f in faces(folder)]
    return "\n".join(rules) + "\n"


def declared_font_names() -> set[str]:
    """Font names as WeasyPrint writes them into the PDF: the family, spaces as hyphens."""
    return {family.replace(" ", "-") for family in FAMILIES}


# -- setup: the static instances ------------------------------------------------------------

def _instance(face: Face) -> str:
    from fontTools.ttLib import TTFont
    from fontTools.varLib.instancer import instantiateVariableFont

    font = TTFont(face.source)
    axes = {axis.axisTag for axis in font["fvar"].axes} if "fvar" in font else set()
    location = {"wght": face.weight} if "wght" in axes else {}
    if "opsz" in axes:
        location["opsz"] = OPTICAL_SIZE
    static = instantiateVariableFont(font, location, static=True) if location else font
    static.recalcTimestamp = False          # the same package gives the same bytes
    face.path.parent.mkdir(parents=True, exist_ok=True)
    tmp = face.path.with_suffix(".tmp")
    static.save(tmp)
    tmp.replace(face.path)
    return face.path.name


def _stamp(folder: Path) -> str:
    """What the instances are made from: the package files (names and sizes) and the faces."""
    data = [(f.family, f.style, f.weight, f.source.name, f.source.stat().st_size)
            for f in faces(folder)]
    return hashlib.sha256(json.dumps([data, OPTICAL_SIZE]).encode()).hexdigest()


def build_static_fonts(folder: Path, jobs: int | None = None) -> list[str]:
    """Make the missing (or outdated) static instances in `folder`, in parallel. Returns
    their names."""
    from concurrent.futures import ProcessPoolExecutor

    stamp_file = folder / "stamp"
    current = _stamp(folder)
    fresh = stamp_file.is_file() and stamp_file.read_text() == current
    todo = [f for f in faces(folder) if not (fresh and f.path.is_file())]
    if todo:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            made = list(pool.map(_instance, todo))
    else:
        made = []
    folder.mkdir(parents=True, exist_ok=True)
    stamp_file.write_text(current)
    return made


if __name__ == "__main__":
    from .project import Project

    project = Project.of_checkout()
    made = build_static_fonts(project.fonts)
    print(f"static fonts: {len(made)} made, {len(faces(project.fonts)) - len(made)} up to "
          f"date in {project.shown(project.fonts)}/", file=sys.stderr)

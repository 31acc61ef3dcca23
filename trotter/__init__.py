"""Talenten Trotter print pipeline.

One module per stage, one way through:
sources (YAML + Markdown) -> model (document model) -> html (Jinja2) -> pdf (WeasyPrint)
-> finishing (pypdf) -> preflight.  `trotter.pipeline.build_publication` reads as the whole
build, top to bottom.

The build code is an input of what it builds, recorded as it ran: every `trotter` module is
hashed when it is imported (`IMPORTED`), so a module saved during a build is never recorded as
the code that ran.

No module keeps a project root of its own: the CLI makes a `project.Project` and passes it
down (`PublicationConfig.project` carries it to the stages).
"""

import hashlib
import os
import sys
from importlib.machinery import PathFinder, SourceFileLoader
from pathlib import Path

#: the folder of the build code (not the project: that is `project.Project`, passed down)
CODE = Path(__file__).resolve().parent

#: source path -> (size, mtime_ns, sha256) of each `trotter` module when it was imported
IMPORTED: dict[str, tuple[int, int, str]] = {}


def _record(path: str) -> None:
    stat = os.stat(path)
    with open(path, "rb") as fh:
        IMPORTED[path] = (stat.st_size, stat.st_mtime_ns, hashlib.sha256(fh.read()).hexdigest())


class _HashingLoader(SourceFileLoader):
    """The ordinary source loader (byte-code cache and all), which hashes the source first."""

    def get_code(self, fullname):
        _record(self.path)
        return super().get_code(fullname)


class _HashingFinder:
    """Finds `trotter.*` modules as the path finder does, with the hashing loader."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if not name.startswith(__name__ + "."):
            return None
        spec = PathFinder.find_spec(name, path, target)
        if spec is not None and isinstance(spec.loader, SourceFileLoader):
            spec.loader = _HashingLoader(name, spec.origin)
        return spec


_record(__file__)
if not any(isinstance(f, _HashingFinder) for f in sys.meta_path):
    sys.meta_path.insert(0, _HashingFinder())

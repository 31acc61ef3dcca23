"""The project: one checkout of the sources, passed down to every stage.

As MkDocs passes its config and Sphinx its application object, the CLI makes one `Project`
(the checkout `build.py` lies in, or `build.py --project DIR`) and hands it down: the runner,
the pipeline, the stages and the worker processes all take it, or a `PublicationConfig` that
carries it. No module keeps a root of its own, so the same code builds a scratch repository,
a worktree of an older revision or this checkout, side by side in one process.

A project knows where things are (sources, styles, templates, dist/, the build cache, the
fonts and the CMYK profile), its settings, what it may read (policy.py) and its catalog of
publications (runner.catalog).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_UNIT_TIMEOUT = 600.0


@dataclass(frozen=True)
class Settings:
    """What a build may be told from outside its sources (the environment, by default)."""
    #: seconds one render unit may take before its publication fails (a layout that loops)
    unit_timeout: float = DEFAULT_UNIT_TIMEOUT
    #: a print shop's CMYK profile instead of the project's own FOGRA39 profile
    cmyk_profile: Path | None = None

    @classmethod
    def from_environment(cls, environ=None) -> "Settings":
        """`TROTTER_UNIT_TIMEOUT` (seconds) and `TROTTER_CMYK_PROFILE` (a path)."""
        environ = os.environ if environ is None else environ
        timeout = DEFAULT_UNIT_TIMEOUT
        try:
            value = float(environ.get("TROTTER_UNIT_TIMEOUT", ""))
            timeout = value if value > 0 else DEFAULT_UNIT_TIMEOUT
        except ValueError:
            pass
        profile = environ.get("TROTTER_CMYK_PROFILE") or None
        return cls(unit_timeout=timeout, cmyk_profile=Path(profile) if profile else None)


@dataclass(frozen=True)
class Project:
    """One checkout: its root folder and settings; everything else is derived."""
    root: Path
    settings: Settings = field(default_factory=Settings)

    def __post_init__(self):
        object.__setattr__(self, "root", Path(self.root).resolve())

    @classmethod
    def of_checkout(cls, settings: Settings | None = None) -> "Project":
        """The checkout this code lies in (build.py beside trotter/), with the settings of
        the environment."""
        return cls(Path(__file__).resolve().parent.parent,
                   settings or Settings.from_environment())

    # -- where things are ------------------------------------------------------------------

    @property
    def dist(self) -> Path:
        return self.root / "dist"

    @property
    def cache(self) -> Path:
        """The build cache: dist/.cache/ (recorded inputs, laid-out units, memos)."""
        return self.dist / ".cache"

    @property
    def styles(self) -> Path:
        return self.root / "styles"

    @property
    def templates(self) -> Path:
        return self.root / "templates"

    @property
    def cahiers(self) -> Path:
        return self.root / "cahiers"

    @property
    def fonts(self) -> Path:
        """The static font instances made by setup (fonts.py) from the font packages."""
        return self.root / ".cache" / "fonts"

    @property
    def own_profile(self) -> Path:
        """The FOGRA39 profile setup builds (icc.py)."""
        from .icc import NAME

        return self.root / ".cache" / "icc" / NAME

    @property
    def profile(self) -> Path:
        """The CMYK output profile: a print shop's (settings) or the project's own."""
        return Path(self.settings.cmyk_profile or self.own_profile).resolve()

    # -- paths as people and cache entries see them ----------------------------------------

    def shown(self, path) -> str:
        """A path relative to the root when inside it (as recorded and reported), else
        absolute."""
        path = Path(path)
        if not path.is_absolute():
            return path.as_posix()
        return (path.relative_to(self.root).as_posix() if path.is_relative_to(self.root)
                else str(path))

    def absolute(self, name) -> Path:
        path = Path(name)
        return path if path.is_absolute() else self.root / path

    # -- what a build may read -------------------------------------------------------------

    def refusal(self, path, allowed_files=()) -> str | None:
        """Why a build of this project may not read `path` (policy.py), or None.
        `allowed_files`: its fonts and profile, for the readers that may load them."""
        from .policy import refusal

        return refusal(path, self.root, allowed_files)

    # -- the publications ------------------------------------------------------------------

    def catalog(self):
        """Every publication, read lightly (runner.catalog)."""
        from .runner import catalog

        return catalog(self)

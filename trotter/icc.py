"""The CMYK output profile of the print variant (PDF/X-4 output intent).

Default: a FOGRA39 profile (European offset on coated paper, ISO Coated v2 class), built at
setup (`make`) from the FOGRA39L characterisation data in Debian's `icc-profiles-free` with
ArgyllCMS `colprof`, and kept in `.cache/icc/` of the repository: `make clean` and
`make distclean` leave it alone, since it depends only on Debian's data. It is never downloaded.

Its separation holds preflight's promise: total ink limited to `preflight.MAX_INK` (300 %,
`-l300`; built without it, the profile turned saturated sRGB into up to 340 %), and the black
generation named (`-kr`, colprof's default: K a ramp from white to black, so that greys and
shadows are carried by K). The file name carries the ink limit and a recipe version: a
checkout with a profile of an earlier recipe builds the new one (`make` asks for the file by
name).
A print shop's own profile drops in with `TROTTER_CMYK_PROFILE=/path/to/profile.icc`.

    python -m trotter.icc      # build the default profile (what `make` runs)
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .errors import BuildError

TI3 = Path("/usr/share/color/icc/FOGRA39L.ti3")
INK_LIMIT = 300                     # % total area coverage; preflight.MAX_INK must agree
BLACK = "r"                         # colprof -k: K as a ramp from white to black (its default)
RECIPE = 2                          # bump when the colprof options change
NAME = f"FOGRA39-TAC{INK_LIMIT}-v{RECIPE}.icc"     # in the project's .cache/icc/
APT = "apt-get install argyll icc-profiles-free"


def require_profile(project) -> Path:
    """The project's CMYK output profile (Project.profile); BuildError when it is missing."""
    path = project.profile
    if not path.is_file():
        raise BuildError(f"CMYK output profile {path} not found: run `make` (it builds the "
                         f"FOGRA39 profile; needs `{APT}`) or set TROTTER_CMYK_PROFILE")
    return path


def build_profile(dest: Path) -> Path:
    """Build the FOGRA39 profile with colprof; the header date is fixed so the bytes repeat."""
    if not shutil.which("colprof") or not TI3.is_file():
        raise BuildError(f"cannot build the CMYK profile: colprof or {TI3} missing; run `{APT}`")
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(TI3, Path(tmp) / "FOGRA39L.ti3")
        subprocess.run(
            ["colprof", "-qm", f"-l{INK_LIMIT}", f"-k{BLACK}",
             "-D", f"FOGRA39 (ISO Coated v2 class), TAC {INK_LIMIT} %, Talenten Trotter",
             "-C", "Built with ArgyllCMS colprof from FOGRA39L (icc-profiles-free)",
             "-O", "FOGRA39.icc", "FOGRA39L"],
            cwd=tmp, check=True, stdout=subprocess.DEVNULL)
        data = bytearray((Path(tmp) / "FOGRA39.icc").read_bytes())
    data[24:36] = bytes(12)          # creation date/time: not part of the colour
    data[84:100] = bytes(16)         # profile ID: zero means "not computed"
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp_dest = dest.with_suffix(".tmp")
    tmp_dest.write_bytes(bytes(data))
    tmp_dest.replace(dest)
    return dest


if __name__ == "__main__":
    from .project import Project

    own = Project.of_checkout().own_profile
    try:
        if own.is_file():
            print(f"CMYK profile: {own}")
        else:
            print(f"building the FOGRA39 CMYK profile, {INK_LIMIT} % total ink (about 20 s) "
                  f"-> {build_profile(own)}")
    except (BuildError, subprocess.CalledProcessError) as exc:
        sys.exit(str(exc))

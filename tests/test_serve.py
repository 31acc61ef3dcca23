"""Live preview: `build.py serve` itself, run on a scratch repository with the sample
publication (tests/sample), driven over HTTP.

The scratch repository holds the build code, templates and styles and the sample as its one
publication, so nothing in dist/ or in the real publications is touched. The browser test
drives Debian's headless Chromium over the DevTools protocol on a pipe: open the page, save a
change to a source, see the new page image appear without reloading.
"""

import fcntl
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader

from conftest import PROJECT, ROOT

SAMPLE = Path(__file__).parent / "sample"
CHROMIUM = shutil.which("chromium")


class Server:
    """`build.py serve --port 0` in a repository: its URL, its state, stop it."""

    def __init__(self, repo: Path):
        self.repo = repo
        self.process = subprocess.Popen([sys.executable, "build.py", "serve", "--port", "0"],
                                        cwd=repo, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, text=True)
        line = self.process.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
        assert match, line
        self.url = match.group(1)

    def state(self) -> dict:
        return json.loads(get(self, "/state.json")[2])

    def stop(self, sig=signal.SIGTERM, timeout=30) -> float:
        started = time.monotonic()
        self.process.send_signal(sig)
        self.process.wait(timeout=timeout)
        return time.monotonic() - started


def scratch_repository(base: Path) -> Path:
    repo = base / "repo"
    for name in ("trotter", "templates", "styles", ".cache"):
        shutil.copytree(ROOT / name, repo / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "build.py", repo / "build.py")
    shutil.copytree(SAMPLE, repo / "book")
    return repo


@pytest.fixture(scope="module")
def preview(tmp_path_factory):
    repo = scratch_repository(tmp_path_factory.mktemp("serve"))
    server = Server(repo)
    try:
        state = wait_until(server, lambda st: st["round"] >= 1)
        assert state["ok"], state
        yield server, repo / "book", repo / "dist" / "print"
    finally:
        server.stop()


@pytest.fixture
def source(preview):
    """hoofdstuk.md of the sample; restored (and rebuilt) after the test."""
    server, folder, _ = preview
    path = folder / "hoofdstuk.md"
    original = path.read_text(encoding="utf-8")
    yield path
    if path.read_text(encoding="utf-8") != original:
        generation = server.state()["round"]
        path.write_text(original, encoding="utf-8")
        wait_until(server, lambda st: st["round"] > generation and st["ok"])


def wait_until(server, condition, timeout=90):
    """Wait for a finished build whose state satisfies `condition`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            state = server.state()
            if not state["building"] and condition(state):
                return state
        except (urllib.error.URLError, ConnectionError):
            pass
        assert time.monotonic() < deadline, "timed out waiting for the preview's build"
        time.sleep(0.1)


def get(server, path):
    with urllib.request.urlopen(server.url + path.lstrip("/"), timeout=30) as response:
        return response.status, response.headers.get("Content-Type"), response.read()


def page_with(pdf: Path, text: str) -> int:
    pages = [p.extract_text() for p in PdfReader(pdf).pages]
    return next(i for i, t in enumerate(pages, start=1) if text in t)


def test_page_lists_the_publication_and_its_spreads(preview):
    server, _, out = preview
    pages = len(PdfReader(out / "sample.pdf").pages)
    status, kind, body = get(server, "/?pub=sample")
    html = body.decode()
    assert status == 200 and kind.startswith("text/html")
    assert "Proefreis" in html and "?pub=sample" in html
    assert html.count("class='page'") == pages
    assert "/page/sample/1.png?" in html and "side=right" in html
    state = server.state()
    assert state["ok"] and state["generation"] >= 1


def test_only_requests_addressed_to_this_machine_are_answered(preview):
    """DNS rebinding: a web page at evil.example whose name now points at 127.0.0.1 sends
    `Host: evil.example:PORT`; it gets no page."""
    import http.client
    from urllib.parse import urlsplit

    server, _, _ = preview
    url = urlsplit(server.url)
    for host, status in ((f"evil.example:{url.port}", 421), ("evil.example", 421),
                         ("127.0.0.1.evil.example", 421), (f"localhost:{url.port}", 200),
                         (f"127.0.0.1:{url.port}", 200)):
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        try:
            connection.request("GET", "/state.json", headers={"Host": host})
            response = connection.getresponse()
            assert response.status == status, host
            response.read()
        finally:
            connection.close()


def test_the_specimen_is_the_first_entry(preview):
    server, _, _ = preview
    html = get(server, "/")[2].decode()
    assert "Specimen · Proefreis" in html and "?pub=specimen-sample" in html
    assert html.index("specimen-sample") < html.index("?pub=sample'")
    assert "class='page'" in html


def test_a_saved_stylesheet_shows_in_the_specimen_first(preview):
    server, folder, out = preview
    repo = folder.parent
    tokens = repo / "styles" / "tokens.css"
    original = tokens.read_text(encoding="utf-8")
    round_ = server.state()["round"]
    try:
        tokens.write_text(original.replace("--c-accent: device-cmyk(0 0.38 0.92 0);",
                                           "--c-accent: device-cmyk(0 0.60 0.92 0);"))
        wait_until(server, lambda st: st["round"] > round_ and st["ok"])
        specimen = repo / "dist" / "specimen" / "specimen-sample.pdf"
        assert specimen.stat().st_mtime_ns < (out / "sample.pdf").stat().st_mtime_ns
    finally:
        round_ = server.state()["round"]
        tokens.write_text(original)
        wait_until(server, lambda st: st["round"] > round_ and st["ok"])


def test_page_images_are_pngs_at_screen_resolution(preview):
    server, _, _ = preview
    status, kind, body = get(server, "/page/sample/2.png?side=left")
    image = Image.open(BytesIO(body))
    assert status == 200 and kind == "image/png"
    assert abs(image.width - (148 + 3) / 25.4 * 96) < 3     # A5 page + outer bleed, 96 dpi
    for path in ("/page/sample/999.png", "/page/nothing/1.png", "/page/sample/1.png?side=up",
                 "/etc/passwd"):
        with pytest.raises(urllib.error.HTTPError) as info:
            get(server, path)
        assert info.value.code == 404


def test_events_stream_sends_the_state(preview):
    server, _, _ = preview
    with urllib.request.urlopen(server.url + "events", timeout=10) as response:
        assert response.headers.get("Content-Type") == "text/event-stream"
        line = response.readline().decode()
    assert line.startswith("data: ") and '"generation"' in line


def test_build_error_shows_file_and_line_and_the_server_keeps_running(preview, source):
    server, _, _ = preview
    generation = server.state()["round"]
    source.write_text(source.read_text(encoding="utf-8").replace("::: aanrader", "::: onbekend"),
                      encoding="utf-8")
    state = wait_until(server, lambda st: st["round"] > generation and not st["ok"])
    assert "sample" in state["failed"]
    html = get(server, "/?pub=sample")[2].decode()
    assert "Build failed" in html
    assert "book/hoofdstuk.md:7</code> unknown box `onbekend`" in html
    assert "class='page'" not in html                     # no stale pages
    source.write_text(source.read_text(encoding="utf-8").replace("::: onbekend", "::: aanrader"),
                      encoding="utf-8")
    wait_until(server, lambda st: st["ok"])
    assert "class='page'" in get(server, "/?pub=sample")[2].decode()


class Chromium:
    """Headless Chromium driven over the DevTools protocol on a pipe (its fds 3 and 4)."""

    FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--window-size=1200,900", "--remote-debugging-pipe"]
    # Put the pipe ends on fds 3 and 4, then exec Chromium (no preexec_fn: threads run).
    LAUNCH = ("import fcntl, os, sys\n"
              "r, w = (fcntl.fcntl(int(fd), fcntl.F_DUPFD, 10) for fd in sys.argv[1:3])\n"
              "os.dup2(r, 3); os.dup2(w, 4); os.close(r); os.close(w)\n"
              "os.execv(sys.argv[3], sys.argv[3:])\n")

    def __init__(self, profile: Path):
        to_browser_r, self.to_browser = os.pipe()
        self.from_browser, from_browser_w = os.pipe()
        self.process = subprocess.Popen(
            [sys.executable, "-c", self.LAUNCH, str(to_browser_r), str(from_browser_w),
             CHROMIUM, *self.FLAGS, f"--user-data-dir={profile}", "about:blank"],
            pass_fds=(to_browser_r, from_browser_w),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.buffer, self.last_id, self.session = b"", 0, None
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target,
                                 flatten=True)["sessionId"]

    def call(self, method, timeout=30, **params):
        self.last_id += 1
        message = {"id": self.last_id, "method": method, "params": params}
        if self.session:
            message["sessionId"] = self.session
        os.write(self.to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" in self.buffer:
                raw, self.buffer = self.buffer.split(b"\0", 1)
                reply = json.loads(raw)
                if reply.get("id") == self.last_id:
                    assert "error" not in reply, reply
                    return reply["result"]
            left = deadline - time.monotonic()
            assert left > 0, f"Chromium did not answer {method}"
            if select.select([self.from_browser], [], [], left)[0]:
                chunk = os.read(self.from_browser, 1 << 16)
                assert chunk, "Chromium closed the pipe"
                self.buffer += chunk

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=True)
        assert "exceptionDetails" not in result, result
        return result["result"].get("value")

    def wait_for(self, expression, timeout=180):
        """Poll a JavaScript expression until it gives a truthy value; return that value."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {expression}")

    def close(self):
        try:
            self.call("Browser.close", timeout=5)
        except (AssertionError, OSError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self.to_browser)
        os.close(self.from_browser)


# The page image N once it is loaded: its src and a checksum of the pixels the browser shows.
SHOWN = """(() => {
  const img = document.querySelector("img.page[data-page='%d']");
  if (!img) return null;
  img.scrollIntoView();
  if (!img.complete || !img.naturalWidth) return null;
  const canvas = document.createElement("canvas");
  canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
  const context = canvas.getContext("2d");
  context.drawImage(img, 0, 0);
  const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
  let sum = 0;
  for (let i = 0; i < data.length; i += 4) sum = (sum * 31 + data[i] + 7 * data[i + 1]) | 0;
  return {src: img.getAttribute("src"), sum: sum, width: img.naturalWidth};
})()"""


def lock_is_free(repo: Path) -> bool:
    with open(repo / "dist" / ".lock", "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(fh, fcntl.LOCK_UN)
        return True


def worker_processes(repo: Path) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            command = (proc / "cmdline").read_bytes().split(b"\0")
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue
        if b"trotter.worker" in command and cwd == str(repo):
            found.append(int(proc.name))
    return found


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_stopping_the_server_stops_its_build(tmp_path, sig):
    repo = scratch_repository(tmp_path)
    chapter = repo / "book" / "hoofdstuk.md"
    chapter.write_text(chapter.read_text() + "\n" + "Een lange alinea. " * 30000 + "\n")
    server = Server(repo)
    deadline = time.monotonic() + 60
    while not worker_processes(repo):            # the build is under way
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert not lock_is_free(repo)
    assert server.stop(sig) < 20
    assert lock_is_free(repo)
    deadline = time.monotonic() + 10             # the workers end with their pool
    while worker_processes(repo):
        assert time.monotonic() < deadline, worker_processes(repo)
        time.sleep(0.1)
    assert not (repo / "dist" / "print" / "sample.pdf").exists()


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed "
                    "(Debian: apt-get install chromium; .ci/run installs it)")
def test_browser_shows_the_new_page_after_a_save(preview, source, tmp_path):
    server, _, out = preview
    number = page_with(out / "sample.pdf", "kiest bewust een route")
    browser = Chromium(tmp_path / "profile")
    try:
        browser.call("Page.navigate", url=server.url + "?pub=sample")
        before = browser.wait_for(SHOWN % number)
        browser.evaluate("window.notReloaded = true")
        generation = server.state()["round"]

        source.write_text(source.read_text(encoding="utf-8").replace(
            "kiest bewust een route.", "kiest bewust een andere, veel langere route."),
            encoding="utf-8")
        wait_until(server, lambda st: st["round"] > generation and st["ok"])
        after = browser.wait_for(
            f"(() => {{ const s = {SHOWN % number}; "
            f"return s && s.src !== {json.dumps(before['src'])} && s; }})()")
        assert after["sum"] != before["sum"]           # different pixels on screen
        assert after["width"] == before["width"]
        assert browser.evaluate("window.notReloaded === true")   # refreshed by itself

        source.write_text(source.read_text(encoding="utf-8").replace(
            "::: aanrader", "::: onbekend"), encoding="utf-8")
        error = browser.wait_for(
            "(() => { const e = document.querySelector('.build-error');"
            " return e && !document.querySelector('img.page') && e.textContent; })()")
        assert "hoofdstuk.md:7" in error and "onbekend" in error
    finally:
        browser.close()

"""The worker pool: render units in separate processes that import WeasyPrint once.

One pool serves every publication of a build (`build`, `watch`, `serve` and `release` run
through runner.py). A worker is `python -m trotter.worker` of this code, started when
the first task needs it, talking over its standard input and output; it inherits no state
of the build process (nothing is forked). Tasks wait in one queue, by priority (the largest
publication first), and a free worker takes the next one.

A worker that dies (killed, out of memory) fails only the task it was running, with the
reason; the pool starts a new worker for the rest. A task that runs longer than the unit
timeout (the project's setting, `TROTTER_UNIT_TIMEOUT` seconds, default 600: a layout that
loops) is stopped: its
worker is killed and the task fails naming the unit. `close()` ends the workers when the
build is over; `terminate()` kills them at once (Ctrl-C, a stopped server).
"""

from __future__ import annotations

import heapq
import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import Future
from multiprocessing.connection import Connection, Pipe, wait

from . import CODE
from .errors import BuildError
from .project import DEFAULT_UNIT_TIMEOUT


class WorkerDied(Exception):
    """The worker process running a task ended without an answer."""


class InternalError(Exception):
    """A worker raised an unexpected exception; the message is its traceback."""


def _reason(exitcode: int | None) -> str:
    if exitcode is None:
        return "it stopped answering"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = " (killed: out of memory?)" if -exitcode == signal.SIGKILL else ""
        return f"it was ended by {name}{hint}"
    return f"it exited with code {exitcode}"


class _Worker:
    def __init__(self):
        env = dict(os.environ)
        code = str(CODE.parent)          # the folder that holds this `trotter` package
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [code, env.get("PYTHONPATH")]))
        self.process = subprocess.Popen([sys.executable, "-m", "trotter.worker"], cwd=code,
                                        env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.tasks = Connection(os.dup(self.process.stdin.fileno()), readable=False)
        self.conn = Connection(os.dup(self.process.stdout.fileno()), writable=False)
        self.process.stdin.close()
        self.process.stdout.close()
        self.task = None                 # (future, kind, kwargs) while busy
        self.started = 0.0               # when it took its task (time.monotonic)
        self.timed_out = False
        self.task_kwargs: dict = {}      # of its last task, for the message when it died

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        if self.alive():
            self.process.kill()
        self.process.wait()
        for conn in (self.tasks, self.conn):
            conn.close()


class Pool:
    def __init__(self, jobs: int | None = None, timeout: float | None = None):
        """`timeout`: seconds one unit may take (a project's `settings.unit_timeout`)."""
        self.jobs = max(1, jobs or os.cpu_count() or 1)
        self.timeout = timeout or DEFAULT_UNIT_TIMEOUT
        self.queue: list = []
        self.counter = itertools.count()
        self.workers: list[_Worker] = []
        self.lock = threading.Condition()
        self.closed = False
        self.wake_r, self.wake_w = Pipe(duplex=False)
        self.thread = threading.Thread(target=self._dispatch, name="trotter-pool", daemon=True)
        self.thread.start()
        self.warm = threading.Thread(target=self._start_workers, name="trotter-pool-start",
                                     daemon=True)
        self.warm.start()            # WeasyPrint imports while the build reads its sources

    def _start_workers(self) -> None:
        for _ in range(self.jobs):
            with self.lock:
                if self.closed or len(self.workers) >= self.jobs:
                    return
                self.workers.append(_Worker())
        self._wake()

    # -- the interface ---------------------------------------------------------------------

    def submit(self, kind: str, kwargs: dict, priority: int = 0) -> Future:
        future: Future = Future()
        with self.lock:
            if self.closed:
                raise RuntimeError("the pool is closed")
            heapq.heappush(self.queue, (priority, next(self.counter), future, kind, kwargs))
        self._wake()
        return future

    def idle(self) -> bool:
        """A worker would start a task now (none queued, one free or not yet started)."""
        with self.lock:
            busy = sum(w.task is not None for w in self.workers)
            return not self.queue and busy < self.jobs

    def close(self) -> None:
        with self.lock:
            self.closed = True
        self._wake()
        self.thread.join(timeout=30)
        self.warm.join(timeout=30)
        for w in self.workers:          # a worker ends when its input closes; nothing to wait
            try:                        # for: its answers are all in
                w.tasks.send(None)
            except OSError:
                pass
            w.tasks.close()
            w.conn.close()

    def terminate(self) -> None:
        self.warm.join(timeout=30)
        with self.lock:
            self.closed = True
            for _, _, future, _, _ in self.queue:
                future.cancel()
            self.queue.clear()
        for w in self.workers:
            w.kill()
        self._wake()
        self.thread.join(timeout=10)
        for w in self.workers:
            if w.task and not w.task[0].done():
                w.task[0].set_exception(WorkerDied("the build was stopped"))

    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        if kind is None:
            self.close()
        else:
            self.terminate()

    # -- the dispatcher thread -------------------------------------------------------------

    def _wake(self) -> None:
        try:
            self.wake_w.send_bytes(b".")
        except OSError:
            pass

    def _assign(self) -> None:
        with self.lock:
            while self.queue and not self.closed:
                free = next((w for w in self.workers if w.task is None), None)
                if free is None and len(self.workers) < self.jobs:
                    free = _Worker()
                    self.workers.append(free)
                if free is None:
                    return
                _, _, future, kind, kwargs = heapq.heappop(self.queue)
                if not future.set_running_or_notify_cancel():
                    continue
                free.task = (future, kind, kwargs)
                free.started = time.monotonic()
                try:
                    free.tasks.send((kind, kwargs))
                except OSError:
                    pass                    # its death is noticed below

    def _dispatch(self) -> None:
        while True:
            with self.lock:
                if self.closed and not any(w.task for w in self.workers):
                    return
            if not (self.closed):
                self._assign()
            busy = [w for w in self.workers if w.task is not None]
            ready = wait([self.wake_r] + [w.conn for w in busy], timeout=1.0)
            now = time.monotonic()
            for w in busy:
                if now - w.started > self.timeout and w.alive():
                    w.timed_out = True          # noticed below as its death
                    w.process.kill()
                    w.process.wait()
            if self.wake_r in ready:
                while self.wake_r.poll():
                    self.wake_r.recv_bytes()
            for w in busy:
                if w.conn in ready:
                    try:
                        answer = w.conn.recv()
                    except (EOFError, OSError):
                        answer = None
                    if answer is not None:
                        self._answer(w, answer)
                        continue
                if w.conn in ready or not w.alive():   # its output ended: it died
                    try:
                        w.process.wait(timeout=5)
                    except subprocess.TimeoutExpired:
                        pass
                    code = w.process.returncode
                    w.kill()
                    future = w.task[0]
                    w.task_kwargs = w.task[2]
                    w.task = None
                    with self.lock:
                        self.workers.remove(w)
                    if future.done():
                        continue
                    if w.timed_out:
                        kwargs = w.task_kwargs
                        future.set_exception(BuildError(
                            f"laying out `{kwargs.get('unit') or 'a unit'}` took longer than "
                            f"{self.timeout:g} s, the unit timeout (TROTTER_UNIT_TIMEOUT): "
                            "it was stopped", kwargs.get("source")))
                    else:
                        future.set_exception(WorkerDied(
                            f"a worker process died: {_reason(code)}"))

    @staticmethod
    def _answer(w: _Worker, answer) -> None:
        future = w.task[0]
        w.task = None
        if future.done():
            return
        status = answer[0]
        if status == "ok":
            future.set_result(answer[1])
        elif status == "build":
            _, message, path, line = answer
            future.set_exception(BuildError(message, path, line))
        else:
            future.set_exception(InternalError(answer[1]))

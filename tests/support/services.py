"""A private ``redis-server`` on a free port, and real ``celery worker`` processes against it.

Nothing here touches the machine's own Redis on 6379: every server gets its own port and its
own directory, and is stopped (with its workers) when the test ends.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


class RedisServer:
    """``redis-server`` on its own port and directory; AOF on, so a restart keeps the queue."""

    def __init__(self, workdir: Path, *, appendonly: bool = True) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.appendonly = appendonly
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", str(self.workdir), "--save", "", "--daemonize", "no",
             "--appendonly", "yes" if self.appendonly else "no", "--appendfsync", "everysec",
             "--logfile", str(self.workdir / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait(self.ping, 10, f"redis-server on port {self.port}")
        return self

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


class CeleryWorker:
    """A real ``celery -A <app> worker`` process on the given queues (``workers`` by default)."""

    def __init__(self, broker_url: str, queues: str, workdir: Path, *, name: str = "w1",
                 concurrency: int = 1, env: dict[str, str] | None = None,
                 app: str = "mediapipe.workers") -> None:
        self.app = app
        self.broker_url = broker_url
        self.queues = queues
        self.name = name
        self.concurrency = concurrency
        self.log = workdir / f"celery-{name}.log"
        self.env = env or {}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> CeleryWorker:
        env = {**os.environ, "MEDIAPIPE_BROKER_URL": self.broker_url,
               "PYTHONPATH": str(ROOT), **self.env}
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", self.app, "worker",
                 "-Q", self.queues, "-c", str(self.concurrency), "-n", f"{self.name}@%h",
                 "--pool", "prefork", "--without-gossip", "--without-mingle",
                 "--without-heartbeat", "-l", "info"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        _wait(lambda: b" ready." in self.log.read_bytes() or self.proc.poll() is not None,
              timeout, f"celery worker {self.name}")
        if self.proc.poll() is not None:
            raise RuntimeError(f"worker {self.name} died:\n{self.log.read_text()[-3000:]}")
        return self

    def received(self, task: str) -> int:
        """How many ``task`` messages (a full name) it took off its queues: Celery logs each."""
        return self.log.read_bytes().count(f"Task {task}[".encode())

    def children(self) -> list[int]:
        """PIDs of the pool's child processes (where tasks run)."""
        if not self.proc:
            return []
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True,
                             text=True, check=False).stdout
        return [int(p) for p in out.split()]

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None


@contextlib.contextmanager
def running(*services: RedisServer | CeleryWorker) -> Iterator[None]:
    try:
        yield
    finally:
        for s in reversed(services):
            s.stop()

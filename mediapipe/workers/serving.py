"""Serving metrics over HTTP so that no client can stop the process that serves them.

Owns: ``MetricsServer``, one thread running an asyncio loop (not a thread per connection):
at most ``max_connections`` connections open at once (one more is closed as it is accepted, so
the server never holds more than that many descriptors), each request read and answered within
``request_timeout_s`` (an idle, half-sent, TLS or HTTP/0.9 client is closed, never waited on),
the scrape itself rendered in one worker thread (a slow catalog or broker does not stall the
loop); a listening socket that fails (destroyed under it, ``ss -K``) closed and bound again
after a pause, never spun on; and ``Throttled``, each kind of failure logged as one line at
most once a minute (with how many were folded in). A port in use at start is one
``ConfigError``; later, the server only logs: the run never depends on it. Does not own: what
is served (``workers.metrics``: the registry) or which address (the CLI's option; 127.0.0.1
unless asked).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import errno
import logging
import socket
import threading
import time
from collections.abc import Callable

from mediapipe.errors import ConfigError

__all__ = ["MetricsServer", "Throttled"]

log = logging.getLogger("mediapipe.metrics")

MAX_CONNECTIONS = 32
REQUEST_TIMEOUT_S = 10.0
RENDER_TIMEOUT_S = 30.0
REBIND_PAUSE_S = (1.0, 60.0)  # first and longest pause before the socket is bound again
_EXHAUSTED = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
_CLIENT_GONE = {errno.ECONNABORTED, errno.EPROTO, errno.EAGAIN, errno.EWOULDBLOCK}
_MAX_LINE = 8192


class Throttled:
    """One log line per ``key`` at most every ``every_s`` seconds; the folded ones counted."""

    def __init__(self, logger: logging.Logger, every_s: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.logger, self.every_s, self.clock = logger, every_s, clock
        self._last: dict[str, float] = {}
        self._folded: dict[str, int] = {}

    def warning(self, key: str, message: str) -> bool:
        """Log ``message`` unless ``key`` was logged within ``every_s``; True if logged."""
        now = self.clock()
        if now - self._last.get(key, float("-inf")) < self.every_s:
            self._folded[key] = self._folded.get(key, 0) + 1
            return False
        folded = self._folded.pop(key, 0)
        self._last[key] = now
        self.logger.warning("%s%s", message,
                            f" ({folded} more like it in the last minute)" if folded else "")
        return True


def _bind(address: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        sock.listen(128)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class MetricsServer:
    """``render()``'s bytes (Prometheus text) served on ``address:port`` by one thread."""

    def __init__(self, render: Callable[[], bytes], port: int, address: str = "127.0.0.1", *,
                 max_connections: int = MAX_CONNECTIONS,
                 request_timeout_s: float = REQUEST_TIMEOUT_S) -> None:
        self.render, self.port, self.address = render, port, address
        self.max_connections, self.request_timeout_s = max_connections, request_timeout_s
        self.open = 0  # connections held now
        self.rebinds = 0  # how often the listening socket was bound again
        self.problems = Throttled(log)
        self._pool = concurrent.futures.ThreadPoolExecutor(1, "mediapipe-metrics-render")
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self._clients: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        """Bind (a port in use: ``ConfigError``) and serve in a daemon thread."""
        try:
            self._sock = _bind(self.address, self.port)
        except OSError as exc:
            why = ("is in use by another process" if exc.errno == errno.EADDRINUSE
                   else f"cannot be bound: {exc.strerror or exc}")
            raise ConfigError("--metrics-port", f"{self.address}:{self.port} {why}; pick "
                                                "another --metrics-port or --metrics-address"
                              ) from exc
        self._thread = threading.Thread(target=self._run, name="mediapipe-metrics", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping = True
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):  # already closed
                self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        """The thread: the loop, started again (after a pause, said once a minute) if it
        ever fails; the run it serves never depends on it."""
        while not self._stopping:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._serve())
            except RuntimeError:  # stopped by ``stop``
                pass
            except Exception as exc:  # the thread's edge: said, never a traceback per client
                self.problems.warning("died", f"metrics: the server failed "
                                              f"({type(exc).__name__}: {exc}); restarting")
                self._drop_socket()
                time.sleep(REBIND_PAUSE_S[0])
            finally:
                loop.close()

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        pause = REBIND_PAUSE_S[0]
        while not self._stopping:
            sock = self._sock
            if sock is None:
                try:
                    sock = self._sock = _bind(self.address, self.port)
                    self.rebinds += 1
                    log.warning("metrics: serving %s:%d again", self.address, self.port)
                    pause = REBIND_PAUSE_S[0]
                except OSError as exc:
                    self.problems.warning("bind", f"metrics: {self.address}:{self.port} "
                                                  f"cannot be bound again: {exc}; retrying")
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, REBIND_PAUSE_S[1])
                    continue
            try:
                conn, _peer = await loop.sock_accept(sock)
            except OSError as exc:
                if exc.errno in _CLIENT_GONE:
                    continue
                if exc.errno in _EXHAUSTED:  # this process is out of descriptors: wait
                    self.problems.warning("exhausted", f"metrics: cannot accept a connection: "
                                                       f"{exc.strerror}; pausing")
                    await asyncio.sleep(1.0)
                    continue
                self.problems.warning("socket", f"metrics: the listening socket failed "
                                                f"({exc.strerror or exc}); binding it again")
                self._drop_socket()
                await asyncio.sleep(pause)
                continue
            if self.open >= self.max_connections:
                self.problems.warning("cap", f"metrics: {self.open} connections open, the "
                                             "most allowed: closing new ones")
                conn.close()
                continue
            conn.setblocking(False)
            self.open += 1
            task = loop.create_task(self._client(conn))
            self._clients.add(task)  # held until done: the loop keeps weak references only
            task.add_done_callback(self._clients.discard)

    def _drop_socket(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    async def _client(self, conn: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        try:
            reply = await asyncio.wait_for(self._request(conn), self.request_timeout_s)
            if reply:
                await asyncio.wait_for(loop.sock_sendall(conn, reply), self.request_timeout_s)
        except TimeoutError:
            pass  # idle or half-sent: closed
        except (OSError, ValueError, UnicodeError) as exc:  # a client's fault: closed, said
            self.problems.warning("client", f"metrics: a client connection failed: {exc}")
        finally:
            conn.close()
            self.open -= 1

    async def _request(self, conn: socket.socket) -> bytes:
        """The reply to one request: the metrics for ``GET /metrics`` (or ``/``), an error
        status for anything else; empty (closed unanswered) for what is not HTTP."""
        loop = asyncio.get_running_loop()
        data = b""
        while b"\r\n\r\n" not in data and b"\n\n" not in data:
            chunk = await loop.sock_recv(conn, 4096)
            if not chunk:
                return b""
            data += chunk
            if len(data) > _MAX_LINE:
                return _reply(431, b"request too large\n")
            first = data.split(b"\n", 1)[0]
            if b"\n" in data and not first.rstrip().endswith((b"HTTP/1.0", b"HTTP/1.1")):
                return _reply(400, b"HTTP/1.0 or 1.1 only\n") if first[:1].isalpha() else b""
        parts = data.split(b"\n", 1)[0].split()
        if len(parts) != 3:
            return _reply(400, b"a request line is METHOD PATH VERSION\n")
        method, path, _version = parts
        if method not in (b"GET", b"HEAD"):
            return _reply(405, b"GET only\n")
        if path.split(b"?", 1)[0] not in (b"/metrics", b"/"):
            return _reply(404, b"/metrics\n")
        try:
            body = await asyncio.wait_for(loop.run_in_executor(self._pool, self.render),
                                          RENDER_TIMEOUT_S)
        except Exception as exc:  # a collector failed: said once a minute, a 500 to the client
            self.problems.warning("render", f"metrics: a scrape failed: "
                                            f"{type(exc).__name__}: {exc}")
            return _reply(500, b"scrape failed\n")
        return _reply(200, b"" if method == b"HEAD" else body,
                      "text/plain; version=0.0.4; charset=utf-8")


def _reply(status: int, body: bytes, content_type: str = "text/plain; charset=utf-8") -> bytes:
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
              431: "Request Header Fields Too Large", 500: "Internal Server Error"}[status]
    head = (f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
    return head.encode() + body

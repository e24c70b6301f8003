"""The metrics port no client can kill: idle, half-sent, TLS and HTTP/0.9 clients closed on a
timer; connections capped; a destroyed listening socket bound again without spinning; a flood of
1,100 idle connections under ``ulimit -n 1024`` leaves ``ingest --watch`` working; failures one
line a minute; 127.0.0.1 unless asked."""

from __future__ import annotations

import logging
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fixtures import images
from mediapipe.workers.serving import MetricsServer, Throttled
from tests.support.metrics_clients import (
    flood,
    hold_enough_descriptors,
    scrape,
    try_scrape,
    watch_under_ulimit,
)
from tests.support.services import free_port
from tests.test_metrics import stop, wait_for

BODY = b"# HELP mediapipe_up 1\nmediapipe_up 1.0\n"


@pytest.fixture
def server() -> Iterator[MetricsServer]:
    s = MetricsServer(lambda: BODY, free_port(), max_connections=8, request_timeout_s=1.0)
    s.start()
    yield s
    s.stop()


def connect(port: int, send: bytes = b"") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    if send:
        sock.sendall(send)
    return sock


def closed_within(sock: socket.socket, seconds: float) -> tuple[bool, bytes]:
    """Whether the server closed ``sock`` within ``seconds``, and what it sent first."""
    sock.settimeout(seconds)
    got = b""
    try:
        while chunk := sock.recv(4096):
            got += chunk
    except TimeoutError:
        return False, got
    except ConnectionResetError:
        pass
    return True, got


@pytest.mark.parametrize("sent, answer", [
    (b"", b""),
    (b"GET /metrics HTTP/1.1\r\nHost: x", b""),  # half-sent headers
    (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", b""),  # a TLS client hello
    (b"GET /metrics\r\n", b"HTTP/1.1 400"),  # HTTP/0.9
    (b"POST /metrics HTTP/1.1\r\n\r\n", b"HTTP/1.1 405"),
    (b"GET /etc/passwd HTTP/1.1\r\n\r\n", b"HTTP/1.1 404"),
    (b"HTTP/1.1\r\n\r\n", b"HTTP/1.1 400"),
    (b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 2000, b"HTTP/1.1 431"),
], ids=["idle", "half-sent", "tls-hello", "http-0.9", "post", "other-path", "no-method",
        "headers-too-large"])
def test_a_client_that_does_not_speak_http_is_closed_on_a_timer(
        server: MetricsServer, sent: bytes, answer: bytes) -> None:
    closed, got = closed_within(connect(server.port, sent), 5.0)
    assert closed, "closed after the request timeout (1 s here)"
    assert got.startswith(answer)
    assert scrape(server.port).encode() == BODY, "and the next scrape is served"


def test_connections_past_the_cap_are_closed_at_once_and_the_held_ones_time_out() -> None:
    server = MetricsServer(lambda: BODY, free_port(), max_connections=8, request_timeout_s=4.0)
    server.start()
    try:
        held = [connect(server.port, b"GET /") for _ in range(8)]
        deadline = time.monotonic() + 5
        while server.open < 8 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.open == 8
        closed, _ = closed_within(connect(server.port), 2.0)
        assert closed, "the ninth is closed as it is accepted: descriptors stay bounded"
        assert server.open == 8
        time.sleep(4.5)  # the held ones time out
        assert scrape(server.port).encode() == BODY
        for sock in held:
            sock.close()
    finally:
        server.stop()


def _ss_kill(server: MetricsServer) -> None:
    done = subprocess.run(["ss", "-K", "-tl", f"sport = :{server.port}"], capture_output=True)
    if done.returncode or str(server.port) not in done.stdout.decode():
        pytest.skip("ss -K cannot destroy sockets here (needs CAP_NET_ADMIN, INET_DIAG_DESTROY)")


def _shut_down(server: MetricsServer) -> None:
    assert server._sock is not None
    server._sock.shutdown(socket.SHUT_RDWR)  # what `ss -K` does to a listening socket


@pytest.mark.parametrize("destroy", [_ss_kill, _shut_down], ids=["ss-K", "shutdown"])
def test_a_destroyed_listening_socket_is_bound_again_without_spinning(
        server: MetricsServer, destroy: Callable[[MetricsServer], None]) -> None:
    destroy(server)
    cpu = time.process_time()
    wait = time.monotonic() + 10
    while server.rebinds == 0 and time.monotonic() < wait:
        time.sleep(0.1)
    assert server.rebinds == 1, "bound again"
    assert scrape(server.port).encode() == BODY
    time.sleep(1.0)
    assert time.process_time() - cpu < 0.5, "no core spun meanwhile"


def test_a_failure_is_logged_once_a_minute_however_often_it_happens(
        caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    throttled = Throttled(logging.getLogger("t"), clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, "t"):
        for _ in range(290):
            throttled.warning("cap", "too many")
        now[0] = 61.0
        throttled.warning("cap", "too many")
    assert [r.getMessage() for r in caplog.records] == [
        "too many", "too many (289 more like it in the last minute)"]


def test_the_metrics_port_binds_this_machine_only_unless_asked() -> None:
    from click.testing import CliRunner

    from mediapipe.cli.main import cli

    help_text = CliRunner().invoke(cli, ["ingest", "--help"]).output
    assert "[default: 127.0.0.1]" in help_text


def test_1100_idle_connections_under_ulimit_1024_leave_the_watch_working(
        tmp_path: Path, media_root: Path) -> None:
    hold_enough_descriptors()
    lib = tmp_path / "lib"
    lib.mkdir()
    images.jpeg(lib / "a.jpg", (320, 240))
    port, log = free_port(), tmp_path / "watch.log"
    proc = watch_under_ulimit(lib, media_root, port, log)
    held: list[socket.socket] = []
    try:
        wait_for(lambda: "mediapipe_last_scan_success" in try_scrape(port), proc, log,
                 timeout=120)
        held = flood(port, 1100, [b"GET /metrics HTTP/1.1\r\nHost: x"])  # half-sent headers
        assert len(held) >= 1000, "the flood got in (the kernel's backlog holds the rest)"
        images.jpeg(lib / "b.jpg", (320, 240))  # the watch must still see and ingest it
        wait_for(lambda: log.read_text(errors="replace").count("1 new") >= 2, proc, log,
                 timeout=60)
        assert proc.poll() is None, log.read_text()
        for sock in held:
            sock.close()
        held.clear()
        wait_for(lambda: "mediapipe_assets" in try_scrape(port), proc, log, timeout=30)
        text = log.read_text(errors="replace")
        assert "Traceback" not in text
        assert text.count("metrics:") <= 3, "failures: one line each, once a minute"
    finally:
        for sock in held:
            sock.close()
        stop(proc)

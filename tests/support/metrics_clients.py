"""Hostile clients of the metrics port, as the tests of ``ingest --watch --metrics-port`` send them.

``HOSTILE_OPENINGS`` are the first bytes of each kind (idle, half-sent headers, a TLS hello,
HTTP/0.9); ``flood`` holds up to ``n`` connections, each sending one of them;
``watch_under_ulimit`` starts the watch in its own process under ``ulimit -n 1024`` (a process
boundary is the point: the descriptor limit and the listening socket are that process's own);
``scrape``/``try_scrape`` read ``/metrics`` (``""`` while the port does not answer).
"""

from __future__ import annotations

import contextlib
import os
import resource
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WATCH_NOFILE = 1024  # the descriptor limit the watch runs under
OWN_NOFILE = 1300  # what the test itself needs to hold the flood

HOSTILE_OPENINGS = (b"", b"GET /metrics HTTP/1.1\r\nHost: x", b"\x16\x03\x01\x02\x00\x01\x00",
                    b"GET /metrics\r\n")


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        return str(r.read().decode())


def try_scrape(port: int) -> str:
    try:
        return scrape(port)
    except OSError:
        return ""


def hold_enough_descriptors() -> None:
    """Raise this process's soft limit to ``OWN_NOFILE``; skip where the hard limit is lower."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < OWN_NOFILE:
        pytest.skip(f"this test needs {OWN_NOFILE} descriptors of its own")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, OWN_NOFILE), hard))


def _low_nofile() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (WATCH_NOFILE, WATCH_NOFILE))


def watch_under_ulimit(library: Path, media_root: Path, port: int,
                       log: Path) -> subprocess.Popen[bytes]:
    """``mediapipe ingest LIBRARY --watch --metrics-port PORT`` (one worker, settling in 1 s)
    under ``ulimit -n 1024``, its output in ``log``; a session of its own."""
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "mediapipe", "ingest", str(library), "--media-root",
             str(media_root), "--workers", "1", "--watch", "--metrics-port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT,
            preexec_fn=_low_nofile,
            env={**os.environ, "PYTHONPATH": str(ROOT),
                 "MEDIAPIPE_LIBRARY_WATCH_SETTLE_SECONDS": "1"})


def flood(port: int, n: int, openings: Sequence[bytes]) -> list[socket.socket]:
    """Up to ``n`` connections held open, the i-th sending ``openings[i % len(openings)]``;
    fewer once the kernel's backlog refuses (the kernel, not the server)."""
    held: list[socket.socket] = []
    for i in range(n):
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError:
            break
        held.append(sock)
        with contextlib.suppress(OSError):  # closed at once past the cap: still counted
            sock.sendall(openings[i % len(openings)])
    return held

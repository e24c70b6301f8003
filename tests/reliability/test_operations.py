"""Operated as a service: SIGTERM and SIGINT end ``ingest`` and ``--watch`` within seconds in
every state (waiting for a queue no worker serves, idle, processing), the catalog consistent;
without a terminal, a progress line for the journal; a file without read permission fails once
(exit 12) and later timer runs are green; a worker killed with ``kill -9`` is noticed and its
task sent again within a minute or two."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from fixtures import images
from tests.reliability.harness import (
    STATES,
    Figures,
    account,
    catalog_rows,
    finish_ingest,
    partial_files,
    run_ingest,
    start_ingest,
)
from tests.support.services import CeleryWorker, RedisServer

ROOT = Path(__file__).resolve().parents[2]
STOP_WITHIN_S = 10.0


def _start(args: list[str], log: Path, **env: str) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "mediapipe", *args], stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True, cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), **env})


def _until(predicate: object, proc: subprocess.Popen[bytes], log: Path,
           timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
        assert time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
        time.sleep(0.1)


def _stopped_in(proc: subprocess.Popen[bytes], sig: int, *,
                group: bool = False) -> tuple[int, float]:
    """Send ``sig`` to the command alone (as systemd's KillMode=mixed does first), or to its
    whole group (KillMode=control-group: the pool processes too); its exit code and how long
    it took."""
    t0 = time.monotonic()
    if group:
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)
    try:
        code = proc.wait(STOP_WITHIN_S + 5)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        pytest.fail(f"still running {STOP_WITHIN_S + 5:.0f}s after {sig!r}")
    return code, time.monotonic() - t0


def _library(tmp_path: Path, photos: int, size: tuple[int, int] = (640, 480)) -> Path:
    lib = tmp_path / "lib"
    lib.mkdir()
    for i in range(photos):
        images.jpeg(lib / f"p{i:04d}.jpg", size)
    return lib


def _catalog_ok(root: Path) -> None:
    check = subprocess.run([sys.executable, "-m", "mediapipe", "catalog", "check",
                            "--media-root", str(root)], capture_output=True, text=True,
                           cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr
    assert partial_files(root) == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_watch_waiting_on_a_queue_no_worker_serves_stops_within_seconds(
        redis_server: RedisServer, tmp_path: Path, media_root: Path, sig: int) -> None:
    lib = _library(tmp_path, 2)
    log = tmp_path / "watch.log"
    proc = _start(["ingest", str(lib), "--media-root", str(media_root), "--watch",
                   "--broker", redis_server.url], log)
    _until(lambda: "no worker serves" in log.read_text(errors="replace"), proc, log)
    code, took = _stopped_in(proc, sig)
    assert code == 0, log.read_text()  # a service stopped on purpose
    assert took < STOP_WITHIN_S
    _catalog_ok(media_root)


@pytest.mark.parametrize("sig, group", [(signal.SIGTERM, False), (signal.SIGINT, False),
                                        (signal.SIGTERM, True), (signal.SIGINT, True)],
                         ids=["SIGTERM", "SIGINT", "SIGTERM-to-the-group", "Ctrl-C"])
def test_an_ingest_stops_while_it_processes_and_a_rerun_finishes_the_rest(
        tmp_path: Path, media_root: Path, sig: int, group: bool) -> None:
    lib = _library(tmp_path, 150, (1600, 1200))
    log = tmp_path / "ingest.log"
    proc = _start(["ingest", str(lib), "--media-root", str(media_root), "--workers", "2",
                   "--progress-every", "0.5"], log)
    _until(lambda: " done, " in log.read_text(errors="replace"), proc, log)
    code, took = _stopped_in(proc, sig, group=group)
    text = log.read_text(errors="replace")
    assert (code, took < STOP_WITHIN_S) == (130, True), text
    assert "stopped by SIG" in text and "Traceback" not in text
    _catalog_ok(media_root)
    rerun = subprocess.run([sys.executable, "-m", "mediapipe", "ingest", str(lib),
                            "--media-root", str(media_root), "--workers", "2"],
                           capture_output=True, text=True, cwd=ROOT, timeout=300,
                           env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert rerun.returncode == 0, rerun.stderr
    assert "0 failed" in rerun.stdout


@pytest.mark.parametrize("group", [False, True], ids=["the-command", "its-whole-group"])
def test_a_watch_stops_on_sigterm_idle_or_processing(tmp_path: Path, media_root: Path,
                                                    group: bool) -> None:
    lib = _library(tmp_path, 1)
    log = tmp_path / "watch.log"
    proc = _start(["ingest", str(lib), "--media-root", str(media_root), "--watch",
                   "--workers", "2", "--progress-every", "0.5"], log,
                  MEDIAPIPE_LIBRARY_WATCH_SETTLE_SECONDS="0.5")
    _until(lambda: "1 processed" in log.read_text(errors="replace"), proc, log)
    for i in range(60):  # a batch arrives: the watch is processing it when stopped
        images.jpeg(lib / f"new{i:03d}.jpg", (1600, 1200))
    time.sleep(2.0)
    code, took = _stopped_in(proc, signal.SIGTERM, group=group)
    text = log.read_text(errors="replace")
    assert (code, took < STOP_WITHIN_S) == (0, True), text
    assert "Traceback" not in text
    assert "mediapipe.progress: ingest: " in text, "a watch's ingests have journal lines too"
    _catalog_ok(media_root)


def test_without_a_terminal_progress_is_a_line_every_few_seconds(
        tmp_path: Path, media_root: Path) -> None:
    lib = _library(tmp_path, 40)
    run = subprocess.run([sys.executable, "-m", "mediapipe", "ingest", str(lib),
                          "--media-root", str(media_root), "--workers", "1",
                          "--progress-every", "0.2"],
                         capture_output=True, text=True, cwd=ROOT, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert run.returncode == 0, run.stderr
    lines = [line for line in run.stderr.splitlines() if "mediapipe.progress" in line]
    assert lines, run.stderr
    last = lines[-1]
    for part in ("/40 done, ", " failed, ", "/s, ETA "):
        assert part in last, last
    quiet = subprocess.run([sys.executable, "-m", "mediapipe", "-q", "ingest", str(lib),
                            "--media-root", str(media_root), "--workers", "1", "--force",
                            "--progress-every", "0.2"],
                           capture_output=True, text=True, cwd=ROOT, timeout=300,
                           env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert quiet.returncode == 0 and "progress" not in quiet.stderr, quiet.stderr


NO_CAPS = ["setpriv", "--bounding-set=-all", "--inh-caps=-all"]  # root bound by file modes


def _no_caps(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*NO_CAPS, sys.executable, "-m", "mediapipe", *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_a_file_without_read_permission_fails_once_then_the_timer_is_green(
        tmp_path: Path, media_root: Path) -> None:
    if subprocess.run([*NO_CAPS, "true"], capture_output=True).returncode:
        pytest.skip("setpriv cannot drop capabilities here")
    lib = _library(tmp_path, 2)
    secret = lib / "p0001.jpg"
    secret.chmod(0o000)
    args = ("ingest", str(lib), "--media-root", str(media_root), "--workers", "1")
    first = _no_caps(*args)
    assert first.returncode == 12, first.stderr  # Unreadable: a failure, recorded
    assert "no read permission" in first.stderr
    second = _no_caps(*args)
    assert second.returncode == 0, second.stderr  # nothing new failed: the timer succeeds
    assert "1 assets failed in earlier runs" in second.stderr
    failed = _no_caps("ls", "--failed", "--media-root", str(media_root))
    assert failed.returncode == 0 and "p0001.jpg" in failed.stdout, failed.stderr
    assert "Unreadable" in failed.stdout or "no read permission" in failed.stdout
    secret.chmod(0o644)  # fixed: tried again when asked
    retried = _no_caps(*args, "--retry-failed")
    assert retried.returncode == 0 and "0 failed" in retried.stdout, retried.stderr


def test_kill_9_of_a_workers_main_process_is_noticed_and_its_task_sent_again(
        redis_server: RedisServer, celery_worker: Callable[..., CeleryWorker],
        tmp_path: Path, media_root: Path) -> None:
    """The visibility timeout stays at its default (6 h): only the coordinator's check of what
    live workers hold brings the dead worker's task back."""
    from fixtures import videos

    lib = tmp_path / "lib"
    lib.mkdir()
    videos.video(lib / "clip.mkv", size=(640, 480), duration=6.0, fps=25, pix_fmt="yuv444p",
                 audio=())
    env = {"MEDIAPIPE_WORKER_REDISPATCH_AFTER": "5", "MEDIAPIPE_FFMPEG_PRESET": "veryslow"}
    doomed = celery_worker("metadata,thumbnails,video", name="doomed", env=env)
    started = time.monotonic()
    proc = start_ingest(lib, media_root, "--broker", redis_server.url,
                        env={"PYTHONPATH": str(ROOT), **env})
    deadline = time.monotonic() + 120
    while not doomed.received("mediapipe.video"):  # it holds the transcode now
        assert time.monotonic() < deadline and proc.poll() is None, doomed.log.read_text()
        time.sleep(0.1)
    doomed.stop(signal.SIGKILL)  # the main process and its pool: kill -9, no goodbye
    killed = time.monotonic()
    celery_worker("metadata,thumbnails,video", name="heir", env=env)
    run = finish_ingest(proc, 240, started=started)
    assert run.code == 0, run.stderr
    assert time.monotonic() - killed < 120, "noticed within a minute or two, not 6 h"
    assert "held by no live worker" in run.stderr
    assert run.summary["failed"] == 0
    assert list((media_root / "encoded-video").rglob("*.mp4")), "the transcode was made"


@pytest.mark.slow
def test_soak_sigterm_at_random_moments_then_a_rerun_finishes(
        tmp_path: Path, media_root: Path, ledger: Callable[[Figures], Figures]) -> None:
    """Each SIGTERM ends the run within seconds (exit 130, or 0 when it had just finished),
    nothing partial is left and the catalog checks clean; a last run processes the rest."""
    rng = random.Random(33)
    lib = _library(tmp_path, 300, (1600, 1200))
    slow: list[float] = []
    for i in range(6):
        log = tmp_path / f"ingest-{i}.log"
        proc = _start(["ingest", str(lib), "--media-root", str(media_root), "--workers", "2"],
                      log)
        time.sleep(rng.uniform(0.2, 4.0))  # scanning, warming the pool, or processing
        code, took = _stopped_in(proc, rng.choice([signal.SIGTERM, signal.SIGINT]))
        assert code in (0, 130), log.read_text()
        assert "Traceback" not in log.read_text(errors="replace")
        if took >= STOP_WITHIN_S:
            slow.append(took)
        _catalog_ok(media_root)
    rerun = run_ingest(lib, media_root, "--workers", "2", env={"PYTHONPATH": str(ROOT)},
                       timeout=600)
    fig, detail = account("soak: SIGTERM/SIGINT at random moments (6 stops), then a re-run",
                          sorted(lib.iterdir()), media_root, [rerun])
    fig.hung = len(slow)
    ledger(fig)
    assert not slow, f"stops that took too long: {slow}"
    assert fig.processed == fig.tried and fig.lost == fig.crashed == fig.partial == 0, detail


@pytest.mark.slow
def test_soak_hostile_metrics_clients_while_the_watch_ingests(
        tmp_path: Path, media_root: Path, ledger: Callable[[Figures], Figures]) -> None:
    """1,100 connections of every hostile kind (idle, half-sent, TLS hello, HTTP/0.9) held
    against ``--watch --metrics-port`` under ``ulimit -n 1024``, while 40 photos arrive: all
    are ingested, the port serves again after, and the log holds no traceback."""
    import socket

    from tests.support.metrics_clients import (
        HOSTILE_OPENINGS,
        flood,
        hold_enough_descriptors,
        try_scrape,
        watch_under_ulimit,
    )
    from tests.support.services import free_port

    hold_enough_descriptors()
    lib = _library(tmp_path, 1)
    port, log = free_port(), tmp_path / "watch.log"
    proc = watch_under_ulimit(lib, media_root, port, log)
    held: list[socket.socket] = []
    try:
        _until(lambda: "mediapipe_last_scan_success" in try_scrape(port), proc, log)
        held = flood(port, 1100, HOSTILE_OPENINGS)
        for i in range(40):
            images.jpeg(lib / f"late{i:03d}.jpg", (640, 480))
        _until(lambda: _done(media_root) == 41, proc, log, timeout=180)
        assert proc.poll() is None
    finally:
        for sock in held:
            sock.close()
        code, _took = _stopped_in(proc, signal.SIGTERM)
    text = log.read_text(errors="replace")
    fig, detail = account("soak: 1,100 hostile metrics clients under ulimit -n 1024 (watch)",
                          sorted(lib.iterdir()), media_root, [])
    ledger(fig)
    assert code == 0 and "Traceback" not in text, text[-3000:]
    assert fig.processed == fig.tried == 41, detail


def _done(root: Path) -> int:
    """Sources of the catalog with no step pending."""
    try:
        rows = catalog_rows(root)
    except sqlite3.Error:
        return 0
    return sum(all(row[state] != "pending" for state in STATES) for row in rows.values())


@pytest.mark.parametrize("flags, shows_steps, code", [
    (["-v"], True, 0), (["-q"], False, 0), ([], False, 0), (["-q", "-v"], False, 2),
], ids=["-v-is-info", "-q-is-error", "default-warning", "-q-and-v-contradict"])
def test_q_and_v_are_the_log_levels_shorthands(tmp_path: Path, media_root: Path,
                                               flags: list[str], shows_steps: bool,
                                               code: int) -> None:
    lib = _library(tmp_path, 1)
    run = subprocess.run([sys.executable, "-m", "mediapipe", *flags, "ingest", str(lib),
                          "--media-root", str(media_root), "--workers", "1"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert run.returncode == code, run.stderr
    assert ("INFO mediapipe.asset" in run.stderr) is shows_steps, run.stderr

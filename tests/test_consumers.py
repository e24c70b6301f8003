"""A wait that is seen: assets waiting in a queue no worker serves are said within seconds, and
the run ends with its own exit code at the deadline, the assets left pending for the next run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from fixtures import images, videos
from mediapipe.config import Config
from mediapipe.errors import Unserved
from mediapipe.identity import asset_id_for_path
from mediapipe.pipeline import Asset
from mediapipe.workers.consumers import CHECK_EVERY_S
from mediapipe.workers.runner import new_run
from tests.support.cli import mediapipe
from tests.support.services import CeleryWorker, RedisServer

ROOT = Path(__file__).resolve().parents[1]


def test_with_no_worker_at_all_the_run_names_the_queue_and_ends_with_unserved(
        redis_server: RedisServer, tmp_path: Path, media_root: Path) -> None:
    photos = [images.jpeg(tmp_path / f"p{i}.jpg", (64, 48)) for i in range(3)]
    said: list[str | None] = []
    run = new_run(media_root, Config(broker_url=redis_server.url), on_status=said.append,
                  unserved_deadline=0)  # its length: the next test, on the test's clock
    run.submit([Asset(str(p), asset_id_for_path(p)) for p in photos])
    started = time.monotonic()
    with pytest.raises(Unserved) as ended:
        list(run.results(timeout=60))
    assert time.monotonic() - started < 20
    assert ended.value.waiting == {"metadata": 3}
    assert "no worker serves `metadata`: 3 assets waiting" in said
    assert str(ended.value).startswith("no worker serves `metadata`: 3 assets waiting for ")
    assert Unserved.exit_code == 18


def test_the_deadline_counts_from_the_first_look_that_found_the_assets_unserved(
        redis_server: RedisServer, tmp_path: Path, media_root: Path) -> None:
    photos = [images.jpeg(tmp_path / f"p{i}.jpg", (64, 48)) for i in range(3)]
    said: list[str | None] = []
    run = new_run(media_root, Config(broker_url=redis_server.url), on_status=said.append,
                  unserved_deadline=8)
    run.submit([Asset(str(p), asset_id_for_path(p)) for p in photos])
    watch = run.watch  # it looks at the real broker and workers; the clock is the test's
    assert watch is not None
    watch.check(now=100.0)
    assert said[-1] == "no worker serves `metadata`: 3 assets waiting"
    watch.check(now=100.0 + CHECK_EVERY_S)  # 5 s of 8: still waiting
    with pytest.raises(Unserved) as ended:
        watch.check(now=100.0 + 2 * CHECK_EVERY_S)  # 10 s: past the deadline
    assert ended.value.waiting == {"metadata": 3} and ended.value.waited_s == 2 * CHECK_EVERY_S


def test_a_service_with_no_deadline_says_so_and_waits(
        redis_server: RedisServer, tmp_path: Path, media_root: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    photo = images.jpeg(tmp_path / "p.jpg", (64, 48))
    said: list[str | None] = []
    run = new_run(media_root, Config(broker_url=redis_server.url), on_status=said.append,
                  unserved_deadline=float("inf"))
    run.submit([Asset(str(photo), asset_id_for_path(photo))])
    with pytest.raises(TimeoutError):  # the caller's own bound, not Unserved (the first look
        list(run.results(timeout=3))  # for consumers is at once, so 3 s see it said)
    assert "no worker serves `metadata`: 1 asset waiting" in said
    assert "waiting until a worker serves it" in caplog.text


def test_a_video_waiting_for_a_gpu_worker_that_is_not_there_is_said_and_left_pending(
        redis_server: RedisServer, celery_worker: Callable[..., CeleryWorker], tmp_path: Path,
        media_root: Path) -> None:
    celery_worker("metadata,thumbnails", name="cpu")  # no worker serves `video`
    lib = tmp_path / "lib"
    lib.mkdir()
    videos.video(lib / "clip.mp4", duration=1.0)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "mediapipe", "ingest", str(lib), "--media-root",
            str(media_root), "--broker", redis_server.url, "--unserved-deadline", "4"]
    started = time.monotonic()  # a process of its own: its lines are timed as they come
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            env=env, cwd=ROOT)
    assert proc.stderr is not None
    seen_after = None
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if seen_after is None and "no worker serves `video`: 1 asset waiting" in line:
            seen_after = time.monotonic() - started
    code = proc.wait(120)
    assert seen_after is not None and seen_after < 30, "".join(lines)
    assert code == 18, "".join(lines)
    assert lines[-1].startswith("mediapipe: error: no worker serves `video`: 1 asset waiting "
                                "for "), lines[-1]
    listed = mediapipe("ls", "--media-root", str(media_root), "--json")
    assert listed.returncode == 0, listed.stderr
    [clip] = json.loads(listed.stdout)
    assert clip["states"]["video"] == "pending" and not clip["failed"]  # left for the next run

    celery_worker("video", name="gpu")  # the next run, with a worker for it, finishes it
    again = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert again.returncode == 0, again.stderr

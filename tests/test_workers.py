"""Celery workers on a real Redis: same outputs as in-process, nothing lost to kills or restarts."""

from __future__ import annotations

import dataclasses
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from fixtures import images, videos
from mediapipe.config import Config
from mediapipe.library import storage
from mediapipe.pipeline import PIPELINE, Asset, AssetResult, Status, process_asset
from mediapipe.workers.app import make_app
from mediapipe.workers.runner import new_run
from tests.support.services import CeleryWorker, RedisServer


def _asset_id(path: Path) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"path:{path}"))


@pytest.fixture(scope="module")
def mixed_sources(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    d = tmp_path_factory.mktemp("mixed")
    return [
        images.jpeg(d / "a.jpg", (640, 480), orientation=6),
        images.jpeg(d / "b.jpg", (300, 900)),
        images.png(d / "c.png", (320, 240), "RGBA"),
        images.noise_jpeg(d / "d.jpg", (1600, 1200)),
        videos.video(d / "v1.mkv", size=(320, 240), duration=1.0, audio=("aac",)),
        videos.video(d / "v2.mp4", size=(240, 320), duration=1.0, pix_fmt="yuv444p"),
    ]


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != storage.MARKER}


def _run(redis_url: str, root: Path, cfg: Config, sources: list[Path],
         timeout: float = 120) -> dict[str, AssetResult]:
    run = new_run(root, cfg.replace(broker_url=redis_url))
    run.submit(Asset(str(s), _asset_id(s)) for s in sources)
    return {r.asset_id: r for r in run.results(timeout=timeout)}


@pytest.mark.parametrize("layout", [("metadata,thumbnails", "video"),
                                    ("metadata", "thumbnails", "video")],
                         ids=["cpu-and-gpu-workers", "a-worker-per-queue"])
def test_workers_on_different_queues_give_the_in_process_outputs(
        layout: tuple[str, ...], redis_server: RedisServer,
        celery_worker: Callable[..., CeleryWorker], mixed_sources: list[Path],
        tmp_path: Path) -> None:
    """Each stage is a task on its own queue; a worker that serves the thumbnails queue as well
    as the metadata one runs the thumbnails link inside the metadata task (no round trip)."""
    cfg = Config()
    local_root, celery_root = tmp_path / "local", tmp_path / "celery"
    for root in (local_root, celery_root):
        storage.init_root(root)
    local = {(r := process_asset(s, _asset_id(s), local_root, cfg)).asset_id: r
             for s in mixed_sources}
    workers = [celery_worker(queues, name=f"w{i}") for i, queues in enumerate(layout)]
    remote = _run(redis_server.url, celery_root, cfg, mixed_sources)
    assert set(remote) == set(local)
    for asset_id, r in remote.items():
        assert {k: v.status for k, v in r.stages.items()} == \
            {k: v.status for k, v in local[asset_id].stages.items()}, r.source
        assert r.ok, r.error
    local_tree, celery_tree = _tree(local_root), _tree(celery_root)
    assert sorted(local_tree) == sorted(celery_tree)
    for name in local_tree:
        if "/thumbs/" in f"/{name}":
            assert local_tree[name] == celery_tree[name], f"{name} differs"
    videos_done = [n for n in celery_tree if n.startswith("encoded-video/")]
    assert len(videos_done) == 2
    counts = {t: sum(w.received(f"mediapipe.{t}") for w in workers)
              for t in ("metadata", "thumbnails", "video")}
    taken_along = "metadata,thumbnails" in layout
    assert counts == {"metadata": len(mixed_sources),
                      "thumbnails": 0 if taken_along else len(mixed_sources),
                      "video": len(videos_done)}


def test_a_transient_failure_is_retried_with_backoff_until_it_clears(
        redis_server: RedisServer, celery_worker: Callable[..., CeleryWorker],
        tmp_path: Path) -> None:
    """The thumbs disk is offline (its marker is gone) when the photo comes: StorageOffline is
    transient, so the thumbnails step is retried later, and completes once the disk is back."""
    root = tmp_path / "media"
    storage.init_root(root)
    source = images.jpeg(tmp_path / "a.jpg", (640, 480))
    marker = root / "thumbs" / storage.MARKER
    marker.rename(tmp_path / "marker")
    worker = celery_worker("metadata,thumbnails", name="retrier")
    cfg = Config()
    run = new_run(root, cfg.replace(broker_url=redis_server.url))
    run.submit([Asset(str(source), _asset_id(source))])
    _wait_for(lambda: "retrying in" in worker.log.read_text(), 60, "a retry")
    log = worker.log.read_text()
    assert "passed on to the thumbnails queue" in log  # the link taken along hands it back
    assert list((root / "thumbs").rglob("*")) == [], "nothing written while offline"
    (tmp_path / "marker").rename(marker)
    [result] = list(run.results(timeout=60))
    assert result.ok and result.stages["thumbnails"].status is Status.DONE
    assert worker.received("mediapipe.thumbnails") == 2  # the first try and one retry


def test_a_worker_started_without_queues_serves_all_of_them() -> None:
    """``celery -A mediapipe.workers worker`` with no ``-Q``: every stage's queue, not only the
    default."""
    served = set(make_app(Config()).amqp.queues.consume_from)
    assert served == set(PIPELINE.queues) == {"metadata", "thumbnails", "video"}


def _wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise TimeoutError(what)


@pytest.mark.reliability  # make reliability
def test_sigkilled_worker_mid_transcode_is_redelivered_and_completes_once(
        redis_server: RedisServer, celery_worker: Callable[..., CeleryWorker],
        tmp_path: Path) -> None:
    src = videos.video(tmp_path / "long.mkv", size=(1280, 720), duration=8.0, fps=30,
                       pix_fmt="yuv444p")
    root = tmp_path / "media"
    storage.init_root(root)
    cfg = Config.from_dict({"ffmpeg": {"preset": "medium", "targetResolution": "original"}})
    env = {"MEDIAPIPE_WORKER_VISIBILITY_TIMEOUT": "15"}
    first = celery_worker("metadata,thumbnails,video", name="victim", env=env)
    run = new_run(root, cfg.replace(broker_url=redis_server.url))
    asset_id = _asset_id(src)
    run.submit([Asset(str(src), asset_id)])
    video_dir = storage.derived_path(root, "admin", asset_id, storage.Derived.ENCODED_VIDEO,
                                     "mp4").parent
    _wait_for(lambda: video_dir.is_dir() and any(video_dir.glob(".*.mptmp")), 60,
              "the transcode to start writing")
    first.stop(signal.SIGKILL)  # the whole worker: main process, pool child, ffmpeg
    assert not list(video_dir.glob("*.mp4")), "killed mid-transcode: no output yet"
    celery_worker("metadata,thumbnails,video", name="rescuer", env=env)
    results = list(run.results(timeout=180))
    assert len(results) == 1 and results[0].stages["video"].status is Status.DONE
    outputs = sorted(p.name for p in video_dir.iterdir())
    assert outputs == [f"{asset_id}.mp4"], f"no temp or partial file remains: {outputs}"
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration",
                            "-of", "csv=p=0", str(video_dir / outputs[0])],
                           capture_output=True, text=True, check=True)
    assert abs(float(probe.stdout) - 8.0) < 0.5, "the whole video, not a half-written one"


def test_a_task_a_dying_worker_took_off_the_queue_is_sent_again(
        redis_server: RedisServer, celery_worker: Callable[..., CeleryWorker],
        mixed_sources: list[Path], tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """kombu's Redis transport loses a message whose worker is killed between taking it off the
    queue and recording it: the run sees nothing queued, nothing held, no result, and sends
    those assets again after ``worker.redispatchAfter`` seconds."""
    import redis

    root = tmp_path / "media"
    storage.init_root(root)
    cfg = Config.from_dict({"worker": {"redispatchAfter": 2}})
    run = new_run(root, cfg.replace(broker_url=redis_server.url))
    sources = mixed_sources[:3]
    run.submit(Asset(str(s), _asset_id(s)) for s in sources)
    client = redis.Redis.from_url(redis_server.url)
    assert client.rpop("metadata"), "the batch's message, taken as a dying worker takes it"
    worker = celery_worker("metadata,thumbnails,video", name="after-the-loss")
    started = time.monotonic()
    results = list(run.results(timeout=60))
    assert sorted(r.asset_id for r in results) == sorted(_asset_id(s) for s in sources)
    assert all(r.ok for r in results)
    assert time.monotonic() - started < 30
    assert "no worker holds 3 of the assets" in caplog.text
    assert worker.received("mediapipe.dispatch_batch") == 1


@pytest.mark.reliability  # make reliability
def test_a_slow_task_a_worker_holds_is_not_sent_again(
        redis_server: RedisServer, celery_worker: Callable[..., CeleryWorker],
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Silence alone is not loss: a transcode longer than ``worker.redispatchAfter`` is held
    by its worker (unacknowledged until it returns) and runs once."""
    src = videos.video(tmp_path / "slow.mkv", size=(1280, 720), duration=6.0, fps=30,
                       pix_fmt="yuv444p")
    root = tmp_path / "media"
    storage.init_root(root)
    cfg = Config.from_dict({"ffmpeg": {"preset": "slow", "targetResolution": "original"},
                            "worker": {"redispatchAfter": 1}})
    worker = celery_worker("metadata,thumbnails,video", name="slow")
    run = new_run(root, cfg.replace(broker_url=redis_server.url))
    run.submit([Asset(str(src), _asset_id(src))])
    [result] = list(run.results(timeout=180))
    assert result.ok and result.stages["video"].duration_s > 3, "slower than the silence"
    assert worker.received("mediapipe.video") == 1
    assert "no worker holds" not in caplog.text


def test_queued_tasks_survive_a_redis_restart(
        redis_server: RedisServer, celery_worker: Callable[..., CeleryWorker],
        mixed_sources: list[Path], tmp_path: Path) -> None:
    """Redis runs with appendonly (AOF): what was queued before a restart is still there."""
    root = tmp_path / "media"
    storage.init_root(root)
    cfg = Config()
    run = new_run(root, cfg.replace(broker_url=redis_server.url))
    run.submit(Asset(str(s), _asset_id(s)) for s in mixed_sources)
    redis_server.restart()
    celery_worker("metadata,thumbnails,video", name="after-restart")
    results = list(run.results(timeout=180))
    assert len(results) == len(mixed_sources)
    assert all(r.ok for r in results)


def test_a_run_whose_config_left_the_broker_fails_its_assets_instead_of_hanging(
        redis_server: RedisServer, celery_worker: Callable[..., CeleryWorker],
        mixed_sources: list[Path], tmp_path: Path) -> None:
    import redis

    root = tmp_path / "media"
    storage.init_root(root)
    cfg = Config()
    run = new_run(root, cfg.replace(broker_url=redis_server.url))
    redis.Redis.from_url(redis_server.url).delete(run.config_key)  # expired, flushed…
    run.submit(Asset(str(s), _asset_id(s)) for s in mixed_sources[:2])
    celery_worker("metadata,thumbnails,video", name="no-config")
    results = list(run.results(timeout=60))
    assert [r.error.type for r in results if r.error] == ["ConfigError", "ConfigError"]
    assert not list((root / "thumbs").rglob("*.webp"))


def test_a_video_workers_own_time_limit_governs_its_transcodes(
        tmp_path: Path, media_root: Path, redis_server: RedisServer,
        celery_worker: Callable[..., CeleryWorker]) -> None:
    """The coordinator's limit is the default 4 hours; the worker's own is 4 s (soft: 1 s)."""
    clip = videos.video(tmp_path / "slow.mkv", size=(1280, 720), duration=6.0, fps=25,
                        pix_fmt="yuv444p", audio=())
    celery_worker("metadata,thumbnails,video", name="strict",
                  env={"MEDIAPIPE_WORKER_VIDEO_TIME_LIMIT": "4"})
    base = Config()
    cfg = base.replace(broker_url=redis_server.url,  # a transcode of several seconds
                       ffmpeg=dataclasses.replace(base.ffmpeg, preset="veryslow"))
    run = new_run(media_root, cfg)
    run.submit([Asset(str(clip), _asset_id(clip))])
    started = time.monotonic()
    (result,) = list(run.results(timeout=120))
    assert time.monotonic() - started < 60
    video = result.stages["video"]
    assert video.status is Status.FAILED
    assert video.error is not None and video.error.type == "OverTimeLimit", video.error
    assert "worker.videoTimeLimit" in video.error.message
    assert not list((media_root / "encoded-video").rglob("*.mp4"))

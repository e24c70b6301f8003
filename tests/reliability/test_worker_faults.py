"""Worker and broker faults during a real ``mediapipe ingest --broker``: nothing lost, nothing half.

Real ``celery`` workers (``tests.support.services``) serve a library of photos and videos that
need transcoding, while this test, with a seeded random generator, SIGKILLs them at random
points of thumbnail and transcode tasks: sometimes the pool child running the task (Celery
rejects the task back to the queue), sometimes the whole worker with its ffmpeg (the message
comes back after the visibility timeout), and starts another worker each time. Or it restarts
``redis-server`` (AOF on) mid-ingest. Each run must end with every asset done or reported
failed with a ``MediaError`` type, no temp or truncated output, the coordinator must not hang
(time limit), and a re-run has nothing left to do (or completes what was reported failed).
"""

from __future__ import annotations

import random
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from fixtures import images, videos
from mediapipe.index import listing
from mediapipe.index.catalog import Catalog
from tests.reliability.harness import (
    Figures,
    IngestRun,
    account,
    finish_ingest,
    partial_files,
    run_ingest,
    start_ingest,
)
from tests.support.services import CeleryWorker, RedisServer

VISIBILITY_S = 8  # a whole-worker kill costs this much before the message comes back
ENV = {"MEDIAPIPE_WORKER_VISIBILITY_TIMEOUT": str(VISIBILITY_S),
       "MEDIAPIPE_FFMPEG_PRESET": "veryfast"}  # slow enough to be killed mid-transcode
TIME_LIMIT_S = 300


def _library(folder: Path, photos: int, clips: int, seed: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = [images.noise_jpeg(folder / f"IMG_{i:03d}.jpg", (2400, 1800), seed=seed + i)
           for i in range(photos)]
    for i in range(clips):  # yuv444p: the default policy must transcode it
        out.append(videos.video(folder / f"clip_{i:02d}.mkv", size=(640, 480), duration=4.0,
                                fps=25, pix_fmt="yuv444p", audio=()))
    return out


def _wait(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def _temps(folder: Path) -> bool:
    return any(folder.rglob("*.mptmp"))


def _image_tasks(worker: CeleryWorker) -> int:
    """Tasks that run a thumbnails step: these workers serve both queues, so the metadata task
    takes an image's thumbnails link along (a video's too)."""
    return worker.received("mediapipe.metadata") + worker.received("mediapipe.thumbnails")


def _kill_campaign(kills: list[tuple[str, str]], rng: random.Random, root: Path,
                   start: Callable[[], CeleryWorker], first: CeleryWorker,
                   ) -> tuple[list[str], CeleryWorker]:
    """For each (stage, target): wait until that stage is running, wait a random moment, kill
    the pool child or the whole worker; start a replacement when the worker is gone."""
    done, worker = [], first
    for stage, target in kills:
        if stage == "video":
            hit = _wait(lambda: _temps(root / "encoded-video"), 60)
        else:
            seen = _image_tasks(worker)
            hit = _wait(lambda w=worker, s=seen: _image_tasks(w) > s, 60)
        if not hit:
            continue  # that stage is over: nothing to kill there any more
        time.sleep(rng.uniform(0.0, 0.8 if stage == "video" else 0.15))
        if target == "child" and (children := worker.children()):
            import os

            os.kill(rng.choice(children), signal.SIGKILL)
            done.append(f"{stage}: pool child")
        else:
            worker.stop(signal.SIGKILL)
            done.append(f"{stage}: whole worker")
            worker = start()
    return done, worker


def _run_with_kills(case: str, tmp_path: Path, media_root: Path, redis: RedisServer,
                    celery_worker: Callable[..., CeleryWorker], *, photos: int, clips: int,
                    kills: list[tuple[str, str]], seed: int,
                    ledger: Callable[[Figures], Figures]) -> None:
    rng = random.Random(seed)
    sources = _library(tmp_path / "lib", photos, clips, seed)
    names = iter(range(1000))

    def start() -> CeleryWorker:
        return celery_worker("metadata,thumbnails,video", name=f"w{next(names)}", env=ENV)

    first = start()
    started = time.monotonic()
    proc = start_ingest(tmp_path / "lib", media_root, "--broker", redis.url, env=ENV)
    done, _ = _kill_campaign(kills, rng, media_root, start, first)
    run = finish_ingest(proc, TIME_LIMIT_S, started=started)
    assert done, "no kill landed"
    kinds = sorted({k: done.count(k) for k in done}.items())
    fig, detail = account(f"{case} ({', '.join(f'{n}x {k}' for k, n in kinds)})", sources,
                          media_root, [run])
    ledger(fig)
    _assert_clean(run, fig, detail, media_root)
    assert fig.processed + fig.failed_clean == len(sources)
    rerun = run_ingest(tmp_path / "lib", media_root, "--broker", redis.url, env=ENV,
                       timeout=TIME_LIMIT_S)
    fig2, detail2 = account(f"{case}: re-run", sources, media_root, [rerun])
    ledger(fig2)
    _assert_clean(rerun, fig2, detail2, media_root)
    assert fig2.processed == len(sources), "the re-run completes the rest"


def _assert_clean(run: IngestRun, fig: Figures, detail: dict[str, list[str]],
                  root: Path) -> None:
    assert not run.hung, "the coordinator hung"
    assert fig.crashed == 0 and fig.lost == 0, detail
    assert fig.partial == 0, partial_files(root)


def test_sigkill_of_workers_mid_thumbnail_and_mid_transcode_loses_nothing(
        tmp_path: Path, media_root: Path, redis_server: RedisServer,
        celery_worker: Callable[..., CeleryWorker],
        ledger: Callable[[Figures], Figures]) -> None:
    _run_with_kills("SIGKILL workers", tmp_path, media_root, redis_server, celery_worker,
                    photos=8, clips=2, seed=9,
                    kills=[("thumbnails", "child"), ("video", "child"), ("video", "worker")],
                    ledger=ledger)


@pytest.mark.slow
def test_soak_sigkill_of_workers_at_random(
        tmp_path: Path, media_root: Path, redis_server: RedisServer,
        celery_worker: Callable[..., CeleryWorker],
        ledger: Callable[[Figures], Figures]) -> None:
    rng = random.Random(1009)
    kills = [(rng.choice(("thumbnails", "video")), rng.choice(("child", "child", "worker")))
             for _ in range(8)]
    _run_with_kills("soak: SIGKILL workers", tmp_path, media_root, redis_server, celery_worker,
                    photos=30, clips=6, seed=1009, kills=kills, ledger=ledger)


def test_redis_restart_mid_ingest_loses_nothing(
        tmp_path: Path, media_root: Path, redis_server: RedisServer,
        celery_worker: Callable[..., CeleryWorker],
        ledger: Callable[[Figures], Figures]) -> None:
    sources = _library(tmp_path / "lib", 12, 1, seed=50)
    worker = celery_worker("metadata,thumbnails,video", name="steady", env=ENV)
    started = time.monotonic()
    proc = start_ingest(tmp_path / "lib", media_root, "--broker", redis_server.url, env=ENV)
    assert _wait(lambda: _image_tasks(worker) >= 3, 60)
    redis_server.restart()
    run = finish_ingest(proc, TIME_LIMIT_S, started=started)
    fig, detail = account("redis-server restarted mid-ingest", sources, media_root, [run])
    ledger(fig)
    _assert_clean(run, fig, detail, media_root)
    assert fig.processed == len(sources)
    rerun = run_ingest(tmp_path / "lib", media_root, "--broker", redis_server.url, env=ENV,
                       timeout=TIME_LIMIT_S)
    assert rerun.code == 0 and rerun.summary["processed"] == 0


def _redis_outage(case: str, tmp_path: Path, redis: RedisServer,
                  celery_worker: Callable[..., CeleryWorker], media_root: Path, *,
                  gaps: list[float], photos: int, clips: int, seed: int,
                  ledger: Callable[[Figures], Figures]) -> None:
    """SIGKILL redis-server (AOF everysec: the last second may be lost) mid-ingest, leave it
    down for each gap in turn, start it again; the run must finish on its own."""
    sources = _library(tmp_path / "lib", photos, clips, seed=seed)
    env = {**ENV, "MEDIAPIPE_WORKER_REDISPATCH_AFTER": "5"}
    worker = celery_worker("metadata,thumbnails,video", name="steady", env=env)
    started = time.monotonic()
    proc = start_ingest(tmp_path / "lib", media_root, "--broker", redis.url, env=env)
    for n, gap in enumerate(gaps):
        assert _wait(lambda n=n: _image_tasks(worker) >= 2 + 3 * n, 120)
        assert redis.proc is not None
        redis.proc.kill()  # SIGKILL: no shutdown save
        redis.proc.wait()
        time.sleep(gap)
        redis.start()
    run = finish_ingest(proc, TIME_LIMIT_S, started=started)
    fig, detail = account(f"{case} ({', '.join(f'{g:.0f}s' for g in gaps)} down)", sources,
                          media_root, [run])
    ledger(fig)
    _assert_clean(run, fig, detail, media_root)
    assert fig.processed == len(sources), (run.code, run.stderr[-3000:])
    assert "waiting" in run.stderr, "never a silent wait: the run says it waits for the broker"


def test_redis_killed_for_seconds_mid_ingest_the_run_finishes(
        tmp_path: Path, media_root: Path, redis_server: RedisServer,
        celery_worker: Callable[..., CeleryWorker],
        ledger: Callable[[Figures], Figures]) -> None:
    _redis_outage("redis-server SIGKILLed mid-ingest", tmp_path, redis_server, celery_worker,
                  media_root, gaps=[6.0], photos=12, clips=1, seed=60, ledger=ledger)


def test_a_broker_gone_past_its_deadline_ends_the_run_clearly_and_a_rerun_finishes(
        tmp_path: Path, media_root: Path, redis_server: RedisServer,
        celery_worker: Callable[..., CeleryWorker],
        ledger: Callable[[Figures], Figures]) -> None:
    """Redis SIGKILLed mid-run and not back within ``worker.brokerDeadline``: the coordinator
    ends on its own, in one line, exit 14, its assets left pending (not failed); once Redis is
    back a re-run finishes every one."""
    sources = _library(tmp_path / "lib", 12, 1, seed=70)
    env = {**ENV, "MEDIAPIPE_WORKER_BROKER_DEADLINE": "5",
           "MEDIAPIPE_WORKER_REDISPATCH_AFTER": "5"}
    worker = celery_worker("metadata,thumbnails,video", name="steady", env=env)
    proc = start_ingest(tmp_path / "lib", media_root, "--broker", redis_server.url, env=env)
    assert _wait(lambda: _image_tasks(worker) >= 2, 120)
    assert redis_server.proc is not None
    redis_server.proc.kill()  # SIGKILL, and it stays down
    redis_server.proc.wait()
    gone = finish_ingest(proc, 120)
    assert not gone.hung, "the coordinator waited past its deadline"
    assert gone.code == 14 and "Traceback" not in gone.stderr, gone.stderr[-2000:]
    assert "left pending" in gone.stderr and len(gone.stderr.strip().splitlines()) <= 3
    with Catalog.open(media_root) as cat:
        assert not list(listing.failures(cat))  # nothing recorded as failed for the outage
    redis_server.start()
    rerun = run_ingest(tmp_path / "lib", media_root, "--broker", redis_server.url, env=env,
                       timeout=TIME_LIMIT_S)
    fig, detail = account("redis-server gone past worker.brokerDeadline: re-run", sources,
                          media_root, [rerun])
    ledger(fig)
    _assert_clean(rerun, fig, detail, media_root)
    assert fig.processed == len(sources), (rerun.code, rerun.stderr[-3000:])


@pytest.mark.slow
def test_soak_redis_killed_again_and_again(
        tmp_path: Path, media_root: Path, redis_server: RedisServer,
        celery_worker: Callable[..., CeleryWorker],
        ledger: Callable[[Figures], Figures]) -> None:
    rng = random.Random(1060)
    _redis_outage("soak: redis-server SIGKILLed", tmp_path, redis_server, celery_worker,
                  media_root, gaps=[rng.uniform(3, 10) for _ in range(4)], photos=40,
                  clips=3, seed=1060, ledger=ledger)

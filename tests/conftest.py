"""Shared test fixtures: generated media, real samples, a media root, Redis and Celery workers."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.services import CeleryWorker, RedisServer

PROJECT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def fixture_set(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The standard generated set (``fixtures.catalog``), built once per test session (per
    pytest-xdist worker: in ``$MEDIAPIPE_FIXTURES/<worker>`` where that is set)."""
    from fixtures.catalog import build

    given = os.environ.get("MEDIAPIPE_FIXTURES")
    out = (Path(given) / os.environ.get("PYTEST_XDIST_WORKER", "") if given
           else tmp_path_factory.mktemp("fixtures"))
    return {f.name: f for f in build(out)}


@pytest.fixture(scope="session")
def samples() -> Path:
    """Real camera/phone media from ../shared/samples (or $MEDIAPIPE_SAMPLES); skip if absent."""
    path = Path(os.environ.get("MEDIAPIPE_SAMPLES") or PROJECT.parent / "shared" / "samples")
    if not (path / "images").is_dir():
        pytest.skip(f"real samples not found at {path} (set MEDIAPIPE_SAMPLES)")
    return path


@pytest.fixture
def media_root(tmp_path: Path) -> Path:
    """A fresh, initialised media root."""
    from mediapipe.library import storage

    root = tmp_path / "media"
    storage.init_root(root)
    return root


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A private redis-server on a free port with its own directory (AOF on)."""
    server = RedisServer(tmp_path / "redis").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def celery_worker(redis_server: RedisServer, tmp_path: Path) -> Iterator[
        Callable[..., CeleryWorker]]:
    """Start real worker processes: ``celery_worker("video", name="gpu")``; all stopped after."""
    started: list[CeleryWorker] = []

    def start(queues: str = "metadata,thumbnails,video", **kw: object) -> CeleryWorker:
        w = CeleryWorker(redis_server.url, queues, tmp_path / "workers", **kw)  # type: ignore[arg-type]
        started.append(w)
        return w.start()

    try:
        yield start
    finally:
        for w in reversed(started):
            w.stop()

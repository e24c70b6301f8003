"""The steps are data: adding one is one declaration, and both drivers run it."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from fixtures import images
from mediapipe.config import Config
from mediapipe.index import ingest as coordinator
from mediapipe.index.catalog import Catalog, State
from mediapipe.index.ingest import IngestSummary
from mediapipe.pipeline import AssetResult, Status, process_asset, steps
from mediapipe.pipeline.local import LocalRunner
from tests.support.checksum_step import CHECKSUM
from tests.support.services import CeleryWorker, RedisServer
from workers.runner import new_run


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    return images.jpeg(tmp_path / "a.jpg", (640, 480))


def test_the_pipeline_is_metadata_thumbnails_video_then_the_motion_part() -> None:
    assert [(s.name, s.queue, s.budget) for s in steps.STEPS] == [
        ("metadata", "metadata", "image"), ("thumbnails", "thumbnails", "image"),
        ("video", "video", "video"), ("motion", "video", "video")]


def test_a_declared_step_runs_in_process(photo: Path, media_root: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(steps, "STEPS", (*steps.STEPS, CHECKSUM))
    result = process_asset(photo, str(uuid.uuid4()), media_root, Config())
    assert result.ok, result.error
    assert result.stages["checksum"].status is Status.DONE
    assert result.stages["checksum"].details["sha1"] == hashlib.sha1(photo.read_bytes()).hexdigest()


def test_a_step_that_needs_a_failed_step_is_skipped_with_the_reason(
        tmp_path: Path, media_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(steps, "STEPS", (*steps.STEPS, CHECKSUM))
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    result = process_asset(empty, str(uuid.uuid4()), media_root, Config())
    assert result.stages["metadata"].status is Status.FAILED
    assert {n: (o.status, o.note) for n, o in result.stages.items() if n != "metadata"} == {
        n: (Status.SKIPPED, "metadata failed")
        for n in ("thumbnails", "video", "motion", "checksum")}


def test_a_declared_step_runs_on_celery_workers_on_its_own_queue(
        photo: Path, media_root: Path, redis_server: RedisServer,
        celery_worker: Callable[..., CeleryWorker], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(steps, "STEPS", (*steps.STEPS, CHECKSUM))
    images_worker = celery_worker("metadata,thumbnails", name="images",
                                  app="tests.support.checksum_worker")
    sums_worker = celery_worker("checksums", name="sums", app="tests.support.checksum_worker")
    run = new_run(media_root, Config(broker_url=redis_server.url))
    run.submit([(str(photo), str(uuid.uuid4()), "image")])
    [result] = list(run.results(timeout=60))
    assert result.ok, result.error
    assert result.stages["checksum"].details["sha1"] == hashlib.sha1(photo.read_bytes()).hexdigest()
    assert images_worker.received("mediapipe.checksum") == 0
    assert sums_worker.received("mediapipe.checksum") == 1


def test_a_step_added_to_an_existing_library_runs_once_for_every_asset(
        tmp_path: Path, media_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The catalog grows a state column for the new step: pending for every source it
    applies to, so the next ingest runs that step alone, and the one after it nothing."""
    library = tmp_path / "library"
    library.mkdir()
    for i in range(3):
        images.jpeg(library / f"{i}.jpg", (320, 240))
    cfg = Config()

    def ingest() -> IngestSummary:
        return coordinator.ingest(library, media_root, cfg, LocalRunner(media_root, cfg))

    assert ingest().processed == 3
    monkeypatch.setattr(steps, "STEPS", (*steps.STEPS, CHECKSUM))
    seen: list[AssetResult] = []
    summary = coordinator.ingest(library, media_root, cfg, LocalRunner(media_root, cfg),
                                 on_result=seen.append)
    assert (summary.processed, summary.failed) == (3, 0)
    assert all(r.stages["checksum"].status is Status.DONE for r in seen)
    assert all("thumbnails" not in r.stages for r in seen)  # done before: not even looked at
    assert all(r.stages["metadata"].status is Status.DONE for r in seen)  # the step needs it
    assert ingest().processed == 0
    with Catalog.open(media_root) as cat:
        assert {e.states["checksum"] for e in cat.entries()} == {State.DONE}

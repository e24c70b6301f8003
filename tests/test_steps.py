"""The pipeline is a value: adding a step, a queue or an output is one declaration, and both
drivers, the catalog and the worker app take the pipeline they are given."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from fixtures import images
from mediapipe.config import Config
from mediapipe.index import ingest as coordinator
from mediapipe.index.catalog import Catalog, State
from mediapipe.index.ingest import IngestSummary
from mediapipe.pipeline import (
    IMAGE_BUDGET,
    PIPELINE,
    VIDEO_BUDGET,
    Asset,
    AssetResult,
    Status,
    process_asset,
)
from mediapipe.pipeline.local import LocalRunner
from mediapipe.workers.runner import new_run
from tests.support.checksum_step import CHECKSUM, WARMED_IN, WITH_CHECKSUM, made
from tests.support.services import CeleryWorker, RedisServer


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    return images.jpeg(tmp_path / "a.jpg", (640, 480))


def test_the_pipeline_is_metadata_thumbnails_video_then_the_motion_part() -> None:
    assert [(s.name, s.queue, s.budget) for s in PIPELINE] == [
        ("metadata", "metadata", IMAGE_BUDGET), ("thumbnails", "thumbnails", IMAGE_BUDGET),
        ("video", "video", VIDEO_BUDGET), ("motion", "video", VIDEO_BUDGET)]
    assert PIPELINE.queues == ("metadata", "thumbnails", "video")
    assert PIPELINE.gpu_queue == "video" and PIPELINE.metadata_step.name == "metadata"


def test_queues_follow_the_steps_declared() -> None:
    assert WITH_CHECKSUM.queues == ("metadata", "thumbnails", "video", "checksums")
    assert WITH_CHECKSUM.next_step("motion") is CHECKSUM and PIPELINE.next_step("motion") is None


def test_budgets_set_each_steps_time_limits_from_the_workers_settings() -> None:
    cfg = Config.from_dict({"worker": {"imageTimeLimit": 120, "videoTimeLimit": 3600}})
    assert [(s.budget.limit(cfg), s.budget.soft_limit(cfg)) for s in PIPELINE] == [
        (120, 110), (120, 110), (3600, 3570), (3600, 3570)]


def test_a_pipeline_refuses_two_steps_of_one_name() -> None:
    with pytest.raises(ValueError, match="distinct"):
        PIPELINE.add(PIPELINE.steps[1])


def test_a_declared_step_runs_in_process(photo: Path, media_root: Path) -> None:
    result = process_asset(photo, str(uuid.uuid4()), media_root, Config(),
                           pipeline=WITH_CHECKSUM)
    assert result.ok, result.error
    assert result.stages["checksum"].status is Status.DONE
    assert made(result.stages["checksum"])["sha1"] == hashlib.sha1(photo.read_bytes()).hexdigest()


def test_a_pool_loads_what_its_steps_need_once_before_its_processes_start(
        tmp_path: Path, media_root: Path) -> None:
    """``Step.warm`` runs in the coordinator before the pool forks: each pool process starts
    with it done (the product's steps import their codecs and engine that way)."""
    WARMED_IN.clear()
    assets = [Asset(str(images.jpeg(tmp_path / f"{n}.jpg", (64, 48))), str(uuid.uuid4()))
              for n in range(4)]
    runner = LocalRunner(media_root, Config(), workers=2, pipeline=WITH_CHECKSUM)
    details = [made(r.stages["checksum"]) for r in runner.run(assets)]
    assert [os.getpid()] == WARMED_IN
    assert {d["warmed_in"] for d in details} == {str(os.getpid())}
    assert str(os.getpid()) not in {d["ran_in"] for d in details}


def test_a_step_that_needs_a_failed_step_is_skipped_with_the_reason(
        tmp_path: Path, media_root: Path) -> None:
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    result = process_asset(empty, str(uuid.uuid4()), media_root, Config(),
                           pipeline=WITH_CHECKSUM)
    assert result.stages["metadata"].status is Status.FAILED
    assert {n: (o.status, o.note) for n, o in result.stages.items() if n != "metadata"} == {
        n: (Status.SKIPPED, "metadata failed")
        for n in ("thumbnails", "video", "motion", "checksum")}


def test_a_declared_step_runs_on_celery_workers_on_its_own_queue(
        photo: Path, media_root: Path, redis_server: RedisServer,
        celery_worker: Callable[..., CeleryWorker]) -> None:
    images_worker = celery_worker("metadata,thumbnails", name="images",
                                  app="tests.support.checksum_worker")
    sums_worker = celery_worker("checksums", name="sums", app="tests.support.checksum_worker")
    run = new_run(media_root, Config(broker_url=redis_server.url), pipeline=WITH_CHECKSUM)
    run.submit([Asset(str(photo), str(uuid.uuid4()))])
    [result] = list(run.results(timeout=60))
    assert result.ok, result.error
    details = made(result.stages["checksum"])
    assert details["sha1"] == hashlib.sha1(photo.read_bytes()).hexdigest()
    assert images_worker.received("mediapipe.checksum") == 0
    # the step's warm ran once, in the worker's parent, before its pool process forked
    assert details["warmed_in"] and details["warmed_in"] != details["ran_in"]
    assert sums_worker.received("mediapipe.checksum") == 1


def test_a_step_added_to_an_existing_library_runs_once_for_every_asset(
        tmp_path: Path, media_root: Path) -> None:
    """The catalog grows a state column for the new step: pending for every source it
    applies to, so the next ingest runs that step alone, and the one after it nothing."""
    library = tmp_path / "library"
    library.mkdir()
    for i in range(3):
        images.jpeg(library / f"{i}.jpg", (320, 240))
    cfg = Config()

    def ingest() -> IngestSummary:
        return coordinator.ingest(library, LocalRunner(media_root, cfg))

    assert ingest().processed == 3
    seen: list[AssetResult] = []
    summary = coordinator.ingest(library, LocalRunner(media_root, cfg, pipeline=WITH_CHECKSUM),
                                 on_result=seen.append)
    assert (summary.processed, summary.failed) == (3, 0)
    assert all(r.stages["checksum"].status is Status.DONE for r in seen)
    assert all("thumbnails" not in r.stages for r in seen)  # done before: not even looked at
    assert all(r.stages["metadata"].status is Status.DONE for r in seen)  # the step needs it
    assert coordinator.ingest(library, LocalRunner(media_root, cfg,
                                                   pipeline=WITH_CHECKSUM)).processed == 0
    with Catalog.open(media_root, WITH_CHECKSUM) as cat:
        assert {e.states["checksum"] for e in cat.entries()} == {State.DONE}


def test_every_output_a_step_makes_is_declared_so_missing_and_check_see_a_new_fullsize(
        tmp_path: Path, media_root: Path) -> None:
    """``image.fullsize`` turned on after an ingest: the HEIC's full-size image is an output
    the thumbnails step declares, so ``catalog check`` reports it missing and ``--missing``
    makes it; a JPEG (browsers show it) gets none and is not called missing."""
    from mediapipe.index import repair

    library = tmp_path / "library"
    library.mkdir()
    images.heic(library / "a.heic")
    images.jpeg(library / "b.jpg")
    assert coordinator.ingest(library, LocalRunner(media_root, Config())).processed == 2
    cfg = Config.from_dict({"image": {"fullsize": {"enabled": True}}})
    report = repair.check(media_root, cfg)
    assert [(Path(m.path).name, m.stage) for m in report.missing] == [("a.heic", "thumbnails")]
    assert report.missing[0].output.endswith("-fullsize.jpeg")
    summary = coordinator.ingest(library, LocalRunner(media_root, cfg), missing=True)
    assert (summary.missing, summary.processed, summary.failed) == (1, 1, 0)
    assert repair.check(media_root, cfg).missing == []
    assert len(list((media_root / "thumbs").rglob("*-fullsize.jpeg"))) == 1


def test_a_declared_output_is_one_declaration_for_missing_on_both_rules(
        tmp_path: Path, media_root: Path) -> None:
    """A test's own step with an output: deleting the output makes ``--missing`` run it again."""
    import dataclasses

    def made(state: object, cfg: Config) -> list[Path]:
        return [tmp_path / "sums" / f"{state.asset_id}.sha1"]

    def write(state: object, source: object, cfg: Config, _: object) -> tuple[object, object]:
        [target] = made(state, cfg)
        target.parent.mkdir(exist_ok=True)
        target.write_text("sum")
        return __import__("mediapipe.pipeline", fromlist=["StageOutcome"]).StageOutcome(
            Status.DONE, (str(target),)), state

    pipeline = PIPELINE.add(dataclasses.replace(CHECKSUM, name="sums", run=write, outputs=made))
    library = tmp_path / "library"
    library.mkdir()
    images.jpeg(library / "a.jpg")
    cfg = Config()

    def ingest(**kw: bool) -> IngestSummary:
        return coordinator.ingest(library, LocalRunner(media_root, cfg, pipeline=pipeline), **kw)

    assert ingest().processed == 1
    [written] = (tmp_path / "sums").iterdir()
    written.unlink()
    assert ingest(missing=True).missing == 1
    assert written.is_file()



_EACH_LOADS_ITS_OWN = """
import sys
from pathlib import Path
from mediapipe import formats
from mediapipe.config import Config
from mediapipe.metadata.model import MediaInfo
from mediapipe.pipeline.steps import PIPELINE
from mediapipe.thumbnails.make import make_thumbnails

PIPELINE.warm()
for name in sys.argv[1:]:
    path = Path(name)
    info = MediaInfo(path=name, kind="image", mime_type=formats.mime_type(path),
                     size=path.stat().st_size)
    made = make_thumbnails(path, info, Config()).preview.format
    print(path.suffix, made, *[m for m in ("pillow_heif", "pillow_jxl", "rawpy")
                               if m in sys.modules])
"""


def test_a_format_library_loads_with_the_first_file_of_its_format_not_before(
        tmp_path: Path) -> None:
    """The warm leaves out pillow-heif, pillow-jxl and rawpy (26 ms and more of every start),
    and a JPEG loads none of them; the first HEIC, JPEG XL or RAW loads its own, in the
    process that meets it."""
    from fixtures import jxl, raw

    files = [images.jpeg(tmp_path / "a.jpg", (640, 480)),
             images.heic(tmp_path / "b.heic", (640, 480)),
             jxl.sixteen_bit(tmp_path / "c.jxl", (96, 64)),
             raw.dng(tmp_path / "d.dng", images.pattern(640, 480))]
    ran = subprocess.run([sys.executable, "-c", _EACH_LOADS_ITS_OWN, *map(str, files)],
                         capture_output=True, text=True, check=True, timeout=120)
    assert ran.stdout.splitlines() == [
        ".jpg jpeg", ".heic jpeg pillow_heif", ".jxl jpeg pillow_heif pillow_jxl",
        ".dng jpeg pillow_heif pillow_jxl rawpy"]

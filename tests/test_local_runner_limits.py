"""The embedded runner enforces each step's time limit as a worker does: a step past its
``Step.budget`` (``worker.imageTimeLimit`` here, set to 1 s) has its process killed even while it
is stuck in C, fails ``OverTimeLimit`` for good, leaves no temp behind, and the run goes on: the
asset's later steps, every other asset, with one process or several."""

from __future__ import annotations

import ctypes
import dataclasses
import os
import signal
import time
import uuid
from pathlib import Path

import pytest

from fixtures import images
from mediapipe.config import Config
from mediapipe.errors import combined_exit_code
from mediapipe.index import ingest as coordinator
from mediapipe.index.catalog import Catalog, State
from mediapipe.library import storage
from mediapipe.library.temps import TEMP_SUFFIX
from mediapipe.pipeline import (
    IMAGE_BUDGET,
    PIPELINE,
    VIDEO_BUDGET,
    Asset,
    AssetResult,
    Budget,
    Pipeline,
    Status,
    Step,
)
from mediapipe.pipeline.local import LocalRunner
from mediapipe.pipeline.state import AssetState, StageOutcome
from mediapipe.sources import Source
from tests.support.checksum_step import CHECKSUM
from tests.support.cli import mediapipe

LIMIT_S = 1
CFG = Config.from_dict({"worker": {"imageTimeLimit": LIMIT_S}})
SLACK_S = 10  # the kill, a fresh process and a loaded machine


def made(state: AssetState, cfg: Config) -> list[Path]:
    return [state.root_path / "thumbs" / "stalls" / f"{state.asset_id}.out"]


def stall(state: AssetState, source: Source, cfg: Config,
          _: object) -> tuple[StageOutcome, AssetState]:
    """Writes its output through a temp; a source named ``bomb…`` stalls in C first (no Python
    signal handler runs in ``sleep(3)`` of libc), one named ``crash…`` kills its process."""
    [target] = made(state, cfg)
    target.parent.mkdir(exist_ok=True)
    with storage.atomic_output(target) as tmp:
        tmp.write_bytes(b"half")
        if state.source_path.name.startswith("bomb"):
            ctypes.CDLL(None).sleep(60)
        if state.source_path.name.startswith("crash"):
            os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer does
        tmp.write_bytes(b"whole")
    return StageOutcome(Status.DONE, (str(target),)), state


# The product's metadata step, then a step under the image budget, then one that needs only the
# metadata (the killed asset's later steps still run); only ``stall`` is under the 1 s limit.
PIPELINE_OF_TEST = Pipeline((
    dataclasses.replace(PIPELINE.steps[0], budget=VIDEO_BUDGET),
    Step("stall", stall, queue="thumbnails", kinds=frozenset({"image"}), outputs=made),
    dataclasses.replace(CHECKSUM, budget=VIDEO_BUDGET),
))


def run(media_root: Path, sources: list[Path], workers: int, cfg: Config = CFG,
        pipeline: Pipeline = PIPELINE_OF_TEST) -> dict[str, AssetResult]:
    runner = LocalRunner(media_root, cfg, workers=workers, pipeline=pipeline)
    return {Path(r.source).name: r
            for r in runner.run(Asset(str(p), str(uuid.uuid4())) for p in sources)}


@pytest.fixture
def batch(tmp_path: Path) -> list[Path]:
    return [images.jpeg(tmp_path / name, (64, 48))
            for name in ("a.jpg", "bomb.jpg", "b.jpg", "c.jpg", "d.jpg")]


@pytest.mark.parametrize("workers", [1, 2], ids=["one process", "two processes"])
def test_a_step_stuck_in_c_past_its_limit_is_killed_and_fails_for_good(
        batch: list[Path], media_root: Path, workers: int) -> None:
    started = time.monotonic()
    results = run(media_root, batch, workers)
    assert time.monotonic() - started < LIMIT_S + SLACK_S
    bomb = results.pop("bomb.jpg")
    outcome = bomb.stages["stall"]
    assert outcome.status is Status.FAILED and outcome.error is not None
    assert (outcome.error.type, outcome.error.exit_code, outcome.error.transient) == (
        "OverTimeLimit", 16, False)
    assert outcome.error.message.startswith(
        f"stall took over {LIMIT_S} s (worker.imageTimeLimit): its process was killed")
    assert outcome.error.path == str(batch[1])
    assert LIMIT_S <= outcome.duration_s < LIMIT_S + SLACK_S
    assert bomb.stages["checksum"].status is Status.DONE  # its later steps went on
    assert sorted(results) == ["a.jpg", "b.jpg", "c.jpg", "d.jpg"]  # no other asset lost
    assert all(r.ok and r.stages["stall"].status is Status.DONE for r in results.values())
    stalls = media_root / "thumbs" / "stalls"
    assert sorted(p.read_bytes() for p in stalls.iterdir()) == [b"whole"] * 4  # no temp left
    assert not [p for p in stalls.iterdir() if p.name.endswith(TEMP_SUFFIX)]


@pytest.mark.parametrize(("budget", "setting"), [
    (IMAGE_BUDGET, "imageTimeLimit"),
    (VIDEO_BUDGET, "videoTimeLimit"),
], ids=["image budget", "video budget"])
def test_the_limit_is_the_steps_budget_read_from_the_workers_settings(
        tmp_path: Path, media_root: Path, budget: Budget, setting: str) -> None:
    """The one rule the Celery workers' time limits follow (``Budget.limit``): the other
    budget's limit stays at its default, so the metadata step under it runs unhurried."""
    other = VIDEO_BUDGET if budget is IMAGE_BUDGET else IMAGE_BUDGET
    pipeline = Pipeline((dataclasses.replace(PIPELINE.steps[0], budget=other),
                         dataclasses.replace(PIPELINE_OF_TEST.steps[1], budget=budget)))
    cfg = Config.from_dict({"worker": {setting: LIMIT_S}})
    [result] = run(media_root, [images.jpeg(tmp_path / "bomb.jpg", (64, 48))], 1, cfg,
                   pipeline).values()
    error = result.stages["stall"].error
    assert error is not None and error.type == "OverTimeLimit"
    assert f"stall took over {LIMIT_S} s (worker.{setting})" in error.message


@pytest.mark.parametrize("workers", [1, 2], ids=["one process", "two processes"])
def test_a_process_that_dies_in_a_step_fails_that_step_and_the_run_goes_on(
        tmp_path: Path, media_root: Path, workers: int) -> None:
    sources = [images.jpeg(tmp_path / n, (64, 48)) for n in ("a.jpg", "crash.jpg", "b.jpg")]
    results = run(media_root, sources, workers)
    crash = results.pop("crash.jpg")
    error = crash.stages["stall"].error
    assert error is not None
    assert (error.type, error.message) == (
        "InternalError", "the process running stall died (signal SIGKILL)")
    assert crash.stages["checksum"].status is Status.DONE
    assert all(r.ok for r in results.values()) and sorted(results) == ["a.jpg", "b.jpg"]


def test_ingest_records_the_step_over_its_limit_as_failed_and_a_rerun_leaves_it(
        tmp_path: Path, media_root: Path) -> None:
    library = tmp_path / "library"
    library.mkdir()
    for name in ("a.jpg", "bomb.jpg", "b.jpg"):
        images.jpeg(library / name, (64, 48))

    def ingest() -> coordinator.IngestSummary:
        return coordinator.ingest(library, LocalRunner(media_root, CFG, pipeline=PIPELINE_OF_TEST))

    first = ingest()
    assert (first.processed, first.failed) == (3, 1)
    assert [f.error.type for f in first.failures] == ["OverTimeLimit"]
    # the exit code of `mediapipe ingest`
    assert combined_exit_code(f.error.exit_code for f in first.failures) == 16
    with Catalog.open(media_root, PIPELINE_OF_TEST) as cat:
        states = {Path(e.path).name: e.states["stall"] for e in cat.entries()}
    assert states == {"a.jpg": State.DONE, "bomb.jpg": State.FAILED, "b.jpg": State.DONE}
    started = time.monotonic()
    again = ingest()
    assert (again.processed, again.failed) == (0, 0)  # not tried again until the file changes
    assert time.monotonic() - started < LIMIT_S


def scan_bomb(path: Path, scans: int = 3000) -> Path:
    """A 500 KB grey 8000x8000 progressive JPEG whose last scan repeats ``scans`` times: a
    minute of libjpeg decoding (every scan runs over every block)."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (8000, 8000), 128).save(buf, "JPEG", progressive=True, quality=90)
    data = buf.getvalue()
    last = data.rindex(b"\xff\xda")  # the last scan's SOS, up to the EOI
    path.write_bytes(data[:-2] + data[last:-2] * scans + data[-2:])
    return path


def test_ingest_of_a_scan_bomb_ends_within_the_limit_and_makes_the_rest(
        tmp_path: Path, media_root: Path) -> None:
    """The product's pipeline, through the CLI: the bomb is stopped at the limit (or refused
    before, as too large), the photo beside it made, the run's exit code the bomb's."""

    library = tmp_path / "library"
    library.mkdir()
    scan_bomb(library / "bomb.jpg")
    images.jpeg(library / "photo.jpg", (640, 480))
    config = tmp_path / "config.json"
    config.write_text('{"worker": {"imageTimeLimit": 2}}')
    started = time.monotonic()
    done = mediapipe("--config", str(config), "ingest", str(library), "--media-root",
                     str(media_root), "--workers", "1")
    assert time.monotonic() - started < 2 + 3 * SLACK_S
    assert done.returncode in (7, 16), done.stderr  # TooLarge or OverTimeLimit, alone
    assert "1 of 2 assets failed (first: " in done.stderr and "bomb.jpg" in done.stderr
    with Catalog.open(media_root, PIPELINE) as cat:
        states = {Path(e.path).name: e.states["thumbnails"] for e in cat.entries()}
    assert states == {"bomb.jpg": State.FAILED, "photo.jpg": State.DONE}
    assert not list(media_root.rglob(f"*{TEMP_SUFFIX}"))

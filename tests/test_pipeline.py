"""One asset through the stages in-process: outputs, idempotency, failures contained."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from fixtures import images
from mediapipe.config import Config
from mediapipe.errors import StorageOffline
from mediapipe.library import storage
from mediapipe.pipeline import (
    PIPELINE,
    AssetResult,
    AssetState,
    Pipeline,
    StageOutcome,
    Status,
    Step,
    advance,
    process_asset,
)
from mediapipe.pipeline.drive import Done, Retry, Send
from mediapipe.pipeline.state import StepFacts

ASSET = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    return images.jpeg(tmp_path / "src" / "photo.jpg", (800, 600), orientation=6)


def test_an_image_gets_preview_and_thumbnail_in_immichs_layout(photo: Path,
                                                               media_root: Path) -> None:
    result = process_asset(photo, ASSET, media_root, Config())
    assert result.ok, result.error
    assert result.kind == "image"
    assert [result.stages[s].status for s in ("metadata", "thumbnails", "video")] == \
        [Status.DONE, Status.DONE, Status.SKIPPED]
    preview = storage.derived_path(media_root, "admin", ASSET, storage.Derived.PREVIEW, "jpeg")
    thumb = storage.derived_path(media_root, "admin", ASSET, storage.Derived.THUMBNAIL, "webp")
    assert preview.read_bytes()[:2] == b"\xff\xd8"
    assert thumb.read_bytes()[8:12] == b"WEBP"
    assert sorted(result.stages["thumbnails"].outputs) == sorted([str(preview), str(thumb)])


def test_result_is_json_serialisable_and_round_trips(photo: Path, media_root: Path) -> None:
    result = process_asset(photo, ASSET, media_root, Config())
    again = AssetResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert again == result
    assert again.info is not None and again.info.orientation == 6


def test_a_second_run_finds_its_outputs_done_unless_forced(photo: Path,
                                                           media_root: Path) -> None:
    # the outputs alone decide, not a catalog: outputs written before a crash the catalog never
    # heard of are recorded DONE (found), not SKIPPED
    process_asset(photo, ASSET, media_root, Config())
    second = process_asset(photo, ASSET, media_root, Config())
    thumbs = second.stages["thumbnails"]
    assert thumbs.status is Status.DONE and thumbs.duration_s == 0.0  # found, not made again
    assert thumbs.note == "outputs already made from this source"
    forced = process_asset(photo, ASSET, media_root, Config(), remake=True)
    made = forced.stages["thumbnails"]
    assert made.status is Status.DONE and made.note == ""  # made, not found
    assert made.bytes_written > 0 and made.duration_s > 0


def test_a_changed_source_is_processed_again(photo: Path, media_root: Path) -> None:
    process_asset(photo, ASSET, media_root, Config())
    later = time.time() + 5
    os.utime(photo, (later, later))
    again = process_asset(photo, ASSET, media_root, Config()).stages["thumbnails"]
    assert again.status is Status.DONE and again.note == "" and again.bytes_written > 0


def test_a_source_replaced_with_an_older_mtime_is_processed_again(photo: Path,
                                                                  media_root: Path) -> None:
    first = process_asset(photo, ASSET, media_root, Config()).stages["thumbnails"]
    earlier = photo.stat().st_mtime - 3600
    copy = photo.with_name("restored.jpg")
    copy.write_bytes(photo.read_bytes())
    os.utime(copy, (earlier, earlier))  # restored from a backup: an older mtime
    os.replace(copy, photo)
    again = process_asset(photo, ASSET, media_root, Config()).stages["thumbnails"]
    assert again.status is Status.DONE and again.duration_s > 0.0  # made again
    assert again.outputs == first.outputs


def test_a_source_gone_at_processing_time_is_transient_source_offline(
        photo: Path, media_root: Path) -> None:
    photo.unlink()  # the share went away between the scan and now
    result = process_asset(photo, ASSET, media_root, Config())
    error = result.stages["metadata"].error
    assert error and error.type == "SourceOffline" and error.transient is True
    thumbs = result.stages["thumbnails"]
    assert thumbs.status is Status.SKIPPED and thumbs.facts == StepFacts(waits_for="metadata")


def test_outputs_get_explicit_modes_whatever_the_umask(photo: Path, media_root: Path) -> None:
    old = os.umask(0o077)
    try:
        result = process_asset(photo, ASSET, media_root, Config())
    finally:
        os.umask(old)
    preview = Path(result.stages["thumbnails"].outputs[0])
    assert preview.stat().st_mode & 0o777 == 0o644
    assert preview.parent.stat().st_mode & 0o777 == 0o755
    cfg = Config.from_dict({"storage": {"fileMode": "0640", "folderMode": "0750"}})
    forced = process_asset(photo, ASSET, media_root, cfg, remake=True)
    assert Path(forced.stages["thumbnails"].outputs[0]).stat().st_mode & 0o777 == 0o640


def test_corrupt_media_fails_once_with_a_typed_error_and_writes_nothing(
        tmp_path: Path, media_root: Path) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 10)
    result = process_asset(bad, ASSET, media_root, Config())
    assert not result.ok
    assert result.error and result.error.type in {"CorruptMedia", "UnsupportedMedia"}
    assert not list((media_root / "thumbs").rglob("*.jpeg"))


def test_offline_thumbs_disk_is_reported_transient_and_nothing_written(
        photo: Path, media_root: Path) -> None:
    (media_root / "thumbs" / ".immich").unlink()
    result = process_asset(photo, ASSET, media_root, Config())
    error = result.stages["thumbnails"].error
    assert error and error.type == "StorageOffline" and error.transient is True
    assert list((media_root / "thumbs").iterdir()) == []


# The one walk (``drive.advance``): what each driver does with it is the only difference.

def _step(name: str, *, fails_for_now: bool = False,
          needs: tuple[str, ...] = ("metadata",)) -> Step:
    """A step of a test's own that writes nothing; ``fails_for_now``: its disk is away."""
    def run(state: AssetState, source: object, cfg: Config,
            _: object) -> tuple[StageOutcome, AssetState]:
        if fails_for_now:
            raise StorageOffline(state.source, "the disk went away")
        return StageOutcome(Status.DONE), state
    return Step(name, run, queue=name, needs=needs)


def _walk_of(*steps: Step) -> Pipeline:
    return Pipeline((PIPELINE.metadata_step, *steps))


def test_in_process_each_advance_runs_the_step_at_hand_and_names_the_next(
        photo: Path, media_root: Path) -> None:
    pipeline = _walk_of(_step("a"), _step("b"))
    move = advance(AssetState.start(photo, ASSET, media_root), pipeline, Config())
    assert isinstance(move, Send) and (move.step.name, move.queue) == ("a", "a")
    assert list(move.state.stages) == ["metadata"]
    move = advance(move.state, pipeline, Config(), move.step)
    assert isinstance(move, Send) and move.step.name == "b"
    move = advance(move.state, pipeline, Config(), move.step)
    assert isinstance(move, Done)
    assert {n: o.status for n, o in move.state.stages.items()} == dict.fromkeys(
        ("metadata", "a", "b"), Status.DONE)


def test_a_worker_runs_the_steps_it_takes_along_and_sends_the_first_it_does_not(
        photo: Path, media_root: Path) -> None:
    pipeline = _walk_of(_step("a"), _step("b"))
    move = advance(AssetState.start(photo, ASSET, media_root), pipeline, Config(),
                   takes=lambda step: step.name == "a")
    assert isinstance(move, Send) and move.step.name == "b"
    assert list(move.state.stages) == ["metadata", "a"]


def test_the_step_at_hand_failing_for_now_is_retried_while_retries_are_left(
        photo: Path, media_root: Path) -> None:
    pipeline = _walk_of(_step("a", fails_for_now=True), _step("b", needs=("a",)))
    sent = advance(AssetState.start(photo, ASSET, media_root), pipeline, Config())
    assert isinstance(sent, Send)
    retry = advance(sent.state, pipeline, Config(), sent.step, retries=True)
    assert isinstance(retry, Retry) and retry.step.name == "a"
    assert retry.state.stages["a"].transient and "b" not in retry.state.stages
    done = advance(sent.state, pipeline, Config(), sent.step, retries=False)
    assert isinstance(done, Done) and done.state.stages["a"].transient  # recorded: pending
    assert done.state.stages["b"].facts == StepFacts(waits_for="a")


def test_a_step_taken_along_that_fails_for_now_is_sent_to_its_own_queue(
        photo: Path, media_root: Path) -> None:
    """Its own task retries it, with backoff: the failure here is not recorded."""
    pipeline = _walk_of(_step("a", fails_for_now=True), _step("b"))
    move = advance(AssetState.start(photo, ASSET, media_root), pipeline, Config(),
                   takes=lambda step: True)
    assert isinstance(move, Send) and move.step.name == "a"
    assert list(move.state.stages) == ["metadata"]

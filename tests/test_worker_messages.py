"""The messages of a Celery run are values with one wire form: what is sent comes back equal,
and the coordinator reads which of its assets a message carries without decoding the rest."""

from __future__ import annotations

import json

from mediapipe.errors import ErrorRecord, StorageOffline
from mediapipe.pipeline.state import Asset, AssetState, StageOutcome, Status, StepFacts
from mediapipe.workers.messages import Batch, StepMessage, asset_ids, result_of, result_text

ASSET = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"


def _wire(message: dict[str, object]) -> dict[str, object]:
    """As Celery's JSON serializer carries a task's argument."""
    return dict(json.loads(json.dumps(message)))


def _state() -> AssetState:
    state = AssetState.start("/photos/a.jpg", ASSET, "/srv/media", todo=["thumbnails"],
                             identity=(64769, 1234))
    failed = StageOutcome(Status.FAILED, error=ErrorRecord.of(
        StorageOffline("/srv/media/thumbs", "no .immich marker")))
    return state.with_outcome("metadata", StageOutcome(Status.DONE)).with_outcome(
        "thumbnails", failed).with_outcome(
        "video", StageOutcome(Status.SKIPPED, facts=StepFacts(waits_for="thumbnails")))


def test_a_step_message_comes_back_equal() -> None:
    message = StepMessage("run1", "mediapipe:config:abc", _state())
    assert StepMessage.from_dict(_wire(message.to_dict())) == message


def test_a_batch_comes_back_equal_and_gives_each_asset_its_first_message() -> None:
    batch = Batch("run1", "mediapipe:config:abc", "/srv/media",
                  (Asset("/photos/a.jpg", ASSET, ("thumbnails",), (1, 2), remake=True),
                   Asset("/photos/b.jpg", "b")))
    assert Batch.from_dict(_wire(batch.to_dict())) == batch
    [a, b] = batch.messages()
    assert (a.run_id, a.config_key) == ("run1", "mediapipe:config:abc")
    assert a.state == AssetState.start("/photos/a.jpg", ASSET, "/srv/media", remake=True,
                                       todo=["thumbnails"], identity=(1, 2))
    assert b.state.asset_id == "b" and not b.state.remake


def test_a_message_names_the_assets_of_its_own_run_only() -> None:
    batch = Batch("run1", "k", "/srv/media", (Asset("/a.jpg", "a"), Asset("/b.jpg", "b")))
    step = StepMessage("run1", "k", _state())
    assert asset_ids(_wire(batch.to_dict()), "run1") == ["a", "b"]
    assert asset_ids(_wire(step.to_dict()), "run1") == [ASSET]
    assert asset_ids(_wire(step.to_dict()), "run2") == []


def test_a_result_comes_back_equal_with_its_facts() -> None:
    thumbs = StageOutcome(Status.DONE, ("/srv/media/thumbs/x-preview.jpeg",),
                          facts=StepFacts(thumbhash="1QcSHQRnh493V4dIh4eXh1h4kJUI",
                                          warnings=("damaged image", "made anyway")))
    result = _state().with_outcome("thumbnails", thumbs).result()
    assert result_of(result_text(result)) == result
    assert result_of(result_text(result).encode()).stages["thumbnails"].facts == thumbs.facts

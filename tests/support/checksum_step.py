"""A step the product does not have, declared the way every step is: the sha1 of the source."""

from __future__ import annotations

import hashlib

from mediapipe.config import Config
from mediapipe.pipeline import steps
from mediapipe.pipeline.state import AssetState, StageOutcome, Status


def sha1(state: AssetState, cfg: Config, _: object) -> tuple[StageOutcome, AssetState]:
    digest = hashlib.sha1(state.source_path.read_bytes()).hexdigest()
    return StageOutcome(Status.DONE, details={"sha1": digest}), state


CHECKSUM = steps.Step("checksum", sha1, queue="checksums")

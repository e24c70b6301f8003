"""A step the product does not have, declared the way every step is: the sha1 of the source,
and a pipeline with it (the product's, plus this step, on a queue of its own)."""

from __future__ import annotations

import hashlib
import os

from mediapipe.config import Config
from mediapipe.pipeline import PIPELINE, Step
from mediapipe.pipeline.state import AssetState, StageOutcome, Status
from mediapipe.sources import Source

WARMED_IN: list[int] = []  # the processes its ``warm`` ran in (a pool inherits the list)


def sha1(state: AssetState, source: Source, cfg: Config,
         _: object) -> tuple[StageOutcome, AssetState]:
    with source.open() as fh:
        digest = hashlib.sha1(fh.read()).hexdigest()
    return StageOutcome(Status.DONE, details={"sha1": digest, "ran_in": str(os.getpid()),
                                              "warmed_in": ",".join(map(str, WARMED_IN))}), state


def warm() -> None:
    WARMED_IN.append(os.getpid())


CHECKSUM = Step("checksum", sha1, queue="checksums", warm=warm)
WITH_CHECKSUM = PIPELINE.add(CHECKSUM)

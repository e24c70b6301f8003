"""A step the product does not have, declared the way every step is: the sha1 of the source,
written as its output (with the processes it ran and was warmed in), and a pipeline with it
(the product's, plus this step, on a queue of its own)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from mediapipe.config import Config
from mediapipe.library import storage
from mediapipe.pipeline import PIPELINE, Step
from mediapipe.pipeline.state import AssetState, StageOutcome, Status
from mediapipe.sources import Source

WARMED_IN: list[int] = []  # the processes its ``warm`` ran in (a pool inherits the list)


def written(state: AssetState, cfg: Config) -> list[Path]:
    return [state.root_path / "thumbs" / "checksums" / f"{state.asset_id}.json"]


def sha1(state: AssetState, source: Source, cfg: Config,
         _: object) -> tuple[StageOutcome, AssetState]:
    with source.open() as fh:
        digest = hashlib.sha1(fh.read()).hexdigest()
    [target] = written(state, cfg)
    target.parent.mkdir(exist_ok=True)
    storage.atomic_write(target, json.dumps({
        "sha1": digest, "ran_in": str(os.getpid()),
        "warmed_in": ",".join(map(str, WARMED_IN))}).encode())
    return StageOutcome(Status.DONE, (str(target),)), state


def made(outcome: StageOutcome) -> dict[str, str]:
    """What the step wrote, from its outcome: the sha1, ``ran_in``, ``warmed_in``."""
    [path] = outcome.outputs
    return dict(json.loads(Path(path).read_text()))


def warm() -> None:
    WARMED_IN.append(os.getpid())


CHECKSUM = Step("checksum", sha1, queue="checksums", outputs=written, warm=warm)
WITH_CHECKSUM = PIPELINE.add(CHECKSUM)

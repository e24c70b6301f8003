"""One asset through the steps: the only place that composes stages with storage.

Modules: ``state`` (what travels between steps: ``Asset``, ``AssetState``, ``StageOutcome``,
``AssetResult``), ``steps`` (the pipeline as a value: ``Step``, ``Pipeline``, the product's
``PIPELINE``), ``drive`` (the rules every step shares, the one walk ``advance``, and the
in-process driver ``process_asset``), ``local`` (the embedded runner: a process pool over
``drive.walk``), ``motion`` (the motion step), ``transcoding`` (``transcode_to``: a transcode
carried out into a file), ``files`` (one file outside any media root, for the CLI's
``thumbnail`` and ``transcode``). The Celery driver lives in ``workers/``; nothing here imports
it. Config and paths are passed in; nothing here reads the environment.
"""

from mediapipe.pipeline.drive import advance, process_asset, skip_outcome
from mediapipe.pipeline.local import LocalRunner, Runner
from mediapipe.pipeline.state import Asset, AssetResult, AssetState, StageOutcome, Status
from mediapipe.pipeline.steps import IMAGE_BUDGET, PIPELINE, VIDEO_BUDGET, Budget, Pipeline, Step

__all__ = ["IMAGE_BUDGET", "PIPELINE", "VIDEO_BUDGET", "Asset", "AssetResult", "AssetState",
           "Budget", "LocalRunner", "Pipeline", "Runner", "StageOutcome", "Status", "Step",
           "advance", "process_asset", "skip_outcome"]

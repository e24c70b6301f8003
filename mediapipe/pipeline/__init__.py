"""One asset through the steps: the only place that composes stages with storage.

Modules: ``state`` (what travels between steps: ``AssetState``, ``StageOutcome``,
``AssetResult``), ``steps`` (the steps as data: ``Step``, ``STEPS``), ``drive`` (the rules every
step shares, ``run_step``, and the in-process driver ``process_asset``), ``local`` (the embedded
runner: a process pool over ``process_asset``), ``files`` (one file outside any media root, for
the CLI's ``thumbnail`` and ``transcode``). The Celery driver lives in ``workers/``; nothing here
imports it. Config and paths are passed in; nothing here reads the environment.
"""

from mediapipe.pipeline.drive import next_step, process_asset, run_step, skip_outcome
from mediapipe.pipeline.state import AssetResult, AssetState, StageOutcome, Status
from mediapipe.pipeline.steps import STEPS, Step

__all__ = ["STEPS", "AssetResult", "AssetState", "StageOutcome", "Status", "Step", "next_step",
           "process_asset", "run_step", "skip_outcome"]

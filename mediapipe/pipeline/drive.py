"""Running the steps: the rules every step shares, and the in-process driver.

Owns: ``skip_outcome`` (a step that does not apply, whose needed step failed, or whose outputs
are fresh is skipped without running: the same rules for every driver), ``run_step`` (one step,
every failure contained in the asset as a failed ``StageOutcome`` carrying the ``MediaError``
type and message), ``next_step`` and ``process_asset`` (every step in order, here). The Celery
driver (``workers.tasks``) runs the same ``run_step`` one step per task.
Does not own: what the steps do (``steps``) or which assets to process (``index``).

Idempotent: a step whose outputs exist and are newer than the source is skipped unless forced.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path

from mediapipe.config import Config
from mediapipe.errors import MediaError
from mediapipe.pipeline import steps
from mediapipe.pipeline.state import AssetResult, AssetState, StageOutcome, Status
from mediapipe.pipeline.steps import Progress, Step

__all__ = ["next_step", "process_asset", "run_step", "skip_outcome"]

log = logging.getLogger(__name__)


def _fresh(outputs: Sequence[Path], source: Path) -> bool:
    """All outputs exist and none is older than the source."""
    try:
        src_mtime = source.stat().st_mtime_ns
        return all(p.stat().st_mtime_ns >= src_mtime for p in outputs)
    except OSError:
        return False


def skip_outcome(step: Step, state: AssetState, cfg: Config) -> StageOutcome | None:
    """Why ``step`` has nothing to do for this asset, as its outcome; None when it must run."""
    failed = [n for n in step.needs
              if (o := state.stages.get(n)) is None or o.status is Status.FAILED]
    if failed:
        return StageOutcome(Status.SKIPPED, note=f"{failed[0]} failed")
    if not step.applies(state):
        return StageOutcome(Status.SKIPPED, note=step.not_applicable(state))
    if step.outputs is not None and not state.force:
        outputs = step.outputs(state, cfg)
        if _fresh(outputs, state.source_path):
            return StageOutcome(Status.SKIPPED, tuple(map(str, outputs)),
                                note="outputs are newer than the source")
    return None


def _failed(exc: BaseException, started: float) -> StageOutcome:
    if isinstance(exc, MediaError):
        error = exc.to_dict()
    else:  # a bug, not bad media: still contained in this asset, logged with its traceback
        log.exception("internal error")
        error = {"type": "InternalError", "path": "", "message": f"{type(exc).__name__}: {exc}",
                 "transient": False}
    return StageOutcome(Status.FAILED, error=error, duration_s=time.perf_counter() - started)


def run_step(step: Step, state: AssetState, cfg: Config,
             progress: Progress | None = None) -> AssetState:
    """Run ``step`` (or skip it, by the shared rules) and record its outcome in the state."""
    outcome = skip_outcome(step, state, cfg)
    if outcome is None:
        started = time.perf_counter()
        try:
            outcome, state = step.run(state, cfg, progress)
        except Exception as exc:  # edge: contain every failure in this asset
            outcome = _failed(exc, started)
    return state.with_outcome(step.name, outcome)


def next_step(after: str | None) -> Step | None:
    """The step that follows the one named ``after`` (the first when None)."""
    names = [s.name for s in steps.STEPS]
    index = 0 if after is None else names.index(after) + 1
    return steps.STEPS[index] if index < len(names) else None


def process_asset(source: str | os.PathLike[str], asset_id: str, root: str | os.PathLike[str],
                  cfg: Config, *, force: bool = False,
                  progress: Progress | None = None) -> AssetResult:
    """Every step for one asset, here and in order: metadata, thumbnails, the transcode…"""
    state = AssetState.start(source, asset_id, root, force=force)
    for step in steps.STEPS:
        state = run_step(step, state, cfg, progress)
    return state.result()

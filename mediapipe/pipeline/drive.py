"""Running the steps: the rules every step shares, and the in-process driver.

Owns: ``skip_outcome`` (a step that does not apply or whose needed step failed is skipped; one
whose outputs exist and were made from the source as it is now is recorded done without
running: the same rules for every driver), ``run_step`` (one step, run with its source held
open, ``sources.held``: the file the scan saw or nothing is read, handed to the step as a
``Source``; every failure contained in the asset as a failed ``StageOutcome`` carrying its
``ErrorRecord``; a source the scan saw that cannot be read now is ``SourceOffline``,
transient; the outputs a step made are stamped with the identity of the source they were made
from), ``log_outcome`` (the one structured line per asset and step, the same in every mode)
and ``process_asset`` (every step of a ``Pipeline`` in order, here). The Celery driver
(``workers.tasks``) runs the same ``run_step`` one step per task and logs each step with the
same ``log_outcome``. Does not own: what the steps are and their order (``steps.Pipeline``),
which assets to process (``index``), or how a stamp is written and read
(``library.stamps.stamp_outputs``/``made_from``).

Idempotent: a step whose outputs carry the stamp of the source as it is now (its ctime: any
write, replacement, ``cp -p``, rsync or restored mtime changes it) is done, unless forced.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path

from mediapipe import sources
from mediapipe.config import Config
from mediapipe.errors import ErrorRecord, MediaError, SourceOffline
from mediapipe.library import stamps, temps
from mediapipe.pipeline.state import AssetResult, AssetState, StageOutcome, Status, StepFacts
from mediapipe.pipeline.steps import PIPELINE, Pipeline, Progress, Step
from mediapipe.sources import Identity

__all__ = ["ASSET_LOG", "log_outcome", "process_asset", "run_due", "run_step", "skip_outcome"]

log = logging.getLogger(__name__)
ASSET_LOG = logging.getLogger("mediapipe.asset")  # one line per asset and step, every mode


def _fresh(outputs: Sequence[Path], source: Path) -> bool:
    """Every output exists and carries the stamp of the source as it is now."""
    try:
        stamp = stamps.source_stamp(os.stat(source))
    except OSError:
        return False
    return all(stamps.made_from(p, stamp) for p in outputs)


def skip_outcome(step: Step, state: AssetState, cfg: Config) -> StageOutcome | None:
    """Why ``step`` has nothing to do for this asset, as its outcome; None when it must run.

    A needed step that failed skips it (``StepFacts.waits_for`` names a transient failure:
    the step is then left pending, not skipped); outputs made from the source as it is now make
    it done (their temp leftovers are swept all the same)."""
    failed = [(n, o) for n in step.needs
              if (o := state.stages.get(n)) is None or o.status is Status.FAILED]
    if failed:
        name, outcome = failed[0]
        waits = name if outcome is not None and outcome.transient else None
        return StageOutcome(Status.SKIPPED, note=f"{name} failed",
                            facts=StepFacts(waits_for=waits))
    if not step.applies(state):
        return StageOutcome(Status.SKIPPED, note=step.not_applicable(state))
    if step.outputs is not None and not state.force:
        outputs = step.outputs(state, cfg)
        if _fresh(outputs, state.source_path):
            temps.sweep_folders(outputs)
            return StageOutcome(Status.DONE, tuple(map(str, outputs)),
                                note="outputs already made from this source")
    return None


def _source_fault(state: AssetState, exc: BaseException) -> MediaError | None:
    """``SourceOffline`` when a step failed because its source cannot be read now (the scan
    saw it: a share unmounted, a stale or dropped mount, an I/O error, access refused by a
    share), whatever the reader made of that (Pillow, PyAV and ffmpeg lose the errno)."""
    if isinstance(exc, SourceOffline):
        return exc
    try:
        fd = os.open(state.source, os.O_RDONLY | os.O_NONBLOCK)
        try:
            os.read(fd, 1)
        finally:
            os.close(fd)
    except OSError as os_exc:
        return sources.offline(state.source, os_exc)
    return None


def _failed(exc: BaseException, started: float, state: AssetState) -> StageOutcome:
    exc = _source_fault(state, exc) or exc
    error = ErrorRecord.of(exc)
    if error.type == "InternalError":  # a bug, not bad media: contained, logged with its trace
        log.exception("internal error")
    return StageOutcome(Status.FAILED, error=error, duration_s=time.perf_counter() - started)


def run_step(step: Step, state: AssetState, cfg: Config,
             progress: Progress | None = None) -> AssetState:
    """Run ``step`` (or skip it, by the shared rules) and record its outcome in the state."""
    outcome = skip_outcome(step, state, cfg)
    if outcome is None:
        return run_due(step, state, cfg, progress)
    return state.with_outcome(step.name, outcome)


def run_due(step: Step, state: AssetState, cfg: Config, progress: Progress | None = None, *,
            passing: tuple[type[BaseException], ...] = ()) -> AssetState:
    """Run ``step``, which ``skip_outcome`` said has work, and record its outcome: every failure
    contained in the asset, but for the exception types in ``passing``, which the caller
    handles itself (a Celery worker's soft time limit)."""
    started = time.perf_counter()
    try:
        # the file the scan saw, held open while the step reads it (by ``source.name``)
        with sources.held(state.source, state.identity) as source:
            before = source.stat()
            outcome, state = step.run(state, source, cfg, progress)
        if outcome.status is Status.DONE and outcome.outputs:
            stamps.stamp_outputs(outcome.outputs, stamps.source_stamp(before))
    except passing:
        raise
    except Exception as exc:  # edge: contain every failure in this asset
        outcome = _failed(exc, started, state)
    return state.with_outcome(step.name, outcome)


def log_outcome(step: Step, state: AssetState, **extra: object) -> bool:
    """Log one line for ``step``'s outcome on this asset: path, asset id, stage, outcome,
    duration, encoder (and the error or the reason it was skipped), at info, or at warning for
    a failure. A step that does not apply to the asset's kind (a transcode for a photo) leaves
    no line; returns whether a line was logged. ``extra`` fields go on the line too."""
    outcome = state.stages.get(step.name)
    if outcome is None or not step.applies(state):
        return False
    fields: dict[str, object] = {
        "path": state.source, "asset_id": state.asset_id, "stage": step.name,
        "outcome": str(outcome.status), "duration_s": round(outcome.duration_s, 4),
        "encoder": outcome.encoder, **extra}
    why = ""
    if outcome.error:
        fields["error"] = f"{outcome.error.type}: {outcome.error.message}"
        why = f": {fields['error']}"
    elif outcome.note:
        fields["note"] = outcome.note
    failed = outcome.status is Status.FAILED
    ASSET_LOG.log(logging.WARNING if failed else logging.INFO, "%s %s %s%s", step.name,
                  outcome.status, state.source, why, extra=fields)
    return True


def process_asset(source: str | os.PathLike[str], asset_id: str, root: str | os.PathLike[str],
                  cfg: Config, *, pipeline: Pipeline = PIPELINE, force: bool = False,
                  todo: Sequence[str] | None = None, identity: Identity | None = None,
                  progress: Progress | None = None) -> AssetResult:
    """Every step of ``pipeline`` for one asset (or those ``todo`` names and what they need),
    here and in order: metadata, thumbnails, the transcode…"""
    state = AssetState.start(source, asset_id, root, force=force, todo=todo,
                              identity=identity)
    for step in pipeline:
        if not pipeline.is_due(step, state):
            continue
        state = run_step(step, state, cfg, progress)
        log_outcome(step, state)
    return state.result()

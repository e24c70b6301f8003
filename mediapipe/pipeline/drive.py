"""Running the steps: the rules every step shares, and the one walk down a pipeline.

Owns: ``skip_outcome`` (a step that does not apply or whose needed step failed is skipped; one
whose outputs exist and were made from the source as it is now is recorded done without
running: the same rules for every driver), ``run_due`` (one step, run with its source held
open, ``sources.held``: the file the scan saw or nothing is read, handed to the step as a
``Source``; every failure contained in the asset as a failed ``StageOutcome`` carrying its
``ErrorRecord``; a source the scan saw that cannot be read now is ``SourceOffline``,
transient; the outputs a step made are stamped with the identity of the source they were made
from), ``log_outcome`` (the one structured line per asset and step, the same in every mode),
``advance`` (the one walk: an asset taken through the step at hand and on, as far as it goes
where it runs, ending ``Done``, ``Send`` the next step to its queue, or ``Retry`` the step at
hand), ``walk`` and ``process_asset`` (every step of a ``Pipeline`` in order, here, one
``advance`` each). The Celery task (``workers.tasks``) calls ``advance`` once and publishes
what it returns; the embedded runner's processes (``local``) ``walk``. Does not own: what the
steps are and their order (``steps.Pipeline``), which assets to process (``index``), which
steps a worker takes along (``workers.policy``), or how a stamp is written and read
(``library.stamps.stamp_outputs``/``made_from``).

Idempotent: a step whose outputs carry the stamp of the source as it is now (its ctime: any
write, replacement, ``cp -p``, rsync or restored mtime changes it) is done, unless the asset
is remade.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from mediapipe import sources
from mediapipe.config import Config
from mediapipe.errors import ErrorRecord, MediaError, SourceOffline
from mediapipe.library import stamps, temps
from mediapipe.pipeline.state import AssetResult, AssetState, StageOutcome, Status, StepFacts
from mediapipe.pipeline.steps import PIPELINE, Pipeline, Progress, Step
from mediapipe.sources import Identity

__all__ = ["ASSET_LOG", "Done", "Move", "Retry", "Send", "advance", "log_outcome", "process_asset",
           "run_due", "skip_outcome", "walk"]

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
    if step.outputs is not None and not state.remake:
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


@dataclasses.dataclass(frozen=True)
class Done:
    """The walk is over: every step due has its outcome."""

    state: AssetState


@dataclasses.dataclass(frozen=True)
class Send:
    """The walk goes on elsewhere: ``step`` is next, from ``state``, on its queue."""

    step: Step
    state: AssetState

    @property
    def queue(self) -> str:
        return self.step.queue


@dataclasses.dataclass(frozen=True)
class Retry:
    """The step at hand failed for now (its outcome in ``state``), and is to be tried again
    from where it started."""

    step: Step
    state: AssetState


Move = Done | Send | Retry
RunDue = Callable[[Step, AssetState, Config, "Progress | None"], AssetState]
Account = Callable[[Step, AssetState], object]


def _alone(step: Step) -> bool:
    """No step but the one at hand runs in this call (in-process: one step a call)."""
    return False


def advance(state: AssetState, pipeline: Pipeline, cfg: Config, step: Step | None = None, *,
            takes: Callable[[Step], bool] = _alone, retries: bool = False,
            run: RunDue = run_due, account: Account = log_outcome,
            progress: Progress | None = None) -> Move:
    """Take the asset through ``step`` (None: its first step due) and on, as far as it goes
    here: the one walk of every driver.

    Each step due is settled by ``skip_outcome`` where it has nothing to do, or run (``run``:
    ``run_due``, or a worker's own around it). The step at hand always runs here; a later one
    with work only where ``takes`` it (``workers.policy``), else the walk returns ``Send`` it.
    A step taken along that fails for now is sent all the same, to be tried again under its own
    task; the step at hand, with ``retries`` left, returns ``Retry``. Each outcome of a step
    that applies to the asset is given to ``account`` (the log line; a worker adds metrics).
    ``Done`` when no step is left."""
    at = step if step is not None else pipeline.first_due(state)
    current = at
    while current is not None:
        if pipeline.is_due(current, state):
            outcome = skip_outcome(current, state, cfg)
            if outcome is not None:
                state = state.with_outcome(current.name, outcome)
            elif current is not at and not takes(current):
                return Send(current, state)
            else:
                after = run(current, state, cfg, progress)
                if after.stages[current.name].transient:
                    if current is at and retries:
                        return Retry(current, after)
                    if current is not at:  # its own task retries it, with backoff
                        log.info("transient failure, passed on to the %s queue", current.queue,
                                 extra={"asset_id": state.asset_id, "stage": current.name})
                        return Send(current, state)
                state = after
            if current.applies(state):  # a step that does not apply is no one's work
                account(current, state)
        current = pipeline.next_step(current.name)
    return Done(state)


def walk(state: AssetState, pipeline: Pipeline, cfg: Config, step: Step | None = None, *,
         run: RunDue = run_due, account: Account = log_outcome,
         progress: Progress | None = None) -> AssetState:
    """Every step due from ``step`` (None: the first) here, one ``advance`` each."""
    move = advance(state, pipeline, cfg, step, run=run, account=account, progress=progress)
    while isinstance(move, Send):
        move = advance(move.state, pipeline, cfg, move.step, run=run, account=account,
                       progress=progress)
    return move.state


def process_asset(source: str | os.PathLike[str], asset_id: str, root: str | os.PathLike[str],
                  cfg: Config, *, pipeline: Pipeline = PIPELINE, remake: bool = False,
                  todo: Sequence[str] | None = None, identity: Identity | None = None,
                  progress: Progress | None = None) -> AssetResult:
    """Every step of ``pipeline`` for one asset (or those ``todo`` names and what they need),
    here and in order: metadata, thumbnails, the transcode…"""
    state = AssetState.start(source, asset_id, root, remake=remake, todo=todo,
                              identity=identity)
    return walk(state, pipeline, cfg, progress=progress).result()

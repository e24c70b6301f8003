"""The embedded runner: the pipeline in processes of this machine, each step under its limit.

Owns: ``Runner`` (what a coordinator needs of any runner: ``Asset`` values in, results out as
they finish) and ``LocalRunner``, the default of ``mediapipe ingest`` without a broker, which
runs the ``Pipeline`` it is given (the product's by default) in ``workers`` long-lived child
processes, one asset at a time each, and enforces each step's hard time limit there as a Celery
worker does: the same ``Step.budget`` read from the same settings (``worker.imageTimeLimit``,
``worker.videoTimeLimit``). A child tells the coordinator when each step starts (one pipe
message); a step past its limit has its process killed (SIGKILL: a decode stuck in C cannot be
interrupted otherwise), fails ``OverTimeLimit`` (permanent: the catalog keeps it failed until
the file changes), the temps it was writing are swept, a fresh process takes its place and the
asset's later steps go on. A child that dies otherwise fails its step as an internal error.
The one structured line per asset and step is logged here, in the coordinator. The Celery
runner, with the same shape, is ``workers.runner.CeleryRunner``. Does not own: the steps
(``drive``) or the catalog (the coordinator records the results).

Child processes die with the coordinator (``PR_SET_PDEATHSIG``; ffmpeg dies with them, see
``transcode.run``): a killed ``ingest`` leaves no orphan holding the catalog or encoding on.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import logging
import multiprocessing
import os
import signal
import time
from collections.abc import Iterable, Iterator
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, Protocol

from mediapipe import allocator, lifelines, logs
from mediapipe.config import Config
from mediapipe.errors import ErrorRecord, OverTimeLimit
from mediapipe.library import temps
from mediapipe.pipeline.drive import log_outcome, run_due, walk
from mediapipe.pipeline.state import Asset, AssetResult, AssetState, StageOutcome, Status
from mediapipe.pipeline.steps import PIPELINE, Pipeline, Step

__all__ = ["Asset", "LocalRunner", "Runner"]

log = logging.getLogger(__name__)
# Forked: a pipeline of a test's own (closures) reaches its processes as it is, warm.
_CONTEXT = multiprocessing.get_context("fork")
_TICK_S = 1.0  # the coordinator looks at its children's step starts at least this often


class Runner(Protocol):
    """Runs ``pipeline``'s steps for each asset, writing into the media root ``root`` with
    the settings ``cfg``, yielding results as they finish. The coordinator reads the three
    from it: they are given once, to the runner."""

    root: Path
    cfg: Config
    pipeline: Pipeline

    def run(self, assets: Iterable[Asset]) -> Iterator[AssetResult]: ...


def _open_step(pipeline: Pipeline, state: AssetState) -> Step | None:
    """The first step due for this asset that has no outcome yet (None: it is finished)."""
    return next((s for s in pipeline if s.name not in state.stages
                 and pipeline.is_due(s, state)), None)


def _walk(state: AssetState, pipeline: Pipeline, cfg: Config, progress: Connection) -> AssetState:
    """The asset's open steps in order, here (``drive.walk``); the coordinator told as each
    one that runs starts (with the state before it: what it resumes from if the step is
    stopped), and left to log them."""
    def announced(step: Step, state: AssetState, cfg: Config, _: object) -> AssetState:
        progress.send(("step", step.name, time.monotonic(), state))
        return run_due(step, state, cfg)

    step = _open_step(pipeline, state)
    if step is None:
        return state
    return walk(state, pipeline, cfg, step, run=announced, account=lambda *_: None)


def _ignored(signum: int, frame: object) -> None:
    """A signal the coordinator answers for its children."""


def _serve(conn: Connection, progress: Connection, pipeline: Pipeline, cfg: Config,
           log_settings: tuple[str, str, str], parent: int) -> None:
    """A child process: bound to its parent's life, the allocator tuned, its parent's log
    set-up; it walks each asset state it is sent and sends back the state it ends with, until
    it is sent None (or its parent is gone). Step starts go down ``progress``, a pipe the
    coordinator reads when it wakes (an asset done, a deadline, each ``_TICK_S``), not one
    that wakes it for each step."""
    lifelines.bind_to_parent(parent)
    allocator.tune()
    logs.configure(*log_settings)
    # ^C and systemd's SIGTERM reach the whole group: the coordinator acts (it ends the run
    # and its children). A handler, not SIG_IGN: the programs a step runs (ffmpeg, exiftool)
    # start with the default actions again, as exec resets caught signals.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _ignored)
    try:
        while (state := conn.recv()) is not None:
            conn.send(("done", _walk(state, pipeline, cfg, progress)))
    except (EOFError, OSError):  # the coordinator is gone
        pass


@dataclasses.dataclass
class _Child:
    """One child process, and what the coordinator knows of its work: the asset state it was
    sent (None: idle) and the step it runs, since when, from which state."""

    process: Any  # multiprocessing's Process of the fork context
    conn: Connection
    progress: Connection
    state: AssetState | None = None
    step: str | None = None
    since: float = 0.0

    @classmethod
    def start(cls, pipeline: Pipeline, cfg: Config) -> _Child:
        ours, theirs = _CONTEXT.Pipe()
        heard, told = _CONTEXT.Pipe(duplex=False)
        process = _CONTEXT.Process(target=_serve, name="mediapipe-step", daemon=True,
                                   args=(theirs, told, pipeline, cfg, logs.current(),
                                         os.getpid()))
        process.start()
        theirs.close()
        told.close()
        return cls(process, ours, heard)

    def send(self, state: AssetState) -> None:
        self.state, self.step = state, None
        self.conn.send(state)

    def stop(self, *, kill: bool) -> None:
        """Ends the process: SIGKILL (mid-step, or at once), or waits for an idle one that was
        sent None to finish (killed after 10 s)."""
        if kill or self.state is not None:
            self.process.kill()
        self.process.join(timeout=None if kill else 10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()
        self.progress.close()

    def heard(self) -> None:
        """Takes in the step starts it sent so far (the last one is the step it runs)."""
        while self.progress.poll():
            _, self.step, self.since, self.state = self.progress.recv()


def _sweep(step: Step, state: AssetState, cfg: Config) -> None:
    """The temps a killed step left beside its outputs (their writer is gone: reaped)."""
    try:
        outputs = step.outputs(state, cfg) if step.outputs is not None else ()
        for path in outputs:
            temps.sweep_temp(path.parent, name=path.name)
    except Exception:  # edge: a sweep that cannot happen now happens in a later run
        log.warning("temps beside %s's outputs not swept", step.name, exc_info=True)


@dataclasses.dataclass
class LocalRunner:
    """Runs the pipeline in ``workers`` child processes here, each step under its limit."""

    root: Path
    cfg: Config
    workers: int = 1
    pipeline: Pipeline = PIPELINE

    def run(self, assets: Iterable[Asset]) -> Iterator[AssetResult]:
        todo = iter(assets)  # streamed: a million assets are never all in memory
        resumed: collections.deque[AssetState] = collections.deque()  # go before new ones
        children: list[_Child] = []
        try:
            while True:
                self._hand_out(children, resumed, todo)
                busy = [c for c in children if c.state is not None]
                if not busy:
                    return
                deadlines = [self._deadline(c) for c in busy if c.step is not None]
                timeout = max(0.0, min([*deadlines, time.monotonic() + _TICK_S])
                              - time.monotonic())
                wait([c.conn for c in busy] + [c.process.sentinel for c in busy], timeout)
                for child in busy:
                    state = self._attend(child, children, resumed)
                    if state is not None:
                        for step in self.pipeline:
                            log_outcome(step, state)
                        yield state.result()
        finally:  # finished, failed or abandoned (a stop): none is left running
            for child in children:
                if child.state is None:  # idle: asked to end, all at once
                    with contextlib.suppress(OSError):
                        child.conn.send(None)
            for child in children:
                working = child.state is not None
                if working:
                    with contextlib.suppress(EOFError, OSError):
                        child.heard()  # the step it is in, and the state it started from
                state, name = child.state, child.step
                child.stop(kill=working)
                if state is not None and name:  # killed mid-step: no half file left
                    _sweep(self.pipeline.by_name(name), state, self.cfg)

    def _hand_out(self, children: list[_Child], resumed: collections.deque[AssetState],
                  todo: Iterator[Asset]) -> None:
        """Each idle child (started as work comes, up to ``workers``) gets the next state."""
        while True:
            idle = next((c for c in children if c.state is None), None)
            if idle is None and len(children) >= max(1, self.workers):
                return
            if resumed:
                state = resumed.popleft()
            elif (asset := next(todo, None)) is not None:
                state = asset.state(self.root)  # its own ``remake`` forces its steps
            else:
                return
            if idle is None:
                if not children:
                    self.pipeline.warm()  # forked processes start with it loaded
                idle = _Child.start(self.pipeline, self.cfg)
                children.append(idle)
            try:
                idle.send(state)
            except OSError:  # it died idle (the OOM killer): a fresh one takes the state
                idle.stop(kill=True)
                children.remove(idle)
                resumed.appendleft(state)

    def _deadline(self, child: _Child) -> float:
        assert child.step is not None
        return child.since + self.pipeline.by_name(child.step).budget.limit(self.cfg)

    def _attend(self, child: _Child, children: list[_Child],
                resumed: collections.deque[AssetState]) -> AssetState | None:
        """Reads what ``child`` sent; stops it past its step's limit, or finds it dead. Returns
        the asset's final state when it is finished."""
        try:
            child.heard()
            if child.conn.poll():
                _, state = child.conn.recv()
                child.heard()  # every step start it sent before: done with
                child.state = child.step = None
                return state  # type: ignore[no-any-return]
        except (EOFError, OSError):  # its end of a pipe closed: it died (or is dying)
            return self._replace(child, children, resumed, None)
        if child.step is not None and time.monotonic() >= self._deadline(child):
            return self._replace(child, children, resumed, self._over_time(child))
        if not child.process.is_alive():
            return self._replace(child, children, resumed, None)
        return None

    def _over_time(self, child: _Child) -> ErrorRecord:
        assert child.state is not None and child.step is not None
        budget = self.pipeline.by_name(child.step).budget
        return OverTimeLimit(child.state.source_path, (
            f"{child.step} took over {budget.limit(self.cfg)} s ({budget.setting}): its "
            f"process was killed, nothing kept; a larger {budget.setting} lets it "
            "finish")).record()

    def _replace(self, child: _Child, children: list[_Child],
                 resumed: collections.deque[AssetState],
                 error: ErrorRecord | None) -> AssetState | None:
        """Kills ``child`` (gone from ``children``: a fresh one is started for the next work)
        and fails the step it ran; the asset's later steps are resumed. Returns the asset's
        state when no step of it is left."""
        state, name, since = child.state, child.step, child.since
        child.stop(kill=True)
        children.remove(child)
        assert state is not None
        step = self.pipeline.by_name(name) if name else _open_step(self.pipeline, state)
        if step is None:
            return state
        if error is None:
            code = child.process.exitcode
            how = f"signal {signal.Signals(-code).name}" if code and code < 0 else f"exit {code}"
            error = ErrorRecord("InternalError", f"the process running {step.name} died ({how})",
                                state.source)
        log.warning("%s: %s", state.source, error.message)
        elapsed = time.monotonic() - since if name else 0.0
        _sweep(step, state, self.cfg)
        state = state.with_outcome(step.name, StageOutcome(Status.FAILED, error=error,
                                                           duration_s=elapsed))
        if _open_step(self.pipeline, state) is None:
            return state
        resumed.appendleft(state)
        return None

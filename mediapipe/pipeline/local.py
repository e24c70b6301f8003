"""The embedded runner: the pipeline in this process, or in a pool of processes on this machine.

Owns: ``Runner`` (what a coordinator needs of any runner: ``Asset`` values in, results out as
they finish) and ``LocalRunner``, the default of ``mediapipe ingest`` without a broker, which
runs the ``Pipeline`` it is given (the product's by default). The Celery runner,
with the same shape, is ``workers.runner.CeleryRunner``. Does not own: the steps (``drive``) or
the catalog (the coordinator records the results).

Pool processes die with the coordinator (``PR_SET_PDEATHSIG``; ffmpeg dies with them, see
``transcode.run``): a killed ``ingest`` leaves no orphan holding the catalog or encoding on.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Protocol

from mediapipe import allocator, lifelines, logs
from mediapipe.config import Config
from mediapipe.pipeline.drive import process_asset
from mediapipe.pipeline.state import Asset, AssetResult
from mediapipe.pipeline.steps import PIPELINE, Pipeline

__all__ = ["Asset", "LocalRunner", "Runner"]

class Runner(Protocol):
    """Runs ``pipeline``'s steps for each asset, yielding results as they finish."""

    pipeline: Pipeline

    def run(self, assets: Iterable[Asset]) -> Iterator[AssetResult]: ...


def _process(asset: Asset, root: str, cfg: Config, force: bool,
             pipeline: Pipeline) -> AssetResult:
    return process_asset(asset.source, asset.asset_id, root, cfg, pipeline=pipeline,
                         force=force or asset.remake, todo=asset.todo, identity=asset.identity)


def _start_process(log_settings: tuple[str, str, str], parent: int) -> None:
    """A pool process: bound to its parent's life, the allocator tuned, and its parent's log
    set-up (format, levels), so its one line per asset and step reads like the parent's
    whatever the start method."""
    lifelines.bind_to_parent(parent)
    allocator.tune()
    logs.configure(*log_settings)


@dataclasses.dataclass
class LocalRunner:
    """Runs the pipeline here: sequentially for one worker, else in a process pool."""

    root: Path
    cfg: Config
    workers: int = 1
    force: bool = False
    pipeline: Pipeline = PIPELINE

    def run(self, assets: Iterable[Asset]) -> Iterator[AssetResult]:
        if self.workers <= 1:
            for asset in assets:
                yield _process(asset, str(self.root), self.cfg, self.force, self.pipeline)
            return
        self.pipeline.warm()  # forked pool processes start with it loaded
        # Pool processes handle image after image, as the CLI and Celery's do: same allocator.
        with cf.ProcessPoolExecutor(self.workers, initializer=_start_process,
                                    initargs=(logs.current(), os.getpid())) as pool:
            inflight: set[cf.Future[AssetResult]] = set()
            try:
                for asset in assets:
                    inflight.add(pool.submit(_process, asset, str(self.root), self.cfg,
                                             self.force, self.pipeline))
                    if len(inflight) >= 2 * self.workers:  # bounded: a million assets stream
                        done, inflight = cf.wait(inflight, return_when=cf.FIRST_COMPLETED)
                        yield from (f.result() for f in done)
                for f in cf.as_completed(inflight):
                    yield f.result()
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise

"""The embedded runner: the pipeline in this process, or in a pool of processes on this machine.

Owns: ``Runner`` (what a coordinator needs of any runner: assets in, results out as they finish)
and ``LocalRunner``, the default of ``mediapipe ingest`` without a broker. The Celery runner,
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
from typing import NamedTuple, Protocol

from mediapipe import allocator, lifelines, logs
from mediapipe.config import Config
from mediapipe.pipeline.drive import process_asset
from mediapipe.pipeline.state import AssetResult
from mediapipe.sources import Identity

__all__ = ["Asset", "LocalRunner", "Runner"]

class Asset(NamedTuple):
    """One asset handed to a runner: where it is, its id, its kind as the scan saw it, the steps
    due (the catalog's pending ones; None: every step) and the file the scan saw there."""

    source: str
    asset_id: str
    kind: str
    todo: tuple[str, ...] | None = None
    identity: Identity | None = None  # the file the scan saw (a contained link's target)
    remake: bool = False  # new content the outputs' stamps cannot tell: forced, this asset


class Runner(Protocol):
    def run(self, assets: Iterable[Asset]) -> Iterator[AssetResult]: ...


def _process(asset: Asset, root: str, cfg: Config, force: bool) -> AssetResult:
    return process_asset(asset.source, asset.asset_id, root, cfg, force=force or asset.remake,
                         todo=asset.todo, identity=asset.identity)


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

    def run(self, assets: Iterable[Asset]) -> Iterator[AssetResult]:
        if self.workers <= 1:
            for asset in assets:
                yield _process(asset, str(self.root), self.cfg, self.force)
            return
        # Pool processes handle image after image, as the CLI and Celery's do: same allocator.
        with cf.ProcessPoolExecutor(self.workers, initializer=_start_process,
                                    initargs=(logs.current(), os.getpid())) as pool:
            inflight: set[cf.Future[AssetResult]] = set()
            try:
                for asset in assets:
                    inflight.add(pool.submit(_process, asset, str(self.root), self.cfg,
                                             self.force))
                    if len(inflight) >= 2 * self.workers:  # bounded: a million assets stream
                        done, inflight = cf.wait(inflight, return_when=cf.FIRST_COMPLETED)
                        yield from (f.result() for f in done)
                for f in cf.as_completed(inflight):
                    yield f.result()
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise

"""The coordinator of ``mediapipe ingest``: scan, diff, run what is due, record the results.

Owns: ``ingest()``, which walks an external library (``scan``), diffs it against the catalog,
requeues what ``--force``/``--missing`` ask for, hands the pending assets to a runner and writes
every result into the catalog (the coordinator is its only writer); the two runners:
``LocalRunner`` (in-process, a process pool when asked for more than one worker: the embedded
default) and ``CeleryRunner`` (fans out to workers through the broker); ``IngestSummary``.
Does not own: the stages (``pipeline``), talking to the user (``cli``), or the catalog's
schema (``catalog``). Originals are only ever read.

Interrupt-safe: results are recorded as they arrive; after Ctrl-C or a crash the next run
resumes from the catalog's pending stages without redoing completed ones.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

from mediapipe import allocator
from mediapipe.config import Config
from mediapipe.index.catalog import Catalog, CatalogEntry, Stage, State
from mediapipe.index.scan import LibraryScan
from mediapipe.library import storage
from mediapipe.pipeline import AssetResult, StageOutcome, Status, process_asset, thumbnail_targets

__all__ = ["CeleryRunner", "IngestSummary", "LocalRunner", "Runner", "ingest"]

log = logging.getLogger(__name__)

Asset = tuple[str, str, str]  # source path, asset id, kind


class Runner(Protocol):
    def run(self, assets: Iterable[Asset]) -> Iterator[AssetResult]: ...


def _process(asset: Asset, root: str, cfg: Config, force: bool) -> AssetResult:
    source, asset_id, _kind = asset
    return process_asset(source, asset_id, root, cfg, force=force)


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
        with cf.ProcessPoolExecutor(self.workers, initializer=allocator.tune) as pool:
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


@dataclasses.dataclass
class CeleryRunner:
    """Sends the assets to Celery workers in batches and yields their results as they come."""

    root: Path
    cfg: Config
    force: bool = False
    idle_timeout: float | None = None

    def run(self, assets: Iterable[Asset]) -> Iterator[AssetResult]:
        from workers.app import make_app
        from workers.dispatch import Run

        app = make_app(self.cfg)
        if not app.control.ping(timeout=1.0):
            log.warning("no worker answered on %s: the assets wait in the queue until one "
                        "starts (mediapipe worker --broker ...)", self.cfg.broker_url)
        run = Run(app, self.root, self.cfg, force=self.force)
        run.submit(assets)
        yield from run.results(idle_timeout=self.idle_timeout)


@dataclasses.dataclass
class IngestSummary:
    library: str
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    offline: int = 0
    back_online: int = 0
    processed: int = 0
    failed: int = 0
    failures: list[dict[str, str]] = dataclasses.field(default_factory=list)
    problems: list[dict[str, str]] = dataclasses.field(default_factory=list)
    duration_s: float = 0.0
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_STATE = {Status.DONE: State.DONE, Status.SKIPPED: State.SKIPPED, Status.FAILED: State.FAILED}


def _state(outcome: StageOutcome) -> State:
    """A transient failure (the disk went away, ffmpeg was killed) leaves the stage pending, so
    the next run tries it again; anything else is final until the source changes."""
    if outcome.transient:
        return State.PENDING
    return _STATE[outcome.status]


def record(cat: Catalog, result: AssetResult) -> None:
    """Write one asset's stage outcomes (and its metadata) into the catalog."""
    for name, outcome in result.stages.items():
        cat.record_result(result.asset_id, Stage(name), _state(outcome),
                          error=outcome.error,
                          metadata=result.metadata if name == "metadata" else None)


def requeue_missing(cat: Catalog, root: Path, cfg: Config) -> int:
    """Set stages back to pending where their derived files are gone (thumbs cache cleared,
    an encoded video deleted), as Immich's "missing" jobs do. Returns how many assets."""
    count = 0
    for entry in cat.entries():
        gone = list(_missing_stages(entry, root, cfg))
        for stage in gone:
            cat.record_result(entry.asset_id, stage, State.PENDING)
        count += bool(gone)
    cat.flush()
    return count


def _missing_stages(entry: CatalogEntry, root: Path, cfg: Config) -> Iterator[Stage]:
    if entry.states[Stage.THUMBNAILS] is State.DONE and not all(
            p.exists() for p in thumbnail_targets(root, cfg.owner_id, entry.asset_id,
                                                  cfg).values()):
        yield Stage.THUMBNAILS
    if entry.states[Stage.VIDEO] is State.DONE and not storage.derived_path(
            root, cfg.owner_id, entry.asset_id, storage.Derived.ENCODED_VIDEO, "mp4").exists():
        yield Stage.VIDEO


def ingest(library: str | os.PathLike[str], root: Path, cfg: Config, runner: Runner, *,
           force: bool = False, missing: bool = False, dry_run: bool = False,
           on_start: Callable[[int], None] | None = None,
           on_result: Callable[[AssetResult], None] | None = None) -> IngestSummary:
    """Scan ``library``, bring the catalog up to date and run every pending stage."""
    started = time.perf_counter()
    with Catalog.open(root) as cat:  # StorageOffline here, before any write, if a marker is gone
        diff = cat.diff(LibraryScan(library, cfg.library.exclusion_patterns), dry_run=dry_run)
        summary = IngestSummary(
            library=os.fsdecode(os.path.abspath(library)), new=diff.new, changed=diff.changed,
            unchanged=diff.unchanged, offline=diff.offline, back_online=diff.back_online,
            problems=[{"path": p.path, "error": p.reason} for p in diff.problems],
            dry_run=dry_run)
        if not dry_run:
            if force:
                cat.requeue()
            if missing:
                requeue_missing(cat, root, cfg)
            if on_start:
                by_stage = cat.stats().by_stage.values()
                on_start(max((states.get("pending", 0) for states in by_stage), default=0))
            assets = ((e.path, e.asset_id, str(e.kind)) for e in cat.pending())
            for result in runner.run(assets):
                record(cat, result)
                summary.processed += 1
                if not result.ok:
                    summary.failed += 1
                    summary.failures.append({"path": result.source,
                                             "error": _describe(result.error)})
                if on_result:
                    on_result(result)
    summary.duration_s = round(time.perf_counter() - started, 3)
    return summary


def _describe(error: Any) -> str:
    return f"{error.get('type')}: {error.get('message')}" if error else "failed"

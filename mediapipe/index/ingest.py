"""The coordinator of ``mediapipe ingest``: scan, diff, run what is due, record the results.

Owns: ``ingest()``, which walks an external library (``scan``), diffs it against the catalog,
requeues what ``--force``/``--missing`` ask for, hands the pending assets to a runner and writes
every result into the catalog (the coordinator is its only writer); ``IngestSummary``. The
runner is the caller's choice: ``pipeline.local.LocalRunner`` (in-process, the embedded
default) or ``workers.runner.CeleryRunner`` (through a broker), both a ``pipeline.local.Runner``.
Does not own: the steps (``pipeline``), talking to the user (``cli``), or the catalog's
schema (``catalog``). Originals are only ever read.

Interrupt-safe: results are recorded as they arrive; after Ctrl-C or a crash the next run
resumes from the catalog's pending stages without redoing completed ones.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from mediapipe.config import Config
from mediapipe.index.catalog import Catalog, CatalogEntry, State
from mediapipe.index.scan import LibraryScan
from mediapipe.pipeline import steps
from mediapipe.pipeline.local import Runner
from mediapipe.pipeline.state import AssetResult, AssetState, StageOutcome, Status

__all__ = ["IngestSummary", "ingest"]

log = logging.getLogger(__name__)

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
        cat.record_result(result.asset_id, name, _state(outcome),
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


def _missing_stages(entry: CatalogEntry, root: Path, cfg: Config) -> Iterator[str]:
    """The done steps of ``entry`` with an output that is gone."""
    state = AssetState.start(entry.path, entry.asset_id, root)
    done = {name for name, s in entry.states.items() if s is State.DONE}
    for step in steps.STEPS:
        if step.outputs is None or step.name not in done:
            continue
        if not all(p.exists() for p in step.outputs(state, cfg)):
            yield step.name


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
                                             "type": str((result.error or {}).get("type")),
                                             "error": _describe(result.error)})
                if on_result:
                    on_result(result)
    summary.duration_s = round(time.perf_counter() - started, 3)
    return summary


def _describe(error: Any) -> str:
    """``Type: message``, naming the file it is about when that is not the source (an output
    that could not be written, say)."""
    if not error:
        return "failed"
    where = f"{error['path']}: " if error.get("path") else ""
    return f"{error.get('type')}: {where}{error.get('message')}"

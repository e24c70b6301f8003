"""The coordinator of ``mediapipe ingest``: scan, diff, run what is due, record the results.

Owns: ``ingest()``, which walks an external library (``scan``), diffs it against the catalog,
requeues what ``--force`` (``remake``)/``--missing`` ask for, hands the pending assets to a
runner and writes every result into the catalog (the coordinator is its only writer);
``IngestSummary`` (its failures as ``Failure`` values, its scan's problems as the scan's
``ScanProblem``s: dicts only in ``to_dict``, for ``--json``). The runner is the caller's
choice: ``pipeline.local.LocalRunner`` (in-process, the embedded default) or
``workers.runner.CeleryRunner`` (through a broker), both a ``pipeline.local.Runner``; the media
root, the settings and the pipeline are the runner's, given to it once.
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
from collections.abc import Callable, Collection, Iterable, Iterator
from pathlib import Path
from typing import Any

from mediapipe.config import Config
from mediapipe.errors import ConfigError, ErrorRecord, PathEscape
from mediapipe.index import listing
from mediapipe.index.catalog import Catalog, CatalogEntry, State
from mediapipe.index.scan import LibraryScan, ScanProblem
from mediapipe.library import upgrade
from mediapipe.library.storage import inside
from mediapipe.metadata.model import MediaInfo
from mediapipe.pipeline.local import Runner
from mediapipe.pipeline.state import Asset, AssetResult, AssetState, StageOutcome, Status
from mediapipe.pipeline.steps import Step

__all__ = ["Failure", "IngestSummary", "check_apart", "ingest", "missing_outputs", "record",
           "requeue_missing"]

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Failure:
    """An asset that failed in this run: its source, and the error (its first step's)."""

    path: str
    error: ErrorRecord

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "type": self.error.type, "error": self.error.describe()}


@dataclasses.dataclass
class IngestSummary:
    library: str
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    offline: int = 0
    back_online: int = 0
    processed: int = 0
    failed: int = 0  # processed in this run and failed
    still_failed: int = 0  # failed in an earlier run and not retried in this one
    missing: int = 0  # assets with a derived file gone (--missing: requeued, or counted)
    failures: list[Failure] = dataclasses.field(default_factory=list)
    problems: list[ScanProblem] = dataclasses.field(default_factory=list)  # skipped by the scan
    duration_s: float = 0.0
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "failures": [f.to_dict() for f in self.failures],
                "problems": [{"path": p.path, "error": p.reason} for p in self.problems]}


_STATE = {Status.DONE: State.DONE, Status.SKIPPED: State.SKIPPED, Status.FAILED: State.FAILED}


def _state(outcome: StageOutcome) -> State:
    """A transient failure (the disk or the share went away, ffmpeg was killed) leaves the
    stage pending, so the next run tries it again, and so does a step skipped because the step
    it needs failed that way; anything else is final until the source changes."""
    if outcome.transient or outcome.facts.waits_for:
        return State.PENDING
    return _STATE[outcome.status]


def _info_facts(info: MediaInfo) -> dict[str, Any]:
    """What the catalog keeps of the metadata in columns (``schema.FACTS``), beside its JSON."""
    return {"width": info.width, "height": info.height, "live_photo_id": info.live_photo_id,
            "warnings": list(info.warnings),
            "taken_at": info.taken_at.isoformat() if info.taken_at else None,
            "taken_at_source": info.taken_at_source, "place_city": info.city,
            "place_state": info.state, "place_country": info.country,
            "projection_type": info.projection_type}


def _facts(outcome: StageOutcome, info: MediaInfo | None) -> dict[str, Any]:
    """What the catalog keeps of one step's outcome (``schema.FACTS``): the metadata's size,
    date, place, live-photo id and warnings; a step's facts (thumbhash, linked video,
    warnings); the encoder."""
    facts = _info_facts(info) if info else {}
    facts.update(outcome.facts.to_dict())
    if outcome.encoder:
        facts["encoder"] = outcome.encoder
    return facts


def record(cat: Catalog, result: AssetResult) -> None:
    """Write one asset's stage outcomes (its metadata, what it has) into the catalog."""
    provider = cat.pipeline.metadata_step.name
    for name, outcome in result.stages.items():
        info = result.info if name == provider else None
        cat.record_result(result.asset_id, name, _state(outcome), error=outcome.error,
                          info=info, facts=_facts(outcome, info))


def requeue_missing(cat: Catalog, root: Path, cfg: Config, *, under: str | None = None,
                    dry_run: bool = False) -> int:
    """Set steps back to pending where their derived files are gone (thumbs cache cleared,
    an encoded video deleted), as Immich's "missing" jobs do; with ``dry_run`` only count.
    Every output of every asset is checked: those of done steps, and of steps an older
    mediapipe recorded ``skipped`` for outputs it found (a step that cannot decline on its own,
    skipped though it applies and its needed steps are done). Returns how many assets."""
    count = 0
    for entry in cat.entries(under=under):
        gone = list(dict.fromkeys(step.name for step, _ in missing_outputs(cat, entry, root,
                                                                           cfg)))
        if not dry_run:
            for stage in gone:
                cat.record_result(entry.asset_id, stage, State.PENDING)
        count += bool(gone)
    cat.flush()
    return count


def missing_outputs(cat: Catalog, entry: CatalogEntry, root: Path,
                    cfg: Config) -> Iterator[tuple[Step, Path]]:
    """Each output of ``entry`` that its recorded states say was made and is not on disk
    (``Pipeline.missing_outputs``, with the metadata the catalog keeps: what a step makes may
    depend on what the file is): what ``--missing`` requeues and ``catalog check`` reports."""
    state = dataclasses.replace(AssetState.start(entry.path, entry.asset_id, root),
                                info=cat.info(entry.asset_id))
    states = {name: str(value) for name, value in entry.states.items()}
    return cat.pipeline.missing_outputs(state, str(entry.kind), states, cfg)


LAYOUT = "immich-names"  # derived files named <id>-preview.jpeg, as Immich names them


def upgrade_layout(cat: Catalog, root: Path) -> None:
    """Once per media root: rename derived files an older mediapipe wrote (``_preview`` …)."""
    if cat.meta("layout") == LAYOUT:
        return
    renamed = upgrade.rename_legacy_derived(root)
    if renamed:
        log.info("renamed %d derived files to Immich's names", renamed)
    cat.set_meta("layout", LAYOUT)


def check_apart(library: str | os.PathLike[str], root: str | os.PathLike[str]) -> None:
    """``ConfigError`` naming both paths when the library holds the media root or the media
    root holds the library (resolved: a link to either counts as it), as Immich refuses its
    upload folder as an external library: mediapipe would ingest its own outputs, more at
    every run."""
    lib, media = os.path.realpath(library), os.path.realpath(root)
    if inside(lib, media) or inside(media, lib):
        how = ("is" if lib == media else "is inside" if inside(lib, media) else "holds")
        raise ConfigError("library", f"the library {lib} {how} the media root {media}; "
                                     "mediapipe would ingest its own outputs. Keep the media "
                                     "root (--media-root, mediaLocation) outside every library")


def ingest(library: str | os.PathLike[str], runner: Runner, *, remake: bool = False,
           missing: bool = False, retry_failed: bool = False, dry_run: bool = False,
           settling: Collection[str] = (), on_start: Callable[[int], None] | None = None,
           on_result: Callable[[AssetResult], None] | None = None) -> IngestSummary:
    """Scan ``library``, bring the catalog of the runner's media root up to date and have the
    runner run every pending step of its sources (those of other libraries in the same media
    root wait for their own ingest). ``remake`` (``--force``): every step of every source
    requeued, and run even where its outputs are fresh (each ``Asset.remake``). ``settling``:
    paths still being written, left as they are until a later ingest. ``ConfigError`` before
    anything is read when the library and the media root nest (``check_apart``)."""
    root, cfg = runner.root, runner.cfg
    check_apart(library, root)
    started = time.perf_counter()
    under = os.fsdecode(os.path.abspath(library))
    # StorageOffline here, before any write, if a marker is gone; a column per runner's step
    with Catalog.open(root, runner.pipeline, scratch=dry_run) as cat:
        if not dry_run:
            upgrade_layout(cat, root)
            if under.isprintable():  # ls says which library an asset is from
                cat.set_meta(listing.LIBRARY_KEY + under, str(int(time.time())))
        diff = cat.diff(LibraryScan(library, cfg.library.exclusion_patterns,
                                    fingerprint=cfg.library.scan.fingerprint), keep=settling,
                        dry_run=dry_run)
        summary = IngestSummary(
            library=under, new=diff.new, changed=diff.changed,
            unchanged=diff.unchanged, offline=diff.offline, back_online=diff.back_online,
            problems=list(diff.problems),
            dry_run=dry_run)
        if missing:
            summary.missing = requeue_missing(cat, root, cfg, under=under, dry_run=dry_run)
        if not dry_run:
            if remake:
                cat.requeue(under=under)
            elif retry_failed:
                cat.requeue(failed_only=True, under=under)
            if on_start:
                by_stage = listing.stats(cat, under=under).by_stage.values()
                on_start(max((states.get("pending", 0) for states in by_stage), default=0))
            escaped: list[Asset] = []  # failed here, before any runner: for good
            assets = _contained(cat, cat.pending(under=under), under, summary, escaped,
                                remake=remake)
            failed_for_good = 0  # a transient failure leaves its step pending, not failed
            for result in runner.run(assets):
                record(cat, result)
                failed_for_good += any(_state(o) is State.FAILED for o in result.stages.values())
                summary.processed += 1
                if result.error is not None:
                    summary.failed += 1
                    summary.failures.append(Failure(result.source, result.error))
                if on_result:
                    on_result(result)
            failed_for_good += len(escaped)
            cat.link_live_photos()
            summary.still_failed = listing.stats(cat, under=under).failed - failed_for_good
        else:
            summary.still_failed = listing.stats(cat, under=under).failed
    summary.duration_s = round(time.perf_counter() - started, 3)
    return summary


def _contained(cat: Catalog, entries: Iterable[CatalogEntry], library: str,
               summary: IngestSummary, escaped: list[Asset], *,
               remake: bool) -> Iterator[Asset]:
    """The pending assets to hand to the runner (each to be remade where the catalog says so,
    or ``remake``), each checked just before: one whose path now
    resolves outside the library (a symbolic link swapped in for it, or for a folder above it,
    after the scan) or is a link standing where the scan saw another file is not read: its
    pending steps fail with ``PathEscape``, and the next scan sees what is there now."""
    real_root = os.path.realpath(library)
    for entry in entries:
        why = _swapped(entry, real_root)
        if why is None:
            yield Asset(entry.path, entry.asset_id, entry.todo, entry.identity,
                        entry.remake or remake)
            continue
        escaped.append(Asset(entry.path, entry.asset_id, entry.todo, entry.identity))
        error = PathEscape(entry.path, f"{why} after the scan; not read").record()
        for name in entry.todo:
            cat.record_result(entry.asset_id, name, State.FAILED, error=error)
        summary.failed += 1
        summary.failures.append(Failure(entry.path, error))


def _swapped(entry: CatalogEntry, real_root: str) -> str | None:
    """What replaced ``entry``'s file since the scan, when it must not be read; else None."""
    real = os.path.realpath(entry.path)
    if not inside(real, real_root):  # the scan's own rule
        return f"it resolves to {real}, outside the library"
    try:
        st = os.path.islink(entry.path) and os.stat(entry.path)
    except OSError:
        return None  # gone or offline: the step says so (SourceOffline)
    if st and entry.identity is not None and entry.identity != (st.st_dev, st.st_ino):
        return "a symbolic link to another file was put in its place"
    return None

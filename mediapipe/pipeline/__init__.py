"""One asset through the stages: the only place that composes stages with storage.

Owns: ``process_asset`` (metadata → thumbnails → transcode for videos) and the three steps it
is made of (``step_metadata``, ``step_thumbnails``, ``step_video``), which the Celery tasks call
one by one; idempotency (a stage whose outputs exist and are newer than the source is skipped
unless forced); ``AssetResult``, the JSON-serialisable account of what happened. Does not own:
deciding which assets to process (``scan``/``catalog``), talking to the user, or reading the
environment: config and paths are passed in.

A failure is contained in the asset: every error becomes a failed ``StageOutcome`` carrying the
``MediaError`` type and message, and later stages are skipped; nothing here raises for bad media.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from mediapipe.config import Config
from mediapipe.errors import MediaError
from mediapipe.library import storage
from mediapipe.metadata.model import MediaInfo

__all__ = ["AssetResult", "StageOutcome", "Status", "process_asset", "step_metadata",
           "step_thumbnails", "step_video"]

log = logging.getLogger(__name__)

STAGES = ("metadata", "thumbnails", "video")


class Status(enum.StrEnum):
    DONE = "done"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclasses.dataclass(frozen=True)
class StageOutcome:
    status: Status
    outputs: tuple[str, ...] = ()
    error: Mapping[str, Any] | None = None  # MediaError.to_dict()
    encoder: str | None = None
    note: str = ""
    details: Mapping[str, str] = dataclasses.field(default_factory=dict)  # thumbhash, …
    duration_s: float = 0.0
    bytes_written: int = 0

    @property
    def transient(self) -> bool:
        """Failed for a reason a later try may not meet (``MediaError.transient``)."""
        return self.status is Status.FAILED and bool(self.error) \
            and bool(self.error.get("transient"))

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["status"] = str(self.status)
        d["outputs"] = list(self.outputs)
        d["error"] = dict(self.error) if self.error else None
        d["details"] = dict(self.details)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> StageOutcome:
        return cls(**{**d, "status": Status(d["status"]), "outputs": tuple(d["outputs"])})


@dataclasses.dataclass(frozen=True)
class AssetResult:
    asset_id: str
    source: str
    kind: str | None
    stages: Mapping[str, StageOutcome]
    metadata: Mapping[str, Any] | None = None

    @property
    def error(self) -> Mapping[str, Any] | None:
        """The first stage error, if any."""
        return next((s.error for s in self.stages.values() if s.error), None)

    @property
    def ok(self) -> bool:
        return self.error is None

    def with_stage(self, name: str, outcome: StageOutcome, **changes: Any) -> AssetResult:
        return dataclasses.replace(self, stages={**self.stages, name: outcome}, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {"asset_id": self.asset_id, "source": self.source, "kind": self.kind,
                "stages": {k: v.to_dict() for k, v in self.stages.items()},
                "metadata": dict(self.metadata) if self.metadata else None,
                "error": dict(self.error) if self.error else None}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AssetResult:
        return cls(d["asset_id"], d["source"], d["kind"],
                   {k: StageOutcome.from_dict(v) for k, v in d["stages"].items()},
                   d.get("metadata"))

    @classmethod
    def start(cls, source: str | Path, asset_id: str) -> AssetResult:
        return cls(asset_id, os.fsdecode(source), None, {})


NOT_A_VIDEO = StageOutcome(Status.SKIPPED, note="not a video")
AFTER_FAILED_METADATA = StageOutcome(Status.SKIPPED, note="metadata failed")


def _failed(exc: BaseException, started: float) -> StageOutcome:
    if isinstance(exc, MediaError):
        error = exc.to_dict()
    else:  # a bug, not bad media: still contained in this asset, logged with its traceback
        log.exception("internal error")
        error = {"type": "InternalError", "path": "", "message": f"{type(exc).__name__}: {exc}"}
    return StageOutcome(Status.FAILED, error=error, duration_s=time.perf_counter() - started)


def _fresh(outputs: list[Path], source: Path) -> bool:
    """All outputs exist and none is older than the source."""
    try:
        src_mtime = source.stat().st_mtime_ns
        return all(p.stat().st_mtime_ns >= src_mtime for p in outputs)
    except OSError:
        return False


def step_metadata(source: Path, cfg: Config) -> tuple[StageOutcome, MediaInfo | None]:
    """Read the source's metadata (always: it is cheap and has no output on disk)."""
    from mediapipe.metadata.read import read_metadata

    started = time.perf_counter()
    try:
        info = read_metadata(source)
    except Exception as exc:  # edge: contain every failure in this asset
        return _failed(exc, started), None
    return StageOutcome(Status.DONE, duration_s=time.perf_counter() - started), info


def thumbnail_targets(root: Path, owner: str, asset_id: str, cfg: Config) -> dict[str, Path]:
    img = cfg.image
    targets = {
        "preview": storage.derived_path(root, owner, asset_id, storage.Derived.PREVIEW,
                                        img.preview.format),
        "thumbnail": storage.derived_path(root, owner, asset_id, storage.Derived.THUMBNAIL,
                                          img.thumbnail.format),
    }
    return targets


def step_thumbnails(source: Path, asset_id: str, root: Path, cfg: Config, info: MediaInfo,
                    *, force: bool = False) -> StageOutcome:
    """Write the preview and thumbnail (and full size where asked) unless they are fresh."""
    from mediapipe.thumbnails.make import make_thumbnails

    started = time.perf_counter()
    targets = thumbnail_targets(root, cfg.owner_id, asset_id, cfg)
    if not force and _fresh(list(targets.values()), source):
        return StageOutcome(Status.SKIPPED, tuple(map(str, targets.values())),
                            note="outputs are newer than the source")
    try:
        thumbs = make_thumbnails(source, info, cfg)
        files = {targets["preview"]: thumbs.preview.data,
                 targets["thumbnail"]: thumbs.thumbnail.data}
        if thumbs.fullsize is not None:
            files[storage.derived_path(root, cfg.owner_id, asset_id, storage.Derived.FULLSIZE,
                                       thumbs.fullsize.format)] = thumbs.fullsize.data
        for target, data in files.items():
            storage.atomic_write(target, data)
    except Exception as exc:  # edge: contain every failure in this asset
        return _failed(exc, started)
    return StageOutcome(Status.DONE, tuple(map(str, files)),
                        details={"thumbhash": thumbs.thumbhash, "colorspace": thumbs.colorspace},
                        duration_s=time.perf_counter() - started,
                        bytes_written=sum(map(len, files.values())))


def step_video(source: Path, asset_id: str, root: Path, cfg: Config, info: MediaInfo, *,
               force: bool = False,
               progress: Callable[[float], None] | None = None) -> StageOutcome:
    """Transcode a video when the policy asks for it, with the accelerator fallback chain."""
    from mediapipe.transcode import plan as transcode
    from mediapipe.transcode import run as ffmpeg_run

    started = time.perf_counter()
    if info.kind != "video":
        return NOT_A_VIDEO
    target = storage.derived_path(root, cfg.owner_id, asset_id, storage.Derived.ENCODED_VIDEO,
                                  "mp4")
    try:
        plan = transcode.plan_transcode(info, cfg)
        if plan.decision == "none":
            return StageOutcome(Status.SKIPPED, note="plays as it is: " + "; ".join(plan.reasons))
        if not force and _fresh([target], source):
            return StageOutcome(Status.SKIPPED, (str(target),),
                                note="output is newer than the source")
        result = ffmpeg_run.transcode(plan, source, target, output=storage.atomic_output,
                                      accel=cfg.ffmpeg.accel,
                                      accel_decode=cfg.ffmpeg.accel_decode, progress=progress)
    except Exception as exc:  # edge: contain every failure in this asset
        return _failed(exc, started)
    return StageOutcome(Status.DONE, (str(target),), encoder=result.encoder,
                        note="; ".join(f"{accel} skipped: {why}" for accel, why in result.skipped),
                        duration_s=time.perf_counter() - started,
                        bytes_written=target.stat().st_size)


def process_asset(source: str | Path, asset_id: str, root: str | Path, cfg: Config, *,
                  force: bool = False,
                  progress: Callable[[float], None] | None = None) -> AssetResult:
    """Metadata, then thumbnails, then (videos) the transcode: one asset, start to end."""
    source, root = Path(source), Path(root)
    result = AssetResult.start(source, asset_id)
    outcome, info = step_metadata(source, cfg)
    result = result.with_stage("metadata", outcome,
                               kind=info.kind if info else None,
                               metadata=info.to_dict() if info else None)
    if info is None:
        return (result.with_stage("thumbnails", AFTER_FAILED_METADATA)
                .with_stage("video", AFTER_FAILED_METADATA))
    result = result.with_stage("thumbnails", step_thumbnails(source, asset_id, root, cfg, info,
                                                             force=force))
    return result.with_stage("video", step_video(source, asset_id, root, cfg, info,
                                                 force=force, progress=progress))


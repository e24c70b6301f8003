"""The motion step: a motion photo's embedded video, copied out, checked, linked, transcoded.

Owns: ``extract`` — the MP4 a Google or Samsung motion photo carries (a JPEG trailer, a HEIF
``mpvd`` box, where Google's XMP says: ``metadata.motion.locate``) is copied, as a byte range,
to Immich's path for it, ``encoded-video/<owner>/<xx>/<yy>/<id>-MP.mp4`` (the id is
``identity.motion_part_id`` of the photo's), written through a temp file and kept only if
PyAV reads it as a video; then, when the transcode policy says so, transcoded to that id's
``encoded-video`` path as any video is. The photo's outcome links the video
(``StepFacts.linked_video``). A damaged trailer is a warning on the photo, not a failure:
nothing is kept, the step is skipped with the reason (never the temp file's name); so is a
photo that says it carries a video and does not. ``applies`` and ``outputs`` are the step's
declaration helpers (``steps``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from mediapipe.config import Config
from mediapipe.errors import CorruptMedia, TooLarge, UnsupportedMedia
from mediapipe.identity import motion_part_id
from mediapipe.library import storage
from mediapipe.metadata import motion
from mediapipe.pipeline.state import AssetState, StageOutcome, Status, StepFacts
from mediapipe.pipeline.transcoding import transcode_to
from mediapipe.sources import Source

__all__ = ["applies", "extract", "outputs"]


def applies(state: AssetState) -> bool:
    return state.info is not None and motion.maybe_motion(state.info)


def _part_path(state: AssetState, cfg: Config, derived: storage.Derived) -> Path:
    return storage.derived_path(state.root_path, cfg.owner_id, motion_part_id(state.asset_id),
                                derived, "mp4")


def outputs(state: AssetState, cfg: Config) -> list[Path]:
    return [_part_path(state, cfg, storage.Derived.MOTION_PART)]


def _copy_range(source: Source, offset: int, length: int, target: Path) -> None:
    with source.open() as src, open(target, "wb") as dst:
        src.seek(offset)
        remaining = length
        while remaining > 0:
            chunk = src.read(min(remaining, 1 << 20))
            if not chunk:
                break
            dst.write(chunk)
            remaining -= len(chunk)


def _without(reason: str, tmp: Path) -> str:
    """A reader's words about the temp file, with the temp file's name taken out (it is gone
    once the step returns; the warning is about the photo)."""
    for name in (str(tmp), tmp.name):
        reason = reason.replace(f"'{name}'", "the video").replace(name, "the video")
    return reason


def extract(state: AssetState, source: Source, cfg: Config,
            progress: Callable[[float], None] | None) -> tuple[StageOutcome, AssetState]:
    from mediapipe.metadata.video import read_video
    from mediapipe.transcode import plan as policy

    assert state.info is not None  # ``needs`` metadata
    started = time.perf_counter()
    found = motion.locate(source, state.info)
    part = found.part
    if part is None:
        if found.problem:  # the photo says it has a video and it has none: the user is told
            return StageOutcome(Status.SKIPPED, note=found.problem,
                                facts=StepFacts(warnings=(found.problem,))), state
        return StageOutcome(Status.SKIPPED, note="no embedded video found"), state
    target = _part_path(state, cfg, storage.Derived.MOTION_PART)
    try:
        with storage.atomic_output(target, modes=storage.Modes.of(cfg)) as tmp:
            _copy_range(source, part.offset, part.length, tmp)
            try:
                video = read_video(tmp)  # PyAV reads it by its content: it must be a video
            except (CorruptMedia, UnsupportedMedia) as exc:
                raise type(exc)(target, _without(exc.reason, tmp)) from exc
            try:  # over image.maxPixels: TooLarge for the photo, nothing kept
                policy.check_size(video, cfg)
            except TooLarge as exc:
                raise TooLarge(state.source_path, f"its motion video: {exc.reason}") from None
    except (CorruptMedia, UnsupportedMedia) as exc:
        warning = f"motion photo video is damaged, not kept: {exc.reason}"
        return StageOutcome(Status.SKIPPED, note=warning,
                            facts=StepFacts(warnings=(warning,))), state
    outputs_ = [str(target)]
    encoder = None
    plan = policy.plan_transcode(video, cfg)
    if plan.decision != "none":
        encoded = _part_path(state, cfg, storage.Derived.ENCODED_VIDEO)
        result = transcode_to(plan, target, encoded, modes=storage.Modes.of(cfg),
                              progress=progress)
        outputs_.append(str(encoded))
        encoder = result.encoder
    return StageOutcome(Status.DONE, tuple(outputs_), encoder=encoder,
                        facts=StepFacts(linked_video=motion_part_id(state.asset_id)),
                        duration_s=time.perf_counter() - started,
                        bytes_written=sum(Path(p).stat().st_size for p in outputs_)), state


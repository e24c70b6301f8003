"""The pipeline's steps, declared once as data: what runs, on which queue, when, and what it makes.

Owns: ``Step`` (a name, the queue a worker serves it on, the time-limit budget it runs under,
when it applies, which earlier steps it needs, the outputs that, made from the source as it is
now, mean "already done", whether it may decline (nothing to make: a video that plays as is),
and its function over an ``AssetState``) and ``STEPS``, the ordered list both drivers run: the
in-process one (``drive.process_asset``) and the Celery one (``workers.tasks``). Adding a step is
adding one ``Step`` here. Each step function is the only place that composes its stage with
storage; it may raise, and the driver turns any exception into a failed ``StageOutcome``.
Does not own: skip rules common to every step and error containment (``drive``).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mediapipe.config import Config
from mediapipe.library import storage
from mediapipe.pipeline import motion
from mediapipe.pipeline.state import AssetState, StageOutcome, Status

__all__ = ["STEPS", "Progress", "Step", "by_name", "modes", "output", "thumbnail_targets"]

Progress = Callable[[float], None]
StepFunction = Callable[[AssetState, Config, "Progress | None"], tuple[StageOutcome, AssetState]]


ALL_KINDS = frozenset({"image", "video"})


@dataclasses.dataclass(frozen=True)
class Step:
    """One step of the pipeline. ``run`` returns its outcome and the (possibly enriched) state."""

    name: str
    run: StepFunction
    queue: str
    budget: str = "image"  # which worker time limit it runs under: "image" or "video"
    kinds: frozenset[str] = ALL_KINDS  # the kinds of asset it applies to (the catalog knows)
    when: Callable[[AssetState], bool] | None = None  # a finer test, once metadata is known
    when_not: str = ""  # the note when ``when`` says no
    needs: tuple[str, ...] = ("metadata",)  # a failure of one of these skips this step
    outputs: Callable[[AssetState, Config], Sequence[Path]] | None = None  # skip when fresh
    reads_sidecar: bool = False  # an XMP sidecar appearing or changing makes it due again
    declines: bool = False  # may itself decide there is nothing to make (skipped, no outputs)

    def __post_init__(self) -> None:
        if not self.name.isidentifier():  # it names a catalog column and a task
            raise ValueError(f"step name {self.name!r} is not an identifier")

    def applies(self, state: AssetState) -> bool:
        """False when the asset's kind is known and not one of ``kinds``, or ``when`` says no."""
        if state.kind is None:
            return True
        return state.kind in self.kinds and (self.when is None or self.when(state))

    def not_applicable(self, state: AssetState) -> str:
        """Why it does not apply to this asset (the skipped outcome's note)."""
        if state.kind in self.kinds:
            return self.when_not
        return "not " + " or ".join(f"a {k}" if k[0] not in "aeiou" else f"an {k}"
                                    for k in sorted(self.kinds))


def modes(cfg: Config) -> storage.Modes:
    """The permission bits of what the steps write (``storage.fileMode``/``folderMode``)."""
    return storage.Modes(cfg.storage.file_bits, cfg.storage.folder_bits)


def output(cfg: Config) -> Callable[..., Any]:
    """``storage.atomic_output`` with the configured modes (what a transcode writes through)."""
    return functools.partial(storage.atomic_output, modes=modes(cfg))


def _elapsed(started: float) -> float:
    return time.perf_counter() - started


def read(state: AssetState, cfg: Config, _: Progress | None) -> tuple[StageOutcome, AssetState]:
    """Read the source's metadata (always: it is cheap and has no output on disk)."""
    from mediapipe.metadata.read import read_metadata

    started = time.perf_counter()
    info = read_metadata(state.source_path)
    return (StageOutcome(Status.DONE, duration_s=_elapsed(started)),
            dataclasses.replace(state, info=info))


def thumbnail_targets(state: AssetState, cfg: Config) -> dict[str, Path]:
    """Where the preview and the thumbnail of this asset go (Immich's layout)."""
    img, root = cfg.image, state.root_path
    return {
        "preview": storage.derived_path(root, cfg.owner_id, state.asset_id,
                                        storage.Derived.PREVIEW, img.preview.format),
        "thumbnail": storage.derived_path(root, cfg.owner_id, state.asset_id,
                                          storage.Derived.THUMBNAIL, img.thumbnail.format),
    }


def thumbnails(state: AssetState, cfg: Config,
               _: Progress | None) -> tuple[StageOutcome, AssetState]:
    """Write the preview and thumbnail (and the full size where asked)."""
    from mediapipe.thumbnails.make import make_thumbnails

    assert state.info is not None  # ``needs`` metadata
    started = time.perf_counter()
    thumbs = make_thumbnails(state.source_path, state.info, cfg)
    targets = thumbnail_targets(state, cfg)
    files = {targets["preview"]: thumbs.preview.data, targets["thumbnail"]: thumbs.thumbnail.data}
    if thumbs.fullsize is not None:
        files[storage.derived_path(state.root_path, cfg.owner_id, state.asset_id,
                                   storage.Derived.FULLSIZE, thumbs.fullsize.format)] = \
            thumbs.fullsize.data
    for target, data in files.items():
        storage.atomic_write(target, data, modes=modes(cfg))
    details = {"thumbhash": thumbs.thumbhash, "colorspace": thumbs.colorspace}
    if thumbs.warnings:  # made despite a problem (a damaged JPEG): the asset says so
        details["warnings"] = "; ".join(thumbs.warnings)
    return StageOutcome(Status.DONE, tuple(map(str, files)), note="; ".join(thumbs.warnings),
                        details=details,
                        duration_s=_elapsed(started),
                        bytes_written=sum(map(len, files.values()))), state


def encoded_video(state: AssetState, cfg: Config) -> list[Path]:
    return [storage.derived_path(state.root_path, cfg.owner_id, state.asset_id,
                                 storage.Derived.ENCODED_VIDEO, "mp4")]


def transcode(state: AssetState, cfg: Config,
              progress: Progress | None) -> tuple[StageOutcome, AssetState]:
    """Transcode the video when the policy asks for it, down the accelerator fallback chain."""
    from mediapipe.transcode import plan as policy
    from mediapipe.transcode import run as ffmpeg

    assert state.info is not None  # ``needs`` metadata
    started = time.perf_counter()
    plan = policy.plan_transcode(state.info, cfg)
    if plan.decision == "none":
        return StageOutcome(Status.SKIPPED, note="plays as it is: " + "; ".join(plan.reasons)), \
            state
    [target] = encoded_video(state, cfg)
    result = ffmpeg.transcode(plan, state.source_path, target, output=output(cfg),
                              accel=cfg.ffmpeg.accel, accel_decode=cfg.ffmpeg.accel_decode,
                              progress=progress)
    note = "; ".join(f"{accel} skipped: {why}" for accel, why in result.skipped)
    fell_back = cfg.ffmpeg.accel != "disabled" and result.accel == "software" \
        and plan.decision in ("all", "video")  # a warning in the log and in `ls`
    if fell_back:
        logging.getLogger(__name__).warning("%s: encoded in software, not %s (%s)",
                                            state.source_path, cfg.ffmpeg.accel, note)
    return StageOutcome(Status.DONE, (str(target),), encoder=result.encoder, note=note,
                        details={"warnings": f"encoded in software, not {cfg.ffmpeg.accel}: "
                                             f"{note}"} if fell_back else {},
                        duration_s=_elapsed(started), bytes_written=result.size), state


STEPS: tuple[Step, ...] = (
    Step("metadata", read, queue="metadata", needs=(), reads_sidecar=True),
    Step("thumbnails", thumbnails, queue="thumbnails",
         outputs=lambda state, cfg: list(thumbnail_targets(state, cfg).values())),
    Step("video", transcode, queue="video", budget="video", kinds=frozenset({"video"}),
         outputs=encoded_video, declines=True),
    Step("motion", motion.extract, queue="video", budget="video", kinds=frozenset({"image"}),
         when=motion.applies, when_not="not a motion photo", outputs=motion.outputs,
         declines=True),
)
"""Every step, in order. Read it as ``steps.STEPS`` at call time (a test may add one)."""


def by_name(name: str) -> Step:
    for step in STEPS:
        if step.name == name:
            return step
    raise KeyError(f"no pipeline step named {name!r}")

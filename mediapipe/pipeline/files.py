"""One file outside a media root: the stages composed for ``mediapipe thumbnail`` and ``transcode``.

Owns: ``thumbnail_file`` (metadata → thumbnails → the preview and thumbnail written next to each
other in a folder the user named, as ``<stem>_preview.<fmt>`` and ``<stem>_thumbnail.<fmt>``);
``plan_file`` (metadata → transcode decision, reasons and the argv of every link of the
accelerator chain, for this machine or one described: the dry run) and ``transcode_file``
(carry such a plan out into the output the user named). Writes go through ``storage``
unguarded: these outputs are the user's files, not a media root's, so no ``.immich`` marker
is asked for. Does not own: asset ids, Immich's layout,
idempotency or the catalog (``process_asset`` does, for assets in a media root), or talking to
the user (``cli``). Failures raise ``MediaError``s; nothing here prints or reads the environment.

Entry points: ``thumbnail_file``, ``plan_file``, ``plan_media``, ``transcode_file``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mediapipe.config import Config
from mediapipe.library import storage
from mediapipe.metadata.model import MediaInfo
from mediapipe.metadata.read import read_metadata
from mediapipe.pipeline.transcoding import transcode_to
from mediapipe.transcode import plan as stage
from mediapipe.transcode import run as ffmpeg_run
from mediapipe.transcode.accelerator import Machine
from mediapipe.transcode.argv import build_parts, two_pass
from mediapipe.transcode.chain import fallback_chain

if TYPE_CHECKING:  # the transcode commands never load the image stack
    from mediapipe.thumbnails.make import Encoded

__all__ = ["ChainLink", "FilePlan", "ThumbnailFiles", "WrittenImage", "plan_file", "plan_media",
           "thumbnail_file", "transcode_file"]

@dataclasses.dataclass(frozen=True)
class WrittenImage:
    """One image written to disk: where, its pixel size and its size in bytes."""

    path: Path
    width: int
    height: int
    nbytes: int

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "width": self.width, "height": self.height,
                "bytes": self.nbytes}


@dataclasses.dataclass(frozen=True)
class ThumbnailFiles:
    """What ``thumbnail_file`` wrote for one source."""

    source: Path
    preview: WrittenImage
    thumbnail: WrittenImage
    thumbhash: str
    colorspace: str
    warnings: tuple[str, ...] = ()  # made despite a problem (a damaged file decoded in part)

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.source), "preview": self.preview.to_dict(),
                "thumbnail": self.thumbnail.to_dict(), "thumbhash": self.thumbhash,
                "colorspace": self.colorspace, "warnings": list(self.warnings)}


def _write(source: Path, out_dir: Path, label: str, item: Encoded) -> WrittenImage:
    target = out_dir / f"{source.stem}_{label}.{item.format}"
    storage.atomic_write(target, item.data, guarded=False)
    return WrittenImage(target, item.width, item.height, len(item.data))


def thumbnail_file(path: str | Path, out_dir: str | Path, cfg: Config) -> ThumbnailFiles:
    """Read ``path``, make its preview and thumbnail by ``cfg.image`` and write them to ``out_dir``.

    Raises the source's ``MediaError`` (unsupported, corrupt, too large) before anything is
    written, and ``StorageOffline`` when ``out_dir`` cannot be written.
    """
    source, out = Path(path), Path(out_dir)
    from mediapipe.thumbnails.make import make_thumbnails

    thumbs = make_thumbnails(source, read_metadata(source), cfg)
    return ThumbnailFiles(source, _write(source, out, "preview", thumbs.preview),
                          _write(source, out, "thumbnail", thumbs.thumbnail),
                          thumbs.thumbhash, thumbs.colorspace, thumbs.warnings)


@dataclasses.dataclass(frozen=True)
class ChainLink:
    """One link of a planned fallback chain: its name and the ffmpeg run it would be."""

    accel: str
    input_options: tuple[str, ...]
    output_options: tuple[str, ...]
    command: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"accel": self.accel, "command": list(self.command),
                "input_options": list(self.input_options),
                "output_options": list(self.output_options)}


@dataclasses.dataclass(frozen=True)
class FilePlan:
    """The decision for one video and the ffmpeg argv of each link of its fallback chain."""

    source: Path
    output: Path
    plan: stage.TranscodePlan  # its ``ffmpeg`` settings: whether to decode in hardware too
    accel: str
    command: tuple[str, ...]  # the first link's; empty when the decision is "none"
    chain: tuple[ChainLink, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()
    two_pass: bool = False

    @property
    def decision(self) -> str:
        return self.plan.decision

    @property
    def reasons(self) -> tuple[str, ...]:
        return self.plan.reasons

    @property
    def replaces_source(self) -> bool:
        """Carrying it out would write over the original."""
        return self.output == self.source

    def to_dict(self) -> dict[str, Any]:
        return {"decision": self.decision, "reasons": list(self.reasons),
                "warnings": list(self.plan.warnings), "two_pass": self.two_pass,
                "chain": [link.to_dict() for link in self.chain],
                "skipped": [{"accel": a, "reason": r} for a, r in self.skipped],
                "command": list(self.command)}


def plan_file(path: str | Path, out: str | Path, cfg: Config, accel: str | None = None, *,
              machine: Machine | None = None, verbose: bool = False) -> FilePlan:
    """Decide what the video at ``path`` needs by ``cfg.ffmpeg``; runs nothing (a dry run).

    ``accel`` overrides ``ffmpeg.accel``; ``machine`` (default: this one) is the ``/dev/dri``
    nodes and ffmpeg build to plan for; ``verbose``: ffmpeg's ``-v verbose``. Every link of the
    fallback chain gets its argv; ``command`` is the first's, the one ``transcode_file`` tries
    first. ``UnsupportedMedia`` for a file with no video stream; ``ConfigError`` for a target
    codec the accelerator cannot encode.
    """
    source = Path(path).absolute()
    return plan_media(read_metadata(source), source, out, cfg, accel, machine=machine,
                      verbose=verbose)


def plan_media(info: MediaInfo, source: Path, out: str | Path, cfg: Config,
               accel: str | None = None, *, machine: Machine | None = None,
               verbose: bool = False) -> FilePlan:
    """``plan_file`` for a video whose metadata is already read (``info``)."""
    output = Path(out).absolute()
    ff = cfg.ffmpeg
    accel = accel or ff.accel
    machine = machine or ffmpeg_run.machine_here(ff.preferred_hw_device)
    plan = stage.plan_transcode(info, cfg)
    if plan.decision == "none":
        return FilePlan(source, output, plan, accel, ())
    links, skipped = fallback_chain(plan, accel, ff.accel_decode, machine)
    chain = []
    for link in links:
        parts = build_parts(plan, source, output, link, machine, verbose=verbose)
        chain.append(ChainLink(link.name, parts.input_options, parts.output_options,
                               parts.argv))
    return FilePlan(source, output, plan, accel, chain[0].command,
                    tuple(chain), tuple(skipped), two_pass(plan, links[0]))


def transcode_file(planned: FilePlan,
                   progress: Callable[[float], None] | None = None) -> ffmpeg_run.TranscodeResult:
    """Carry out ``planned`` down the accelerator chain into its output, written atomically.

    ``ValueError`` for a plan with nothing to do or one that would write over its source;
    ``TranscodeFailed`` when even the software encoder fails.
    """
    if planned.decision == "none":
        raise ValueError(f"{planned.source}: nothing to transcode")
    if planned.replaces_source:
        raise ValueError(f"{planned.source}: the output would replace the input")
    return transcode_to(planned.plan, planned.source, planned.output, guarded=False,
                        accel=planned.accel, progress=progress)

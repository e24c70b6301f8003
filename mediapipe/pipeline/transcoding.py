"""A transcode carried out into a file: the one place the pipeline runs ``transcode.run``.

Owns: ``transcode_to`` — a ``TranscodePlan`` carried out on a source into a target down the
accelerator chain its settings name (``plan.ffmpeg``: ``ffmpeg.accel``, ``accel_decode``;
``accel`` overrides the first, as ``mediapipe transcode --accel`` does), written through a temp
file beside the target (``storage.atomic_output``: marker-checked in a media root, unguarded for
a user's own ``--out``) with the given modes, progress reported. Used by the video step, the
motion step and ``files.transcode_file``. Does not own: the decision (``transcode.plan``), the
argv and the fallback chain (``transcode.run``), where the target is (the caller's).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

from mediapipe.library import storage
from mediapipe.sources import SourceLike

if TYPE_CHECKING:  # the transcode stage is loaded when a transcode runs
    from mediapipe.transcode.plan import TranscodePlan
    from mediapipe.transcode.run import Progress, TranscodeResult

__all__ = ["transcode_to"]


def transcode_to(plan: TranscodePlan, source: SourceLike, target: Path, *,
                 modes: storage.Modes = storage.DEFAULT_MODES, guarded: bool = True,
                 accel: str | None = None,
                 progress: Progress | None = None) -> TranscodeResult:
    """Carry out ``plan`` on ``source`` into ``target``, atomically: the target is replaced
    only by a finished file (``modes``; ``guarded``: inside a media root). ``TranscodeFailed``
    when even the software encoder fails."""
    from mediapipe.transcode import run as ffmpeg

    output = functools.partial(storage.atomic_output, guarded=guarded, modes=modes)
    return ffmpeg.transcode(plan, source, target, output=output,
                            accel=accel or plan.ffmpeg.accel,
                            accel_decode=plan.ffmpeg.accel_decode, progress=progress)

"""The transcode wing: what to do with a video, the ffmpeg argv, and running it with fallback.

Modules: ``plan`` (Immich's policy as data: ``plan_transcode``), ``argv`` (the ffmpeg argv that
carries a plan out: ``build_command``), ``run`` (ffmpeg with progress and the accelerator
fallback chain: ``transcode``), ``toolchain`` (which programs and encoders really work here).
Public names (imported on first use): ``plan_transcode``, ``TranscodePlan``, ``build_command``,
``transcode``, ``TranscodeResult``, ``probe_encoder``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mediapipe.exports import lazy

__all__ = ["TranscodePlan",
           "TranscodeResult",
           "build_command",
           "plan_transcode",
           "probe_encoder",
           "transcode"]
__getattr__, __dir__ = lazy(__name__, {
    "plan_transcode": "mediapipe.transcode.plan",
    "TranscodePlan": "mediapipe.transcode.plan",
    "build_command": "mediapipe.transcode.argv",
    "transcode": "mediapipe.transcode.run",
    "TranscodeResult": "mediapipe.transcode.run",
    "probe_encoder": "mediapipe.transcode.toolchain",
})

if TYPE_CHECKING:
    from mediapipe.transcode.argv import build_command
    from mediapipe.transcode.plan import TranscodePlan, plan_transcode
    from mediapipe.transcode.run import TranscodeResult, transcode
    from mediapipe.transcode.toolchain import probe_encoder

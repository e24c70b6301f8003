"""The transcode wing: what to do with a video, the ffmpeg argv, and running it with fallback.

Modules: ``plan`` (Immich's policy as data: ``plan_transcode``), ``argv`` (the ffmpeg argv that
carries a plan out: ``build_command``), one module per accelerator (``software``, ``nvenc``,
``qsv``, ``vaapi``, ``rkmpp``, on the base in ``accelerator``), ``chain`` (their list and the
fallback chain), ``devices`` and ``build`` (the machine's ``/dev/dri`` nodes and its ffmpeg
build, as data), ``run`` (ffmpeg with progress down the fallback chain: ``transcode``),
``toolchain`` (which programs and encoders really work here).
Public names: ``plan_transcode``, ``TranscodePlan``, ``build_command``, ``transcode``,
``TranscodeResult``, ``probe_encoder``, ``ACCELERATORS``, ``fallback_chain``.
"""

from __future__ import annotations

from mediapipe.transcode.argv import build_command
from mediapipe.transcode.chain import ACCELERATORS, fallback_chain
from mediapipe.transcode.plan import TranscodePlan, plan_transcode
from mediapipe.transcode.run import TranscodeResult, transcode
from mediapipe.transcode.toolchain import probe_encoder

__all__ = ["ACCELERATORS", "TranscodePlan", "TranscodeResult", "build_command", "fallback_chain",
           "plan_transcode", "probe_encoder", "transcode"]

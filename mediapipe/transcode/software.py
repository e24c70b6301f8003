"""The software accelerator: libx264, libx265, libvpx-vp9 and SVT-AV1 on the CPU.

Owns: ``SOFTWARE`` (``-c:v h264``/``hevc``/``vp9`` as Immich writes them, which ffmpeg opens as
libx264/libx265/libvpx-vp9, and ``libsvtav1``), Immich's preset and thread mappings (x264/x265
``-preset`` and ``frame-threads=1:pools=none`` under one thread, vp9 ``-cpu-used``, av1
``-preset 4..12`` and ``-svtav1-params lp=…:mbr=…``) and its rate control (``-crf``, a capped
``-maxrate``/``-bufsize``, the two-pass target). Does not own: the filters (``accelerator.
software_filters``), when two passes run (``argv.two_pass``).

Entry point: ``SOFTWARE``.
"""

from __future__ import annotations

from typing import ClassVar

from mediapipe.transcode.accelerator import (
    Accelerator,
    Bitrates,
    Decode,
    Machine,
    software_filters,
)
from mediapipe.transcode.plan import TranscodePlan

__all__ = ["LIBRARIES", "SOFTWARE", "X26X_PRESETS", "Software"]

# What ffmpeg opens for Immich's -c:v values (the names doctor and the results report).
LIBRARIES = {"h264": "libx264", "hevc": "libx265", "vp9": "libvpx-vp9", "av1": "libsvtav1"}
X26X_PRESETS = ("veryslow", "slower", "slow", "medium", "fast", "faster", "veryfast",
                "superfast", "ultrafast")


class Software(Accelerator):
    name = "software"
    encoders: ClassVar[dict[str, str]] = {"h264": "h264", "hevc": "hevc", "vp9": "vp9",
                                          "av1": "libsvtav1"}
    hardware = False
    gop_default = 0

    def library(self, codec: str) -> str:
        return LIBRARIES[codec] if codec in LIBRARIES else self.encoder(codec)

    def decode_modes(self, plan: TranscodePlan, machine: Machine,
                     accel_decode: bool) -> list[Decode]:
        return [Decode.SOFTWARE]

    def input_options(self, plan: TranscodePlan, machine: Machine,
                      decode: Decode) -> list[str]:
        return []

    def filters(self, plan: TranscodePlan, machine: Machine, decode: Decode) -> list[str]:
        return software_filters(plan, machine.build)

    def encoder_options(self, plan: TranscodePlan, machine: Machine) -> list[str]:
        ff, codec = plan.ffmpeg, plan.target_video_codec
        rates = Bitrates.of(ff.max_bitrate)
        two_pass = ff.two_pass and (codec == "vp9" or (codec in ("h264", "hevc") and rates.max))
        target = (["-b:v", rates.show(rates.target), "-minrate", rates.show(rates.min),
                   "-maxrate", rates.show(rates.max)] if two_pass and rates.max else [])
        args: list[str] = []
        if codec in ("h264", "hevc"):
            if ff.preset in X26X_PRESETS:
                args += ["-preset", ff.preset]
            if target:  # two passes to an average: no crf
                return args + target
            args += ["-crf", str(ff.crf)]
            if rates.max:
                args += ["-maxrate", rates.show(rates.max), "-bufsize",
                         rates.show(2 * rates.max)]
        elif codec == "vp9":
            if ff.preset in X26X_PRESETS:
                args += ["-cpu-used", str(min(X26X_PRESETS.index(ff.preset), 5))]
            args += ["-row-mt", "1", "-deadline", "realtime"]
            args += target or ["-crf", str(ff.crf), "-b:v", rates.show(rates.max) if rates.max
                               else "0"]
        else:  # av1: SVT-AV1's presets 4 (veryslow) .. 12 (ultrafast)
            if ff.preset in X26X_PRESETS:
                args += ["-preset", str(X26X_PRESETS.index(ff.preset) + 4)]
            args += ["-crf", str(ff.crf)]
            params = ([f"lp={ff.threads}"] if ff.threads > 0 else []) + \
                ([f"mbr={rates.show(rates.max)}"] if rates.max else [])
            if params:
                args += ["-svtav1-params", ":".join(params)]
        return args

    def thread_options(self, plan: TranscodePlan) -> list[str]:
        threads, codec = plan.ffmpeg.threads, plan.target_video_codec
        if threads <= 0 or codec == "av1":  # av1 takes its threads as lp= (above)
            return []
        args = ["-threads", str(threads)]
        if threads == 1 and codec in ("h264", "hevc"):
            args += [f"-x26{'4' if codec == 'h264' else '5'}-params",
                     "frame-threads=1:pools=none"]
        return args


SOFTWARE = Software()

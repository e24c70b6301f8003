"""The QSV accelerator: Intel Quick Sync encoders on a ``/dev/dri`` render node.

Owns: ``QSV`` (h264/hevc/vp9/av1 ``_qsv``), its inputs (``-hwaccel qsv`` with ``-async_depth 4``
and ``-qsv_device``, or ``-init_hw_device qsv=hw,child_device=…`` for software decoding), filters
(``accelerator.RenderNode``'s chain with ``scale_qsv=-1:720:…:mode=hq:format=nv12``) and encoder
options (``-preset 1..7``, ``-global_quality:v`` or ``-q:v`` under ``cqMode: cqp``, a capped
``-b:v``/``-maxrate``/``-bufsize``, ``-low_power 1`` for vp9, Immich's defaults of 7 B-frames and
5 references).

Entry point: ``QSV``.
"""

from __future__ import annotations

from typing import ClassVar

from mediapipe.transcode.accelerator import HW_PRESETS, Bitrates, Decode, Machine, RenderNode
from mediapipe.transcode.plan import TranscodePlan

__all__ = ["QSV", "Qsv"]


class Qsv(RenderNode):
    name = "qsv"
    encoders: ClassVar[dict[str, str]] = {"h264": "h264_qsv", "hevc": "hevc_qsv",
                                          "vp9": "vp9_qsv", "av1": "av1_qsv"}
    scale_filter = "scale_qsv"
    scale_options = "mode=hq"
    decoded_scale_options = "async_depth=4:mode=hq"
    scale_keep = 1
    bframes_default = 7
    refs_default = 5

    def input_options(self, plan: TranscodePlan, machine: Machine,
                      decode: Decode) -> list[str]:
        device = machine.require_device()
        if decode is Decode.HARDWARE:
            return ["-hwaccel", "qsv", "-hwaccel_output_format", "qsv", "-async_depth", "4",
                    "-noautorotate", "-threads", "1", "-qsv_device", device]
        return ["-init_hw_device", f"qsv=hw,child_device={device}", "-filter_hw_device", "hw"]

    def encoder_options(self, plan: TranscodePlan, machine: Machine) -> list[str]:
        ff = plan.ffmpeg
        args = ["-preset", str(HW_PRESETS[ff.preset])] if ff.preset in HW_PRESETS else []
        cqp = ff.cq_mode == "cqp" or plan.target_video_codec == "vp9"
        args += ["-q:v" if cqp else "-global_quality:v", str(ff.crf)]
        rates = Bitrates.of(ff.max_bitrate)
        if rates.max:
            args += ["-b:v", rates.show(rates.target), "-maxrate", rates.show(rates.max),
                     "-bufsize", rates.show(2 * rates.max)]
        if plan.target_video_codec == "vp9":
            args += ["-low_power", "1"]
        return args

    def probe_args(self, machine: Machine) -> tuple[list[str], list[str]]:
        device = machine.device()
        return (["-init_hw_device", f"qsv=hw,child_device={device}", "-filter_hw_device", "hw"],
                ["format=nv12", "hwupload=extra_hw_frames=64"])


QSV = Qsv()

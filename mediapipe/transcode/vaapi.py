"""The VAAPI accelerator: Intel and AMD encoders through a ``/dev/dri`` render node.

Owns: ``VAAPI`` (h264/hevc/vp9/av1 ``_vaapi``), its inputs (``-hwaccel vaapi`` with
``-hwaccel_device``, or ``-init_hw_device vaapi=accel:…`` for software decoding), filters
(``accelerator.RenderNode``'s chain with ``scale_vaapi=…:mode=hq:out_range=pc:format=nv12``) and
encoder options (``-compression_level 1..7``, ``-rc_mode 1`` with ``-qp:v``/``-global_quality:v``,
or ``-rc_mode 3`` with Immich's target, cap and floor).

Entry point: ``VAAPI``.
"""

from __future__ import annotations

from typing import ClassVar

from mediapipe.transcode.accelerator import HW_PRESETS, Bitrates, Decode, Machine, RenderNode
from mediapipe.transcode.plan import TranscodePlan

__all__ = ["VAAPI", "Vaapi"]


class Vaapi(RenderNode):
    name = "vaapi"
    encoders: ClassVar[dict[str, str]] = {"h264": "h264_vaapi", "hevc": "hevc_vaapi",
                                          "vp9": "vp9_vaapi", "av1": "av1_vaapi"}
    scale_filter = "scale_vaapi"
    scale_options = decoded_scale_options = "mode=hq:out_range=pc"

    def input_options(self, plan: TranscodePlan, machine: Machine,
                      decode: Decode) -> list[str]:
        device = machine.require_device()
        if decode is Decode.HARDWARE:
            return ["-hwaccel", "vaapi", "-hwaccel_output_format", "vaapi", "-noautorotate",
                    "-threads", "1", "-hwaccel_device", device]
        return ["-init_hw_device", f"vaapi=accel:{device}", "-filter_hw_device", "accel"]

    def encoder_options(self, plan: TranscodePlan, machine: Machine) -> list[str]:
        ff = plan.ffmpeg
        args = (["-compression_level", str(HW_PRESETS[ff.preset])]
                if ff.preset in HW_PRESETS else [])
        rates = Bitrates.of(ff.max_bitrate)
        if rates.max:
            return [*args, "-b:v", rates.show(rates.target), "-maxrate", rates.show(rates.max),
                    "-minrate", rates.show(rates.min), "-rc_mode", "3"]
        return [*args, "-qp:v", str(ff.crf), "-global_quality:v", str(ff.crf), "-rc_mode", "1"]

    def probe_args(self, machine: Machine) -> tuple[list[str], list[str]]:
        return (["-init_hw_device", f"vaapi=accel:{machine.device()}", "-filter_hw_device",
                 "accel"], ["format=nv12", "hwupload"])


VAAPI = Vaapi()

"""The VAAPI accelerator: Intel and AMD encoders through a ``/dev/dri`` render node.

Owns: ``VAAPI`` (h264/hevc/vp9/av1 ``_vaapi``), its inputs (``-hwaccel vaapi`` with
``-hwaccel_device``, or ``-init_hw_device vaapi=accel:…`` for software decoding), filters
(``scale_vaapi=…:mode=hq:out_range=pc:format=nv12``; OpenCL tone-mapping through ``hwmap`` where
the build has ``tonemap_opencl``, else no hardware decoding of HDR) and encoder options
(``-compression_level 1..7``, ``-rc_mode 1`` with ``-qp:v``/``-global_quality:v``, or
``-rc_mode 3`` with Immich's target, cap and floor).

Entry point: ``VAAPI``.
"""

from __future__ import annotations

from typing import ClassVar

from mediapipe.transcode.accelerator import (
    HW_PRESETS,
    Accelerator,
    Bitrates,
    Decode,
    Machine,
    not_420,
    opencl_tonemap,
    scale_expr,
    sw_tonemap,
)
from mediapipe.transcode.plan import TranscodePlan

__all__ = ["VAAPI", "Vaapi"]


class Vaapi(Accelerator):
    name = "vaapi"
    encoders: ClassVar[dict[str, str]] = {"h264": "h264_vaapi", "hevc": "hevc_vaapi",
                                          "vp9": "vp9_vaapi", "av1": "av1_vaapi"}
    needs_device = True

    def hardware_decode_possible(self, plan: TranscodePlan, machine: Machine) -> bool:
        return not plan.tonemap or machine.build.has("tonemap_opencl")

    def input_options(self, plan: TranscodePlan, machine: Machine,
                      decode: Decode) -> list[str]:
        device = machine.require_device()
        if decode is Decode.HARDWARE:
            return ["-hwaccel", "vaapi", "-hwaccel_output_format", "vaapi", "-noautorotate",
                    "-threads", "1", "-hwaccel_device", device]
        return ["-init_hw_device", f"vaapi=accel:{device}", "-filter_hw_device", "accel"]

    def filters(self, plan: TranscodePlan, machine: Machine, decode: Decode) -> list[str]:
        if decode is Decode.SOFTWARE:
            chain = sw_tonemap(plan, machine.build) if plan.tonemap else []
            expr = scale_expr(plan)
            if expr or (not plan.tonemap and not_420(plan)):
                return [*chain, "hwupload=extra_hw_frames=64",
                        f"scale_vaapi={expr or 'iw:ih'}:mode=hq:out_range=pc:format=nv12"]
            return [*chain, "format=nv12", "hwupload=extra_hw_frames=64"]
        expr = scale_expr(plan, coded=True)
        chain = []
        if expr or (not plan.tonemap and not_420(plan)):
            chain.append(f"scale_vaapi={expr or 'iw:ih'}:mode=hq:out_range=pc:format="
                         + ("p010" if plan.tonemap else "nv12"))
        if plan.tonemap:
            chain += opencl_tonemap(plan, "vaapi")
        return chain

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

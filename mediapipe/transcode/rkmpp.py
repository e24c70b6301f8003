"""The RKMPP accelerator: Rockchip's MPP encoders (RK3588 boards) and the RGA scaler.

Owns: ``RKMPP`` (h264/hevc ``_rkmpp``), its hardware-decoding inputs (``-hwaccel rkmpp``,
``drm_prime`` frames, ``-afbc rga``; software decoding takes no input option), filters
(``scale_rkrga=…:format=nv12:afbc=1:async_depth=4``; HDR is tone-mapped on the Mali GPU with
OpenCL when the machine has Mali OpenCL and the build ``tonemap_opencl``, else decoded and
tone-mapped in software) and encoder options (``-level 51``/``153``, ``-rc_mode CQP -qp_init``
or ``-rc_mode AVBR -b:v``).

Entry point: ``RKMPP``.
"""

from __future__ import annotations

from typing import ClassVar

from mediapipe.transcode.accelerator import (
    Accelerator,
    Bitrates,
    Decode,
    Machine,
    not_420,
    scale_expr,
    software_filters,
)
from mediapipe.transcode.plan import TranscodePlan

__all__ = ["RKMPP", "Rkmpp"]

_LEVELS = {"h264": "51", "hevc": "153"}


class Rkmpp(Accelerator):
    name = "rkmpp"
    encoders: ClassVar[dict[str, str]] = {"h264": "h264_rkmpp", "hevc": "hevc_rkmpp"}

    def hardware_decode_possible(self, plan: TranscodePlan, machine: Machine) -> bool:
        return not plan.tonemap or (machine.devices.mali_opencl
                                    and machine.build.has("tonemap_opencl"))

    def input_options(self, plan: TranscodePlan, machine: Machine,
                      decode: Decode) -> list[str]:
        if decode is Decode.HARDWARE:
            return ["-hwaccel", "rkmpp", "-hwaccel_output_format", "drm_prime", "-afbc", "rga",
                    "-noautorotate"]
        return []

    def filters(self, plan: TranscodePlan, machine: Machine, decode: Decode) -> list[str]:
        if decode is Decode.SOFTWARE:
            return software_filters(plan, machine.build)
        expr = scale_expr(plan, coded=True)
        if not (expr or plan.tonemap or not_420(plan)):
            return []
        fmt = "p010" if plan.tonemap else "nv12"
        chain = [f"scale_rkrga={expr or 'iw:ih'}:format={fmt}:afbc=1:async_depth=4"]
        if plan.tonemap:
            chain += ["hwmap=derive_device=opencl:mode=read",
                      f"tonemap_opencl=format=nv12:r=pc:p=bt709:t=bt709:m=bt709:"
                      f"tonemap={plan.tonemap}:desat=0:tonemap_mode=lum:peak=100",
                      "hwmap=derive_device=rkmpp:mode=write:reverse=1", "format=drm_prime"]
        return chain

    def encoder_options(self, plan: TranscodePlan, machine: Machine) -> list[str]:
        ff = plan.ffmpeg
        args = ["-level", _LEVELS[plan.target_video_codec]]
        rates = Bitrates.of(ff.max_bitrate)
        if rates.max:
            return [*args, "-rc_mode", "AVBR", "-b:v", rates.show(rates.max), "-maxrate",
                    rates.show(rates.max), "-bufsize", rates.show(2 * rates.max)]
        return [*args, "-rc_mode", "CQP", "-qp_init", str(ff.crf)]


RKMPP = Rkmpp()

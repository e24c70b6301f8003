"""The QSV accelerator: Intel Quick Sync encoders on a ``/dev/dri`` render node.

Owns: ``QSV`` (h264/hevc/vp9/av1 ``_qsv``), its inputs (``-hwaccel qsv`` with ``-async_depth 4``
and ``-qsv_device``, or ``-init_hw_device qsv=hw,child_device=…`` for software decoding), filters
(``scale_qsv=-1:720:…:mode=hq:format=nv12``; OpenCL tone-mapping through ``hwmap`` where the
build has ``tonemap_opencl``, else no hardware decoding of HDR) and encoder options (``-preset
1..7``, ``-global_quality:v`` or ``-q:v`` under ``cqMode: cqp``, a capped ``-b:v``/``-maxrate``/
``-bufsize``, ``-low_power 1`` for vp9, Immich's defaults of 7 B-frames and 5 references).

Entry point: ``QSV``.
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

__all__ = ["QSV", "Qsv"]


class Qsv(Accelerator):
    name = "qsv"
    encoders: ClassVar[dict[str, str]] = {"h264": "h264_qsv", "hevc": "hevc_qsv",
                                          "vp9": "vp9_qsv", "av1": "av1_qsv"}
    needs_device = True
    bframes_default = 7
    refs_default = 5

    def hardware_decode_possible(self, plan: TranscodePlan, machine: Machine) -> bool:
        return not plan.tonemap or machine.build.has("tonemap_opencl")

    def input_options(self, plan: TranscodePlan, machine: Machine,
                      decode: Decode) -> list[str]:
        device = machine.require_device()
        if decode is Decode.HARDWARE:
            return ["-hwaccel", "qsv", "-hwaccel_output_format", "qsv", "-async_depth", "4",
                    "-noautorotate", "-threads", "1", "-qsv_device", device]
        return ["-init_hw_device", f"qsv=hw,child_device={device}", "-filter_hw_device", "hw"]

    def filters(self, plan: TranscodePlan, machine: Machine, decode: Decode) -> list[str]:
        if decode is Decode.SOFTWARE:
            chain = sw_tonemap(plan, machine.build) if plan.tonemap else []
            expr = scale_expr(plan, keep=1)
            if expr or (not plan.tonemap and not_420(plan)):
                return [*chain, "hwupload=extra_hw_frames=64",
                        f"scale_qsv={expr or 'iw:ih'}:mode=hq:format=nv12"]
            return [*chain, "format=nv12", "hwupload=extra_hw_frames=64"]
        expr = scale_expr(plan, coded=True, keep=1)
        chain = []
        if expr or (not plan.tonemap and not_420(plan)):
            chain.append(f"scale_qsv={expr or 'iw:ih'}:async_depth=4:mode=hq:format="
                         + ("p010" if plan.tonemap else "nv12"))
        if plan.tonemap:
            chain += opencl_tonemap(plan, "qsv")
        return chain

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

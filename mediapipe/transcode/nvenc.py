"""The NVENC accelerator: NVIDIA's encoders, CUDA decoding, ``scale_cuda`` and ``tonemap_cuda``.

Owns: ``NVENC`` (h264/hevc/av1 ``_nvenc``; no vp9 encoder), its inputs (``-hwaccel cuda`` with
one decoder thread, or ``-init_hw_device cuda=cuda:0 -filter_hw_device cuda`` for software
decoding), filters (``scale_cuda=…:format=nv12``; ``tonemap_cuda`` where the build has it, else
no hardware decoding of HDR; software decoding uploads with ``hwupload_cuda``) and encoder
options (``-preset p1..p7``, ``-tune hq``, ``-qmin 0``, ``-rc-lookahead 20``, ``-i_qfactor
0.75``, ``-cq:v`` or Immich's capped vbr and ``-multipass 2``). Does not own: the chain (``chain``).

Entry point: ``NVENC``.
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
    sw_tonemap,
)
from mediapipe.transcode.plan import TranscodePlan

__all__ = ["NVENC", "NVENC_PRESETS", "Nvenc"]

# x264 preset names to NVENC's p1 (fastest) .. p7 (best), as Immich maps them.
NVENC_PRESETS = {"veryslow": "p7", "slower": "p6", "slow": "p5", "medium": "p4", "fast": "p3",
                 "faster": "p2", "veryfast": "p1", "superfast": "p1", "ultrafast": "p1"}


class Nvenc(Accelerator):
    name = "nvenc"
    encoders: ClassVar[dict[str, str]] = {"h264": "h264_nvenc", "hevc": "hevc_nvenc",
                                          "av1": "av1_nvenc"}
    tonemap_filter = "tonemap_cuda"

    def input_options(self, plan: TranscodePlan, machine: Machine,
                      decode: Decode) -> list[str]:
        if decode is Decode.HARDWARE:  # one decoder thread: the GPU decodes (as Immich)
            return ["-hwaccel", "cuda", "-hwaccel_output_format", "cuda", "-noautorotate",
                    "-threads", "1"]
        return ["-init_hw_device", "cuda=cuda:0", "-filter_hw_device", "cuda"]

    def filters(self, plan: TranscodePlan, machine: Machine, decode: Decode) -> list[str]:
        chain: list[str] = []
        if decode is Decode.SOFTWARE:
            if plan.tonemap:
                chain += sw_tonemap(plan, machine.build)
            chain.append("hwupload_cuda")
            expr = scale_expr(plan)
            if expr or (not plan.tonemap and not_420(plan)):
                chain.append(f"scale_cuda={expr or 'iw:ih'}:format=nv12")
            return chain
        expr = scale_expr(plan, coded=True)
        if expr or (not plan.tonemap and not_420(plan)):
            chain.append(f"scale_cuda={expr or 'iw:ih'}" + ("" if plan.tonemap else
                                                              ":format=nv12"))
        if plan.tonemap:
            chain.append(f"tonemap_cuda=desat=0:matrix=bt709:primaries=bt709:range=pc:"
                         f"tonemap={plan.tonemap}:tonemap_mode=lum:transfer=bt709:peak=100:"
                         "format=nv12")
        return chain

    def encoder_options(self, plan: TranscodePlan, machine: Machine) -> list[str]:
        ff = plan.ffmpeg
        args = []
        if ff.preset in NVENC_PRESETS:
            args += ["-preset", NVENC_PRESETS[ff.preset]]
        args += ["-tune", "hq", "-qmin", "0", "-rc-lookahead", "20", "-i_qfactor", "0.75",
                 "-spatial-aq", "1"]
        if ff.temporal_aq:
            args += ["-temporal-aq", "1"]
        if ff.bframes != 0:
            args += ["-b_ref_mode", "middle"]
        rates = Bitrates.of(ff.max_bitrate)
        if rates.max and ff.two_pass:  # Immich: target average, cap, a buffer of the target
            args += ["-rc", "vbr", "-b:v", rates.show(rates.target), "-maxrate",
                     rates.show(rates.max), "-bufsize", rates.show(rates.target),
                     "-multipass", "2"]
        else:
            args += ["-rc", "vbr", "-cq:v", str(ff.crf), "-b:v", "0"]
            if rates.max:
                args += ["-maxrate", rates.show(rates.max), "-bufsize",
                         rates.show(rates.target)]
        return args


NVENC = Nvenc()

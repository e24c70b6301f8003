"""What every accelerator is, and the filter and bitrate arithmetic they share.

Owns: ``Accelerator`` (the base of one module per accelerator: its codecs and encoders, whether it
needs a ``/dev/dri`` node, its decode modes, its input options, filters and encoder options, and
``available()``, a real one-frame encode; HDR decoded by the hardware only where the build has its
``tonemap_filter``), ``RenderNode`` (QSV's and VAAPI's shared filter chain on a ``/dev/dri`` node,
each naming its scale filter and options), ``Decode`` (hardware or software decoding), ``Machine``
(what a plan is made for: the ``/dev/dri`` nodes and the ffmpeg build), ``Bitrates`` (Immich's
split of ``maxBitrate`` into a cap, a target and a floor), the scaling expression (``scale_expr``:
Immich's ``-2:720`` / ``720:-2``, never upscaling) and the software filters (``software_filters``:
scale, tone-mapping by ``tonemapx`` where the build has it, else the stock zscale chain, else a
conversion to 8-bit 4:2:0). Does not own: the order of the fallback chain (``chain``), the argv
around these options (``argv``).

Entry points: ``Accelerator``, ``RenderNode``, ``Decode``, ``Machine``, ``Bitrates``,
``scale_expr``, ``software_filters``.
"""

from __future__ import annotations

import abc
import dataclasses
import enum
import math
import re
from collections.abc import Mapping
from typing import ClassVar

from mediapipe.config import parse_bitrate
from mediapipe.errors import ConfigError
from mediapipe.transcode import toolchain
from mediapipe.transcode.build import FFmpegBuild
from mediapipe.transcode.devices import HwDevices
from mediapipe.transcode.plan import TranscodePlan

__all__ = [
    "HW_PRESETS",
    "Accelerator",
    "Bitrates",
    "Decode",
    "Machine",
    "RenderNode",
    "not_420",
    "opencl_tonemap",
    "scale_expr",
    "software_filters",
    "sw_tonemap",
    "target_short_side",
]

# x264 preset names to the 1 (best) .. 7 (fastest) of QSV's -preset and VAAPI's
# -compression_level, as Immich maps them.
HW_PRESETS = {"veryslow": 1, "slower": 2, "slow": 3, "medium": 4, "fast": 5, "faster": 6,
              "veryfast": 7, "superfast": 7, "ultrafast": 7}


class Decode(enum.StrEnum):
    """Where the frames are decoded (and, with hardware, scaled and tone-mapped)."""

    HARDWARE = "hardware"
    SOFTWARE = "software"


@dataclasses.dataclass(frozen=True)
class Machine:
    """What a plan is made for: the ``/dev/dri`` nodes, the ffmpeg build, Immich's
    ``preferredHwDevice``."""

    devices: HwDevices
    build: FFmpegBuild
    preferred_device: str = "auto"

    def device(self) -> str | None:
        return self.devices.pick(self.preferred_device)

    def require_device(self) -> str:
        """The ``/dev/dri`` node to use; ``ConfigError`` when the machine has none."""
        device = self.device()
        if device is None:
            raise ConfigError("ffmpeg.accel", "this accelerator needs a /dev/dri node and the "
                                              "machine has none")
        return device


@dataclasses.dataclass(frozen=True)
class Bitrates:
    """Immich's bitrate distribution for a ``maxBitrate``, in its own unit (k or M; a bare
    number is kbit/s): the cap, a target of cap/1.45 (rounded up) and a floor of half of it."""

    max: float
    target: float
    min: float
    unit: str

    @classmethod
    def of(cls, text: str) -> Bitrates:
        m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kKmM]?)", text.strip())
        if not m or parse_bitrate(text) == 0:
            return cls(0, 0, 0, "")
        value, unit = float(m.group(1)), {"": "k", "k": "k", "m": "M"}[m.group(2).lower()]
        if not value.is_integer():  # '1.5M': whole numbers of the next unit down, 1500k
            value, unit = parse_bitrate(text) / 1000, "k"
        target = math.ceil(value / 1.45)
        return cls(value, target, target / 2, unit)

    def show(self, value: float) -> str:
        return f"{value:g}{self.unit}" if value != int(value) else f"{int(value)}{self.unit}"


def target_short_side(plan: TranscodePlan) -> int:
    """The output's shorter side: ``targetResolution`` (or the source's, for ``original``),
    never above the source's, made even."""
    short = min(plan.source_size)
    t = plan.ffmpeg.target_resolution
    n = short if t == "original" else min(int(t), short)
    return max(2, n - n % 2)


def scale_expr(plan: TranscodePlan, *, coded: bool = False, keep: int = 2) -> str | None:
    """``W:H`` for a scale filter, or None where Immich does not scale (even and not above the
    target). The shorter side gets the target, the other ``-keep`` (``-2``; QSV: ``-1``).

    ``coded``: the frames arrive as stored (hardware decode, ``-noautorotate``), so a video
    rotated by ±90° has its short side on the other axis (where Immich issue 22294 errs)."""
    if not plan.scale:
        return None
    w, h = plan.source_size  # as displayed
    if coded and abs(plan.rotation) % 180 == 90:
        w, h = h, w
    t = target_short_side(plan)
    return f"{t}:-{keep}" if h > w else f"-{keep}:{t}"


def sw_tonemap(plan: TranscodePlan, build: FFmpegBuild) -> list[str]:
    """HDR → SDR bt709 on the CPU: Immich's ``tonemapx`` (jellyfin-ffmpeg), else zscale +
    tonemap (stock ffmpeg)."""
    curve = plan.tonemap
    if build.has("tonemapx"):
        return [f"tonemapx=tonemap={curve}:desat=0:p=bt709:t=bt709:m=bt709:r=pc:peak=100:"
                "format=yuv420p"]
    tin = plan.hdr_transfer
    pin = plan.primaries or "bt2020"
    return [f"zscale=tin={tin}:pin={pin}:min=bt2020nc:t=linear:npl=100",
            "format=gbrpf32le", "zscale=p=bt709",
            f"tonemap=tonemap={curve}:desat=0",
            "zscale=t=bt709:m=bt709:r=tv", "format=yuv420p"]


def opencl_tonemap(plan: TranscodePlan, device: str) -> list[str]:
    """Tone-map hardware frames of ``device`` (qsv, vaapi) with OpenCL, and map them back."""
    return ["hwmap=derive_device=opencl",
            f"tonemap_opencl=desat=0:format=nv12:matrix=bt709:primaries=bt709:transfer=bt709:"
            f"range=pc:tonemap={plan.tonemap}:tonemap_mode=lum:peak=100",
            f"hwmap=derive_device={device}:reverse=1", f"format={device}"]


def not_420(plan: TranscodePlan) -> bool:
    """Frames an 8-bit 4:2:0 encoder cannot take as they are (10-bit, 4:4:4 …)."""
    return not plan.pix_fmt.endswith("420p")


def software_filters(plan: TranscodePlan, build: FFmpegBuild) -> list[str]:
    """Immich's CPU filters: scale where it scales, tone-map HDR, else make 8-bit 4:2:0."""
    chain = []
    if expr := scale_expr(plan):
        chain.append(f"scale={expr}")
    if plan.tonemap:
        chain += sw_tonemap(plan, build)
    elif not_420(plan):
        chain.append("format=yuv420p")
    return chain


class Accelerator(abc.ABC):
    """One way of encoding (``ffmpeg.accel``): software, or a hardware encoder family."""

    name: ClassVar[str]  # the ffmpeg.accel value ("software" for the CPU)
    encoders: ClassVar[Mapping[str, str]]  # target codec -> the -c:v value
    hardware: ClassVar[bool] = True
    needs_device: ClassVar[bool] = False  # a /dev/dri node is needed
    gop_default: ClassVar[int] = 256  # -g when ffmpeg.gopSize is 0 (0: none)
    bframes_default: ClassVar[int] = -1  # -bf when ffmpeg.bframes is -1 (-1: none)
    refs_default: ClassVar[int] = 0  # -refs when ffmpeg.refs is 0 (0: none)
    # The filter that tone-maps HDR on this accelerator's frames: where the build lacks it,
    # HDR is decoded in software and tone-mapped on the CPU.
    tonemap_filter: ClassVar[str] = ""

    def encoder(self, codec: str) -> str:
        """The ``-c:v`` value for ``codec``; ``ConfigError`` where this accelerator has none."""
        if codec not in self.encoders:
            raise ConfigError("ffmpeg.targetVideoCodec",
                              f"{codec} cannot be encoded with {self.name} (it has no {codec} "
                              f"encoder); choose {', '.join(self.encoders)}, or set accel to "
                              "disabled")
        return self.encoders[codec]

    def library(self, codec: str) -> str:
        """The encoder ffmpeg really opens for ``codec`` (software: ``h264`` is libx264)."""
        return self.encoder(codec)

    def decode_modes(self, plan: TranscodePlan, machine: Machine,
                     accel_decode: bool) -> list[Decode]:
        """Hardware decoding first (when asked for and possible), then software decoding."""
        if accel_decode and self.hardware_decode_possible(plan, machine):
            return [Decode.HARDWARE, Decode.SOFTWARE]
        return [Decode.SOFTWARE]

    def hardware_decode_possible(self, plan: TranscodePlan, machine: Machine) -> bool:
        return not plan.tonemap or machine.build.has(self.tonemap_filter)

    def why_not_here(self, machine: Machine) -> str | None:
        """Why this accelerator cannot run on ``machine`` at all (no device), or None."""
        if self.needs_device and machine.device() is None:
            return f"{self.name} needs a /dev/dri render node and there is none"
        return None

    @abc.abstractmethod
    def input_options(self, plan: TranscodePlan, machine: Machine,
                      decode: Decode) -> list[str]:
        """Options before ``-i``: hardware decoding, the device."""

    @abc.abstractmethod
    def filters(self, plan: TranscodePlan, machine: Machine, decode: Decode) -> list[str]:
        """The ``-vf`` chain, as its filters; empty for none."""

    @abc.abstractmethod
    def encoder_options(self, plan: TranscodePlan, machine: Machine) -> list[str]:
        """Preset, rate control and the encoder's own options (after ``-vf``)."""

    def thread_options(self, plan: TranscodePlan) -> list[str]:
        return []

    def probe_args(self, machine: Machine) -> tuple[list[str], list[str]]:
        """(input options, filters) a one-frame test encode needs to reach the encoder."""
        return [], []

    def available(self, codec: str, machine: Machine) -> toolchain.EncoderStatus:
        """A real one-frame encode with this accelerator's ``codec`` encoder (cached)."""
        why = self.why_not_here(machine)
        if why:
            return toolchain.EncoderStatus(self.library(codec), False, why)
        inputs, vf = self.probe_args(machine)
        return toolchain.probe_encoder(self.library(codec), tuple(inputs), ",".join(vf))


class RenderNode(Accelerator):
    """An encoder family on a ``/dev/dri`` render node (QSV, VAAPI): frames uploaded to it and
    scaled by its own scale filter; HDR tone-mapped there by OpenCL (``hwmap``)."""

    needs_device = True
    tonemap_filter = "tonemap_opencl"
    scale_filter: ClassVar[str]  # scale_qsv, scale_vaapi
    scale_options: ClassVar[str]  # after W:H, before the pixel format
    decoded_scale_options: ClassVar[str]  # the same on hardware-decoded frames
    scale_keep: ClassVar[int] = 2  # the free side's -N (scale_expr)

    def filters(self, plan: TranscodePlan, machine: Machine, decode: Decode) -> list[str]:
        """Immich's chain: software-decoded frames tone-mapped on the CPU, then uploaded and
        scaled (or made 8-bit 4:2:0) here; hardware-decoded ones scaled (to 10-bit for HDR) and
        tone-mapped here."""
        reformat = not plan.tonemap and not_420(plan)
        if decode is Decode.SOFTWARE:
            chain = sw_tonemap(plan, machine.build) if plan.tonemap else []
            expr = scale_expr(plan, keep=self.scale_keep)
            if expr or reformat:
                return [*chain, "hwupload=extra_hw_frames=64",
                        f"{self.scale_filter}={expr or 'iw:ih'}:{self.scale_options}"
                        ":format=nv12"]
            return [*chain, "format=nv12", "hwupload=extra_hw_frames=64"]
        expr = scale_expr(plan, coded=True, keep=self.scale_keep)
        chain = []
        if expr or reformat:
            chain.append(f"{self.scale_filter}={expr or 'iw:ih'}:{self.decoded_scale_options}"
                         ":format=" + ("p010" if plan.tonemap else "nv12"))
        if plan.tonemap:
            chain += opencl_tonemap(plan, self.name)
        return chain

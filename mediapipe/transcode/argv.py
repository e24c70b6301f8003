"""The ffmpeg argv that carries out a ``TranscodePlan``, for software and NVENC encoders.

Owns: ``build_command(plan, src, dst, accel) -> list[str]``: libx264/libx265/libvpx-vp9/libsvtav1
in software, NVENC with hardware decode (``scale_cuda``, ``tonemap_cuda``, ``-threads 1`` on the
input) or with software decode + ``hwupload_cuda``; HDR tone-mapping filters; Immich's bitrate
rules (``Bitrates``: with ``maxBitrate``, a two-pass target of max/1.45 with ``-minrate`` half of
it; NVENC's ``-bufsize`` is that target; a one-pass software cap has ``-bufsize`` twice the max);
``two_pass`` (which plans take two software passes, and ``build_command``'s ``pass_number``);
the encoder tables (``SOFTWARE_ENCODERS``, ``NVENC_ENCODERS``, ``NVENC_PRESETS``). Does not own:
the decision (``plan``), running ffmpeg or the fallback chain (``run``).

Where Immich's argv is known wrong we differ, and the tests say so: with hardware decode
(``-noautorotate``) frames arrive as stored, so a rotated phone video is scaled on its stored
short side (Immich issue 22294 scales the long one); a portrait-stored frame with a ±90° flag
plays landscape and is scaled as such (Immich's ``isVideoVertical`` takes it for vertical).

Paths are passed as ``file:`` URLs of absolute paths, so no name is ever taken for an option.
Entry point: ``build_command``.
"""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path

from mediapipe.config import FFmpegConfig, parse_bitrate
from mediapipe.errors import ConfigError
from mediapipe.transcode import toolchain
from mediapipe.transcode.plan import Accel, TranscodePlan

__all__ = ["NVENC_ENCODERS", "NVENC_PRESETS", "SOFTWARE_ENCODERS", "Bitrates", "build_command",
           "two_pass"]

SOFTWARE_ENCODERS = {"h264": "libx264", "hevc": "libx265", "vp9": "libvpx-vp9",
                     "av1": "libsvtav1"}
NVENC_ENCODERS = {"h264": "h264_nvenc", "hevc": "hevc_nvenc", "av1": "av1_nvenc"}
# x264 preset names to NVENC's p1 (fastest) .. p7 (best), as Immich maps them.
NVENC_PRESETS = {"veryslow": "p7", "slower": "p6", "slow": "p5", "medium": "p4", "fast": "p3",
                 "faster": "p2", "veryfast": "p1", "superfast": "p1", "ultrafast": "p1"}
# Immich's audio codec settings to the ffmpeg encoder that writes them.
_AUDIO_ENCODERS = {"mp3": "libmp3lame"}


@dataclasses.dataclass(frozen=True)
class Bitrates:
    """Immich's bitrate distribution for a ``maxBitrate``, in its own unit (k, M or bits):
    the cap, a target of cap/1.45 (rounded up) and a floor of half the target."""

    max: float
    target: float
    min: float
    unit: str

    @classmethod
    def of(cls, text: str) -> Bitrates:
        m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kKmM]?)", text.strip())
        if not m or parse_bitrate(text) == 0:
            return cls(0, 0, 0, "")
        value, unit = float(m.group(1)), {"": "", "k": "k", "m": "M"}[m.group(2).lower()]
        if not value.is_integer():  # '1.5M': whole numbers of the next unit down, 1500k
            value, unit = parse_bitrate(text) / (1000 if unit == "M" else 1), \
                ("k" if unit == "M" else "")
        target = math.ceil(value / 1.45)
        return cls(value, target, target / 2, unit)

    def show(self, value: float) -> str:
        return f"{value:g}{self.unit}" if value != int(value) else f"{int(value)}{self.unit}"


def two_pass(plan: TranscodePlan, accel: Accel) -> bool:
    """Immich's rule: two software passes when ``twoPass`` is on and the video is encoded with a
    ``maxBitrate`` (vp9: with or without one). NVENC does its passes in one run (``-multipass``)."""
    ff = plan.ffmpeg
    if accel is not Accel.SOFTWARE or plan.decision not in ("all", "video") or not ff.two_pass:
        return False
    if plan.target_video_codec == "vp9":
        return True
    return plan.target_video_codec in ("h264", "hevc") and Bitrates.of(ff.max_bitrate).max > 0


def _url(path: str | Path) -> str:
    """A path ffmpeg cannot mistake for an option or a protocol."""
    return "file:" + str(Path(path).absolute())


def _scale_expr(plan: TranscodePlan, coded: bool) -> str:
    """``W:H`` for a scale filter: shorter side to the target, ``-2`` on the other side."""
    w, h = plan.source_size  # as displayed
    if coded and abs(plan.rotation) % 180 == 90:  # hardware decode: frames as stored
        w, h = h, w
    if not plan.scale:
        return "trunc(iw/2)*2:trunc(ih/2)*2"
    t = plan.ffmpeg.target_resolution
    return f"{t}:-2" if w <= h else f"-2:{t}"


def _sw_tonemap(plan: TranscodePlan) -> list[str]:
    """HDR → SDR bt709 on the CPU: ``tonemapx`` (jellyfin-ffmpeg) or zscale + tonemap."""
    curve = plan.tonemap
    if toolchain.has_filter("tonemapx"):
        return [f"tonemapx=tonemap={curve}:desat=0:t=bt709:m=bt709:p=bt709:format=yuv420p"]
    tin = plan.hdr_transfer
    pin = plan.primaries or "bt2020"
    return [f"zscale=tin={tin}:pin={pin}:min=bt2020nc:t=linear:npl=100",
            "format=gbrpf32le", "zscale=p=bt709",
            f"tonemap=tonemap={curve}:desat=0",
            "zscale=t=bt709:m=bt709:r=tv", "format=yuv420p"]


def _video_filters(plan: TranscodePlan, accel: Accel) -> list[str]:
    if accel is Accel.NVENC_HWDECODE:
        chain = [f"scale_cuda={_scale_expr(plan, coded=True)}"
                 + (":format=yuv420p" if not plan.tonemap else "")]
        if plan.tonemap and toolchain.has_filter("tonemap_cuda"):
            chain.append(f"tonemap_cuda=tonemap={plan.tonemap}:desat=0:t=bt709:m=bt709:"
                         "p=bt709:format=yuv420p")
        elif plan.tonemap:
            chain += ["hwdownload", "format=p010le", *_sw_tonemap(plan), "hwupload_cuda"]
        return chain
    chain = [f"scale={_scale_expr(plan, coded=False)}"]
    chain += _sw_tonemap(plan) if plan.tonemap else ["format=yuv420p"]
    if accel is Accel.NVENC:
        chain.append("hwupload_cuda")
    return chain


def _software_video(ff: FFmpegConfig, codec: str, passes: bool) -> list[str]:
    enc = SOFTWARE_ENCODERS[codec]
    rates = Bitrates.of(ff.max_bitrate)
    target = (["-b:v", rates.show(rates.target), "-minrate", rates.show(rates.min),
               "-maxrate", rates.show(rates.max)] if passes and rates.max else [])
    args = ["-c:v", enc]
    if codec == "hevc":
        args += ["-tag:v", "hvc1", "-x265-params", "log-level=error"]
    if codec in ("h264", "hevc"):
        args += ["-preset", ff.preset]
        if target:  # two passes to an average: no crf
            return args + target
        args += ["-crf", str(ff.crf)]
        if rates.max:
            args += ["-maxrate", rates.show(rates.max), "-bufsize", rates.show(2 * rates.max)]
    elif codec == "vp9":
        args += ["-row-mt", "1", "-deadline", "realtime"]
        args += target or ["-crf", str(ff.crf), "-b:v", rates.show(rates.max) if rates.max
                           else "0"]
    else:
        args += ["-crf", str(ff.crf), "-preset", "12"]
        if rates.max:
            args += ["-svtav1-params", f"mbr={rates.show(rates.max)}"]
    return args


def _nvenc_video(ff: FFmpegConfig, codec: str) -> list[str]:
    if codec not in NVENC_ENCODERS:
        raise ConfigError("ffmpeg.targetVideoCodec",
                          f"{codec} cannot be encoded with NVENC (NVIDIA has no {codec} "
                          "encoder); choose h264, hevc or av1, or set accel to disabled")
    args = ["-c:v", NVENC_ENCODERS[codec], "-preset", NVENC_PRESETS[ff.preset], "-tune", "hq",
            "-rc-lookahead", "20", "-spatial-aq", "1"]
    if codec == "hevc":
        args += ["-tag:v", "hvc1"]
    if ff.temporal_aq:
        args += ["-temporal-aq", "1"]
    if ff.bframes != 0:
        args += ["-b_ref_mode", "middle"]
    rates = Bitrates.of(ff.max_bitrate)
    if rates.max and ff.two_pass:  # Immich: target average, cap, a buffer of the target
        args += ["-rc", "vbr", "-b:v", rates.show(rates.target), "-maxrate", rates.show(rates.max),
                 "-bufsize", rates.show(rates.target), "-multipass", "2"]
    else:
        args += ["-rc", "vbr", "-cq:v", str(ff.crf), "-b:v", "0"]
        if rates.max:
            args += ["-maxrate", rates.show(rates.max), "-bufsize", rates.show(rates.target)]
    return args


def _common_video(ff: FFmpegConfig) -> list[str]:
    args: list[str] = []
    if ff.bframes >= 0:
        args += ["-bf", str(ff.bframes)]
    if ff.refs > 0:
        args += ["-refs", str(ff.refs)]
    if ff.gop_size > 0:
        args += ["-g", str(ff.gop_size)]
    if ff.threads > 0:
        args += ["-threads", str(ff.threads)]
    return args


def build_command(plan: TranscodePlan, src: str | Path, dst: str | Path,
                  accel: Accel = Accel.SOFTWARE, ffmpeg: str = "ffmpeg", *,
                  pass_number: int | None = None, passlog: str | Path | None = None) -> list[str]:
    """The ffmpeg argv carrying out ``plan`` with ``accel``; writes mp4 to ``dst``.

    For a plan that takes ``two_pass``, ``pass_number`` 1 (analysis: no audio, no output file)
    or 2 (the encode) and the ``passlog`` prefix both passes share; without them the argv is the
    second pass's, which is what a dry run shows.
    """
    if plan.decision == "none":
        raise ValueError("nothing to run for a plan whose decision is 'none'")
    passes = two_pass(plan, accel)
    ff = plan.ffmpeg
    encode_video = plan.decision in ("all", "video")
    if not encode_video:
        accel = Accel.SOFTWARE  # stream copy: no encoder to accelerate
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", "-y"]
    if accel is Accel.NVENC_HWDECODE:  # one decoder thread: the GPU decodes (as Immich)
        argv += ["-hwaccel", "cuda", "-hwaccel_output_format", "cuda", "-noautorotate",
                 "-threads", "1"]
    analysis = passes and pass_number == 1
    argv += ["-i", _url(src), "-map", f"0:{plan.video_stream}"]
    if plan.audio_stream is not None and not analysis:
        argv += ["-map", f"0:{plan.audio_stream}"]
    if encode_video:
        argv += ["-vf", ",".join(_video_filters(plan, accel))]
        argv += (_software_video(ff, plan.target_video_codec, passes)
                 if accel is Accel.SOFTWARE else _nvenc_video(ff, plan.target_video_codec))
        argv += _common_video(ff)
        if passes and pass_number is not None:
            argv += ["-pass", str(pass_number), "-passlogfile", str(passlog)]
        if plan.tonemap:
            argv += ["-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709"]
    else:
        argv += ["-c:v", "copy"]
        if plan.source_video_codec == "hevc":
            argv += ["-tag:v", "hvc1"]
    if analysis:  # the first pass only measures the video: nothing is written
        return [*argv, "-an", "-f", "null", "-progress", "pipe:1", "-"]
    if plan.audio_stream is not None and plan.encode_audio:
        encoder = _AUDIO_ENCODERS.get(ff.target_audio_codec, ff.target_audio_codec)
        argv += ["-c:a", encoder, "-ac", "2"]
    elif plan.audio_stream is not None:
        argv += ["-c:a", "copy"]
    argv += ["-map_metadata", "-1", "-map_chapters", "-1", "-movflags", "+faststart",
             "-f", "mp4", "-progress", "pipe:1", _url(dst)]
    return argv


"""The transcode stage as data: what to do with a video (Immich's policy) and the ffmpeg argv.

Owns: ``plan_transcode(info, cfg) -> TranscodePlan`` (decision ``all``/``video``/``audio``/
``remux``/``none`` with the reasons, the streams used, the output size, HDR tone-mapping) and
``build_command(plan, src, dst, accel) -> list[str]`` for software (libx264/libx265) and NVENC
(hardware decode with ``scale_cuda``, or software decode + ``hwupload_cuda``). Does not own:
running ffmpeg, probing encoders or the fallback chain (``ffmpeg_run``), reading metadata
(``videoinfo``).

Paths are passed as ``file:`` URLs of absolute paths, so no name is ever taken for an option.
Entry points: ``plan_transcode``, ``build_command``, ``Accel``, ``TranscodePlan``.
"""

from __future__ import annotations

import dataclasses
import enum
from pathlib import Path
from typing import Literal

from mediapipe.config import Config, FFmpegConfig, parse_bitrate
from mediapipe.errors import ConfigError, UnsupportedMedia
from mediapipe.metadata.model import HDR_TRANSFERS, MediaInfo, StreamInfo
from mediapipe.transcode import toolchain

__all__ = ["Accel", "TranscodePlan", "build_command", "plan_transcode"]

Decision = Literal["all", "video", "audio", "remux", "none"]
# Formats whose stream can go into mp4 unchanged (FFmpeg's demuxer names, normalised).
MP4_CONTAINERS = frozenset({"mp4", "mov"})
SOFTWARE_ENCODERS = {"h264": "libx264", "hevc": "libx265", "vp9": "libvpx-vp9",
                     "av1": "libsvtav1"}
NVENC_ENCODERS = {"h264": "h264_nvenc", "hevc": "hevc_nvenc", "av1": "av1_nvenc"}
# x264 preset names to NVENC's p1 (fastest) .. p7 (best), as Immich maps them.
NVENC_PRESETS = {"veryslow": "p7", "slower": "p6", "slow": "p5", "medium": "p4", "fast": "p3",
                 "faster": "p2", "veryfast": "p1", "superfast": "p1", "ultrafast": "p1"}


# Decoder names (what ffprobe/PyAV report) to the encoder names Immich's settings use, and back.
_AUDIO_NAMES = {"opus": "libopus"}
_AUDIO_ENCODERS = {"mp3": "libmp3lame"}


class Accel(enum.StrEnum):
    """How the video is encoded: one link of the fallback chain."""

    NVENC_HWDECODE = "nvenc-hwdecode"
    NVENC = "nvenc"
    SOFTWARE = "software"


@dataclasses.dataclass(frozen=True)
class TranscodePlan:
    decision: Decision
    reasons: tuple[str, ...]
    video_stream: int
    audio_stream: int | None
    source_video_codec: str
    target_video_codec: str
    encode_audio: bool
    # displayed size in, size out (even); coded size differs when rotation is 90/270
    source_size: tuple[int, int]
    output_size: tuple[int, int]
    rotation: int
    scale: bool
    tonemap: str | None
    hdr_transfer: str | None
    primaries: str | None
    ffmpeg: FFmpegConfig
    duration: float | None = None

    def to_dict(self) -> dict[str, object]:
        data = dataclasses.asdict(self)
        data["reasons"] = list(self.reasons)
        del data["ffmpeg"]
        return data


def _main(streams: list[StreamInfo]) -> StreamInfo | None:
    """The default-disposition stream, else the one with the highest bitrate."""
    if not streams:
        return None
    for s in streams:
        if s.default:
            return s
    return max(streams, key=lambda s: s.bit_rate or 0)


def _even(n: float) -> int:
    return max(2, round(n / 2) * 2)


def _output_size(w: int, h: int, target: str) -> tuple[tuple[int, int], bool]:
    """(output size, whether to scale): shorter side to ``target``, never upscaled; even."""
    short = min(w, h)
    if target != "original" and short > int(target):
        t = int(target)
        size = (t, _even(h * t / w)) if w <= h else (_even(w * t / h), t)
        return size, True
    return (w - w % 2, h - h % 2), False


def plan_transcode(info: MediaInfo, cfg: Config) -> TranscodePlan:
    """Decide, by ``cfg.ffmpeg`` (Immich's policy), what a video needs to play in a browser."""
    ff = cfg.ffmpeg
    video = _main([s for s in info.streams if s.type == "video" and not s.attached_pic])
    if video is None or not info.width or not info.height:
        raise UnsupportedMedia(info.path, "no video stream to transcode")
    audio = _main([s for s in info.streams if s.type == "audio"])
    reasons: list[str] = []
    pix = video.pix_fmt or info.pix_fmt or ""
    codec_ok = video.codec in ff.accepted_video_codecs
    pix_ok = pix in ("yuv420p", "yuvj420p")
    container_ok = (info.container in MP4_CONTAINERS
                    or info.container in ff.accepted_containers)
    (w, h) = (info.width, info.height)
    out_size, scale = _output_size(w, h, ff.target_resolution)
    odd = (w % 2 or h % 2) != 0
    bitrate = video.bit_rate or info.bit_rate or 0
    max_rate = parse_bitrate(ff.max_bitrate)

    required = []
    if not codec_ok:
        required.append(f"video codec {video.codec} is not accepted "
                        f"({', '.join(ff.accepted_video_codecs)})")
    if not pix_ok:
        required.append(f"pixel format {pix or 'unknown'} is not 8-bit 4:2:0")
    if odd:
        required.append(f"odd dimensions {w}x{h}")
    policy = ff.transcode
    video_reasons: list[str] = []
    if policy == "all":
        video_reasons = ["policy all"]
    elif policy in ("required", "optimal", "bitrate"):
        video_reasons = list(required)
        if policy == "optimal" and scale:
            video_reasons.append(f"shorter side {min(w, h)} exceeds targetResolution "
                                 f"{ff.target_resolution}")
        if policy == "bitrate" and max_rate and bitrate > max_rate:
            video_reasons.append(f"bitrate {bitrate} exceeds maxBitrate {ff.max_bitrate}")
    transcode_video = bool(video_reasons) and policy != "disabled"
    audio_reasons: list[str] = []
    if audio is not None and policy != "disabled":
        if policy == "all":
            audio_reasons = ["policy all"]
        elif _AUDIO_NAMES.get(audio.codec, audio.codec) not in ff.accepted_audio_codecs:
            audio_reasons = [f"audio codec {audio.codec} is not accepted "
                             f"({', '.join(ff.accepted_audio_codecs)})"]
    transcode_audio = bool(audio_reasons)
    reasons = video_reasons + audio_reasons
    if policy == "disabled":
        decision: Decision = "none"
        reasons = ["transcode policy is disabled"]
    elif transcode_video and transcode_audio:
        decision = "all"
    elif transcode_video:
        decision = "video"
    elif transcode_audio:
        decision = "audio"
    elif not container_ok:
        decision = "remux"
        reasons = [f"container {info.container} is not accepted"]
    else:
        decision = "none"
        reasons = [f"video {video.codec} {pix}, audio {audio.codec if audio else 'none'}, "
                   f"container {info.container}: all accepted"]
    transfer = video.color_transfer or info.color_transfer
    hdr = transfer if transfer in HDR_TRANSFERS else None
    tonemap = ff.tonemap if hdr and ff.tonemap != "disabled" and transcode_video else None
    if tonemap:
        reasons.append(f"HDR ({hdr}) tone-mapped to SDR with {tonemap}")
    return TranscodePlan(
        decision=decision, reasons=tuple(reasons), video_stream=video.index,
        audio_stream=audio.index if audio else None, source_video_codec=video.codec,
        target_video_codec=ff.target_video_codec,
        encode_audio=transcode_audio, source_size=(w, h),
        output_size=out_size if transcode_video else (w, h), rotation=info.rotation,
        scale=scale and transcode_video, tonemap=tonemap, hdr_transfer=hdr,
        primaries=video.color_primaries or info.color_primaries, ffmpeg=ff,
        duration=info.duration,
    )


def _url(path: str | Path) -> str:
    """A path ffmpeg cannot mistake for an option or a protocol."""
    return "file:" + str(Path(path).absolute())


def _scale_expr(plan: TranscodePlan, coded: bool) -> str:
    """``W:H`` for a scale filter: shorter side to the target, ``-2`` on the other side."""
    w, h = plan.source_size
    if coded and plan.rotation in (90, 270):
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


def _software_video(ff: FFmpegConfig, codec: str) -> list[str]:
    enc = SOFTWARE_ENCODERS[codec]
    args = ["-c:v", enc]
    if codec == "hevc":
        args += ["-tag:v", "hvc1", "-x265-params", "log-level=error"]
    if codec in ("h264", "hevc"):
        args += ["-preset", ff.preset, "-crf", str(ff.crf)]
    elif codec == "vp9":
        args += ["-crf", str(ff.crf), "-b:v", "0", "-row-mt", "1", "-deadline", "realtime"]
    else:
        args += ["-crf", str(ff.crf), "-preset", "12"]
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
    max_rate = parse_bitrate(ff.max_bitrate)
    if max_rate and ff.two_pass:
        args += ["-rc", "vbr", "-b:v", str(max_rate // 2), "-multipass", "2"]
    else:
        args += ["-rc", "vbr", "-cq:v", str(ff.crf), "-b:v", "0"]
    return args


def _common_video(ff: FFmpegConfig) -> list[str]:
    args: list[str] = []
    max_rate = parse_bitrate(ff.max_bitrate)
    if max_rate:
        args += ["-maxrate", str(max_rate), "-bufsize", str(max_rate * 2)]
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
                  accel: Accel = Accel.SOFTWARE, ffmpeg: str = "ffmpeg") -> list[str]:
    """The ffmpeg argv carrying out ``plan`` with ``accel``; writes mp4 to ``dst``."""
    if plan.decision == "none":
        raise ValueError("nothing to run for a plan whose decision is 'none'")
    ff = plan.ffmpeg
    encode_video = plan.decision in ("all", "video")
    if not encode_video:
        accel = Accel.SOFTWARE  # stream copy: no encoder to accelerate
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", "-y"]
    if accel is Accel.NVENC_HWDECODE:
        argv += ["-hwaccel", "cuda", "-hwaccel_output_format", "cuda", "-noautorotate"]
    argv += ["-i", _url(src), "-map", f"0:{plan.video_stream}"]
    if plan.audio_stream is not None:
        argv += ["-map", f"0:{plan.audio_stream}"]
    if encode_video:
        argv += ["-vf", ",".join(_video_filters(plan, accel))]
        argv += (_software_video(ff, plan.target_video_codec) if accel is Accel.SOFTWARE
                 else _nvenc_video(ff, plan.target_video_codec))
        argv += _common_video(ff)
        if plan.tonemap:
            argv += ["-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709"]
    else:
        argv += ["-c:v", "copy"]
        if plan.source_video_codec == "hevc":
            argv += ["-tag:v", "hvc1"]
    if plan.audio_stream is not None and plan.encode_audio:
        encoder = _AUDIO_ENCODERS.get(ff.target_audio_codec, ff.target_audio_codec)
        argv += ["-c:a", encoder, "-ac", "2"]
    elif plan.audio_stream is not None:
        argv += ["-c:a", "copy"]
    argv += ["-map_metadata", "-1", "-map_chapters", "-1", "-movflags", "+faststart",
             "-f", "mp4", "-progress", "pipe:1", _url(dst)]
    return argv


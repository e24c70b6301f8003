"""The transcode decision as data: what a video needs to play in a browser, by Immich's policy.

Owns: ``plan_transcode(info, cfg) -> TranscodePlan`` (decision ``all``/``video``/``audio``/
``remux``/``none`` with the reasons, the streams used, the output size, HDR tone-mapping). Does
not own: the ffmpeg argv (``argv.build_command``), the accelerators and their fallback chain
(``chain``), running ffmpeg (``run``), reading metadata (``metadata.video``).

Immich's readings of the config: the target codec is always accepted (video and audio), ``opus``
and ``libopus`` name the same codec, an unknown ``preset`` is dropped with a warning (in
``warnings``, and the log), and a video is scaled where Immich scales it: odd dimensions, or a
shorter side above ``targetResolution`` (never up).

A video whose stream headers say more pixels than ``image.maxPixels`` is refused before
anything decodes it (``check_size``, which ``plan_transcode`` calls first; ``TooLarge``), as
an image of that size is.

Entry points: ``plan_transcode``, ``check_size``, ``TranscodePlan``.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from typing import Literal

from mediapipe.config import Config, FFmpegConfig, parse_bitrate
from mediapipe.errors import UnsupportedMedia, check_pixels
from mediapipe.metadata.model import HDR_TRANSFERS, MediaInfo, main_stream

__all__ = ["PRESETS", "TranscodePlan", "check_size", "plan_transcode"]

Decision = Literal["all", "video", "audio", "remux", "none"]
# Formats whose stream can go into mp4 unchanged (FFmpeg's demuxer names, normalised).
MP4_CONTAINERS = frozenset({"mp4", "mov"})
# Codec names (ffprobe/PyAV's and Immich's settings') that are the same codec.
_AUDIO_NAMES = {"libopus": "opus"}
# The x264 preset names every accelerator maps (Immich's list); others are dropped.
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower",
           "veryslow")
log = logging.getLogger(__name__)


@functools.cache
def _warn_once(message: str) -> None:
    log.warning("%s", message)


def _audio_name(codec: str) -> str:
    return _AUDIO_NAMES.get(codec, codec)


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
    pix_fmt: str = "yuv420p"  # the source video stream's
    warnings: tuple[str, ...] = ()

    @property
    def encodes_video(self) -> bool:
        """Whether the video stream is encoded (``all``, ``video``), not copied as it is: the
        one test of whether an encoder, an accelerator or two passes have anything to do."""
        return self.decision in ("all", "video")

    def to_dict(self) -> dict[str, object]:
        data = dataclasses.asdict(self)
        data["reasons"] = list(self.reasons)
        data["warnings"] = list(self.warnings)
        del data["ffmpeg"]
        return data


def _even(n: float) -> int:
    return max(2, round(n / 2) * 2)


def _output_size(w: int, h: int, target: str) -> tuple[tuple[int, int], bool]:
    """(output size, whether to scale), as Immich decides: scaled when a side is odd or the
    shorter side is above ``target``; the shorter side to ``target`` (never up), even."""
    short = min(w, h)
    t = short if target == "original" else min(int(target), short)
    t -= t % 2
    if (w % 2 or h % 2) or short > t:
        size = (t, _even(h * t / w)) if h > w else (_even(w * t / h), t)
        return size, True
    return (w, h), False


def check_size(info: MediaInfo, cfg: Config) -> None:
    """``TooLarge`` when a video stream's header (``MediaInfo``, read without decoding) says
    more pixels than ``image.maxPixels``: ffmpeg would allocate frames of that size."""
    for stream in info.streams:
        if stream.type == "video" and not stream.attached_pic:
            check_pixels(info.path, stream.width, stream.height, cfg.image.max_pixels,
                         what=f"video stream {stream.index}")
    check_pixels(info.path, info.width, info.height, cfg.image.max_pixels, what="video")


def plan_transcode(info: MediaInfo, cfg: Config) -> TranscodePlan:
    """Decide, by ``cfg.ffmpeg`` (Immich's policy), what a video needs to play in a browser;
    ``TooLarge`` first for a video over ``image.maxPixels`` (``check_size``)."""
    ff = cfg.ffmpeg
    if str(info.kind) != "video":
        raise UnsupportedMedia(info.path, f"not a video (a {info.kind}): nothing to transcode")
    check_size(info, cfg)
    video = main_stream(info.streams, "video")
    if video is None or not info.width or not info.height:
        raise UnsupportedMedia(info.path, "no video stream to transcode")
    audio = main_stream(info.streams, "audio")
    reasons: list[str] = []
    pix = video.pix_fmt or info.pix_fmt or ""
    codec_ok = video.codec in (*ff.accepted_video_codecs, ff.target_video_codec)
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
        accepted = dict.fromkeys((*ff.accepted_video_codecs, ff.target_video_codec))
        required.append(f"video codec {video.codec} is not accepted ({', '.join(accepted)})")
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
        too_big = ff.target_resolution != "original" and min(w, h) > int(ff.target_resolution)
        if policy == "optimal" and too_big:
            video_reasons.append(f"shorter side {min(w, h)} exceeds targetResolution "
                                 f"{ff.target_resolution}")
        if policy == "bitrate" and max_rate and bitrate > max_rate:
            video_reasons.append(f"bitrate {bitrate} exceeds maxBitrate {ff.max_bitrate}")
    transcode_video = bool(video_reasons) and policy != "disabled"
    audio_reasons: list[str] = []
    if audio is not None and policy != "disabled":
        if policy == "all":
            audio_reasons = ["policy all"]
        elif _audio_name(audio.codec) not in {_audio_name(c) for c in
                                              (*ff.accepted_audio_codecs,
                                               ff.target_audio_codec)}:
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
    warnings = []
    if ff.preset not in PRESETS:
        warnings.append(f"ffmpeg.preset {ff.preset!r} is none of {', '.join(PRESETS)}: "
                        "dropped, the encoder's default is used")
        _warn_once(warnings[-1])
    return TranscodePlan(
        decision=decision, reasons=tuple(reasons), video_stream=video.index,
        audio_stream=audio.index if audio else None, source_video_codec=video.codec,
        target_video_codec=ff.target_video_codec,
        encode_audio=transcode_audio, source_size=(w, h),
        output_size=out_size if transcode_video else (w, h), rotation=info.rotation,
        scale=scale and transcode_video, tonemap=tonemap, hdr_transfer=hdr,
        primaries=video.color_primaries or info.color_primaries, ffmpeg=ff,
        duration=info.duration, pix_fmt=pix or "yuv420p", warnings=tuple(warnings),
    )

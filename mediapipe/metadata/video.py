"""Video metadata from container and stream headers (PyAV), without decoding any frame.

Owns: ``read_video(path) -> MediaInfo`` for video files: displayed size, rotation (clockwise, as
exiftool), duration, frame rate, codecs, pixel format, HDR transfer, per-stream facts for the
transcode stage, QuickTime/Matroska/AVI dates (in the zone of the video's position where the
file names no offset, as for photos), ISO 6709 location, QuickTime make/model. Does not
own: images (``read``), deciding what to transcode (``transcode.plan``).

For ISO-BMFF files (mp4/mov/3gp) ``moov`` says what PyAV does not: the rotation (the video
track's ``tkhd`` matrix), the duration (the movie header's, which ffprobe and exiftool report,
whatever a damaged track header says) and a maker note's make and model (Pentax).

Entry point: ``read_video``.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timezone
from pathlib import Path
from typing import Any, Literal

from mediapipe import formats, sources
from mediapipe.errors import CorruptMedia, UnsupportedMedia, from_os_error
from mediapipe.metadata.daterules import DEFAULT_OPTIONS, ReadOptions, complete
from mediapipe.metadata.dates import Taken, format_offset
from mediapipe.metadata.model import MediaInfo, StreamInfo, live_photo_key, main_stream
from mediapipe.metadata.moov import Movie, read_movie
from mediapipe.metadata.zones import in_zone_at, offset_zone_name, zone_info
from mediapipe.sources import Source, SourceLike

__all__ = ["LOCAL_TIME_MAKES", "TRANSFER_NAMES", "camera_local", "read_video"]

# Makes whose cameras write QuickTime CreateDate as local wall time (``camera_local``).
LOCAL_TIME_MAKES = frozenset({"NIKON", "SONY", "CANON"})

# AVColorTransferCharacteristic / AVColorPrimaries values to FFmpeg's names (the transfer
# names are also what ``thumbnails.videoframe`` reads off a decoded frame).
TRANSFER_NAMES = {
    1: "bt709", 4: "gamma22", 5: "gamma28", 6: "smpte170m", 7: "smpte240m", 8: "linear",
    11: "iec61966-2-4", 13: "iec61966-2-1", 14: "bt2020-10", 15: "bt2020-12",
    16: "smpte2084", 17: "smpte428", 18: "arib-std-b67"}
_PRIMARIES = {1: "bt709", 4: "bt470m", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m", 8: "film",
              9: "bt2020", 10: "smpte428", 11: "smpte431", 12: "smpte432", 22: "ebu3213"}
# Demuxer short names (FFmpeg's first alias is not the file's real format) to one name.
_CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".insv": "mp4", ".mov": "mov", ".3gp": "3gp",
               ".3gpp": "3gp", ".mkv": "matroska", ".webm": "webm"}
_ISO6709 = re.compile(r"([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)?")
_EPOCH_ZERO = datetime(1970, 1, 1, tzinfo=UTC)
StreamType = Literal["video", "audio", "subtitle", "data", "attachment"]


def read_video(source: SourceLike, options: ReadOptions = DEFAULT_OPTIONS) -> MediaInfo:
    """Read a video's metadata; ``CorruptMedia``/``UnsupportedMedia`` for anything unreadable.
    ``options``: the date rules, place names and local zone the settings ask for."""
    import av

    src = Source.of(source)
    p = src.path
    try:
        st = src.stat()
    except OSError as exc:
        raise from_os_error(p, exc) from exc
    if st.st_size == 0:
        raise CorruptMedia(p, "empty file")
    try:
        container = av.open(src.name, metadata_errors="replace", timeout=30.0)
    except av.error.InvalidDataError as exc:
        raise CorruptMedia(p, f"not a readable video: {sources.reason(exc)}") from exc
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise CorruptMedia(p, f"cannot open: {sources.reason(exc)}") from exc
    try:
        return _info(p, st, container, src.name, options)
    except (av.error.FFmpegError, ValueError, OverflowError, ZeroDivisionError) as exc:
        raise CorruptMedia(p, f"unreadable stream headers: {sources.reason(exc)}") from exc
    finally:
        container.close()


def _info(p: Path, st: os.stat_result, container: Any, name: str,
          options: ReadOptions) -> MediaInfo:
    """``name``: what to open the file by (``Source.name``); ``p``: what to call it."""
    streams = tuple(_stream(s) for s in container.streams)
    main = main_stream(streams, "video")
    if main is None:
        raise UnsupportedMedia(p, "no video stream")
    video = container.streams[main.index]
    cc = video.codec_context
    if cc is None:
        raise CorruptMedia(p, "video stream has an unknown codec (damaged stream headers)")
    if not cc.width or not cc.height:
        raise CorruptMedia(p, "video stream has no dimensions (truncated or missing headers)")
    fmt = container.format.name
    movie = read_movie(name, video.index) if fmt.startswith("mov,") else Movie()
    rotation = movie.rotation
    width, height = (cc.height, cc.width) if rotation in (90, 270) else (cc.width, cc.height)
    audio = main_stream(streams, "audio")  # a codec a damaged header hides is "none"
    tags = {k.lower(): v for k, v in (container.metadata or {}).items()}
    make = tags.get("com.apple.quicktime.make") or tags.get("make") or movie.make
    raw, source = _taken_at(tags)
    local = source == "CreateDate" and raw is not None and camera_local(make, p)
    if local and raw is not None:  # the camera wrote its clock's wall time, not UTC
        raw = raw.replace(tzinfo=None)

    def dated(position: tuple[float | None, float | None]) -> Taken | None:
        if raw is None:
            return None
        when, zone = _zoned(raw, source, position, options.local_zone if local else None)
        return Taken(when, _offset(when), source, zone)

    found = complete(p, st.st_mtime, dated, _location(tags), None, options)
    taken, place = found.taken, found.place
    mtime = taken is not None and taken.source == "file_mtime"
    rate = video.average_rate or video.guessed_rate
    duration = movie.duration or (container.duration / 1_000_000 if container.duration
                                  else _stream_duration(video))
    return MediaInfo(
        path=str(p), kind="video", mime_type=formats.mime_type(p), size=st.st_size,
        width=width, height=height, taken_at=taken.when if taken else None,
        taken_at_source=taken.source if taken else "none", date_only=found.date_only,
        offset=taken.offset if taken and not mtime else None,
        time_zone=taken.zone if taken else None, make=make,
        model=tags.get("com.apple.quicktime.model") or tags.get("model") or movie.model,
        latitude=found.latitude, longitude=found.longitude, altitude=found.altitude,
        city=place.city if place else None, state=place.state if place else None,
        country=place.country if place else None, description=found.description,
        duration=round(duration, 6) if duration else None,
        fps=round(float(rate), 3) if rate else None,
        video_codec=_codec_name(video), pix_fmt=cc.pix_fmt,
        bit_rate=container.bit_rate or None,
        color_transfer=TRANSFER_NAMES.get(cc.color_trc),
        color_primaries=_PRIMARIES.get(cc.color_primaries),
        rotation=rotation,
        audio_codec=audio.codec if audio else None,
        container=_container(fmt, p), streams=streams,
        # An iPhone live photo's video: the id its still carries (Apple maker note, XMP).
        live_photo_id=live_photo_key(tags.get("com.apple.quicktime.content.identifier")),
        warnings=found.warnings,
    )


def _bit_rate(stream: Any) -> int | None:
    """The stream's bitrate from its codec context; None for a data stream or an unknown codec
    (PyAV streams without a codec context have no ``bit_rate`` at all)."""
    cc = stream.codec_context
    return (cc.bit_rate or None) if cc is not None else None


def _codec_name(stream: Any) -> str:
    return str(stream.codec_context.codec.canonical_name)


def _stream(s: Any) -> StreamInfo:
    kind: StreamType = s.type if s.type in ("video", "audio", "subtitle", "attachment") else "data"
    cc = s.codec_context
    try:
        codec = _codec_name(s) if cc is not None else "none"
    except (AttributeError, ValueError):
        codec = "unknown"
    video = kind == "video" and cc is not None
    return StreamInfo(
        index=s.index, type=kind, codec=codec, default=bool(s.disposition & s.disposition.default),
        bit_rate=_bit_rate(s), attached_pic=bool(s.disposition & s.disposition.attached_pic),
        width=cc.width if video else None, height=cc.height if video else None,
        pix_fmt=cc.pix_fmt if video else None,
        channels=cc.channels if kind == "audio" and cc is not None else None,
        color_transfer=TRANSFER_NAMES.get(cc.color_trc) if video else None,
        color_primaries=_PRIMARIES.get(cc.color_primaries) if video else None,
        profile=s.profile if kind in ("video", "audio") else None,
    )


def _stream_duration(s: Any) -> float | None:
    if s.duration and s.time_base:
        return float(s.duration * s.time_base)
    return None


def _container(fmt: str, p: Path) -> str:
    """One name for the demuxer: ``mov,mp4,…`` is mp4 or mov by extension, ``matroska,webm``
    is webm only for .webm files."""
    if fmt.startswith("mov,"):
        return _CONTAINERS.get(p.suffix.lower(), "mp4")
    if fmt.startswith("matroska"):
        return "webm" if p.suffix.lower() == ".webm" else "matroska"
    return fmt.split(",")[0]


def _parse_date(text: str) -> datetime | None:
    text = text.strip().replace("Z", "+00:00")
    for candidate in (text, text.replace(" ", "T", 1)):
        try:
            return datetime.fromisoformat(candidate)
        except ValueError:
            continue
    m = re.match(r"(\d{4}):(\d\d):(\d\d)[ T](\d\d):(\d\d):(\d\d)", text)
    if m:
        year, month, day, hour, minute, second = map(int, m.groups())
        return datetime(year, month, day, hour, minute, second)
    return None


# (tag, source name as exiftool calls it, naive values are UTC)
_DATE_TAGS = (
    ("com.apple.quicktime.creationdate", "CreationDate", False),
    ("creation_time", "CreateDate", True),
    ("date", "DateTimeOriginal", False),
)


def _taken_at(tags: dict[str, str]) -> tuple[datetime | None, str]:
    for tag, source, utc in _DATE_TAGS:
        value = tags.get(tag)
        parsed = _parse_date(value) if value else None
        if parsed is None:
            continue
        if utc:
            parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed
            parsed = parsed.astimezone(UTC)
        if parsed.tzinfo is not None and parsed == _EPOCH_ZERO:
            continue  # a writer's "no date" (exiftool shows 0000:00:00)
        return parsed, source
    return None, "file_mtime"


def camera_local(make: str | None, p: Path) -> bool:
    """Whether a QuickTime ``CreateDate`` by this camera is its clock's wall time, not UTC: the
    makes whose cameras write local time (Nikon, Sony, Canon: Immich issue 13009; exiftool
    leaves such dates as written unless ``-api QuickTimeUTC`` says otherwise), except Canon's
    CR3-generation files, which exiftool's ``QuickTime.pm`` reads as UTC always."""
    if not make:
        return False
    first = make.strip().split()[0].upper() if make.strip() else ""
    if first == "CANON" and p.suffix.lower() in (".cr3", ".crm"):
        return False
    return first in LOCAL_TIME_MAKES


def _zoned(when: datetime, source: str, position: tuple[float | None, float | None],
           local_zone: str | None = None) -> tuple[datetime, str | None]:
    """The date as Immich shows it, and its zone's name: QuickTime's UTC ``CreateDate`` (and a
    wall time with no offset) in the zone of the video's position, as for photos (``dates``);
    a camera's local wall time with no position in ``local_zone`` (``metadata.localTimeZone``)
    where one is set; an offset the file names stays, named as Immich names it (``UTC+2``)."""
    named = when.utcoffset() is not None and source != "CreateDate"
    if not named:
        placed = in_zone_at(when, when.tzinfo is not None, position)
        if placed is None and local_zone and when.tzinfo is None:
            info = zone_info(local_zone)
            aware = when.replace(tzinfo=info) if info is not None else None
            offset = aware.utcoffset() if aware is not None else None
            if offset is not None:
                return when.replace(tzinfo=timezone(offset)), local_zone
        if placed is not None:
            return placed[0], placed[2]
    offset = when.utcoffset()
    return when, offset_zone_name(offset) if offset is not None else None


def _offset(taken_at: datetime | None) -> str | None:
    off = taken_at.utcoffset() if taken_at is not None else None
    return format_offset(off) if off is not None else None


def _location(tags: dict[str, str]) -> tuple[float | None, float | None, float | None]:
    text = tags.get("com.apple.quicktime.location.iso6709") or tags.get("location")
    m = _ISO6709.match(text.strip()) if text else None
    if not m:
        return None, None, None
    lat, lon = float(m.group(1)), float(m.group(2))
    if lat == 0 and lon == 0:
        return None, None, None
    return lat, lon, float(m.group(3)) if m.group(3) else None

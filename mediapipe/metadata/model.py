"""What the metadata stage knows about a file, as one typed value every later stage reads.

Owns: ``MediaInfo`` and ``StreamInfo`` (frozen dataclasses) and their JSON form, which stream
of a kind is the main one (``main_stream``, the rule the metadata and the transcode plan share),
and ``HDR_TRANSFERS``, the colour transfers that make a video HDR. Does not own: reading them
(``metadata.read_metadata``).

Conventions: ``width``/``height`` are as displayed (swapped for EXIF orientations 5-8 and for
video rotated by 90/270); ``rotation`` is clockwise degrees, as exiftool reports it;
``taken_at`` is aware when the offset is known, naive (local wall time) otherwise.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

__all__ = ["HDR_TRANSFERS", "MediaInfo", "StreamInfo", "live_photo_key", "main_stream"]

# ``color_transfer`` values (FFmpeg's names) of HDR video: PQ (SMPTE ST 2084) and HLG (ARIB
# STD-B67). Thumbnails tone-map such frames; transcodes tone-map such streams.
HDR_TRANSFERS = frozenset({"smpte2084", "arib-std-b67"})


@dataclasses.dataclass(frozen=True)
class StreamInfo:
    index: int
    type: Literal["video", "audio", "subtitle", "data", "attachment"]
    codec: str
    default: bool = False
    bit_rate: int | None = None
    attached_pic: bool = False
    width: int | None = None
    height: int | None = None
    pix_fmt: str | None = None
    channels: int | None = None
    color_transfer: str | None = None
    color_primaries: str | None = None
    profile: str | None = None


def live_photo_key(value: object) -> str | None:
    """The one normalisation of a live-photo id (Apple's ContentIdentifier, the MOV's content
    identifier): surrounding white space dropped; nothing left, or not text, is no id. The
    readers apply it as they build a ``MediaInfo``; the catalog's SQL as ``mp_live_id``."""
    text = value.strip() if isinstance(value, str) else ""
    return text or None


def main_stream(streams: Iterable[StreamInfo],
                kind: Literal["video", "audio"]) -> StreamInfo | None:
    """The ``kind`` stream a player would pick: the first marked default, else the one with the
    highest bitrate (the first of equals); None when there is none. Cover art is no video
    stream, and an audio stream whose codec is unknown (``"none"``) is no audio stream."""
    if kind == "video":
        found = [s for s in streams if s.type == "video" and not s.attached_pic]
    else:
        found = [s for s in streams if s.type == "audio" and s.codec != "none"]
    if not found:
        return None
    default = next((s for s in found if s.default), None)
    return default or max(found, key=lambda s: s.bit_rate or 0)


@dataclasses.dataclass(frozen=True)
class MediaInfo:
    path: str
    kind: Literal["image", "video"]
    mime_type: str
    size: int
    width: int | None = None
    height: int | None = None
    orientation: int = 1
    taken_at: datetime | None = None
    offset: str | None = None
    # Immich's ``timeZone``: the IANA zone of the GPS position where the file names no offset
    # ("America/Los_Angeles"), else the offset's name ("UTC+2"); None when neither is known
    time_zone: str | None = None
    # which rule gave ``taken_at``: a date tag's exiftool name (EXIF/XMP/QuickTime: always
    # first), then ``metadata.dateRules`` in order: "takeout-json", "filename", "file_mtime";
    # "none" when every rule is off and no tag has a date
    taken_at_source: str = "file_mtime"
    # the date is a day only (a file name like ``2019-04-12.jpg``): ``taken_at`` is its midnight
    date_only: bool = False
    make: str | None = None
    model: str | None = None
    lens_model: str | None = None
    iso: int | None = None
    exposure_time: float | None = None
    f_number: float | None = None
    focal_length: float | None = None
    latitude: float | None = None
    longitude: float | None = None
    altitude: float | None = None
    # the populated place at the position (GeoNames, offline: ``metadata.places``), as Immich's
    # ``city``/``state``/``country``; None without a position or with no place near it
    city: str | None = None
    state: str | None = None
    country: str | None = None
    # XMP-GPano:ProjectionType upper-cased, as Immich keeps it ("EQUIRECTANGULAR": a 360° photo)
    projection_type: str | None = None
    description: str | None = None
    rating: int | None = None
    keywords: tuple[str, ...] = ()
    color_space: str | None = None
    profile_description: str | None = None
    bits_per_sample: int | None = None
    live_photo_id: str | None = None
    motion_photo: bool = False
    # where Google's XMP says the video is: from ``offset``, ``length`` bytes (None: to the end)
    motion_photo_offset: int | None = None
    motion_photo_length: int | None = None
    # why a photo marked as a motion photo names no usable range (also among ``warnings``)
    motion_photo_problem: str | None = None
    # video
    duration: float | None = None
    fps: float | None = None
    video_codec: str | None = None
    pix_fmt: str | None = None
    bit_rate: int | None = None
    color_transfer: str | None = None
    color_primaries: str | None = None
    rotation: int = 0
    audio_codec: str | None = None
    container: str | None = None
    streams: tuple[StreamInfo, ...] = ()
    warnings: tuple[str, ...] = ()
    # which reader answered: "mediapipe" (in-process), "exiftool" (a format only it reads),
    # "mediapipe+exiftool" (in-process, the date from exiftool: no date tag found in-process)
    metadata_source: str = "mediapipe"

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly: dates in ISO 8601, tuples as lists."""
        out = dataclasses.asdict(self)
        out["taken_at"] = self.taken_at.isoformat() if self.taken_at else None
        out["keywords"] = list(self.keywords)
        out["warnings"] = list(self.warnings)
        out["streams"] = [dataclasses.asdict(s) for s in self.streams]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MediaInfo:
        fields = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in data.items() if k in fields}
        if kw.get("taken_at"):
            kw["taken_at"] = datetime.fromisoformat(kw["taken_at"])
        kw["keywords"] = tuple(kw.get("keywords") or ())
        kw["warnings"] = tuple(kw.get("warnings") or ())
        kw["streams"] = tuple(StreamInfo(**s) for s in kw.get("streams") or ())
        return cls(**kw)

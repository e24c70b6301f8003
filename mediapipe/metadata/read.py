"""The metadata stage: one file in, one ``MediaInfo`` out, as right as exiftool and much faster.

Owns: dispatching by kind (videos go to ``video.read_video``), merging an image's tag
sources (EXIF first, embedded XMP fills gaps, the XMP sidecar ``formats.find_sidecar`` picks wins
for date, GPS, description, rating and keywords), and Immich's rules for every field: date
(``dates``) with the file mtime as the last resort, GPS (null when absent or 0,0), orientation
and the displayed size, camera and lens, exposure, keywords as lists, colour, live photo and
motion photo markers. Does not own: finding blocks in files (``blocks``), decoding them
(``exif``, ``xmp``, ``colour.profile_description``), or any write.

Entry point: ``read_metadata(path, *, sidecar=True) -> MediaInfo``; raises only ``CorruptMedia``,
``UnsupportedMedia`` or ``TooLarge``; whatever could not be read is listed in ``warnings``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from mediapipe import formats
from mediapipe.colour import profile_description
from mediapipe.errors import CorruptMedia, UnsupportedMedia
from mediapipe.metadata.blocks import ImageBlocks, read_blocks
from mediapipe.metadata.dates import taken_at
from mediapipe.metadata.exif import read_exif
from mediapipe.metadata.model import MediaInfo
from mediapipe.metadata.xmp import read_xmp

__all__ = ["read_metadata"]

Tags = dict[str, object]

_DATE_TAGS = frozenset({
    "DateTimeOriginal", "SubSecTimeOriginal", "OffsetTimeOriginal", "CreateDate",
    "SubSecTimeDigitized", "OffsetTimeDigitized", "OffsetTime", "DateCreated", "GPSDateTime",
    "CreationDate", "MediaCreateDate", "DateTimeCreated"})
_GPS_TAGS = frozenset({"GPSLatitude", "GPSLongitude", "GPSAltitude"})
_SIDECAR_WINS = frozenset({"Description", "Rating", "Subject", "HierarchicalSubject"})
_MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif",
         "TIFF": "image/tiff", "BMP": "image/bmp"}
# Keyed as float: codes match by value, so a ColorSpace stored as a rational 1.0 is sRGB too.
_COLOR_SPACES: dict[float, str] = {1: "sRGB", 2: "Adobe RGB", 0xFFFF: "Uncalibrated"}


def read_metadata(path: str | os.PathLike[str], *, sidecar: bool = True) -> MediaInfo:
    """What the file at ``path`` is and what it says about itself (see the module docstring)."""
    p = Path(path)
    kind = formats.kind_of(p)
    if kind is formats.Kind.VIDEO:
        from mediapipe.metadata.video import read_video

        return read_video(p)
    if kind is not formats.Kind.IMAGE:
        raise UnsupportedMedia(p, f"not a media file mediapipe reads ({p.suffix or 'no ext'})")
    try:
        st = p.stat()
    except OSError as exc:
        raise CorruptMedia(p, f"cannot read: {exc.strerror or exc}") from exc
    blocks = read_blocks(p)
    warnings = list(blocks.warnings)
    tags = _embedded_tags(blocks, warnings)
    side = formats.find_sidecar(p) if sidecar else None
    if side is not None:
        tags = _apply_sidecar(tags, side, warnings)
    mime = _MIME.get(blocks.format) or formats.mime_type(p)
    if mime != formats.mime_type(p) and blocks.format != "HEIF":
        warnings.append(f"content is {blocks.format}, not what the name {p.suffix} says")
    return _build(p, st, blocks, tags, mime, warnings)


def _embedded_tags(blocks: ImageBlocks, warnings: list[str]) -> Tags:
    tags: Tags = {}
    if blocks.exif:
        exif, problems = read_exif(blocks.exif)
        tags.update(exif)
        warnings.extend(problems)
    for packet in blocks.xmp:
        xmp, problems = read_xmp(packet)
        warnings.extend(problems)
        for key, value in xmp.items():
            tags.setdefault(key, value)
    return tags


def _apply_sidecar(tags: Tags, side: Path, warnings: list[str]) -> Tags:
    try:
        data = side.read_bytes()
    except OSError as exc:
        warnings.append(f"sidecar {side.name}: {exc.strerror or exc}")
        return tags
    xmp, problems = read_xmp(data)
    warnings.extend(f"sidecar {side.name}: {p}" for p in problems)
    out = dict(tags)
    if any(k in _DATE_TAGS and _present(v) for k, v in xmp.items()):
        out = {k: v for k, v in out.items() if k not in _DATE_TAGS}
        out.update({k: v for k, v in xmp.items() if k in _DATE_TAGS})
    if _present(xmp.get("GPSLatitude")) and _present(xmp.get("GPSLongitude")):
        out = {k: v for k, v in out.items() if k not in _GPS_TAGS}
        out.update({k: v for k, v in xmp.items() if k in _GPS_TAGS})
    out.update({k: v for k, v in xmp.items() if k in _SIDECAR_WINS and _present(v)})
    for key, value in xmp.items():
        out.setdefault(key, value)
    return out


def _present(value: object) -> bool:
    return value is not None and value != "" and value != ()


def _text(value: object) -> str | None:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return None


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _color_space(value: object) -> str | None:
    """The name of an EXIF ColorSpace code; None for other codes and for non-numbers."""
    return _COLOR_SPACES.get(value) if isinstance(value, int | float) else None


def _build(p: Path, st: os.stat_result, blocks: ImageBlocks, tags: Mapping[str, object],
           mime: str, warnings: list[str]) -> MediaInfo:
    orientation = tags.get("Orientation")
    if not isinstance(orientation, int) or not 1 <= orientation <= 8:
        if orientation not in (None, 0):
            warnings.append(f"orientation {orientation!r} is not 1-8; using 1")
        orientation = 1
    width, height = blocks.width, blocks.height
    if orientation >= 5 and not blocks.displayed:
        width, height = height, width
    taken = taken_at(tags)
    if taken is not None:
        when, offset, source = taken.when, taken.offset, taken.source
    else:
        when, offset, source = datetime.fromtimestamp(st.st_mtime, UTC), "+00:00", "file_mtime"
    lat, lon = _number(tags.get("GPSLatitude")), _number(tags.get("GPSLongitude"))
    if lat is None or lon is None or (lat == 0 and lon == 0):
        lat = lon = None
    iso = tags.get("ISO")
    rating = tags.get("Rating")
    motion, motion_offset = _motion_photo(tags, st.st_size)
    return MediaInfo(
        path=str(p), kind="image", mime_type=mime, size=st.st_size,
        width=width, height=height, orientation=orientation,
        taken_at=when, offset=offset, taken_at_source=source,
        make=_text(tags.get("Make")), model=_text(tags.get("Model")), lens_model=_lens(tags),
        iso=iso if isinstance(iso, int) and iso > 0 else None,
        exposure_time=_number(tags.get("ExposureTime")), f_number=_number(tags.get("FNumber")),
        focal_length=_number(tags.get("FocalLength")),
        latitude=lat, longitude=lon,
        altitude=_number(tags.get("GPSAltitude")) if lat is not None else None,
        description=_text(tags.get("Description")) or _text(tags.get("ImageDescription")),
        rating=rating if isinstance(rating, int) and -1 <= rating <= 5 else None,
        keywords=_keywords(tags),
        color_space=_color_space(tags.get("ColorSpace")),
        profile_description=profile_description(blocks.icc) if blocks.icc else None,
        bits_per_sample=blocks.bits_per_sample,
        live_photo_id=_text(tags.get("ContentIdentifier")),
        motion_photo=motion, motion_photo_offset=motion_offset,
        warnings=tuple(dict.fromkeys(warnings)),
    )


def _lens(tags: Mapping[str, object]) -> str | None:
    """LensModel (EXIF, XMP or a maker note), else the XMP ``aux:Lens`` or LensType name."""
    return (_text(tags.get("LensModel")) or _text(tags.get("Lens"))
            or _text(tags.get("LensType")))


def _keywords(tags: Mapping[str, object]) -> tuple[str, ...]:
    """dc:subject / XPKeywords, then HierarchicalSubject (``a|b`` as ``a/b``), de-duplicated."""
    out: list[str] = []
    for key in ("Subject", "XPKeywords", "HierarchicalSubject"):
        value = tags.get(key)
        items = (value,) if isinstance(value, str) else value if isinstance(value, tuple) else ()
        for item in items:
            if isinstance(item, str) and item.strip():
                out.append(item.strip().replace("|", "/") if key == "HierarchicalSubject"
                           else item.strip())
    return tuple(dict.fromkeys(out))


def _motion_photo(tags: Mapping[str, object], size: int) -> tuple[bool, int | None]:
    """Google MicroVideo (offset counted from the end) or MotionPhoto (its item's length)."""
    length = None
    if tags.get("MicroVideo") == 1:
        length = tags.get("MicroVideoOffset")
    elif tags.get("MotionPhoto") == 1:
        length = tags.get("MotionPhotoVideoLength")
    else:
        return False, None
    if isinstance(length, int) and 0 < length < size:
        return True, size - length
    return True, None

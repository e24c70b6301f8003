"""Date taken: which tag wins, its sub-seconds and its UTC offset (Immich's rules).

Owns: parsing exif/XMP/QuickTime date strings, building exiftool's SubSec composites, the tag
priority, and finding the offset and zone as exiftool-vendored (Immich's reader) does: the
offset the date names (in the string, then OffsetTimeOriginal/OffsetTime, a maker note's
TimeZone with its DaylightSavings, EXIF's TimeZoneOffset); else the zone of the
GPS position (``zones.zone_at``: the wall time is read in that zone, a UTC ``GPSDateTime`` is
shown in it, daylight saving included); else the difference to a UTC GPS timestamp. Does not own:
reading tags (``exif``, ``xmp``), the zone index (``zones``) or the file-mtime fallback
(``read``, which has the file).

Entry point: ``taken_at(tags, position=None) -> Taken | None``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone

from mediapipe.metadata.zones import in_zone_at, offset_zone_name

__all__ = ["PRIORITY", "Taken", "parse_date", "taken_at"]

PRIORITY = ("SubSecDateTimeOriginal", "SubSecCreateDate", "DateTimeOriginal", "CreationDate",
            "CreateDate", "MediaCreateDate", "DateTimeCreated", "GPSDateTime")

_DATE = re.compile(
    r"^\s*(\d{4})[:\-](\d{2})[:\-](\d{2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.(\d+))?"
    r"\s*(Z|[+\-]\d{2}:?\d{2})?\s*$")
_OFFSET = re.compile(r"^\s*([+\-])(\d{2}):?(\d{2})\s*$")
_MAX_OFFSET = timedelta(hours=14)
_GPS_SLACK = timedelta(minutes=5)  # a GPS fix may lag the shutter by this much


@dataclasses.dataclass(frozen=True)
class Taken:
    """The moment a photo was taken: aware when ``offset`` is known, the tag it came from, and
    its zone as Immich names it (``timeZone``: an IANA name from the position, or ``UTC+2``
    for an offset the file names)."""

    when: datetime
    offset: str | None
    source: str
    zone: str | None = None


def format_offset(delta: timedelta) -> str:
    minutes = int(delta.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def parse_offset(text: object) -> timedelta | None:
    """``"+02:00"``/``"-0530"``/``"Z"`` to a timedelta; None when absent or impossible."""
    if not isinstance(text, str):
        return None
    if text.strip() == "Z":
        return timedelta(0)
    m = _OFFSET.match(text)
    if not m:
        return None
    delta = timedelta(hours=int(m[2]), minutes=int(m[3])) * (-1 if m[1] == "-" else 1)
    return delta if abs(delta) <= _MAX_OFFSET else None


def parse_date(text: object) -> tuple[datetime, timedelta | None] | None:
    """A date-time string (exif ``2023:06:01 14:30:15.12+02:00`` or ISO) to a naive local time
    and its offset when the string carries one; None when it does not parse or is impossible."""
    if not isinstance(text, str):
        return None
    m = _DATE.match(text)
    if not m:
        return None
    year, month, day, hour, minute = (int(m[i]) for i in range(1, 6))
    micro = int((m[7] or "0")[:6].ljust(6, "0"))
    try:
        when = datetime(year, month, day, hour, minute, int(m[6] or 0), micro)
    except ValueError:
        return None
    if year < 1800:
        return None
    return when, parse_offset(m[8]) if m[8] else None


def _subsec(date: object, subsec: object, offset: object) -> str | None:
    if not isinstance(date, str) or not date.strip():
        return None
    digits = str(subsec).strip() if subsec is not None else ""
    zone = offset.strip() if isinstance(offset, str) and parse_offset(offset) is not None else ""
    if not digits.isdigit() and not zone:
        return None
    return date.strip() + ("." + digits if digits.isdigit() else "") + zone


def composites(tags: Mapping[str, object]) -> dict[str, object]:
    """exiftool's SubSecDateTimeOriginal / SubSecCreateDate built from their parts."""
    out: dict[str, object] = {}
    original = _subsec(tags.get("DateTimeOriginal"), tags.get("SubSecTimeOriginal"),
                       tags.get("OffsetTimeOriginal"))
    created = _subsec(tags.get("CreateDate"), tags.get("SubSecTimeDigitized"),
                      tags.get("OffsetTimeDigitized"))
    if original:
        out["SubSecDateTimeOriginal"] = original
    if created:
        out["SubSecCreateDate"] = created
    return out


def _gps_offset(local: datetime, tags: Mapping[str, object]) -> timedelta | None:
    """Local wall time minus the UTC GPS time, when that is a plausible zone offset."""
    gps = parse_date(tags.get("GPSDateTime"))
    if gps is None:
        return None
    utc = gps[0] - (gps[1] or timedelta(0))
    diff = local - utc
    quarter = timedelta(minutes=15)
    rounded = quarter * round(diff / quarter)
    if abs(diff - rounded) > _GPS_SLACK or abs(rounded) > _MAX_OFFSET:
        return None
    return rounded


def _named_offset(tags: Mapping[str, object]) -> timedelta | None:
    """The offset a tag beside the date names: OffsetTimeOriginal, OffsetTime, a maker note's
    ``TimeZone`` (minutes with exiftool's ``-n``, or ``+01:00``; an hour more where its
    ``DaylightSavings`` is on, as exiftool-vendored adjusts it), EXIF's ``TimeZoneOffset``
    (hours)."""
    for key in ("OffsetTimeOriginal", "OffsetTime"):
        offset = parse_offset(tags.get(key))
        if offset is not None:
            return offset
    zone = tags.get("TimeZone")
    offset = parse_offset(zone) if isinstance(zone, str) else _minutes(zone)
    if offset is not None:
        if tags.get("DaylightSavings") in (1, "Yes", "On"):
            offset += timedelta(hours=1)
        return offset if abs(offset) <= _MAX_OFFSET else None
    hours = tags.get("TimeZoneOffset")
    hours = hours[0] if isinstance(hours, tuple) and hours else hours
    return _minutes(hours * 60) if isinstance(hours, int) and not isinstance(hours, bool) \
        else None


def _minutes(value: object) -> timedelta | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    delta = timedelta(minutes=round(value))
    return delta if abs(delta) <= _MAX_OFFSET else None


def taken_at(tags: Mapping[str, object],
             position: tuple[float | None, float | None] | None = None) -> Taken | None:
    """The first date tag in ``PRIORITY`` that parses, with its offset and zone when known;
    ``position`` (latitude, longitude) gives the zone when the file names no offset."""
    built = composites(tags)
    for name in PRIORITY:
        parsed = parse_date(built[name] if name in built else tags.get(name))
        if parsed is None:
            continue
        when, offset = parsed
        if name == "GPSDateTime":  # a UTC instant ("Z" names no local offset): shown in the
            utc = when - (offset or timedelta(0))  # position's zone where there is one
            placed = in_zone_at(utc, True, position)
            if placed is not None:
                return Taken(placed[0], format_offset(placed[1]), name, placed[2])
            return Taken(utc.replace(tzinfo=UTC), "+00:00", name, "UTC")
        if offset is None:
            offset = _named_offset(tags)
        if offset is None:
            placed = in_zone_at(when, False, position)
            if placed is not None:
                return Taken(placed[0], format_offset(placed[1]), name, placed[2])
            offset = _gps_offset(when, tags)
        if offset is None:
            return Taken(when, None, name)
        return Taken(when.replace(tzinfo=timezone(offset)), format_offset(offset), name,
                     offset_zone_name(offset))
    return None

"""Time zones: the IANA zone at a position, and how Immich names a zone.

Owns: ``zone_at(lat, lon)`` — the zone a GPS position lies in, offline (tzfpy's index, loaded
the first time a photo needs it: about 60 ms once, then under a microsecond a lookup);
``in_zone_at`` — a UTC instant or a wall time placed in that zone (daylight saving included);
and ``offset_zone_name`` — Immich's name for a fixed offset (``UTC``, ``UTC+2``, ``UTC-9:30``, as
exiftool-vendored writes ``timeZone``). Does not own: which date a photo has or when a zone is
asked for (``dates``).

Entry points: ``zone_at``, ``in_zone_at``, ``offset_zone_name``; ``load`` (the index now, for a
process about to fork its pool).
"""

from __future__ import annotations

import functools
import math
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["in_zone_at", "load", "offset_zone_name", "zone_at", "zone_info"]


def zone_at(lat: float | None, lon: float | None) -> str | None:
    """The IANA zone at (``lat``, ``lon``) (``Etc/GMT+11`` at sea), or None where there is no
    position (absent, Null Island, out of range) or the zone is unknown to this system."""
    if lat is None or lon is None or not (math.isfinite(lat) and math.isfinite(lon)):
        return None
    if (lat == 0 and lon == 0) or abs(lat) > 90 or abs(lon) > 180:
        return None
    from tzfpy import get_tz

    name = get_tz(lon, lat)
    return name if name and zone_info(name) is not None else None


def load() -> None:
    """tzfpy's index, loaded now rather than by the first photo with a position."""
    zone_at(51.5, 0.0)


@functools.lru_cache(maxsize=256)
def zone_info(name: str) -> ZoneInfo | None:
    """The ``ZoneInfo`` of an IANA name; None when this system's zone data lacks it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def offset_zone_name(offset: timedelta) -> str:
    """Immich's (exiftool-vendored's) name of a fixed offset: ``UTC``, ``UTC+2``, ``UTC+5:30``."""
    minutes = int(offset.total_seconds()) // 60
    if minutes == 0:
        return "UTC"
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def in_zone_at(when: datetime, utc: bool, position: tuple[float | None, float | None] | None,
               ) -> tuple[datetime, timedelta, str] | None:
    """``when`` (a UTC instant when ``utc``, else a naive wall time) in the zone at
    ``position``: the aware time shown there (a fixed-offset tzinfo), its offset, the zone's
    name; None without a position or a zone there. A wall time that a daylight-saving change
    skips or repeats takes the offset before the change (``fold=0``)."""
    zone = zone_at(*position) if position is not None else None
    info = zone_info(zone) if zone else None
    if info is None or zone is None:
        return None
    naive = when.replace(tzinfo=None)
    if utc:
        utc_when = naive - (when.utcoffset() or timedelta(0))
        aware = utc_when.replace(tzinfo=UTC).astimezone(info)
    else:
        aware = naive.replace(tzinfo=info)
    offset = aware.utcoffset()
    if offset is None:
        return None
    return aware.replace(tzinfo=timezone(offset)), offset, zone

"""Time zones: the IANA zone at a position, and how Immich names a zone.

Owns: ``zone_at(lat, lon)`` — the zone a GPS position lies in, offline (tzfpy's index, loaded
the first time a photo needs it: about 60 ms once, then under a microsecond a lookup); and
``offset_zone_name`` — Immich's name for a fixed offset (``UTC``, ``UTC+2``, ``UTC-9:30``, as
exiftool-vendored writes ``timeZone``). Does not own: which date a photo has or when a zone is
asked for (``dates``).

Entry points: ``zone_at``, ``offset_zone_name``.
"""

from __future__ import annotations

import functools
import math
from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["offset_zone_name", "zone_at", "zone_info"]


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

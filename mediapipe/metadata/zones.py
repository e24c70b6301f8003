"""Time zones: the IANA zone at a position, and how Immich names a zone.

Owns: ``zone_at(lat, lon)`` — the zone a GPS position lies in, offline, as tzfpy answers it;
most positions from tzfpy's own pre-index (the map tiles, zoom 5 to 10, that lie wholly in one
zone: tzfpy answers from the same tiles), kept as a table in a cache folder (``mapped``:
systemd's or the user's; built once in about a second, then mapped in a few milliseconds;
where none can be kept, tzfpy answers all), the rest (near a
border, past the map's 85th parallels) by tzfpy itself, whose index costs about 90 ms to build
in each process that needs it;
``in_zone_at`` — a UTC instant or a wall time placed in that zone (daylight saving included);
and ``offset_zone_name`` — Immich's name for a fixed offset (``UTC``, ``UTC+2``, ``UTC-9:30``, as
exiftool-vendored writes ``timeZone``). Does not own: which date a photo has or when a zone is
asked for (``dates``).

Entry points: ``zone_at``, ``in_zone_at``, ``offset_zone_name``; ``load`` (the table now, for a
process about to fork its pool).
"""

from __future__ import annotations

import functools
import importlib.util
import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mediapipe.metadata import mapped

__all__ = ["in_zone_at", "load", "offset_zone_name", "zone_at", "zone_info"]


def zone_at(lat: float | None, lon: float | None) -> str | None:
    """The IANA zone at (``lat``, ``lon``) (``Etc/GMT+11`` at sea), or None where there is no
    position (absent, Null Island, out of range) or the zone is unknown to this system."""
    if lat is None or lon is None or not (math.isfinite(lat) and math.isfinite(lon)):
        return None
    if (lat == 0 and lon == 0) or abs(lat) > 90 or abs(lon) > 180:
        return None
    tiles = _tiles()
    name = tiles.zone(lat, lon) if tiles is not None else None
    if name is None:
        from tzfpy import get_tz

        name = get_tz(lon, lat)
    return name if name and zone_info(name) is not None else None


def load() -> None:
    """The table of tiles (tzfpy's index where it cannot be kept), loaded now rather than by
    the first photo with a position."""
    if _tiles() is None:
        zone_at(51.5, 0.0)


_TOP = 10  # tzfpy's finest pre-index zoom (its coarsest: 5)
_TILES_VERSION = 1  # bump when the table's arrays or their meaning change
_MERCATOR_LAT = 85.0511  # the map's edge: a tile covers nothing past it


class _Tiles:
    """tzfpy's pre-index: map tiles (Web Mercator, ``(zoom, x, y)`` in one sorted key) and
    the zone each lies in."""

    def __init__(self, arrays: Mapping[str, Any]) -> None:
        self._keys, self._zones = arrays["keys"], arrays["zones"]
        self._names = bytes(arrays["names"]).decode().split("\0")
        self._zooms = tuple(int(z) for z in arrays["zooms"])
        if not (len(self._keys) == len(self._zones) and self._zooms
                and max(self._zooms) <= _TOP):
            raise ValueError("a table of tiles that does not hold together")

    def zone(self, lat: float, lon: float) -> str | None:
        """The zone of the tiles the position lies in; None off every tile, in tiles of two
        zones, or on a tile's edge (where a rounding could pick the neighbour): tzfpy
        decides."""
        import numpy as np

        if abs(lat) >= _MERCATOR_LAT:
            return None
        x, y = _tile_at(lat, lon, _TOP)
        xi, yi = math.floor(x), math.floor(y)
        if min(x - xi, xi + 1 - x, y - yi, yi + 1 - y) < 1e-9 or not 0 <= xi < 1 << _TOP:
            return None
        keys = [_key(z, xi >> (_TOP - z), yi >> (_TOP - z)) for z in self._zooms]
        found = {int(self._zones[i]) for key, i in
                 zip(keys, np.searchsorted(self._keys, keys).tolist(), strict=True)
                 if i < len(self._keys) and int(self._keys[i]) == key}
        # Tiles of two zones (where zones overlap: Urumqi's and Shanghai's): tzfpy decides.
        return self._names[found.pop()] if len(found) == 1 else None


def _tile_at(lat: float, lon: float, zoom: int) -> tuple[float, float]:
    """The position in tile units at ``zoom`` (slippy-map x east, y south)."""
    n = 1 << zoom
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2
    return (lon + 180) / 360 * n, y * n


def _key(zoom: int, x: int, y: int) -> int:
    return (zoom << 40) | (x << 20) | y


@functools.cache
def _tiles() -> _Tiles | None:  # one per process
    """The table, from the cache folder (``mapped``), else built from tzfpy's pre-index and
    kept there; None where tzfpy cannot be found, does not give its pre-index, or no table can
    be kept (tzfpy answers all)."""
    spec = importlib.util.find_spec("tzfpy")
    if spec is None or spec.origin is None:
        return None
    package = Path(spec.origin).parent
    data = next(iter(sorted(package.glob("tzfpy*.so"))), Path(spec.origin))
    path = mapped.folder("zones", data, _TILES_VERSION)
    # Not kept yet: built only where it can be kept (built in every process, it would cost a
    # second where tzfpy's own index costs 90 ms) and tzfpy gives its tiles.
    if path is None or not (path.is_dir() or (mapped.keepable(path) and _shows_its_tiles())):
        return None
    return mapped.cached(path, _built, _Tiles)


def _shows_its_tiles() -> bool:
    """Whether this tzfpy gives its pre-index (2.0 and later; 1.x answers all itself)."""
    import tzfpy

    return hasattr(tzfpy, "get_tz_index_geojson")


def _built() -> dict[str, Any]:
    """Every zone's pre-index tiles (tzfpy: squares in degrees, as GeoJSON) as keys."""
    import numpy as np
    import tzfpy

    names = sorted(tzfpy.timezonenames())
    keys: list[int] = []
    zones: list[int] = []
    for i, name in enumerate(names):
        try:
            found = json.loads(tzfpy.get_tz_index_geojson(name))
        except ValueError:  # a zone without tiles
            continue
        for feature in found["features"]:
            for polygon in feature["geometry"]["coordinates"]:
                keys.append(_square(polygon[0]))
                zones.append(i)
    all_keys = np.array(keys, dtype=np.int64)
    order = np.argsort(all_keys, kind="stable")
    sorted_keys, sorted_zones = all_keys[order], np.array(zones, dtype=np.int16)[order]
    # A tile two zones claim (where they overlap: 156 in tzfpy 2.1's data) is left to tzfpy.
    twice = np.zeros(len(sorted_keys), dtype=bool)
    same = sorted_keys[1:] == sorted_keys[:-1]
    twice[1:] |= same
    twice[:-1] |= same
    zooms = sorted({int(k) >> 40 for k in sorted_keys.tolist()}, reverse=True)
    return {"keys": sorted_keys[~twice], "zones": sorted_zones[~twice],
            "names": np.frombuffer("\0".join(names).encode(), np.uint8),
            "zooms": np.array(zooms, dtype=np.int8)}


def _square(ring: list[list[float]]) -> int:
    """The key of the tile a GeoJSON ring outlines (its west and north edges)."""
    west = min(p[0] for p in ring)
    east = max(p[0] for p in ring)
    north = max(p[1] for p in ring)
    zoom = round(math.log2(360 / (east - west)))
    x, y = _tile_at(north, west, zoom)
    if not (0 <= zoom <= _TOP and abs(x - round(x)) < 1e-6 and abs(y - round(y)) < 1e-6):
        raise ValueError(f"a pre-index tile that is not a map tile: {ring[:2]}")
    return _key(zoom, round(x), round(y))


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

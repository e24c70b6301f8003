"""The date rules after the file's own tags: an ordered list, the first that finds a date wins.

Owns: ``DATE_RULES`` (the rules and their default order), ``ReadOptions`` (what the metadata
stage is told by the settings: ``metadata.dateRules``, ``reverseGeocoding.enabled``,
``metadata.localTimeZone``), and ``complete``: what a file's tags left open, filled in.

1. The file's own date (a tag: EXIF, XMP, IPTC, QuickTime) always wins; no rule below runs.
2. Then each rule of ``ReadOptions.date_rules`` in its order (a rule left out is off):
   ``takeout-json`` (Google Takeout's ``photoTakenTime``: a UTC instant shown in the zone of
   the position, the file's own or the JSON's ``geoData``), ``filename`` (``filenames``: a
   wall time read in that zone, or a day only at local midnight, ``date_only``), and
   ``file_mtime`` (the file system's time, UTC). ``taken_at_source`` names the winner;
   ``"none"`` where every rule is off and no tag has a date.

LibrePhotos' ``api/date_time_extractor.py`` runs such a user-ordered list too; PhotoPrism tries
Takeout JSON and then the name (``internal/meta/json_gphotos.go``,
``pkg/txt/datetime_filepath.go``). The Takeout JSON of a file with no date also gives the
position and the description the file lacks; a file with a date of its own is never asked about
a JSON beside it (a photo with a date pays nothing for the rules). The place names
(``places``) come from the position found last.
Does not own: tag dates (``dates``), the name patterns (``filenames``), the JSON (``takeout``).

Entry points: ``complete``, ``ReadOptions``, ``DATE_RULES``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from mediapipe.config import Config
from mediapipe.metadata.dates import Taken, format_offset
from mediapipe.metadata.filenames import date_in_name
from mediapipe.metadata.places import Place, place_at
from mediapipe.metadata.takeout import Takeout, find_json, read_json
from mediapipe.metadata.zones import in_zone_at

__all__ = ["DATE_RULES", "DEFAULT_OPTIONS", "Completed", "ReadOptions", "complete"]

DATE_RULES = ("takeout-json", "filename", "file_mtime")
Position = tuple[float | None, float | None]


@dataclasses.dataclass(frozen=True)
class ReadOptions:
    """What the settings tell the metadata stage."""

    date_rules: tuple[str, ...] = DATE_RULES
    places: bool = True
    # the IANA zone of a camera-local QuickTime date where the video has no position
    local_zone: str | None = None

    @classmethod
    def of(cls, cfg: Config) -> ReadOptions:
        """The options ``cfg``'s settings ask for."""
        return cls(tuple(cfg.metadata.date_rules), cfg.reverse_geocoding.enabled,
                   cfg.metadata.local_time_zone or None)


DEFAULT_OPTIONS = ReadOptions()


@dataclasses.dataclass(frozen=True)
class Completed:
    """A file's date, position, description and place once every rule has had its say."""

    taken: Taken | None
    date_only: bool = False
    latitude: float | None = None
    longitude: float | None = None
    altitude: float | None = None
    description: str | None = None
    place: Place | None = None
    warnings: tuple[str, ...] = ()


def complete(path: Path, mtime: float, dated: Callable[[Position], Taken | None],
             where: tuple[float | None, float | None, float | None], description: str | None,
             options: ReadOptions) -> Completed:
    """Fill in what the tags left open. ``dated(position)`` is the file's own date (its tags)
    read with a position's zone; ``where`` its (latitude, longitude, altitude)."""
    lat, lon, alt = where
    taken = dated((lat, lon))
    warnings: list[str] = []
    date_only = False
    if taken is None:  # only a file with no date of its own looks further (the hot path)
        takeout = _takeout(path, warnings) if "takeout-json" in options.date_rules else None
        if takeout is not None:
            if lat is None and takeout.latitude is not None:
                lat, lon, alt = takeout.latitude, takeout.longitude, takeout.altitude
            description = description or takeout.description
        taken, date_only = _by_rules(path, mtime, takeout, (lat, lon), options.date_rules)
    place = place_at(lat, lon) if options.places else None
    return Completed(taken, date_only, lat, lon, alt, description, place, tuple(warnings))


def _takeout(path: Path, warnings: list[str]) -> Takeout | None:
    found = find_json(path)
    if found is None:
        return None
    try:
        return read_json(found)
    except (OSError, ValueError) as exc:
        warnings.append(f"Takeout sidecar {found.name} not read: {exc}")
        return None


def _by_rules(path: Path, mtime: float, takeout: Takeout | None, position: Position,
              rules: tuple[str, ...]) -> tuple[Taken | None, bool]:
    for rule in rules:
        if rule == "takeout-json" and takeout is not None and takeout.taken is not None:
            return _placed(takeout.taken, True, position, rule), False
        if rule == "filename":
            found = date_in_name(path.name)
            if found is not None:
                return _placed(found.when, False, position, rule), found.date_only
        if rule == "file_mtime":
            return Taken(datetime.fromtimestamp(mtime, UTC), "+00:00", rule), False
    return None, False


def _placed(when: datetime, utc: bool, position: Position, rule: str) -> Taken:
    """A UTC instant or a wall time shown in the position's zone; without one, the instant in
    UTC and the wall time as it is (naive: its offset unknown)."""
    placed = in_zone_at(when, utc, position)
    if placed is not None:
        return Taken(placed[0], format_offset(placed[1]), rule, placed[2])
    if utc:
        return Taken(when.astimezone(UTC), "+00:00", rule, "UTC")
    return Taken(when, None, rule)

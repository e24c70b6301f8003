"""A photo's time zone: the offset the file names wins; where it names none, the zone of its
GPS position (offline, as Immich's exiftool-vendored does with geo-tz), daylight saving
included; the zone's name travels beside the offset (Immich's ``timeZone``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fixtures import images
from mediapipe.metadata.read import read_metadata
from mediapipe.metadata.zones import offset_zone_name, zone_at

LOS_ANGELES = (37.7749, -122.4194)
TOKYO = (35.6762, 139.6503)
BERLIN = (52.5200, 13.4050)
SYDNEY = (-33.8688, 151.2093)


# (id, position, GPS UTC time) -> local time, offset, zone
GPS_ONLY = [
    ("los-angeles-winter", LOS_ANGELES, datetime(2024, 1, 15, 12, 30),
     datetime(2024, 1, 15, 4, 30), "-08:00", "America/Los_Angeles"),
    ("tokyo-no-dst", TOKYO, datetime(2024, 7, 1, 0, 0),
     datetime(2024, 7, 1, 9, 0), "+09:00", "Asia/Tokyo"),
    ("berlin-before-the-spring-change", BERLIN, datetime(2024, 3, 31, 0, 30),
     datetime(2024, 3, 31, 1, 30), "+01:00", "Europe/Berlin"),
    ("berlin-after-the-spring-change", BERLIN, datetime(2024, 3, 31, 1, 30),
     datetime(2024, 3, 31, 3, 30), "+02:00", "Europe/Berlin"),
]


@pytest.mark.parametrize(("position", "utc", "local", "offset", "zone"),
                         [case[1:] for case in GPS_ONLY], ids=[case[0] for case in GPS_ONLY])
def test_a_gps_only_date_is_shown_in_the_zone_of_its_position(
        position: tuple[float, float], utc: datetime, local: datetime, offset: str, zone: str,
        tmp_path: Path) -> None:
    photo = images.jpeg(tmp_path / "gps.jpg", (64, 48),
                        gps=images.Gps(*position, timestamp=utc))
    info = read_metadata(photo)
    assert info.taken_at_source == "GPSDateTime"
    assert info.taken_at is not None and info.taken_at.replace(tzinfo=None) == local
    assert (info.offset, info.time_zone) == (offset, zone)
    assert info.taken_at.utcoffset() is not None
    assert info.taken_at.replace(tzinfo=None) - info.taken_at.utcoffset() == utc  # same instant


def test_photos_an_hour_apart_across_a_dst_change_stay_an_hour_apart(tmp_path: Path) -> None:
    before, after = (read_metadata(images.jpeg(
        tmp_path / f"{n}.jpg", (64, 48), gps=images.Gps(*BERLIN, timestamp=utc)))
        for n, utc in (("a", datetime(2024, 3, 31, 0, 30)), ("b", datetime(2024, 3, 31, 1, 30))))
    assert before.taken_at is not None and after.taken_at is not None
    assert after.taken_at - before.taken_at == timedelta(hours=1)
    assert (after.taken_at.replace(tzinfo=None) - before.taken_at.replace(tzinfo=None)
            == timedelta(hours=2))  # the wall clock jumped


def test_a_wall_time_without_offset_is_read_in_the_zone_of_its_position(tmp_path: Path) -> None:
    photo = images.jpeg(tmp_path / "syd.jpg", (64, 48), taken=datetime(2024, 1, 10, 18, 0),
                        gps=images.Gps(*SYDNEY))
    info = read_metadata(photo)
    assert info.taken_at is not None and info.taken_at.replace(tzinfo=None) == \
        datetime(2024, 1, 10, 18, 0)
    assert (info.offset, info.time_zone) == ("+11:00", "Australia/Sydney")  # summer time


def test_the_offset_the_file_names_wins_over_the_position(tmp_path: Path) -> None:
    photo = images.jpeg(tmp_path / "named.jpg", (64, 48), taken=datetime(2024, 1, 10, 18, 0),
                        offset="+02:00", gps=images.Gps(*LOS_ANGELES))
    info = read_metadata(photo)
    assert (info.offset, info.time_zone) == ("+02:00", "UTC+2")


def test_no_position_no_zone_name_for_a_wall_time(tmp_path: Path) -> None:
    info = read_metadata(images.jpeg(tmp_path / "plain.jpg", (64, 48),
                                     taken=datetime(2024, 1, 10, 18, 0)))
    assert (info.offset, info.time_zone) == (None, None)


def test_the_zone_travels_in_the_json_form(tmp_path: Path) -> None:
    info = read_metadata(images.jpeg(tmp_path / "gps.jpg", (64, 48), gps=images.Gps(
        *LOS_ANGELES, timestamp=datetime(2024, 7, 4, 19, 0))))
    assert info.to_dict()["time_zone"] == "America/Los_Angeles"
    assert info.to_dict()["taken_at"] == "2024-07-04T12:00:00-07:00"


@pytest.mark.parametrize(("position", "zone"), [
    ((0.0, 0.0), None), ((None, 10.0), None), ((91.0, 0.0), None), ((float("nan"), 1.0), None),
    ((0.0, -160.0), "Etc/GMT+11"), (TOKYO, "Asia/Tokyo")],
    ids=["null-island", "half-missing", "out-of-range", "nan", "open-sea", "tokyo"])
def test_zone_at_a_position(position: tuple[float | None, float | None], zone: str | None) -> None:
    assert zone_at(*position) == zone


@pytest.mark.parametrize(("minutes", "name"), [(0, "UTC"), (120, "UTC+2"), (-570, "UTC-9:30"),
                                               (330, "UTC+5:30")])
def test_an_offset_is_named_as_immich_names_it(minutes: int, name: str) -> None:
    assert offset_zone_name(timedelta(minutes=minutes)) == name


@pytest.mark.parametrize(("tags", "offset", "zone"), [
    ({"TimeZone": -300, "DaylightSavings": 0}, "-05:00", "UTC-5"),  # Nikon, exiftool -n
    ({"TimeZone": 60, "DaylightSavings": 1}, "+02:00", "UTC+2"),  # one hour more in summer
    ({"TimeZone": "+05:30"}, "+05:30", "UTC+5:30"),
    ({"TimeZoneOffset": (9,)}, "+09:00", "UTC+9"),  # EXIF 0x882a, hours
], ids=["nikon-minutes", "daylight-savings", "text", "exif-hours"])
def test_a_maker_notes_time_zone_names_the_offset(tags: dict[str, object], offset: str,
                                                  zone: str) -> None:
    from mediapipe.metadata.dates import taken_at

    taken = taken_at({"DateTimeOriginal": "2016:09:22 17:10:29", **tags}, LOS_ANGELES)
    assert taken is not None and (taken.offset, taken.zone) == (offset, zone)


@pytest.mark.samples
@pytest.mark.parametrize(("name", "zone", "offset"), [
    ("gps/singlemarkersoriginal.jpg", "America/Los_Angeles", "-08:00"),  # iPhone 11, November
    ("gps/leuvenA.jpg", "Europe/Brussels", "+02:00"),  # iPhone 6, April: summer time
], ids=["iphone-11-california", "iphone-6-leuven"])
def test_real_phone_photos_without_an_offset_take_the_zone_of_their_position(
        samples: Path, name: str, zone: str, offset: str) -> None:
    info = read_metadata(samples / "images" / name, sidecar=False)
    assert (info.time_zone, info.offset) == (zone, offset)


# tzfpy's pre-index kept as a table (``zones._tiles``): the same answers, without tzfpy's
# index in a process that only meets positions the table covers.

GENEVA, BASEL, STRASBOURG = (46.2044, 6.1432), (47.5596, 7.5886), (48.5734, 7.7521)
HOTAN = (36.46667, 81.96667)  # where Urumqi's and Shanghai's zones overlap


def _tzfpy_zone(lat: float, lon: float) -> str | None:
    from tzfpy import get_tz

    from mediapipe.metadata.zones import zone_info

    name = get_tz(lon, lat)
    return name if name and zone_info(name) is not None else None


def test_the_table_answers_as_tzfpy_does_at_every_named_place() -> None:
    """Every GeoNames place of 1,000 people or more: where the table answers, tzfpy answers
    the same; and it answers most of them (the rest lie near a border)."""
    import gzip
    import json

    from tzfpy import get_tz

    from mediapipe.metadata import places, zones

    tiles = zones._tiles()
    assert tiles is not None
    with gzip.open(places._data_dir() / "geocode.gz") as fh:
        rows = json.loads(fh.read())
    answered = 0
    for row in rows:
        lat, lon = float(row["latitude"]), float(row["longitude"])
        found = tiles.zone(lat, lon)
        if found is not None:
            answered += 1
            assert found == get_tz(lon, lat), (lat, lon)
    assert answered > 0.75 * len(rows)


@settings(max_examples=3000, deadline=None)
@given(st.floats(-90, 90), st.floats(-180, 180), st.sampled_from([None, 5, 10]))
def test_zone_at_is_tzfpys_answer_anywhere(lat: float, lon: float, edge: int | None) -> None:
    """Any position, and positions on tile edges (the table leaves those to tzfpy)."""
    import math

    if edge is not None:  # snapped to the west and north edges of its tile at that zoom
        n = 1 << edge
        lon = math.floor((lon + 180) / 360 * n) * 360 / n - 180
        y = math.floor((1 - math.asinh(math.tan(math.radians(max(-85, min(85, lat)))))
                        / math.pi) / 2 * n)
        lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / n))))
    expected = _tzfpy_zone(lat, lon) if (lat, lon) != (0, 0) else None  # Null Island: none
    assert zone_at(lat, lon) == expected


@pytest.mark.parametrize("position", [GENEVA, BASEL, STRASBOURG, HOTAN, (89.9, 0.0)],
                         ids=["geneva", "basel", "strasbourg", "overlapping-zones", "pole"])
def test_near_a_border_or_off_the_map_tzfpy_answers(position: tuple[float, float]) -> None:
    from mediapipe.metadata import zones

    tiles = zones._tiles()
    assert tiles is not None and tiles.zone(*position) is None
    assert zone_at(*position) == _tzfpy_zone(*position) is not None


_ZONE = """
import sys
from mediapipe.metadata import zones
zones.load()
print(zones.zone_at(40.4168, -3.7038), zones.zone_at(35.6762, 139.6503), "tzfpy" in sys.modules)
"""


def test_the_table_is_built_once_then_a_process_needs_no_tzfpy_index(tmp_path: Path) -> None:
    """The first process builds the table from tzfpy's pre-index (tzfpy's index loaded) and
    keeps it in ``$XDG_CACHE_HOME/mediapipe``; the next maps it, and answers Madrid and Tokyo
    without loading tzfpy at all (its index: about 90 ms of every start)."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "CACHE_DIRECTORY"}
    env["XDG_CACHE_HOME"] = str(tmp_path)
    runs = [subprocess.run([sys.executable, "-c", _ZONE], capture_output=True, text=True,
                           env=env, check=True, timeout=120).stdout.split() for _ in range(2)]
    assert runs == [["Europe/Madrid", "Asia/Tokyo", "True"],
                    ["Europe/Madrid", "Asia/Tokyo", "False"]]
    [table] = (tmp_path / "mediapipe").glob("zones-*")
    assert sorted(p.name for p in table.iterdir()) == \
        ["keys.npy", "names.npy", "zones.npy", "zooms.npy"]


def test_a_service_keeps_the_table_in_the_cache_folder_systemd_gives_it(tmp_path: Path) -> None:
    """A unit with ``CacheDirectory=`` (the shipped ones) is told the folder in
    ``$CACHE_DIRECTORY``: the table goes there, whatever ``$XDG_CACHE_HOME`` says."""
    import os
    import subprocess
    import sys

    given, xdg = tmp_path / "var-cache-mediapipe", tmp_path / "xdg"
    given.mkdir()
    env = {**os.environ, "CACHE_DIRECTORY": str(given), "XDG_CACHE_HOME": str(xdg)}
    runs = [subprocess.run([sys.executable, "-c", _ZONE], capture_output=True, text=True,
                           env=env, check=True, timeout=120).stdout.split() for _ in range(2)]
    assert runs[1] == ["Europe/Madrid", "Asia/Tokyo", "False"]
    assert [p.name.split("-")[0] for p in given.iterdir()] == ["zones"]
    assert not xdg.exists()


def test_where_no_table_can_be_kept_tzfpy_answers_and_none_is_built(tmp_path: Path) -> None:
    """A read-only home (a hardened service without a cache folder): building the table in
    every process would cost a second where tzfpy's index costs 90 ms, so tzfpy answers."""
    import os
    import subprocess
    import sys

    not_a_folder = tmp_path / "cache"
    not_a_folder.write_text("a file where the cache folder would be")
    env = {k: v for k, v in os.environ.items() if k != "CACHE_DIRECTORY"}
    env["XDG_CACHE_HOME"] = str(not_a_folder)
    ran = subprocess.run([sys.executable, "-c", _ZONE], capture_output=True, text=True,
                         env=env, check=True, timeout=120).stdout.split()
    assert ran == ["Europe/Madrid", "Asia/Tokyo", "True"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache"]


def test_a_tzfpy_that_does_not_give_its_pre_index_answers_alone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """tzfpy 1.x (the floor) has no ``get_tz_index_geojson``: no table is built, and tzfpy
    answers every position (``make floors`` ingests with it)."""
    import tzfpy

    from mediapipe.metadata import zones

    monkeypatch.delattr(tzfpy, "get_tz_index_geojson")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("CACHE_DIRECTORY", raising=False)
    zones._tiles.cache_clear()
    try:
        assert zones._tiles() is None
        assert zone_at(*TOKYO) == "Asia/Tokyo"
        assert not list(tmp_path.rglob("zones-*"))
    finally:
        zones._tiles.cache_clear()

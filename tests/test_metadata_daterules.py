"""Dates for files with no date tag, as an ordered rule list whose winner ``taken_at_source``
names: Google Takeout JSON, then the file name, then the file system's time. The file's own
date always wins; each rule can be turned off (``metadata.dateRules``).

Where each pattern comes from is named beside it: PhotoPrism (``pkg/txt/datetime_filepath.go``
and its tests, ``internal/meta/json_gphotos.go``), LibrePhotos (``api/date_time_extractor.py``),
immich-go (its Google Photos adapter and file-name date guessing), the Takeout users' reports in
Immich issues 30319, 455, 19636, 3817 and 8661."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fixtures import images
from mediapipe.metadata.daterules import DATE_RULES, ReadOptions
from mediapipe.metadata.filenames import date_in_name
from mediapipe.metadata.read import read_metadata
from mediapipe.metadata.takeout import json_names
from tests.support.cli import Ran, mediapipe

PROJECT = Path(__file__).resolve().parents[1]
PARIS = (48.8584, 2.2945)
MTIME = datetime(2024, 9, 1, 8, 0, tzinfo=UTC).timestamp()  # "the day it was unpacked"

# (id: where it comes from, file name) -> local wall time, date only
NAMES = [
    ("android-camera-IMG", "IMG_20190412_123456.jpg", datetime(2019, 4, 12, 12, 34, 56), False),
    ("android-camera-VID", "VID_20190412_123456.mp4", datetime(2019, 4, 12, 12, 34, 56), False),
    ("pixel-PXL-milliseconds", "PXL_20230105_101112345.jpg",
     datetime(2023, 1, 5, 10, 11, 12, 345000), False),
    ("pixel-PXL-night-sight", "PXL_20230105_101112345.NIGHT.jpg",
     datetime(2023, 1, 5, 10, 11, 12, 345000), False),
    ("samsung-bare", "20190412_123456.jpg", datetime(2019, 4, 12, 12, 34, 56), False),
    ("samsung-burst", "20190412_123456_001.jpg", datetime(2019, 4, 12, 12, 34, 56), False),
    ("android-screenshot-separated", "Screenshot_2019-04-12-12-34-56.png",
     datetime(2019, 4, 12, 12, 34, 56), False),
    ("android-screenshot-compact", "Screenshot_20190412-123456.png",
     datetime(2019, 4, 12, 12, 34, 56), False),
    ("dropbox-camera-uploads", "2019-04-12 12.34.56.jpg", datetime(2019, 4, 12, 12, 34, 56),
     False),
    ("signal-messenger", "signal-2019-04-12-123456.jpg", datetime(2019, 4, 12, 12, 34, 56),
     False),
    ("whatsapp-day-only", "IMG-20190412-WA0001.jpg", datetime(2019, 4, 12), True),
    ("whatsapp-video-day-only", "VID-20190412-WA0003.mp4", datetime(2019, 4, 12), True),
    ("iso-day-only", "2019-04-12.jpg", datetime(2019, 4, 12), True),
    ("scanned-album-day-only", "holiday_1998_07_21_beach.jpg", datetime(1998, 7, 21), True),
]
# (id, name): no plausible date, never taken
NOT_DATES = [
    ("camera-counter", "IMG_1234.jpg"),
    ("dsc-counter", "DSC_0042.JPG"),
    ("month-13", "IMG_20191301_123456.jpg"),
    ("day-32", "IMG-20190432-WA0001.jpg"),
    ("hour-25", "IMG_20190412_253456.jpg"),
    ("unix-milliseconds", "1555072496123.jpg"),
    ("too-many-digits", "IMG_201904120_123456.jpg"),
    ("year-1850", "1850-04-12.jpg"),
    ("uuid-name", "7f3e2a10-8c1d-4b7e-9a55-0e6d1f2b3c4d.jpg"),
]


@pytest.mark.parametrize(("name", "when", "date_only"), [c[1:] for c in NAMES],
                         ids=[c[0] for c in NAMES])
def test_a_date_in_a_file_name(name: str, when: datetime, date_only: bool) -> None:
    found = date_in_name(name)
    assert found is not None
    assert (found.when, found.date_only) == (when, date_only)


@pytest.mark.parametrize("name", [c[1] for c in NOT_DATES], ids=[c[0] for c in NOT_DATES])
def test_a_number_that_is_no_plausible_date_is_never_taken(name: str) -> None:
    assert date_in_name(name) is None


# (id, photo name) -> the JSON names Takeout gives it, first tried first
TAKEOUT_NAMES = [
    ("plain", "IMG_1234.jpg",
     ["IMG_1234.jpg.supplemental-metadata.json", "IMG_1234.jpg.json", "IMG_1234.json"]),
    ("duplicate-counter-moves-behind", "IMG_1234(1).jpg",
     ["IMG_1234.jpg.supplemental-metadata(1).json", "IMG_1234.jpg(1).json", "IMG_1234(1).json"]),
    ("edited-copy-shares-the-original", "IMG_1234-edited.jpg",
     ["IMG_1234-edited.jpg.supplemental-metadata.json", "IMG_1234-edited.jpg.json",
      "IMG_1234-edited.json", "IMG_1234.jpg.supplemental-metadata.json", "IMG_1234.jpg.json",
      "IMG_1234.json"]),
    ("supplemental-cut-at-46", "IMG_20200920_131207_123.jpg",
     ["IMG_20200920_131207_123.jpg.supplemental-metad.json",
      "IMG_20200920_131207_123.jpg.json", "IMG_20200920_131207_123.json"]),
    # every form cut to the same 46 characters: one name
    ("long-name-cut-at-46", "Screenshot_20200920-131207_Google Maps Navigation.jpg",
     ["Screenshot_20200920-131207_Google Maps Navigat.json"]),
]


@pytest.mark.parametrize(("name", "expected"), [c[1:] for c in TAKEOUT_NAMES],
                         ids=[c[0] for c in TAKEOUT_NAMES])
def test_the_names_takeout_gives_a_photos_json(name: str, expected: list[str]) -> None:
    assert json_names(name) == expected
    assert all(len(n.removesuffix(".json").removesuffix("(1)")) <= 46 for n in expected)


def _takeout(folder: Path, photo: str, json_name: str, **fields: object) -> Path:
    """A photo with no date tag, unpacked today, and its Takeout JSON (Google's shape)."""
    path = images.jpeg(folder / photo, (64, 48))
    os.utime(path, (MTIME, MTIME))
    data = {"title": photo, "description": "", "imageViews": "3",
            "creationTime": {"timestamp": "1700000000", "formatted": "Nov 14, 2023"},
            "photoTakenTime": {"timestamp": "1555072496",
                               "formatted": "Apr 12, 2019, 12:34:56 PM UTC"},
            "geoData": {"latitude": PARIS[0], "longitude": PARIS[1], "altitude": 35.0,
                        "latitudeSpan": 0.0, "longitudeSpan": 0.0},
            "url": "https://photos.google.com/photo/x", **fields}
    (folder / json_name).write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(("photo", "json_name"), [
    ("IMG_1234.jpg", "IMG_1234.jpg.supplemental-metadata.json"),
    ("IMG_1234.jpg", "IMG_1234.jpg.json"),
    ("IMG_1234.jpg", "IMG_1234.json"),
    ("IMG_1234(1).jpg", "IMG_1234.jpg(1).json"),
    ("IMG_1234-edited.jpg", "IMG_1234.jpg.supplemental-metadata.json"),
    ("Screenshot_20200920-131207_Google Maps Navigation.jpg",
     "Screenshot_20200920-131207_Google Maps Navigat.json"),
], ids=["supplemental-metadata", "classic", "extension-dropped", "duplicate", "edited",
        "cut-at-46"])
def test_a_takeout_sidecar_gives_date_zone_position_and_description(
        tmp_path: Path, photo: str, json_name: str) -> None:
    path = _takeout(tmp_path, photo, json_name, description="Tour Eiffel")
    info = read_metadata(path)
    assert info.taken_at_source == "takeout-json"
    # 1555072496 is 2019-04-12 12:34:56 UTC: shown in Paris' zone, as a GPS date is
    assert info.taken_at is not None and info.taken_at == datetime(2019, 4, 12, 12, 34, 56,
                                                                   tzinfo=UTC)
    assert info.taken_at.isoformat() == "2019-04-12T14:34:56+02:00"
    assert (info.offset, info.time_zone) == ("+02:00", "Europe/Paris")
    assert (info.latitude, info.longitude, info.altitude) == (*PARIS, 35.0)
    assert (info.city, info.country) == ("Paris", "France")
    assert info.description == "Tour Eiffel"


def test_a_takeout_date_with_no_position_is_shown_in_utc(tmp_path: Path) -> None:
    path = _takeout(tmp_path, "IMG_1.jpg", "IMG_1.jpg.json",
                    geoData={"latitude": 0.0, "longitude": 0.0, "altitude": 0.0})
    info = read_metadata(path)
    assert info.taken_at == datetime(2019, 4, 12, 12, 34, 56, tzinfo=UTC)
    assert (info.offset, info.time_zone, info.latitude) == ("+00:00", "UTC", None)


def test_the_files_own_date_always_wins(tmp_path: Path) -> None:
    path = images.jpeg(tmp_path / "IMG_20190412_123456.jpg", (64, 48),
                       taken=datetime(2021, 6, 1, 9, 0), offset="+02:00")
    (tmp_path / "IMG_20190412_123456.jpg.json").write_text(
        json.dumps({"photoTakenTime": {"timestamp": "1555072496"}}))
    info = read_metadata(path)
    assert info.taken_at_source == "SubSecDateTimeOriginal"  # with its offset, as exiftool
    assert info.taken_at is not None and info.taken_at.isoformat() == "2021-06-01T09:00:00+02:00"


def test_a_photo_with_its_own_date_takes_nothing_from_a_takeout_json(tmp_path: Path) -> None:
    """The hot path: a file with a date is never asked about a JSON beside it."""
    path = images.jpeg(tmp_path / "IMG_9.jpg", (64, 48), taken=datetime(2019, 7, 1, 10, 0))
    (tmp_path / "IMG_9.jpg.json").write_text(json.dumps(
        {"photoTakenTime": {"timestamp": "1"}, "description": "from Google",
         "geoData": {"latitude": PARIS[0], "longitude": PARIS[1]}}))
    info = read_metadata(path)
    assert info.taken_at_source == "DateTimeOriginal"
    assert (info.latitude, info.description, info.city) == (None, None, None)


def test_a_file_name_date_is_a_wall_time_and_a_day_only_is_marked(tmp_path: Path) -> None:
    for name in ("IMG_20190412_123456.jpg", "IMG-20190412-WA0001.jpg"):
        os.utime(images.jpeg(tmp_path / name, (64, 48)), (MTIME, MTIME))
    timed = read_metadata(tmp_path / "IMG_20190412_123456.jpg")
    day = read_metadata(tmp_path / "IMG-20190412-WA0001.jpg")
    assert (timed.taken_at, timed.taken_at_source, timed.date_only, timed.offset) == (
        datetime(2019, 4, 12, 12, 34, 56), "filename", False, None)
    assert (day.taken_at, day.taken_at_source, day.date_only) == (
        datetime(2019, 4, 12), "filename", True)


def test_a_file_name_date_is_read_in_the_zone_of_the_position(tmp_path: Path) -> None:
    path = images.jpeg(tmp_path / "PXL_20230105_101112345.jpg", (64, 48),
                       gps=images.Gps(35.6762, 139.6503))
    info = read_metadata(path)
    assert info.taken_at_source == "filename"
    assert info.taken_at is not None and info.taken_at.replace(tzinfo=None) == datetime(
        2023, 1, 5, 10, 11, 12, 345000)
    assert (info.offset, info.time_zone, info.city) == ("+09:00", "Asia/Tokyo", "Tokyo")


def test_with_no_rule_that_finds_a_date_the_file_system_time_is_last(tmp_path: Path) -> None:
    path = images.jpeg(tmp_path / "IMG_1234.jpg", (64, 48))
    os.utime(path, (MTIME, MTIME))
    info = read_metadata(path)
    assert (info.taken_at_source, info.taken_at) == ("file_mtime",
                                                     datetime.fromtimestamp(MTIME, UTC))


# (id, rules) -> the source that wins for a Takeout photo whose name holds a date
ORDERS = [
    ("default-order", DATE_RULES, "takeout-json"),
    ("filename-first", ("filename", "takeout-json", "file_mtime"), "filename"),
    ("takeout-off", ("filename", "file_mtime"), "filename"),
    ("only-mtime", ("file_mtime",), "file_mtime"),
    ("all-off", (), "none"),
]


@pytest.mark.parametrize(("rules", "winner"), [c[1:] for c in ORDERS], ids=[c[0] for c in ORDERS])
def test_the_rules_run_in_the_order_set_and_each_can_be_turned_off(
        tmp_path: Path, rules: tuple[str, ...], winner: str) -> None:
    path = _takeout(tmp_path, "IMG_20200101_000000.jpg", "IMG_20200101_000000.jpg.json")
    info = read_metadata(path, options=ReadOptions(date_rules=rules))
    assert info.taken_at_source == winner
    assert (info.taken_at is None) == (winner == "none")


def test_a_broken_takeout_json_is_a_warning_and_the_next_rule_answers(tmp_path: Path) -> None:
    path = images.jpeg(tmp_path / "IMG_20190412_123456.jpg", (64, 48))
    (tmp_path / "IMG_20190412_123456.jpg.json").write_text("{not json")
    info = read_metadata(path)
    assert info.taken_at_source == "filename"
    assert any("Takeout sidecar" in w for w in info.warnings)


def test_the_settings_name_the_rules(tmp_path: Path) -> None:
    from mediapipe.config import Config

    cfg = Config.from_dict({"metadata": {"dateRules": ["filename"], "localTimeZone": "Asia/Tokyo"},
                            "reverseGeocoding": {"enabled": False}})
    assert ReadOptions.of(cfg) == ReadOptions(("filename",), False, "Asia/Tokyo")
    assert ReadOptions.of(Config()) == ReadOptions()


def test_import_files_a_dateless_photo_by_the_date_its_name_gives(
        media_root: Path, tmp_path: Path) -> None:
    """The storage template sees these dates: ``import`` places the photo in 2019, not on the
    day it was unpacked (Immich issue 30319)."""
    src = tmp_path / "in"
    src.mkdir()
    os.utime(images.jpeg(src / "IMG_20190412_123456.jpg", (96, 64)), (MTIME, MTIME))
    _takeout(src, "IMG_77.jpg", "IMG_77.jpg.supplemental-metadata.json")  # other bytes
    r = mediapipe("import", str(src), "--media-root", str(media_root), "--json", cwd=PROJECT,
                  env={"MEDIAPIPE_STORAGE_TEMPLATE_ENABLED": "true"})
    assert r.returncode == 0, r.stderr
    placed = sorted(p.relative_to(media_root / "library").as_posix()
                    for p in (media_root / "library").rglob("*.jpg"))
    assert placed == ["admin/2019/2019-04-12/IMG_20190412_123456.jpg",
                      "admin/2019/2019-04-12/IMG_77.jpg"]


def test_info_json_names_the_rule_the_place_and_the_projection(tmp_path: Path) -> None:
    path = _takeout(tmp_path, "IMG_5.jpg", "IMG_5.jpg.json")
    r = mediapipe("info", "--json", str(path), cwd=PROJECT)
    assert r.returncode == 0, r.stderr
    [got] = json.loads(r.stdout)
    assert (got["taken_at_source"], got["time_zone"], got["city"], got["state"],
            got["country"]) == ("takeout-json", "Europe/Paris", "Paris", "Île-de-France",
                                "France")
    assert got["taken_at"] == "2019-04-12T14:34:56+02:00"
    assert got["date_only"] is False and got["projection_type"] is None


def test_ls_json_lists_the_date_its_source_and_the_place(media_root: Path,
                                                         tmp_path: Path) -> None:
    """The catalog keeps what the metadata step found: ``ls --json`` shows it per asset."""
    lib = tmp_path / "lib"
    lib.mkdir()
    _takeout(lib, "IMG_5.jpg", "IMG_5.jpg.json")
    os.utime(images.jpeg(lib / "PXL_20230105_101112345.jpg", (96, 64)), (MTIME, MTIME))

    def run(*args: str) -> Ran:
        return mediapipe(*args, "--media-root", str(media_root), cwd=PROJECT)

    done = run("ingest", str(lib))
    assert done.returncode == 0, done.stderr
    listed = run("ls", "--json")
    assert listed.returncode == 0, listed.stderr
    got = {Path(item["path"]).name: item for item in json.loads(listed.stdout)}
    takeout, named = got["IMG_5.jpg"], got["PXL_20230105_101112345.jpg"]
    assert (takeout["taken_at"], takeout["taken_at_source"], takeout["city"], takeout["state"],
            takeout["country"]) == ("2019-04-12T14:34:56+02:00", "takeout-json", "Paris",
                                    "Île-de-France", "France")
    assert (named["taken_at"], named["taken_at_source"], named["city"]) == (
        "2023-01-05T10:11:12.345000", "filename", None)
    assert takeout["projection_type"] is None

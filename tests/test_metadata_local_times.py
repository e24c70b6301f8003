"""Camera MOVs that store local time: Nikon, Sony and (pre-CR3) Canon write QuickTime's
CreateDate as their clock's wall time, not UTC as the format says (Immich issue 13009; exiftool
leaves such dates as written unless ``-api QuickTimeUTC`` is given, and reads Canon's CR3
generation as UTC always: ``QuickTime.pm``). Such a date is shown in the zone of the video's
position, else in ``metadata.localTimeZone``, else as a wall time with no offset."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from fixtures import videos
from mediapipe.metadata.daterules import ReadOptions
from mediapipe.metadata.read import read_metadata
from mediapipe.metadata.video import camera_local

WALL = datetime(2019, 4, 12, 12, 34, 56)


def _clip(path: Path, make: str | None, location: tuple[float, float] | None = None) -> Path:
    extra = ("-metadata", f"make={make}") if make else ()
    return videos.video(path, duration=0.2, audio=(), created=WALL, location=location,
                        extra=extra)


@pytest.mark.parametrize(("make", "name", "local"), [
    ("NIKON CORPORATION", "DSC_0001.MOV", True),
    ("SONY", "C0001.MP4", True),
    ("Canon", "MVI_0001.MOV", True),
    ("Canon", "IMG_0001.CR3", False),
    ("Apple", "IMG_0001.MOV", False),
    ("samsung", "20190412_123456.mp4", False),
    (None, "clip.mov", False),
    ("", "clip.mov", False),
], ids=["nikon", "sony", "canon-mov", "canon-cr3-is-utc", "apple", "samsung", "no-make",
        "empty-make"])
def test_which_cameras_write_local_time(make: str | None, name: str, local: bool) -> None:
    assert camera_local(make, Path(name)) is local


def test_a_nikon_mov_with_no_position_keeps_its_wall_time(tmp_path: Path) -> None:
    info = read_metadata(_clip(tmp_path / "nikon.mov", "NIKON CORPORATION"))
    assert (info.taken_at, info.offset, info.time_zone) == (WALL, None, None)
    assert info.taken_at_source == "CreateDate"


def test_a_nikon_mov_is_shown_in_the_zone_of_its_position(tmp_path: Path) -> None:
    info = read_metadata(_clip(tmp_path / "nikon.mov", "NIKON CORPORATION", (48.8566, 2.3522)))
    assert info.taken_at is not None and info.taken_at.isoformat() == "2019-04-12T12:34:56+02:00"
    assert (info.time_zone, info.city) == ("Europe/Paris", "Paris")


def test_a_nikon_mov_with_no_position_takes_the_configured_zone(tmp_path: Path) -> None:
    info = read_metadata(_clip(tmp_path / "nikon.mov", "NIKON CORPORATION"),
                         options=ReadOptions(local_zone="Asia/Tokyo"))
    assert info.taken_at is not None and info.taken_at.isoformat() == "2019-04-12T12:34:56+09:00"
    assert info.time_zone == "Asia/Tokyo"


def test_another_makes_create_date_stays_utc(tmp_path: Path) -> None:
    info = read_metadata(_clip(tmp_path / "phone.mov", "Apple", (48.8566, 2.3522)),
                         options=ReadOptions(local_zone="Asia/Tokyo"))
    assert info.taken_at == WALL.replace(tzinfo=UTC)  # the same instant...
    assert info.taken_at is not None and info.taken_at.isoformat() == "2019-04-12T14:34:56+02:00"


def test_a_video_with_no_date_takes_the_date_in_its_name(tmp_path: Path) -> None:
    clip = videos.video(tmp_path / "VID_20190412_123456.mp4", duration=0.2, audio=())
    info = read_metadata(clip)
    assert (info.taken_at, info.taken_at_source) == (WALL, "filename")

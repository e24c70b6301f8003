"""``read_video``: video metadata from headers, as right as ``exiftool -j -n``."""

from __future__ import annotations

import json
import math
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mediapipe.errors import CorruptMedia, MediaError, Unreadable, UnsupportedMedia
from mediapipe.metadata.video import read_video

FIXTURE_VIDEOS = [
    "video-h264-aac.mp4", "video-hevc8.mp4", "video-hevc10-pq.mp4", "video-hevc10-hlg.mov",
    "video-rotated-90.mp4", "video-rotated-180.mp4", "video-rotated-270.mp4",
    "video-vertical.mp4", "video-odd-size.mkv", "video-mpeg4-mp3.avi", "video-no-audio.mov",
    "video-two-audio.mkv",
]

# (file, field): why read_video and the reference disagree, and that it is not our bug.
EXPECTED_DIFFERENCES: dict[tuple[str, str], str] = {}


# --- what the fixtures were made with ----------------------------------------------------

@pytest.mark.parametrize("name", FIXTURE_VIDEOS)
def test_fixture_values_match_what_the_catalog_wrote(fixture_set: dict[str, Any],
                                                      name: str) -> None:
    fixture = fixture_set[name]
    info = read_video(fixture.path)
    assert info.kind == "video"
    for field, want in fixture.expected.items():
        if (name, field) in EXPECTED_DIFFERENCES:
            continue
        got = getattr(info, field)
        if field == "taken_at":
            got = got.isoformat()
        if isinstance(want, float):
            assert got == pytest.approx(want, abs=1e-4), field
        else:
            assert got == want, field


@pytest.mark.parametrize(("name", "container", "mime"), [
    ("video-h264-aac.mp4", "mp4", "video/mp4"),
    ("video-hevc10-hlg.mov", "mov", "video/quicktime"),
    ("video-odd-size.mkv", "matroska", "video/x-matroska"),
    ("video-mpeg4-mp3.avi", "avi", "video/x-msvideo"),
], ids=["mp4", "mov", "mkv", "avi"])
def test_container_is_one_normalised_name(fixture_set: dict[str, Any], name: str,
                                          container: str, mime: str) -> None:
    info = read_video(fixture_set[name].path)
    assert (info.container, info.mime_type) == (container, mime)


def test_streams_list_every_stream_with_its_facts(fixture_set: dict[str, Any]) -> None:
    info = read_video(fixture_set["video-two-audio.mkv"].path)
    kinds = [(s.index, s.type, s.codec) for s in info.streams]
    assert kinds == [(0, "video", "h264"), (1, "audio", "aac"), (2, "audio", "ac3")]
    assert info.streams[1].default and not info.streams[2].default
    assert info.streams[1].channels == 2 and info.streams[2].channels == 1
    assert info.streams[0].width == 320 and info.streams[0].pix_fmt == "yuv420p"


@pytest.mark.parametrize(("name", "transfer", "primaries"), [
    ("video-hevc10-pq.mp4", "smpte2084", "bt2020"),
    ("video-hevc10-hlg.mov", "arib-std-b67", "bt2020"),
], ids=["pq", "hlg"])
def test_hdr_transfer_and_primaries_are_named(fixture_set: dict[str, Any], name: str,
                                              transfer: str, primaries: str) -> None:
    info = read_video(fixture_set[name].path)
    assert (info.color_transfer, info.color_primaries) == (transfer, primaries)
    assert info.streams[0].color_transfer == transfer


def test_quicktime_creation_time_is_utc_shown_in_the_zone_of_the_position(
        fixture_set: dict[str, Any]) -> None:
    info = read_video(fixture_set["video-h264-aac.mp4"].path)  # filmed in Paris
    assert info.taken_at == datetime(2023, 6, 1, 12, tzinfo=UTC)  # the same instant
    assert (info.taken_at_source, info.offset, info.time_zone) == \
        ("CreateDate", "+02:00", "Europe/Paris")


def test_quicktime_creation_time_without_a_position_stays_utc(tmp_path: Path) -> None:
    from fixtures import videos

    clip = videos.video(tmp_path / "c.mp4", created=datetime(2023, 6, 1, 12, tzinfo=UTC))
    info = read_video(clip)
    assert (info.taken_at, info.offset, info.time_zone) == \
        (datetime(2023, 6, 1, 12, tzinfo=UTC), "+00:00", "UTC")


def test_no_date_tag_falls_back_to_file_mtime(fixture_set: dict[str, Any]) -> None:
    info = read_video(fixture_set["video-no-audio.mov"].path)
    assert info.taken_at_source == "file_mtime" and info.taken_at is not None


# --- against exiftool ---------------------------------------------------------------------

def _exiftool(paths: list[Path]) -> dict[str, dict[str, Any]]:
    out = subprocess.run(["exiftool", "-j", "-n", "-api", "QuickTimeUTC", *map(str, paths)],
                         capture_output=True, text=True, check=False, timeout=120).stdout
    return {Path(d["SourceFile"]).name: d for d in json.loads(out)}


def _exif_seconds(value: Any) -> float:
    """exiftool's Duration: a number, or Matroska's ``HH:MM:SS.fffffffff`` tag text."""
    if isinstance(value, str):
        h, m, sec = value.split(":")
        return int(h) * 3600 + int(m) * 60 + float(sec)
    return float(value)


def _exif_date(value: Any) -> datetime | None:
    if not isinstance(value, str) or value.startswith(("0000", "1904:01:01 00:00:00")):
        return None
    text = value[:19].replace(":", "-", 2)
    parsed = datetime.fromisoformat(text)
    return parsed.replace(tzinfo=UTC)


def _comparisons(path: Path, ref: dict[str, Any]) -> list[tuple[str, Any, Any, bool]]:
    """(field, ours, exiftool's, agree) for every field exiftool reports."""
    info = read_video(path)
    rot = int(ref.get("Rotation") or 0)
    w, h = ref.get("ImageWidth"), ref.get("ImageHeight")
    if rot in (90, 270):
        w, h = h, w
    rows: list[tuple[str, Any, Any, bool]] = [
        ("width", info.width, w, info.width == w),
        ("height", info.height, h, info.height == h),
        ("rotation", info.rotation, rot, info.rotation == rot),
    ]
    if ref.get("Duration") is not None:
        theirs = _exif_seconds(ref["Duration"])
        rows.append(("duration", info.duration, theirs,
                     info.duration is not None and abs(info.duration - theirs) <= 0.05))
    date = _exif_date(ref.get("CreationDate") or ref.get("CreateDate")
                      or ref.get("DateTimeOriginal"))
    ours = info.taken_at if info.taken_at_source != "file_mtime" else None
    agree = (ours is None and date is None) or (
        ours is not None and date is not None
        and abs((ours.astimezone(UTC) - date).total_seconds()) < 1)
    rows.append(("taken_at", ours, date, agree))
    for field, tag in (("latitude", "GPSLatitude"), ("longitude", "GPSLongitude")):
        theirs, mine = ref.get(tag), getattr(info, field)
        # exiftool -n prints 5 decimals, truncated: allow that last digit
        ok = (theirs is None and mine is None) or (
            theirs is not None and mine is not None and math.isclose(mine, theirs,
                                                                     abs_tol=1.01e-5))
        rows.append((field, mine, theirs, ok))
    return rows


def test_agrees_with_exiftool_on_fixtures_and_samples(fixture_set: dict[str, Any],
                                                      samples: Path) -> None:
    paths = [fixture_set[n].path for n in FIXTURE_VIDEOS]
    paths += sorted(p for p in (samples / "video").iterdir() if p.is_file())
    refs = _exiftool(paths)
    total, disagreements = 0, []
    for path in paths:
        for field, ours, theirs, agree in _comparisons(path, refs[path.name]):
            total += 1
            if not agree:
                disagreements.append((path.name, field, ours, theirs))
    unexplained = [d for d in disagreements if (d[0], d[1]) not in EXPECTED_DIFFERENCES]
    assert not unexplained, unexplained
    assert total >= 100
    assert 1 - len(disagreements) / total >= 0.99


# --- bad input: only the error family, never a hang ---------------------------------------

def _truncated(src: Path, dst: Path, keep: float) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * keep)])
    return dst


BAD_INPUTS = {
    "empty": lambda d, fx: _write(d / "empty.mp4", b""),
    "text-named-mp4": lambda d, fx: _write(d / "notes.mp4", b"just some text\n" * 100),
    "random-bytes": lambda d, fx: _write(d / "noise.mov", bytes(range(256)) * 64),
    "missing-moov": lambda d, fx: _truncated(fx["video-h264-aac.mp4"].path,
                                             d / "cut.mp4", 0.5),
    "only-ftyp": lambda d, fx: _truncated(fx["video-h264-aac.mp4"].path, d / "ftyp.mp4", 0.001),
    "truncated-mkv-header": lambda d, fx: _truncated(fx["video-two-audio.mkv"].path,
                                                     d / "cut.mkv", 0.002),
    "audio-only": lambda d, fx: _audio_only(d / "sound.m4a"),
    "missing-file": lambda d, fx: d / "nope.mp4",
}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _audio_only(path: Path) -> Path:
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
                    "sine=duration=0.5", "-c:a", "aac", str(path)], check=True)
    return path


@pytest.mark.timeout(30)
@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_raises_only_the_error_family(case: str, tmp_path: Path,
                                                fixture_set: dict[str, Any]) -> None:
    path = BAD_INPUTS[case](tmp_path, fixture_set)
    with pytest.raises(MediaError) as err:
        read_video(path)
    # a missing file is Unreadable (the file system's answer), the rest the media's
    assert isinstance(err.value, Unreadable if case == "missing-file"
                      else CorruptMedia | UnsupportedMedia)
    assert str(path) in str(err.value)


# --- the container's word over a damaged track ------------------------------------------------

def test_a_damaged_media_header_does_not_shorten_the_movie(tmp_path: Path) -> None:
    from fixtures import oldcams

    mov = oldcams.pentax_mov(tmp_path / "IMGP0001.MOV", 4.97)
    ref = json.loads(subprocess.run(["exiftool", "-j", "-n", "-Duration", "-MediaDuration",
                                     str(mov)], capture_output=True, text=True,
                                    check=True).stdout)[0]
    assert ref["MediaDuration"] < 0.5  # the damage: the track says 0.43 s
    info = read_video(mov)
    assert info.duration is not None and abs(info.duration - ref["Duration"]) <= 0.01
    assert abs(info.duration - 4.97) <= 0.05  # what ffprobe's format duration says too


def test_the_make_from_a_pentax_maker_box_in_a_mov(tmp_path: Path) -> None:
    from fixtures import oldcams

    info = read_video(oldcams.pentax_mov(tmp_path / "IMGP0002.MOV", 1.0))
    assert info.make == oldcams.PENTAX_MAKE

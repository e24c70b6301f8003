"""The metadata stage's rules, one behaviour per test (generated files; samples where named)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from fixtures import images
from mediapipe.cli.main import main
from mediapipe.errors import CorruptMedia, UnsupportedMedia
from mediapipe.metadata.dates import taken_at
from mediapipe.metadata.read import read_metadata

T = datetime(2023, 6, 1, 14, 30, 15)


# --- date taken -------------------------------------------------------------------------------

@pytest.mark.parametrize(("tags", "iso", "source"), [
    ({"DateTimeOriginal": "2020:01:02 03:04:05", "CreateDate": "2021:01:01 00:00:00"},
     "2020-01-02T03:04:05", "DateTimeOriginal"),
    ({"DateTimeOriginal": "2020:01:02 03:04:05", "SubSecTimeOriginal": "45"},
     "2020-01-02T03:04:05.450000", "SubSecDateTimeOriginal"),
    ({"DateTimeOriginal": "0000:00:00 00:00:00", "CreateDate": "2021:01:01 10:00:00"},
     "2021-01-01T10:00:00", "CreateDate"),
    ({"CreateDate": "2021:01:01 10:00:00", "SubSecTimeDigitized": "5"},
     "2021-01-01T10:00:00.500000", "SubSecCreateDate"),
    ({"CreationDate": "2019-05-05T05:05:05+01:00", "CreateDate": "2021:01:01 10:00:00"},
     "2019-05-05T05:05:05+01:00", "CreationDate"),
    ({"MediaCreateDate": "2018:01:01 00:00:00"}, "2018-01-01T00:00:00", "MediaCreateDate"),
    ({"GPSDateTime": "2017:03:04 05:06:07Z"}, "2017-03-04T05:06:07+00:00", "GPSDateTime"),
    ({"DateTimeOriginal": "garbage", "GPSDateTime": "2017:03:04 05:06:07Z"},
     "2017-03-04T05:06:07+00:00", "GPSDateTime"),
], ids=["original-beats-create", "subsec-composite", "unparsable-skipped", "subsec-create",
        "creationdate-with-zone", "media-create", "gps-is-utc", "garbage-falls-through"])
def test_date_taken_is_the_first_tag_in_priority_that_parses(
        tags: dict[str, Any], iso: str, source: str) -> None:
    t = taken_at(tags)
    assert t is not None
    assert (t.when.isoformat(), t.source) == (iso, source)


@pytest.mark.parametrize(("tags", "offset"), [
    ({"DateTimeOriginal": "2020:01:02 03:04:05", "OffsetTimeOriginal": "+02:00",
      "OffsetTime": "+05:00"}, "+02:00"),
    ({"DateTimeOriginal": "2020:01:02 03:04:05", "OffsetTime": "-05:30"}, "-05:30"),
    ({"DateTimeOriginal": "2020:01:02 13:04:05", "GPSDateTime": "2020:01:02 11:04:04.9Z"},
     "+02:00"),
    ({"DateTimeOriginal": "2020:01:02 13:04:05", "GPSDateTime": "2020:01:01 11:04:05Z"}, None),
    ({"DateTimeOriginal": "2020:01:02 13:04:05", "GPSDateTime": "2020:01:02 11:34:05Z"},
     "+01:30"),
    ({"DateTimeOriginal": "2020:01:02 13:04:05", "GPSDateTime": "2020:01:02 12:57:05Z"}, None),
    ({"DateTimeOriginal": "2020:01:02 03:04:05"}, None),
], ids=["offset-time-original-first", "offset-time", "from-gps", "gps-off-by-a-day-ignored",
        "from-gps-half-hour", "gps-not-a-quarter-hour-ignored", "unknown"])
def test_offset_comes_from_offset_tags_else_a_plausible_gps_time(
        tags: dict[str, Any], offset: str | None) -> None:
    t = taken_at(tags)
    assert t is not None and t.offset == offset
    assert (t.when.tzinfo is not None) == (offset is not None)


def test_subseconds_and_offset_from_a_camera_jpeg(tmp_path: Path) -> None:
    p = images.jpeg(tmp_path / "a.jpg", taken=T, offset="-07:00", subsec="25")
    info = read_metadata(p)
    assert info.taken_at is not None
    assert info.taken_at.isoformat() == "2023-06-01T14:30:15.250000-07:00"
    assert (info.offset, info.taken_at_source) == ("-07:00", "SubSecDateTimeOriginal")


def test_without_any_date_tag_the_file_mtime_is_used(tmp_path: Path) -> None:
    p = images.noise_jpeg(tmp_path / "plain.jpg", (64, 48))
    os.utime(p, (1_600_000_000, 1_600_000_000))
    info = read_metadata(p)
    assert info.taken_at_source == "file_mtime"
    assert info.taken_at is not None and info.taken_at.timestamp() == 1_600_000_000


# --- GPS, camera, exposure ------------------------------------------------------------------

@pytest.mark.parametrize(("gps", "expected"), [
    (images.Gps(48.8584, 2.2945, 35.0), (48.8584, 2.2945, 35.0)),
    (images.Gps(-33.8568, -151.2153, -12.0), (-33.8568, -151.2153, -12.0)),
    (images.Gps(0.0, 0.0, 10.0), (None, None, None)),
    (None, (None, None, None)),
], ids=["north-east", "south-west-below-sea", "null-island-is-absent", "absent"])
def test_gps_is_signed_degrees_and_null_when_absent_or_zero(
        tmp_path: Path, gps: images.Gps | None, expected: tuple[Any, ...]) -> None:
    info = read_metadata(images.jpeg(tmp_path / "g.jpg", (64, 48), gps=gps))
    got = (info.latitude, info.longitude, info.altitude)
    assert all((e is None and g is None) or (g is not None and abs(g - e) < 1e-4)
               for g, e in zip(got, expected, strict=True)), got


def test_camera_lens_and_exposure(fixture_set: dict[str, Any]) -> None:
    info = read_metadata(fixture_set["jpeg-gps-offset-subsec.jpg"].path)
    assert (info.make, info.model, info.lens_model) == (
        "Canon", "Canon EOS 5D", "EF24-105mm f/4L IS USM")
    assert (info.iso, info.exposure_time, info.f_number, info.focal_length) == (
        200, 0.004, 4.0, 50.0)
    assert info.bits_per_sample == 8


# --- orientation and size --------------------------------------------------------------------

@pytest.mark.parametrize("orientation", range(1, 9))
def test_jpeg_size_is_as_displayed(fixture_set: dict[str, Any], orientation: int) -> None:
    # fixtures.images.jpeg stores the pixels so that the *displayed* image is 64x48 for every
    # orientation (stored 48x64 for 5-8); exiftool's stored size, swapped, agrees. (The
    # catalog's ``expected`` width/height for 5-8 say 48x64: that entry is the odd one out.)
    info = read_metadata(fixture_set[f"jpeg-orientation-{orientation}.jpg"].path)
    assert (info.orientation, info.width, info.height) == (orientation, 64, 48)


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_heic_orientation_is_exiftools_and_size_is_not_rotated_twice(
        tmp_path: Path, orientation: int) -> None:
    # pillow-heif turns EXIF orientation into irot and pre-rotates on read: the size it reports
    # is already displayed; the orientation stays what the EXIF (and exiftool) says.
    info = read_metadata(images.heic(tmp_path / "o.heic", (64, 48), orientation=orientation))
    assert info.orientation == orientation
    assert (info.width, info.height) == ((48, 64) if orientation >= 5 else (64, 48))


# --- XMP: sidecars, keywords, motion photos -------------------------------------------------

def _xmp(body: str, attrs: str = "") -> str:
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" '
        'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:lr="http://ns.adobe.com/lightroom/1.0/" '
        'xmlns:GCamera="http://ns.google.com/photos/1.0/camera/" '
        f'{attrs}>{body}</rdf:Description></rdf:RDF></x:xmpmeta>')


SIDECAR = _xmp(
    '<dc:description><rdf:Alt><rdf:li xml:lang="x-default">From the sidecar</rdf:li>'
    '</rdf:Alt></dc:description>'
    "<dc:subject><rdf:Bag><rdf:li>beach</rdf:li><rdf:li>family</rdf:li></rdf:Bag></dc:subject>"
    "<lr:hierarchicalSubject><rdf:Bag><rdf:li>places|France|Nice</rdf:li></rdf:Bag>"
    "</lr:hierarchicalSubject>",
    'exif:DateTimeOriginal="2010-07-08T09:10:11+03:00" xmp:Rating="4" '
    'exif:GPSLatitude="43,42.12N" exif:GPSLongitude="7,15.6E"')


def test_sidecar_values_win_for_date_gps_description_rating_keywords(tmp_path: Path) -> None:
    p = images.jpeg(tmp_path / "IMG.jpg", (64, 48), taken=T, description="embedded",
                    gps=images.Gps(1.0, 2.0), make="Canon")
    (tmp_path / "IMG.jpg.xmp").write_text(SIDECAR)
    info = read_metadata(p)
    assert info.taken_at is not None
    assert info.taken_at.isoformat() == "2010-07-08T09:10:11+03:00"
    assert (round(info.latitude or 0, 4), round(info.longitude or 0, 4)) == (43.702, 7.26)
    assert (info.description, info.rating) == ("From the sidecar", 4)
    assert info.keywords == ("places/France/Nice",)  # HierarchicalSubject before dc:subject
    assert info.make == "Canon"  # not a sidecar field: the file's value stays
    embedded = read_metadata(p, sidecar=False)
    assert embedded.description == "embedded"
    assert embedded.taken_at == T.replace(tzinfo=UTC)  # at sea off Africa: the zone Etc/GMT
    assert embedded.time_zone == "Etc/GMT"


def test_a_sidecar_date_no_rule_reads_leaves_the_files_date(tmp_path: Path) -> None:
    """Photoshop's DateCreated is no date tag of Immich's: a sidecar with only that one does
    not take the photo's own date away."""
    p = images.jpeg(tmp_path / "IMG.jpg", (64, 48), taken=T, gps=images.Gps(1.0, 2.0))
    (tmp_path / "IMG.jpg.xmp").write_text(_xmp(
        "", 'xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" '
            'photoshop:DateCreated="2010-07-08T09:10:11"'))
    info = read_metadata(p)
    assert (info.taken_at, info.taken_at_source) == (T.replace(tzinfo=UTC), "DateTimeOriginal")


@pytest.mark.parametrize(("names", "used"), [
    (("IMG.jpg.xmp", "IMG.xmp"), "IMG.jpg.xmp"), (("IMG.xmp",), "IMG.xmp")],
    ids=["full-name-first", "stem-name"])
def test_sidecar_lookup_order(tmp_path: Path, names: tuple[str, ...], used: str) -> None:
    p = images.jpeg(tmp_path / "IMG.jpg", (64, 48))
    for name in names:
        (tmp_path / name).write_text(_xmp("", f'dc:description="from {name}"'))
    assert read_metadata(p).description == f"from {used}"


def test_keywords_are_lists_from_embedded_xmp_by_immichs_precedence(tmp_path: Path) -> None:
    """Immich: TagsList, else HierarchicalSubject, else Keywords; dc:subject where none is."""
    p = images.jpeg(tmp_path / "k.jpg", (64, 48))
    _embed_xmp(p, SIDECAR)
    info = read_metadata(p)
    assert info.keywords == ("places/France/Nice",)
    only_subject = images.jpeg(tmp_path / "s.jpg", (64, 48))
    _embed_xmp(only_subject, SIDECAR.replace("lr:hierarchicalSubject", "lr:other"))
    assert read_metadata(only_subject).keywords == ("beach", "family")
    assert json.loads(json.dumps(info.to_dict()))["keywords"] == list(info.keywords)


def _embed_xmp(path: Path, xmp: str, tail: bytes = b"") -> None:
    data = path.read_bytes()
    payload = b"http://ns.adobe.com/xap/1.0/\0" + xmp.encode()
    seg = b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
    path.write_bytes(data[:2] + seg + data[2:] + tail)


def test_google_motion_photo_reports_the_video_offset(tmp_path: Path) -> None:
    p = images.jpeg(tmp_path / "PXL_MP.jpg", (64, 48))
    video = b"\0\0\0\x18ftypmp42" + b"\0" * 1000
    _embed_xmp(p, _xmp("", f'GCamera:MicroVideo="1" GCamera:MicroVideoOffset="{len(video)}"'),
               tail=video)
    info = read_metadata(p)
    assert info.motion_photo is True
    assert info.motion_photo_offset == p.stat().st_size - len(video)
    assert p.read_bytes()[info.motion_photo_offset + 4:][:4] == b"ftyp"


def test_live_photo_id_from_apples_maker_note(samples: Path) -> None:
    info = read_metadata(samples / "images/heic/IMG_5195.HEIC")
    assert info.live_photo_id == "570F1469-09C7-4E50-9875-05F21D5BD166"


# --- bad input ------------------------------------------------------------------------------

def test_every_bad_sample_reads_or_fails_in_the_family(samples: Path) -> None:
    for path in sorted((samples / "images/bad").iterdir()):
        try:
            info = read_metadata(path)
        except (CorruptMedia, UnsupportedMedia):
            continue
        assert info.kind == "image", path


def _broken_exif_jpeg(path: Path) -> Path:
    images.jpeg(path, (64, 48), taken=T)
    # An EXIF block whose IFD0 claims 60000 entries and points its Exif IFD past the end.
    tiff = (b"II*\0\x08\0\0\0" + (60000).to_bytes(2, "little")
            + (0x8769).to_bytes(2, "little") + (4).to_bytes(2, "little")
            + (1).to_bytes(4, "little") + (10**9).to_bytes(4, "little"))
    payload = b"Exif\0\0" + tiff
    seg = b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
    data = path.read_bytes()
    start = data.index(b"\xff\xe1")
    end = start + 2 + int.from_bytes(data[start + 2:start + 4], "big")
    path.write_bytes(data[:start] + seg + data[end:])
    return path


@pytest.mark.parametrize(("make", "outcome"), [
    (lambda p: p.write_bytes(b""), CorruptMedia),
    (lambda p: p.write_bytes(images.jpeg(p, (64, 48), taken=T).read_bytes()[:40]), CorruptMedia),
    (lambda p: p.write_bytes(b"\x00garbage" * 100), UnsupportedMedia),
    (lambda p: images.png(p, (32, 16)), "read"),
    (_broken_exif_jpeg, "read"),
], ids=["empty", "truncated-in-header", "not-an-image", "png-named-jpg", "broken-exif-ifds"])
def test_bad_input_gives_warnings_or_a_family_error(
        tmp_path: Path, make: Any, outcome: Any) -> None:
    p = tmp_path / "bad.jpg"
    make(p)
    if outcome != "read":
        with pytest.raises(outcome):
            read_metadata(p)
        return
    info = read_metadata(p)
    assert info.width in (32, 64)
    if p.read_bytes()[:2] == b"\xff\xd8":
        assert info.warnings, "broken EXIF must be reported"
    else:
        assert info.mime_type == "image/png" and info.warnings


def test_unknown_extension_is_unsupported(tmp_path: Path) -> None:
    p = tmp_path / "notes.txt"
    p.write_text("hello")
    with pytest.raises(UnsupportedMedia):
        read_metadata(p)


# --- CLI --------------------------------------------------------------------------------------

def test_info_json_lists_each_file_in_order_and_exits_with_the_bad_ones_code(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = images.jpeg(tmp_path / "good.jpg", (64, 48), taken=T)
    bad = tmp_path / "empty.jpg"
    bad.write_bytes(b"")
    code = main(["info", str(good), str(bad), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 6  # its failures' shared code: CorruptMedia (an empty file)
    assert [o["path"] for o in out] == [str(good), str(bad)]
    assert out[0]["taken_at"] == "2023-06-01T14:30:15" and out[0]["width"] == 64
    assert set(out[1]) == {"path", "error", "type"} and out[1]["type"] == "CorruptMedia"


def test_info_text_is_a_short_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = images.jpeg(tmp_path / "good.jpg", (64, 48), taken=T, make="Canon")
    assert main(["info", str(good)]) == 0
    out = capsys.readouterr().out
    assert "64x48" in out and "Canon" in out and "2023-06-01T14:30:15" in out

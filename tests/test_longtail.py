"""The long tail of a real library: AVIF, JPEG XL, PSD, GIF, BMP, SVG, and dates in IPTC,
UTF-16 XMP, Extended XMP and places only exiftool reads (``fixtures/longtail.py``)."""

from __future__ import annotations

import io
import os
import shutil
import signal
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fixtures import images, longtail
from mediapipe import formats
from mediapipe.config import Config
from mediapipe.errors import UnsupportedMedia
from mediapipe.metadata import exiftool
from mediapipe.metadata.read import read_metadata
from mediapipe.thumbnails.make import make_thumbnails

pytestmark = pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool not installed")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return longtail.build(tmp_path_factory.mktemp("longtail"))


def quadrant_colours(data: bytes) -> list[tuple[int, ...]]:
    arr = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), np.float64)
    h, w = arr.shape[:2]
    return [tuple(int(v) for v in arr[int(h * fy), int(w * fx)])
            for fy, fx in ((0.3, 0.7), (0.7, 0.3), (0.7, 0.7))]


@pytest.mark.parametrize("name", ["pattern.avif", "pattern.jxl", "pattern.gif", "pattern.bmp",
                                  "composite.psd"])
def test_every_image_format_gets_thumbnails_that_show_the_picture(files: dict[str, Path],
                                                                  name: str) -> None:
    info = read_metadata(files[name])
    assert (info.width, info.height) == longtail.SIZE
    t = make_thumbnails(files[name], info, Config())
    assert t.preview.size == longtail.SIZE
    for got, want in zip(quadrant_colours(t.preview.data), images.QUADRANTS[1:], strict=True):
        assert max(abs(g - w) for g, w in zip(got, want, strict=True)) <= 30


def test_psd_is_an_image_not_a_raw() -> None:
    assert formats.kind_of("a.psd") is formats.Kind.IMAGE and not formats.is_raw("a.psd")


def test_svg_is_read_by_exiftool_and_refused_by_the_thumbnailer(files: dict[str, Path]) -> None:
    info = read_metadata(files["drawing.svg"])
    assert (info.metadata_source, info.width, info.height) == ("exiftool", 320, 240)
    with pytest.raises(UnsupportedMedia, match="SVG is not rendered"):
        make_thumbnails(files["drawing.svg"], info, Config())


def test_an_iptc_only_file_gets_its_date_caption_and_keywords_in_process(
        files: dict[str, Path]) -> None:
    info = read_metadata(files["iptc-only.jpg"])
    assert info.metadata_source == "mediapipe"
    assert info.taken_at is not None and info.taken_at.isoformat() == "2019-05-04T10:11:12+02:00"
    assert (info.taken_at_source, info.offset) == ("DateTimeCreated", "+02:00")
    assert info.description == "Hafen von Nizza, früh"  # UTF-8 as the record 1 says
    assert info.keywords == ("harbour", "boats")


@pytest.mark.parametrize("name", ["xmp-utf16.jpg", "xmp-extended.jpg"])
def test_utf16_and_extended_xmp_dates_are_read_in_process(files: dict[str, Path],
                                                          name: str) -> None:
    info = read_metadata(files[name])
    assert (info.taken_at, info.metadata_source) == (longtail.TAKEN, "mediapipe")


def test_without_a_date_tag_beside_a_maker_note_the_date_is_asked_of_exiftool(
        files: dict[str, Path]) -> None:
    info = read_metadata(files["ifd0-date.jpg"])  # in IFD0 beside a maker note, as old cameras
    assert (info.taken_at, info.taken_at_source) == (longtail.TAKEN, "DateTimeOriginal")
    assert info.metadata_source == "mediapipe+exiftool"


def test_a_file_with_no_date_anywhere_keeps_the_mtime_after_asking(files: dict[str, Path]) -> None:
    info = read_metadata(files["pattern.gif"])
    assert (info.taken_at_source, info.metadata_source) == ("file_mtime", "mediapipe")


@pytest.mark.parametrize(("make", "model"), longtail.RAW_MAKES)
def test_raw_of_every_make_reads_make_model_size_and_orientation(
        files: dict[str, Path], make: str, model: str) -> None:
    info = read_metadata(files[f"{make.split()[0].lower()}.dng"])
    assert (info.make, info.model, info.metadata_source) == (make, model, "exiftool")
    assert (info.width, info.height) == (600, 400)  # displayed, whatever the orientation


def test_exiftool_is_restarted_after_it_dies(files: dict[str, Path]) -> None:
    exiftool.exiftool_tags(files["canon.dng"])
    current = exiftool._current
    assert current is not None
    current.proc.kill()
    current.proc.wait()
    assert exiftool.exiftool_tags(files["canon.dng"])["Make"] == "Canon"
    assert exiftool._current is not current


def test_a_file_over_the_timeout_is_given_up_and_the_next_one_is_answered(
        files: dict[str, Path]) -> None:
    exiftool.exiftool_tags(files["canon.dng"])
    current = exiftool._current
    assert current is not None
    os.kill(current.proc.pid, signal.SIGSTOP)  # it cannot answer in time, however idle the machine
    with pytest.raises(exiftool.ExiftoolUnavailable, match=r"took over 0\.2s"):
        exiftool.exiftool_tags(files["canon.dng"], timeout=0.2)
    assert current.proc.poll() is not None, "the stuck exiftool is ended, not left behind"
    assert exiftool.exiftool_tags(files["canon.dng"])["Make"] == "Canon"


def test_a_name_exiftool_cannot_take_is_refused_cleanly(tmp_path: Path) -> None:
    with pytest.raises(exiftool.ExiftoolUnavailable, match="newline"):
        exiftool.exiftool_tags(tmp_path / "a\nb.jpg")

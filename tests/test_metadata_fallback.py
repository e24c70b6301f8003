"""No date from the file system while exiftool finds one in the file: where the in-process
readers find no date, the exiftool already running (``-stay_open``) is asked, and its date —
with the make and model it found beside it — is taken (an old camera archive: Canon CIFF,
APP12 Picture Info, Casio QVCI); a photo with a date never pays for the round trip."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fixtures import images, oldcams
from mediapipe.metadata import read
from mediapipe.metadata.read import read_metadata

pytestmark = pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool not installed")


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return oldcams.build(tmp_path_factory.mktemp("digicam"))


@pytest.mark.parametrize("name", sorted(oldcams.EXPECTED))
def test_an_old_cameras_date_is_found_not_invented(name: str, archive: dict[str, Path]) -> None:
    taken, make, model = oldcams.EXPECTED[name]
    info = read_metadata(archive[name])
    assert info.taken_at_source != "file_mtime"
    assert info.taken_at is not None and info.taken_at.replace(tzinfo=None) == taken
    assert (info.make, info.model) == (make, model)


def test_a_ciff_dated_jpeg_is_answered_by_exiftool(archive: dict[str, Path]) -> None:
    info = read_metadata(archive["ciff.jpg"])
    assert info.metadata_source == "mediapipe+exiftool"
    assert (info.width, info.height) == (160, 120)  # the size is still ours


def test_an_xmp_pdf_creation_date_is_read_in_process(archive: dict[str, Path]) -> None:
    assert read_metadata(archive["xmp-pdf.jpg"]).metadata_source == "mediapipe"


def test_a_photo_with_a_date_never_asks_exiftool(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import datetime

    asked: list[Path] = []
    monkeypatch.setattr(read, "exiftool_tags", lambda p: asked.append(p) or {})
    read_metadata(images.jpeg(tmp_path / "dated.jpg", (64, 48), taken=datetime(2020, 1, 2)))
    assert asked == []


def test_a_file_with_no_date_anywhere_keeps_its_mtime(tmp_path: Path) -> None:
    info = read_metadata(images.jpeg(tmp_path / "plain.jpg", (64, 48)))
    assert (info.taken_at_source, info.metadata_source) == ("file_mtime", "mediapipe")

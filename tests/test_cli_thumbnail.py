"""``mediapipe thumbnail``: files out, JSON report, failing files named with exit 1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from fixtures import images
from tests.support.cli import mediapipe


def test_writes_preview_and_thumbnail_and_reports_json(tmp_path: Path) -> None:
    src = images.jpeg(tmp_path / "photo.jpg", (1600, 1200), orientation=6)
    out = tmp_path / "out"
    result = mediapipe("thumbnail", str(src), "--out", str(out), "--json")
    assert result.returncode == 0, result.stderr
    [entry] = json.loads(result.stdout)
    assert (entry["preview"]["width"], entry["preview"]["height"]) == (1600, 1200)
    assert Image.open(out / "photo_preview.jpeg").size == (1600, 1200)
    assert Image.open(out / "photo_thumbnail.webp").size == (333, 250)
    assert entry["thumbhash"]


def test_a_failing_file_is_reported_and_the_rest_still_done(tmp_path: Path) -> None:
    good = images.jpeg(tmp_path / "good.jpg")
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"nope")
    result = mediapipe("thumbnail", str(bad), str(good), "--out", str(tmp_path), "--json")
    assert result.returncode == 5, "the one failure's own code: not an image mediapipe reads"
    entries = json.loads(result.stdout)
    assert set(entries[0]) == {"path", "error", "type"} and entries[0]["path"] == str(bad)
    assert entries[0]["type"] == "UnsupportedMedia" and str(bad) in result.stderr
    assert "preview" in entries[1] and (tmp_path / "good_preview.jpeg").exists()


def test_text_output_names_sizes_and_errors_on_one_line(tmp_path: Path) -> None:
    good = images.jpeg(tmp_path / "good.jpg", (640, 480))
    result = mediapipe("thumbnail", str(good), str(tmp_path / "missing.jpg"), "--out",
                       str(tmp_path))
    assert result.returncode == 12, "not found"
    assert "preview 640x480" in result.stdout and "thumbnail 333x250" in result.stdout
    assert result.stderr.strip().startswith("mediapipe: error:")
    assert len(result.stderr.strip().splitlines()) == 1


def test_an_unwritable_out_folder_stops_the_batch_with_exit_code_4(tmp_path: Path) -> None:
    good = images.jpeg(tmp_path / "good.jpg")
    blocker = tmp_path / "not-a-folder"
    blocker.write_bytes(b"a file where a folder should be")
    result = mediapipe("thumbnail", str(good), str(good), "--out", str(blocker / "out"))
    assert result.returncode == 4
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith("mediapipe: error:") and "Traceback" not in result.stderr


@pytest.mark.samples
def test_a_pixel_ultra_hdr_jpeg_cut_short_gets_its_thumbnails_and_a_warning(
        samples: Path, tmp_path: Path) -> None:
    """``ultrahdr.jpg`` ends early: what decodes is shown (as libvips with fail=false)."""
    source = samples / "images" / "camera" / "ultrahdr.jpg"
    proc = mediapipe("thumbnail", str(source), "--out", str(tmp_path), "--json")
    assert proc.returncode == 0, proc.stderr
    [result] = json.loads(proc.stdout)
    assert result["preview"]["width"] == 1440 and result["thumbhash"]
    assert any("damaged image" in w for w in result["warnings"])

"""The generated fixtures really carry what they claim (checked with exiftool and ffprobe)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest


def _exiftool(path: object) -> dict[str, object]:
    out = subprocess.run(["exiftool", "-j", "-n", str(path)], capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out)[0]


pytestmark = pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool missing")


@pytest.mark.parametrize("orientation", range(1, 9))
def test_jpeg_orientation_fixtures(fixture_set: dict, orientation: int) -> None:
    tags = _exiftool(fixture_set[f"jpeg-orientation-{orientation}.jpg"].path)
    assert tags.get("Orientation", 1) == orientation


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_rotated_video_fixtures(fixture_set: dict, rotation: int) -> None:
    assert _exiftool(fixture_set[f"video-rotated-{rotation}.mp4"].path)["Rotation"] == rotation


def test_hdr_fixture_is_pq_10_bit(fixture_set: dict) -> None:
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries",
                          "stream=pix_fmt,color_transfer", "-of", "json",
                          str(fixture_set["video-hevc10-pq.mp4"].path)],
                         capture_output=True, text=True, check=True).stdout
    stream = json.loads(out)["streams"][0]
    assert stream == {"pix_fmt": "yuv420p10le", "color_transfer": "smpte2084"}

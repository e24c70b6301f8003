"""VipsEngine's own parts: the DCT scale it decodes at, orientation as Pillow's, ICC in JPEG,
the peak memory of a 50 MP JPEG.

The behaviour of the whole stage on this engine is ``test_thumbnails`` (every case runs on each
engine); these pin what is particular to it.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import simplejpeg  # type: ignore[import-untyped]
from PIL import Image

from mediapipe import colour
from mediapipe.thumbnails.engine import PillowEngine, leaves_unchanged
from mediapipe.thumbnails.geometry import dct_scale
from mediapipe.thumbnails.vips import Pixels, VipsEngine, with_icc


@pytest.mark.parametrize(("size", "at_least", "scale"), [
    pytest.param((8000, 6000), (1920, 1440), 4, id="48MP-quarter"),
    pytest.param((4032, 3024), (1920, 1440), 2, id="12MP-phone-half"),
    pytest.param((3264, 2448), (1920, 1440), 1, id="8MP-full: half would be 1224 < 1440"),
    pytest.param((24000, 16000), (2160, 1440), 8, id="eighth-at-most"),
    pytest.param((801, 601), (400, 300), 2, id="rounds-up: ceil(601/2) = 301 covers 300"),
])
def test_jpeg_is_decoded_at_the_largest_power_of_two_that_covers_the_preview(
        size: tuple[int, int], at_least: tuple[int, int], scale: int) -> None:
    assert dct_scale(size, at_least) == scale


@pytest.mark.parametrize("orientation", range(1, 9), ids=lambda o: f"exif-{o}")
def test_orientation_moves_pixels_exactly_as_pillows_transpose(orientation: int) -> None:
    arr = np.arange(5 * 7 * 3, dtype=np.uint8).reshape(5, 7, 3)
    ours = VipsEngine().orient(Pixels(arr, "RGB"), orientation)
    pillow = PillowEngine().orient(Image.fromarray(arr, "RGB"), orientation)
    assert np.array_equal(ours.array, np.asarray(pillow))


@pytest.mark.parametrize("length", [560, 200_000], ids=["one-segment", "four-segments"])
def test_an_icc_profile_of_any_length_is_embedded_as_readers_expect(length: int) -> None:
    icc = bytes(range(256)) * (length // 256) + bytes(length % 256)
    jpeg = simplejpeg.encode_jpeg(np.zeros((8, 8, 3), np.uint8), 80, "RGB", "420")
    out = Image.open(io.BytesIO(with_icc(bytes(jpeg), icc)))
    assert out.info["icc_profile"] == icc
    out.load()  # the rest of the file is intact


_PEAK_CHILD = """
import sys
from pathlib import Path
from mediapipe import allocator
from mediapipe.config import Config
from mediapipe.metadata.model import MediaInfo
from mediapipe.thumbnails.make import make_thumbnails
allocator.tune()
p = Path(sys.argv[1])
t = make_thumbnails(p, MediaInfo(path=str(p), kind="image", mime_type="image/jpeg",
                                 size=p.stat().st_size), Config())
hwm = [line for line in open("/proc/self/status") if line.startswith("VmHWM")][0]
print(t.preview.width, t.preview.height, int(hwm.split()[1]) // 1024)
"""


def test_a_50_mp_jpeg_peaks_under_150_mb(tmp_path: Path) -> None:
    """Decoded at 1/4 in the DCT: the whole process, imports included, stays under 150 MB."""
    path = tmp_path / "50mp.jpg"
    Image.linear_gradient("L").convert("RGB").resize((8660, 5773)).save(path, quality=90)
    out = subprocess.run([sys.executable, "-c", _PEAK_CHILD, str(path)], capture_output=True,
                         text=True, timeout=120, check=True).stdout.split()
    width, height, peak_mb = map(int, out)
    assert (width, height) == (2160, 1440)
    assert peak_mb <= 150


@pytest.mark.parametrize(("icc", "space", "unchanged"), [
    pytest.param(colour.display_p3_icc(), colour.Space.P3, True, id="display-p3-kept-as-p3"),
    pytest.param(colour.display_p3_icc(), colour.Space.SRGB, False, id="display-p3-to-srgb"),
    pytest.param(colour.srgb_icc(), colour.Space.P3, False, id="srgb-profile-to-p3"),
])
def test_a_profile_already_in_the_output_space_costs_no_transform(
        icc: bytes, space: colour.Space, unchanged: bool) -> None:
    assert leaves_unchanged(icc, space) is unchanged

"""TurboEngine's own parts: the DCT scale it decodes at, orientation as Pillow's, ICC in JPEG,
the peak memory of a 50 MP JPEG. (Colour conversion, which both engines share, is
``test_thumbnails_cms``.)

The behaviour of the whole stage on this engine is ``test_thumbnails`` (every case runs on each
engine); these pin what is particular to it.
"""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import simplejpeg  # type: ignore[import-untyped]
from PIL import Image

from mediapipe.thumbnails.engine import PillowEngine
from mediapipe.thumbnails.geometry import dct_scale
from mediapipe.thumbnails.turbo import (
    Pixels,
    TurboEngine,
    compiled_each,
    lanczos,
    opencv_each,
    with_icc,
)
from tests.support.compiled import needs_compiled

# Both resamplers: the compiled one (where it was built) and OpenCV's (everywhere).
RESAMPLERS = [
    pytest.param(compiled_each, id="compiled", marks=needs_compiled),
    pytest.param(opencv_each, id="opencv"),
]


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


@pytest.mark.parametrize("each", RESAMPLERS)
@pytest.mark.parametrize(("size", "to"), [
    pytest.param((2725, 2225), (1764, 1440), id="1.5x-low-passed-then-bicubic"),
    pytest.param((2725, 2225), (1090, 890), id="2.5x-odd-sides-low-passed-then-bicubic"),
    pytest.param((2720, 2220), (680, 555), id="4x-even-sides-halved-once"),
    pytest.param((2725, 2225), (681, 556), id="4x-odd-sides-halved-once"),
    pytest.param((1764, 1440), (306, 250), id="5.76x-preview-to-thumbnail-halved-once"),
    pytest.param((3265, 2449), (306, 230), id="10.7x-odd-sides-halved-twice"),
    pytest.param((4032, 3024), (1920, 1440), id="2.1x-phone-heic"),
])
def test_resampling_maps_every_pixel_where_a_full_frame_resize_does(
        size: tuple[int, int], to: tuple[int, int], each: Callable[..., Any]) -> None:
    """Each output pixel's centre lies where its source position is: a ramp whose value is
    the source x (or y) of each pixel's centre comes out as the ramp of the output's centres,
    to within the bicubic kernel's own ripple (under a tenth of an output pixel, averaging to
    nothing). A box shrink that cropped or padded a remainder would shift the image instead
    (up to half a pixel at the far edge: on a detailed photo, -0.018 SSIM)."""
    w, h = size
    xs = np.broadcast_to(np.arange(w, dtype=np.float32) + 0.5, (h, w))
    ys = np.broadcast_to(np.arange(h, dtype=np.float32)[:, None] + 0.5, (h, w))
    [out] = each(np.ascontiguousarray(np.stack([xs, ys], axis=2)), [to])
    assert out.shape == (to[1], to[0], 2)
    inner = np.s_[3:-3]  # the borders replicate the edge, as every resampler does
    for got, n, src in ((out[10, :, 0], to[0], w), (out[:, 10, 1], to[1], h)):
        want = (np.arange(n) + 0.5) * src / n
        error = ((got - want) * n / src)[inner]  # in output pixels
        assert abs(error.mean()) < 0.01
        assert np.abs(error).max() < 0.1, np.abs(error).max()
        assert abs(error[-20:].mean()) < 0.01  # no drift towards the far edge either


@pytest.mark.parametrize(("factor", "taps"), [
    pytest.param(1.0, 1, id="no-shrink-no-filter"), pytest.param(0.5, 1, id="upscale-no-filter"),
    pytest.param(1.5, 9, id="1.5x-reaches-4.5-pixels"),
    pytest.param(1.7, 9, id="1.7x-its-negligible-end-taps-dropped"),
    pytest.param(3.9, 21, id="3.9x")])
def test_the_low_pass_is_a_normalised_lanczos_3_stretched_to_the_shrink(
        factor: float, taps: int) -> None:
    kernel = lanczos(factor)
    assert len(kernel) == taps
    assert kernel.sum() == pytest.approx(1, abs=1e-6)
    assert np.array_equal(kernel, kernel[::-1])


@pytest.mark.parametrize("each", RESAMPLERS)
def test_a_pattern_finer_than_the_output_comes_out_flat_not_as_moire(
        each: Callable[..., Any]) -> None:
    """One-pixel lines every 3 pixels shrunk 5.76 times: a plain bicubic resize turns them
    into a beat of dark and light bands; the low-pass leaves the mean grey."""
    row = np.where(np.arange(1764) % 3 == 0, 0, 255).astype(np.uint8)
    [out] = each(np.ascontiguousarray(np.tile(row, (1440, 1))[:, :, None]), [(306, 250)])
    assert out[5:-5, 5:-5].std() < 2
    assert abs(float(out.mean()) - 170) < 2


@pytest.mark.parametrize("compiled", [
    pytest.param(True, id="compiled", marks=needs_compiled),
    pytest.param(False, id="opencv")])
@pytest.mark.parametrize(("mode", "hidden", "shown"), [
    ("RGBA", (0, 255, 0), (255, 0, 0)), ("LA", (255,), (0,))])
def test_resampling_with_alpha_lets_no_colour_bleed_from_transparent_pixels(
        mode: str, hidden: tuple[int, ...], shown: tuple[int, ...], compiled: bool) -> None:
    """Premultiplied, as Pillow resizes RGBA and LA: what lies under alpha 0 never shows."""
    arr = np.zeros((64, 64, len(mode)), np.uint8)
    arr[:, :32] = (*hidden, 0)  # invisible
    arr[:, 32:] = (*shown, 255)  # opaque
    out = TurboEngine(compiled).resize(Pixels(arr, mode), (20, 20)).array
    visible = out[..., -1] > 0
    assert visible.any()
    assert (out[..., :-1][visible] == shown).all()
    assert (out[:, -1] == (*shown, 255)).all()


@pytest.mark.parametrize("orientation", range(1, 9), ids=lambda o: f"exif-{o}")
def test_orientation_moves_pixels_exactly_as_pillows_transpose(orientation: int) -> None:
    arr = np.arange(5 * 7 * 3, dtype=np.uint8).reshape(5, 7, 3)
    ours = TurboEngine().orient(Pixels(arr, "RGB"), orientation)
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

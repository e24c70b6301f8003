"""The compiled resampler (``thumbnails/polyphase.py`` and its loops in ``_polyphase.c``): Pillow's
Lanczos-3 in float, any shape, any band count, uint8 rounded once; the weights it is given;
and arguments that do not fit refused before a byte is read.

Pillow's own ``resize(LANCZOS)`` of mode ``F`` (float throughout) is the specification: its
8-bit modes round and clip between their two passes, so they differ from any float resampler by
a level or two where the kernel overshoots.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from mediapipe.thumbnails import polyphase
from tests.support.compiled import needs_compiled

pytestmark = needs_compiled

sides = st.integers(min_value=1, max_value=90)


@pytest.fixture(params=["avx2", "portable"])
def loops(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each test of the pixels under both loops over uint8 rows: the AVX2 one (this CPU's,
    where it has AVX2 and FMA) and the portable one (float rows in a ring)."""
    from mediapipe.thumbnails import _polyphase

    before = _polyphase.avx2()
    if _polyphase.avx2(request.param == "avx2") != (request.param == "avx2"):
        pytest.skip("this CPU has no AVX2 and FMA")
    yield request.param
    _polyphase.avx2(before)


def pillow_float(a: npt.NDArray[np.float32], size: tuple[int, int]) -> npt.NDArray[np.float32]:
    """Each band resized by Pillow in mode F, stacked again."""
    bands = [np.asarray(Image.fromarray(np.ascontiguousarray(a[:, :, c]), "F")
                        .resize(size, Image.Resampling.LANCZOS))
             for c in range(a.shape[2])]
    return np.stack(bands, axis=2)


@settings(max_examples=60, deadline=None)
@given(n_in=st.integers(min_value=1, max_value=5000), n_out=st.integers(min_value=1,
                                                                         max_value=2000))
def test_every_outputs_weights_sum_to_one_over_a_window_inside_the_input(
        n_in: int, n_out: int) -> None:
    start, w = polyphase.weights(n_in, n_out)
    taps = w.shape[1]
    assert start.shape == (n_out,) and w.shape == (n_out, taps)
    assert (start >= 0).all() and (start + taps <= n_in).all()
    steps = np.diff(start)
    assert (steps >= 0).all() and (steps <= taps).all()  # what the loops rely on
    assert np.allclose(w.sum(axis=1), 1, atol=1e-5)


@settings(max_examples=80, deadline=None,  # the loops fixture holds for every example
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(w=sides, h=sides, ow=sides, oh=sides, bands=st.integers(min_value=1, max_value=4),
       seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_uint8_pixels_are_pillows_float_lanczos_rounded(loops: str, w: int, h: int, ow: int,
                                                        oh: int, bands: int, seed: int) -> None:
    """Noise, the hardest input (every tap matters), shrunk or enlarged, 1 to 4 bands."""
    a = np.random.default_rng(seed).integers(0, 256, (h, w, bands), dtype=np.uint8)
    ours = polyphase.resample(a, (ow, oh))
    want = np.clip(np.floor(pillow_float(a.astype(np.float32), (ow, oh)) + 0.5), 0, 255)
    assert ours.shape == (oh, ow, bands) and ours.dtype == np.uint8
    assert np.abs(ours.astype(np.int16) - want).max() <= 1  # a sum within float error of .5


@settings(max_examples=40, deadline=None)
@given(w=sides, h=sides, ow=sides, oh=sides, bands=st.integers(min_value=1, max_value=4),
       seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_float_pixels_are_pillows_float_lanczos(w: int, h: int, ow: int, oh: int, bands: int,
                                                seed: int) -> None:
    a = np.random.default_rng(seed).uniform(-1000, 1000, (h, w, bands)).astype(np.float32)
    ours = polyphase.resample(a, (ow, oh))
    assert ours.dtype == np.float32
    assert np.allclose(ours, pillow_float(a, (ow, oh)), atol=0.05)


def test_a_photo_sized_shrink_is_pillows_lanczos(loops: str) -> None:
    """The preview's own case: 3264x2448 RGB to 1920x1440, as the engine asks it."""
    a = np.random.default_rng(1).integers(0, 256, (2448, 3264, 3), dtype=np.uint8)
    ours = polyphase.resample(a, (1920, 1440))
    want = np.clip(np.floor(pillow_float(a.astype(np.float32), (1920, 1440)) + 0.5), 0, 255)
    diff = np.abs(ours.astype(np.int16) - want)
    assert diff.max() <= 1 and diff.mean() < 0.001


def test_a_view_that_is_not_contiguous_is_resampled_as_its_pixels(loops: str) -> None:
    a = np.random.default_rng(2).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    flipped = a[:, ::-1]
    assert np.array_equal(polyphase.resample(flipped, (20, 13)),
                          polyphase.resample(np.ascontiguousarray(flipped), (20, 13)))


def test_other_pixel_types_are_refused() -> None:
    with pytest.raises(TypeError, match="uint8 or float32"):
        polyphase.resample(np.zeros((4, 4, 3), np.float64), (2, 2))


def loops_args(**change: object) -> list[object]:
    """Valid arguments to the loops (40x30 RGB to 20x15), with ``change`` made."""
    xs, xw = polyphase.weights(40, 20)
    ys, yw = polyphase.weights(30, 15)
    args: dict[str, object] = dict(
        src=np.zeros((30, 40, 3), np.uint8), sw=40, sh=30, dst=np.zeros((15, 20, 3), np.uint8),
        dw=20, dh=15, bands=3, is_float=False, xstart=xs, xweight=xw, xtaps=xw.shape[1],
        ystart=ys, yweight=yw, ytaps=yw.shape[1])
    args.update(change)
    return list(args.values())


@pytest.mark.parametrize(("change", "why"), [
    pytest.param({"sw": 41}, "source: 3600 bytes, the shape wants 3690",
                 id="source-too-small"),
    pytest.param({"dst": np.zeros((15, 21, 3), np.uint8)}, "destination",
                 id="wrong-destination"),
    pytest.param({"xtaps": 99}, "x weights", id="weights-fewer-than-taps"),
    pytest.param({"ystart": np.full(15, 29, np.int32)}, "y window 0", id="window-outside"),
    pytest.param({"xstart": np.array([0, 2, 1, *range(3, 20)], np.int32)}, "x window 2",
                 id="windows-out-of-order"),
    pytest.param({"bands": 5}, "bands not 1 to 4", id="five-bands"),
    pytest.param({"dh": 0}, "empty shape", id="empty"),
])
def test_arguments_that_do_not_fit_are_refused_before_anything_is_read(
        change: dict[str, object], why: str) -> None:
    from mediapipe.thumbnails import _polyphase

    with pytest.raises(ValueError, match=why):
        _polyphase.resample(*loops_args(**change))


def test_a_read_only_destination_is_refused() -> None:
    from mediapipe.thumbnails import _polyphase

    dst = np.zeros((15, 20, 3), np.uint8)
    dst.flags.writeable = False
    with pytest.raises((ValueError, BufferError)):
        _polyphase.resample(*loops_args(dst=dst))

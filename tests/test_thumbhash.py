"""ThumbHash: format invariants, average colour, layout, alpha, round trip."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from mediapipe.thumbnails import thumbhash


def solid(rgb: tuple[int, int, int], w: int = 40, h: int = 30, a: int = 255) -> np.ndarray:
    out = np.empty((h, w, 4), np.uint8)
    out[..., :3], out[..., 3] = rgb, a
    return out


@pytest.mark.parametrize("rgb", [(255, 0, 0), (0, 128, 0), (30, 60, 200), (250, 250, 250)],
                         ids=str)
def test_average_colour_round_trips(rgb: tuple[int, int, int]) -> None:
    r, g, b, a = thumbhash.average_rgba(thumbhash.encode(solid(rgb)))
    assert np.allclose((r, g, b), np.array(rgb) / 255, atol=0.04) and a == 1.0


@pytest.mark.parametrize(("w", "h"), [(100, 75), (75, 100), (100, 100), (1, 1), (100, 10)])
def test_opaque_hashes_are_short_and_decode_to_the_aspect(w: int, h: int) -> None:
    img = np.random.default_rng(0).integers(0, 255, (h, w, 4), dtype=np.uint8)
    img[..., 3] = 255
    hash_ = thumbhash.encode(img)
    assert len(hash_) <= 25
    dh, dw = thumbhash.decode(hash_).shape[:2]
    assert max(dw, dh) == 32
    if w / h > 1.5:
        assert dw > dh
    elif h / w > 1.2:
        assert dh > dw


def test_layout_survives_left_red_right_blue() -> None:
    img = solid((255, 0, 0), 100, 50)
    img[:, 50:, :3] = (0, 0, 255)
    out = thumbhash.decode(thumbhash.encode(img)).astype(int)
    left, right = out[:, :8].mean(axis=(0, 1)), out[:, -8:].mean(axis=(0, 1))
    assert left[0] > left[2] + 100 and right[2] > right[0] + 100


def test_transparency_sets_the_alpha_flag_and_decodes_it() -> None:
    img = solid((0, 200, 0), 60, 60)
    img[:, :30, 3] = 0
    hash_ = thumbhash.encode(img)
    assert hash_[2] & 0x80
    out = thumbhash.decode(hash_)
    assert out[:, :5, 3].mean() < 80 and out[:, -5:, 3].mean() > 180


def test_base64_is_the_stored_form() -> None:
    hash_ = thumbhash.encode(solid((10, 20, 30)))
    assert base64.b64decode(thumbhash.to_base64(hash_)) == hash_


@pytest.mark.parametrize("shape", [(101, 10, 4), (10, 101, 4), (10, 10, 3), (0, 10, 4)])
def test_input_that_breaks_the_format_is_refused(shape: tuple[int, int, int]) -> None:
    with pytest.raises(ValueError):
        thumbhash.encode(np.zeros(shape, np.uint8))

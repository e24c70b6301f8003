"""Colour management both engines share: pixels converted to the output space by their ICC
profile, and the one test of pixels that need no conversion (nothing copied for them)."""

from __future__ import annotations

import pytest
from PIL import Image

from fixtures.thumbnails import grey_icc
from mediapipe import colour
from mediapipe.thumbnails import cms
from mediapipe.thumbnails.engine import PillowEngine
from mediapipe.thumbnails.turbo import Pixels, TurboEngine, available

P3, SRGB = colour.Space.P3, colour.Space.SRGB


@pytest.mark.parametrize(("icc", "space", "unchanged"), [
    pytest.param(colour.display_p3_icc(), P3, True, id="display-p3-kept-as-p3"),
    pytest.param(colour.display_p3_icc(), SRGB, False, id="display-p3-to-srgb"),
    pytest.param(colour.srgb_icc(), P3, False, id="srgb-profile-to-p3"),
])
def test_a_profile_already_in_the_output_space_costs_no_transform(
        icc: bytes, space: colour.Space, unchanged: bool) -> None:
    assert cms.leaves_unchanged(icc, space) is unchanged


NEEDS = [
    pytest.param("RGB", None, SRGB, True, id="no-profile"),
    pytest.param("RGBA", colour.srgb_icc(), SRGB, True, id="srgb-profile"),
    pytest.param("RGB", colour.display_p3_icc(), P3, True, id="display-p3-kept-as-p3"),
    pytest.param("RGB", colour.display_p3_icc(), SRGB, False, id="display-p3-to-srgb"),
    pytest.param("L", None, SRGB, False, id="grey-becomes-rgb"),
]


@pytest.mark.parametrize(("mode", "icc", "space", "unchanged"), NEEDS)
def test_pixels_that_need_no_conversion_are_returned_as_they_are_by_both_engines(
        mode: str, icc: bytes | None, space: colour.Space, unchanged: bool) -> None:
    image = Image.new(mode, (4, 4))
    assert cms.unchanged(mode, icc, space) is unchanged
    assert (PillowEngine().to_space(image, icc, space) is image) is unchanged
    if available():
        pixels = Pixels.of(image)
        assert (TurboEngine().to_space(pixels, icc, space) is pixels) is unchanged


def test_a_grey_profile_on_rgb_pixels_is_a_mislabel_and_leaves_them_alone() -> None:
    image = Image.new("RGB", (4, 4), (10, 200, 30))
    assert cms.unchanged("RGB", grey_icc(1.8), SRGB)
    assert PillowEngine().to_space(image, grey_icc(1.8), SRGB) is image

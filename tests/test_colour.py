"""Built ICC profiles; the description, colour space and gamut of embedded ones."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageCms

from mediapipe import colour


def convert(rgb: list[tuple[int, int, int]], src: bytes, dst: object) -> np.ndarray:
    im = Image.new("RGB", (len(rgb), 1))
    im.putdata(rgb)
    t = ImageCms.buildTransform(ImageCms.ImageCmsProfile(io.BytesIO(src)), dst, "RGB", "RGB")
    return np.asarray(ImageCms.applyTransform(im, t), int)[0]


SAMPLES = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (200, 150, 100), (17, 99, 180)]


def test_built_srgb_profile_matches_littlecms_srgb() -> None:
    got = convert(SAMPLES, colour.srgb_icc(), ImageCms.createProfile("sRGB"))
    assert np.abs(got - np.array(SAMPLES)).max() <= 1


def test_built_p3_profile_is_a_valid_v4_display_p3() -> None:
    prof = ImageCms.ImageCmsProfile(io.BytesIO(colour.display_p3_icc())).profile
    assert prof.profile_description == "Display P3" and prof.version >= 4.3
    red_xy = prof.red_colorant[1][:2]  # D50-adapted, as Apple's profile stores it
    assert red_xy == pytest.approx((0.682, 0.319), abs=0.002)


@pytest.mark.parametrize(("icc", "gamut"), [
    pytest.param(None, colour.Gamut.NONE, id="none"),
    pytest.param(b"garbage", colour.Gamut.NONE, id="unreadable"),
    pytest.param("lcms-srgb", colour.Gamut.SRGB, id="srgb"),
    pytest.param("p3", colour.Gamut.WIDE, id="display-p3"),
    pytest.param("adobe", colour.Gamut.WIDE, id="adobe-rgb"),
    pytest.param("lab", colour.Gamut.OTHER, id="lab"),
])
def test_profiles_are_classified_by_gamut(icc: object, gamut: colour.Gamut) -> None:
    assert colour.classify(_profile(icc) if isinstance(icc, str) else icc) is gamut


def _profile(name: str) -> bytes:
    """A profile by what it is: built here, made by LittleCMS, or damaged."""
    if name in ("lcms-srgb", "lab"):
        lcms_name = "sRGB" if name == "lcms-srgb" else "LAB"
        return ImageCms.ImageCmsProfile(ImageCms.createProfile(lcms_name)).tobytes()
    return {"p3": colour.display_p3_icc(),
            "adobe": colour.build_icc("Adobe RGB (1998)",
                                      ((0.64, 0.33), (0.21, 0.71), (0.15, 0.06))),
            "truncated-in-tags": colour.display_p3_icc()[:200],
            "garbage": b"garbage" * 40}[name]


@pytest.mark.parametrize(("icc", "description", "space"), [
    pytest.param("p3", "Display P3", "RGB", id="v4-mluc"),
    pytest.param("lcms-srgb", "sRGB built-in", "RGB", id="lcms-v4"),
    pytest.param("lab", "Lab identity built-in", "Lab", id="v2-desc"),
    pytest.param("truncated-in-tags", None, None, id="truncated"),
    pytest.param("garbage", None, None, id="garbage"),
])
def test_profile_description_and_space_are_read_or_none(icc: str, description: str | None,
                                                        space: str | None) -> None:
    assert colour.profile_description(_profile(icc)) == description
    assert colour.profile_space(_profile(icc)) == space


@pytest.mark.parametrize(("setting", "space"), [("p3", colour.Space.P3),
                                                ("srgb", colour.Space.SRGB)])
def test_only_wide_sources_follow_the_colorspace_setting(setting: str,
                                                         space: colour.Space) -> None:
    assert colour.output_space(colour.display_p3_icc(), setting) is space
    assert colour.output_space(colour.srgb_icc(), setting) is colour.Space.SRGB
    assert colour.output_space(None, setting) is colour.Space.SRGB

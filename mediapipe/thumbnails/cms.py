"""Colour management of decoded pixels: a source's ICC profile converted to sRGB or Display P3.

Owns: ``to_space`` (a Pillow image in ``L``, ``LA``, ``RGB``, ``RGBA`` or ``CMYK`` to RGB or
RGBA in the output space through LittleCMS, ``ImageCms``: an RGB profile's transform, a grey
profile's tone curve, a CMYK profile to sRGB; pixels with no profile, an sRGB one or one that
does not fit them kept as they are), ``unchanged`` (the one test of pixels that need nothing,
which both engines ask before copying anything), ``leaves_unchanged`` (a profile already in the
output space, measured once per profile) and the transforms, cached per profile. Does not own:
what a profile describes or which output space to use (``colour``); decoding (the engines).

Entry points: ``to_space``, ``unchanged``, ``leaves_unchanged``.
"""

from __future__ import annotations

import functools
import io
from typing import cast

import numpy as np
from PIL import Image, ImageCms

from mediapipe import colour

__all__ = ["leaves_unchanged", "to_space", "unchanged"]


@functools.lru_cache(maxsize=32)
def _transform(icc: bytes, mode: str, space: colour.Space) -> ImageCms.ImageCmsTransform:
    src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    dst = (ImageCms.ImageCmsProfile(io.BytesIO(colour.display_p3_icc()))
           if space is colour.Space.P3 else ImageCms.createProfile("sRGB"))
    out_mode = "RGBA" if mode == "RGBA" else "RGB"
    return ImageCms.buildTransform(src, dst, mode, out_mode,
                                   renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC)


@functools.lru_cache(maxsize=32)
def leaves_unchanged(icc: bytes, space: colour.Space) -> bool:
    """Whether converting RGB from ``icc`` to ``space`` moves no 8-bit value by more than one
    level, over a 16-step colour cube: a source already in the output space (an iPhone's Display
    P3 kept as P3), whose transform would cost 42 ms at preview size for nothing. Once per
    profile."""
    steps = np.linspace(0, 255, 16).round().astype(np.uint8)
    cube = np.stack(np.meshgrid(steps, steps, steps, indexing="ij"), -1).reshape(64, 64, 3)
    out = np.asarray(_apply(Image.fromarray(cube, "RGB"), _transform(icc, "RGB", space)))
    return int(np.abs(out.astype(np.int16) - cube).max()) <= 1


def _apply(image: Image.Image, transform: ImageCms.ImageCmsTransform) -> Image.Image:
    # cast: Pillow types applyTransform as ``Image | None`` for both modes; None comes back
    # only with inPlace=True, which is never asked for here.
    return cast(Image.Image, ImageCms.applyTransform(image, transform))


def unchanged(mode: str, icc: bytes | None, space: colour.Space) -> bool:
    """Whether colour pixels (RGB, RGBA) with ``icc`` are already in ``space``: no profile, an
    sRGB one (or none that says anything), a grey or CMYK profile on RGB pixels (mislabelled:
    the pixels are left alone), or one whose transform moves nothing (``leaves_unchanged``).
    Grey and CMYK pixels always become RGB."""
    if mode in ("L", "LA", "CMYK"):
        return False
    if icc is None or colour.classify(icc) in (colour.Gamut.NONE, colour.Gamut.SRGB):
        return True
    return colour.profile_space(icc) != "RGB" or leaves_unchanged(icc, space)


def to_space(image: Image.Image, icc: bytes | None, space: colour.Space) -> Image.Image:
    """RGB or RGBA in ``space``: ICC conversion for non-sRGB sources, grey and CMYK to RGB."""
    if unchanged(image.mode, icc, space):
        return image
    if image.mode in ("L", "LA"):
        if icc is None or colour.profile_space(icc) != "GRAY":
            return image.convert("RGBA" if image.mode == "LA" else "RGB")
        # A grey profile's tone curve applies, as an RGB profile's does (a Gray Gamma 1.8
        # mid-grey 128 shows as 146 in sRGB, not 128).
        out = _apply(image.getchannel("L"), _transform(icc, "L", space))
        if image.mode == "LA":
            out.putalpha(image.getchannel("A"))
        return out
    if image.mode == "CMYK":
        if (icc and colour.classify(icc) is colour.Gamut.OTHER
                and colour.profile_space(icc) == "CMYK"):
            return _apply(image, _transform(icc, "CMYK", colour.Space.SRGB))
        return image.convert("RGB")
    assert icc is not None  # ``unchanged`` keeps RGB pixels without a profile
    return _apply(image, _transform(icc, image.mode, space))

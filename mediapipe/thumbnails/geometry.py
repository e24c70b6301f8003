"""Size arithmetic of the thumbnail stage, kept out of the engines.

Owns: fitting the shorter side to a target without upscaling, fitting inside a box, and the swap
of width and height under EXIF orientations 5-8 and 90/270° video rotation. Does not own pixels.

Entry points: ``fit_shorter``, ``fit_inside``, ``stored``, ``dct_scale``.
"""

from __future__ import annotations

__all__ = ["dct_scale", "fit_inside", "fit_shorter", "stored"]


def fit_shorter(size: tuple[int, int], shorter: int) -> tuple[int, int]:
    """``size`` scaled so its shorter side is ``shorter``; unchanged when already smaller."""
    return _scale_to(size, min(size), shorter)


def fit_inside(size: tuple[int, int], box: int) -> tuple[int, int]:
    """``size`` scaled to fit a ``box``×``box`` square; unchanged when it already fits."""
    return _scale_to(size, max(size), box)


def _scale_to(size: tuple[int, int], side: int, target: int) -> tuple[int, int]:
    """``size`` scaled so that ``side`` (one of its sides) becomes ``target``; never upscaled."""
    if side <= target:
        return size
    w, h = size
    scale = target / side
    return (max(1, round(w * scale)), max(1, round(h * scale)))


def stored(size: tuple[int, int], orientation: int = 1, rotation: int = 0) -> tuple[int, int]:
    """The stored (pre-orientation) size of an image displayed at ``size``, or the reverse."""
    w, h = size
    swap = orientation in (5, 6, 7, 8) or rotation % 180 == 90
    return (h, w) if swap else (w, h)


def dct_scale(size: tuple[int, int], at_least: tuple[int, int]) -> int:
    """The largest of 8, 4, 2, 1 that, dividing ``size`` (rounding up, as a JPEG decoder
    does), still covers ``at_least``: the JPEG DCT scaling that keeps a preview sharp."""
    for k in (8, 4, 2):
        if -(-size[0] // k) >= at_least[0] and -(-size[1] // k) >= at_least[1]:
            return k
    return 1

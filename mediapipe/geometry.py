"""Size arithmetic of the thumbnail stage, kept out of the engines.

Owns: fitting the shorter side to a target without upscaling, fitting inside a box, and the swap
of width and height under EXIF orientations 5-8 and 90/270° video rotation. Does not own pixels.

Entry points: ``fit_shorter``, ``fit_inside``, ``stored``.
"""

from __future__ import annotations

__all__ = ["fit_inside", "fit_shorter", "stored"]


def fit_shorter(size: tuple[int, int], shorter: int) -> tuple[int, int]:
    """``size`` scaled so its shorter side is ``shorter``; unchanged when already smaller."""
    w, h = size
    short = min(w, h)
    if short <= shorter:
        return (w, h)
    scale = shorter / short
    return (max(1, round(w * scale)), max(1, round(h * scale)))


def fit_inside(size: tuple[int, int], box: int) -> tuple[int, int]:
    """``size`` scaled to fit a ``box``×``box`` square; unchanged when it already fits."""
    w, h = size
    long = max(w, h)
    if long <= box:
        return (w, h)
    scale = box / long
    return (max(1, round(w * scale)), max(1, round(h * scale)))


def stored(size: tuple[int, int], orientation: int = 1, rotation: int = 0) -> tuple[int, int]:
    """The stored (pre-orientation) size of an image displayed at ``size``, or the reverse."""
    w, h = size
    swap = orientation in (5, 6, 7, 8) or rotation % 180 == 90
    return (h, w) if swap else (w, h)

"""Lanczos-3 resampling that computes only the output pixels: the weights, and the compiled loops.

Owns: the kernel weights of a resize along one axis (``weights``: Pillow's own geometry, a
Lanczos-3 stretched by the shrink and cut at the image's edges, each output's taps summing to
one) and ``resample``, which hands them with the pixels to ``_polyphase`` (C: rows first, then
along each row, uint8 or float32, 1 to 4 bands). ``available`` says whether the C part was
built (it is optional in ``setup.py``: a machine without a compiler gets ``turbo``'s OpenCV
path instead). Does not own when to use it (``turbo.TurboEngine``).

Entry points: ``available``, ``loops``, ``resample``, ``weights``.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["available", "loops", "resample", "weights"]

SUPPORT = 3  # Lanczos-3: the kernel reaches 3 output pixels (input pixels when enlarging)


@functools.cache
def available() -> bool:
    """The compiled loops load (``setup.py`` builds them where a C compiler is)."""
    try:
        from mediapipe.thumbnails import _polyphase  # noqa: F401
    except ImportError:
        return False
    return True


def loops() -> str | None:
    """Which loops resample here: ``"AVX2"`` (x86-64 CPUs with AVX2 and FMA) or
    ``"portable"``; None where the compiled resampler was not built."""
    if not available():
        return None
    from mediapipe.thumbnails import _polyphase

    return "AVX2" if _polyphase.avx2() else "portable"


def resample(a: npt.NDArray[Any], size: tuple[int, int]) -> npt.NDArray[Any]:
    """``a`` (height, width, bands: uint8 or float32, 1 to 4 bands) resized to ``size``
    (width, height) by Lanczos-3, as Pillow's ``resize(size, LANCZOS)`` maps and weighs it
    (in float throughout, as Pillow's mode F; uint8 rounded once, at the end)."""
    from mediapipe.thumbnails import _polyphase

    if a.dtype not in (np.uint8, np.float32):
        raise TypeError(f"resample: uint8 or float32 pixels, not {a.dtype}")
    h, w, bands = a.shape
    out = np.empty((size[1], size[0], bands), a.dtype)
    xs, xw = weights(w, size[0])
    ys, yw = weights(h, size[1])
    _polyphase.resample(np.ascontiguousarray(a), w, h, out, size[0], size[1], bands,
                        a.dtype == np.float32, xs, xw, xw.shape[1], ys, yw, yw.shape[1])
    return out


@functools.lru_cache(maxsize=64)
def weights(n_in: int, n_out: int) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]:
    """Where each of ``n_out`` outputs' windows starts in ``n_in`` inputs, and its weights
    (one row an output, as many as the widest window, zero beyond its own): output ``i``'s
    centre lies at ``(i + 0.5) * scale`` in the input; the kernel is stretched by the shrink
    (by 1 when enlarging) and cut at the edges, and each row is normalised. Each window starts
    where the one before does or later, by at most its width (``_polyphase`` checks it)."""
    scale = n_in / n_out
    stretch = max(scale, 1.0)
    reach = SUPPORT * stretch
    centre = (np.arange(n_out) + 0.5) * scale
    lo = np.maximum(np.trunc(centre - reach + 0.5), 0).astype(np.int64)
    hi = np.minimum(np.trunc(centre + reach + 0.5), n_in).astype(np.int64)
    taps = int((hi - lo).max())
    start = np.minimum(lo, n_in - taps)  # a window cut by the far edge starts earlier
    x = start[:, None] + np.arange(taps)  # the input pixel of each tap
    t = (x - centre[:, None] + 0.5) / stretch
    kernel = np.where((x >= lo[:, None]) & (x < hi[:, None]) & (np.abs(t) < SUPPORT),
                      np.sinc(t) * np.sinc(t / SUPPORT), 0.0)
    kernel /= kernel.sum(axis=1, keepdims=True)
    return start.astype(np.int32), np.ascontiguousarray(kernel, np.float32)

"""ThumbHash: a ~25-byte placeholder that decodes to a blurry version of an image.

Owns: the ThumbHash encoding (Evan Wallace's published format, written here from its description:
the image in an L/P/Q/A colour space, a few low DCT coefficients per channel, quantised to 4 bits)
and the two decoders tests and clients need (average colour, a small RGBA image). Does not own:
resizing the source to fit 100×100 (the caller does, ``make``).

Entry points: ``encode(rgba) -> bytes``, ``to_base64``, ``average_rgba(hash)``, ``decode(hash)``.
"""

from __future__ import annotations

import base64
import math

import numpy as np
import numpy.typing as npt

__all__ = ["average_rgba", "decode", "encode", "to_base64"]

MAX_SIDE = 100


def _round(x: float) -> int:
    """Round half up, as the reference implementation's ``Math.round`` does."""
    return math.floor(x + 0.5)


def _dct(channel: npt.NDArray[np.float64], nx: int, ny: int) -> tuple[float, list[float], float]:
    """DC term, AC terms normalised to 0..1 and their scale, in the format's coefficient order."""
    h, w = channel.shape
    fy = np.cos(np.pi / h * np.arange(ny)[:, None] * (np.arange(h)[None, :] + 0.5))
    fx = np.cos(np.pi / w * np.arange(nx)[:, None] * (np.arange(w)[None, :] + 0.5))
    coeffs = fy @ channel @ fx.T / (w * h)  # [cy, cx]
    dc, ac = 0.0, []
    for cy in range(ny):
        cx = 0
        while cx * ny < nx * (ny - cy):
            if cx or cy:
                ac.append(float(coeffs[cy, cx]))
            else:
                dc = float(coeffs[0, 0])
            cx += 1
    scale = max((abs(f) for f in ac), default=0.0)
    if scale:
        ac = [0.5 + 0.5 / scale * f for f in ac]
    return dc, ac, scale


def encode(rgba: npt.NDArray[np.uint8]) -> bytes:
    """The ThumbHash of an ``(h, w, 4)`` uint8 RGBA array no larger than 100×100."""
    if rgba.ndim != 3 or rgba.shape[2] != 4:
        raise ValueError(f"expected an (h, w, 4) RGBA array, got shape {rgba.shape}")
    h, w = rgba.shape[:2]
    if not (0 < w <= MAX_SIDE and 0 < h <= MAX_SIDE):
        raise ValueError(f"{w}x{h} does not fit in {MAX_SIDE}x{MAX_SIDE}")
    px = rgba.astype(np.float64) / 255.0
    alpha = px[..., 3]
    total_a = float(alpha.sum())
    avg = (px[..., :3] * alpha[..., None]).sum(axis=(0, 1)) / total_a if total_a else np.zeros(3)
    has_alpha = total_a < w * h
    l_limit = 5 if has_alpha else 7
    lx = max(1, _round(l_limit * w / max(w, h)))
    ly = max(1, _round(l_limit * h / max(w, h)))
    # Composite over the average colour, then RGB -> LPQ.
    rgb = avg * (1 - alpha[..., None]) + px[..., :3] * alpha[..., None]
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    l_dc, l_ac, l_scale = _dct((r + g + b) / 3, max(3, lx), max(3, ly))
    p_dc, p_ac, p_scale = _dct((r + g) / 2 - b, 3, 3)
    q_dc, q_ac, q_scale = _dct(r - g, 3, 3)
    landscape = w > h
    header24 = (_round(63 * l_dc) | (_round(31.5 + 31.5 * p_dc) << 6)
                | (_round(31.5 + 31.5 * q_dc) << 12) | (_round(31 * l_scale) << 18)
                | (int(has_alpha) << 23))
    header16 = ((ly if landscape else lx) | (_round(63 * p_scale) << 3)
                | (_round(63 * q_scale) << 9) | (int(landscape) << 15))
    out = [header24 & 255, (header24 >> 8) & 255, header24 >> 16, header16 & 255, header16 >> 8]
    channels = [l_ac, p_ac, q_ac]
    if has_alpha:
        a_dc, a_ac, a_scale = _dct(alpha, 5, 5)
        out.append(_round(15 * a_dc) | (_round(15 * a_scale) << 4))
        channels.append(a_ac)
    nibbles = [_round(15 * f) for ac in channels for f in ac]
    if len(nibbles) % 2:
        nibbles.append(0)
    out += [lo | (hi << 4) for lo, hi in zip(nibbles[::2], nibbles[1::2], strict=True)]
    return bytes(out)


def to_base64(hash_: bytes) -> str:
    """The form Immich stores and serves."""
    return base64.b64encode(hash_).decode("ascii")


def _header(hash_: bytes) -> dict[str, float | int | bool]:
    h24 = hash_[0] | (hash_[1] << 8) | (hash_[2] << 16)
    h16 = hash_[3] | (hash_[4] << 8)
    has_alpha = bool(h24 >> 23)
    landscape = bool(h16 >> 15)
    return {
        "l_dc": (h24 & 63) / 63, "p_dc": ((h24 >> 6) & 63) / 31.5 - 1,
        "q_dc": ((h24 >> 12) & 63) / 31.5 - 1, "l_scale": ((h24 >> 18) & 31) / 31,
        "p_scale": ((h16 >> 3) & 63) / 63, "q_scale": ((h16 >> 9) & 63) / 63,
        "has_alpha": has_alpha, "landscape": landscape,
        "raw_lx": (5 if has_alpha else 7) if landscape else h16 & 7,
        "raw_ly": h16 & 7 if landscape else (5 if has_alpha else 7),
        "a_dc": (hash_[5] & 15) / 15 if has_alpha else 1.0,
        "a_scale": (hash_[5] >> 4) / 15 if has_alpha else 0.0,
    }


def _lpq_to_rgb(lum: npt.ArrayLike, p: npt.ArrayLike,
                q: npt.ArrayLike) -> npt.NDArray[np.float64]:
    lum_, p_, q_ = (np.asarray(x, dtype=np.float64) for x in (lum, p, q))
    b = lum_ - 2 / 3 * p_
    r = (3 * lum_ - b + q_) / 2
    return np.clip(np.stack([r, r - q_, b], axis=-1), 0, 1)


def average_rgba(hash_: bytes) -> tuple[float, float, float, float]:
    """The average colour the hash encodes, each channel 0..1."""
    hd = _header(hash_)
    r, g, b = _lpq_to_rgb(hd["l_dc"], hd["p_dc"], hd["q_dc"]).tolist()
    return (r, g, b, float(hd["a_dc"]))


def decode(hash_: bytes) -> npt.NDArray[np.uint8]:
    """The blurry ``(h, w, 4)`` RGBA image (at most 32 px on a side) the hash stands for."""
    hd = _header(hash_)
    raw_lx, raw_ly, has_alpha = int(hd["raw_lx"]), int(hd["raw_ly"]), bool(hd["has_alpha"])
    lx, ly = max(3, raw_lx), max(3, raw_ly)
    start = 6 if has_alpha else 5
    nibbles = [(byte >> shift) & 15 for byte in hash_[start:] for shift in (0, 4)]
    pos = 0

    def channel(nx: int, ny: int, scale: float) -> tuple[list[tuple[int, int]], list[float]]:
        nonlocal pos
        index, ac = [], []
        for cy in range(ny):
            cx = 0 if cy else 1
            while cx * ny < nx * (ny - cy):
                index.append((cy, cx))
                ac.append((nibbles[pos] / 7.5 - 1) * scale)
                pos += 1
                cx += 1
        return index, ac

    chans = [channel(lx, ly, float(hd["l_scale"])), channel(3, 3, float(hd["p_scale"]) * 1.25),
             channel(3, 3, float(hd["q_scale"]) * 1.25)]
    if has_alpha:
        chans.append(channel(5, 5, float(hd["a_scale"])))
    ratio = raw_lx / raw_ly
    w = _round(32 if ratio > 1 else 32 * ratio)
    h = _round(32 / ratio if ratio > 1 else 32)
    ys, xs = (np.arange(h) + 0.5) / h, (np.arange(w) + 0.5) / w
    planes = []
    for (index, ac), dc in zip(chans, (hd["l_dc"], hd["p_dc"], hd["q_dc"], hd["a_dc"]),
                               strict=False):
        plane = np.full((h, w), float(dc))
        for (cy, cx), f in zip(index, ac, strict=True):
            plane += f * 2 * np.outer(np.cos(np.pi * cy * ys), np.cos(np.pi * cx * xs))
        planes.append(plane)
    rgb = _lpq_to_rgb(planes[0], planes[1], planes[2])
    a = np.clip(planes[3], 0, 1) if has_alpha else np.ones((h, w))
    return (np.dstack([rgb, a]) * 255 + 0.5).astype(np.uint8)

"""Colour profiles: which gamut a source's ICC profile describes, and the output profiles we write.

Owns: building matrix/shaper ICC v4 profiles from primaries and a white point (Display P3 and sRGB,
no profile files shipped or downloaded), classifying an embedded profile (sRGB-like, wide gamut,
other), and choosing the output colour space from ``image.colorspace``. Does not own: converting
pixels (the image engine does, with these profiles).

Entry points: ``display_p3_icc()``, ``srgb_icc()``, ``classify(icc)``, ``output_space(icc, cfg)``.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import io
import struct

import numpy as np
import numpy.typing as npt

__all__ = ["Gamut", "Space", "classify", "display_p3_icc", "output_space", "srgb_icc"]

D65 = (0.3127, 0.3290)
D50_XYZ = (0.9642, 1.0, 0.8249)
SRGB_PRIMARIES = ((0.640, 0.330), (0.300, 0.600), (0.150, 0.060))
P3_PRIMARIES = ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060))
# The sRGB transfer curve as ICC parametric curve type 3: g, a, b, c, d.
SRGB_TRC = (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045)
_BRADFORD = np.array([[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367],
                      [0.0389, -0.0685, 1.0296]])


class Gamut(enum.StrEnum):
    NONE = "none"      # no profile: assumed sRGB
    SRGB = "srgb"      # an sRGB profile (any vendor's spelling of it)
    WIDE = "wide"      # an RGB gamut clearly larger than sRGB (Display P3, Adobe RGB, ProPhoto)
    OTHER = "other"    # anything else (CMYK, grey, narrow or LUT-only RGB): converted to sRGB


class Space(enum.StrEnum):
    SRGB = "srgb"
    P3 = "p3"


def _xyz(xy: tuple[float, float]) -> npt.NDArray[np.float64]:
    x, y = xy
    return np.array([x / y, 1.0, (1 - x - y) / y])


def _adapt(src_white: npt.NDArray[np.float64],
           dst_white: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Bradford chromatic adaptation matrix from one white to another."""
    src, dst = _BRADFORD @ src_white, _BRADFORD @ dst_white
    return np.linalg.inv(_BRADFORD) @ np.diag(dst / src) @ _BRADFORD


def _colorants(primaries: tuple[tuple[float, float], ...],
               white: tuple[float, float]) -> tuple[npt.NDArray[np.float64],
                                                    npt.NDArray[np.float64]]:
    """RGB→XYZ (D50-adapted, as ICC stores colorants) and the adaptation matrix used."""
    m = np.stack([_xyz(p) for p in primaries], axis=1)
    w = _xyz(white)
    m = m * np.linalg.solve(m, w)
    chad = _adapt(w, np.array(D50_XYZ))
    return chad @ m, chad


def _s15(v: float) -> bytes:
    return struct.pack(">i", round(v * 65536))


def _xyz_tag(xyz: npt.ArrayLike) -> bytes:
    return b"XYZ " + bytes(4) + b"".join(_s15(v) for v in np.asarray(xyz, float))


def _mluc(text: str) -> bytes:
    body = text.encode("utf-16-be")
    return b"mluc" + bytes(4) + struct.pack(">II2s2sII", 1, 12, b"en", b"US", len(body), 28) + body


def _pad4(data: bytes) -> bytes:
    return data + bytes(-len(data) % 4)


def build_icc(description: str, primaries: tuple[tuple[float, float], ...],
              white: tuple[float, float] = D65,
              trc: tuple[float, ...] = SRGB_TRC) -> bytes:
    """A display-class ICC v4.3 matrix/shaper RGB profile with a parametric transfer curve."""
    rgb, chad = _colorants(primaries, white)
    para = b"para" + bytes(4) + struct.pack(">HH", 3, 0) + b"".join(_s15(v) for v in trc)
    tags: list[tuple[bytes, bytes]] = [
        (b"desc", _mluc(description)), (b"cprt", _mluc("No copyright, use freely")),
        (b"wtpt", _xyz_tag(D50_XYZ)),
        (b"chad", b"sf32" + bytes(4) + b"".join(_s15(v) for v in chad.flatten())),
        (b"rXYZ", _xyz_tag(rgb[:, 0])), (b"gXYZ", _xyz_tag(rgb[:, 1])),
        (b"bXYZ", _xyz_tag(rgb[:, 2])), (b"rTRC", para), (b"gTRC", para), (b"bTRC", para),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, data, seen = [], b"", {}
    for sig, body in tags:
        if body not in seen:  # the three TRC tags share one curve
            seen[body] = offset + len(data)
            data += _pad4(body)
        table.append(struct.pack(">4sII", sig, seen[body], len(body)))
    size = offset + len(data)
    header = struct.pack(">I4sI4s4s4s6H4s4sI4s4s8sI", size, b"", 0x04300000, b"mntr", b"RGB ",
                         b"XYZ ", 2024, 1, 1, 0, 0, 0, b"acsp", b"", 0, b"", b"", bytes(8), 0)
    header += b"".join(_s15(v) for v in D50_XYZ) + bytes(4) + bytes(16) + bytes(28)
    profile = bytearray(header + struct.pack(">I", len(tags)) + b"".join(table) + data)
    profile[84:100] = hashlib.md5(bytes(profile), usedforsecurity=False).digest()  # ID, v4 §7.2.18
    return bytes(profile)


@functools.cache
def display_p3_icc() -> bytes:
    """Display P3 (P3 primaries, D65 white, sRGB transfer curve), as Apple devices use it."""
    return build_icc("Display P3", P3_PRIMARIES)


@functools.cache
def srgb_icc() -> bytes:
    return build_icc("sRGB", SRGB_PRIMARIES)


def _area(points: list[tuple[float, float]]) -> float:
    (x1, y1), (x2, y2), (x3, y3) = points
    return abs((x2 - x1) * (y3 - y1) - (x3 - x1) * (y2 - y1)) / 2


@functools.lru_cache(maxsize=64)
def classify(icc: bytes | None) -> Gamut:
    """Which kind of colour space an embedded ICC profile describes (unreadable: ``NONE``)."""
    if not icc:
        return Gamut.NONE
    from PIL import ImageCms

    try:
        prof = ImageCms.ImageCmsProfile(io.BytesIO(icc)).profile
    except (OSError, ValueError, TypeError):
        return Gamut.NONE  # a broken profile is ignored, as browsers do: the pixels are sRGB
    if prof.xcolor_space.strip() != "RGB":
        return Gamut.OTHER
    found = [prof.red_colorant, prof.green_colorant, prof.blue_colorant]
    if any(c is None for c in found):
        return Gamut.OTHER
    xy = [(c[1][0], c[1][1]) for c in found]
    ref_m, _ = _colorants(SRGB_PRIMARIES, D65)
    ref = [(c[0] / c.sum(), c[1] / c.sum()) for c in ref_m.T]
    if all(abs(a - b) < 0.01 and abs(c - d) < 0.01 for (a, c), (b, d) in zip(xy, ref,
                                                                              strict=True)):
        return Gamut.SRGB
    return Gamut.WIDE if _area(xy) > 1.05 * _area(ref) else Gamut.OTHER


def output_space(icc: bytes | None, colorspace: str) -> Space:
    """P3 only for wide-gamut sources and ``image.colorspace = "p3"``; sRGB otherwise."""
    return Space.P3 if classify(icc) is Gamut.WIDE and colorspace == "p3" else Space.SRGB

"""Colour profiles: what an embedded ICC profile says and describes, and the profiles we write.

Owns: reading an ICC profile's description (the name Immich shows; v2 ``desc`` or v4 ``mluc``,
bounds-checked, pure Python), its colour space (``RGB``, ``CMYK``, ``GRAY``...) and which gamut it
describes (sRGB-like, wide, other); building matrix/shaper ICC v4 profiles from primaries and a
white point (Display P3 and sRGB, no profile files shipped or downloaded); choosing the output
colour space from ``image.colorspace``. Does not own: converting pixels (the image engine does,
with these profiles). Pillow and numpy are imported only when a profile is parsed or built, so the
metadata stage, which wants only the description, does not load them.

Entry points: ``profile_description(icc)``, ``profile_space(icc)``, ``classify(icc)``,
``output_space(icc, colorspace)``, ``display_p3_icc()``, ``srgb_icc()``, ``build_icc(...)``.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import io
import struct
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

    import numpy as np
    import numpy.typing as npt
    from PIL.ImageCms import core

__all__ = ["Gamut", "Space", "build_icc", "classify", "display_p3_icc", "output_space",
           "profile_description", "profile_space", "srgb_icc"]

D65 = (0.3127, 0.3290)
D50_XYZ = (0.9642, 1.0, 0.8249)
SRGB_PRIMARIES = ((0.640, 0.330), (0.300, 0.600), (0.150, 0.060))
P3_PRIMARIES = ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060))
# The sRGB transfer curve as ICC parametric curve type 3: g, a, b, c, d.
SRGB_TRC = (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045)
_BRADFORD = ((0.8951, 0.2664, -0.1614), (-0.7502, 1.7135, 0.0367), (0.0389, -0.0685, 1.0296))


class Gamut(enum.StrEnum):
    NONE = "none"      # no profile: assumed sRGB
    SRGB = "srgb"      # an sRGB profile (any vendor's spelling of it)
    WIDE = "wide"      # an RGB gamut clearly larger than sRGB (Display P3, Adobe RGB, ProPhoto)
    OTHER = "other"    # anything else (CMYK, grey, narrow or LUT-only RGB): converted to sRGB


class Space(enum.StrEnum):
    SRGB = "srgb"
    P3 = "p3"


# --- reading an embedded profile ------------------------------------------------------------

def profile_description(icc: bytes) -> str | None:
    """The profile's ``desc`` text, or None when absent or unreadable."""
    if len(icc) < 132:
        return None
    (count,) = struct.unpack_from(">I", icc, 128)
    for i in range(min(count, (len(icc) - 132) // 12)):
        sig, off, size = struct.unpack_from(">4sII", icc, 132 + 12 * i)
        if sig == b"desc" and off + min(size, 12) <= len(icc):
            return _desc_text(icc[off:off + size])
    return None


def _desc_text(tag: bytes) -> str | None:
    """The text of a ``desc`` tag: v2 ASCII ``desc`` or the first record of a v4 ``mluc``."""
    kind = tag[:4]
    if kind == b"desc" and len(tag) >= 12:
        (n,) = struct.unpack_from(">I", tag, 8)
        text = tag[12:12 + n].split(b"\0", 1)[0].decode("latin-1")
        return text.strip() or None
    if kind == b"mluc" and len(tag) >= 28:
        (records,) = struct.unpack_from(">I", tag, 8)
        if records:
            length, offset = struct.unpack_from(">II", tag, 20)
            text = tag[offset:offset + length].decode("utf-16-be", "replace").rstrip("\0")
            return text.strip() or None
    return None


@functools.lru_cache(maxsize=64)
def _parsed(icc: bytes) -> core.CmsProfile | None:
    """The profile as LittleCMS reads it, or None when it cannot (ignored, as browsers do)."""
    from PIL import ImageCms

    try:
        return ImageCms.ImageCmsProfile(io.BytesIO(icc)).profile
    except (OSError, ValueError, TypeError):
        return None


def profile_space(icc: bytes) -> str | None:
    """The colour space of the pixels the profile is for (``RGB``, ``CMYK``, ``GRAY``, ...),
    or None when the profile is unreadable."""
    prof = _parsed(icc)
    return prof.xcolor_space.strip() if prof is not None else None


@functools.lru_cache(maxsize=64)
def classify(icc: bytes | None) -> Gamut:
    """Which kind of colour space an embedded ICC profile describes (unreadable: ``NONE``)."""
    prof = _parsed(icc) if icc else None
    if prof is None:
        return Gamut.NONE  # no profile, or a broken one: the pixels are taken as sRGB
    if prof.xcolor_space.strip() != "RGB":
        return Gamut.OTHER
    found = [c for c in (prof.red_colorant, prof.green_colorant, prof.blue_colorant)
             if c is not None]
    if len(found) != 3:
        return Gamut.OTHER
    xy = [(c[1][0], c[1][1]) for c in found]
    ref_m, _ = _colorants(SRGB_PRIMARIES, D65)
    ref = [(c[0] / c.sum(), c[1] / c.sum()) for c in ref_m.T]
    if all(abs(a - b) < 0.01 and abs(c - d) < 0.01 for (a, c), (b, d) in zip(xy, ref,
                                                                              strict=True)):
        return Gamut.SRGB
    return Gamut.WIDE if _area(xy) > 1.05 * _area(ref) else Gamut.OTHER


def _area(points: list[tuple[float, float]]) -> float:
    (x1, y1), (x2, y2), (x3, y3) = points
    return abs((x2 - x1) * (y3 - y1) - (x3 - x1) * (y2 - y1)) / 2


def output_space(icc: bytes | None, colorspace: str) -> Space:
    """P3 only for wide-gamut sources and ``image.colorspace = "p3"``; sRGB otherwise."""
    return Space.P3 if classify(icc) is Gamut.WIDE and colorspace == "p3" else Space.SRGB


# --- building the profiles we write ---------------------------------------------------------


def _xyz(xy: tuple[float, float]) -> tuple[float, float, float]:
    """XYZ (Y = 1) of a chromaticity."""
    x, y = xy
    return (x / y, 1.0, (1 - x - y) / y)


def _colorants(primaries: tuple[tuple[float, float], ...],
               white: tuple[float, float]) -> tuple[npt.NDArray[np.float64],
                                                    npt.NDArray[np.float64]]:
    """RGB→XYZ (D50-adapted, as ICC stores colorants) and the Bradford adaptation used."""
    import numpy as np

    m = np.array([_xyz(p) for p in primaries]).T
    w = np.array(_xyz(white))
    m = m * np.linalg.solve(m, w)
    bradford = np.array(_BRADFORD)
    src, dst = bradford @ w, bradford @ np.array(D50_XYZ)
    chad = np.linalg.inv(bradford) @ np.diag(dst / src) @ bradford
    return chad @ m, chad


def _s15(v: float) -> bytes:
    return struct.pack(">i", round(v * 65536))


def _xyz_tag(xyz: Iterable[float]) -> bytes:
    return b"XYZ " + bytes(4) + b"".join(_s15(float(v)) for v in xyz)


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


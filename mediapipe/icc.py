"""ICC colour profiles: the profile's description, the name Immich shows.

Owns: reading the ``desc`` tag of an ICC profile (v2 ``desc`` text or v4 ``mluc`` UTF-16) with
bounds checks. Does not own: colour conversion (thumbnails). Malformed profiles give None.

Entry point: ``profile_description(icc) -> str | None``.
"""

from __future__ import annotations

import struct

__all__ = ["profile_description"]


def profile_description(icc: bytes) -> str | None:
    """The profile's ``desc`` text, or None when absent or unreadable."""
    if len(icc) < 132:
        return None
    (count,) = struct.unpack_from(">I", icc, 128)
    for i in range(min(count, (len(icc) - 132) // 12)):
        sig, off, size = struct.unpack_from(">4sII", icc, 132 + 12 * i)
        if sig == b"desc" and off + min(size, 12) <= len(icc):
            return _text(icc[off:off + size])
    return None


def _text(tag: bytes) -> str | None:
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

"""Image sizes read from the bytes of a header, for formats whose decoder works as it opens.

Owns: the size a file declares where no engine can be asked without decoding it: JPEG XL
(pillow-jxl decodes the whole image inside ``Image.open``), bare codestream or ISOBMFF
container, from its SizeHeader. ``make`` checks it against ``image.maxPixels`` before any engine
opens the file. Does not own: formats whose engines open lazily (JPEG, PNG, TIFF, WebP, GIF,
PSD, AVIF and HEIC through Pillow and pillow-heif, RAW through libraw's ``open_file``: their
engines' headers are checked), nor deciding (``make``).

Entry point: ``declared_size(path) -> tuple[int, int] | None``.
"""

from __future__ import annotations

import struct
from pathlib import Path

from mediapipe import sources

__all__ = ["declared_size"]

HEAD_BYTES = 64 * 1024  # a JPEG XL's SizeHeader is in its first box or two
_JXL_CODESTREAM = b"\xff\x0a"
_JXL_CONTAINER = b"\0\0\0\x0cJXL \r\n\x87\n"
# SizeHeader ratios: width = height * num / den (0: the width is stored).
_RATIOS = {1: (1, 1), 2: (12, 10), 3: (4, 3), 4: (3, 2), 5: (16, 9), 6: (5, 4), 7: (2, 1)}


def declared_size(path: Path) -> tuple[int, int] | None:
    """(width, height) a JPEG XL header declares; None for other formats or an unreadable
    header (then the decoder decides what the file is)."""
    with open(sources.readable(path), "rb") as f:
        head = f.read(HEAD_BYTES)
    codestream = _jxl_codestream(head)
    if codestream is None or len(codestream) < 2 + 12:
        return None
    return _size_header(codestream[2:])


def _jxl_codestream(head: bytes) -> bytes | None:
    if head.startswith(_JXL_CODESTREAM):
        return head
    if not head.startswith(_JXL_CONTAINER):
        return None
    at = 0
    while at + 8 <= len(head):
        size, kind = struct.unpack(">I4s", head[at:at + 8])
        body = at + 8
        if size == 1 and at + 16 <= len(head):
            size, body = struct.unpack(">Q", head[at + 8:at + 16])[0], at + 16
        end = len(head) if size == 0 else at + size
        if kind == b"jxlc":
            return head[body:end]
        if kind == b"jxlp":
            return head[body + 4:end]  # a partial codestream: its index comes first
        if end <= at:
            return None
        at = end
    return None


class _Bits:
    """Reads bits least-significant first, as JPEG XL's headers are written."""

    def __init__(self, data: bytes) -> None:
        self.value, self.at = int.from_bytes(data[:16], "little"), 0

    def get(self, bits: int) -> int:
        out = (self.value >> self.at) & ((1 << bits) - 1)
        self.at += bits
        return out

    def u32_size(self) -> int:
        return 1 + self.get((9, 13, 18, 30)[self.get(2)])


def _size_header(data: bytes) -> tuple[int, int]:
    bits = _Bits(data)
    if bits.get(1):  # small: multiples of 8 up to 256
        height = (bits.get(5) + 1) * 8
        ratio = bits.get(3)
        width = (bits.get(5) + 1) * 8 if ratio == 0 else 0
    else:
        height = bits.u32_size()
        ratio = bits.get(3)
        width = bits.u32_size() if ratio == 0 else 0
    if ratio:
        num, den = _RATIOS[ratio]
        width = height * num // den
    return width, height

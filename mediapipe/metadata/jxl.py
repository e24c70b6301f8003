"""A JPEG XL's header as its decoder reads it: size, bit depth and colour, no pixel decoded.

Owns: finding the codestream (bare, ``FF 0A``, or in the ISO-BMFF container's ``jxlc`` box or
``jxlp`` parts — what Debian's exiftool 12.57 cannot size) and reading its ``SizeHeader`` and
``ImageMetadata`` bit by bit as ISO/IEC 18181-1 lays them out: width, height, orientation,
bits per sample (float or integer), and the colour encoding where it is given as enums
(primaries, white point, transfer: ``Display P3``, ``Rec. 2020 (PQ)``...). A colour given as an
ICC profile is entropy-coded: only a full decoder reads it (``colour`` is then None). Reads at
most the first 64 KiB. Does not own: when to ask (``read``), decoding pixels (``thumbnails``).

Entry point: ``read_header(path) -> JxlHeader``; raises ``JxlHeaderError`` (not a JPEG XL, or
a header that ends or contradicts itself), ``OSError`` from reading.
"""

from __future__ import annotations

import dataclasses

from mediapipe.sources import Source, SourceLike

__all__ = ["JxlHeader", "JxlHeaderError", "read_header"]

_SIGNATURE = b"\xff\x0a"
_CONTAINER = b"\0\0\0\x0cJXL \x0d\x0a\x87\x0a"
_HEAD_BYTES = 1 << 16
_RATIOS = {1: (1, 1), 2: (12, 10), 3: (4, 3), 4: (3, 2), 5: (16, 9), 6: (5, 4), 7: (2, 1)}
_PRIMARIES = {1: "sRGB", 9: "Rec. 2020", 11: "P3"}
_TRANSFERS = {1: "BT.709", 8: "linear", 13: "sRGB", 16: "PQ", 17: "DCI", 18: "HLG"}


class JxlHeaderError(Exception):
    """Not a JPEG XL header this reader can follow (the reason says where it stopped)."""


@dataclasses.dataclass(frozen=True)
class JxlHeader:
    width: int
    height: int
    bits_per_sample: int
    float_samples: bool = False
    orientation: int = 1
    colour: str | None = None  # None: an ICC profile (entropy-coded) names it


class _Bits:
    """JPEG XL's bit order: least significant bit of each byte first."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def u(self, n: int) -> int:
        value = 0
        for i in range(n):
            byte, bit = divmod(self.pos, 8)
            if byte >= len(self.data):
                raise JxlHeaderError("the header ends early")
            value |= ((self.data[byte] >> bit) & 1) << i
            self.pos += 1
        return value

    def u32(self, *dists: tuple[int, int]) -> int:
        """``U32``: a 2-bit selector, then (bits, offset) of the chosen distribution."""
        bits, offset = dists[self.u(2)]
        return (self.u(bits) if bits else 0) + offset

    def enum(self) -> int:
        return self.u32((0, 0), (0, 1), (4, 2), (6, 18))

    def size(self) -> tuple[int, int]:
        """A ``SizeHeader`` (or a preview's, whose distributions differ): (width, height)."""
        small = self.u(1)
        big = ((9, 1), (13, 1), (18, 1), (30, 1))
        height = (self.u(5) + 1) * 8 if small else self.u32(*big)
        ratio = self.u(3)
        if ratio:
            num, den = _RATIOS[ratio]
            return height * num // den, height
        return ((self.u(5) + 1) * 8 if small else self.u32(*big)), height

    def bit_depth(self) -> tuple[int, bool]:
        if self.u(1):  # float samples
            bits = self.u32((0, 32), (0, 16), (0, 24), (6, 1))
            self.u(4)
            return bits, True
        return self.u32((0, 8), (0, 10), (0, 12), (6, 1)), False


def read_header(source: SourceLike) -> JxlHeader:
    """The JPEG XL header of the file at ``path`` (see the module docstring)."""
    with Source.of(source).open() as fh:
        head = fh.read(_HEAD_BYTES)
    return parse(codestream(head))


def codestream(head: bytes) -> bytes:
    """The start of the codestream: the bytes themselves, or the container's ``jxlc`` box or
    its ``jxlp`` parts (each after a 4-byte part index) joined."""
    if head.startswith(_SIGNATURE):
        return head
    if not head.startswith(_CONTAINER):
        raise JxlHeaderError("no JPEG XL signature")
    pos, parts = 0, []
    while pos + 8 <= len(head):
        size, kind = int.from_bytes(head[pos:pos + 4], "big"), head[pos + 4:pos + 8]
        start = pos + 8
        if size == 1:
            size, start = int.from_bytes(head[pos + 8:pos + 16], "big"), pos + 16
        end = len(head) if size == 0 else min(pos + size, len(head))
        if size != 0 and size < start - pos:
            raise JxlHeaderError(f"a box of {size} bytes")
        if kind == b"jxlc":
            return head[start:end]
        if kind == b"jxlp":
            parts.append(head[start + 4:end])
        elif parts:
            break  # the parts read so far start the codestream: enough for its header
        if size == 0:
            break
        pos += size
    if not parts:
        raise JxlHeaderError("a container with no codestream in its first 64 KiB")
    return b"".join(parts)


def parse(stream: bytes) -> JxlHeader:
    if not stream.startswith(_SIGNATURE):
        raise JxlHeaderError("the codestream does not start with FF 0A")
    r = _Bits(stream[2:])
    width, height = r.size()
    if r.u(1):  # all_default: 8-bit sRGB
        return JxlHeader(width, height, 8, colour="sRGB")
    orientation = 1
    if r.u(1):  # extra_fields
        orientation = 1 + r.u(3)
        if r.u(1):  # intrinsic size
            r.size()
        if r.u(1):  # preview
            _preview(r)
        if r.u(1):  # animation
            r.u32((0, 100), (0, 1000), (10, 1), (30, 1))
            r.u32((0, 1), (0, 1001), (8, 1), (10, 1))
            r.u32((0, 0), (3, 0), (16, 0), (32, 0))
            r.u(1)
    bits, is_float = r.bit_depth()
    r.u(1)  # modular_16bit_buffers
    for _ in range(r.u32((0, 0), (0, 1), (4, 2), (12, 1))):
        _extra_channel(r)
    r.u(1)  # xyb_encoded
    return JxlHeader(width, height, bits, is_float, orientation, _colour(r))


def _preview(r: _Bits) -> None:
    if r.u(1):  # div8
        dist = ((0, 16), (0, 32), (5, 1), (9, 33))
        r.u32(*dist)
        if r.u(3) == 0:
            r.u32(*dist)
    else:
        dist = ((6, 1), (8, 65), (10, 321), (12, 1345))
        r.u32(*dist)
        if r.u(3) == 0:
            r.u32(*dist)


def _extra_channel(r: _Bits) -> None:
    if r.u(1):  # d_alpha: a default alpha channel
        return
    kind = r.enum()
    r.bit_depth()
    r.u32((0, 0), (0, 3), (0, 4), (3, 1))  # dim_shift
    for _ in range(r.u32((0, 0), (4, 0), (5, 16), (10, 48))):
        r.u(8)  # name
    if kind == 0:  # alpha
        r.u(1)
    elif kind == 2:  # spot colour
        r.u(64)
    elif kind == 5:  # colour filter array
        r.u32((0, 1), (2, 0), (4, 3), (8, 19))


def _colour(r: _Bits) -> str | None:
    if r.u(1):  # all_default
        return "sRGB"
    want_icc = r.u(1)
    space = r.enum()
    if want_icc:
        return None
    primaries = white = 1
    if space != 2:  # not XYB
        white = r.enum()
        if white == 2:
            _custom_xy(r, 1)
        if space != 1:  # not grey
            primaries = r.enum()
            if primaries == 2:
                _custom_xy(r, 3)
    transfer = None
    if r.u(1):  # have_gamma
        r.u(24)
    else:
        transfer = r.enum()
    name = "Grey" if space == 1 else _PRIMARIES.get(primaries, "custom primaries")
    if name == "P3" and white == 1:
        name = "Display P3"
    if transfer is None:
        return f"{name} (gamma)"
    if (name, transfer) in (("sRGB", 13), ("Display P3", 13)):
        return name
    return f"{name} ({_TRANSFERS.get(transfer, 'custom transfer')})"


def _custom_xy(r: _Bits, count: int) -> None:
    dist = ((19, 0), (19, 524288), (20, 1048576), (21, 2097152))
    for _ in range(2 * count):
        r.u32(*dist)

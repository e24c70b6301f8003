"""What a JPEG's markers say before a pixel is decoded: where the image ends, how many scans it
has, and how it is coded.

Owns: ``layout`` (one walk of the marker segments and, between them, a search of the
entropy-coded data for the next marker: a 0xFF there is always followed by 0x00 or a restart
marker, so nothing inside a scan can pass for one), the ``JpegLayout`` it returns, and the rules
that follow from it (``check``): a file that declares more scans than libjpeg-turbo's own limit
for untrusted input is refused before decoding (each progressive scan re-reads the whole
coefficient buffer: 20,000 scans of an 8000x8000 grey JPEG decode for minutes), and lossless
or 12- and 16-bit JPEGs, which no decoder here reads, are unsupported, not damaged. Readers
then take the bytes up to the end of the image (``JpegLayout.end``), never padding or a
trailer after it. Also ``decode``, libjpeg-turbo's decode (simplejpeg), which both engines use
where it reads what Pillow's libjpeg cannot (arithmetic coding: Pillow's is built without it),
a damaged file decoded as far as its data goes, as libjpeg-turbo's own tools do. Does not own:
sizes and the choice of engine (``make``, the engines), metadata segments
(``metadata.blocks``).

Entry points: ``layout``, ``check``, ``decode`` (``decode_image``: as a Pillow image),
``JpegLayout``, ``MAX_SCANS``.
"""

from __future__ import annotations

import dataclasses
import mmap
import re
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image

from mediapipe.errors import TooLarge, UnsupportedMedia

__all__ = ["MAX_SCANS", "JpegLayout", "check", "decode", "decode_image", "layout"]

SPACES = {"RGB": "RGB", "L": "GRAY", "CMYK": "CMYK"}  # Pillow's mode -> simplejpeg's

MAX_SCANS = 500  # libjpeg-turbo's scan limit for untrusted input (TJPARAM_SCANLIMIT)

_SOF = {*range(0xC0, 0xC4), *range(0xC5, 0xC8), *range(0xC9, 0xCC), *range(0xCD, 0xD0)}
_ARITHMETIC = {0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_LOSSLESS = {0xC3, 0xC7, 0xCB, 0xCF}
_PROGRESSIVE = {0xC2, 0xC6, 0xCA, 0xCE}
_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM and RSTn: markers without a length
# The next marker in entropy-coded data: 0xFF, then neither a stuffed 0x00, nor a restart
# marker (part of the scan), nor another 0xFF (fill before the marker).
_NEXT = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


@dataclasses.dataclass(frozen=True)
class JpegLayout:
    """A JPEG's structure, from its markers."""

    end: int            # bytes up to and including EOI (all of them where there is none)
    scans: int          # SOS markers seen (the walk stops past ``MAX_SCANS``)
    process: int        # the frame's SOF marker (0xC0 baseline ... 0xCF), 0 without one
    precision: int      # bits per sample
    components: int

    @property
    def arithmetic(self) -> bool:
        return self.process in _ARITHMETIC

    @property
    def lossless(self) -> bool:
        return self.process in _LOSSLESS

    @property
    def progressive(self) -> bool:
        return self.process in _PROGRESSIVE


def layout(data: bytes | memoryview | mmap.mmap) -> JpegLayout:
    """The layout of the JPEG in ``data`` (bytes, or a memory map of the file: only the pages
    up to the end of the image are touched). A file cut short ends where its data does."""
    with memoryview(data) as buf:  # released before a memory map's owner closes it
        return _walk(data, buf)


def _walk(data: bytes | memoryview | mmap.mmap, buf: memoryview) -> JpegLayout:
    size = len(buf)
    pos, scans, process, precision, components = 2, 0, 0, 8, 0
    while pos + 1 < size:
        if buf[pos] != 0xFF or buf[pos + 1] in (0x00, 0xFF):  # stray bytes or fill: skip on
            found = _NEXT.search(data, pos)
            if found is None:
                break
            pos = found.start()
        marker = buf[pos + 1]
        if marker == 0xD9:
            return JpegLayout(pos + 2, scans, process, precision, components)
        if marker in _STANDALONE:
            pos += 2
            continue
        if pos + 4 > size:
            break
        end = pos + 2 + int.from_bytes(buf[pos + 2:pos + 4], "big")
        if marker in _SOF and not process and end <= size and end - pos >= 10:
            process, precision, components = marker, buf[pos + 4], buf[pos + 9]
        if marker != 0xDA:
            pos = end
            continue
        scans += 1
        if scans > MAX_SCANS:
            break
        found = _NEXT.search(data, end)
        if found is None:
            break
        pos = found.start()
    return JpegLayout(size, scans, process, precision, components)


def check(path: Path, jpeg: JpegLayout) -> None:
    """``TooLarge`` for more scans than ``MAX_SCANS``; ``UnsupportedMedia`` for lossless JPEG
    and samples of more than 8 bits, which no decoder here reads."""
    if jpeg.scans > MAX_SCANS:
        raise TooLarge(path, f"JPEG with more than {MAX_SCANS} scans (each one decodes the "
                             f"whole image again): refused as a decompression bomb")
    if jpeg.lossless:
        raise UnsupportedMedia(path, f"lossless JPEG ({jpeg.precision}-bit) is not supported")
    if jpeg.precision != 8:
        raise UnsupportedMedia(path, f"{jpeg.precision}-bit JPEG is not supported (8-bit "
                                     f"samples only)")


def decode(data: bytes, mode: str, at_least: tuple[int, int] = (0, 0), *,
           fast: bool = False) -> tuple[npt.NDArray[np.uint8], str | None]:
    """libjpeg-turbo's pixels of the JPEG ``data`` in Pillow's ``mode`` (``SPACES``), shrunk
    in the DCT while still covering ``at_least``, as (height, width, bands); and a note where
    the file is damaged and was decoded as far as its data goes (libjpeg-turbo's recovery: the
    rest grey). CMYK comes inverted, as Pillow reads it (Adobe's convention). Raises
    ``ValueError`` where not even that decodes. ``fast``: libjpeg-turbo's fast chroma
    upsampling (pixels repeated) and fast integer IDCT, for pixels that are shrunk further."""
    import simplejpeg  # type: ignore[import-untyped]

    kw = {"min_width": at_least[0], "min_height": at_least[1], "fastupsample": fast,
          "fastdct": fast}
    note = None
    try:
        arr = simplejpeg.decode_jpeg(data, SPACES[mode], **kw)
    except ValueError as exc:  # a warning: strict decoding stops at it
        arr = simplejpeg.decode_jpeg(data, SPACES[mode], strict=False, **kw)
        note = f"damaged image, decoded as far as its data goes: {exc}"
    if mode == "CMYK":
        np.invert(arr, out=arr)
    return arr.reshape(arr.shape[0], arr.shape[1], -1), note


def decode_image(data: bytes, mode: str) -> tuple[Image.Image, str | None]:
    """``decode`` at full size, as a Pillow image in ``mode``."""
    arr, note = decode(data, mode)
    return Image.fromarray(arr[:, :, 0] if mode == "L" else arr, mode), note

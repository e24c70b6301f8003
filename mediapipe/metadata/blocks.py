"""The metadata blocks of an image file, found without decoding a pixel.

Owns: sniffing what an image file really is (magic bytes, whatever its name says), and pulling
out its EXIF block, XMP packets (Extended XMP reassembled), IPTC block, ICC profile, pixel
size and bit depth: JPEG by walking its markers up to the scan (the fast path: a few reads of
the header and the last two bytes), noting whether it holds metadata only exiftool reads
(``ImageBlocks.opaque``), HEIF/AVIF with
pillow-heif (which reports the size as displayed: it applies ``irot``/``imir``), everything else
with Pillow's lazy ``Image.open``. Does not own: interpreting the blocks (``exif``, ``xmp``,
``read``).

Entry point: ``read_blocks(path) -> ImageBlocks``; raises ``CorruptMedia`` (empty, truncated,
undecodable) or ``UnsupportedMedia`` (not an image format it knows), nothing else.
"""

from __future__ import annotations

import dataclasses
import os
import struct
from pathlib import Path
from typing import BinaryIO

from mediapipe import imaging, sources
from mediapipe.errors import CorruptMedia, UnsupportedMedia
from mediapipe.sources import Source, SourceLike

__all__ = ["ImageBlocks", "read_blocks", "sniff"]

_CHUNK = 65536
_SOF = {*range(0xC0, 0xC4), *range(0xC5, 0xC8), *range(0xC9, 0xCC), *range(0xCD, 0xD0)}
_XMP_APP1 = b"http://ns.adobe.com/xap/1.0/\0"
_XMP_EXTENSION = b"http://ns.adobe.com/xmp/extension/\0"  # then GUID(32), length, offset
_PHOTOSHOP_APP13 = b"Photoshop 3.0\0"
# Photoshop resources exiftool reads a date from that ours skip: EXIF data 1 and 3, XMP.
_PHOTOSHOP_EXIFTOOL_ONLY = frozenset({0x0422, 0x0423, 0x0424})
# APPn segments with no date for exiftool to find (JFIF/JFXX: density and a thumbnail; MPF: the
# offsets of the other pictures, which it does not open without -ee; Photoshop's "Save for
# Web" Ducky: quality, comment, copyright; Adobe: colour transform). The segments whose
# blocks are read here are matched in ``_jpeg``.
_NO_DATE_APPS = ((0xE0, b"JFIF\0"), (0xE0, b"JFXX\0"), (0xE2, b"MPF\0"), (0xEC, b"Ducky"),
                 (0xEE, b"Adobe"))
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1",
                b"avif", b"avis", b"mif2"}
_MODE_BITS = {"1": 1, "I;16": 16, "I;16B": 16, "I;16L": 16, "I": 32, "F": 32}


@dataclasses.dataclass(frozen=True)
class ImageBlocks:
    """Raw metadata of one image. ``displayed`` says ``width``/``height`` are already oriented.

    ``opaque``: the file may hold metadata only exiftool reads (a maker's APPn segment such as
    APP12 Picture Info or Casio's APP1 QVCI, a second EXIF, Photoshop resources beside IPTC, a
    trailer after the image, a segment cut short), so a date may be there that the readers
    here do not see. A JPEG is clear only when every segment it holds is one this module
    hands on (EXIF, XMP, ICC, IPTC) or one with no date (JFIF, JFXX, MPF, Ducky, Adobe,
    comments) and it ends at its EOI; every other format stays opaque."""

    format: str
    width: int | None = None
    height: int | None = None
    displayed: bool = False
    bits_per_sample: int | None = None
    exif: bytes | None = None
    xmp: tuple[bytes, ...] = ()
    icc: bytes | None = None
    warnings: tuple[str, ...] = ()
    iptc: bytes | None = None
    opaque: bool = True


def sniff(head: bytes) -> str | None:
    """The image format the first bytes announce (``"JPEG"``, ``"HEIF"``, ...), or None."""
    if head[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:4] in (b"II*\0", b"MM\0*"):
        return "TIFF"
    if head[4:8] == b"ftyp" and (head[8:12] in _HEIF_BRANDS):
        return "HEIF"
    if head[:2] == b"BM":
        return "BMP"
    return None


def read_blocks(source: SourceLike) -> ImageBlocks:
    """Find the metadata blocks of the image ``source`` (see the module docstring)."""
    src = Source.of(source)
    path = src.path
    try:
        f = src.open()
    except OSError as exc:
        raise CorruptMedia(path, f"cannot open: {exc.strerror or exc}") from exc
    with f:
        head = f.read(32)
        if not head:
            raise CorruptMedia(path, "empty file")
        fmt = sniff(head)
        f.seek(0)
        if fmt == "JPEG":
            return _jpeg(f, path)
        if fmt == "HEIF":
            return _heif(path, src.name)
        if fmt == "TIFF":
            return _tiff(f, path)
        return _pillow(path, fmt, src.name)


class _Reader:
    """Reads a file forward in chunks, keeping what it read in one buffer."""

    def __init__(self, f: BinaryIO) -> None:
        self.f = f
        self.buf = f.read(_CHUNK)
        self.eof = len(self.buf) < _CHUNK

    def has(self, end: int) -> bool:
        while len(self.buf) < end and not self.eof:
            more = self.f.read(max(_CHUNK, end - len(self.buf)))
            self.eof = not more
            self.buf += more
        return len(self.buf) >= end


def _jpeg(f: BinaryIO, path: Path) -> ImageBlocks:
    r = _Reader(f)
    warnings: list[str] = []
    exif = None
    xmp: list[bytes] = []
    extended: dict[bytes, dict[int, bytes]] = {}
    iptc = None
    photoshop = opaque = False
    icc: dict[int, bytes] = {}
    width = height = bits = None
    pos = 2
    while r.has(pos + 4):
        buf = r.buf
        if buf[pos] != 0xFF:
            nxt = buf.find(b"\xff", pos)
            warnings.append(f"JPEG: {(nxt if nxt >= 0 else len(buf)) - pos} stray bytes "
                            f"at {pos}")
            opaque = True  # exiftool may resynchronise elsewhere
            if nxt < 0:
                break
            pos = nxt
            continue
        marker = buf[pos + 1]
        if marker == 0xFF or marker == 0x01 or 0xD0 <= marker <= 0xD8:
            pos += 1 if marker == 0xFF else 2
            continue
        if marker in (0xD9, 0xDA):  # end of image, start of scan: no metadata after
            break
        length = (buf[pos + 2] << 8) | buf[pos + 3]
        if length < 2 or not r.has(pos + 2 + length):
            warnings.append(f"JPEG: segment 0x{marker:02X} at {pos} is truncated")
            opaque = True
            break
        seg = r.buf[pos + 4:pos + 2 + length]
        if marker == 0xE1 and seg[:6] == b"Exif\0\0" and exif is None:
            exif = bytes(seg[6:])
        elif marker == 0xE1 and seg.startswith(_XMP_APP1):
            xmp.append(bytes(seg[len(_XMP_APP1):]))
        elif marker == 0xE1 and seg.startswith(_XMP_EXTENSION) and \
                len(seg) > len(_XMP_EXTENSION) + 40:
            at = len(_XMP_EXTENSION)
            guid, (offset,) = bytes(seg[at:at + 32]), struct.unpack_from(">I", seg, at + 36)
            extended.setdefault(guid, {})[offset] = bytes(seg[at + 40:])
        elif marker == 0xED and seg.startswith(_PHOTOSHOP_APP13):
            from mediapipe.metadata.iptc import IPTC_RESOURCE, photoshop_resources

            resources, whole = photoshop_resources(bytes(seg[len(_PHOTOSHOP_APP13):]))
            iptc = resources.get(IPTC_RESOURCE) if iptc is None else iptc
            # a second segment continues the first for exiftool; ours reads each alone
            opaque |= photoshop or not whole or bool(resources.keys() & _PHOTOSHOP_EXIFTOOL_ONLY)
            photoshop = True
        elif marker == 0xE2 and seg[:12] == b"ICC_PROFILE\0" and len(seg) > 14:
            icc[seg[12]] = bytes(seg[14:])
        elif marker in _SOF and len(seg) >= 6 and width is None:
            bits, height, width = seg[0], (seg[1] << 8) | seg[2], (seg[3] << 8) | seg[4]
        elif 0xE0 <= marker <= 0xEF:
            opaque |= not any(marker == m and seg.startswith(sig) for m, sig in _NO_DATE_APPS)
        pos += 2 + length
    else:
        warnings.append("JPEG: file ends inside the header")
        opaque = True
    if width is None and exif is None and not xmp:
        raise CorruptMedia(path, "JPEG without a frame header or metadata (truncated?)")
    if width is None:
        warnings.append("JPEG: no frame header (SOF); size unknown")
    icc_parts = b"".join(icc[k] for k in sorted(icc)) if icc else None
    joined = _extended_xmp(xmp, extended)
    opaque = opaque or len(joined) < len(extended) or not _ends_at_eoi(r)
    xmp.extend(joined)
    return ImageBlocks("JPEG", width, height, False, bits, exif, tuple(xmp), icc_parts,
                       tuple(warnings), iptc, opaque)


def _ends_at_eoi(r: _Reader) -> bool:
    """Whether the file's last bytes are an EOI marker: no trailer after the image for
    exiftool to read (AFCP, FotoStation, Photo Mechanic, MIE, Samsung's, a video)."""
    if r.eof:
        return r.buf.endswith(b"\xff\xd9")
    r.f.seek(-2, os.SEEK_END)
    return r.f.read(2) == b"\xff\xd9"


def _extended_xmp(main: list[bytes], parts: dict[bytes, dict[int, bytes]]) -> list[bytes]:
    """Extended XMP (a packet over 64 KB split across APP1 segments): the extension the main
    packet names by its GUID (``xmpNote:HasExtendedXMP``), its pieces joined in offset order."""
    return [b"".join(pieces[k] for k in sorted(pieces)) for guid, pieces in parts.items()
            if any(guid in packet for packet in main)]


def _heif(path: Path, name: str) -> ImageBlocks:
    import pillow_heif

    try:
        heif = pillow_heif.open_heif(name, convert_hdr_to_8bit=False)
        width, height = heif.size
        info = heif.info
    except IndexError as exc:  # pillow-heif indexes its empty list of images
        raise CorruptMedia(path, "HEIF: no image in the file") from exc
    # libheif reports a damaged box it does not understand as SyntaxError ("Unsupported feature")
    except (ValueError, RuntimeError, OSError, EOFError, SyntaxError) as exc:
        raise CorruptMedia(path, f"HEIF: {sources.reason(exc)}") from exc
    exif = info.get("exif") or None
    xmp = info.get("xmp")
    return ImageBlocks("HEIF", width, height, True, info.get("bit_depth"), exif,
                       (xmp,) if xmp else (), info.get("icc_profile") or None)


def _tiff(f: BinaryIO, path: Path) -> ImageBlocks:
    """A TIFF is its own EXIF block: the IFD reader takes size and tags from the whole file."""
    from mediapipe.metadata.exif import read_exif

    data = f.read()
    tags, warnings = read_exif(data)
    w, h, bits = tags.get("ImageWidth"), tags.get("ImageHeight"), tags.get("BitsPerSample")
    if not isinstance(w, int) or not isinstance(h, int):
        raise CorruptMedia(path, "TIFF without a readable image size")
    start = data.find(b"<x:xmpmeta")
    end = data.find(b"</x:xmpmeta>", start) if start >= 0 else -1
    xmp = (data[start:end + 12],) if start >= 0 and end >= 0 else ()
    iptc = tags.get("IPTC-NAA")
    return ImageBlocks("TIFF", w, h, False, bits if isinstance(bits, int) else None, data, xmp,
                       None, tuple(warnings), iptc if isinstance(iptc, bytes) else None)


def _pillow(path: Path, fmt: str | None, name: str) -> ImageBlocks:
    from PIL import UnidentifiedImageError

    # Only the header is read here, never the pixels (``imaging``: image.maxPixels governs).
    try:
        with imaging.open_image(name) as im:
            info = im.info
            exif = info.get("exif")
            xmp = info.get("xmp") or info.get("XML:com.adobe.xmp")
            if isinstance(xmp, str):
                xmp = xmp.encode()
            return ImageBlocks(
                im.format or fmt or "unknown", im.width, im.height, False,
                _MODE_BITS.get(im.mode, 8),
                exif[6:] if isinstance(exif, bytes) and exif[:6] == b"Exif\0\0" else exif,
                (xmp,) if xmp else (), info.get("icc_profile") or None)
    except UnidentifiedImageError as exc:
        raise UnsupportedMedia(path, "not an image format mediapipe reads") from exc
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
        raise CorruptMedia(path, f"{fmt or 'image'}: {sources.reason(exc)}") from exc

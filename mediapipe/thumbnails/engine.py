"""Image engines: the few primitives the thumbnail stage composes, and the Pillow engine.

Owns: the ``ImageEngine`` Protocol (open a header, reduced decode, resize, colour conversion,
orient, encode, pixels out) and ``PillowEngine`` (Pillow with its AVIF and JPEG XL plugins,
pillow-heif for HEIC): JPEG DCT scaling via ``draft()``, damaged files decoded as far as their
data goes (as libvips does with ``fail=false``; a note on the header says so), mode
normalisation (palette, 16-bit, CMYK, grey), first non-blank frame of animations, the composite
of a PSD. Does not own: ICC conversion to sRGB or Display P3 (``cms``); sizes, limits or the
order of the steps (``make``); reading profiles or choosing the output space (``colour``);
video (``videoframe``).

Entry points: ``ImageEngine``, ``PillowEngine``, ``Header``.
"""

from __future__ import annotations

import dataclasses
import io
import mmap
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageFile, UnidentifiedImageError, features
from PIL.JpegImagePlugin import JpegImageFile

from mediapipe import colour, imaging, sources
from mediapipe.errors import CorruptMedia, check_pixels
from mediapipe.sources import Source
from mediapipe.thumbnails import cms, jpeg
from mediapipe.thumbnails.videoframe import is_blank

__all__ = ["DECODE_ERRORS", "Header", "ImageEngine", "PillowEngine"]

# What decoding damaged input raises inside Pillow/pillow-heif; mapped to CorruptMedia.
DECODE_ERRORS: tuple[type[BaseException], ...] = (
    OSError, ValueError, SyntaxError, EOFError, struct.error, IndexError, KeyError, TypeError,
    ZeroDivisionError, RuntimeError, MemoryError)

MAX_FRAMES_SCANNED = 50  # animations: look this far for a frame that is not blank
_AVIF_BRANDS = (b"avif", b"avis")

# Pillow transpose that shows stored pixels upright, per EXIF orientation.
_ORIENT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_90,
}


@dataclasses.dataclass(frozen=True, eq=False)
class Header:
    """What an engine learned from a file without decoding its pixels."""

    path: Path
    format: str                 # Pillow's name: JPEG, PNG, HEIF, TIFF, GIF, WEBP, ...
    size: tuple[int, int]       # stored pixels, before orientation
    orientation: int            # EXIF orientation still to apply (1 when pre-rotated: HEIF)
    icc: bytes | None
    handle: Any                 # the engine's open file
    notes: list[str] = dataclasses.field(default_factory=list)  # what decoding had to forgive
    jpeg: jpeg.JpegLayout | None = None  # a JPEG's markers: where it ends, its coding


class ImageEngine(Protocol):
    """Primitives over an engine-specific image type; ``make`` decides sizes and order."""

    name: str

    def open(self, source: Source, data: bytes | None = None, *,
             max_pixels: int | None = None) -> Header: ...
    def decode(self, header: Header, at_least: tuple[int, int]) -> Any: ...
    def from_array(self, rgb: npt.NDArray[np.uint8]) -> Any: ...
    def size(self, image: Any) -> tuple[int, int]: ...
    def resize(self, image: Any, size: tuple[int, int]) -> Any: ...
    def resize_each(self, image: Any, sizes: Sequence[tuple[int, int]]) -> list[Any]: ...
    def to_space(self, image: Any, icc: bytes | None, space: colour.Space) -> Any: ...
    def orient(self, image: Any, orientation: int) -> Any: ...
    def encode(self, image: Any, fmt: str, quality: int, icc: bytes | None) -> bytes: ...
    def rgba(self, image: Any) -> npt.NDArray[np.uint8]: ...


def _heif_box(head: bytes) -> bool:
    """A file (by its first bytes) for pillow-heif: ISO-BMFF (an ``ftyp`` box first) of a
    brand libheif reads, unless it is an AVIF that Pillow decodes itself (pillow-heif's
    libheif may lack dav1d)."""
    if head[4:8] != b"ftyp" or (head[8:12] in _AVIF_BRANDS and features.check("avif")):
        return False
    import pillow_heif

    return bool(pillow_heif.is_supported(io.BytesIO(head)))


def _load_what_is_there(im: Image.Image, notes: list[str]) -> None:
    """Load the pixels; a file cut short or broken off mid-stream keeps what decoded (the rest
    grey) and says so in ``notes``. Pillow's switch for that is module-wide: it is on for this
    one load only (one decode at a time per worker process)."""
    try:
        im.load()
        return
    except OSError as exc:  # the pixel data ends early or breaks off: try what is there
        reason, first = str(exc), exc
    before = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = True
    try:
        im.load()
    except OSError:
        raise first from None  # not even a part decodes: the first error says why
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = before
    notes.append(f"damaged image, decoded as far as its data goes: {reason}")


def _jpeg_layout(opened: Any) -> jpeg.JpegLayout:
    """The layout of the JPEG ``opened`` (its bytes, or a path: memory-mapped, so that only the
    pages up to the end of the image are read)."""
    if isinstance(opened, io.BytesIO):
        return jpeg.layout(opened.getvalue())
    with open(opened, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        return jpeg.layout(mm)


def _jpeg_pillow_refused(opened: Any, path: Path, max_pixels: int | None) -> Header | None:
    """A JPEG whose header Pillow refused, as libjpeg reads it: lossless or 12/16-bit (Pillow
    refuses any but 8 bits) is unsupported, not damaged; one that libjpeg-turbo decodes (an
    Adobe segment cut short, which Pillow's parser trips on) is decoded whole here, with no
    profile or orientation; None for anything else."""
    with io.BytesIO(opened.getvalue()) if isinstance(opened, io.BytesIO) else open(
            opened, "rb") as f:
        if f.read(2) != b"\xff\xd8":
            return None
        layout = _jpeg_layout(opened)
        jpeg.check(path, layout)
        f.seek(0)
        data = f.read(layout.end)
    try:
        import simplejpeg  # type: ignore[import-untyped]

        width, height, space, _ = simplejpeg.decode_jpeg_header(data)
        if max_pixels is not None:
            check_pixels(path, width, height, max_pixels)
        mode = {"Gray": "L", "CMYK": "CMYK", "YCCK": "CMYK"}.get(space, "RGB")
        im, note = jpeg.decode_image(data, mode)
    except ValueError:
        return None
    notes = [note] if note else []
    return Header(path, "JPEG", im.size, 1, None, im, notes)


def _exif_orientation(im: Image.Image) -> int:
    try:
        value = im.getexif().get(0x0112, 1)
    except DECODE_ERRORS:
        return 1  # unreadable EXIF is a metadata defect, not a reason to refuse the pixels
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


class PillowEngine:
    """Pillow for everything it reads; pillow-heif for HEIC/HEIF (decoded already rotated)."""

    name = "pillow"

    def open(self, source: Source, data: bytes | None = None, *,
             max_pixels: int | None = None) -> Header:
        """The header of ``source`` (or of ``data``, an image it carries), nothing decoded;
        ``TooLarge`` over ``max_pixels`` by the header's size, before anything else is read
        (a PNG's EXIF may follow its pixels: reading it would decode them)."""
        path = source.path
        opened: Any = io.BytesIO(data) if data is not None else source.name
        try:
            if data is None and source.stat().st_size == 0:
                raise CorruptMedia(path, "empty file")
            first = imaging.head(opened)
            if _heif_box(first):
                return self._open_heif(opened, path, max_pixels)
            im = imaging.open_image(opened, first)
        except DECODE_ERRORS as exc:  # UnidentifiedImageError is an OSError
            header = _jpeg_pillow_refused(opened, path, max_pixels)
            if header is not None:
                return header
            why = ("not a readable image (unknown or damaged header)"
                   if isinstance(exc, UnidentifiedImageError)
                   else f"cannot read image header: {sources.reason(exc)}")
            raise CorruptMedia(path, why) from exc
        if max_pixels is not None:
            check_pixels(path, im.size[0], im.size[1], max_pixels)
        layout = _jpeg_layout(opened) if im.format in ("JPEG", "MPO") else None
        if layout is not None:
            jpeg.check(path, layout)
        return Header(path, im.format or "", im.size, _exif_orientation(im),
                      im.info.get("icc_profile") or None, im, jpeg=layout)

    @staticmethod
    def _open_heif(opened: Any, path: Path, max_pixels: int | None) -> Header:
        import pillow_heif  # loaded by the first HEIF, not by a library of JPEGs

        heif = pillow_heif.open_heif(opened, convert_hdr_to_8bit=True)
        if max_pixels is not None:
            check_pixels(path, heif.size[0], heif.size[1], max_pixels)
        # libheif applies irot/imir while decoding; EXIF orientation is informational.
        return Header(path, "HEIF", heif.size, 1, heif.info.get("icc_profile") or None, heif)

    def decode(self, header: Header, at_least: tuple[int, int]) -> Image.Image:
        """Pixels of at least ``at_least`` (stored orientation) where the format can shrink on
        load; 8-bit L, LA, RGB, RGBA or CMYK."""
        try:
            if header.format == "HEIF":
                im = header.handle.to_pillow()
            elif header.jpeg is not None and header.jpeg.arithmetic:
                im = self._libjpeg_turbo(header)
            else:
                im = header.handle
                if getattr(im, "is_animated", False):
                    im = self._first_visible_frame(im)
                elif isinstance(im, JpegImageFile) and im.mode in ("RGB", "L", "CMYK"):
                    im.draft(im.mode, at_least)
                _load_what_is_there(im, header.notes)
            return self._normalise(im)
        except DECODE_ERRORS as exc:
            raise CorruptMedia(header.path, f"cannot decode image: {sources.reason(exc)}") from exc

    @staticmethod
    def _libjpeg_turbo(header: Header) -> Image.Image:
        """An arithmetic-coded JPEG, which Pillow's libjpeg cannot decode (it would come out
        black, "damaged"), decoded by libjpeg-turbo (``jpeg.decode``) up to its end."""
        assert header.jpeg is not None
        handle = header.handle
        handle.fp.seek(0)
        im, note = jpeg.decode_image(handle.fp.read(header.jpeg.end), handle.mode)
        if note:
            header.notes.append(note)
        return im

    def _first_visible_frame(self, im: Image.Image) -> Image.Image:
        n = min(getattr(im, "n_frames", 1), MAX_FRAMES_SCANNED)
        for index in range(n):
            im.seek(index)
            frame = im.convert("RGBA")
            if not is_blank(np.asarray(frame.resize((32, 32), Image.Resampling.BOX))):
                return frame
        im.seek(0)
        return im.convert("RGBA")

    @staticmethod
    def _normalise(im: Image.Image) -> Image.Image:
        mode = im.mode
        if mode in ("L", "LA", "RGB", "RGBA", "CMYK"):
            out = im
        elif mode in ("P", "PA", "1"):
            has_alpha = mode == "PA" or "transparency" in im.info
            out = im.convert("RGBA" if has_alpha else "RGB")
        elif mode.startswith(("I", "F")):
            arr = np.asarray(im).astype(np.float32)
            if mode != "F" and arr.max(initial=0) > 255:
                arr = arr / 257.0  # 16-bit samples
            out = Image.fromarray(np.clip(arr + 0.5, 0, 255).astype(np.uint8), "L")
        elif mode == "RGBa":
            out = im.convert("RGBA")
        elif mode == "La":
            out = im.convert("LA")
        else:  # RGBX, YCbCr, LAB, HSV, ...
            out = im.convert("RGB")
        out.info = {}  # strip metadata: nothing of the source is written out but pixels
        return out

    def from_array(self, rgb: npt.NDArray[np.uint8]) -> Image.Image:
        return Image.fromarray(rgb, "RGB")

    def size(self, image: Image.Image) -> tuple[int, int]:
        return image.size

    def resize(self, image: Image.Image, size: tuple[int, int]) -> Image.Image:
        if image.size == size:
            return image
        return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)

    def resize_each(self, image: Image.Image,
                    sizes: Sequence[tuple[int, int]]) -> list[Image.Image]:
        """Each size (largest first) from the one before it: Pillow's Lanczos leaves nothing
        above a size's Nyquist frequency for the next shrink to fold back."""
        out = []
        for size in sizes:
            image = self.resize(image, size)
            out.append(image)
        return out

    def to_space(self, image: Image.Image, icc: bytes | None,
                 space: colour.Space) -> Image.Image:
        return cms.to_space(image, icc, space)

    def orient(self, image: Image.Image, orientation: int) -> Image.Image:
        how = _ORIENT.get(orientation)
        return image.transpose(how) if how is not None else image

    def encode(self, image: Image.Image, fmt: str, quality: int, icc: bytes | None) -> bytes:
        buf = io.BytesIO()
        if fmt == "jpeg":
            if image.mode in ("RGBA", "LA"):
                flat = Image.new("RGB", image.size, (255, 255, 255))
                flat.paste(image.convert("RGBA"), mask=image.getchannel("A"))
                image = flat
            image.save(buf, "JPEG", quality=quality, icc_profile=icc or b"")
        elif fmt == "webp":
            image.save(buf, "WEBP", quality=quality, icc_profile=icc or b"", method=4)
        else:
            raise ValueError(f"unknown output format {fmt!r}")
        return buf.getvalue()

    def rgba(self, image: Image.Image) -> npt.NDArray[np.uint8]:
        return np.asarray(image.convert("RGBA"))


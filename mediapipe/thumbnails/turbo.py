"""The fast image engine: libjpeg-turbo decodes and encodes JPEG, a compiled Lanczos resamples.

Owns: ``TurboEngine``, the engine chosen by measurement (``bench/bench_thumbnails.py``): JPEG
pixels decoded by libjpeg-turbo through simplejpeg, shrunk in the DCT by a power of two where
that still covers the size asked (the scaled 8x8 IDCTs at other M/8 run slower than a full
decode); HEIC's pixels taken from libheif's buffer as they are; every other format decoded as
``PillowEngine`` decodes it; resampling by Lanczos-3 with the exact geometry of a full-frame
resize, each output as sharp as a Lanczos-3 resize of the decoded pixels themselves (a
sub-pixel shift costs more SSIM than any filter choice): compiled (``compiled_each``, by
``polyphase``), or by OpenCV where that was not built (``opencv_each``: binomial halvings, a
Lanczos-3 low-pass and bicubic interpolation; ``tests/test_thumbnails_quality.py`` holds both
to Pillow's full Lanczos); alpha premultiplied, as
Pillow does; RGB and grey JPEGs encoded by libjpeg-turbo straight from the
array (``with_icc`` embeds the profile), WebP and the rest by Pillow's encoders. Pixels travel
as a ``Pixels`` value (a numpy array and its mode). Colour conversion and the rare modes (CMYK,
an ICC transform) go through Pillow at preview size. Does not own: sizes, limits or the order of
the steps (``make``); headers and damaged files (``PillowEngine``: a JPEG that libjpeg-turbo
refuses as damaged is decoded by Pillow as far as its data goes).

Entry points: ``TurboEngine``, ``Pixels``, ``available``, ``compiled_each``, ``opencv_each``,
``lanczos``, ``with_icc``.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from mediapipe import colour, sources
from mediapipe.errors import CorruptMedia
from mediapipe.sources import Source
from mediapipe.thumbnails import cms, geometry, jpeg, polyphase
from mediapipe.thumbnails.engine import DECODE_ERRORS, Header, PillowEngine

__all__ = ["Pixels", "TurboEngine", "available", "compiled_each", "lanczos", "opencv_each",
           "with_icc"]

FAST_DECODE = 1.25  # the least shrink after the decode that makes its fast mode moot (_turbo)

_ENCODED = ("RGB", "L")  # the modes libjpeg-turbo encodes here (jpeg.SPACES names them)
# numpy view that shows stored pixels upright, per EXIF orientation (see engine._ORIENT).
_TRANSPOSED = (5, 6, 7, 8)


@dataclasses.dataclass(frozen=True, eq=False)
class Pixels:
    """8-bit pixels, ``array`` of shape (height, width, bands), in Pillow's mode names."""

    array: npt.NDArray[np.uint8]
    mode: str

    @property
    def size(self) -> tuple[int, int]:
        return (self.array.shape[1], self.array.shape[0])

    def pillow(self) -> Image.Image:
        arr = self.array[:, :, 0] if self.mode == "L" else self.array
        return Image.fromarray(np.ascontiguousarray(arr), self.mode)

    @classmethod
    def of(cls, im: Image.Image) -> Pixels:
        arr = np.asarray(im)
        return cls(arr.reshape(arr.shape[0], arr.shape[1], -1), im.mode)


@functools.cache
def available() -> bool:
    """simplejpeg (libjpeg-turbo) loads, and a resampler: the compiled one, else OpenCV (only
    then imported: 40 ms of every process's start)."""
    try:
        import simplejpeg  # type: ignore[import-untyped]  # noqa: F401
    except (ImportError, OSError):
        return False
    return polyphase.available() or _opencv() is not None


@functools.cache
def _opencv() -> Any:
    """OpenCV, set to one thread (one image at a time per process: no pool to feed or fork),
    or None where it does not load."""
    try:
        import cv2
    except (ImportError, OSError):
        return None
    cv2.setNumThreads(1)
    return cv2


HALVING_GAP = 2  # OpenCV's path halves while the shrink left is at least twice this


def compiled_each(a: npt.NDArray[Any],
                  sizes: Sequence[tuple[int, int]]) -> list[npt.NDArray[Any]]:
    """Each size a Lanczos-3 resize of the one before it (``polyphase``: Pillow's kernel and
    geometry, only the output pixels computed), as ``PillowEngine.resize_each`` chains them:
    a Lanczos output leaves nothing above its Nyquist frequency for the next shrink to fold
    back."""
    outs: list[npt.NDArray[Any]] = []
    for size in sizes:
        if a.shape[:2] != (size[1], size[0]):
            a = polyphase.resample(a, size)
        outs.append(a)
    return outs


def opencv_each(a: npt.NDArray[Any],
                sizes: Sequence[tuple[int, int]]) -> list[npt.NDArray[Any]]:
    """``compiled_each`` by OpenCV alone, where the compiled resampler was not built (as sharp,
    slower: it filters every input pixel, then interpolates).

    While the shrink left is 4 or more, the pixels are halved: a 3x3 binomial blur, then
    OpenCV's SIMD 2x2 interpolation, together a [1 3 3 1] low-pass (a 2x2 box alone lets a
    zone plate's rings through); the blur is skipped where the pixels were low-passed already
    for an earlier, larger size. The shrink left (under 4) is low-passed by a Lanczos-3 kernel
    stretched to it (``lanczos``), and bicubic interpolation samples the band-limited result;
    the next size starts from that low-passed image, not from the interpolated output (whose
    interpolation error a further shrink would fold into its coarse detail).
    """
    cv2 = _opencv()

    outs: list[npt.NDArray[Any]] = []
    lowpassed = False
    for size in sizes:
        h, w = a.shape[:2]
        while min(w / size[0], h / size[1]) >= 2 * HALVING_GAP:
            w, h = w // 2, h // 2
            a = cv2.resize(a if lowpassed else cv2.GaussianBlur(a, (3, 3), 0), (w, h),
                           interpolation=cv2.INTER_LINEAR)
            lowpassed = False
        fx, fy = w / size[0], h / size[1]
        if fx > 1 or fy > 1:
            a = cv2.sepFilter2D(a, -1, lanczos(fx), lanczos(fy), borderType=cv2.BORDER_REFLECT)
            lowpassed = True
        out = a if (h, w) == (size[1], size[0]) else cv2.resize(
            a, size, interpolation=cv2.INTER_CUBIC)
        outs.append(out.reshape(size[1], size[0], -1))
    return outs


def lanczos(factor: float) -> npt.NDArray[np.float32]:
    """The Lanczos-3 low-pass for a shrink by ``factor`` (its cut-off the output's Nyquist
    frequency), normalised; a single tap (no filtering) at a factor of 1 or less."""
    return _lanczos(round(factor, 3)) if factor > 1 else np.ones(1, np.float32)


@functools.lru_cache(maxsize=64)
def _lanczos(factor: float) -> npt.NDArray[np.float32]:
    reach = int(np.ceil(3 * factor))
    x = np.arange(1 - reach, reach) / factor
    taps = np.sinc(x) * np.sinc(x / 3)
    taps /= taps.sum()
    while len(taps) > 3 and abs(taps[0]) < _NEGLIGIBLE:  # the window's last whisper: 2 taps
        taps = taps[1:-1]                                 # of 11 at a 1.7x shrink, not filtered
    out: npt.NDArray[np.float32] = (taps / taps.sum()).astype(np.float32)
    return out


_NEGLIGIBLE = 0.0025  # an end tap's weight below which the filter skips it


_ROWS = 256  # rows premultiplied at a time (bounded temporaries)


def _premultiplied(a: npt.NDArray[np.uint8], mode: str) -> npt.NDArray[np.uint8]:
    """A copy of ``a`` (``mode`` LA or RGBA) with each colour band times alpha / 255, rounded:
    Pillow's own La/RGBa conversion, a band of rows at a time."""
    out = np.empty(a.shape, np.uint8)
    for y in range(0, a.shape[0], _ROWS):
        band = np.ascontiguousarray(a[y:y + _ROWS])
        out[y:y + _ROWS] = np.asarray(
            Image.fromarray(band, mode).convert(mode[:-1] + "a")).reshape(band.shape)
    return out


_ICC_CHUNK = 65519  # an APP2 segment's room for profile bytes (65535 - 2 - 14)


def with_icc(jpeg: bytes, icc: bytes) -> bytes:
    """``jpeg`` with ``icc`` embedded as ICC.1's APP2 ``ICC_PROFILE`` segments, after the
    JFIF APP0 segment (where Pillow and libjpeg put them)."""
    chunks = [icc[i:i + _ICC_CHUNK] for i in range(0, len(icc), _ICC_CHUNK)]
    if len(chunks) > 255:
        raise ValueError("ICC profile too large for a JPEG")
    segments = b"".join(
        b"\xff\xe2" + (len(chunk) + 16).to_bytes(2, "big") + b"ICC_PROFILE\0"
        + bytes((n, len(chunks))) + chunk for n, chunk in enumerate(chunks, 1))
    at = 2
    if jpeg[2:4] == b"\xff\xe0":  # JFIF APP0
        at = 4 + int.from_bytes(jpeg[4:6], "big")
    return jpeg[:at] + segments + jpeg[at:]


class TurboEngine:
    """Headers (and non-JPEG decoding) by ``PillowEngine``; pixels as ``Pixels``."""

    name = "turbo"

    def __init__(self, compiled: bool | None = None) -> None:
        """``compiled``: resample with ``polyphase`` (True) or OpenCV (False); by default the
        compiled one where it was built."""
        self.pillow = PillowEngine()
        if compiled is None:
            compiled = polyphase.available()
        self.resample_each = compiled_each if compiled else opencv_each

    def open(self, source: Source, data: bytes | None = None, *,
             max_pixels: int | None = None) -> Header:
        return self.pillow.open(source, data, max_pixels=max_pixels)

    def decode(self, header: Header, at_least: tuple[int, int]) -> Pixels:
        if header.jpeg is not None and header.handle.mode in jpeg.SPACES:
            fast = self._turbo(header, at_least)
            if fast is not None:
                return fast
        if header.format == "HEIF" and header.handle.mode in ("RGB", "RGBA"):
            return self._heif(header)
        return Pixels.of(self.pillow.decode(header, at_least))

    @staticmethod
    def _heif(header: Header) -> Pixels:
        """libheif's own buffer as the array: no copy through Pillow (600 MB on 200 MP)."""
        try:
            arr = np.asarray(header.handle)
        except DECODE_ERRORS as exc:
            why = f"cannot decode image: {sources.reason(exc)}"
            raise CorruptMedia(header.path, why) from exc
        return Pixels(arr, header.handle.mode)

    def _turbo(self, header: Header, at_least: tuple[int, int]) -> Pixels | None:
        """libjpeg-turbo's decode of the bytes up to the end of the image (``jpeg.decode``: a
        damaged file as far as its data goes, noted), or None for one it cannot decode at all
        (Pillow then decodes what is there and says so). Where the picture is then shrunk by
        ``FAST_DECODE`` or more, chroma is upsampled by repeating its pixels and the IDCT is
        libjpeg-turbo's fast integer one: the shrink averages both away (on the real samples
        each channel's SSIM moves by 0.001 at most) and the decode is 13-17 % faster."""
        assert header.jpeg is not None
        k = geometry.dct_scale(header.size, at_least)
        w, h = -(-header.size[0] // k), -(-header.size[1] // k)
        try:
            fp = header.handle.fp  # the file (or bytes) Pillow opened, not yet decoded
            fp.seek(0)
            arr, note = jpeg.decode(
                fp.read(header.jpeg.end), header.handle.mode, (w, h),
                fast=min(w / at_least[0], h / at_least[1]) >= FAST_DECODE)
        except ValueError:
            return None
        except OSError as exc:
            raise CorruptMedia(header.path, f"cannot read image: {sources.reason(exc)}") from exc
        if note:
            header.notes.append(note)
        return Pixels(arr, header.handle.mode)

    def from_array(self, rgb: npt.NDArray[np.uint8]) -> Pixels:
        return Pixels(rgb, "RGB")

    def size(self, image: Pixels) -> tuple[int, int]:
        return image.size

    def resize(self, image: Pixels, size: tuple[int, int]) -> Pixels:
        return self.resize_each(image, [size])[0]

    def resize_each(self, image: Pixels, sizes: Sequence[tuple[int, int]]) -> list[Pixels]:
        if all(size == image.size for size in sizes):
            return [image for _ in sizes]
        if image.mode not in ("LA", "RGBA"):
            return [Pixels(a, image.mode)
                    for a in self.resample_each(np.ascontiguousarray(image.array), sizes)]
        # Premultiplied, as Pillow resizes RGBA (its 8-bit RGBa): no colour bleeds from
        # transparent pixels. One 8-bit copy made a band of rows at a time: a 200 MP PNG costs
        # its own size again, not four times it in floats.
        return [Pixels.of(Image.fromarray(small, image.mode[:-1] + "a").convert(image.mode))
                for small in self.resample_each(_premultiplied(image.array, image.mode), sizes)]

    def to_space(self, image: Pixels, icc: bytes | None,
                 space: colour.Space) -> Pixels:
        """As ``PillowEngine.to_space``; pixels that need nothing are not copied through it."""
        if cms.unchanged(image.mode, icc, space):
            return image
        return Pixels.of(self.pillow.to_space(image.pillow(), icc, space))

    def orient(self, image: Pixels, orientation: int) -> Pixels:
        a = image.array
        if orientation in _TRANSPOSED:
            a = a.transpose(1, 0, 2)  # now orientation 5 (transpose) is done
            orientation = {5: 1, 6: 2, 7: 3, 8: 4}[orientation]
        if orientation in (2, 3):
            a = a[:, ::-1]
        if orientation in (3, 4):
            a = a[::-1]
        return Pixels(np.ascontiguousarray(a), image.mode) if a is not image.array else image

    def encode(self, image: Pixels, fmt: str, quality: int,
               icc: bytes | None) -> bytes:
        """libjpeg-turbo (simplejpeg, straight from the array) for RGB and grey JPEGs, else
        Pillow's encoders: on one core they beat libvips' (mozjpeg in pyvips-binary) by a third
        for JPEG and a tenth for WebP. Both subsample chroma 4:2:0, as libvips does below Q90."""
        if fmt == "jpeg" and image.mode in _ENCODED:
            import simplejpeg

            data = simplejpeg.encode_jpeg(np.ascontiguousarray(image.array), quality,
                                          jpeg.SPACES[image.mode], "420")
            return with_icc(bytes(data), icc) if icc else bytes(data)
        return self.pillow.encode(image.pillow(), fmt, quality, icc)

    def rgba(self, image: Pixels) -> npt.NDArray[np.uint8]:
        if image.mode == "RGBA":
            return image.array
        return np.asarray(image.pillow().convert("RGBA"))


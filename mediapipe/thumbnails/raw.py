"""The RAW image engine: libraw (through rawpy) beside Pillow, for every RAW extension.

Owns: opening a RAW file (``open_raw``) and choosing its pixels: the largest embedded JPEG when
``image.extractEmbedded`` is on and it covers the preview size (the fast path: nothing is
demosaicked), else the sensor data, demosaicked at half size whenever that still covers the size
asked (each 2×2 Bayer cell becomes one pixel: four times less work and memory), with the
camera's white balance, into sRGB, 8 bits, in stored orientation (the RAW's own orientation is
the header's, applied later like any image's). When libraw cannot open the file, exiftool's
extraction of an embedded JPEG is the last resort. The sensor's size is checked against
``image.maxPixels`` from the header, before libraw unpacks anything; every libraw error is one
typed ``MediaError`` and what libraw prints itself is caught into its reason. Does not own:
the other sizes and limits or the order of the steps (``make``); resizing, orienting and
encoding (``PillowEngine``, which ``RawEngine`` extends).

Entry points: ``RawEngine``, ``open_raw``.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import os
import subprocess
import tempfile
from collections.abc import Iterator
from typing import Any

import rawpy
from PIL import Image

from mediapipe import sources
from mediapipe.errors import CorruptMedia, UnsupportedMedia, check_pixels
from mediapipe.sources import Source, SourceLike
from mediapipe.thumbnails.engine import Header, PillowEngine

__all__ = ["RAW_PREVIEW_TAGS", "RawEngine", "open_raw"]

# libraw's flip code to EXIF orientation (libraw: 3 = 180°, 5 = 90° CCW, 6 = 90° CW).
_FLIP_TO_ORIENTATION = {0: 1, 3: 3, 5: 8, 6: 6}
# Embedded previews exiftool can extract when libraw cannot open the file, largest usually first.
RAW_PREVIEW_TAGS = ("JpgFromRaw", "PreviewImage", "OtherImage")
EXIFTOOL_TIMEOUT_S = 60
_LIBRAW_ERRORS = (rawpy.LibRawError, OSError, ValueError, MemoryError)
STDERR_KEPT = 400  # characters of what libraw printed, kept in the error


@contextlib.contextmanager
def _libraw_says() -> Iterator[list[str]]:
    """libraw's own messages ("Unexpected end of file", ...) written to file descriptor 2,
    caught instead of reaching the terminal or the worker's log: the list holds them once the
    block ends, for the error that names what went wrong."""
    said: list[str] = []
    try:
        sink = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the `with sink` below
    except OSError:  # no room for a temp file: libraw's words go where they would have
        yield said
        return
    with sink:
        try:
            saved = os.dup(2)
        except OSError:  # no stderr at all: nothing to keep libraw's words from
            yield said
            return
        os.dup2(sink.fileno(), 2)
        try:
            yield said
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            text = sink.read(STDERR_KEPT).decode("utf-8", "replace").strip()
            if text:
                said.append(" ".join(text.split()))


def _why(exc: BaseException, said: list[str]) -> str:
    """rawpy's reason (bytes from libraw, made text) and what libraw printed, without the file
    name it starts its lines with (the error names the file already)."""
    arg = exc.args[0] if exc.args else None
    reason = arg.decode("utf-8", "replace") if isinstance(arg, bytes) else sources.reason(exc)
    printed = "; ".join(line.rpartition(": ")[2] for line in said)
    return f"{reason} (libraw: {printed})" if printed else reason


class RawEngine(PillowEngine):
    """Pillow's primitives, plus decoding the sensor data of a header ``open_raw`` made."""

    name = "libraw"

    def decode(self, header: Header, at_least: tuple[int, int]) -> Image.Image:
        if not isinstance(header.handle, rawpy.RawPy):
            return super().decode(header, at_least)  # an embedded JPEG
        raw = header.handle
        w, h = header.size
        half = w // 2 >= at_least[0] and h // 2 >= at_least[1]
        try:
            with _libraw_says() as said:
                rgb = raw.postprocess(use_camera_wb=True, half_size=half, output_bps=8,
                                      user_flip=0, output_color=rawpy.ColorSpace.sRGB)
        except _LIBRAW_ERRORS as exc:
            why = f"libraw cannot decode the sensor data: {_why(exc, said)}"
            raise CorruptMedia(header.path, why) from exc
        finally:
            raw.close()
        return Image.fromarray(rgb, "RGB")


def open_raw(source: SourceLike, *, preview_size: int, extract_embedded: bool,
             engine: PillowEngine, max_pixels: int) -> Header:
    """The header of a RAW file's pixels (see the module docstring): ``TooLarge`` when the
    sensor's size from the header is over ``max_pixels``, before libraw unpacks a byte of it;
    ``CorruptMedia`` when the sensor data cannot be read (truncated, damaged); ``UnsupportedMedia``
    naming why when there is neither a usable preview nor decodable sensor data."""
    source = Source.of(source)
    path = source.path
    raw = rawpy.RawPy()
    try:
        with _libraw_says() as said:
            raw.open_file(source.name)  # the header only: nothing is unpacked
    except _LIBRAW_ERRORS as exc:
        raw.close()
        return _exiftool_preview(source, engine,
                                 f"libraw cannot open it ({_why(exc, said)})")
    try:
        sizes = raw.sizes
        orientation = _FLIP_TO_ORIENTATION.get(sizes.flip, 1)
        size = (sizes.width, sizes.height)
        check_pixels(path, *max((sizes.raw_width, sizes.raw_height), size,
                                key=lambda wh: wh[0] * wh[1]), max_pixels, what="sensor")
        if extract_embedded:
            embedded = _embedded(raw, source, engine)
            if embedded is not None and min(embedded.size) >= preview_size:
                raw.close()
                return dataclasses.replace(embedded, format="RAW", orientation=orientation)
        try:
            with _libraw_says() as said:
                raw.unpack()
                flat = raw.raw_type in (rawpy.RawType.Flat, rawpy.RawType.Stack)
        except _LIBRAW_ERRORS as exc:
            raise CorruptMedia(path, f"libraw cannot read the sensor data: {_why(exc, said)}") \
                from exc
        if not flat or min(size) <= 0:
            raise UnsupportedMedia(path, "libraw finds no sensor data to decode")
    except BaseException:
        raw.close()
        raise
    return Header(path, "RAW", size, orientation, None, raw)


def _embedded(raw: Any, source: Source, engine: PillowEngine) -> Header | None:
    """The JPEG libraw finds largest among the file's thumbnails, opened; None without one."""
    try:
        with _libraw_says():
            thumb = raw.extract_thumb()
    except _LIBRAW_ERRORS:
        return None
    if thumb.format != rawpy.ThumbFormat.JPEG:
        return None
    try:
        return engine.open(source, bytes(thumb.data))
    except CorruptMedia:
        return None


def _exiftool_preview(source: Source, engine: PillowEngine, why: str) -> Header:
    """The largest JPEG exiftool extracts, with the RAW's orientation: what is left of a RAW
    libraw cannot open."""
    argv = ["exiftool", "-json", "-b", "-n", "-Orientation",
            *(f"-{tag}" for tag in RAW_PREVIEW_TAGS), source.name]
    path = source.path
    try:
        proc = subprocess.run(argv, capture_output=True, timeout=EXIFTOOL_TIMEOUT_S,
                              stdin=subprocess.DEVNULL, check=False)
        tags: dict[str, Any] = json.loads(proc.stdout or b"[{}]")[0]
    except (OSError, subprocess.TimeoutExpired, ValueError, IndexError) as exc:
        raise UnsupportedMedia(path, f"{why}; exiftool could not extract a preview: {exc}") \
            from exc
    best: Header | None = None
    for tag in RAW_PREVIEW_TAGS:
        value = tags.get(tag)
        if not isinstance(value, str) or not value.startswith("base64:"):
            continue
        try:
            candidate = engine.open(source, base64.b64decode(value[7:]))
        except CorruptMedia:
            continue
        if best is None or candidate.size[0] * candidate.size[1] > best.size[0] * best.size[1]:
            best = candidate
    if best is None:
        raise UnsupportedMedia(path, f"{why}, and it embeds no JPEG preview")
    orientation = tags.get("Orientation", 1)
    orientation = orientation if isinstance(orientation, int) and 1 <= orientation <= 8 else 1
    best.notes.append(f"RAW not decoded ({why}): its embedded preview is used")
    return dataclasses.replace(best, format="RAW", orientation=orientation)

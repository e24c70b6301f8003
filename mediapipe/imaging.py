"""Pillow as mediapipe opens images: its one process-wide setting, made once.

Owns: ``pillow()``, the ``PIL.Image`` module with its decompression-bomb guard
(``Image.MAX_IMAGE_PIXELS``: module-wide state that no call can set for itself) switched off,
once, the first time an image is opened. ``image.maxPixels`` governs instead: every image's
size is read from its header and checked before any decoder allocates (``errors.check_pixels``,
in the metadata and thumbnails stages), so Pillow's default (179 MP, below the 200 MP default
of ``image.maxPixels``) never refuses first, and the limit is never swapped in and out around
each image (which raced between threads and leaked into other code in the process).
Also ``open_image``, Pillow's open with the plugin the file's first bytes (``head``) call
for, and ``load_codecs()``: the codecs the stages use imported now rather than on the first
image, for a process about to fork its pool.
Does not own: the size checks themselves (the stages), decoding (``thumbnails.engine``).
"""

from __future__ import annotations

import functools
from pathlib import Path
from types import ModuleType
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["head", "load_codecs", "open_image", "pillow"]


@functools.cache
def pillow() -> ModuleType:
    """``PIL.Image``, with Pillow's own pixel guard off (see the module docstring)."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None  # image.maxPixels, checked on each header, governs
    return Image


def head(fp: str | Path | IO[bytes]) -> bytes:
    """The first 12 bytes of ``fp`` (a path, or a binary file at the image's start, left
    there): enough to tell the formats that need a library of their own."""
    if isinstance(fp, str | Path):
        with open(fp, "rb") as f:
            return f.read(12)
    at = fp.tell()
    first = fp.read(12)
    fp.seek(at)
    return first


def open_image(fp: str | Path | IO[bytes], first: bytes | None = None) -> Image.Image:
    """Pillow's ``Image.open`` of ``fp`` (as ``head`` takes it; ``first``: its ``head``,
    where the caller has read it), the JPEG XL plugin loaded first where the first bytes are a
    JPEG XL's (a codestream, or the container's ``JXL`` box: pillow-jxl's own test), so a
    library without one never loads it (11 ms a process)."""
    first = head(fp) if first is None else first
    if first[:2] == b"\xff\x0a" or first[4:7] == b"JXL":
        import pillow_jxl  # noqa: F401 - registers the JPEG XL plugin with Pillow
    image: Image.Image = pillow().open(fp)
    return image


def load_codecs() -> None:
    """Pillow's common plugins (the ones it loads before any open, and WebP's, which our
    thumbnails are saved with), imported now. The rest of Pillow's 40-odd plugins load on the
    first file none of these opens, as Pillow does; pillow-jxl on the first JPEG XL
    (``open_image``) and pillow-heif on the first HEIF or AVIF (together 26 ms a process that
    a library of JPEGs never pays)."""
    from PIL import WebPImagePlugin  # noqa: F401

    pillow().preinit()

"""Pillow as mediapipe opens images: its one process-wide setting, made once.

Owns: ``pillow()``, the ``PIL.Image`` module with its decompression-bomb guard
(``Image.MAX_IMAGE_PIXELS``: module-wide state that no call can set for itself) switched off,
once, the first time an image is opened. ``image.maxPixels`` governs instead: every image's
size is read from its header and checked before any decoder allocates (``errors.check_pixels``,
in the metadata and thumbnails stages), so Pillow's default (179 MP, below the 200 MP default
of ``image.maxPixels``) never refuses first, and the limit is never swapped in and out around
each image (which raced between threads and leaked into other code in the process).
Also ``load_codecs()``: the codecs the stages use imported now rather than on the first image,
for a process about to fork its pool.
Does not own: the size checks themselves (the stages), decoding (``thumbnails.engine``).
"""

from __future__ import annotations

import functools
from types import ModuleType

__all__ = ["load_codecs", "pillow"]


@functools.cache
def pillow() -> ModuleType:
    """``PIL.Image``, with Pillow's own pixel guard off (see the module docstring)."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None  # image.maxPixels, checked on each header, governs
    return Image


def load_codecs() -> None:
    """Pillow's common plugins (the ones it loads before any open, and WebP's, which our
    thumbnails are saved with) and the JPEG XL plugin, imported now. The rest of Pillow's
    40-odd plugins load on the first file none of these opens, as Pillow does, and
    pillow-heif on the first HEIF or AVIF (15 ms a process that a library of JPEGs never
    pays)."""
    import pillow_jxl  # noqa: F401
    from PIL import WebPImagePlugin  # noqa: F401

    pillow().preinit()

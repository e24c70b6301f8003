"""The thumbnails wing: preview, thumbnail and thumbhash from one decode of a photo or a video.

Modules: ``make`` (the stage's entry, ``make_thumbnails``), ``engine`` (image engines and
their primitives), ``cms`` (pixels to the output colour space), ``raw`` (the RAW engine),
``geometry`` (size arithmetic), ``thumbhash``, ``videoframe`` (the still that stands for a
video). Public names: ``make_thumbnails``, ``Thumbnails``, ``Encoded``, ``output_formats``,
``wants_fullsize``, imported on first use (``exports.lazy``): ``make`` loads Pillow, NumPy and
libraw (309 modules, some 240 ms of CPU, against 73 and 30 ms for
``import mediapipe.thumbnails.geometry`` with this face).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mediapipe.exports import lazy

__all__ = ["Encoded", "Thumbnails", "make_thumbnails", "output_formats", "wants_fullsize"]
__getattr__, __dir__ = lazy(__name__)

if TYPE_CHECKING:
    from mediapipe.thumbnails.make import (
        Encoded,
        Thumbnails,
        make_thumbnails,
        output_formats,
        wants_fullsize,
    )

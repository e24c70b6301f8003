"""The thumbnails wing: preview, thumbnail and thumbhash from one decode of a photo or a video.

Modules: ``make`` (the stage's entry, ``make_thumbnails``), ``engine`` (image engines and
their primitives), ``cms`` (pixels to the output colour space), ``raw`` (the RAW engine),
``geometry`` (size arithmetic), ``thumbhash``, ``videoframe`` (the still that stands for a
video). Public names (imported on first use):
``make_thumbnails``, ``Thumbnails``, ``Encoded``, ``output_formats``, ``wants_fullsize``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mediapipe.exports import lazy

__all__ = ["Encoded",
           "Thumbnails",
           "make_thumbnails",
           "output_formats",
           "wants_fullsize"]
__getattr__, __dir__ = lazy(__name__, {
    "make_thumbnails": "mediapipe.thumbnails.make",
    "Thumbnails": "mediapipe.thumbnails.make",
    "Encoded": "mediapipe.thumbnails.make",
    "output_formats": "mediapipe.thumbnails.make",
    "wants_fullsize": "mediapipe.thumbnails.make",
})

if TYPE_CHECKING:
    from mediapipe.thumbnails.make import (
        Encoded,
        Thumbnails,
        make_thumbnails,
        output_formats,
        wants_fullsize,
    )

"""The metadata wing: one file in, one ``MediaInfo`` out (EXIF, XMP, QuickTime, stream headers).

Modules: ``read`` (the stage's entry, ``read_metadata``), ``model`` (``MediaInfo``,
``StreamInfo``), ``blocks`` (an image's metadata blocks, found without decoding), ``tags`` (the
one vocabulary of tags the readers read), ``exif``, ``xmp``, ``iptc``, ``exiftool`` (the
fallback reader), ``fields`` (Immich's field rules: tags to ``MediaInfo``), ``dates`` (which
date wins, Immich's rules), ``daterules`` (the rules after the tags: ``takeout``, ``filenames``,
the file time), ``places`` (city, state, country offline), ``motion`` (what a motion photo
declares and where it keeps its video), ``video`` (PyAV headers).
Public names (imported on first use): ``read_metadata``, ``read_video``, ``MediaInfo``,
``StreamInfo``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mediapipe.exports import lazy

__all__ = ["MediaInfo",
           "StreamInfo",
           "read_metadata",
           "read_video"]
__getattr__, __dir__ = lazy(__name__, {
    "read_metadata": "mediapipe.metadata.read",
    "read_video": "mediapipe.metadata.video",
    "MediaInfo": "mediapipe.metadata.model",
    "StreamInfo": "mediapipe.metadata.model",
})

if TYPE_CHECKING:
    from mediapipe.metadata.model import MediaInfo, StreamInfo
    from mediapipe.metadata.read import read_metadata
    from mediapipe.metadata.video import read_video

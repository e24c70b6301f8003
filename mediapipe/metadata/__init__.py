"""The metadata wing: one file in, one ``MediaInfo`` out (EXIF, XMP, QuickTime, stream headers).

Modules: ``read`` (the stage's entry, ``read_metadata``), ``model`` (``MediaInfo``,
``StreamInfo``), ``blocks`` (an image's metadata blocks, found without decoding), ``tags`` (the
one vocabulary of tags the readers read), ``exif``, ``xmp``, ``iptc``, ``exiftool`` (the
fallback reader), ``fields`` (Immich's field rules: tags to ``MediaInfo``), ``dates`` (which
date wins, Immich's rules), ``daterules`` (the rules after the tags: ``takeout``, ``filenames``,
the file time), ``places`` (city, state, country offline), ``motion`` (what a motion photo
declares and where it keeps its video), ``video`` (PyAV headers).
Public names: ``read_metadata``, ``read_video``, ``MediaInfo``, ``StreamInfo``, imported on
first use (``exports.lazy``): the reader brings some 35 modules (its readers, the date rules,
the settings) that a program needing only ``MediaInfo`` does not (the CLI starts 46 ms sooner).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mediapipe.exports import lazy

__all__ = ["MediaInfo",
           "StreamInfo",
           "read_metadata",
           "read_video"]
__getattr__, __dir__ = lazy(__name__)

if TYPE_CHECKING:
    from mediapipe.metadata.model import MediaInfo, StreamInfo
    from mediapipe.metadata.read import read_metadata
    from mediapipe.metadata.video import read_video

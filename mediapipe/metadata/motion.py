"""Where a motion photo keeps its video: the byte range of the MP4 after the still.

Owns: ``locate`` — Google's motion photos say where in their XMP (``Container:Directory``'s
video item length, or the older ``MicroVideoOffset``: both count from the end of the file, read
by ``read`` into ``MediaInfo.motion_photo_offset``); Samsung's write ``MotionPhoto_Data`` right
before the MP4 (and an index after it), with no XMP. A range is only returned when an MP4
``ftyp`` box starts it. ``maybe_motion`` says, from the metadata alone, whether looking is worth
it. Does not own: copying the bytes out or checking the video plays (the pipeline's motion step).
"""

from __future__ import annotations

import dataclasses
import mmap

from mediapipe.metadata.model import MediaInfo
from mediapipe.sources import Source, SourceLike

__all__ = ["SAMSUNG_MARKER", "MotionPart", "locate", "maybe_motion"]

SAMSUNG_MARKER = b"MotionPhoto_Data"


@dataclasses.dataclass(frozen=True)
class MotionPart:
    offset: int
    length: int


def maybe_motion(info: MediaInfo) -> bool:
    """An image whose metadata marks a motion photo, or from a Samsung camera (no marker)."""
    return info.kind == "image" and (info.motion_photo or
                                     (info.make or "").strip().lower().startswith("samsung"))


def _is_mp4(data: mmap.mmap | bytes, offset: int) -> bool:
    return data[offset + 4:offset + 8] == b"ftyp"


def _mp4_length(data: mmap.mmap, start: int) -> int:
    """How far the MP4's top-level boxes run from ``start`` (to the file's end at most): what
    follows them (Samsung's index of trailer blocks) is not the video's."""
    pos, end = start, len(data)
    while pos + 8 <= end:
        size = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        if not kind.isalnum():  # not a box: the video ended before this
            break
        if size == 1 and pos + 16 <= end:
            size = int.from_bytes(data[pos + 8:pos + 16], "big")
        elif size == 0:
            size = end - pos
        if size < 8:
            break
        pos += size
    return min(pos, end) - start


def locate(source: SourceLike, info: MediaInfo) -> MotionPart | None:
    """The embedded MP4's byte range, or None when the file carries none that starts well."""
    with Source.of(source).open() as fh:
        size = fh.seek(0, 2)
        if size == 0:
            return None
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
            start = info.motion_photo_offset
            if start is None or not _is_mp4(data, start):
                marker = data.rfind(SAMSUNG_MARKER)
                start = marker + len(SAMSUNG_MARKER) if marker >= 0 else None
            if start is None or not _is_mp4(data, start):
                return None
            return MotionPart(start, _mp4_length(data, start))

"""What an ISO-BMFF file's ``moov`` box says that PyAV does not: rotation, the movie's own
duration, and a camera maker's make and model.

Owns: finding ``moov`` (top-level boxes walked by seeking; at most 64 MiB read), the video
track's ``tkhd`` matrix as a clockwise rotation (FFmpeg 8 keeps the display matrix where PyAV
does not expose it), the ``mvhd`` duration (what ffprobe's format duration and exiftool's
``Duration`` report, right where a damaged track or media header makes the stream's short),
and the make and model of maker boxes in ``udta`` as exiftool reads them: Pentax ``TAGS``
(``PENTAX DIGITAL CAMERA``, Optio) and ``PENT`` (Optio WG), Fujifilm and Samsung ``TAGS``.
Does not own: the streams (``video``, PyAV).

Entry point: ``read_movie(path, video_track) -> Movie``; a file it cannot follow gives
``Movie()`` (nothing known), never an error.
"""

from __future__ import annotations

import dataclasses
import math
import struct
from typing import BinaryIO

from mediapipe.sources import Source, SourceLike

__all__ = ["Movie", "read_movie", "top_box"]

_MAX_MOOV = 64 << 20
# udta/TAGS prefixes whose make is the first 24 bytes (exiftool's Pentax/FujiFilm/Samsung MOV)
_TAGS_MAKERS = (b"PENTAX DIGITAL CAMERA\0", b"FUJIFILM DIGITAL CAMERA\0",
                b"SAMSUNG DIGITAL CAMERA\0")


@dataclasses.dataclass(frozen=True)
class Movie:
    rotation: int = 0
    duration: float | None = None
    make: str | None = None
    model: str | None = None


def read_movie(source: SourceLike, video_track: int) -> Movie:
    """What ``moov`` says (see the module docstring); ``video_track`` is the video's index."""
    try:
        moov = _read_moov(Source.of(source))
    except OSError:
        return Movie()
    if moov is None:
        return Movie()
    head = 16 if struct.unpack_from(">I", moov)[0] == 1 else 8
    children = _boxes(moov, head, len(moov))
    traks = [b for b in children if b[0] == b"trak"]
    make, model = _maker(moov, children)
    return Movie(_rotation(moov, traks[video_track]) if video_track < len(traks) else 0,
                 _duration(moov, children), make, model)


def _boxes(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """The ISO-BMFF boxes in ``data[start:end]`` as (type, payload start, payload end)."""
    out = []
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        head = 8
        if size == 1 and pos + 16 <= end:
            size, head = struct.unpack_from(">Q", data, pos + 8)[0], 16
        elif size == 0:
            size = end - pos
        if size < head or pos + size > end:
            break
        out.append((kind, pos + head, pos + size))
        pos += size
    return out


def top_box(fh: BinaryIO, kind: bytes) -> tuple[int, int, int] | None:
    """The first top-level ISO-BMFF box of ``kind`` in the file ``fh``, as (its start, its
    header's length, its size: it may run past the end of a truncated file), read by seeking
    from box header to box header (a few reads); None when there is none before the walk
    meets the end or a box it cannot follow."""
    end = fh.seek(0, 2)
    pos = 0
    while pos + 8 <= end:
        fh.seek(pos)
        head = fh.read(16)
        if len(head) < 8:
            return None
        size, found = struct.unpack_from(">I4s", head)
        header = 8
        if size == 1:
            if len(head) < 16:
                return None
            size, header = struct.unpack_from(">Q", head, 8)[0], 16
        elif size == 0:
            size = end - pos
        if size < header:
            return None
        if found == kind:
            return pos, header, size
        pos += size
    return None


def _read_moov(source: Source) -> bytes | None:
    with source.open(buffering=0) as fh:
        box = top_box(fh, b"moov")
        if box is None or box[2] > _MAX_MOOV:
            return None
        fh.seek(box[0])
        return fh.read(box[2])


def _rotation(moov: bytes, trak: tuple[bytes, int, int]) -> int:
    """Clockwise rotation from the track's ``tkhd`` matrix (0 if none)."""
    _, start, end = trak
    for kind, s, _e in _boxes(moov, start, end):
        if kind != b"tkhd":
            continue
        version = moov[s]
        matrix_at = s + 4 + (32 if version == 1 else 20) + 16
        if matrix_at + 36 > len(moov):
            return 0
        a, b = struct.unpack_from(">ii", moov, matrix_at)
        angle = math.degrees(math.atan2(b, a))
        return round(angle / 90.0) * 90 % 360
    return 0


def _duration(moov: bytes, children: list[tuple[bytes, int, int]]) -> float | None:
    """The movie header's duration in seconds; None when absent, zero (fragmented) or unset."""
    for kind, s, e in children:
        if kind != b"mvhd" or e - s < 20:
            continue
        if moov[s] == 1 and e - s >= 32:
            timescale, duration = struct.unpack_from(">IQ", moov, s + 20)
            unset = 0xFFFFFFFFFFFFFFFF
        else:
            timescale, duration = struct.unpack_from(">II", moov, s + 12)
            unset = 0xFFFFFFFF
        if timescale and duration and duration != unset:
            return float(duration) / float(timescale)
    return None


def _maker(moov: bytes, children: list[tuple[bytes, int, int]]) -> tuple[str | None, str | None]:
    """Make and model from a camera maker's box in ``udta`` (see the module docstring)."""
    for kind, s, e in children:
        if kind != b"udta":
            continue
        for inner, start, end in _boxes(moov, s, e):
            payload = moov[start:end]
            if inner == b"TAGS" and payload.startswith(_TAGS_MAKERS):
                return _string(payload[:24]), None
            if inner == b"PENT" and len(payload) >= 0x1A + 24:
                return _string(payload[:24]), _string(payload[0x1A:0x1A + 24])
    return None, None


def _string(raw: bytes) -> str | None:
    text = raw.split(b"\0", 1)[0].decode("latin-1").strip()
    return text or None

"""Where a motion photo keeps its video: the byte range of the MP4 it carries.

Owns: ``locate`` — the video's range in every container Google and Samsung write, tried in
this order, the first that holds one winning:

1. a HEIF's top-level ``mpvd`` box (Samsung One UI 6 HEIC; exiftool's
   ``QuickTime:MotionPhotoVideo``): the box's payload;
2. Samsung's trailer (``SEFH`` index … ``SEFT`` at the end of the file, exiftool's
   ``Samsung:EmbeddedVideoFile``): the ``MotionPhoto_Data`` block's data, as long as the index
   says — what follows it (the index itself) is never the video's;
3. Google's XMP (``declared`` reads it into ``MediaInfo``): ``Container:Directory``'s MotionPhoto
   item, ``Length`` bytes ending ``Padding`` bytes before the end of the file, or the older
   ``MicroVideoOffset`` (the video runs to the end);
4. a bare ``MotionPhoto_Data`` marker with the MP4 right after it and no index: the MP4's
   top-level boxes, walked.

Immich extracts the same bytes (exiftool's binary tags, or Google's range), so the copy is
byte-identical to what the phone's gallery exports. A range is kept only when an MP4 ``ftyp``
box starts it; a photo that says it carries a video and does not (a length off by one, past
the end, zero, negative, garbage) gets ``Located.problem`` in words, never silence.
``heif_video`` and ``samsung_video`` are the readers of the first two, the first also used by
``read`` to mark a HEIF motion photo (``heif_marked``); ``declared`` is what a photo's tags say
of its video (Google's XMP range, the markers exiftool names): the ``MediaInfo`` fields
``locate`` starts from; ``maybe_motion`` says, from the metadata alone, whether looking is
worth it. Does not own: reading XMP (``xmp``), copying the bytes out or checking the video plays
(the pipeline's motion step).

Entry points: ``locate(path, info) -> Located`` (raises only ``OSError``: the caller's edge),
``declared(tags, size) -> Declared``.
"""

from __future__ import annotations

import dataclasses
import mmap
import struct
from collections.abc import Mapping
from typing import BinaryIO

from mediapipe.metadata.model import MediaInfo
from mediapipe.metadata.moov import top_box
from mediapipe.sources import Source, SourceLike

__all__ = ["SAMSUNG_MARKER", "Declared", "Located", "MotionPart", "declared", "heif_marked",
           "heif_video", "locate", "maybe_motion", "samsung_video"]

SAMSUNG_MARKER = b"MotionPhoto_Data"
_SEF_VIDEO = 0x0A30  # the trailer entry type of MotionPhoto_Data (exiftool's Samsung::Trailer)
_MAX_INDEX = 0x10000  # exiftool reads an index up to this long
# Top-level boxes an MP4 file may have (ISO/IEC 14496-12): a walk with no index stops at others.
_MP4_TOP = frozenset({b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"uuid", b"meta",
                      b"moof", b"mfra", b"pdin", b"styp", b"sidx", b"ssix", b"prft", b"emsg",
                      b"udta"})


@dataclasses.dataclass(frozen=True)
class MotionPart:
    """The video's bytes: ``length`` from ``offset``, and the container that said so."""

    offset: int
    length: int
    container: str


@dataclasses.dataclass(frozen=True)
class Located:
    """What a look for the video found: its range, or why a photo that says it has one has
    none (``problem``); both None when the photo carries no video and says none."""

    part: MotionPart | None = None
    problem: str | None = None


def maybe_motion(info: MediaInfo) -> bool:
    """An image whose metadata marks a motion photo, or from a Samsung camera (no marker)."""
    return info.kind == "image" and (info.motion_photo or
                                     (info.make or "").strip().lower().startswith("samsung"))


def _is_mp4(data: mmap.mmap, offset: int) -> bool:
    return offset >= 0 and data[offset + 4:offset + 8] == b"ftyp"


def _boxes_length(data: mmap.mmap, start: int) -> int:
    """How far the MP4's top-level boxes run from ``start`` (to the file's end at most)."""
    pos, end = start, len(data)
    while pos + 8 <= end:
        size = int.from_bytes(data[pos:pos + 4], "big")
        if data[pos + 4:pos + 8] not in _MP4_TOP:  # not an MP4's box: the video ended before
            break
        if size == 1 and pos + 16 <= end:
            size = int.from_bytes(data[pos + 8:pos + 16], "big")
        elif size == 0:
            size = end - pos
        if size < 8:
            break
        pos += size
    return min(pos, end) - start


def heif_video(fh: BinaryIO) -> tuple[int, int] | None:
    """The payload (offset, length) of a HEIF's top-level ``mpvd`` box, read by seeking from
    box header to box header (a few reads); None when the file has none."""
    box = top_box(fh, b"mpvd")
    if box is None:
        return None
    start, header, size = box
    if start + size > fh.seek(0, 2):  # cut short: not a video to copy out
        return None
    return start + header, size - header


def samsung_video(data: mmap.mmap | bytes) -> tuple[int, int] | None:
    """The ``MotionPhoto_Data`` block's data (offset, length) as Samsung's trailer index says
    (exiftool's reading: the index ends the file with its length and ``SEFT``); None when the
    file ends with no such index or it lists no video."""
    end = len(data)
    if data[end - 6:end] == b"QDIOBS":  # a trailer that ends with an audio block's marker
        end -= 2
    elif data[end - 4:end] != b"SEFT":
        return None
    while end >= 8:
        length = int.from_bytes(data[end - 8:end - 4], "little")
        kind = bytes(data[end - 4:end])
        if not kind.isalnum() or not 12 <= length < _MAX_INDEX or length + 8 > end:
            return None
        start = end - 8 - length
        if kind == b"SEFT":
            return _sef_entry(data, start, length)
        end = start  # another block (QDIO): the index is before it
    return None


def _sef_entry(data: mmap.mmap | bytes, at: int, length: int) -> tuple[int, int] | None:
    """The video block listed in the ``SEFH`` index at ``at``: each entry is (0, type,
    offset back from the index, size); a block is (0, type, name length, name, data)."""
    if data[at:at + 4] != b"SEFH":
        return None
    count = int.from_bytes(data[at + 8:at + 12], "little")
    if 12 + 12 * count > length:
        return None
    for i in range(count):
        entry = at + 12 + 12 * i
        kind, back, size = struct.unpack_from("<HII", data, entry + 2)
        if back > at or size > back or size < 8:
            return None
        block = at - back
        name_length = int.from_bytes(data[block + 4:block + 8], "little")
        if name_length + 8 > size:
            return None
        name = bytes(data[block + 8:block + 8 + name_length])
        if kind == _SEF_VIDEO or name == SAMSUNG_MARKER:
            return block + 8 + name_length, size - 8 - name_length
    return None


@dataclasses.dataclass(frozen=True)
class Declared:
    """What a photo's tags declare of a motion photo's video: whether it is one, where the
    video starts and how long it is (None where they say nothing usable: ``problem`` says
    why)."""

    marked: bool
    offset: int | None = None
    length: int | None = None
    problem: str | None = None


def declared(tags: Mapping[str, object], size: int) -> Declared:
    """Google MicroVideo (the video's offset from the end: it runs to the end) or MotionPhoto
    (its Container:Directory item: ``Length`` bytes ending ``Padding`` before the end) in a
    ``size``-byte file; a video in a box or trailer (exiftool's ``MotionPhotoVideo``,
    ``EmbeddedVideoFile``) marks one too."""
    boxed = bool(tags.get("MotionPhotoVideo") or tags.get("EmbeddedVideoFile"))
    found = _google(tags, size)
    return dataclasses.replace(found, marked=True) if boxed else found


def _google(tags: Mapping[str, object], size: int) -> Declared:
    padding: object = 0
    if tags.get("MicroVideo") == 1:
        length, padding, name = tags.get("MicroVideoOffset"), 0, "MicroVideoOffset"
    elif tags.get("MotionPhoto") == 1:
        length, name = tags.get("MotionPhotoVideoLength"), "Item:Length"
        padding = tags.get("MotionPhotoVideoPadding", 0)
        if length is None:  # no directory item: the video is found some other way
            return Declared(True)
    else:
        return Declared(False)
    if not isinstance(length, int) or isinstance(length, bool) or length <= 0:
        return Declared(True, problem=f"motion photo: {name} {length!r} is no video length")
    if not isinstance(padding, int) or isinstance(padding, bool) or padding < 0:
        return Declared(True, problem=f"motion photo: Item:Padding {padding!r} is no padding")
    if length + padding >= size:
        return Declared(True, problem=f"motion photo: {name} {length} (padding {padding}) runs "
                                       f"past the start of the {size}-byte file")
    return Declared(True, size - length - padding, length)


def heif_marked(src: Source) -> bool:
    """Whether a HEIF carries a motion photo's video in its ``mpvd`` box (Samsung One UI 6):
    ``read`` marks it as exiftool does (``MotionPhotoVideo``)."""
    try:
        with src.open(buffering=0) as fh:
            return heif_video(fh) is not None
    except OSError:
        return False


def locate(source: SourceLike, info: MediaInfo) -> Located:
    """The embedded MP4's byte range in ``source`` (see the module docstring)."""
    with Source.of(source).open() as fh:
        boxed = heif_video(fh) if info.mime_type in ("image/heic", "image/heif") else None
        size = fh.seek(0, 2)
        if size == 0:
            return Located()
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return _find(data, info, boxed)


def _find(data: mmap.mmap, info: MediaInfo, boxed: tuple[int, int] | None) -> Located:
    tried: list[str] = []
    for container, found in (("heif-mpvd", boxed), ("samsung-trailer", samsung_video(data))):
        if found is None:
            continue
        if _is_mp4(data, found[0]):
            return Located(MotionPart(found[0], found[1], container))
        tried.append(f"its {container} holds no MP4")
    declared = info.motion_photo_offset
    if declared is not None:
        length = info.motion_photo_length or len(data) - declared
        if _is_mp4(data, declared):
            return Located(MotionPart(declared, length, "google-xmp"))
        tried.append(f"no MP4 starts where its XMP says ({len(data) - declared} bytes "
                     "from the end): the length is off")
    marker = data.rfind(SAMSUNG_MARKER)
    if marker >= 0 and _is_mp4(data, marker + len(SAMSUNG_MARKER)):
        start = marker + len(SAMSUNG_MARKER)
        return Located(MotionPart(start, _boxes_length(data, start), "samsung-marker"))
    if tried:
        return Located(problem="motion photo without its video: " + "; ".join(tried))
    if info.motion_photo_problem:
        return Located(problem=info.motion_photo_problem)
    if info.motion_photo:
        return Located(problem="motion photo without its video: none in its file")
    return Located()

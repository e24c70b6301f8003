"""The metadata stage: one file in, one ``MediaInfo`` out, as right as exiftool and much faster.

Owns: dispatching by kind (videos go to ``video.read_video``), choosing the reader (in-process
first; exiftool, through ``metadata.exiftool``, for what it cannot read: RAW, PSD, JXL, SVG and
any format it does not know, and for the date of a file where it finds no date tag at all,
with the make and model found beside it: no date comes from the file system while exiftool
finds one in the file; a file whose every metadata block ours read whole, none holding a part
only exiftool reads (``ImageBlocks.opaque``, ``ExiftoolOnly``: a maker note, say), is not
asked, for exiftool cannot find a date there that ours missed),
merging an image's tag sources (EXIF first, embedded XMP then IPTC fill gaps, the XMP sidecar
``formats.find_sidecar`` picks wins for date, GPS, description, rating and keywords: the groups
of ``tags.VOCABULARY``), then Immich's rules for every field (``fields.media_info``).
``metadata_source`` says which reader answered.
Does not own: finding blocks in files (``blocks``), decoding them (``exif``, ``xmp``, ``iptc``,
``colour.profile_description``), the field rules (``fields``) or any write.

Entry point: ``read_metadata(path, *, sidecar=True, options=ReadOptions()) -> MediaInfo``;
raises only ``CorruptMedia``,
``UnsupportedMedia``, ``TooLarge``, or for a file it cannot open ``Unreadable``/``SourceOffline``
(``errors.from_os_error``); whatever could not be read is listed in ``warnings``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mediapipe import formats, imaging
from mediapipe.colour import profile_description
from mediapipe.errors import CorruptMedia, UnsupportedMedia, from_os_error
from mediapipe.metadata.blocks import ImageBlocks, read_blocks
from mediapipe.metadata.daterules import DEFAULT_OPTIONS, ReadOptions
from mediapipe.metadata.dates import taken_at
from mediapipe.metadata.exif import read_exif
from mediapipe.metadata.exiftool import ExiftoolUnavailable, exiftool_tags
from mediapipe.metadata.fields import Pixels, exiftool_pixels, media_info, present
from mediapipe.metadata.iptc import read_iptc
from mediapipe.metadata.model import MediaInfo
from mediapipe.metadata.motion import heif_marked
from mediapipe.metadata.tags import CAMERA, DATE, POSITION, SIDECAR_WINS
from mediapipe.metadata.xmp import read_xmp
from mediapipe.sources import Source, SourceLike, reason

__all__ = ["EXIFTOOL_FIRST", "read_metadata"]

# Extensions whose metadata only exiftool reads right: RAW (the in-process TIFF walk would size
# the IFD0 preview, and CR3/CRW/RAF/MRW/X3F are no TIFF at all), layered and newer formats.
EXIFTOOL_FIRST = formats.RAW_EXTENSIONS | {".psd", ".jxl", ".svg"}

Tags = dict[str, object]

_MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif",
         "TIFF": "image/tiff", "BMP": "image/bmp"}


def read_metadata(source: SourceLike, *, sidecar: bool = True,
                  options: ReadOptions = DEFAULT_OPTIONS) -> MediaInfo:
    """What the file ``source`` (a path, or a held ``Source``) is and what it says about
    itself (see the module docstring); ``options``: the date rules and place names the
    settings ask for (``daterules``)."""
    src = Source.of(source)
    p = src.path
    kind = formats.kind_of(p)
    if kind is formats.Kind.VIDEO:
        from mediapipe.metadata.video import read_video

        return read_video(src, options)
    if kind is not formats.Kind.IMAGE:
        raise UnsupportedMedia(p, f"not a media file mediapipe reads ({p.suffix or 'no ext'})")
    try:
        st = src.stat()
    except OSError as exc:
        raise from_os_error(p, exc) from exc
    if st.st_size == 0:
        raise CorruptMedia(p, "empty file")
    side = formats.find_sidecar(p) if sidecar else None
    if p.suffix.lower() in EXIFTOOL_FIRST:
        return _by_exiftool(src, st, side, "", options)
    try:
        blocks = read_blocks(src)
    except UnsupportedMedia as exc:
        return _by_exiftool(src, st, side, exc.reason, options)
    warnings = list(blocks.warnings)
    tags, unread = _embedded_tags(blocks, warnings)
    if side is not None:
        tags = _apply_sidecar(tags, side, warnings)
    if blocks.format == "HEIF" and heif_marked(src):
        tags["MotionPhotoVideo"] = True  # exiftool's name for the mpvd box
    reader = "mediapipe"
    if taken_at(tags) is None and (blocks.opaque or unread):  # exiftool may find a date
        tags, reader = _date_from_exiftool(src, tags, warnings)
    mime = _MIME.get(blocks.format) or formats.mime_type(p)
    if mime != formats.mime_type(p) and blocks.format != "HEIF":
        warnings.append(f"content is {blocks.format}, not what the name {p.suffix} says")
    pixels = Pixels(blocks.width, blocks.height, blocks.displayed, blocks.bits_per_sample,
                    profile_description(blocks.icc) if blocks.icc else None)
    return media_info(p, st, pixels, tags, mime=mime, warnings=warnings, reader=reader,
                      options=options)


def _date_from_exiftool(src: Source, tags: Tags, warnings: list[str]) -> tuple[Tags, str]:
    """``tags`` with exiftool's date tags added when it finds a date the in-process readers
    did not (maker notes, CIFF, APP12 Picture Info, Casio QVCI, old containers), and the
    camera facts it found there that ours lack (CIFF's make and model); the reader that
    answered. Only a file with no date in-process that may hold one only exiftool reads pays
    for this round trip."""
    try:
        theirs = exiftool_tags(src)
    except ExiftoolUnavailable as exc:
        warnings.append(f"no date tag; exiftool could not be asked: {exc}")
        return tags, "mediapipe"
    dates = {k: v for k, v in theirs.items() if k in DATE}
    if taken_at(dates) is None:
        return tags, "mediapipe"
    camera = {k: v for k, v in theirs.items() if k in CAMERA and not present(tags.get(k))}
    return {**tags, **dates, **camera}, "mediapipe+exiftool"


def _by_exiftool(src: Source, st: os.stat_result, side: Path | None, why: str,
                 options: ReadOptions) -> MediaInfo:
    """The whole answer from exiftool, for what the in-process readers cannot read."""
    p = src.path
    try:
        tags: Tags = exiftool_tags(src)
    except ExiftoolUnavailable as exc:
        raise UnsupportedMedia(p, f"{why or 'format read by exiftool only'}; "
                                  f"exiftool could not answer: {exc}") from exc
    decoded: Pixels | None = None
    if tags.get("ImageSize") is None and tags.get("ImageWidth") is None:
        said = f"exiftool: {tags['Error']}" if "Error" in tags else "exiftool finds no size"
        if p.suffix.lower() == ".jxl":  # the decoder's header says; it alone says "corrupt"
            decoded, tags = _jxl_pixels(src, tags, said)
        elif p.suffix.lower() in EXIFTOOL_FIRST:  # the name promises a format it is not
            raise CorruptMedia(p, f"{p.suffix} file not readable ({said})")
        else:
            raise UnsupportedMedia(p, f"{why or 'not an image format mediapipe reads'}; {said}")
    warnings: list[str] = []
    if side is not None:
        tags = _apply_sidecar(tags, side, warnings)
    return media_info(p, st, decoded or exiftool_pixels(tags), tags, mime=formats.mime_type(p),
                      warnings=warnings, reader="exiftool", options=options)


def _jxl_pixels(src: Source, tags: Tags, said: str) -> tuple[Pixels, Tags]:
    """A JPEG XL's size, depth and colour from its codestream header (``jxl``), where exiftool
    has none (a container in ``jxlp`` parts, which Debian's 12.57 does not follow); the
    header's orientation where the EXIF box names none. A header it cannot follow is handed
    to the decoder: the file is corrupt only when the decoder says so."""
    from mediapipe.metadata.jxl import JxlHeaderError, read_header

    p = src.path
    try:
        head = read_header(src)
    except OSError as exc:
        raise from_os_error(p, exc) from exc
    except JxlHeaderError as exc:
        return _jxl_decoded(src, f"{said}; header: {exc}"), tags
    if not present(tags.get("Orientation")) and head.orientation != 1:
        tags = {**tags, "Orientation": head.orientation}
    return Pixels(head.width, head.height, False, head.bits_per_sample, head.colour), tags


def _jxl_decoded(src: Source, said: str) -> Pixels:
    """What the JPEG XL decoder (pillow-jxl) makes of a file whose header we cannot follow."""
    p = src.path
    try:
        with imaging.open_image(src.name) as im:
            icc = im.info.get("icc_profile")
            return Pixels(im.width, im.height, False, 16 if im.mode == "I;16" else 8,
                          profile_description(icc) if icc else None)
    except (OSError, SyntaxError, ValueError, EOFError, RuntimeError) as exc:
        raise CorruptMedia(p, f".jxl file not readable ({said}; decoder: "
                              f"{reason(exc)})") from exc


def _embedded_tags(blocks: ImageBlocks, warnings: list[str]) -> tuple[Tags, bool]:
    """The tags of an image's blocks (EXIF first, XMP then IPTC fill gaps), and whether a date
    may be in them that only exiftool reads: a block holds a part ours skip (its reader's
    ``ExiftoolOnly``; the EXIF's own IPTC-NAA, read as the file's IPTC in a TIFF alone) or
    could not be read whole (its reader warned)."""
    tags: Tags = {}
    unread = False
    if blocks.exif:
        exif, problems = read_exif(blocks.exif)
        unread = not _read_whole(exif, problems) or "IPTC-NAA" in exif
        tags.update(exif)
        warnings.extend(problems)
    tags.pop("IPTC-NAA", None)
    for packet in blocks.xmp:
        xmp, problems = read_xmp(packet)
        unread = not _read_whole(xmp, problems) or unread
        warnings.extend(problems)
        for key, value in xmp.items():
            tags.setdefault(key, value)
    if blocks.iptc:
        iptc, problems = read_iptc(blocks.iptc)
        unread = not _read_whole(iptc, problems) or unread
        warnings.extend(problems)
        for key, value in iptc.items():
            tags.setdefault(key, value)
    return tags, unread


def _read_whole(tags: dict[str, Any], problems: list[str]) -> bool:
    """Whether a reader read its block whole: it did not warn, and named no part only exiftool
    reads (its ``ExiftoolOnly``, always taken out of ``tags``: it is no tag of the file)."""
    return tags.pop("ExiftoolOnly", None) is None and not problems


def _apply_sidecar(tags: Tags, side: Path, warnings: list[str]) -> Tags:
    try:
        data = side.read_bytes()
    except OSError as exc:
        warnings.append(f"sidecar {side.name}: {exc.strerror or exc}")
        return tags
    xmp, problems = read_xmp(data)
    xmp.pop("ExiftoolOnly", None)  # exiftool is asked about the image, never its sidecar
    warnings.extend(f"sidecar {side.name}: {p}" for p in problems)
    out = dict(tags)
    if any(k in DATE and present(v) for k, v in xmp.items()):
        out = {k: v for k, v in out.items() if k not in DATE}
        out.update({k: v for k, v in xmp.items() if k in DATE})
    if present(xmp.get("GPSLatitude")) and present(xmp.get("GPSLongitude")):
        out = {k: v for k, v in out.items() if k not in POSITION}
        out.update({k: v for k, v in xmp.items() if k in POSITION})
    if present(xmp.get("Description")):
        out.pop("ImageDescription", None)  # the sidecar's description is the one edited
    out.update({k: v for k, v in xmp.items() if k in SIDECAR_WINS and present(v)})
    for key, value in xmp.items():
        out.setdefault(key, value)
    return out

"""The metadata stage: one file in, one ``MediaInfo`` out, as right as exiftool and much faster.

Owns: dispatching by kind (videos go to ``video.read_video``), choosing the reader (in-process
first; exiftool, through ``metadata.exiftool``, for what it cannot read: RAW, PSD, JXL, SVG and
any format it does not know, and for the date of a file where it finds no date tag at all,
with the make and model found beside it: no date comes from the file system while exiftool
finds one in the file; a file whose every metadata block ours read whole, none holding a part
only exiftool reads (``ImageBlocks.opaque``, ``ExiftoolOnly``: a maker note, say), is not
asked, for exiftool cannot find a date there that ours missed),
merging an image's tag sources (EXIF first, embedded XMP then IPTC fill gaps, the XMP sidecar
``formats.find_sidecar`` picks wins for date, GPS, description, rating and keywords), and
Immich's rules for every field: date (``dates``), then for a file with no date tag the rules of
``metadata.dateRules`` (``daterules``: Takeout JSON, file name, file mtime), GPS (null when
absent or 0,0) and the place there (``places``), orientation and the displayed size, camera and
lens, exposure,
description (``ImageDescription || Description``, then the IPTC caption), keywords as lists,
colour, live photo and motion photo markers, the panorama projection (the field rules:
``fields``). ``metadata_source`` says which reader answered.
Does not own: finding blocks in files (``blocks``), decoding them (``exif``, ``xmp``, ``iptc``,
``colour.profile_description``), or any write.

Entry point: ``read_metadata(path, *, sidecar=True, options=ReadOptions()) -> MediaInfo``;
raises only ``CorruptMedia``,
``UnsupportedMedia``, ``TooLarge``, or for a file it cannot open ``Unreadable``/``SourceOffline``
(``errors.from_os_error``); whatever could not be read is listed in ``warnings``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from mediapipe import formats, imaging
from mediapipe.colour import profile_description
from mediapipe.errors import CorruptMedia, UnsupportedMedia, from_os_error
from mediapipe.metadata import fields
from mediapipe.metadata.blocks import ImageBlocks, read_blocks
from mediapipe.metadata.daterules import DEFAULT_OPTIONS, ReadOptions, complete
from mediapipe.metadata.dates import PRIORITY, taken_at
from mediapipe.metadata.exif import read_exif
from mediapipe.metadata.exiftool import ExiftoolUnavailable, exiftool_tags
from mediapipe.metadata.iptc import read_iptc
from mediapipe.metadata.model import MediaInfo, live_photo_key
from mediapipe.metadata.motion import heif_video
from mediapipe.metadata.xmp import read_xmp
from mediapipe.sources import Source, SourceLike, reason

__all__ = ["EXIFTOOL_FIRST", "read_metadata"]

# Extensions whose metadata only exiftool reads right: RAW (the in-process TIFF walk would size
# the IFD0 preview, and CR3/CRW/RAF/MRW/X3F are no TIFF at all), layered and newer formats.
EXIFTOOL_FIRST = formats.RAW_EXTENSIONS | {".psd", ".jxl", ".svg"}

Tags = dict[str, object]

_DATE_TAGS = frozenset({
    "DateTimeOriginal", "SubSecTimeOriginal", "OffsetTimeOriginal", "CreateDate",
    "SubSecTimeDigitized", "OffsetTimeDigitized", "OffsetTime", "DateCreated", "GPSDateTime",
    "CreationDate", "MediaCreateDate", "DateTimeCreated", "TimeZone", "DaylightSavings",
    "TimeZoneOffset", *PRIORITY})
_GPS_TAGS = frozenset({"GPSLatitude", "GPSLongitude", "GPSAltitude"})
# What exiftool may add beside a date it found where ours found none (CIFF has make and model).
_CAMERA_TAGS = frozenset({"Make", "Model", "LensModel", "Lens", "ISO", "ExposureTime",
                          "FNumber", "FocalLength"})
_SIDECAR_WINS = frozenset({"Description", "Rating", "Subject", "HierarchicalSubject", "Keywords"})
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
    if blocks.format == "HEIF" and _motion_box(src):
        tags["MotionPhotoVideo"] = True  # exiftool's name for the mpvd box
    reader = "mediapipe"
    if taken_at(tags) is None and (blocks.opaque or unread):  # exiftool may find a date
        tags, reader = _date_from_exiftool(src, tags, warnings)
    mime = _MIME.get(blocks.format) or formats.mime_type(p)
    if mime != formats.mime_type(p) and blocks.format != "HEIF":
        warnings.append(f"content is {blocks.format}, not what the name {p.suffix} says")
    pixels = _Pixels(blocks.width, blocks.height, blocks.displayed, blocks.bits_per_sample,
                     profile_description(blocks.icc) if blocks.icc else None)
    return _build(p, st, pixels, tags, mime, warnings, reader, options)


def _motion_box(src: Source) -> bool:
    """Whether a HEIF carries a motion photo's video in its ``mpvd`` box (Samsung One UI 6)."""
    try:
        with src.open(buffering=0) as fh:
            return heif_video(fh) is not None
    except OSError:
        return False


class _Pixels(NamedTuple):
    """What a reader says of the pixels: size (``displayed``: already oriented), depth, ICC."""

    width: int | None
    height: int | None
    displayed: bool
    bits_per_sample: int | None
    profile: str | None


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
    dates = {k: v for k, v in theirs.items() if k in _DATE_TAGS}
    if taken_at(dates) is None:
        return tags, "mediapipe"
    camera = {k: v for k, v in theirs.items()
              if k in _CAMERA_TAGS and not fields.present(tags.get(k))}
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
    decoded: _Pixels | None = None
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
    width, height = _image_size(tags)
    bits = tags.get("BitsPerSample")
    bits = bits if isinstance(bits, int) else None
    pixels = decoded or _Pixels(width, height, False, bits,
                                fields.text(tags.get("ProfileDescription")))
    return _build(p, st, pixels, tags, formats.mime_type(p), warnings, "exiftool", options)


def _jxl_pixels(src: Source, tags: Tags, said: str) -> tuple[_Pixels, Tags]:
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
    if not fields.present(tags.get("Orientation")) and head.orientation != 1:
        tags = {**tags, "Orientation": head.orientation}
    return _Pixels(head.width, head.height, False, head.bits_per_sample, head.colour), tags


def _jxl_decoded(src: Source, said: str) -> _Pixels:
    """What the JPEG XL decoder (pillow-jxl) makes of a file whose header we cannot follow."""
    import pillow_jxl  # noqa: F401 - registers the JPEG XL plugin with Pillow

    p = src.path
    try:
        with imaging.pillow().open(src.name) as im:
            icc = im.info.get("icc_profile")
            return _Pixels(im.width, im.height, False, 16 if im.mode == "I;16" else 8,
                           profile_description(icc) if icc else None)
    except (OSError, SyntaxError, ValueError, EOFError, RuntimeError) as exc:
        raise CorruptMedia(p, f".jxl file not readable ({said}; decoder: "
                              f"{reason(exc)})") from exc


def _image_size(tags: Mapping[str, object]) -> tuple[int | None, int | None]:
    """exiftool's composite ImageSize (``"6000 4000"`` with -n), else ImageWidth/ImageHeight."""
    size = tags.get("ImageSize")
    if isinstance(size, str):
        parts = size.replace("x", " ").split()
        if len(parts) == 2 and all(part.isdigit() for part in parts):
            return int(parts[0]), int(parts[1])
    w, h = tags.get("ImageWidth"), tags.get("ImageHeight")
    return (round(w) if isinstance(w, int | float) else None,
            round(h) if isinstance(h, int | float) else None)


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
    if any(k in _DATE_TAGS and fields.present(v) for k, v in xmp.items()):
        out = {k: v for k, v in out.items() if k not in _DATE_TAGS}
        out.update({k: v for k, v in xmp.items() if k in _DATE_TAGS})
    if fields.present(xmp.get("GPSLatitude")) and fields.present(xmp.get("GPSLongitude")):
        out = {k: v for k, v in out.items() if k not in _GPS_TAGS}
        out.update({k: v for k, v in xmp.items() if k in _GPS_TAGS})
    if fields.present(xmp.get("Description")):
        out.pop("ImageDescription", None)  # the sidecar's description is the one edited
    out.update({k: v for k, v in xmp.items() if k in _SIDECAR_WINS and fields.present(v)})
    for key, value in xmp.items():
        out.setdefault(key, value)
    return out


def _build(p: Path, st: os.stat_result, pixels: _Pixels, tags: Mapping[str, object],
           mime: str, warnings: list[str], reader: str, options: ReadOptions) -> MediaInfo:
    orientation = tags.get("Orientation")
    if not isinstance(orientation, int) or not 1 <= orientation <= 8:
        if orientation not in (None, 0):
            warnings.append(f"orientation {orientation!r} is not 1-8; using 1")
        orientation = 1
    width, height = pixels.width, pixels.height
    if orientation >= 5 and not pixels.displayed:
        width, height = height, width
    lat, lon = fields.number(tags.get("GPSLatitude")), fields.number(tags.get("GPSLongitude"))
    if lat is None or lon is None or (lat == 0 and lon == 0):
        lat = lon = None
    alt = fields.number(tags.get("GPSAltitude")) if lat is not None else None
    text = fields.text
    found = complete(p, st.st_mtime, lambda position: taken_at(tags, position), (lat, lon, alt),
                     text(tags.get("ImageDescription")) or text(tags.get("Description"))
                     or text(tags.get("Caption-Abstract")), options)
    warnings.extend(found.warnings)
    taken, place = found.taken, found.place
    iso = tags.get("ISO")
    rating = tags.get("Rating")
    motion = fields.motion_photo(tags, st.st_size)
    if motion.problem:
        warnings.append(motion.problem)
    return MediaInfo(
        path=str(p), kind="image", mime_type=mime, size=st.st_size,
        width=width, height=height, orientation=orientation,
        taken_at=taken.when if taken else None, offset=taken.offset if taken else None,
        time_zone=taken.zone if taken else None,
        taken_at_source=taken.source if taken else "none", date_only=found.date_only,
        make=text(tags.get("Make")), model=text(tags.get("Model")), lens_model=fields.lens(tags),
        iso=iso if isinstance(iso, int) and iso > 0 else None,
        exposure_time=fields.number(tags.get("ExposureTime")),
        f_number=fields.number(tags.get("FNumber")),
        focal_length=fields.number(tags.get("FocalLength")),
        latitude=found.latitude, longitude=found.longitude, altitude=found.altitude,
        city=place.city if place else None, state=place.state if place else None,
        country=place.country if place else None,
        projection_type=fields.projection_type(tags),
        description=found.description,
        rating=rating if isinstance(rating, int) and -1 <= rating <= 5 else None,
        keywords=fields.keywords(tags),
        color_space=fields.color_space(tags.get("ColorSpace")),
        profile_description=pixels.profile,
        bits_per_sample=pixels.bits_per_sample,
        live_photo_id=live_photo_key(tags.get("ContentIdentifier")),
        motion_photo=motion.marked, motion_photo_offset=motion.offset,
        motion_photo_length=motion.length, motion_photo_problem=motion.problem,
        warnings=tuple(dict.fromkeys(warnings)), metadata_source=reader,
    )

"""Immich's rules for a photo's fields: which of its merged tags gives each, and what it must be.

Owns: ``media_info``, the ``MediaInfo`` of an image from its merged tags and its pixels: the
orientation (1-8, else 1 with a warning) and the displayed size, GPS (null when absent or 0,0),
the date (``dates``) completed by ``metadata.dateRules`` and the place (``daterules``), the
description (``ImageDescription || Description``, then the IPTC caption), camera and lens
(``lens``), exposure, rating (-1 to 5), keywords in Immich's precedence (``keywords``), the
EXIF ColorSpace name, the live-photo id, the motion-photo markers (``motion.declared``) and the
panorama projection (``projection_type``: XMP-GPano's ProjectionType, upper-cased as Immich's
``metadata.service.ts`` keeps it); ``exiftool_pixels``, what exiftool's answer says of the
pixels; and the value checks the rules share (``text``, ``number``, ``present``). The tags it
reads are ``tags.VOCABULARY``'s. Does not own: reading or merging tags (``read``), the date
tags' rules (``dates``).

Entry points: ``media_info``, ``exiftool_pixels``, ``Pixels`` and the rules in ``__all__``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path

from mediapipe.metadata.daterules import ReadOptions, complete
from mediapipe.metadata.dates import taken_at
from mediapipe.metadata.model import MediaInfo, live_photo_key
from mediapipe.metadata.motion import declared

__all__ = ["Pixels", "color_space", "exiftool_pixels", "keywords", "lens", "media_info", "number",
           "present", "projection_type", "text"]

# Keyed as float: codes match by value, so a ColorSpace stored as a rational 1.0 is sRGB too.
_COLOR_SPACES: dict[float, str] = {1: "sRGB", 2: "Adobe RGB", 0xFFFF: "Uncalibrated"}


def present(value: object) -> bool:
    return value is not None and value != "" and value != ()


def text(value: object) -> str | None:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return None


def number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def color_space(value: object) -> str | None:
    """The name of an EXIF ColorSpace code; None for other codes and for non-numbers."""
    return _COLOR_SPACES.get(value) if isinstance(value, int | float) else None


def lens(tags: Mapping[str, object]) -> str | None:
    """LensModel (EXIF, XMP or a maker note), else the XMP ``aux:Lens`` or LensType name."""
    return (text(tags.get("LensModel")) or text(tags.get("Lens"))
            or text(tags.get("LensType")))


def keywords(tags: Mapping[str, object]) -> tuple[str, ...]:
    """Immich's precedence: the first of TagsList, HierarchicalSubject (``a|b`` as ``a/b``) and
    IPTC Keywords that has any; where none has, XMP dc:subject, then Windows' XPKeywords
    (Immich shows none there; a keyword is still a keyword). De-duplicated, in order."""
    for key in ("TagsList", "HierarchicalSubject", "Keywords", "Subject", "XPKeywords"):
        value = tags.get(key)
        items = (value,) if isinstance(value, str) else value if isinstance(value, tuple) else ()
        found = [item.strip().replace("|", "/") if key == "HierarchicalSubject" else item.strip()
                 for item in items if isinstance(item, str) and item.strip()]
        if found:
            return tuple(dict.fromkeys(found))
    return ()


def projection_type(tags: Mapping[str, object]) -> str | None:
    """XMP-GPano:ProjectionType (``equirectangular``, ``cylindrical``…) upper-cased, as Immich
    stores ``projectionType`` (its 360° viewer opens for ``EQUIRECTANGULAR``); None when absent."""
    value = text(tags.get("ProjectionType"))
    return value.upper() if value else None


@dataclasses.dataclass(frozen=True)
class Pixels:
    """What a reader says of the pixels: size (``displayed``: already oriented), depth, ICC."""

    width: int | None
    height: int | None
    displayed: bool = False
    bits_per_sample: int | None = None
    profile: str | None = None


def exiftool_pixels(tags: Mapping[str, object]) -> Pixels:
    """The size (exiftool's composite ImageSize, ``"6000 4000"`` with -n, else ImageWidth and
    ImageHeight), depth and ICC description exiftool's answer gives."""
    width, height = _image_size(tags)
    bits = tags.get("BitsPerSample")
    return Pixels(width, height, False, bits if isinstance(bits, int) else None,
                  text(tags.get("ProfileDescription")))


def _image_size(tags: Mapping[str, object]) -> tuple[int | None, int | None]:
    size = tags.get("ImageSize")
    if isinstance(size, str):
        parts = size.replace("x", " ").split()
        if len(parts) == 2 and all(part.isdigit() for part in parts):
            return int(parts[0]), int(parts[1])
    w, h = tags.get("ImageWidth"), tags.get("ImageHeight")
    return (round(w) if isinstance(w, int | float) else None,
            round(h) if isinstance(h, int | float) else None)


def media_info(p: Path, st: os.stat_result, pixels: Pixels, tags: Mapping[str, object], *,
               mime: str, warnings: list[str], reader: str, options: ReadOptions) -> MediaInfo:
    """The image at ``p`` as Immich's rules make it of its merged ``tags`` and ``pixels``;
    ``reader``: who answered (``metadata_source``); what is wrong is added to ``warnings``."""
    orientation = tags.get("Orientation")
    if not isinstance(orientation, int) or not 1 <= orientation <= 8:
        if orientation not in (None, 0):
            warnings.append(f"orientation {orientation!r} is not 1-8; using 1")
        orientation = 1
    width, height = pixels.width, pixels.height
    if orientation >= 5 and not pixels.displayed:
        width, height = height, width
    lat, lon = number(tags.get("GPSLatitude")), number(tags.get("GPSLongitude"))
    if lat is None or lon is None or (lat == 0 and lon == 0):
        lat = lon = None
    alt = number(tags.get("GPSAltitude")) if lat is not None else None
    found = complete(p, st.st_mtime, lambda position: taken_at(tags, position), (lat, lon, alt),
                     text(tags.get("ImageDescription")) or text(tags.get("Description"))
                     or text(tags.get("Caption-Abstract")), options)
    warnings.extend(found.warnings)
    taken, place = found.taken, found.place
    iso = tags.get("ISO")
    rating = tags.get("Rating")
    motion = declared(tags, st.st_size)
    if motion.problem:
        warnings.append(motion.problem)
    return MediaInfo(
        path=str(p), kind="image", mime_type=mime, size=st.st_size,
        width=width, height=height, orientation=orientation,
        taken_at=taken.when if taken else None, offset=taken.offset if taken else None,
        time_zone=taken.zone if taken else None,
        taken_at_source=taken.source if taken else "none", date_only=found.date_only,
        make=text(tags.get("Make")), model=text(tags.get("Model")), lens_model=lens(tags),
        iso=iso if isinstance(iso, int) and iso > 0 else None,
        exposure_time=number(tags.get("ExposureTime")),
        f_number=number(tags.get("FNumber")),
        focal_length=number(tags.get("FocalLength")),
        latitude=found.latitude, longitude=found.longitude, altitude=found.altitude,
        city=place.city if place else None, state=place.state if place else None,
        country=place.country if place else None,
        projection_type=projection_type(tags),
        description=found.description,
        rating=rating if isinstance(rating, int) and -1 <= rating <= 5 else None,
        keywords=keywords(tags),
        color_space=color_space(tags.get("ColorSpace")),
        profile_description=pixels.profile,
        bits_per_sample=pixels.bits_per_sample,
        live_photo_id=live_photo_key(tags.get("ContentIdentifier")),
        motion_photo=motion.marked, motion_photo_offset=motion.offset,
        motion_photo_length=motion.length, motion_photo_problem=motion.problem,
        warnings=tuple(dict.fromkeys(warnings)), metadata_source=reader,
    )

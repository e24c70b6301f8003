"""Immich's rules for the fields of a photo's tags: which tag gives each, and what it must be.

Owns: the value rules ``read`` applies to merged tags: text and number checks (``text``,
``number``, ``present``), the EXIF ColorSpace name, the lens (``lens``), keywords in Immich's
precedence (``keywords``), the panorama projection (``projection_type``: XMP-GPano's
ProjectionType, upper-cased as Immich's ``metadata.service.ts`` keeps it), and what the XMP
says of a motion photo's video (``motion_photo``). Does not own: reading or merging tags
(``read``), dates (``dates``, ``daterules``).

Entry points: the functions in ``__all__``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

__all__ = ["Motion", "color_space", "keywords", "lens", "motion_photo", "number", "present",
           "projection_type", "text"]

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


class Motion(NamedTuple):
    """What the XMP says of a motion photo's video: whether it is one, where the video starts
    and how long it is (None where it says nothing usable: ``problem`` says why)."""

    marked: bool
    offset: int | None = None
    length: int | None = None
    problem: str | None = None


def motion_photo(tags: Mapping[str, object], size: int) -> Motion:
    """Google MicroVideo (the video's offset from the end: it runs to the end) or MotionPhoto
    (its Container:Directory item: ``Length`` bytes ending ``Padding`` before the end); a video
    in a box or trailer (exiftool's ``MotionPhotoVideo``, ``EmbeddedVideoFile``) marks one too."""
    boxed = bool(tags.get("MotionPhotoVideo") or tags.get("EmbeddedVideoFile"))
    found = google_motion(tags, size)
    return found._replace(marked=True) if boxed else found


def google_motion(tags: Mapping[str, object], size: int) -> Motion:
    padding: object = 0
    if tags.get("MicroVideo") == 1:
        length, padding, name = tags.get("MicroVideoOffset"), 0, "MicroVideoOffset"
    elif tags.get("MotionPhoto") == 1:
        length, name = tags.get("MotionPhotoVideoLength"), "Item:Length"
        padding = tags.get("MotionPhotoVideoPadding", 0)
        if length is None:  # no directory item: the video is found some other way
            return Motion(True)
    else:
        return Motion(False)
    if not isinstance(length, int) or isinstance(length, bool) or length <= 0:
        return Motion(True, problem=f"motion photo: {name} {length!r} is no video length")
    if not isinstance(padding, int) or isinstance(padding, bool) or padding < 0:
        return Motion(True, problem=f"motion photo: Item:Padding {padding!r} is no padding")
    if length + padding >= size:
        return Motion(True, problem=f"motion photo: {name} {length} (padding {padding}) runs "
                                     f"past the start of the {size}-byte file")
    return Motion(True, size - length - padding, length)


def projection_type(tags: Mapping[str, object]) -> str | None:
    """XMP-GPano:ProjectionType (``equirectangular``, ``cylindrical``…) upper-cased, as Immich
    stores ``projectionType`` (its 360° viewer opens for ``EQUIRECTANGULAR``); None when absent."""
    value = text(tags.get("ProjectionType"))
    return value.upper() if value else None

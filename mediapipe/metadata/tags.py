"""The one vocabulary of metadata tags: each tag the field rules read, and where readers find it.

Owns: ``VOCABULARY``, one ``Tag`` per name the rules read (exiftool's name: the key every reader
gives it under), the ``MediaInfo`` field it feeds, and its places in each namespace: EXIF
(directory and tag id), XMP (prefix and property), IPTC-IIM (record and dataset), and whether
exiftool is asked for it (by name, no group: its answer is the name's first group in
exiftool's priority, as Immich's exiftool-vendored reads it). A tag some reader composes from
parts (exiftool's composites: a GPS coordinate and its hemisphere, IPTC's date and time) lists
every part under the part's own name.
Each reader's table (``exif``, ``xmp``, ``iptc``) and exiftool's ``-TAG`` request (``exiftool``)
are read off it, and so are the tag groups ``read`` merges by (the date, the position, the
camera, what a sidecar wins): a tag no rule reads is not here, so no reader reads it.
Does not own: how a format is walked (the readers: their own pointers and blocks stay theirs),
or what a rule makes of a tag (``fields``, ``dates``).

Entry points: ``VOCABULARY``, the tables read off it (``exif_table``, ``xmp_table``,
``iptc_table``, ``exiftool_names``) and its groups (``NAMES``, ``DATE``, ``POSITION``, ``CAMERA``,
``SIDECAR_WINS``, ``LISTS``, ``names_for``).
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

__all__ = ["CAMERA", "DATE", "LISTS", "NAMES", "POSITION", "SIDECAR_WINS", "VOCABULARY", "Exif",
           "Iptc", "Tag", "Xmp", "exif_table", "exiftool_names", "iptc_table", "names_for",
           "xmp_table"]


class Exif(NamedTuple):
    """A tag's place in an EXIF block: its directory (``IFD0``, ``ExifIFD``, ``GPS``, a maker
    note's: ``Apple``, ``Panasonic``, ``OlympusEquipment``) and id; ``part``: the name of a part
    the reader joins into the tag (a hemisphere, a time stamp), else the tag itself."""

    directory: str
    id: int
    part: str = ""


class Xmp(NamedTuple):
    """A tag's XMP property (``*``: any namespace); ``part`` as for ``Exif``."""

    prefix: str
    property: str
    part: str = ""


class Iptc(NamedTuple):
    """A tag's IPTC-IIM dataset; ``part`` as for ``Exif``."""

    record: int
    dataset: int
    part: str = ""


@dataclasses.dataclass(frozen=True)
class Tag:
    """One tag the rules read: ``name`` (exiftool's), the ``MediaInfo`` ``field`` it feeds, its
    places in each namespace, whether exiftool is asked for it (``exiftool``) and whether its
    value is a list (``repeated``: keywords)."""

    name: str
    field: str
    exif: tuple[Exif, ...] = ()
    xmp: tuple[Xmp, ...] = ()
    iptc: tuple[Iptc, ...] = ()
    exiftool: bool = True
    repeated: bool = False


def _date(name: str, *, exif: tuple[Exif, ...] = (), xmp: tuple[Xmp, ...] = (),
          iptc: tuple[Iptc, ...] = ()) -> Tag:
    return Tag(name, "taken_at", exif, xmp, iptc)


VOCABULARY: tuple[Tag, ...] = (
    # the date, its sub-seconds and offset (``dates``: PRIORITY, then what names the offset)
    _date("SubSecDateTimeOriginal"),  # exiftool's composites; ``dates`` joins them in-process
    _date("SubSecCreateDate"),
    _date("DateTimeOriginal", exif=(Exif("ExifIFD", 0x9003),),
          xmp=(Xmp("exif", "DateTimeOriginal"),)),
    _date("SubSecTimeOriginal", exif=(Exif("ExifIFD", 0x9291),)),
    _date("OffsetTimeOriginal", exif=(Exif("ExifIFD", 0x9011),)),
    _date("CreationDate", xmp=(Xmp("pdf", "CreationDate"),)),
    _date("CreateDate", exif=(Exif("ExifIFD", 0x9004),),
          xmp=(Xmp("xmp", "CreateDate"), Xmp("exif", "DateTimeDigitized"))),
    _date("SubSecTimeDigitized", exif=(Exif("ExifIFD", 0x9292),)),
    _date("OffsetTimeDigitized", exif=(Exif("ExifIFD", 0x9012),)),
    _date("OffsetTime", exif=(Exif("ExifIFD", 0x9010),)),
    _date("MediaCreateDate"),
    _date("DateTimeCreated", iptc=(Iptc(2, 55, "DateCreated"), Iptc(2, 60, "TimeCreated"))),
    _date("GPSDateTime", exif=(Exif("GPS", 7, "GPSTimeStamp"), Exif("GPS", 29, "GPSDateStamp")),
          xmp=(Xmp("exif", "GPSTimeStamp"),)),
    _date("TimeZone"),  # a maker note's, with its DaylightSavings
    _date("DaylightSavings"),
    _date("TimeZoneOffset"),
    # the position
    Tag("GPSLatitude", "latitude", (Exif("GPS", 2), Exif("GPS", 1, "GPSLatitudeRef")),
        (Xmp("exif", "GPSLatitude"),)),
    Tag("GPSLongitude", "longitude", (Exif("GPS", 4), Exif("GPS", 3, "GPSLongitudeRef")),
        (Xmp("exif", "GPSLongitude"),)),
    Tag("GPSAltitude", "altitude", (Exif("GPS", 6), Exif("GPS", 5, "GPSAltitudeRef")),
        (Xmp("exif", "GPSAltitude"), Xmp("exif", "GPSAltitudeRef", "GPSAltitudeRef"))),
    # the pixels (exiftool's where it reads the file; ImageSize: a RAW sensor's displayed size)
    Tag("ImageSize", "width"),
    Tag("ImageWidth", "width", (Exif("IFD0", 0x0100),)),
    Tag("ImageHeight", "height", (Exif("IFD0", 0x0101),)),
    Tag("BitsPerSample", "bits_per_sample", (Exif("IFD0", 0x0102),)),
    Tag("ProfileDescription", "profile_description"),  # in-process: the ICC profile's
    Tag("Orientation", "orientation", (Exif("IFD0", 0x0112),), (Xmp("tiff", "Orientation"),)),
    Tag("ColorSpace", "color_space", (Exif("ExifIFD", 0xA001),)),
    # the camera
    Tag("Make", "make", (Exif("IFD0", 0x010F),), (Xmp("tiff", "Make"),)),
    Tag("Model", "model", (Exif("IFD0", 0x0110),), (Xmp("tiff", "Model"),)),
    Tag("LensModel", "lens_model", (Exif("ExifIFD", 0xA434), Exif("OlympusEquipment", 0x0203)),
        (Xmp("exifEX", "LensModel"),)),
    Tag("Lens", "lens_model", xmp=(Xmp("aux", "Lens"),)),
    Tag("LensType", "lens_model", (Exif("Panasonic", 0x0051),)),
    Tag("ISO", "iso", (Exif("ExifIFD", 0x8827),)),
    Tag("ExposureTime", "exposure_time", (Exif("ExifIFD", 0x829A),)),
    Tag("FNumber", "f_number", (Exif("ExifIFD", 0x829D),)),
    Tag("FocalLength", "focal_length", (Exif("ExifIFD", 0x920A),)),
    # what the photo says of itself
    Tag("ImageDescription", "description", (Exif("IFD0", 0x010E),)),
    Tag("Description", "description", xmp=(Xmp("dc", "description"),)),
    Tag("Caption-Abstract", "description", iptc=(Iptc(2, 120),)),
    Tag("Rating", "rating", (Exif("IFD0", 0x4746),), (Xmp("xmp", "Rating"),)),
    Tag("TagsList", "keywords", repeated=True),
    Tag("HierarchicalSubject", "keywords", xmp=(Xmp("lr", "hierarchicalSubject"),),
        repeated=True),
    Tag("Keywords", "keywords", iptc=(Iptc(2, 25),), repeated=True),
    Tag("Subject", "keywords", xmp=(Xmp("dc", "subject"),), repeated=True),
    Tag("XPKeywords", "keywords", (Exif("IFD0", 0x9C9E),), repeated=True),
    Tag("ProjectionType", "projection_type", xmp=(Xmp("GPano", "ProjectionType"),)),
    # live and motion photos
    Tag("ContentIdentifier", "live_photo_id", (Exif("Apple", 0x0011),),
        (Xmp("*", "ContentIdentifier"),)),
    Tag("MicroVideo", "motion_photo", xmp=(Xmp("GCamera", "MicroVideo"),)),
    Tag("MicroVideoOffset", "motion_photo_offset", xmp=(Xmp("GCamera", "MicroVideoOffset"),)),
    Tag("MotionPhoto", "motion_photo", xmp=(Xmp("GCamera", "MotionPhoto"),)),
    Tag("MotionPhotoVideo", "motion_photo"),  # in-process: a HEIF's mpvd box (``read``)
    Tag("EmbeddedVideoFile", "motion_photo"),  # Samsung's trailer
    # Google's Container:Directory MotionPhoto item (``xmp`` reads that item only)
    Tag("MotionPhotoVideoLength", "motion_photo_length", xmp=(Xmp("Item", "Length"),),
        exiftool=False),
    Tag("MotionPhotoVideoPadding", "motion_photo_offset", xmp=(Xmp("Item", "Padding"),),
        exiftool=False),
)


def names_for(*fields: str) -> frozenset[str]:
    """The names of the tags that feed any of ``fields``."""
    return frozenset(tag.name for tag in VOCABULARY if tag.field in fields)


def exif_table(directory: str) -> dict[int, str]:
    """A directory's tag ids, each to the name the EXIF reader gives it (a part's own name)."""
    return {at.id: at.part or tag.name for tag in VOCABULARY for at in tag.exif
            if at.directory == directory}


def xmp_table(prefix: str | None = None) -> dict[tuple[str, str], str]:
    """(prefix, property) to the name the XMP reader gives it; only ``prefix``'s if named."""
    return {(at.prefix, at.property): at.part or tag.name for tag in VOCABULARY for at in tag.xmp
            if prefix is None or at.prefix == prefix}


def iptc_table() -> dict[tuple[int, int], str]:
    """(record, dataset) to the name the IPTC reader gives it (a part's own name)."""
    return {(at.record, at.dataset): at.part or tag.name for tag in VOCABULARY for at in tag.iptc}


def exiftool_names() -> tuple[str, ...]:
    """What exiftool is asked for (``-TAG`` each), in the vocabulary's order."""
    return tuple(tag.name for tag in VOCABULARY if tag.exiftool)


# Every name, and the groups ``read`` merges tag sources by.
NAMES = frozenset(tag.name for tag in VOCABULARY)
DATE = names_for("taken_at")
POSITION = names_for("latitude", "longitude", "altitude")
CAMERA = names_for("make", "model", "lens_model", "iso", "exposure_time", "f_number",
                   "focal_length")
# What an XMP sidecar (the copy a user edits) wins beside its date and position: the XMP
# description, rating and keywords.
SIDECAR_WINS = frozenset(tag.name for tag in VOCABULARY
                         if tag.xmp and tag.field in ("description", "rating", "keywords"))
LISTS = frozenset(tag.name for tag in VOCABULARY if tag.repeated)

"""One vocabulary of metadata tags (``mediapipe.metadata.tags``): every tag a field rule reads is
named there once, with its EXIF, XMP and IPTC places; each reader reads those places and no
other tag, exiftool is asked for those tags and no other, and no tag is read that no rule asks
for."""

from __future__ import annotations

import dataclasses
import os
import struct
from pathlib import Path

import pytest
from PIL import Image
from PIL.TiffImagePlugin import IFDRational

from mediapipe.errors import MediaError
from mediapipe.metadata import exiftool
from mediapipe.metadata.blocks import read_blocks
from mediapipe.metadata.daterules import ReadOptions
from mediapipe.metadata.exif import read_exif
from mediapipe.metadata.fields import Pixels, exiftool_pixels, media_info
from mediapipe.metadata.iptc import read_iptc
from mediapipe.metadata.model import MediaInfo
from mediapipe.metadata.tags import NAMES, VOCABULARY, Tag
from mediapipe.metadata.xmp import read_xmp

# What a reader may yield beside the vocabulary's tags: the parts of the file only exiftool
# reads (``ExiftoolOnly``) and a TIFF's own IPTC block (``IPTC-NAA``).
STRUCTURE = {"ExiftoolOnly", "IPTC-NAA"}


class Asked(dict[str, object]):
    """Tags that note the name of every tag a rule asks them for."""

    def __init__(self, tags: dict[str, object], asked: set[str]) -> None:
        super().__init__(tags)
        self.asked = asked

    def get(self, key: str, default: object = None) -> object:  # type: ignore[override]
        self.asked.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> object:
        self.asked.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.asked.add(str(key))
        return super().__contains__(key)


# Tags that lead the rules down each of their branches.
BRANCHES: list[dict[str, object]] = [
    {},  # every rule asks for the tags it reads first
    {"DateTimeOriginal": "2020:01:02 03:04:05"},  # a date asks what names its offset
    {"DateTimeOriginal": "2020:01:02 03:04:05", "TimeZone": 60},  # ... and a zone its DST
    {"GPSLatitude": 48.85, "GPSLongitude": 2.35},  # a position asks for its altitude
    {"MicroVideo": 1},  # Google's MicroVideo asks where its video starts
    {"MotionPhoto": 1},  # Google's MotionPhoto asks for its Container item
]


def test_the_field_rules_read_exactly_the_vocabulary(tmp_path: Path) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xd9")
    asked: set[str] = set()
    for tags in BRANCHES:
        media_info(photo, os.stat(photo), Pixels(64, 48), Asked(tags, asked), mime="image/jpeg",
                   warnings=[], reader="mediapipe",
                   options=ReadOptions(date_rules=(), places=False))
    exiftool_pixels(Asked({}, asked))
    assert sorted(NAMES - asked) == [], "named in the vocabulary, read by no rule"
    assert sorted(asked - NAMES) == [], "read by a rule, named in no reader's vocabulary"


def test_exiftool_is_asked_for_the_vocabulary_and_nothing_else() -> None:
    asked = {arg[1:] for arg in exiftool._ARGS if arg.startswith("-") and arg[1:2].isupper()}
    assert asked == {tag.name for tag in VOCABULARY if tag.exiftool}
    in_process_only = {tag.name for tag in VOCABULARY if not tag.exiftool}
    assert in_process_only == {"MotionPhotoVideoLength", "MotionPhotoVideoPadding"}


# A value of each EXIF tag as a camera writes it (Pillow picks the type of a tag it knows).
EXIF_VALUES: dict[str, object] = {
    "ImageWidth": 64, "ImageHeight": 48, "BitsPerSample": 8, "Orientation": 6,
    "Make": "Canon", "Model": "EOS 40D", "ImageDescription": "harbour", "Rating": 4,
    "XPKeywords": "boat;sea\0".encode("utf-16-le"),
    "DateTimeOriginal": "2020:01:02 03:04:05", "CreateDate": "2020:01:02 03:04:05",
    "SubSecTimeOriginal": "12", "SubSecTimeDigitized": "12", "OffsetTimeOriginal": "+02:00",
    "OffsetTimeDigitized": "+02:00", "OffsetTime": "+02:00", "ColorSpace": 1,
    "LensModel": "EF 50mm", "ISO": 100, "ExposureTime": IFDRational(1, 200),
    "FNumber": IFDRational(28, 10), "FocalLength": IFDRational(50),
    "GPSLatitudeRef": "N", "GPSLatitude": (IFDRational(48), IFDRational(51), IFDRational(0)),
    "GPSLongitudeRef": "E", "GPSLongitude": (IFDRational(2), IFDRational(21), IFDRational(0)),
    "GPSAltitudeRef": 0, "GPSAltitude": IFDRational(35),
    "GPSTimeStamp": (IFDRational(1), IFDRational(4), IFDRational(5)),
    "GPSDateStamp": "2020:01:02",
}
_DIRECTORIES = {"IFD0": None, "ExifIFD": 0x8769, "GPS": 0x8825}


def test_an_exif_block_yields_each_tag_the_vocabulary_places_in_it() -> None:
    """IFD0, the Exif IFD and GPS (the maker notes' tags: test_metadata, test_live_pairing)."""
    exif = Image.Exif()
    expected = set()
    for tag in VOCABULARY:
        for at in tag.exif:
            if at.directory in _DIRECTORIES:
                pointer = _DIRECTORIES[at.directory]
                ifd = exif if pointer is None else exif.get_ifd(pointer)
                ifd[at.id] = EXIF_VALUES[at.part or tag.name]
                expected.add(tag.name)
    tags, warnings = read_exif(exif.tobytes())
    assert warnings == []
    assert set(tags) == expected


XMP_NAMESPACES = {
    "exif": "http://ns.adobe.com/exif/1.0/", "xmp": "http://ns.adobe.com/xap/1.0/",
    "pdf": "http://ns.adobe.com/pdf/1.3/", "tiff": "http://ns.adobe.com/tiff/1.0/",
    "exifEX": "http://cipa.jp/exif/1.0/", "aux": "http://ns.adobe.com/exif/1.0/aux/",
    "dc": "http://purl.org/dc/elements/1.1/", "lr": "http://ns.adobe.com/lightroom/1.0/",
    "GPano": "http://ns.google.com/photos/1.0/panorama/",
    "GCamera": "http://ns.google.com/photos/1.0/camera/",
    "apple": "http://ns.apple.com/namespace/1.0/",
}


def test_an_xmp_packet_yields_each_tag_the_vocabulary_places_in_it() -> None:
    properties, expected = [], set()
    for tag in VOCABULARY:
        for at in tag.xmp:
            if at.prefix != "Item":  # a Container item's: test_motion_photos
                prefix = "apple" if at.prefix == "*" else at.prefix  # any namespace: Apple's
                properties.append(f'{prefix}:{at.property}="1"')
                expected.add(tag.name)
    declared = " ".join(f'xmlns:{prefix}="{uri}"' for prefix, uri in XMP_NAMESPACES.items())
    packet = (f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
              f'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
              f'rdf:about="" {declared} {" ".join(properties)}/></rdf:RDF></x:xmpmeta>')
    tags, warnings = read_xmp(packet.encode())
    assert warnings == []
    assert set(tags) == expected


def _dataset(record: int, dataset: int, value: bytes) -> bytes:
    return struct.pack(">BBBH", 0x1C, record, dataset, len(value)) + value


def test_an_iptc_block_yields_each_tag_the_vocabulary_places_in_it() -> None:
    values = {"DateCreated": b"20200102", "TimeCreated": b"030405+0200"}
    block, expected = b"", set()
    for tag in VOCABULARY:
        for at in tag.iptc:
            block += _dataset(at.record, at.dataset, values.get(at.part, b"harbour"))
            expected.add(tag.name)
    tags, warnings = read_iptc(block)
    assert warnings == []
    assert set(tags) == expected


def test_no_reader_yields_a_tag_outside_the_vocabulary_on_real_photos(samples: Path) -> None:
    opened = 0
    for path in sorted(p for p in (samples / "images").rglob("*") if p.is_file()):
        try:
            blocks = read_blocks(path)
        except MediaError:  # what no reader opens yields no tag
            continue
        found = [read_exif(blocks.exif)[0] if blocks.exif else {},
                 *(read_xmp(packet)[0] for packet in blocks.xmp),
                 read_iptc(blocks.iptc)[0] if blocks.iptc else {}]
        for tags in found:
            assert set(tags) - NAMES - STRUCTURE == set(), path.name
        opened += 1
    assert opened >= 20


@pytest.mark.parametrize("tag", VOCABULARY, ids=[tag.name for tag in VOCABULARY])
def test_each_tag_feeds_a_media_info_field(tag: Tag) -> None:
    assert tag.field in {field.name for field in dataclasses.fields(MediaInfo)}

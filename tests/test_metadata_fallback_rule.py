"""When a photo with no date in-process asks exiftool for one: only where the file may hold a
date that only exiftool reads.

A JPEG whose every segment our readers read whole (JFIF, EXIF without a maker note, XMP, ICC,
IPTC) or that holds no date (MPF, Adobe, Photoshop's Ducky, comments) is answered without the
round trip. A maker's segment (APP12 Picture Info, Casio's QVCI, APP3), a second EXIF, a maker
note, a block inside a block (XMP inside the EXIF or among Photoshop resources), a date where
ours do not look (IFD0, a namespace we do not know), a trailer after the image, or any format
but JPEG still asks.

exiftool is made unavailable for real: a PATH without it, and this process's own stopped. A
file that asks then carries the warning "exiftool could not be asked"; one that does not, none.
"""

from __future__ import annotations

import shutil
import struct
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image, ImageCms

from fixtures import images
from mediapipe.metadata.dates import taken_at
from mediapipe.metadata.exiftool import exiftool_tags, shutdown
from mediapipe.metadata.read import read_metadata

SIZE = (160, 120)
TAKEN = datetime(2004, 5, 6, 7, 8, 9)
ASKED = "no date tag; exiftool could not be asked"
_XMP_APP1 = b"http://ns.adobe.com/xap/1.0/\0"
_KODAK_NOTE = b"IIII\x02\0" + bytes(14) + f"{TAKEN:%Y/%m/%d %H:%M:%S}\0".encode() + bytes(40)


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


def _packet(attrs: str, ns: str) -> bytes:
    """An XMP packet with one rdf:Description carrying ``attrs`` (namespaces ``ns``)."""
    return ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
            'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
            f'rdf:about="" {ns} {attrs}/></rdf:RDF></x:xmpmeta>').encode()


def _xmp(attrs: str, ns: str) -> bytes:
    """An APP1 XMP segment (see ``_packet``)."""
    return _segment(0xE1, _XMP_APP1 + _packet(attrs, ns))


def _photoshop(*resources: tuple[int, bytes]) -> bytes:
    """An APP13 ``Photoshop 3.0`` segment holding the image resources given."""
    body = b"".join(b"8BIM" + struct.pack(">H", rid) + b"\0\0" + struct.pack(">I", len(data))
                    + data + b"\0" * (len(data) & 1) for rid, data in resources)
    return _segment(0xED, b"Photoshop 3.0\0" + body)


def _jpeg(path: Path, *segments: bytes, exif: Image.Exif | None = None, icc: bool = False,
          tail: bytes = b"") -> Path:
    """A JPEG (JFIF, EXIF and an sRGB profile as Pillow writes them) with ``segments`` right
    after SOI and ``tail`` after the end of the image."""
    kwargs: dict[str, object] = {}
    if exif is not None:
        kwargs["exif"] = exif.tobytes()
    if icc:
        kwargs["icc_profile"] = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    images.pattern(*SIZE).save(path, "JPEG", **kwargs)
    data = path.read_bytes()
    path.write_bytes(data[:2] + b"".join(segments) + data[2:] + tail)
    return path


def _exif(*, ifd0: dict[int, object] | None = None, sub: dict[int, object] | None = None,
          ) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Maker", "Model 1"
    for tag, value in (ifd0 or {}).items():
        exif[tag] = value
    for tag, value in (sub or {}).items():
        exif.get_ifd(0x8769)[tag] = value
    return exif


def _iptc(caption: str) -> bytes:
    return b"\x1c\x02\x78" + struct.pack(">H", len(caption)) + caption.encode()


_MPF = b"MPF\0MM\0*\0\0\0\x08\0\x01\xb0\x00\0\x07\0\0\0\x040100\0\0\0\0"
_DC = 'xmlns:dc="http://purl.org/dc/elements/1.1/"'
_DATED_XMP = _packet(f'xmp:CreateDate="{TAKEN:%Y-%m-%dT%H:%M:%S}"',
                     'xmlns:xmp="http://ns.adobe.com/xap/1.0/"')

# Dateless files whose every block our readers read whole, or that holds no date.
READ_WHOLE: dict[str, Callable[[Path], Path]] = {
    "jfif-only": lambda p: _jpeg(p),
    "exif-xmp-icc": lambda p: _jpeg(p, _xmp('dc:format="image/jpeg"', _DC),
                                     exif=_exif(sub={0xA434: "Lens 50"}), icc=True),
    "iptc": lambda p: _jpeg(p, _photoshop((0x0404, _iptc("Harbour")))),
    "comment-mpf-ducky-adobe": lambda p: _jpeg(
        p, _segment(0xFE, f"taken {TAKEN:%Y:%m:%d %H:%M:%S}".encode()), _segment(0xE2, _MPF),
        _segment(0xEC, b"Ducky\0\x01\0\x04\0\0\0\x46\0\0"),
        _segment(0xEE, b"Adobe\0\x64\0\0\0\0\x01")),
}

# Dateless in-process, each holding a place only exiftool reads.
EXIFTOOL_ONLY: dict[str, Callable[[Path], Path]] = {
    "app12-picture-info": lambda p: _jpeg(p, _segment(0xEC, b"[picture info]\r\nType=C2000Z")),
    "casio-qvci": lambda p: _jpeg(p, _segment(0xE1, b"QVCI\0" + bytes(0x80))),
    "app3": lambda p: _jpeg(p, _segment(0xE3, b"Meta\0\0" + bytes(16))),
    "second-exif": lambda p: _jpeg(p, _segment(0xE1, b"Exif\0\0" + _exif().tobytes()[6:]),
                                   exif=_exif()),
    "maker-note": lambda p: _jpeg(p, exif=_exif(sub={0x927C: _KODAK_NOTE})),
    "date-in-ifd0": lambda p: _jpeg(p, exif=_exif(ifd0={0x9003: f"{TAKEN:%Y:%m:%d %H:%M:%S}"})),
    "xmp-in-exif": lambda p: _jpeg(p, exif=_exif(ifd0={0x02BC: _DATED_XMP})),
    "xmp-unknown-namespace": lambda p: _jpeg(p, _xmp(
        f'foo:createDate="{TAKEN:%Y-%m-%dT%H:%M:%S}"', 'xmlns:foo="http://example.com/foo/1.0/"')),
    "xmp-among-photoshop-resources": lambda p: _jpeg(p, _photoshop((0x0424, _DATED_XMP))),
    "trailer": lambda p: _jpeg(p, tail=b"\0" * 8 + b"AXS!"),
    "png": lambda p: images.png(p.with_suffix(".png")),
}
# Of those, the ones where exiftool finds ``TAKEN`` (the others hold no date at all).
EXIFTOOL_DATES = ("maker-note", "date-in-ifd0", "xmp-in-exif", "xmp-unknown-namespace",
                  "xmp-among-photoshop-resources")


@pytest.fixture
def no_exiftool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """exiftool cannot start: PATH names an empty folder and this process's own is stopped."""
    shutdown()
    (tmp_path / "bin").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    yield
    shutdown()


@pytest.mark.parametrize("name", sorted(READ_WHOLE))
def test_a_dateless_jpeg_we_read_whole_does_not_ask_exiftool(
        name: str, tmp_path: Path, no_exiftool: None) -> None:
    info = read_metadata(READ_WHOLE[name](tmp_path / f"{name}.jpg"))
    assert info.warnings == ()  # no "exiftool could not be asked"
    assert (info.taken_at_source, info.metadata_source) == ("file_mtime", "mediapipe")


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool not installed")
@pytest.mark.parametrize("name", sorted(READ_WHOLE))
def test_exiftool_finds_no_date_in_them_either(name: str, tmp_path: Path) -> None:
    assert taken_at(exiftool_tags(READ_WHOLE[name](tmp_path / f"{name}.jpg"))) is None


@pytest.mark.parametrize("name", sorted(EXIFTOOL_ONLY))
def test_a_dateless_file_holding_what_only_exiftool_reads_asks_it(
        name: str, tmp_path: Path, no_exiftool: None) -> None:
    info = read_metadata(EXIFTOOL_ONLY[name](tmp_path / f"{name}.jpg"))
    assert any(w.startswith(ASKED) for w in info.warnings)
    assert info.taken_at_source == "file_mtime"


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool not installed")
@pytest.mark.parametrize("name", EXIFTOOL_DATES)
def test_the_date_only_exiftool_reads_is_found(name: str, tmp_path: Path) -> None:
    info = read_metadata(EXIFTOOL_ONLY[name](tmp_path / f"{name}.jpg"))
    assert info.metadata_source == "mediapipe+exiftool"
    assert info.taken_at is not None and info.taken_at.replace(tzinfo=None) == TAKEN


@pytest.mark.parametrize("name", ["flickr-2569067123.jpg", "ultrahdr-gain-map-3840x2160.jpg"])
def test_dateless_sample_photos_are_read_without_exiftool(
        name: str, samples: Path, no_exiftool: None) -> None:
    info = read_metadata(samples / "images" / "photos" / name)
    assert info.warnings == ()
    assert (info.taken_at_source, info.metadata_source) == ("file_mtime", "mediapipe")

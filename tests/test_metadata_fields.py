"""Immich's field rules that need no date: the panorama projection (``projectionType``).

Immich's ``metadata.service.ts`` keeps ``ProjectionType`` (XMP-GPano, what Google's Camera,
Street View and 360° cameras write) upper-cased; its viewer opens a 360° view for
``EQUIRECTANGULAR``."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from fixtures import images, raw
from mediapipe.metadata.fields import projection_type
from mediapipe.metadata.read import read_metadata

_GPANO = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
          'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
          'rdf:about="" xmlns:GPano="http://ns.google.com/photos/1.0/panorama/" {attrs}/>'
          '</rdf:RDF></x:xmpmeta>')
_ELEMENT = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
            'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
            'rdf:about="" xmlns:GPano="http://ns.google.com/photos/1.0/panorama/">'
            '<GPano:ProjectionType>{value}</GPano:ProjectionType></rdf:Description>'
            '</rdf:RDF></x:xmpmeta>')

# (id, XMP packet) -> projection_type
PANORAMAS = [
    ("google-camera-photosphere-attribute",
     _GPANO.format(attrs='GPano:ProjectionType="equirectangular" GPano:UsePanoramaViewer="True"'),
     "EQUIRECTANGULAR"),
    ("element-form", _ELEMENT.format(value="cylindrical"), "CYLINDRICAL"),
    ("already-upper", _GPANO.format(attrs='GPano:ProjectionType="EQUIRECTANGULAR"'),
     "EQUIRECTANGULAR"),
    ("no-projection", _GPANO.format(attrs='GPano:UsePanoramaViewer="True"'), None),
]


@pytest.mark.parametrize(("xmp", "expected"), [c[1:] for c in PANORAMAS],
                         ids=[c[0] for c in PANORAMAS])
def test_the_projection_of_a_panorama(tmp_path: Path, xmp: str, expected: str | None) -> None:
    path = tmp_path / "pano.jpg"
    images.pattern(128, 64).save(path, "JPEG", xmp=xmp.encode())
    assert read_metadata(path).projection_type == expected


def test_an_xmp_sidecar_can_name_the_projection(tmp_path: Path) -> None:
    photo = images.jpeg(tmp_path / "pano.jpg", (128, 64))
    (tmp_path / "pano.jpg.xmp").write_text(
        _GPANO.format(attrs='GPano:ProjectionType="equirectangular"'))
    assert read_metadata(photo).projection_type == "EQUIRECTANGULAR"


@pytest.mark.parametrize(("tags", "expected"), [
    ({"ProjectionType": " equirectangular "}, "EQUIRECTANGULAR"),
    ({"ProjectionType": ""}, None),
    ({"ProjectionType": 3}, None),
    ({}, None),
], ids=["padded", "empty", "not-text", "absent"])
def test_projection_type_rule(tags: dict[str, object], expected: str | None) -> None:
    assert projection_type(tags) == expected


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool not installed")
def test_a_raw_panorama_read_by_exiftool_names_its_projection(tmp_path: Path) -> None:
    """exiftool is asked for every tag the rules read: a RAW (read by exiftool) panorama too."""
    path = raw.dng(tmp_path / "pano.dng", images.pattern(128, 64))
    subprocess.run(["exiftool", "-q", "-overwrite_original",
                    "-XMP-GPano:ProjectionType=equirectangular", str(path)], check=True)
    info = read_metadata(path)
    assert (info.metadata_source, info.projection_type) == ("exiftool", "EQUIRECTANGULAR")

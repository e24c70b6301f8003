"""File kinds by name, and the one rule for which XMP sidecar belongs to a media file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mediapipe import formats

# (media file, what lies beside it, the sidecar that belongs to it); a name ending in "/" is a
# folder. Both finders apply the rule: on disk (import, metadata) and in a listing (scan).
SIDECAR_RULE = [
    pytest.param("IMG.jpg", ["IMG.jpg.xmp"], "IMG.jpg.xmp", id="full-name"),
    pytest.param("IMG.jpg", ["IMG.xmp"], "IMG.xmp", id="stem"),
    pytest.param("IMG.jpg", ["IMG.xmp", "IMG.jpg.xmp"], "IMG.jpg.xmp",
                 id="full-name-before-stem"),
    pytest.param("IMG.jpg", ["IMG.jpg.XMP"], "IMG.jpg.XMP", id="upper-case-extension"),
    pytest.param("IMG.jpg", ["IMG.XMP"], "IMG.XMP", id="stem-upper-case-extension"),
    pytest.param("IMG.jpg", ["IMG.xmp", "IMG.jpg.XMP"], "IMG.jpg.XMP",
                 id="full-name-before-stem-whatever-the-case"),
    pytest.param("IMG.jpg", ["IMG.jpg.xmp", "IMG.jpg.XMP"], "IMG.jpg.xmp",
                 id="lower-case-before-upper"),
    pytest.param("IMG.JPG", ["IMG.JPG.xmp"], "IMG.JPG.xmp", id="media-extension-kept"),
    pytest.param("IMG.edit.jpg", ["IMG.edit.xmp", "IMG.xmp"], "IMG.edit.xmp",
                 id="stem-drops-last-extension-only"),
    pytest.param("IMG", ["IMG.xmp"], "IMG.xmp", id="no-extension"),
    pytest.param("IMG.jpg", ["IMG.jpg.xmp/", "IMG.xmp"], "IMG.xmp", id="a-folder-is-no-sidecar"),
    pytest.param("IMG.jpg", ["OTHER.xmp", "IMG.jpeg.xmp"], None, id="another-file's"),
    pytest.param("IMG.jpg", [], None, id="none"),
]


@pytest.mark.parametrize(("media", "beside", "expected"), SIDECAR_RULE)
def test_sidecar_rule(tmp_path: Path, media: str, beside: list[str],
                      expected: str | None) -> None:
    (tmp_path / media).write_bytes(b"media")
    for name in beside:
        if name.endswith("/"):
            (tmp_path / name).mkdir()
        else:
            (tmp_path / name).write_bytes(b"<x:xmpmeta/>")
    found = formats.find_sidecar(tmp_path / media)
    assert (found.name if found else None) == expected
    listed = {n for n in os.listdir(tmp_path) if os.path.isfile(tmp_path / n)}
    assert formats.sidecar_among(media, listed) == expected


def test_sidecar_names_are_the_candidates_in_order() -> None:
    assert formats.sidecar_names("IMG.jpg") == (
        "IMG.jpg.xmp", "IMG.jpg.XMP", "IMG.xmp", "IMG.XMP")

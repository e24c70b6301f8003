"""A JPEG XL that decodes ingests: where a tag reader has no size (Debian's exiftool 12.57 does
not follow a codestream in ``jxlp`` parts), size, depth and colour come from the codestream's
own header, as the decoder reads it; a file is corrupt only when the decoder says so."""

from __future__ import annotations

import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from fixtures import jxl
from mediapipe.config import Config
from mediapipe.errors import CorruptMedia
from mediapipe.metadata.jxl import JxlHeader, JxlHeaderError, codestream, parse
from mediapipe.metadata.read import read_metadata
from mediapipe.pipeline import Status, process_asset

pytestmark = pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool not installed")

ASSET = "0b7f6c8e-7d2e-4f4f-8a4c-3c2d4a9e1f10"


@pytest.fixture
def sixteen_bit(tmp_path: Path) -> Path:
    return jxl.sixteen_bit(tmp_path / "hdr.jxl", (96, 64), taken=datetime(2024, 5, 6, 7, 8, 9),
                           make="Google", model="Pixel 9")


def test_exiftool_cannot_size_a_jxl_in_parts(sixteen_bit: Path) -> None:
    out = subprocess.run(["exiftool", "-s3", "-ImageWidth", str(sixteen_bit)],
                         capture_output=True, text=True, check=False).stdout
    assert out.strip() == ""  # why this file needs the header reader (exiftool 12.57)


def test_a_16_bit_jxl_is_sized_from_its_codestream_header(sixteen_bit: Path) -> None:
    info = read_metadata(sixteen_bit)
    assert (info.width, info.height, info.bits_per_sample) == (96, 64, 16)
    assert info.taken_at == datetime(2024, 5, 6, 7, 8, 9) and info.make == "Google"


def test_a_16_bit_jxl_ingests(sixteen_bit: Path, media_root: Path) -> None:
    result = process_asset(sixteen_bit, ASSET, media_root, Config(), todo=["thumbnails"])
    assert result.stages["metadata"].status is Status.DONE
    assert result.stages["thumbnails"].status is Status.DONE, result.stages["thumbnails"]


def test_a_jxl_the_decoder_refuses_is_corrupt(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jxl"
    bad.write_bytes(b"\xff\x0a\x00")  # a signature, then a header that ends
    with pytest.raises(CorruptMedia, match="decoder"):
        read_metadata(bad)


class _Writer:
    """JPEG XL's bit order, for headers no encoder here writes (HDR colour, orientation)."""

    def __init__(self) -> None:
        self.bits: list[int] = []

    def u(self, n: int, value: int) -> _Writer:
        self.bits += [(value >> i) & 1 for i in range(n)]
        return self

    def bytes(self) -> bytes:
        bits = self.bits + [0] * (-len(self.bits) % 8 + 64)
        return bytes(sum(b << i for i, b in enumerate(bits[k:k + 8]))
                     for k in range(0, len(bits), 8))


def _hdr_p3_header(width: int, height: int) -> bytes:
    w = _Writer()
    w.u(1, 0).u(2, 1).u(13, height - 1).u(3, 0).u(2, 1).u(13, width - 1)  # SizeHeader
    w.u(1, 0).u(1, 1).u(3, 5).u(1, 0).u(1, 0).u(1, 0)  # not default; orientation 6
    w.u(1, 0).u(2, 3).u(6, 15)  # integer samples, 16 bits
    w.u(1, 0).u(2, 0).u(1, 1)  # no 16-bit buffers, no extra channel, XYB
    w.u(1, 0).u(1, 0).u(2, 0)  # colour: enums, RGB
    w.u(2, 1).u(2, 2).u(4, 9)  # white point D65, primaries 11 (P3)
    w.u(1, 0).u(2, 2).u(4, 14)  # no gamma, transfer 16 (PQ)
    return b"\xff\x0a" + w.bytes()


def test_the_header_reader_reads_hdr_p3_colour_and_orientation() -> None:
    assert parse(_hdr_p3_header(4032, 3024)) == JxlHeader(4032, 3024, 16, False, 6,
                                                          "Display P3 (PQ)")


def test_the_header_reader_finds_the_codestream_in_a_container(sixteen_bit: Path) -> None:
    assert codestream(sixteen_bit.read_bytes()).startswith(b"\xff\x0a")
    with pytest.raises(JxlHeaderError):
        codestream(b"\0\0\0\x0cJXL \x0d\x0a\x87\x0a" + b"\0\0\0\x10junkjunkjunk")

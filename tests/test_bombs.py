"""Hostile images: sizes come from headers and are refused before a decoder allocates; every
libraw failure is one typed MediaError with libraw's own words in it, nothing on stderr.

The files are generated (``fixtures/bombs.py``): sparse or truncated DNGs that declare huge
sensors, JPEG XL headers that declare 20000x20000 over a few bytes. None is over 1 KB on disk.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from fixtures.bombs import dng_bomb, jxl_bomb
from mediapipe.config import Config
from mediapipe.errors import CorruptMedia, TooLarge
from mediapipe.metadata.model import MediaInfo
from mediapipe.metadata.read import read_metadata
from mediapipe.thumbnails.make import make_thumbnails
from tests.support.cli import mediapipe

HUGE = Config.from_dict({"image": {"maxPixels": 10_000_000_000}})
PEAK_MB = 400  # the soak's bound per row; the bombs below would need 1.9 GB and more


def image_info(path: Path, mime: str) -> MediaInfo:
    return MediaInfo(path=str(path), kind="image", mime_type=mime, size=path.stat().st_size)


def peak_rss_mb(code: str, *args: str) -> tuple[int, str]:
    """Run ``code`` in a fresh interpreter; its peak RSS (VmHWM, MB) and what it printed."""
    probe = code + ("\nprint([l for l in open('/proc/self/status') "
                    "if l.startswith('VmHWM')][0].split()[1])")
    out = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True,
                         timeout=120, check=True)
    lines = out.stdout.split()
    return int(lines[-1]) // 1024, " ".join(lines[:-1])


def test_a_sparse_31000_px_dng_is_too_large_before_libraw_unpacks_it(tmp_path: Path) -> None:
    path = dng_bomb(tmp_path / "bomb.dng", 31000)
    assert path.stat().st_size > 1_900_000_000 and path.stat().st_blocks * 512 <= 64 * 1024
    code = """
import sys
from collections.abc import Callable
from pathlib import Path
from mediapipe.config import Config
from mediapipe.errors import TooLarge
from mediapipe.metadata.model import MediaInfo
from mediapipe.thumbnails.make import make_thumbnails
from tests.support.cli import mediapipe
p = Path(sys.argv[1])
try:
    make_thumbnails(p, MediaInfo(path=str(p), kind="image", mime_type="image/x-adobe-dng",
                                 size=p.stat().st_size), Config())
except TooLarge as exc:
    print("TooLarge")
"""
    peak, said = peak_rss_mb(code, str(path))
    assert said == "TooLarge"
    assert peak <= PEAK_MB


@pytest.mark.parametrize("side", [30000, 60000])
def test_a_truncated_dng_declaring_a_huge_sensor_is_too_large(tmp_path: Path,
                                                                side: int) -> None:
    path = dng_bomb(tmp_path / "cut.dng", side, sparse=False)
    with pytest.raises(TooLarge, match=f"{side}x{side}"):
        make_thumbnails(path, image_info(path, "image/x-adobe-dng"), Config())


@pytest.mark.parametrize("side", [14000, 30000, 60000])
def test_a_truncated_dng_under_the_limit_is_corrupt_media_with_libraws_words(
        tmp_path: Path, side: int, capfd: pytest.CaptureFixture[str]) -> None:
    path = dng_bomb(tmp_path / "cut.dng", side, sparse=False)
    with pytest.raises(CorruptMedia, match="libraw cannot read the sensor data") as caught:
        make_thumbnails(path, image_info(path, "image/x-adobe-dng"), HUGE)
    assert "Unexpected end of file" in caught.value.reason or side == 60000
    assert capfd.readouterr().err == "", "libraw's own messages are caught, not printed"


BOMBS = {  # each bomb, and the side its header declares
    "truncated-14000-dng": (lambda d: dng_bomb(d / "cut.dng", 14000, sparse=False), 14000),
    "sparse-31000-dng": (lambda d: dng_bomb(d / "bomb.dng", 31000), 31000),
    "jxl-20000": (lambda d: jxl_bomb(d / "bomb.jxl", 20000, 20000), 20000),
}


@pytest.mark.parametrize(("make", "side"), BOMBS.values(), ids=BOMBS.keys())
def test_the_metadata_step_reads_a_bombs_declared_size_from_its_header(
        tmp_path: Path, make: Callable[[Path], Path], side: int) -> None:
    info = read_metadata(make(tmp_path))  # headers only: exiftool reads these formats
    assert (info.width, info.height) == (side, side)


@pytest.mark.parametrize("container", [False, True], ids=["codestream", "container"])
def test_a_jpeg_xl_declaring_20000_px_is_too_large_from_its_header(tmp_path: Path,
                                                                    container: bool) -> None:
    path = jxl_bomb(tmp_path / "bomb.jxl", 20000, 20000, container=container)
    with pytest.raises(TooLarge, match="20000x20000"):
        make_thumbnails(path, image_info(path, "image/jxl"), Config())


def test_the_cli_names_a_truncated_dng_in_one_line_without_a_traceback(tmp_path: Path) -> None:
    path = dng_bomb(tmp_path / "cut.dng", 14000, sparse=False)
    out = mediapipe("thumbnail", str(path), "--out", str(tmp_path / "out"), "--json")
    assert out.returncode not in (0, 70), out.stderr
    assert "Traceback" not in out.stderr
    assert out.stderr.startswith("mediapipe: error:") and out.stderr.count("\n") == 1
    [report] = json.loads(out.stdout)
    assert report["type"] == "CorruptMedia"
    assert "Input/output error (libraw: Unexpected end of file)" in report["error"]

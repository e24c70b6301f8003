"""RAW files: decoded by libraw beside Pillow, read by exiftool, sized and oriented like JPEGs.

The DNGs are made from a real photo (``images/camera/jolla.jpg`` when the samples are there, a
generated one otherwise), mosaicked to an RGGB Bayer pattern with no embedded preview unless a
test asks for one (``fixtures/raw.py``).
"""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fixtures import raw
from mediapipe.config import Config
from mediapipe.errors import CorruptMedia, UnsupportedMedia
from mediapipe.metadata.model import MediaInfo
from mediapipe.metadata.read import read_metadata
from mediapipe.thumbnails.make import make_thumbnails
from mediapipe.thumbnails.raw import RawEngine, open_raw
from tests.support.cli import mediapipe

SIZE = (3000, 2000)  # half size (1500x1000) does not cover a 1440 preview: full demosaic
TAKEN = datetime(2021, 6, 5, 4, 3, 2)
DEFAULT = Config()
EMBEDDED = Config.from_dict({"image": {"extractEmbedded": True}})
MAX = DEFAULT.image.max_pixels


@pytest.fixture(scope="module")
def picture() -> Image.Image:
    here = Path(__file__).resolve().parent.parent
    samples = here.parent / "shared" / "samples"
    return raw.photo(samples if samples.exists() else None, SIZE)


def correlation(a: Image.Image, b: Image.Image) -> float:
    """Pearson correlation of the luminance of ``a`` and ``b`` (``b`` resized to ``a``)."""
    la = np.asarray(a.convert("L"), np.float64).ravel()
    lb = np.asarray(b.convert("L").resize(a.size, Image.Resampling.BOX), np.float64).ravel()
    return float(np.corrcoef(la, lb)[0, 1])


def preview_of(path: Path, cfg: Config = DEFAULT) -> tuple[Image.Image, tuple[str, ...]]:
    t = make_thumbnails(path, read_metadata(path), cfg)
    return Image.open(io.BytesIO(t.preview.data)), t.warnings


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_a_dng_without_preview_is_demosaicked_upright_and_close_to_the_photo(
        tmp_path: Path, picture: Image.Image, orientation: int) -> None:
    path = raw.dng(tmp_path / "a.dng", picture, orientation=orientation)
    preview, warnings = preview_of(path)
    assert preview.size == (2160, 1440)  # as for a 3000x2000 JPEG: shorter side 1440
    assert correlation(preview, picture) >= 0.9
    assert warnings == ()


def test_half_size_demosaic_when_it_still_covers_the_preview(tmp_path: Path,
                                                             picture: Image.Image) -> None:
    path = raw.dng(tmp_path / "a.dng", picture.resize((1200, 800)))
    engine = RawEngine()
    header = open_raw(path, preview_size=300, extract_embedded=False, engine=engine,
                      max_pixels=MAX)
    assert engine.decode(header, (450, 300)).size == (600, 400)  # half: covers 450x300
    header = open_raw(path, preview_size=500, extract_embedded=False, engine=engine,
                      max_pixels=MAX)
    assert engine.decode(header, (750, 500)).size == (1200, 800)  # half would not cover


def test_the_embedded_jpeg_is_used_when_enabled_and_large_enough(tmp_path: Path,
                                                                 picture: Image.Image) -> None:
    path = raw.dng(tmp_path / "a.dng", picture, orientation=6, preview=(2400, 1600))
    header = open_raw(path, preview_size=1440, extract_embedded=True, engine=RawEngine(),
                      max_pixels=MAX)
    assert (header.size, header.orientation) == ((1600, 2400), 6)  # the JPEG, stored
    preview, _ = preview_of(path, EMBEDDED)
    assert preview.size == (2160, 1440)
    assert correlation(preview, picture) >= 0.9


@pytest.mark.parametrize("cfg", [DEFAULT, EMBEDDED], ids=["extraction-off", "too-small"])
def test_a_small_or_unwanted_embedded_jpeg_means_the_sensor_data_is_decoded(
        tmp_path: Path, picture: Image.Image, cfg: Config) -> None:
    path = raw.dng(tmp_path / "a.dng", picture, preview=(1200, 800))
    header = open_raw(path, preview_size=1440, extract_embedded=cfg.image.extract_embedded,
                      engine=RawEngine(), max_pixels=MAX)
    assert header.size == SIZE
    preview, _ = preview_of(path, cfg)
    assert preview.size == (2160, 1440)


def test_fullsize_of_a_raw_is_the_whole_sensor_upright(tmp_path: Path,
                                                       picture: Image.Image) -> None:
    path = raw.dng(tmp_path / "a.dng", picture, orientation=6)
    cfg = Config.from_dict({"image": {"fullsize": {"enabled": True}}})
    t = make_thumbnails(path, read_metadata(path), cfg)
    assert t.fullsize is not None and t.fullsize.size == SIZE
    assert correlation(Image.open(io.BytesIO(t.fullsize.data)), picture) >= 0.9


def test_raw_metadata_comes_from_exiftool_with_the_sensor_size_as_displayed(
        tmp_path: Path, picture: Image.Image) -> None:
    path = raw.dng(tmp_path / "a.dng", picture, orientation=6, make="Canon",
                   model="EOS R5", taken=TAKEN, preview=(300, 200))
    info = read_metadata(path)
    assert info.metadata_source == "exiftool"
    assert (info.width, info.height, info.orientation) == (3000, 2000, 6)
    assert (info.make, info.model, info.mime_type) == ("Canon", "EOS R5", "image/x-adobe-dng")
    assert (info.taken_at, info.taken_at_source) == (TAKEN, "DateTimeOriginal")


def test_info_json_says_which_reader_answered(tmp_path: Path, picture: Image.Image) -> None:
    path = raw.dng(tmp_path / "a.dng", picture.resize((300, 200)))
    out = mediapipe("info", "--json", str(path))
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    data = data[0] if isinstance(data, list) else data
    assert data["metadata_source"] == "exiftool"


@pytest.mark.parametrize("ext", [".cr3", ".crw", ".raf", ".rw2", ".mrw", ".x3f", ".raw"])
def test_a_raw_that_is_no_raw_fails_cleanly_naming_why(tmp_path: Path, ext: str) -> None:
    path = tmp_path / f"x{ext}"
    path.write_bytes(b"not a raw file at all" * 10)
    with pytest.raises(CorruptMedia, match="not readable"):
        read_metadata(path)
    info = MediaInfo(path=str(path), kind="image", mime_type="image/x-raw", size=210)
    with pytest.raises(UnsupportedMedia, match="libraw cannot open it"):
        make_thumbnails(path, info, Config())

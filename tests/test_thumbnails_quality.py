"""No speed bought with quality: every output (preview and thumbnail), of real photos and of a
resize's worst cases (a zone plate, 1- to 3-pixel lines, checkerboards), with either engine, is
as close to a full-decode Lanczos reference of its size as the Pillow engine's output
(SSIM within 0.01); and each preview of a real photo is as close as libvips' own Q80 preview
(within 0.005).

The reference: every pixel decoded by Pillow, shown upright, an embedded profile applied to
sRGB, resized with Pillow's Lanczos-3 straight to the output's size, never encoded. libvips'
preview: ``thumbnail`` (shrink-on-load, its own Lanczos-3) saved at the same quality. SSIM on
luminance, 7x7 windows, as thumbor's tests compare images, and on each colour difference (Cb,
Cr) too. An SSIM check of previews alone once hid aliased thumbnails: every output is checked.
The bench (``bench_thumbnails``) measures the speed of the same files.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import pyvips  # type: ignore[import-untyped]
from PIL import Image

from fixtures.quality import reference, ssim
from fixtures.thumbnails import checkerboard, line_pattern, zone_plate
from mediapipe import formats
from mediapipe.config import Config
from mediapipe.metadata.model import MediaInfo
from mediapipe.thumbnails.engine import PillowEngine
from mediapipe.thumbnails.make import default_engine, make_thumbnails
from mediapipe.thumbnails.turbo import TurboEngine, available
from tests.support.compiled import needs_compiled

PHOTOS = ["photos/flickr-2569067123.jpg", "photos/ultrahdr-gain-map-3840x2160.jpg",
          "camera/iphone_hdr_YES.jpg", "camera/jolla.jpg", "orientation/portrait_6.jpg"]
# The real samples each output is checked on (``../shared/samples/images``).
SAMPLE_DIRS = ("gps", "orientation", "photos", "camera")
TOLERANCE = 0.005  # a preview against libvips' own
SHARPNESS = 0.01  # every output against the Pillow engine's
SYNTHETIC = {
    "zone-plate": lambda p: zone_plate(p, 2800),
    "1px-lines": lambda p: line_pattern(p, 2),
    "2px-lines": lambda p: line_pattern(p, 4),
    "3px-lines": lambda p: line_pattern(p, 3),
    "1px-checkerboard": lambda p: checkerboard(p, 1),
    "2px-checkerboard": lambda p: checkerboard(p, 2),
}
CFG = Config.from_dict({"image": {"colorspace": "srgb"}})


def opencv_engine() -> TurboEngine:
    return TurboEngine(compiled=False)


def compiled_engine() -> TurboEngine:
    return TurboEngine(compiled=True)


# The fast engine with each of its resamplers: compiled (where it was built) and OpenCV's.
TURBO = [
    pytest.param(compiled_engine, id="compiled", marks=needs_compiled),
    pytest.param(opencv_engine, id="opencv"),
]


def outputs(path: Path, engine: Callable[[], Any]) -> dict[str, Image.Image]:
    """The preview and thumbnail ``engine`` makes of ``path``, decoded."""
    info = MediaInfo(path=str(path), kind="image", mime_type=formats.mime_type(path),
                     size=path.stat().st_size)
    made = make_thumbnails(path, info, CFG, engine())
    return {"preview": Image.open(io.BytesIO(made.preview.data)),
            "thumbnail": Image.open(io.BytesIO(made.thumbnail.data))}


def assert_as_sharp_as_pillows(path: Path, engine: Callable[[], Any]) -> None:
    """Each output of ``engine`` within ``SHARPNESS`` of the Pillow engine's (the bar), by
    SSIM against the reference of its size, on luminance."""
    pillow, turbo = outputs(path, PillowEngine), outputs(path, engine)
    for name, image in turbo.items():
        assert image.size == pillow[name].size, (path.name, name)
        ref = reference(path, image.size)
        assert ssim(image, ref) >= ssim(pillow[name], ref) - SHARPNESS, (path.name, name)


def libvips_preview(path: Path, size: tuple[int, int]) -> Image.Image:
    thumb = pyvips.Image.thumbnail(str(path), size[0], height=size[1], size="down",
                                   export_profile="srgb")
    return Image.open(io.BytesIO(thumb.jpegsave_buffer(Q=CFG.image.preview.quality,
                                                       keep="none")))


@pytest.mark.samples
@pytest.mark.parametrize("engine", [*TURBO, pytest.param(PillowEngine, id="pillow")])
@pytest.mark.parametrize("name", PHOTOS)
def test_preview_is_as_close_to_a_full_lanczos_as_libvips_own(
        samples: Path, name: str, engine: Callable[[], Any]) -> None:
    path = samples / "images" / name
    if not path.exists():
        pytest.skip(f"{name} not in samples")
    info = MediaInfo(path=str(path), kind="image", mime_type=formats.mime_type(path),
                     size=path.stat().st_size)
    ours = Image.open(io.BytesIO(make_thumbnails(path, info, CFG, engine()).preview.data))
    ref = reference(path, ours.size)
    theirs = libvips_preview(path, ours.size)
    if theirs.size != ours.size:  # libvips rounds the long side its own way: compare alike
        theirs = theirs.resize(ours.size, Image.Resampling.LANCZOS)
    for band in ("Y", "Cb", "Cr"):  # the colour too: chroma is upsampled fast before a shrink
        assert ssim(ours, ref, band) >= ssim(theirs, ref, band) - TOLERANCE, band


@pytest.mark.samples
@pytest.mark.parametrize("engine", TURBO)
@pytest.mark.parametrize("folder", SAMPLE_DIRS)
def test_every_output_of_real_photos_is_as_sharp_as_pillows(
        samples: Path, folder: str, engine: Callable[[], Any]) -> None:
    photos = sorted((samples / "images" / folder).glob("*.jp*g"))
    assert photos, folder
    for path in photos:
        assert_as_sharp_as_pillows(path, engine)


@pytest.mark.parametrize("engine", TURBO)
@pytest.mark.parametrize("name", SYNTHETIC)
def test_every_output_of_a_resizes_worst_cases_is_as_sharp_as_pillows(
        tmp_path: Path, name: str, engine: Callable[[], Any]) -> None:
    """Where plain interpolation aliases most: a zone plate's rings, lines and squares finer
    than an output pixel (moire in a grid of thumbnails is the first thing a user sees)."""
    assert_as_sharp_as_pillows(SYNTHETIC[name](tmp_path / f"{name}.png"), engine)


def test_the_default_engine_is_the_measured_one_where_it_loads() -> None:
    """bench_thumbnails chose libjpeg-turbo + OpenCV; Pillow alone is the fallback."""
    expected = TurboEngine if available() else PillowEngine
    assert type(default_engine()) is expected


def test_image_engine_pillow_picks_pillow_alone() -> None:
    cfg = Config.from_dict({"image": {"engine": "pillow"}})
    assert type(default_engine(cfg.image.engine)) is PillowEngine

"""Every output's size, with both engines: the shorter side fitted, never upscaled, and the
longer side within what the output's encoder writes (WebP: 16,383 px), the shorter kept at
least one pixel: panoramas and strips are made, not failed as internal errors."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from mediapipe import formats
from mediapipe.config import Config
from mediapipe.metadata.model import MediaInfo
from mediapipe.thumbnails.engine import PillowEngine
from mediapipe.thumbnails.make import MAX_SIDE, make_thumbnails, output_size
from mediapipe.thumbnails.turbo import TurboEngine

ENGINES = [pytest.param(TurboEngine, id="turbo"), pytest.param(PillowEngine, id="pillow")]


@pytest.mark.parametrize(("size", "shorter", "fmt", "expected"), [
    pytest.param((4000, 3000), 1440, "jpeg", (1920, 1440), id="fitted"),
    pytest.param((800, 600), 1440, "jpeg", (800, 600), id="never-upscaled"),
    pytest.param((20000, 300), 250, "webp", (16383, 246), id="panorama-clamped"),
    pytest.param((1, 65000), 250, "webp", (1, 16383), id="strip-clamped-one-pixel-kept"),
    pytest.param((65000, 3), 250, "webp", (16383, 1), id="short-side-at-least-one"),
    pytest.param((100, 20000), 1440, "jpeg", (100, 20000), id="jpeg-writes-it-whole"),
])
def test_an_outputs_size_is_fitted_then_clamped_to_its_encoder(
        size: tuple[int, int], shorter: int, fmt: str, expected: tuple[int, int]) -> None:
    assert output_size(size, shorter, fmt) == expected
    assert max(expected) <= MAX_SIDE[fmt]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("size", [(20000, 300), (1, 65000), (65000, 3), (100, 20000)],
                         ids=lambda s: f"{s[0]}x{s[1]}")
def test_extreme_aspect_ratios_are_made_by_every_engine(tmp_path: Path, engine: type,
                                                        size: tuple[int, int]) -> None:
    path = tmp_path / "strip.png"
    Image.new("RGB", size, (200, 120, 40)).save(path)
    info = MediaInfo(path=str(path), kind="image", mime_type=formats.mime_type(path),
                     size=path.stat().st_size)
    made = make_thumbnails(path, info, Config(), engine())
    for out, fmt in ((made.preview, "jpeg"), (made.thumbnail, "webp")):
        decoded = Image.open(io.BytesIO(out.data))
        assert decoded.size == out.size
        assert max(out.size) <= MAX_SIDE[fmt] and min(out.size) >= 1
        assert decoded.convert("RGB").getpixel((0, 0)) == pytest.approx((200, 120, 40), abs=8)

"""Video stills: keyframe pick skipping blank starts, rotation, HDR tone-mapping, limits."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fixtures import thumbnails as tfx
from fixtures import videos
from mediapipe.config import Config
from mediapipe.errors import CorruptMedia, TooLarge
from mediapipe.metadata.model import MediaInfo
from mediapipe.thumbnails.make import make_thumbnails
from mediapipe.thumbnails.videoframe import is_blank, representative_frame


def stats(rgb: np.ndarray) -> tuple[float, float]:
    """Mean luminance and mean saturation (HSV), both 0..1."""
    a = rgb.astype(float) / 255
    mx, mn = a.max(-1), a.min(-1)
    sat = np.where(mx > 0, (mx - mn) / np.maximum(mx, 1e-6), 0)
    return float((a @ [0.2126, 0.7152, 0.0722]).mean()), float(sat.mean())


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("graded")
    return {name: tfx.graded_video(d / f"{name}.mp4", None if name == "sdr" else name)
            for name in ("sdr", "pq", "hlg")}


@pytest.mark.parametrize("hdr", ["pq", "hlg"])
def test_hdr_frame_is_tonemapped_close_to_the_sdr_grade(graded: dict[str, Path],
                                                        hdr: str) -> None:
    sdr_l, sdr_s = stats(representative_frame(graded["sdr"]))
    hdr_l, hdr_s = stats(representative_frame(graded[hdr]))
    assert abs(hdr_l - sdr_l) < 0.2 * sdr_l, (hdr_l, sdr_l)
    assert hdr_s > 0.75 * sdr_s, (hdr_s, sdr_s)


def test_pq_frame_read_as_sdr_would_be_washed_out(graded: dict[str, Path]) -> None:
    """The tone-mapping test has teeth: ignoring PQ loses most of the saturation."""
    _, sdr_s = stats(representative_frame(graded["sdr"]))
    _, naive_s = stats(representative_frame(graded["pq"], transfer="bt709"))
    assert naive_s < 0.6 * sdr_s


@pytest.mark.parametrize("hdr", ["pq", "hlg"])
def test_tag_only_hdr_fixtures_give_a_visible_thumbnail(tmp_path: Path, hdr: str) -> None:
    path = videos.video(tmp_path / "v.mp4", codec="libx265", pix_fmt="yuv420p10le", hdr=hdr,
                        audio=())
    frame = representative_frame(path)
    assert frame.shape == (240, 320, 3) and not is_blank(frame)


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool writes the rotation")
@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_display_rotation_is_applied_clockwise(tmp_path: Path, rotation: int) -> None:
    plain = representative_frame(videos.video(tmp_path / "p.mp4", audio=()))
    path = videos.video(tmp_path / "r.mp4", rotation=rotation, audio=())
    info = MediaInfo(path=str(path), kind="video", mime_type="video/mp4",
                     size=path.stat().st_size, rotation=rotation)
    t = make_thumbnails(path, info, Config())
    got = np.asarray(Image.open(io.BytesIO(t.preview.data)).convert("RGB"), float)
    want = np.rot90(plain, -(rotation // 90)).astype(float)
    assert got.shape == want.shape
    assert np.abs(got - want).mean() < 10


def test_black_leading_keyframes_are_skipped(tmp_path: Path) -> None:
    path = videos.video(tmp_path / "fade.mp4", duration=3.0, audio=(),
                        extra=("-vf", "fade=t=in:st=0:d=1.5", "-g", "10"))
    frame = representative_frame(path)
    assert not is_blank(frame)


def test_video_over_the_pixel_limit_is_refused(tmp_path: Path) -> None:
    path = videos.video(tmp_path / "v.mp4", audio=())
    with pytest.raises(TooLarge):
        representative_frame(path, max_pixels=320 * 240 - 1)


@pytest.mark.parametrize("cut", [0, 100, 2000])
def test_damaged_video_is_corrupt_media(tmp_path: Path, cut: int) -> None:
    data = videos.video(tmp_path / "v.mp4", audio=()).read_bytes()
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(data[:cut])
    with pytest.raises(CorruptMedia):
        representative_frame(bad)


@pytest.mark.samples
@pytest.mark.parametrize("name", ["realshort.mp4", "bigbuckbunny.mp4", "Megamind.avi"])
def test_real_videos_give_a_frame(samples: Path, name: str) -> None:
    frame = representative_frame(samples / "video" / name, shorter=250)
    assert min(frame.shape[:2]) <= 250 and not is_blank(frame)


BLANK = [
    pytest.param(np.zeros((8, 8, 3), np.uint8), True, id="black"),
    pytest.param(np.full((8, 8, 3), 200, np.uint8), True, id="uniform-grey"),
    pytest.param(np.zeros((8, 8, 4), np.uint8), True, id="transparent"),
    pytest.param(np.indices((8, 8)).sum(0)[..., None].repeat(3, -1).astype(np.uint8) * 15,
                 False, id="gradient"),
]


@pytest.mark.parametrize(("pixels", "blank"), BLANK)
def test_blank_means_nothing_to_see(pixels: np.ndarray, blank: bool) -> None:
    assert is_blank(pixels) is blank

"""``pipeline.files``: one file outside a media root, thumbnailed or transcoded for the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from fixtures import images, videos
from mediapipe.config import Config
from mediapipe.errors import UnsupportedMedia
from mediapipe.library import storage
from mediapipe.metadata.read import read_metadata
from mediapipe.pipeline.files import plan_file, thumbnail_file, transcode_file
from mediapipe.transcode.argv import build_command
from mediapipe.transcode.chain import Link
from mediapipe.transcode.plan import plan_transcode
from mediapipe.transcode.run import machine_here

# --- thumbnail_file ---------------------------------------------------------------------------

def test_thumbnail_file_writes_both_images_named_by_the_stem(tmp_path: Path) -> None:
    src = images.jpeg(tmp_path / "photo.jpg", (1600, 1200), orientation=6)
    written = thumbnail_file(src, tmp_path / "out", Config())
    assert written.preview.path == tmp_path / "out" / "photo_preview.jpeg"
    assert written.thumbnail.path == tmp_path / "out" / "photo_thumbnail.webp"
    assert Image.open(written.preview.path).size == (written.preview.width,
                                                     written.preview.height) == (1600, 1200)
    assert Image.open(written.thumbnail.path).size == (333, 250)
    assert written.thumbnail.nbytes == written.thumbnail.path.stat().st_size
    assert written.thumbhash and written.colorspace == "srgb"


def test_thumbnail_file_needs_no_media_root_marker(tmp_path: Path) -> None:
    src = images.jpeg(tmp_path / "p.jpg")
    written = thumbnail_file(src, tmp_path / "anywhere", Config())
    assert not (tmp_path / "anywhere" / storage.MARKER).exists()
    assert sorted(p.name for p in (tmp_path / "anywhere").iterdir()) == [
        "p_preview.jpeg", "p_thumbnail.webp"]
    assert written.to_dict()["preview"]["bytes"] == written.preview.nbytes


def test_thumbnail_file_of_a_broken_source_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"nope")
    with pytest.raises(UnsupportedMedia):
        thumbnail_file(bad, tmp_path / "out", Config())
    assert not (tmp_path / "out").exists()


# --- plan_file and transcode_file -------------------------------------------------------------

@pytest.fixture(scope="module")
def mpeg4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A video no browser plays: mpeg4 video in an avi."""
    folder = tmp_path_factory.mktemp("videos")
    return videos.video(folder / "clip.avi", codec="mpeg4", audio=("aac",), duration=1.0)


@pytest.fixture(scope="module")
def playable(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("videos")
    return videos.video(folder / "plays.mp4", duration=1.0)


def test_plan_file_is_a_dry_run_with_the_argv_of_the_first_link(mpeg4: Path,
                                                                  tmp_path: Path) -> None:
    out = tmp_path / "o.mp4"
    planned = plan_file(mpeg4, out, Config(), accel="nvenc")
    assert planned.decision == "video" and planned.reasons
    plan = plan_transcode(read_metadata(mpeg4), Config())
    # accelDecode is on by default (Immich v3): the first link decodes on the GPU too
    assert list(planned.command) == build_command(plan, mpeg4, out, Link.of("nvenc-hwdecode"),
                                                  machine_here())
    data = planned.to_dict()
    assert [link["accel"] for link in data["chain"]] == ["nvenc-hwdecode", "nvenc", "software"]
    assert (data["decision"], data["command"], data["two_pass"]) == \
        ("video", list(planned.command), False)
    assert not out.exists()


def test_plan_file_takes_the_accelerator_from_the_config_by_default(mpeg4: Path,
                                                                     tmp_path: Path) -> None:
    planned = plan_file(mpeg4, tmp_path / "o.mp4", Config())
    assert planned.accel == "disabled" and planned.command[planned.command.index("-c:v") + 1] \
        == "h264"  # Immich's name: ffmpeg opens libx264


def test_a_playable_video_plans_nothing_and_cannot_be_run(playable: Path,
                                                          tmp_path: Path) -> None:
    planned = plan_file(playable, tmp_path / "o.mp4", Config())
    assert (planned.decision, planned.command) == ("none", ())
    with pytest.raises(ValueError, match="nothing to transcode"):
        transcode_file(planned)
    assert not (tmp_path / "o.mp4").exists()


def test_an_image_has_nothing_to_transcode(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedMedia):
        plan_file(images.jpeg(tmp_path / "p.jpg"), tmp_path / "o.mp4", Config())


def test_transcode_file_never_writes_over_its_source(mpeg4: Path, tmp_path: Path) -> None:
    planned = plan_file(mpeg4, mpeg4, Config())
    assert planned.replaces_source
    with pytest.raises(ValueError, match="replace the input"):
        transcode_file(planned)


def test_transcode_file_writes_the_output_outside_any_media_root(mpeg4: Path,
                                                                  tmp_path: Path) -> None:
    out = tmp_path / "sub" / "o.mp4"
    seen: list[float] = []
    result = transcode_file(plan_file(mpeg4, out, Config()), progress=seen.append)
    assert result.output == str(out) and result.size == out.stat().st_size > 0
    assert (result.decision, result.encoder) == ("video", "libx264")
    assert seen and seen[-1] == 1.0
    assert [p.name for p in out.parent.iterdir()] == ["o.mp4"]  # no temp file left

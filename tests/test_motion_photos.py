"""Motion photos: the video found in every container Google and Samsung write (JPEG trailer,
Samsung's indexed trailer, a HEIF ``mpvd`` box, XMP ``Container:Directory`` with padding, the
older MicroVideo), copied out byte for byte as the file carries it — as exiftool extracts it,
which is how Immich does — and a photo that says it has a video and does not is told, with no
temp file's name in the words."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from fixtures import live
from mediapipe.config import Config
from mediapipe.identity import motion_part_id
from mediapipe.library import storage
from mediapipe.metadata.motion import locate
from mediapipe.metadata.read import read_metadata
from mediapipe.pipeline import Status, process_asset
from mediapipe.pipeline.state import StepFacts

ASSET = "6c1b7a52-2a0e-4a7e-9a53-5d0f0d7f3b11"
SIZE = (160, 120)
# Bytes after the MP4 that read as an MP4 box (48 bytes of "free"): never part of the video.
BOX_LIKE = (48).to_bytes(4, "big") + b"free" + b"\0" * 40
# The binary tag exiftool (and so Immich) extracts each Samsung container's video from.
EXIFTOOL_TAG = {"samsung": "EmbeddedVideoFile", "google-padded": "EmbeddedVideoFile",
                "samsung-heif": "MotionPhotoVideo"}
CONTAINER = {"google": "google-xmp", "microvideo": "google-xmp",
             "google-padded": "samsung-trailer", "samsung": "samsung-trailer",
             "samsung-bare": "samsung-marker", "samsung-heif": "heif-mpvd"}


def _photo(tmp_path: Path, flavour: str, **kw: object) -> Path:
    ext = ".heic" if flavour == "samsung-heif" else ".jpg"
    (tmp_path / "src").mkdir(exist_ok=True)
    return live.motion_photo(tmp_path / "src" / f"{flavour}{ext}", flavour, size=SIZE,
                             **kw)  # type: ignore[arg-type]


def _motion(photo: Path, root: Path) -> tuple[Status, StepFacts, Path]:
    result = process_asset(photo, ASSET, root, Config(), todo=["motion"])
    outcome = result.stages["motion"]
    part = storage.derived_path(root, Config().owner_id, motion_part_id(ASSET),
                                storage.Derived.MOTION_PART, "mp4")
    return outcome.status, outcome.facts, part


@pytest.mark.parametrize("flavour", live.MOTION_FLAVOURS)
def test_every_container_gives_the_video_byte_for_byte(flavour: str, tmp_path: Path,
                                                       media_root: Path) -> None:
    photo = _photo(tmp_path, flavour)
    info = read_metadata(photo)
    found = locate(photo, info)
    assert found.part is not None and found.part.container == CONTAINER[flavour]
    status, facts, part = _motion(photo, media_root)
    assert status is Status.DONE and facts.linked_video == motion_part_id(ASSET)
    assert part.read_bytes() == live.embedded_video(photo)


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool not installed")
@pytest.mark.parametrize("flavour", sorted(EXIFTOOL_TAG))
def test_the_video_is_what_exiftool_extracts_as_immich_does(flavour: str, tmp_path: Path,
                                                            media_root: Path) -> None:
    photo = _photo(tmp_path, flavour)
    theirs = subprocess.run(["exiftool", "-b", f"-{EXIFTOOL_TAG[flavour]}", str(photo)],
                            capture_output=True, check=True).stdout
    _, _, part = _motion(photo, media_root)
    assert theirs and part.read_bytes() == theirs


def test_a_heif_with_an_mpvd_box_is_a_motion_photo(tmp_path: Path) -> None:
    info = read_metadata(_photo(tmp_path, "samsung-heif"))
    assert info.mime_type == "image/heic" and info.motion_photo is True


def test_a_samsung_index_that_looks_like_an_mp4_box_is_not_copied(tmp_path: Path,
                                                                   media_root: Path) -> None:
    photo = _photo(tmp_path, "samsung", between=BOX_LIKE)
    status, _, part = _motion(photo, media_root)
    assert status is Status.DONE
    assert part.read_bytes() == live.embedded_video(photo, BOX_LIKE)
    assert BOX_LIKE not in part.read_bytes()


def _true_length(tmp_path: Path) -> int:
    """How long the fixture's MP4 is (the same clip every time)."""
    return len(live.embedded_video(live.motion_photo(tmp_path / "probe.jpg", "google",
                                                     size=SIZE)))


@pytest.mark.parametrize(("declared", "said"), [
    (lambda n: n + 1, "no MP4 starts where its XMP says"),
    (lambda n: n - 1, "no MP4 starts where its XMP says"),
    (lambda n: n * 1000, "runs past the start"),
    (lambda n: 0, "is no video length"),
    (lambda n: -n, "is no video length"),
    (lambda n: "12ab", "is no video length"),
], ids=["one-too-long", "one-too-short", "past-the-end", "zero", "negative", "garbage"])
def test_a_google_length_that_is_wrong_is_a_warning_not_silence(
        declared: object, said: str, tmp_path: Path, media_root: Path) -> None:
    length = declared(_true_length(tmp_path))  # type: ignore[operator]
    photo = _photo(tmp_path, "google", length=length)
    status, facts, part = _motion(photo, media_root)
    assert status is Status.SKIPPED and not part.exists()
    [warning] = facts.warnings
    assert said in warning and "motion photo" in warning


def test_a_damaged_video_is_a_warning_that_names_no_temp_file(tmp_path: Path,
                                                              media_root: Path) -> None:
    photo = _photo(tmp_path, "google", damaged=True)
    status, facts, part = _motion(photo, media_root)
    [warning] = facts.warnings
    assert status is Status.SKIPPED and not part.exists()
    assert warning.startswith("motion photo video is damaged, not kept")
    assert "tmp" not in warning and part.name not in warning and str(media_root) not in warning
    assert not [p for p in media_root.rglob("*") if p.is_file() and ".immich" not in p.name]


def test_a_samsung_camera_photo_without_a_video_is_skipped_quietly(tmp_path: Path,
                                                                   media_root: Path) -> None:
    from fixtures import images

    photo = images.jpeg(tmp_path / "still.jpg", SIZE, make="samsung", model="SM-G991B")
    status, facts, _ = _motion(photo, media_root)
    assert status is Status.SKIPPED and facts.warnings == ()


def test_without_an_index_the_video_ends_with_its_last_mp4_box(tmp_path: Path,
                                                               media_root: Path) -> None:
    photo = _photo(tmp_path, "samsung-bare")
    video = live.embedded_video(photo)
    with open(photo, "ab") as fh:  # a trailer whose index is damaged: no SEFT at the end
        fh.write(b"SEFH" + bytes(20) + b"\0\0\0\x30abcd" + bytes(40))
    status, _, part = _motion(photo, media_root)
    assert status is Status.DONE and part.read_bytes() == video

"""What a user sees of a library: live photos paired, motion photos extracted, the catalog as the
record (``mediapipe ls``), failures that stay visible until retried."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from fixtures import images, live
from mediapipe.identity import asset_id_for_path, motion_part_id
from mediapipe.library import storage
from tests.support.cli import mediapipe as run_cli


def mediapipe(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    ran = run_cli(*args, env=env)
    assert "Traceback" not in ran.stderr, ran.stderr
    return ran.returncode, ran.stdout, ran.stderr


def ingest(library: Path, root: Path, *args: str, env: dict[str, str] | None = None,
           ) -> tuple[int, dict]:
    code, out, _ = mediapipe("ingest", str(library), "--media-root", str(root), "--json",
                             "--workers", "1", *args, env=env)
    return code, json.loads(out)


def ls(root: Path, *args: str) -> dict[str, dict]:
    code, out, err = mediapipe("ls", "--media-root", str(root), "--json", *args)
    assert code == 0, err
    return {Path(item["path"]).name: item for item in json.loads(out)}


# --- live photos -------------------------------------------------------------------------------

@pytest.mark.parametrize("names", [("IMG_0001.JPG", "IMG_0001.MOV"), ("b.jpg", "a.mov")],
                         ids=["still-scanned-first", "video-scanned-first"])
def test_a_live_photo_pair_is_linked_and_its_video_hidden(
        names: tuple[str, str], tmp_path: Path, media_root: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    still = live.live_still(lib / names[0], "8E0E1A39-6C7B-4B43-9B3C-5D0C9E2A0F11")
    video = live.live_video(lib / names[1], "8E0E1A39-6C7B-4B43-9B3C-5D0C9E2A0F11")
    live.live_still(lib / "other.jpg", "00000000-0000-4000-8000-000000000000")
    assert ingest(lib, media_root)[0] == 0
    items = ls(media_root)
    assert items[still.name]["linked_video"] == asset_id_for_path(video)
    assert (items[video.name]["hidden"], items[still.name]["hidden"]) == (True, False)
    assert items["other.jpg"]["linked_video"] is None  # its video never came
    assert all(item["thumbhash"] for item in items.values())  # both got their derived files


def test_a_pair_split_across_two_runs_is_linked_by_the_second(tmp_path: Path,
                                                               media_root: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    still = live.live_still(lib / "IMG_0002.JPG", "1D2C3B4A-0000-4000-8000-00000000AAAA")
    ingest(lib, media_root)
    assert ls(media_root)[still.name]["linked_video"] is None
    video = live.live_video(lib / "IMG_0002.MOV", "1D2C3B4A-0000-4000-8000-00000000AAAA")
    ingest(lib, media_root)
    items = ls(media_root)
    assert items[still.name]["linked_video"] == asset_id_for_path(video)
    assert items[video.name]["hidden"] is True


@pytest.mark.samples
def test_an_iphone_heics_media_group_uuid_pairs_it_with_its_mov(
        tmp_path: Path, media_root: Path, samples: Path) -> None:
    heic = samples / "images" / "heic" / "IMG_5195.HEIC"
    if not heic.is_file():
        pytest.skip(f"{heic} absent")
    lib = tmp_path / "lib"
    lib.mkdir()
    shutil.copy(heic, lib / heic.name)
    uuid = "570F1469-09C7-4E50-9875-05F21D5BD166"  # its MediaGroupUUID (exiftool -a -G1)
    video = live.live_video(lib / "IMG_5195.MOV", uuid)
    ingest(lib, media_root)
    items = ls(media_root)
    assert items[heic.name]["linked_video"] == asset_id_for_path(video)
    assert items[video.name]["hidden"] is True


# --- motion photos -----------------------------------------------------------------------------

def _probe(path: Path) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


@pytest.mark.parametrize("flavour", ["google", "microvideo", "samsung"])
def test_a_motion_photos_video_is_extracted_valid_and_linked(
        flavour: str, tmp_path: Path, media_root: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    photo = live.motion_photo(lib / "PXL_0001.MP.jpg", flavour)
    # transcode "all": the extracted part is transcoded like any video
    code, summary = ingest(lib, media_root, env={"MEDIAPIPE_FFMPEG_TRANSCODE": "all"})
    assert (code, summary["failed"]) == (0, 0)
    part_id = motion_part_id(asset_id_for_path(photo))
    part = storage.derived_path(media_root, "admin", part_id, storage.Derived.MOTION_PART, "mp4")
    assert part.name == f"{part_id}-MP.mp4"
    assert [s["codec_type"] for s in _probe(part)["streams"]] == ["video"]
    encoded = storage.derived_path(media_root, "admin", part_id, storage.Derived.ENCODED_VIDEO,
                                   "mp4")
    assert _probe(encoded)["streams"][0]["codec_name"] == "h264"
    item = ls(media_root)[photo.name]
    assert item["linked_video"] == part_id and item["thumbhash"]
    assert part.read_bytes() == live.embedded_video(photo)  # a byte range, copied as it is


def test_a_damaged_trailer_is_a_warning_on_the_photo_not_a_failure(tmp_path: Path,
                                                                   media_root: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    photo = live.motion_photo(lib / "MVIMG_0001.jpg", "google", damaged=True)
    code, summary = ingest(lib, media_root)
    assert (code, summary["failed"]) == (0, 0)
    item = ls(media_root)[photo.name]
    assert item["thumbhash"] and item["linked_video"] is None and not item["failed"]
    assert any("motion photo video is damaged" in w for w in item["warnings"])
    assert not list((media_root / "encoded-video").rglob("*.mp4"))


def test_an_ordinary_photo_has_no_motion_step_work(tmp_path: Path, media_root: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    images.jpeg(lib / "a.jpg", (320, 240))
    ingest(lib, media_root)
    assert ls(media_root)["a.jpg"]["states"]["motion"] == "skipped"


# --- the catalog as the record -----------------------------------------------------------------

def test_failures_stay_visible_until_retried(tmp_path: Path, media_root: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    images.jpeg(lib / "big.jpg", (800, 600))
    images.jpeg(lib / "ok.jpg", (320, 240))
    (lib / "empty.jpg").write_bytes(b"")
    small = {"MEDIAPIPE_IMAGE_MAX_PIXELS": "100000"}
    code, first = ingest(lib, media_root, env=small)
    assert (code, first["failed"]) == (1, 2)
    code, second = ingest(lib, media_root, env=small)
    assert (code, second["failed"], second["still_failed"]) == (0, 0, 2)  # nothing new failed
    failed = ls(media_root, "--failed")
    assert sorted(failed) == ["big.jpg", "empty.jpg"]
    assert failed["big.jpg"]["error"].startswith("TooLarge") and failed["big.jpg"]["error_at"]
    code, retried = ingest(lib, media_root, "--retry-failed")  # default maxPixels: big is fine
    assert (retried["processed"], retried["failed"], retried["still_failed"]) == (2, 1, 0)
    assert code == 6 and sorted(ls(media_root, "--failed")) == ["empty.jpg"]  # CorruptMedia
    assert ls(media_root, "--kind", "video") == {}


def test_missing_dry_run_counts_exactly_what_it_would_rebuild(tmp_path: Path,
                                                              media_root: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    for i in range(4):
        images.jpeg(lib / f"{i}.jpg", (320, 240))
    ingest(lib, media_root)
    for i in range(3):  # three derived files of two assets
        asset = asset_id_for_path(lib / f"{i % 2}.jpg")
        kind = storage.Derived.PREVIEW if i < 2 else storage.Derived.THUMBNAIL
        storage.derived_path(media_root, "admin", asset, kind,
                             "jpeg" if i < 2 else "webp").unlink(missing_ok=True)
    _, dry = ingest(lib, media_root, "--missing", "--dry-run")
    assert (dry["missing"], dry["processed"]) == (2, 0)
    _, real = ingest(lib, media_root, "--missing")
    assert (real["missing"], real["processed"]) == (2, 2)
    _, again = ingest(lib, media_root, "--missing", "--dry-run")
    assert again["missing"] == 0


def test_a_damaged_jpeg_gets_thumbnails_and_a_warning_not_a_failure(tmp_path: Path,
                                                                    media_root: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    whole = images.noise_jpeg(tmp_path / "whole.jpg", (1200, 900))
    (lib / "cut.jpg").write_bytes(whole.read_bytes()[: whole.stat().st_size * 2 // 3])
    code, summary = ingest(lib, media_root)
    assert (code, summary["failed"]) == (0, 0)
    item = ls(media_root)["cut.jpg"]
    assert item["thumbhash"] and not item["failed"]
    assert any("damaged image" in w for w in item["warnings"])
    code, out, _ = mediapipe("ls", "--media-root", str(media_root))  # and in the text listing
    [line] = [line for line in out.splitlines() if "cut.jpg" in line]
    assert code == 0 and "warning: damaged image" in line

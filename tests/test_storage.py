"""The media root: markers guard every write, writes are atomic, crashes leave no half file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mediapipe.errors import PathEscape, StorageOffline
from mediapipe.library import stamps, storage, temps

ASSET = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"


def test_init_creates_every_folder_with_its_marker(tmp_path: Path) -> None:
    statuses = storage.init_root(tmp_path / "m")
    assert [s.folder for s in statuses] == ["library", "thumbs", "encoded-video", "profile"]
    assert all(s.ok for s in statuses)
    for name in storage.FOLDERS:
        assert (tmp_path / "m" / name / ".immich").is_file()


def test_init_is_idempotent(media_root: Path) -> None:
    marker = media_root / "thumbs" / ".immich"
    before = marker.read_bytes()
    storage.init_root(media_root)
    assert marker.read_bytes() == before


def test_verify_rewrites_markers_and_names_a_missing_one(media_root: Path) -> None:
    assert all(s.ok for s in storage.verify_root(media_root))
    (media_root / "thumbs" / ".immich").unlink()
    bad = [s for s in storage.verify_root(media_root) if not s.ok]
    assert [s.folder for s in bad] == ["thumbs"]
    assert "missing" in bad[0].problem
    assert not (media_root / "thumbs" / ".immich").exists(), "verify must never create a marker"


def test_derived_paths_follow_immichs_layout(tmp_path: Path) -> None:
    p = storage.derived_path(tmp_path, "u1", ASSET, storage.Derived.PREVIEW, "jpeg")
    assert p == tmp_path / "thumbs/u1/0f/1e" / f"{ASSET}-preview.jpeg"
    t = storage.derived_path(tmp_path, "u1", ASSET, storage.Derived.THUMBNAIL, "webp")
    assert t.name == f"{ASSET}-thumbnail.webp"
    v = storage.derived_path(tmp_path, "u1", ASSET, storage.Derived.ENCODED_VIDEO, "mp4")
    assert v == tmp_path / "encoded-video/u1/0f/1e" / f"{ASSET}.mp4"


def test_atomic_write_writes_the_bytes(media_root: Path) -> None:
    target = storage.derived_path(media_root, "u1", ASSET, storage.Derived.THUMBNAIL, "webp")
    storage.atomic_write(target, b"hello")
    assert target.read_bytes() == b"hello"
    assert [p.name for p in target.parent.iterdir()] == [target.name], "no temp file left"


def test_write_refused_when_marker_missing_and_folder_unchanged(media_root: Path) -> None:
    (media_root / "thumbs" / ".immich").unlink()
    before = sorted(p.name for p in (media_root / "thumbs").rglob("*"))
    target = storage.derived_path(media_root, "u1", ASSET, storage.Derived.PREVIEW, "jpeg")
    with pytest.raises(StorageOffline, match="thumbs"):
        storage.atomic_write(target, b"x")
    assert sorted(p.name for p in (media_root / "thumbs").rglob("*")) == before == []


def test_unmounted_disk_mount_point_gets_nothing(tmp_path: Path) -> None:
    """The media root's encoded-video/ is an empty mount point: no folder is created in it."""
    storage.init_root(tmp_path / "m")
    mount = tmp_path / "m" / "encoded-video"
    (mount / ".immich").unlink()
    target = storage.derived_path(tmp_path / "m", "u", ASSET, storage.Derived.ENCODED_VIDEO, "mp4")
    with pytest.raises(StorageOffline), storage.atomic_output(target) as tmp:
        tmp.write_bytes(b"never")
    assert list(mount.iterdir()) == []


def test_write_outside_any_media_root_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StorageOffline, match="not inside a media root"):
        storage.atomic_write(tmp_path / "stray.bin", b"x")


def test_atomic_output_removes_temp_on_failure_and_keeps_old_target(media_root: Path) -> None:
    target = media_root / "encoded-video" / "a.mp4"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), storage.atomic_output(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("encoder died")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in target.parent.iterdir()) == [".immich", "a.mp4"]


def test_atomic_output_refuses_an_empty_result(media_root: Path) -> None:
    """ffmpeg leaves a 0-byte file when its encoder fails to open: that is not an output."""
    target = media_root / "encoded-video" / "b.mp4"
    with pytest.raises(OSError, match="nothing was written"), storage.atomic_output(target) as tmp:
        tmp.write_bytes(b"")
    assert not target.exists()


_KILLED_WRITER = """
import sys, time
from pathlib import Path
from mediapipe.library import storage
target = Path(sys.argv[1])
with storage.atomic_output(target) as tmp:
    with open(tmp, "wb") as fh:
        fh.write(b"x" * 1_000_000)
        fh.flush()
        print("writing", flush=True)
        time.sleep(60)
"""


def test_sigkill_mid_write_leaves_no_partial_target_and_the_temp_is_swept(
        media_root: Path) -> None:
    target = storage.derived_path(media_root, "u1", ASSET, storage.Derived.PREVIEW, "jpeg")
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(target)],
                            stdout=subprocess.PIPE)
    assert proc.stdout and proc.stdout.readline() == b"writing\n"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not target.exists()
    leftovers = list(target.parent.glob(".*.mptmp"))
    assert len(leftovers) == 1, "the killed writer's temp file is there, hidden"
    # The next write of the same target sweeps it: its writer is dead.
    storage.atomic_write(target, b"complete")
    assert target.read_bytes() == b"complete"
    assert list(target.parent.glob(".*.mptmp")) == []


def test_sweep_keeps_a_live_writers_temp_and_removes_old_ones(media_root: Path) -> None:
    folder = media_root / "thumbs"
    live = temps.temp_path_for(folder / "x.jpeg")
    live.write_bytes(b"in progress")
    foreign_old = folder / ".y.jpeg.otherhost.123.abcd.mptmp"
    foreign_old.write_bytes(b"old")
    past = time.time() - 2 * temps.STALE_AFTER_S
    os.utime(foreign_old, (past, past))
    assert temps.sweep_temp(folder) == 1
    assert live.exists() and not foreign_old.exists()


def test_a_zombie_writers_temp_is_swept(media_root: Path) -> None:
    folder = media_root / "thumbs"
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while Path(f"/proc/{child.pid}/stat").read_text().split(") ")[1][0] != "Z":
        assert time.monotonic() < deadline
        time.sleep(0.01)  # exited, not reaped: os.kill(pid, 0) still says it exists
    temp = folder / f".x.jpeg.{temps._HOST}.{child.pid}.abcd.mptmp"
    temp.write_bytes(b"half")
    assert temps.sweep_temp(folder) == 1 and not temp.exists()
    child.wait()


def test_the_folder_of_fresh_outputs_is_swept_too(media_root: Path) -> None:
    target = storage.atomic_write(media_root / "thumbs" / "a" / "x.jpeg", b"done")
    leftover = target.with_name(f".y.jpeg.{temps._HOST}.999999999.abcd.mptmp")
    leftover.write_bytes(b"half")
    temps._SWEPT.clear()
    assert temps.sweep_folders([target]) == 1 and not leftover.exists()


def test_a_symlinked_folder_under_thumbs_is_refused(media_root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / storage.MARKER).write_text("1")  # even with a marker of its own
    (media_root / "thumbs" / "admin").symlink_to(outside)
    with pytest.raises(PathEscape):
        storage.atomic_write(media_root / "thumbs" / "admin" / "ab" / "x.jpeg", b"data")
    assert list(outside.iterdir()) == [outside / storage.MARKER]


def test_outputs_stamped_with_their_source_are_known_made_from_it(media_root: Path,
                                                                  tmp_path: Path) -> None:
    source = tmp_path / "a.jpg"
    source.write_bytes(b"a")
    out = storage.atomic_write(media_root / "thumbs" / "x.jpeg", b"made")
    stamp = stamps.source_stamp(source.stat())
    assert not stamps.made_from(out, stamp)
    stamps.stamp_outputs([out], stamp)
    assert stamps.made_from(out, stamp)
    source.write_bytes(b"b")
    assert not stamps.made_from(out, stamps.source_stamp(source.stat()))

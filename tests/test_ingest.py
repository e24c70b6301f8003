"""``mediapipe ingest``: an external library indexed in place, incrementally, safely.

Every test runs the real command in a subprocess on a generated library: real images and videos
next to files that only pretend to be media, awkward names, excluded and hidden files.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from fixtures import images, videos
from fixtures.library import build_library
from mediapipe.errors import MediaRootBusy
from mediapipe.identity import asset_id_for_path
from mediapipe.index import lock
from mediapipe.library import storage
from tests.support.cli import mediapipe
from tests.support.services import CeleryWorker, RedisServer

REAL = {  # relative path in the generated library -> how to make it real media
    "2020/01/IMG_0001.jpg": lambda p: images.jpeg(p, (640, 480), orientation=6),
    "top.png": lambda p: images.png(p, (320, 240), "RGBA"),
    "odd/-rf.jpg": lambda p: images.jpeg(p, (320, 240)),
    "odd/new\nline.jpg": lambda p: images.jpeg(p, (320, 240)),
    "2020/01/clip.MP4": lambda p: videos.video(p.with_suffix(".tmp.mkv"), duration=1.0,
                                               pix_fmt="yuv444p").rename(p),
}


def ingest(library: Path, root: Path, *args: str,
           check_json: bool = True) -> tuple[int, dict]:
    proc = mediapipe("ingest", str(library), "--media-root", str(root), "--json", "--workers",
                     "1", *args)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout) if check_json else {}


@pytest.fixture
def library(tmp_path: Path) -> tuple[Path, list[str]]:
    lib = build_library(tmp_path / "src")
    for rel, make in REAL.items():
        make(lib.root / rel)
    return lib.root, list(lib.sources)


def _hashes(root: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in root.rglob("*") if p.is_file() and not p.is_symlink()}


def _catalog(root: Path) -> dict[bytes, tuple]:
    with sqlite3.connect(root / "catalog.db") as db:
        return {row[0]: row[1:] for row in db.execute(
            "SELECT path, asset_id, online, metadata_state, thumbnails_state, video_state, "
            "error_type FROM sources")}


def test_first_ingest_processes_every_source_and_fails_the_fakes_clearly(
        library: tuple[Path, list[str]], media_root: Path) -> None:
    lib, sources = library
    before = _hashes(lib)
    code, summary = ingest(lib, media_root)
    fakes = len(sources) - len(REAL) - 1  # links/alias.jpg points at the real top.png
    assert (summary["new"], summary["processed"]) == (len(sources), len(sources))
    assert summary["failed"] == fakes and code == 1
    assert {f["error"].split(":")[0] for f in summary["failures"]} <= {
        "CorruptMedia", "UnsupportedMedia"}
    assert _hashes(lib) == before, "originals are never written"
    for rel in REAL:
        asset = asset_id_for_path(lib / rel)
        assert storage.derived_path(media_root, "admin", asset, storage.Derived.THUMBNAIL,
                                    "webp").is_file(), rel
    clip = asset_id_for_path(lib / "2020/01/clip.MP4")
    assert storage.derived_path(media_root, "admin", clip, storage.Derived.ENCODED_VIDEO,
                                "mp4").is_file()
    assert not list(media_root.rglob("*.mptmp"))


def test_an_unchanged_rescan_does_nothing(library: tuple[Path, list[str]],
                                          media_root: Path) -> None:
    lib, sources = library
    _, first = ingest(lib, media_root)
    code, summary = ingest(lib, media_root)
    assert (summary["new"], summary["changed"], summary["unchanged"]) == (0, 0, len(sources))
    assert summary["processed"] == 0
    # The fakes that failed the first time are still failed: said in the summary, but this run
    # failed nothing new, so it succeeds (a nightly timer is not "failed" for good).
    assert first["failed"] > 0
    assert (summary["failed"], summary["still_failed"], code) == (0, first["failed"], 0)


def test_rescan_acts_on_exactly_the_modified_deleted_and_restored_files(
        library: tuple[Path, list[str]], media_root: Path, tmp_path: Path) -> None:
    lib, _ = library
    ingest(lib, media_root)
    photo, png = lib / "2020/01/IMG_0001.jpg", lib / "top.png"
    images.jpeg(photo, (800, 600))  # edited in place
    later = time.time() + 10
    os.utime(photo, (later, later))
    png.rename(tmp_path / "away.png")  # the share dropped a file; links/alias.jpg now dangles
    _, summary = ingest(lib, media_root)
    assert (summary["changed"], summary["offline"], summary["new"]) == (1, 2, 0)
    assert summary["processed"] == 1
    asset = asset_id_for_path(png)
    thumb = storage.derived_path(media_root, "admin", asset, storage.Derived.THUMBNAIL, "webp")
    assert thumb.is_file(), "an offline source keeps its thumbnails"
    assert _catalog(media_root)[os.fsencode(png)][1] == 0
    (tmp_path / "away.png").rename(png)
    _, summary = ingest(lib, media_root)
    # Moved away and back is a change of its ctime (as a restore, cp -p or rsync would be):
    # processed again, once; a share mounted again keeps its ctimes and is not.
    assert summary["back_online"] == 2 and summary["processed"] == 2
    assert _catalog(media_root)[os.fsencode(png)][1] == 1
    assert ingest(lib, media_root)[1]["processed"] == 0


def test_missing_regenerates_derived_files_that_are_gone(
        library: tuple[Path, list[str]], media_root: Path) -> None:
    lib, _ = library
    ingest(lib, media_root)
    asset = asset_id_for_path(lib / "top.png")
    preview = storage.derived_path(media_root, "admin", asset, storage.Derived.PREVIEW, "jpeg")
    preview.unlink()
    assert ingest(lib, media_root)[1]["processed"] == 0
    assert not preview.exists()
    _, summary = ingest(lib, media_root, "--missing")
    assert summary["processed"] == 1 and preview.is_file()


def test_force_makes_every_output_again_though_each_is_fresh(tmp_path: Path,
                                                             media_root: Path) -> None:
    """``--force`` requeues every step and has each asset's outputs made again, where a plain
    run finds them fresh and leaves them: one flag, carried to the runner by each asset."""
    lib = tmp_path / "lib"
    lib.mkdir()
    images.jpeg(lib / "a.jpg", (320, 240))
    ingest(lib, media_root)
    preview = storage.derived_path(media_root, "admin", asset_id_for_path(lib / "a.jpg"),
                                   storage.Derived.PREVIEW, "jpeg")
    made = preview.stat().st_ino
    assert ingest(lib, media_root)[1]["processed"] == 0
    code, summary = ingest(lib, media_root, "--force")
    assert (code, summary["processed"], summary["failed"]) == (0, 1, 0)
    assert preview.stat().st_ino != made, "written again (a new file renamed into place)"


def test_a_missing_marker_stops_the_run_before_any_write(
        library: tuple[Path, list[str]], media_root: Path) -> None:
    lib, _ = library
    (media_root / "thumbs" / ".immich").unlink()
    proc = mediapipe("ingest", str(lib), "--media-root", str(media_root))
    assert proc.returncode == 4 and "thumbs" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (media_root / "catalog.db").exists()
    assert list((media_root / "thumbs").iterdir()) == []


def test_dry_run_counts_and_writes_nothing(library: tuple[Path, list[str]],
                                           media_root: Path) -> None:
    lib, sources = library
    _, summary = ingest(lib, media_root, "--dry-run")
    assert summary["new"] == len(sources) and summary["processed"] == 0
    assert not list((media_root / "thumbs").rglob("*.webp"))


def _committed_done(root: Path) -> int:
    try:
        with sqlite3.connect(f"file:{root / 'catalog.db'}?mode=ro", uri=True) as db:
            return db.execute("SELECT count(*) FROM sources "
                              "WHERE thumbnails_state = 'done'").fetchone()[0]
    except sqlite3.Error:
        return 0


PHOTOS = 60  # killed once a quarter is committed (the catalog commits about every second:
# the run lasts a few seconds, so its first commits come while it works)


def _until_let_go(root: Path, timeout: float = 30) -> None:
    """Wait until no process holds the media root (the lock of a process goes with it)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with lock.hold(root):
                return
        except MediaRootBusy:
            assert time.monotonic() < deadline, f"{root} still held: {lock.holder(root)}"
            time.sleep(0.05)


def test_killed_ingest_resumes_without_redoing_completed_work(tmp_path: Path,
                                                              media_root: Path) -> None:
    lib = tmp_path / "photos"
    lib.mkdir()
    for i in range(PHOTOS):
        images.noise_jpeg(lib / f"IMG_{i:03d}.jpg", (1600, 1200), seed=i)
    proc = subprocess.Popen([sys.executable, "-m", "mediapipe", "ingest", str(lib),  # to kill
                             "--media-root", str(media_root), "--workers", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while _committed_done(media_root) < PHOTOS // 4 and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    _until_let_go(media_root)  # its pool process dies with it, a moment later
    committed = _committed_done(media_root)
    assert PHOTOS // 4 <= committed < PHOTOS, "killed part-way, with some results committed"
    code, summary = ingest(lib, media_root)
    assert code == 0 and summary["new"] == 0
    assert summary["processed"] <= PHOTOS - committed, "committed work is not redone"
    assert len(list((media_root / "thumbs").rglob("*.webp"))) == PHOTOS
    assert not list(media_root.rglob("*.mptmp"))


def test_with_and_without_a_broker_the_catalog_is_the_same(
        library: tuple[Path, list[str]], tmp_path: Path, redis_server: RedisServer,
        celery_worker: Callable[..., CeleryWorker]) -> None:
    lib, _ = library
    local, remote = tmp_path / "local", tmp_path / "remote"
    storage.init_root(local)
    storage.init_root(remote)
    ingest(lib, local)
    celery_worker("metadata,thumbnails,video", name="ingest")
    code, summary = ingest(lib, remote, "--broker", redis_server.url)
    assert summary["failed"] > 0 and code == 1
    assert _catalog(remote) == _catalog(local)

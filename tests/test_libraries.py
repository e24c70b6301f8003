"""Libraries and their media root: a library that holds the media root (or is held by it) is
refused, the scan never enters a media root's own folders, and several libraries of one media
root each have their own lock, ingest and watch at once, and are named by ``ls``."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from fixtures import images
from mediapipe.config import Config, LibraryConfig, LibraryScanConfig
from mediapipe.errors import ConfigError, MediaRootBusy
from mediapipe.index import lock
from mediapipe.index.catalog import Catalog
from mediapipe.index.ingest import IngestSummary, check_apart
from mediapipe.index.listing import listing
from mediapipe.index.scan import LibraryScan
from mediapipe.index.watch import follow
from mediapipe.library import storage
from mediapipe.pipeline.local import LocalRunner
from tests.support.cli import Ran
from tests.support.cli import mediapipe as run_cli
from tests.test_watch import wait_for


def mediapipe(*args: str) -> Ran:
    done = run_cli(*args)
    assert "Traceback" not in done.stderr, done.stderr
    return done


def photos(folder: Path, n: int, seed: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [images.noise_jpeg(folder / f"p{i}.jpg", (320, 240), seed=seed + i) for i in range(n)]


# --- a library and its media root never nest ---------------------------------------------------

NESTING = {  # id -> (library, media root), relative to a scratch folder
    "library-is-the-media-root": ("media", "media"),
    "library-inside-the-media-root": ("media/library/admin", "media"),
    "media-root-inside-the-library": ("photos", "photos/immich"),
    "through-a-link-to-the-media-root": ("link-to-media", "media"),
}


@pytest.mark.parametrize(("library", "root"), NESTING.values(), ids=NESTING.keys())
def test_a_library_and_media_root_that_nest_are_a_config_error_naming_both(
        tmp_path: Path, library: str, root: str) -> None:
    storage.init_root(tmp_path / root)
    (tmp_path / "link-to-media").symlink_to(tmp_path / "media", target_is_directory=True)
    lib = tmp_path / library
    lib.mkdir(parents=True, exist_ok=True)
    images.noise_jpeg(lib / "a.jpg", (320, 240))
    with pytest.raises(ConfigError) as caught:
        check_apart(lib, tmp_path / root)
    assert str((tmp_path / root).resolve()) in str(caught.value)
    assert str(lib.resolve()) in str(caught.value)
    done = mediapipe("ingest", str(lib), "--media-root", str(tmp_path / root), "--workers", "1")
    assert done.returncode == 3 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert str(lib.resolve()) in done.stderr and str((tmp_path / root).resolve()) in done.stderr
    with Catalog.open(tmp_path / root) as cat:
        assert list(listing(cat)) == [], "nothing processed"
    assert not list((tmp_path / root / "thumbs").rglob("*.jpeg"))


@pytest.mark.parametrize(("library", "root"), [("photos", "media"), ("media-photos", "media"),
                                               ("a/photos", "a/media")],
                         ids=["siblings", "same-prefix-name", "siblings-deeper"])
def test_a_library_beside_its_media_root_is_accepted(tmp_path: Path, library: str,
                                                     root: str) -> None:
    (tmp_path / library).mkdir(parents=True)
    (tmp_path / root).mkdir(parents=True)
    check_apart(tmp_path / library, tmp_path / root)


def test_the_scan_never_enters_a_media_roots_own_folders(tmp_path: Path) -> None:
    """Another media root's outputs inside a library (a copy of an Immich upload folder, say)
    are outputs, not sources: a folder holding an ``.immich`` marker is left out."""
    lib = tmp_path / "lib"
    mine = photos(lib / "2024", 2, seed=1)
    storage.init_root(lib / "old-immich")
    images.noise_jpeg(lib / "old-immich" / "thumbs" / "x-preview.jpg", (320, 240))
    images.noise_jpeg(lib / "old-immich" / "library" / "y.jpg", (320, 240))
    found = sorted(f.path for f in LibraryScan(lib))
    assert found == sorted(str(p) for p in mine)


# --- several libraries on one media root -------------------------------------------------------

def test_each_library_has_its_own_lock_and_the_media_root_one_exclusive_lock(
        tmp_path: Path, media_root: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    with lock.hold_library(media_root, a, "mediapipe ingest a --watch"), \
            lock.hold_library(media_root, b), lock.shared(media_root), lock.shared(media_root):
        with pytest.raises(MediaRootBusy, match="mediapipe ingest a --watch"), \
                lock.hold_library(media_root, a):
            pass
        with pytest.raises(MediaRootBusy, match=f"pid {os.getpid()}"), \
                lock.hold(media_root):  # import, migrate, catalog rebuild
            pass
    with lock.hold(media_root, "mediapipe import x"):
        with lock.hold_library(media_root, a):  # a watch may start; its passes wait
            pass
        with pytest.raises(MediaRootBusy, match="mediapipe import x"), lock.shared(media_root):
            pass


def test_a_pass_waits_for_an_exclusive_run_and_gives_up_when_stopped(media_root: Path) -> None:
    stop = threading.Event()
    got: list[bool] = []

    def pass_() -> None:
        try:
            with lock.shared(media_root, wait=stop, poll_s=0.05):
                got.append(True)
        except MediaRootBusy:
            got.append(False)

    with lock.hold(media_root, "mediapipe migrate"):
        waiting = threading.Thread(target=pass_)
        waiting.start()
        waiting.join(0.3)
        assert waiting.is_alive() and not got, "it waits while the exclusive run holds it"
    waiting.join(5)
    assert got == [True]
    with lock.hold(media_root):
        stop.set()
        pass_()
    assert got == [True, False]


def test_coordinators_opening_a_new_catalog_at_once_all_get_it(tmp_path: Path) -> None:
    """Switching a new catalog to WAL needs the file alone, and SQLite answers BUSY at once
    there rather than waiting: the others retry instead of failing (it did, 1 time in 8)."""
    for attempt in range(20):
        root = tmp_path / f"media{attempt}"
        storage.init_root(root)
        failed: list[BaseException] = []

        def open_it(root: Path = root, failed: list[BaseException] = failed) -> None:
            try:
                with Catalog.open(root):
                    pass
            except Exception as exc:  # collected for the assertion below
                failed.append(exc)

        threads = [threading.Thread(target=open_it) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failed == [], attempt


def test_two_libraries_of_one_media_root_are_watched_at_once(tmp_path: Path,
                                                             media_root: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    photos(a, 2, seed=10)
    photos(b, 2, seed=20)
    cfg = Config().replace(library=LibraryConfig(scan=LibraryScanConfig(enabled=False)))
    stop = threading.Event()
    summaries: dict[str, list[IngestSummary]] = {"a": [], "b": []}

    def watch(lib: Path) -> None:
        with lock.hold_library(media_root, lib):
            follow(lib, LocalRunner(media_root, cfg, 1), stop=stop,
                   on_summary=summaries[lib.name].append, settle_s=0.3)

    threads = [threading.Thread(target=watch, args=(lib,), daemon=True) for lib in (a, b)]
    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: all(summaries.values()), "both first ingests")
        photos(a / "new", 1, seed=30)
        photos(b / "new", 1, seed=40)
        wait_for(lambda: sum(s.processed for s in summaries["a"]) == 3
                 and sum(s.processed for s in summaries["b"]) == 3, "both new photos")
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
    assert not any(s.failed for runs in summaries.values() for s in runs)
    with Catalog.open(media_root) as cat:
        owners = sorted((item.library, Path(item.path).name) for item in listing(cat))
    assert [lib for lib, _ in owners] == [str(a)] * 3 + [str(b)] * 3


def test_ls_says_which_library_each_asset_belongs_to(tmp_path: Path, media_root: Path) -> None:
    photos(tmp_path / "family", 1, seed=50)
    photos(tmp_path / "phone", 1, seed=60)
    for lib in ("family", "phone"):
        done = mediapipe("ingest", str(tmp_path / lib), "--media-root", str(media_root),
                         "--workers", "1")
        assert done.returncode == 0, done.stderr
    items = json.loads(mediapipe("ls", "--media-root", str(media_root), "--json").stdout)
    assert sorted(i["library"] for i in items) == [str(tmp_path / "family"),
                                                   str(tmp_path / "phone")]
    text = mediapipe("ls", "--media-root", str(media_root)).stdout.splitlines()
    assert sorted(line.split()[2] for line in text) == ["[family]", "[phone]"]

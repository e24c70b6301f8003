"""The catalog: a rescan acts on exactly what changed; nothing is lost; work resumes."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fixtures.library import Library, build_library
from mediapipe.config import Config
from mediapipe.errors import CatalogError, CorruptMedia, StorageOffline
from mediapipe.identity import ASSET_NAMESPACE, asset_id_for_path
from mediapipe.index import listing
from mediapipe.index.catalog import CATALOG_NAME, Catalog, CatalogEntry, ScanDiff, State
from mediapipe.index.opening import SCHEMA_VERSION
from mediapipe.index.scan import LibraryScan
from mediapipe.metadata.model import MediaInfo
from tests.support.unprivileged import run_unprivileged

EXCLUSIONS = Config().library.exclusion_patterns


@pytest.fixture
def library(tmp_path: Path) -> Library:
    return build_library(tmp_path)


@pytest.fixture
def catalog(media_root: Path) -> Iterator[Catalog]:
    with Catalog.open(media_root) as cat:
        yield cat


def rescan(cat: Catalog, lib: Library, **kw: bool) -> ScanDiff:
    return cat.diff(LibraryScan(lib.root, EXCLUSIONS), **kw)


def finish_all(cat: Catalog) -> None:
    """Record every pending stage as done, as a pipeline run would."""
    for entry in cat.pending():
        for stage in entry.todo:
            cat.record_result(entry.asset_id, stage, State.DONE)
    cat.flush()


def by_rel(cat: Catalog, lib: Library, *, online_only: bool = True,
           ) -> dict[str, CatalogEntry]:
    return {os.path.relpath(e.path, lib.root): e for e in cat.entries(online_only=online_only)}


def counts(d: ScanDiff) -> tuple[int, int, int, int, int]:
    return d.new, d.changed, d.unchanged, d.offline, d.back_online


def test_open_refuses_a_media_root_without_markers_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "media").mkdir()
    with pytest.raises(StorageOffline, match="marker"):
        Catalog.open(tmp_path / "media")
    assert not (tmp_path / "media" / CATALOG_NAME).exists()


def test_a_catalog_from_a_newer_mediapipe_is_a_catalog_error_not_a_retry(
        media_root: Path) -> None:
    with sqlite3.connect(media_root / CATALOG_NAME) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(CatalogError, match="newer") as err:
        Catalog.open(media_root)
    assert not err.value.transient and err.value.exit_code == 11
    with sqlite3.connect(media_root / CATALOG_NAME) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
        assert db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0, \
            "no table of this version's schema was added"


def test_the_catalog_lives_in_the_media_root_in_wal_mode(media_root: Path,
                                                         catalog: Catalog) -> None:
    assert catalog.path.samefile(media_root / "catalog.db")  # the name the README gives
    assert catalog.journal_mode == "wal"
    with sqlite3.connect(media_root / "catalog.db") as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_first_scan_makes_every_source_new_and_pending(catalog: Catalog,
                                                       library: Library) -> None:
    d = rescan(catalog, library)
    n = len(library.sources)
    assert (d.scanned, *counts(d), d.pending) == (n, n, 0, 0, 0, 0, n)
    entries = by_rel(catalog, library)
    assert sorted(entries) == list(library.sources)
    clip, photo = entries["2020/01/clip.MP4"], entries["top.png"]
    assert clip.todo == ("metadata", "thumbnails", "video")
    assert photo.todo == ("metadata", "thumbnails", "motion")
    assert photo.states["video"] is State.SKIPPED and clip.states["motion"] is State.SKIPPED


def test_asset_ids_are_uuid5_of_the_absolute_path(catalog: Catalog, library: Library) -> None:
    rescan(catalog, library)
    for entry in catalog.entries():
        assert uuid.UUID(entry.asset_id).version == 5
        assert entry.asset_id == asset_id_for_path(entry.path)
    path = str(library.root / "top.png")
    assert asset_id_for_path(path) == str(uuid.uuid5(ASSET_NAMESPACE, "path:" + path))


def test_paths_that_are_not_utf8_survive_byte_for_byte(catalog: Catalog,
                                                       library: Library) -> None:
    rescan(catalog, library)
    on_disk = {os.fsencode(f.path) for f in LibraryScan(library.root, EXCLUSIONS)}
    stored = {os.fsencode(e.path) for e in catalog.entries()}
    assert stored == on_disk
    assert any(b"\xe9" in p for p in stored)


def test_an_unchanged_rescan_changes_nothing(catalog: Catalog, library: Library) -> None:
    rescan(catalog, library)
    finish_all(catalog)
    d = rescan(catalog, library)
    assert (*counts(d), d.pending) == (0, 0, len(library.sources), 0, 0, 0)
    assert list(catalog.pending()) == []


def _grow(p: Path) -> None:
    p.write_bytes(p.read_bytes() + b"more")


def _touch_later(p: Path) -> None:
    st = p.stat()
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def _replace_same_size(p: Path) -> None:
    st = p.stat()
    p.write_bytes(bytes(st.st_size))
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns - 5_000_000_000))


@pytest.mark.parametrize("change", [
    pytest.param(_grow, id="size"),
    pytest.param(_touch_later, id="mtime"),
    pytest.param(_replace_same_size, id="content-with-older-mtime"),
])
def test_a_changed_file_and_only_it_goes_back_to_pending(
        change: Callable[[Path], None], catalog: Catalog, library: Library) -> None:
    rescan(catalog, library)
    finish_all(catalog)
    target = "2020/02/movie.mov"
    change(library.root / target)
    d = rescan(catalog, library)
    assert counts(d) == (0, 1, len(library.sources) - 1, 0, 0)
    todo = [os.path.relpath(e.path, library.root) for e in catalog.pending()]
    assert todo == [target]


def test_new_deleted_and_restored_files_are_acted_on_exactly(catalog: Catalog,
                                                             library: Library) -> None:
    rescan(catalog, library)
    finish_all(catalog)
    before = by_rel(catalog, library)
    gone = library.root / "2020/01/IMG_0001.jpg"
    saved = gone.read_bytes(), gone.stat().st_mtime_ns
    gone.unlink()
    (library.root / "2021").mkdir()
    (library.root / "2021/new.jpg").write_bytes(b"new")

    d = rescan(catalog, library)
    assert counts(d) == (1, 0, len(library.sources) - 1, 1, 0)
    offline = by_rel(catalog, library, online_only=False)["2020/01/IMG_0001.jpg"]
    assert not offline.online
    assert offline.asset_id == before["2020/01/IMG_0001.jpg"].asset_id
    assert [os.path.relpath(e.path, library.root) for e in catalog.pending()] == ["2021/new.jpg"]
    assert listing.stats(catalog).offline == 1

    # Written back with its old mtime, it is another file (a new inode and ctime): changed.
    gone.write_bytes(saved[0])
    os.utime(gone, ns=(saved[1], saved[1]))
    d = rescan(catalog, library)
    assert counts(d) == (0, 1, len(library.sources), 0, 1)
    back = by_rel(catalog, library)["2020/01/IMG_0001.jpg"]
    assert back.online and "thumbnails" in back.todo


def test_a_file_replaced_with_an_older_mtime_is_changed(catalog: Catalog,
                                                        library: Library) -> None:
    rescan(catalog, library)
    finish_all(catalog)
    photo = library.root / "2020/01/IMG_0001.jpg"
    old = photo.stat()
    replacement = photo.with_name(".incoming")
    replacement.write_bytes(photo.read_bytes()[::-1])  # rsync: a new file renamed over it
    os.utime(replacement, ns=(old.st_atime_ns, old.st_mtime_ns - 10**9))
    os.replace(replacement, photo)
    d = rescan(catalog, library)
    assert d.changed == 1
    assert "thumbnails" in by_rel(catalog, library)["2020/01/IMG_0001.jpg"].todo


def test_a_same_size_rewrite_with_its_mtime_restored_is_changed(catalog: Catalog,
                                                                library: Library) -> None:
    rescan(catalog, library)
    finish_all(catalog)
    photo = library.root / "2020/01/IMG_0001.jpg"
    old = photo.stat()
    photo.write_bytes(bytes(old.st_size))  # same inode, same size
    os.utime(photo, ns=(old.st_atime_ns, old.st_mtime_ns))  # touch -r: the mtime restored
    assert rescan(catalog, library).changed == 1  # its ctime moved: nobody can set that


def fingerprinted(cat: Catalog, lib: Library) -> ScanDiff:
    return cat.diff(LibraryScan(lib.root, EXCLUSIONS, fingerprint=True))


def _rewrite_as_on_fat(cat: Catalog, photo: Path, content: bytes) -> None:
    """A same-size rewrite with its mtime put back, on a filesystem whose ctime does not move
    with it (FAT, exFAT): the catalog's ctime is brought to the new one, as such a disk shows."""
    old = photo.stat()
    assert len(content) == old.st_size
    photo.write_bytes(content)
    os.utime(photo, ns=(old.st_atime_ns, old.st_mtime_ns))
    with sqlite3.connect(cat.path) as con:
        con.execute("UPDATE sources SET ctime_ns = ? WHERE path = ?",
                    (photo.stat().st_ctime_ns, os.fsencode(photo)))


def test_fingerprints_turned_on_are_recorded_without_calling_anything_changed(
        catalog: Catalog, library: Library) -> None:
    rescan(catalog, library)
    finish_all(catalog)
    d = fingerprinted(catalog, library)
    assert (d.changed, d.unchanged) == (0, d.scanned)
    assert not list(catalog.pending())
    assert fingerprinted(catalog, library).changed == 0


def test_a_change_only_the_fingerprint_shows_makes_the_outputs_again(
        catalog: Catalog, library: Library) -> None:
    fingerprinted(catalog, library)
    finish_all(catalog)
    photo = library.root / "2020/01/IMG_0001.jpg"
    _rewrite_as_on_fat(catalog, photo, bytes(photo.stat().st_size))
    assert rescan(catalog, library).changed == 0  # size, mtime, inode and ctime: as they were
    d = fingerprinted(catalog, library)
    assert d.changed == 1
    [entry] = catalog.pending()
    assert entry.path == str(photo) and entry.remake  # the outputs' stamps cannot tell: forced
    assert "thumbnails" in entry.todo


def test_the_remake_mark_stays_until_every_step_is_done(catalog: Catalog,
                                                        library: Library) -> None:
    fingerprinted(catalog, library)
    finish_all(catalog)
    photo = library.root / "2020/01/IMG_0001.jpg"
    _rewrite_as_on_fat(catalog, photo, bytes(photo.stat().st_size))
    fingerprinted(catalog, library)
    [entry] = catalog.pending()
    for step in entry.todo:
        if step == "thumbnails":
            catalog.record_result(entry.asset_id, step, State.FAILED,
                                  error=CorruptMedia(photo, "damaged"))
        else:
            catalog.record_result(entry.asset_id, step, State.DONE)
    catalog.flush()
    [again] = [e for e in catalog.entries() if e.asset_id == entry.asset_id]
    assert again.remake  # a retry of the failed step must not take the old outputs as fresh
    catalog.record_result(entry.asset_id, "thumbnails", State.DONE)
    catalog.flush()
    [done] = [e for e in catalog.entries() if e.asset_id == entry.asset_id]
    assert not done.remake


def test_a_restored_but_modified_file_comes_back_changed(catalog: Catalog,
                                                         library: Library) -> None:
    rescan(catalog, library)
    finish_all(catalog)
    p = library.root / "2020/02/raw.CR2"
    p.unlink()
    rescan(catalog, library)
    p.write_bytes(b"a different picture")
    d = rescan(catalog, library)
    assert (d.changed, d.back_online) == (1, 1)
    assert by_rel(catalog, library)["2020/02/raw.CR2"].todo


def test_a_vanished_library_goes_offline_and_keeps_its_work(catalog: Catalog,
                                                            library: Library) -> None:
    rescan(catalog, library)
    finish_all(catalog)
    hidden = library.root.with_name("unmounted")
    library.root.rename(hidden)
    library.root.mkdir()  # an empty mount point
    d = rescan(catalog, library)
    assert d.offline == len(library.sources)
    assert listing.stats(catalog).online == 0
    library.root.rmdir()
    hidden.rename(library.root)
    d = rescan(catalog, library)
    assert (d.back_online, d.pending) == (len(library.sources), 0)


def test_other_libraries_in_the_same_catalog_are_not_touched(catalog: Catalog,
                                                             tmp_path: Path) -> None:
    one, two = build_library(tmp_path / "one"), build_library(tmp_path / "two")
    rescan(catalog, one)
    rescan(catalog, two)
    assert listing.stats(catalog).online == len(one.sources) + len(two.sources)
    (two.root / "top.png").unlink()
    d = rescan(catalog, one)
    assert (d.offline, d.unchanged) == (0, len(one.sources))


def test_a_dry_run_counts_and_writes_nothing(catalog: Catalog, library: Library) -> None:
    d = rescan(catalog, library, dry_run=True)
    assert (d.new, d.dry_run) == (len(library.sources), True)
    assert listing.stats(catalog).total == 0


def test_a_sidecar_appearing_reruns_metadata_only(catalog: Catalog, library: Library) -> None:
    rescan(catalog, library)
    finish_all(catalog)
    (library.root / "top.png.xmp").write_bytes(b"<x:xmpmeta/>")
    d = rescan(catalog, library)
    assert d.changed == 1
    (entry,) = catalog.pending()
    assert entry.sidecar == str(library.root / "top.png.xmp")
    assert entry.todo == ("metadata",)


def test_failures_are_recorded_reported_and_cleared_by_a_later_success(
        catalog: Catalog, library: Library) -> None:
    rescan(catalog, library)
    entry = next(catalog.pending())
    catalog.record_result(entry.asset_id, "metadata", State.FAILED,
                          error=CorruptMedia(entry.path, "truncated JPEG"))
    for later in entry.todo[1:]:  # every later step is skipped after a failed metadata
        catalog.record_result(entry.asset_id, later, State.SKIPPED)
    assert list(listing.failures(catalog)) == [
        {"path": entry.path, "stage": "metadata", "error": "CorruptMedia: truncated JPEG"}]
    stats = listing.stats(catalog)
    assert (stats.failed, stats.by_stage["metadata"]["failed"]) == (1, 1)
    assert entry.asset_id not in {e.asset_id for e in catalog.pending()}
    assert entry.asset_id in {e.asset_id for e in catalog.pending(include_failed=True)}

    assert catalog.requeue(failed_only=True) == 1
    again = catalog.get(entry.asset_id)
    assert again is not None and again.todo == ("metadata",)
    assert again.error_type is None
    info = MediaInfo(entry.path, "image", "image/jpeg", 1, width=4032, make="Apple")
    catalog.record_result(entry.asset_id, "metadata", State.DONE, info=info)
    assert list(listing.failures(catalog)) == []
    assert catalog.info(entry.asset_id) == info


def test_requeue_redoes_every_stage_but_an_images_video(catalog: Catalog,
                                                        library: Library) -> None:
    rescan(catalog, library)
    finish_all(catalog)
    assert catalog.requeue() == len(library.sources)
    todo = {os.path.relpath(e.path, library.root): e.todo for e in catalog.pending()}
    assert todo["top.png"] == ("metadata", "thumbnails", "motion")
    assert todo["2020/01/clip.MP4"] == ("metadata", "thumbnails", "video")
    assert catalog.requeue(["video"]) == 0  # already pending everywhere it applies


def test_a_result_for_an_unknown_asset_is_an_error_not_a_silent_no_op(catalog: Catalog) -> None:
    catalog.record_result(str(uuid.uuid4()), "metadata", State.DONE)
    with pytest.raises(LookupError):
        catalog.flush()


_CRASH = """
import os, sys
from mediapipe.index.catalog import Catalog, State
cat = Catalog.open(sys.argv[1])
todo = list(cat.pending())
for e in todo[:3]:
    cat.record_result(e.asset_id, "metadata", State.DONE)
cat.flush()
for e in todo[3:5]:
    cat.record_result(e.asset_id, "metadata", State.DONE)
os._exit(9)  # killed before the buffer was committed
"""


def test_a_crashed_run_resumes_without_redoing_committed_work(media_root: Path,
                                                              library: Library) -> None:
    with Catalog.open(media_root) as cat:
        rescan(cat, library)
        order = [e.asset_id for e in cat.pending()]
    done = subprocess.run([sys.executable, "-c", _CRASH, str(media_root)], check=False)
    assert done.returncode == 9
    with Catalog.open(media_root) as cat:
        d = rescan(cat, library)
        assert (d.new, d.changed, d.pending) == (0, 0, len(order))
        todo = {e.asset_id: e.todo for e in cat.pending()}
    assert all(todo[a][0] == "thumbnails" for a in order[:3])  # metadata's result was kept
    assert all(todo[a][0] == "metadata" for a in order[3:])


def test_results_recorded_while_iterating_pending_are_not_yielded_again(
        catalog: Catalog, library: Library) -> None:
    rescan(catalog, library)
    seen = []
    for entry in catalog.pending(batch=4):
        seen.append(entry.asset_id)
        for stage in entry.todo:
            catalog.record_result(entry.asset_id, stage, State.DONE)
    assert len(seen) == len(set(seen)) == len(library.sources)
    assert list(catalog.pending()) == []


def test_sources_under_an_unreadable_folder_are_kept_not_taken_offline(
        media_root: Path, library: Library) -> None:
    with Catalog.open(media_root) as cat:
        rescan(cat, library)
    locked = library.root / "2020" / "02"
    locked.chmod(0)
    try:
        out = run_unprivileged(
            "import json, sys\n"
            "from mediapipe.index.catalog import Catalog\n"
            "from mediapipe.index.scan import LibraryScan\n"
            "with Catalog.open(sys.argv[1]) as cat:\n"
            "    d = cat.diff(LibraryScan(sys.argv[2], ['**/@eaDir/**']))\n"
            "    print(json.dumps({'offline': d.offline, 'kept': d.kept_unreadable,\n"
            "                      'problems': [p.path for p in d.problems]}))\n",
            str(media_root), str(library.root))
    finally:
        locked.chmod(0o755)
    assert out == {"offline": 0, "kept": 3, "problems": [str(locked)]}


def test_a_failed_file_that_changes_is_retried_with_its_error_cleared(
        catalog: Catalog, library: Library) -> None:
    rescan(catalog, library)
    finish_all(catalog)
    (entry,) = [e for e in catalog.entries() if e.path.endswith("movie.mov")]
    catalog.record_result(entry.asset_id, "video", State.FAILED,
                          error={"type": "TranscodeFailed", "message": "ffmpeg exited 1"})
    catalog.flush()
    assert list(catalog.pending()) == []  # failures are not retried by themselves
    _grow(Path(entry.path))
    assert rescan(catalog, library).changed == 1
    (again,) = catalog.pending()
    assert (again.todo, again.error_type) == (("metadata", "thumbnails", "video"), None)

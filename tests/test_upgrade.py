"""A media root written by an older mediapipe (``<id>_preview.jpeg``) moves to Immich's names."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fixtures import images
from mediapipe.config import Config
from mediapipe.errors import StorageOffline
from mediapipe.index import ingest as coordinator
from mediapipe.index.catalog import Catalog
from mediapipe.library import storage, upgrade
from mediapipe.pipeline import AssetResult
from mediapipe.pipeline.local import LocalRunner


def _legacy(root: Path) -> list[Path]:
    """Rename every derived file to the old ``_`` names, as an older release left them."""
    renamed = []
    for p in (root / "thumbs").rglob("*-*.*"):
        if p.stem.endswith(("-preview", "-thumbnail", "-fullsize")):
            old = p.with_name(p.name[:36] + "_" + p.name[37:])
            p.rename(old)
            renamed.append(old)
    return renamed


def test_an_older_root_is_renamed_on_the_next_ingest_not_regenerated(
        tmp_path: Path, media_root: Path) -> None:
    library = tmp_path / "photos"
    library.mkdir()
    for i in range(3):
        images.jpeg(library / f"{i}.jpg", (640, 480))
    cfg = Config()
    coordinator.ingest(library, LocalRunner(media_root, cfg))
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns)
              for p in (media_root / "thumbs").rglob("*.*") if p.name != storage.MARKER}
    legacy = _legacy(media_root)
    assert len(legacy) == 6
    with Catalog.open(media_root) as cat:
        cat.set_meta("layout", "")  # a catalog from before the rename
        cat.requeue(["thumbnails"])  # and work due for every photo: it must find the files
    seen: list[AssetResult] = []
    coordinator.ingest(library, LocalRunner(media_root, cfg), on_result=seen.append)
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns)
             for p in (media_root / "thumbs").rglob("*.*") if p.name != storage.MARKER}
    assert after == before  # same names as a fresh run, same bytes, same mtimes
    notes = [r.stages["thumbnails"].note for r in seen]
    assert notes == ["outputs already made from this source"] * 3


def test_where_both_names_exist_the_new_file_wins(media_root: Path) -> None:
    asset = "0f1e2d3c-4b5a-4968-8776-655443322110"
    new = storage.derived_path(media_root, "admin", asset, storage.Derived.PREVIEW, "jpeg")
    new.parent.mkdir(parents=True)
    new.write_bytes(b"new")
    old = new.with_name(f"{asset}_preview.jpeg")
    old.write_bytes(b"old")
    other = new.with_name("IMG_0001_preview.jpeg")  # not a derived name: left alone
    other.write_bytes(b"user's")
    assert upgrade.rename_legacy_derived(media_root) == 0
    assert sorted(os.listdir(new.parent)) == sorted([new.name, other.name])
    assert new.read_bytes() == b"new"


def test_no_rename_happens_on_an_unmounted_thumbs_disk(media_root: Path) -> None:
    (media_root / "thumbs" / storage.MARKER).unlink()
    with pytest.raises(StorageOffline):
        upgrade.rename_legacy_derived(media_root)


def test_done_once_per_root(media_root: Path) -> None:
    with Catalog.open(media_root) as cat:
        coordinator.upgrade_layout(cat, media_root)
        assert cat.meta("layout") == coordinator.LAYOUT



def test_a_step_new_in_this_release_does_not_remake_what_an_older_one_made(
        tmp_path: Path, media_root: Path) -> None:
    """An older release's outputs carry none of today's freshness stamps; a new step due for
    every photo (the catalog grew its column) must run alone, not remake the previews."""
    library = tmp_path / "photos"
    library.mkdir()
    for i in range(2):
        images.jpeg(library / f"{i}.jpg", (640, 480))
    cfg = Config()
    coordinator.ingest(library, LocalRunner(media_root, cfg))
    thumbs = [p for p in (media_root / "thumbs").rglob("*.*") if p.name != storage.MARKER]
    for p in thumbs:  # as an older release left them: no stamp, just newer than the source
        os.utime(p, ns=(p.stat().st_atime_ns, p.stat().st_mtime_ns + 10**9))
    before = {p: p.stat().st_mtime_ns for p in thumbs}
    with Catalog.open(media_root) as cat:
        cat.requeue(["motion"])  # a new step: due for every photo, nothing else is
    seen: list[AssetResult] = []
    coordinator.ingest(library, LocalRunner(media_root, cfg), on_result=seen.append)
    assert [sorted(r.stages) for r in seen] == [["metadata", "motion"]] * 2
    assert {p: p.stat().st_mtime_ns for p in thumbs} == before

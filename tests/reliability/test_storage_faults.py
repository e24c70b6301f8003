"""Storage faults mid-ingest: the disk goes away, the disk fills up. Nothing half written.

The media root's ``thumbs`` folder is a real mount here (a bind mount of a folder holding the
marker, or a 2 MiB tmpfs), so these are the faults a user's NAS or USB disk produces:

- unmounted mid-run: ``thumbs`` turns back into the bare, empty mount point. Writes stop at
  once: each later asset is reported ``StorageOffline`` and nothing at all appears in the bare
  folder; after remounting, a re-run completes the rest (transient failures stay pending);
- full mid-run: each asset whose write hits ENOSPC is reported ``StorageOffline`` (transient),
  no temp or truncated file is left; after growing the filesystem a re-run completes the rest.

Where this machine cannot mount (not root), the unmount falls back to deleting the marker, and
the disk-full case runs only in-process with an injected ENOSPC.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fixtures import images
from mediapipe import pipeline
from mediapipe.config import Config
from mediapipe.identity import asset_id_for_path
from mediapipe.library import storage
from mediapipe.metadata.read import read_metadata
from tests.reliability.harness import (
    Figures,
    TreeSampler,
    account,
    finish_ingest,
    partial_files,
    run_ingest,
    start_ingest,
)


def _mount(*argv: str) -> bool:
    return subprocess.run(["mount", *argv], capture_output=True, check=False).returncode == 0


def _umount(path: Path, *flags: str) -> None:
    subprocess.run(["umount", *flags, str(path)], capture_output=True, check=False)


def _mounted(path: Path) -> bool:
    """Whether something is mounted at ``path`` (a bind mount too: same device, so
    ``os.path.ismount`` cannot tell)."""
    with open("/proc/self/mounts", encoding="utf-8", errors="replace") as fh:
        points = {line.split()[1].encode().decode("unicode_escape") for line in fh}
    return str(path) in points


@contextlib.contextmanager
def _cleanup_mount(path: Path) -> Iterator[None]:
    try:
        yield
    finally:
        for _ in range(5):
            if not _mounted(path):
                break
            _umount(path, "-l")


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    lib = tmp_path_factory.mktemp("photos")
    for i in range(24):
        images.noise_jpeg(lib / f"IMG_{i:03d}.jpg", (1600, 1200), seed=i)
    return lib


def _sources(lib: Path) -> list[Path]:
    return sorted(lib.glob("*.jpg"))


def _thumbs_done(root: Path, lib: Path) -> int:
    return sum(storage.derived_path(root, "admin", asset_id_for_path(p), storage.Derived.THUMBNAIL,
                                    "webp").exists() for p in _sources(lib))


def _wait(predicate: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.02)


def test_thumbs_disk_unmounted_mid_run_stops_writes_and_a_rerun_completes(
        photos: Path, media_root: Path, tmp_path: Path,
        ledger: Callable[[Figures], Figures]) -> None:
    thumbs, disk = media_root / "thumbs", tmp_path / "thumbs-disk"
    disk.mkdir()
    os.replace(thumbs / storage.MARKER, disk / storage.MARKER)  # the bare mount point is empty
    with _cleanup_mount(thumbs):
        mounted = _mount("--bind", str(disk), str(thumbs))
        if not mounted:  # fallback: the marker itself goes away
            os.replace(disk / storage.MARKER, thumbs / storage.MARKER)
        proc = start_ingest(photos, media_root, "--workers", "1")
        with TreeSampler(proc.pid) as sampler:
            _wait(lambda: _thumbs_done(media_root, photos) >= 4, 120)
            if mounted:
                _umount(thumbs, "-l")
                before: set[Path] = set()
            else:
                (thumbs / storage.MARKER).unlink()
                before = set(thumbs.rglob("*"))
            run = finish_ingest(proc, 240, sampler)
        fig, detail = account("thumbs unmounted mid-run", _sources(photos), media_root, [run])
        ledger(fig)
        assert run.code == 4 and fig.crashed == 0 and fig.lost == 0, detail
        offline = [f for f in run.summary["failures"] if f["error"].startswith("StorageOffline")]
        assert offline and len(offline) == run.summary["failed"] == fig.failed_clean
        after = set(thumbs.rglob("*"))
        if mounted:
            assert after == set(), f"written into the bare mount point: {sorted(after)[:5]}"
        else:  # at most the one write already past its last marker check
            assert len(after - before) <= 2, sorted(after - before)
        if mounted:
            assert _mount("--bind", str(disk), str(thumbs))
        else:
            storage.init_root(media_root)
        rerun = run_ingest(photos, media_root, "--workers", "1")
        fig2, detail2 = account("thumbs unmounted: re-run", _sources(photos), media_root, [rerun])
        ledger(fig2)
        assert rerun.code == 0 and rerun.summary["processed"] == len(offline)
        assert fig2.processed == fig2.tried and fig2.lost == fig2.partial == 0, detail2
        assert _thumbs_done(media_root, photos) == len(_sources(photos))


def test_thumbs_disk_full_fails_writes_cleanly_and_a_rerun_after_growing_it_completes(
        photos: Path, media_root: Path, ledger: Callable[[Figures], Figures]) -> None:
    thumbs = media_root / "thumbs"
    (thumbs / storage.MARKER).unlink()
    with _cleanup_mount(thumbs):
        if not _mount("-t", "tmpfs", "-o", "size=2m", "tmpfs", str(thumbs)):
            storage.init_root(media_root)
            pytest.skip("cannot mount a tmpfs here (not root); see the in-process ENOSPC test")
        storage.init_root(media_root)  # the marker on the new filesystem
        run = run_ingest(photos, media_root, "--workers", "2")
        fig, detail = account("thumbs disk full (2 MiB tmpfs)", _sources(photos), media_root,
                              [run])
        ledger(fig)
        assert run.code == 4 and fig.crashed == 0 and fig.lost == 0, detail
        assert fig.partial == 0, partial_files(media_root)
        types = {f["error"].split(":", 1)[0] for f in run.summary["failures"]}
        assert types == {"StorageOffline"} and fig.failed_clean > 0
        assert any("No space left" in f["error"] for f in run.summary["failures"])
        assert _mount("-o", "remount,size=64m", str(thumbs))
        rerun = run_ingest(photos, media_root, "--workers", "2")
        fig2, detail2 = account("thumbs disk full: re-run", _sources(photos), media_root,
                                [rerun])
        ledger(fig2)
        assert rerun.code == 0 and rerun.summary["processed"] == fig.failed_clean
        assert fig2.processed == fig2.tried and fig2.lost == fig2.partial == 0, detail2


def test_enospc_during_a_write_is_storage_offline_and_leaves_no_temp(
        media_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Injected ENOSPC (the fsync before the rename fails, as on a full disk)."""
    src = images.noise_jpeg(tmp_path / "a.jpg", (640, 480))
    cfg = Config()
    info = read_metadata(src)

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(storage.os, "fsync", full)
    state = dataclasses.replace(pipeline.AssetState.start(src, "abcd" * 8, media_root), info=info,
                                stages={"metadata": pipeline.StageOutcome(pipeline.Status.DONE)})
    thumbnails = pipeline.PIPELINE.by_name("thumbnails")
    outcome = pipeline.advance(state, pipeline.PIPELINE, cfg, thumbnails).state.stages[
        "thumbnails"]
    assert outcome.status is pipeline.Status.FAILED and outcome.error
    assert outcome.error and outcome.error.type == "StorageOffline" and outcome.error.transient
    assert "No space left" in outcome.error.message
    assert not [p for p in (media_root / "thumbs").rglob("*") if p.is_file()
                and p.name != storage.MARKER]

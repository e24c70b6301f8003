"""Source faults: the library's share goes away, a file is swapped or restored, a writer dies.

- the library (a bind mount) is unmounted while the run processes it: every asset not yet
  processed fails ``SourceOffline`` (transient), stays pending, and after remounting a re-run
  finishes them;
- a symbolic link to a file outside the library is swapped in for a scanned photo while the run
  goes: that photo is not read (``PathEscape``), no preview of the outside file is written;
- a link swapped in while a step reads (after the step opened its source): every reader
  (the block readers, exiftool, Pillow, rawpy, PyAV, ffmpeg) still reads the file the scan saw;
- a photo replaced by another with an older mtime (a restore, ``cp -p``): the re-run makes its
  preview again; a same-size photo with its mtime put back where ctime does not change (FAT,
  exFAT) is caught by ``library.scan.fingerprint``;
- a zombie writer's temp file beside outputs that a crashed run made but never recorded: the
  re-run records them ``done`` and sweeps the temp.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fixtures import images
from mediapipe.identity import asset_id_for_path
from mediapipe.library import storage, temps
from tests.reliability.harness import (
    Figures,
    TreeSampler,
    account,
    finish_ingest,
    run_ingest,
    start_ingest,
)


def _mount(*argv: str) -> bool:
    return subprocess.run(["mount", *argv], capture_output=True, check=False).returncode == 0


def _preview(root: Path, source: Path) -> Path:
    return storage.derived_path(root, "admin", asset_id_for_path(source), storage.Derived.PREVIEW,
                                "jpeg")


def _library(folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        images.noise_jpeg(folder / f"IMG_{i:03d}.jpg", (1600, 1200), seed=i)
    return sorted(folder.glob("*.jpg"))


def _wait(predicate: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.01)


SOAK = pytest.param(120, marks=pytest.mark.slow, id="soak")  # the long variant (make soak)


def _case(name: str, n: int) -> str:
    return f"soak: {name} ({n} files)" if n > 24 else name


@pytest.mark.parametrize("n", [24, SOAK])
def test_library_unmounted_mid_run_is_source_offline_and_a_remounted_rerun_finishes(
        n: int, media_root: Path, tmp_path: Path, ledger: Callable[[Figures], Figures]) -> None:
    disk, lib = tmp_path / "share", tmp_path / "mnt" / "photos"
    sources = [lib / p.name for p in _library(disk, n)]
    lib.mkdir(parents=True)
    if not _mount("--bind", str(disk), str(lib)):
        pytest.skip("cannot bind-mount here (not root)")
    try:
        proc = start_ingest(lib, media_root, "--workers", "1")
        with TreeSampler(proc.pid) as sampler:
            _wait(lambda: sum(_preview(media_root, s).exists() for s in sources) >= 4, 120)
            subprocess.run(["umount", "-l", str(lib)], check=True)
            run = finish_ingest(proc, 240, sampler)
        fig, detail = account(_case("library unmounted mid-run", n), sources, media_root,
                              [run])
        ledger(fig)
        offline = [f for f in run.summary["failures"] if f["type"] == "SourceOffline"]
        assert offline and fig.crashed == fig.lost == fig.partial == 0, detail
        assert fig.processed + fig.failed_clean == fig.tried
        assert _mount("--bind", str(disk), str(lib))
        rerun = run_ingest(lib, media_root, "--workers", "1")
        fig2, detail2 = account(_case("library unmounted: remounted re-run", n), sources,
                                media_root, [rerun])
        ledger(fig2)
        assert rerun.code == 0 and rerun.summary["processed"] >= len(offline)
        assert fig2.processed == fig2.tried and fig2.lost == fig2.partial == 0, detail2
    finally:
        subprocess.run(["umount", "-l", str(lib)], capture_output=True, check=False)


@pytest.mark.parametrize("n", [24, SOAK])
def test_a_symlink_swapped_in_after_the_scan_is_not_followed(
        n: int, media_root: Path, tmp_path: Path, ledger: Callable[[Figures], Figures]) -> None:
    lib = tmp_path / "photos"
    sources = _library(lib, n)
    secret = tmp_path / "outside" / "secret.jpg"
    secret.parent.mkdir()
    images.noise_jpeg(secret, (640, 480), seed=99)
    victim = sources[-1]
    proc = start_ingest(lib, media_root, "--workers", "1")
    with TreeSampler(proc.pid) as sampler:
        _wait(lambda: _preview(media_root, sources[1]).exists(), 120)
        swapped = victim.with_name(".swap")
        swapped.symlink_to(secret)
        os.replace(swapped, victim)  # atomically, as an attacker would
        run = finish_ingest(proc, 240, sampler)
    fig, detail = account(_case("symlink swapped in after the scan", n), sources, media_root,
                          [run])
    ledger(fig)
    assert fig.crashed == fig.lost == fig.partial == 0, detail
    assert not _preview(media_root, victim).exists(), "the outside file was read"
    with sqlite3.connect(media_root / "catalog.db") as con:
        [(etype,)] = con.execute("SELECT error_type FROM sources WHERE path = ?",
                                 (os.fsencode(victim),))
    assert etype == "PathEscape"


def test_a_file_replaced_with_an_older_mtime_gets_a_new_preview(
        media_root: Path, tmp_path: Path, ledger: Callable[[Figures], Figures]) -> None:
    lib = tmp_path / "photos"
    sources = _library(lib, 8)
    first = run_ingest(lib, media_root, "--workers", "1")
    changed = sources[3]
    before = _preview(media_root, changed).read_bytes()
    old = changed.stat()
    restored = tmp_path / "backup.jpg"
    images.noise_jpeg(restored, (1600, 1200), seed=1234)
    os.utime(restored, ns=(old.st_atime_ns, old.st_mtime_ns - 86_400 * 10**9))  # a day older
    shutil.copy2(restored, changed)  # cp -p: same inode, content and an older mtime
    rerun = run_ingest(lib, media_root, "--workers", "1")
    fig, detail = account("file replaced with an older mtime", sources, media_root,
                          [first, rerun])
    ledger(fig)
    assert rerun.summary["changed"] == 1 and rerun.summary["processed"] == 1
    assert _preview(media_root, changed).read_bytes() != before
    assert fig.processed == fig.tried and fig.crashed == fig.lost == fig.partial == 0, detail


def _as_if_ctime_stood_still(source: Path, media_root: Path, outputs: list[Path]) -> None:
    """What a filesystem without a changing ctime (FAT, exFAT) shows after a same-size file
    was copied over ``source`` with its mtime put back: the catalog's ctime and the outputs'
    stamps are brought to the new ctime, so size, mtime, inode and ctime all look unchanged."""
    ctime = source.stat().st_ctime_ns
    with sqlite3.connect(media_root / "catalog.db") as con:
        con.execute("UPDATE sources SET ctime_ns = ? WHERE path = ?", (ctime, os.fsencode(source)))
    for output in outputs:
        os.utime(output, ns=(output.stat().st_atime_ns, ctime))


@pytest.mark.parametrize(("fingerprint", "driver"), [
    (True, "in-process"), (True, "celery"), (False, "in-process")],
    ids=["fingerprints", "fingerprints-celery", "no-fingerprints"])
def test_a_same_size_file_with_its_mtime_put_back_is_caught_by_fingerprints(
        fingerprint: bool, driver: str, media_root: Path, tmp_path: Path,
        request: pytest.FixtureRequest, ledger: Callable[[Figures], Figures]) -> None:
    lib = tmp_path / "photos"
    sources = _library(lib, 8)
    env = {"MEDIAPIPE_LIBRARY_SCAN_FINGERPRINT": str(fingerprint).lower()}
    first = run_ingest(lib, media_root, "--workers", "1", env=env)
    changed = sources[3]
    old = changed.stat()
    before = _preview(media_root, changed).read_bytes()
    other = tmp_path / "other.jpg"
    images.noise_jpeg(other, (1600, 1200), seed=4321)
    data = other.read_bytes()
    changed.write_bytes(data[:old.st_size].ljust(old.st_size, b"\0"))  # the same size
    os.utime(changed, ns=(old.st_atime_ns, old.st_mtime_ns))  # and mtime
    thumbnail = storage.derived_path(media_root, "admin", asset_id_for_path(changed),
                                     storage.Derived.THUMBNAIL, "webp")
    _as_if_ctime_stood_still(changed, media_root, [_preview(media_root, changed), thumbnail])
    how: tuple[str, ...] = ("--workers", "1")
    if driver == "celery":  # the mark travels with the asset to the workers
        request.getfixturevalue("celery_worker")("metadata,thumbnails,video", name="fp")
        how = ("--broker", request.getfixturevalue("redis_server").url)
    rerun = run_ingest(lib, media_root, *how, env=env)
    fig, detail = account(f"same size, mtime put back ({'with' if fingerprint else 'no'} "
                          f"fingerprints, {driver})", sources, media_root, [first, rerun])
    ledger(fig)
    assert fig.processed == fig.tried and fig.crashed == fig.lost == fig.partial == 0, detail
    if fingerprint:
        assert rerun.summary["changed"] == 1 and rerun.summary["processed"] == 1
        assert _preview(media_root, changed).read_bytes() != before
        with sqlite3.connect(media_root / "catalog.db") as con:
            assert con.execute("SELECT count(*) FROM sources WHERE remake = 1").fetchone()[0] == 0
    else:  # the limit without them: nothing the scan compares has changed
        assert rerun.summary["changed"] == 0
        assert _preview(media_root, changed).read_bytes() == before


def test_a_zombie_writers_temp_beside_unrecorded_outputs_is_swept(
        media_root: Path, tmp_path: Path, ledger: Callable[[Figures], Figures]) -> None:
    lib = tmp_path / "photos"
    sources = _library(lib, 6)
    first = run_ingest(lib, media_root, "--workers", "1")
    crashed = sources[2]
    with sqlite3.connect(media_root / "catalog.db") as con:  # made, but never recorded
        con.execute("UPDATE sources SET thumbnails_state = 'pending' WHERE path = ?",
                    (os.fsencode(crashed),))
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    _wait(lambda: Path(f"/proc/{zombie.pid}/stat").read_text().split(") ")[1][0] == "Z", 10)
    preview = _preview(media_root, crashed)
    temp = preview.with_name(f".{preview.name}.{temps._HOST}.{zombie.pid}.abcd.mptmp")
    temp.write_bytes(b"half a preview")
    rerun = run_ingest(lib, media_root, "--workers", "1")
    zombie.wait()
    fig, detail = account("zombie writer's temp, outputs unrecorded", sources, media_root,
                          [first, rerun])
    ledger(fig)
    assert not temp.exists()
    with sqlite3.connect(media_root / "catalog.db") as con:
        [(state,)] = con.execute("SELECT thumbnails_state FROM sources WHERE path = ?",
                                 (os.fsencode(crashed),))
    assert state == "done"
    assert fig.processed == fig.tried and fig.crashed == fig.lost == fig.partial == 0, detail


@pytest.mark.parametrize("n", [60, pytest.param(300, marks=pytest.mark.slow, id="soak")])
def test_a_migrate_killed_mid_run_is_finished_by_a_rerun(
        n: int, media_root: Path, tmp_path: Path, ledger: Callable[[Figures], Figures]) -> None:
    from fixtures.imports import known_reader, sha1_tree, small_files
    from mediapipe.config import Config, StorageTemplateConfig
    from mediapipe.library import imports

    cfg = Config(storage_template=StorageTemplateConfig(enabled=True))
    small_files(tmp_path / "in", n)
    imports.import_files([tmp_path / "in"], media_root, cfg, move=True, reader=known_reader)
    owner = media_root / "library" / "admin"
    before = sorted(sha1_tree(owner))
    template = "{{filetype}}/{{filetype}}_{{filename}}"
    code = ("import sys, time\nfrom pathlib import Path\n"
            "from fixtures.imports import known_reader\n"
            "from mediapipe.config import Config, StorageTemplateConfig\n"
            "from mediapipe.library import imports, placement\n"
            "real = placement.place_file\n"
            "def slow(*a, **k):\n    time.sleep(0.03)\n    return real(*a, **k)\n"
            "placement.place_file = slow\n"
            f"cfg = Config(storage_template=StorageTemplateConfig(enabled=True, "
            f"template={template!r}))\n"
            "imports.migrate(Path(sys.argv[1]), cfg, reader=known_reader)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(media_root)],
                            cwd=Path(__file__).parents[2])
    _wait(lambda: ((owner / "IMG").is_dir() and len(list((owner / "IMG").iterdir())) >= 5)
          or proc.poll() is not None, 60)
    assert proc.poll() is None, "the migrate ended before it could be killed"
    proc.kill()  # SIGKILL, mid-run
    proc.wait()
    cfg = cfg.replace(storage_template=StorageTemplateConfig(enabled=True, template=template))
    report = imports.migrate(media_root, cfg, reader=known_reader)
    again = imports.migrate(media_root, cfg, reader=known_reader)
    after = sorted(sha1_tree(owner))
    empty = [d for d, dirs, files in os.walk(owner) if not dirs and not files]
    names = [p.name for p in owner.rglob("*") if p.is_file()]
    fig = Figures(f"{'soak: ' if n > 60 else ''}migrate SIGKILLed, then re-run ({n} files)",
                  tried=len(report.placements),
                  processed=len(report.placements) - len(report.failed),
                  failed_clean=len(report.failed), lost=len(set(before) - set(after)),
                  partial=len(list(owner.rglob("*.mptmp"))))
    ledger(fig)
    assert after == before and not empty and not report.failed
    assert again.count(imports.PlaceAction.MOVED) == 0
    assert not any("IMG_IMG_IMG" in n or "VID_VID_IMG" in n for n in names)


def test_a_file_replaced_after_the_scan_is_not_read_by_a_step_that_waited(
        tmp_path: Path, media_root: Path) -> None:
    """A step that waited in a queue finds another file (or a link to one) where the scan saw
    its source: it reads nothing, stays pending (SourceOffline) and the next scan decides."""
    from mediapipe.config import Config
    from mediapipe.pipeline import process_asset

    photo = images.jpeg(tmp_path / "a.jpg", (320, 240))
    st = photo.stat()
    scanned = (st.st_dev, st.st_ino)
    outside = images.jpeg(tmp_path / "outside.jpg", (640, 480))
    photo.unlink()
    photo.symlink_to(outside)  # swapped in after the scan
    result = process_asset(photo, "0f1e2d3c-4b5a-4968-8776-655443322110", media_root, Config(),
                           identity=scanned)
    error = result.stages["metadata"].error
    assert error and error.type == "SourceOffline" and error.transient is True
    assert [p.name for p in (media_root / "thumbs").rglob("*")] == [".immich"]  # nothing else


def _swapping(run: Callable[..., Any], victim: Path, outside: Path) -> Callable[..., Any]:
    """``run`` (a step's function), with a link to ``outside`` standing at ``victim`` while it
    runs: swapped in after the driver opened and verified the source, as a racing attacker
    would at the worst moment; the scanned file is put back after, for the next step."""
    def swapped(state: Any, source: Any, cfg: Any, progress: Any) -> Any:
        aside = victim.with_name(".aside" + victim.suffix)
        os.rename(victim, aside)
        victim.symlink_to(outside)
        try:
            return run(state, source, cfg, progress)
        finally:
            os.replace(aside, victim)
    return swapped


def _picture_size(path: str) -> tuple[int, int]:
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                          "stream=width,height", "-of", "csv=p=0", path],
                         capture_output=True, text=True, check=True)
    w, h = out.stdout.strip().split(",")
    return int(w), int(h)


def _landscape(path: str) -> bool:
    w, h = _picture_size(path)
    return w > h


@pytest.mark.parametrize("kind", ["jpeg", "dng", "video"])
def test_a_link_swapped_in_while_a_step_reads_leads_no_reader_outside(
        kind: str, tmp_path: Path, media_root: Path, monkeypatch: pytest.MonkeyPatch,
        ledger: Callable[[Figures], Figures]) -> None:
    """Landscape sources, portrait decoys outside: every output and fact is landscape."""
    import dataclasses

    from fixtures import raw, videos
    from mediapipe.config import Config, FFmpegConfig
    from mediapipe.pipeline import PIPELINE, Pipeline, Status, process_asset

    lib = tmp_path / "photos"
    lib.mkdir()
    if kind == "jpeg":  # block readers, Pillow
        victim = images.jpeg(lib / "a.jpg", (640, 480))
        outside = images.jpeg(tmp_path / "outside.jpg", (300, 600))
    elif kind == "dng":  # exiftool (a child process), rawpy
        victim = raw.dng(lib / "a.dng", raw.photo(None, (640, 480)))
        outside = raw.dng(tmp_path / "outside.dng", raw.photo(None, (300, 600)))
    else:  # PyAV, ffmpeg (a child process)
        victim = videos.video(lib / "a.mp4", size=(320, 240), duration=1.0)
        outside = videos.video(tmp_path / "outside.mp4", size=(240, 320), duration=1.0)
    swapping = Pipeline(tuple(dataclasses.replace(s, run=_swapping(s.run, victim, outside))
                              for s in PIPELINE))
    st = victim.stat()
    cfg = Config(ffmpeg=dataclasses.replace(FFmpegConfig(), transcode="all"))
    result = process_asset(victim, asset_id_for_path(victim), media_root, cfg,
                           pipeline=swapping, identity=(st.st_dev, st.st_ino))
    outputs = [p for o in result.stages.values() for p in o.outputs]
    assert all(o.status is not Status.FAILED for o in result.stages.values()), result.stages
    assert result.info and result.info.width and result.info.height
    assert result.info.width > result.info.height
    assert len(outputs) == (3 if kind == "video" else 2) and all(map(_landscape, outputs))
    ledger(Figures(f"link swapped in while a step reads ({kind})", tried=1, processed=1))

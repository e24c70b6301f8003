"""Hostile roots and hostile files (issue 26): nothing written outside, no bomb, no hang, no
traceback, pairs undone, a full disk said as one, names shown as they are.

Each case runs the real ``mediapipe`` in a subprocess under a time limit and adds a row to the
reliability table (crashed 0, lost 0, partial 0, hung 0, peak RSS of the process tree at most
``MEMORY_BOUND_MIB``):

- the media root's own files planted as links (``.mediapipe.lock`` and ``catalog.db`` as
  symbolic links to a file elsewhere or dangling, ``catalog.db-wal``/``-shm`` as links, the
  lock as a hard link, the import ledger as a link): each run is refused (``PathEscape``,
  exit 9, one JSON error object), the file elsewhere is as it was; with the plant removed the
  next run does everything;
- a 16000x16000 MJPEG video (MP4 and MOV) and a motion photo carrying one: ``TooLarge``
  before any decoder allocates (the process tree stays small), the ordinary files done;
- a FIFO named ``p.jpg`` on the command line of ``info``, ``thumbnail`` and ``import`` (and in
  a folder ``import`` walks): refused at once, the good files still done;
- live-photo pairs: a still's id changed, a still deleted, a still with two MOVs, ids of
  spaces; after the rescan each pair is what the files say now;
- the whole media root on a full tmpfs: exit 4 with one JSON object, no temp or empty file; a
  re-run once the disk is bigger finishes everything;
- hostile names in ``ls``: one line per asset, no terminal escape, JSON a strict parser reads.
"""

from __future__ import annotations

import base64
import contextlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fixtures import images, live, videos
from mediapipe.index.catalog import CATALOG_NAME
from mediapipe.index.lock import LOCK_NAME
from mediapipe.library import storage
from mediapipe.library.imports import NAMES
from tests.reliability.harness import (
    Figures,
    IngestRun,
    account,
    catalog_rows,
    partial_files,
    run_cli,
    run_ingest,
)

pytestmark = pytest.mark.slow

MEMORY_BOUND_MIB = 400  # every row: the process tree of the command
TIME_LIMIT_S = 120
PRECIOUS = b"precious: outside the media root\n"


def _clean(fig: Figures, detail: dict[str, list[str]]) -> None:
    assert fig.hung == 0
    assert fig.crashed == 0, "\n".join(detail.get("crashed", [])[:10])
    assert fig.lost == 0, detail.get("lost", [])[:10]
    assert fig.partial == 0
    assert fig.peak_rss_mib <= MEMORY_BOUND_MIB, fig.peak_rss_mib


def _photos(lib: Path, n: int) -> list[Path]:
    lib.mkdir(parents=True, exist_ok=True)
    return [images.noise_jpeg(lib / f"IMG_{i}.jpg", (320, 240), seed=i) for i in range(n)]


# --- 1: the media root's own files -------------------------------------------------------------

def _plant_symlink(name: str) -> Callable[[Path, Path], None]:
    return lambda root, victim: (root / name).symlink_to(victim)


def _plant_dangling(name: str) -> Callable[[Path, Path], None]:
    def plant(root: Path, victim: Path) -> None:
        (root / name).symlink_to(victim.with_name("never-made"))
    return plant


def _plant_hard_link(name: str) -> Callable[[Path, Path], None]:
    return lambda root, victim: os.link(victim, root / name)


PLANTS = {
    "lock -> file elsewhere": _plant_symlink(LOCK_NAME),
    "lock hard link": _plant_hard_link(LOCK_NAME),
    "catalog -> file elsewhere": _plant_symlink(CATALOG_NAME),
    "catalog dangling": _plant_dangling(CATALOG_NAME),
    "catalog-wal -> file elsewhere": _plant_symlink(f"{CATALOG_NAME}-wal"),
    "catalog-shm dangling": _plant_dangling(f"{CATALOG_NAME}-shm"),
}


def test_the_media_roots_own_files_planted_as_links_write_nothing_outside(
        tmp_path: Path, ledger: Callable[[Figures], Figures]) -> None:
    lib, root = tmp_path / "lib", tmp_path / "media"
    photos = _photos(lib, 6)
    storage.init_root(root)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    runs: list[IngestRun] = []
    for case, plant in PLANTS.items():
        victim = elsewhere / "victim"
        victim.write_bytes(PRECIOUS)
        before = sorted(p.name for p in elsewhere.iterdir())
        plant(root, victim)
        run = run_ingest(lib, root, "--workers", "1", timeout=TIME_LIMIT_S)
        runs.append(run)
        assert (run.code, run.summary["error"]["type"]) == (9, "PathEscape"), (case, run.stderr)
        assert run.refused and not run.crashed
        assert victim.read_bytes() == PRECIOUS, case
        assert sorted(p.name for p in elsewhere.iterdir()) == before, case
        for p in root.iterdir():  # the plant goes; a catalog refused was never opened
            if p.is_symlink() or p.name == LOCK_NAME:
                p.unlink()
    # the import ledger: the import stops before anything is placed, the file elsewhere kept
    victim = elsewhere / "victim"
    (root / NAMES.format(owner="admin")).symlink_to(victim)
    imported = run_cli("import", str(photos[0]), "--media-root", str(root), "--json",
                       timeout=TIME_LIMIT_S)
    assert (imported.code, imported.summary["error"]["type"]) == (9, "PathEscape")
    assert not imported.crashed
    assert victim.read_bytes() == PRECIOUS
    (root / NAMES.format(owner="admin")).unlink()
    runs.append(run_ingest(lib, root, "--workers", "1", timeout=TIME_LIMIT_S))
    assert runs[-1].code == 0, runs[-1].stderr
    fig, detail = account("own files planted as links (then removed)", photos, root, runs)
    fig.peak_rss_mib = max(fig.peak_rss_mib, round(imported.peak_rss / 2**20, 1))
    ledger(fig)
    _clean(fig, detail)
    assert fig.processed == len(photos)


# --- 2: video over image.maxPixels -------------------------------------------------------------

def test_a_16000x16000_video_and_motion_photo_are_too_large_before_decoding(
        tmp_path: Path, ledger: Callable[[Figures], Figures]) -> None:
    lib, root = tmp_path / "lib", tmp_path / "media"
    good = _photos(lib, 2)
    good.append(videos.video(lib / "ok.mp4", duration=1.0, audio=()))
    bombs = [videos.mjpeg_bomb(lib / "bomb.mp4"), videos.mjpeg_bomb(lib / "bomb.mov")]
    clip = videos.mjpeg_bomb(tmp_path / "clip.mp4").read_bytes()
    bombs.append(live.motion_photo(lib / "PXL_0001.MP.jpg", clip=clip))
    storage.init_root(root)
    run = run_ingest(lib, root, "--workers", "1", timeout=TIME_LIMIT_S,
                     env={"MEDIAPIPE_FFMPEG_TRANSCODE": "all"})
    fig, detail = account("16000x16000 MJPEG video + motion photo", good + bombs, root, [run])
    ledger(fig)
    _clean(fig, detail)
    failures = {Path(f["path"]).name: f["error"] for f in run.summary["failures"]}
    assert set(failures) == {b.name for b in bombs}
    rows = catalog_rows(root)
    last = {b.name: (rows[os.fsencode(b)]["error_stage"], rows[os.fsencode(b)]["error_type"],
                     rows[os.fsencode(b)]["error_message"]) for b in bombs}
    # the step that would have decoded the video refused it (the last failure recorded)
    assert {n: (stage, kind) for n, (stage, kind, _) in last.items()} == {
        "bomb.mp4": ("video", "TooLarge"), "bomb.mov": ("video", "TooLarge"),
        "PXL_0001.MP.jpg": ("motion", "TooLarge")}, last
    assert not any(".mptmp" in m for *_, m in last.values()), "the error names the photo"
    assert not list((root / "encoded-video").rglob("*-MP.mp4")), "a refused part is not kept"
    assert fig.processed == len(good)


# --- 4: FIFOs ----------------------------------------------------------------------------------

def test_a_fifo_named_p_jpg_is_refused_at_once_by_info_thumbnail_and_import(
        tmp_path: Path, ledger: Callable[[Figures], Figures]) -> None:
    good = images.jpeg(tmp_path / "a.jpg", (320, 240))
    fifo = tmp_path / "p.jpg"
    os.mkfifo(fifo)
    folder = tmp_path / "camera"
    folder.mkdir()
    os.mkfifo(folder / "q.jpg")
    images.jpeg(folder / "c.jpg", (64, 48))
    root = tmp_path / "media"
    storage.init_root(root)
    fig = Figures("FIFO p.jpg: info, thumbnail, import")
    runs = [run_cli("info", str(fifo), str(good), "--json", timeout=30),
            run_cli("thumbnail", str(fifo), str(good), "--out", str(tmp_path / "out"), "--json",
                    timeout=30),
            run_cli("import", str(good), str(fifo), str(folder), "--media-root", str(root),
                    "--json", timeout=30)]
    for run in runs:
        fig.hung += run.hung
        fig.crashed += run.hung or "Traceback" in run.stderr or run.code != 12
        fig.peak_rss_mib = max(fig.peak_rss_mib, round(run.peak_rss / 2**20, 1))
    info, thumbnail, imported = (r.summary for r in runs)
    for items in (info["items"], thumbnail["items"]):
        fig.tried += len(items)
        fig.processed += sum("error" not in i for i in items)
        fig.failed_clean += sum(i.get("type") == "Unreadable" for i in items)
    fig.tried += 4
    fig.processed += len(imported["placed"])
    fig.failed_clean += sum(f["type"] == "Unreadable" for f in imported["failed"])
    fig.failed_clean += sum("p.jpg: not a regular file" in r.stderr for r in runs[2:])
    fig.lost = fig.tried - fig.processed - fig.failed_clean
    fig.partial = len(partial_files(root))
    ledger(fig)
    _clean(fig, {})
    assert fig.processed == 4  # a.jpg read, a.jpg thumbnailed, a.jpg and c.jpg placed


# --- 5: live-photo pairs -----------------------------------------------------------------------

ID_A, ID_B, ID_C = ("8E0E1A39-6C7B-4B43-9B3C-5D0C9E2A0F11", "1D2C3B4A-0000-4000-8000-00000000AAAA",
                    "570F1469-09C7-4E50-9875-05F21D5BD166")


def _ls(root: Path) -> dict[str, dict]:
    run = run_cli("ls", "--media-root", str(root), "--json", timeout=60)
    assert run.code == 0, run.stderr
    return {Path(i["path"]).name: i for i in run.summary["items"]}


def test_live_photo_pairs_are_recomputed_from_what_the_files_say_now(
        tmp_path: Path, ledger: Callable[[Figures], Figures]) -> None:
    lib, root = tmp_path / "lib", tmp_path / "media"
    lib.mkdir()
    storage.init_root(root)
    live.live_still(lib / "changes.jpg", ID_A)
    live.live_video(lib / "changes-old.mov", ID_A)
    live.live_video(lib / "changes-new.mov", ID_B)
    live.live_still(lib / "deleted.jpg", ID_C)
    live.live_video(lib / "deleted.mov", ID_C)
    live.live_still(lib / "two.jpg", "2222AAAA-0000-4000-8000-000000000002")
    live.live_video(lib / "two-a.mov", "2222AAAA-0000-4000-8000-000000000002")
    live.live_video(lib / "two-b.mov", "2222AAAA-0000-4000-8000-000000000002")
    live.live_still(lib / "spaces.jpg", "   ")
    live.live_video(lib / "spaces.mov", "   ")
    first = run_ingest(lib, root, "--workers", "1", timeout=TIME_LIMIT_S)
    assert first.code == 0, first.stderr
    items = _ls(root)
    assert items["changes-old.mov"]["hidden"] and items["deleted.mov"]["hidden"]
    live.live_still(lib / "changes.jpg", ID_B)  # the still now says another id
    os.utime(lib / "changes.jpg", ns=(1, 1))
    (lib / "deleted.jpg").unlink()
    second = run_ingest(lib, root, "--workers", "1", timeout=TIME_LIMIT_S)
    items = _ls(root)
    sources = sorted(p for p in lib.iterdir())
    fig, detail = account("live-photo pairs recomputed", sources, root, [first, second])
    ledger(fig)
    _clean(fig, detail)
    ids = {name: item["asset_id"] for name, item in items.items()}
    assert items["changes.jpg"]["linked_video"] == ids["changes-new.mov"]
    assert (items["changes-old.mov"]["hidden"], items["changes-new.mov"]["hidden"]) == \
        (False, True)
    assert items["deleted.mov"]["hidden"] is False, "its still is gone: the MOV is seen again"
    linked = items["two.jpg"]["linked_video"]
    hidden = {n for n in ("two-a.mov", "two-b.mov") if items[n]["hidden"]}
    assert hidden == {n for n in ("two-a.mov", "two-b.mov") if ids[n] == linked}
    assert items["spaces.jpg"]["live_photo_id"] is None is items["spaces.mov"]["live_photo_id"]
    assert not items["spaces.mov"]["hidden"] and items["spaces.jpg"]["linked_video"] is None


# --- 7: a full disk ----------------------------------------------------------------------------

def _mount(*argv: str) -> bool:
    return subprocess.run(["mount", *argv], capture_output=True, check=False).returncode == 0


@contextlib.contextmanager
def _tmpfs(path: Path, size: str) -> Iterator[None]:
    path.mkdir()
    if not _mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)):
        pytest.skip("cannot mount a tmpfs here (not root)")
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


def test_a_full_media_root_is_exit_4_with_one_json_object_and_a_rerun_finishes(
        tmp_path: Path, ledger: Callable[[Figures], Figures]) -> None:
    lib, root = tmp_path / "lib", tmp_path / "media"
    photos = _photos(lib, 40)
    with _tmpfs(root, "300k"):
        storage.init_root(root)
        full = run_ingest(lib, root, "--workers", "1", timeout=TIME_LIMIT_S)
        assert full.code == 4, full.stderr
        said = full.summary.get("error") or {}
        failures = full.summary.get("failures") or []
        assert said.get("type") == "StorageOffline" or failures, full.summary
        assert "the disk is full" in full.stderr
        assert not partial_files(root), "no temp or empty file left by the full disk"
        assert _mount("-o", "remount,size=64m", str(root))
        rerun = run_ingest(lib, root, "--workers", "1", timeout=TIME_LIMIT_S)
        assert rerun.code == 0, rerun.stderr
        fig, detail = account("whole media root full (tmpfs), then grown", photos, root,
                              [full, rerun])
        ledger(fig)
        _clean(fig, detail)
        assert fig.processed == len(photos)


# --- 8: names ----------------------------------------------------------------------------------

NAMES_SHOWN = {b"new\nline.jpg": "new\\nline.jpg", b"\x1b[31mred.jpg": "\\x1b[31mred.jpg",
               b"caf\xe9.jpg": "caf\\xe9.jpg", b"cr\rhere.jpg": "cr\\rhere.jpg",
               b"rtl\xe2\x80\xaegpj.jpg": "rtl\\u202egpj.jpg"}


def test_hostile_names_are_one_line_each_in_ls_and_exact_in_its_json(
        tmp_path: Path, ledger: Callable[[Figures], Figures]) -> None:
    lib, root = tmp_path / "lib", tmp_path / "media"
    lib.mkdir()
    sources = []
    for i, raw in enumerate(NAMES_SHOWN):
        made = images.jpeg(lib / f"tmp{i}.jpg", (64, 48))
        final = os.path.join(os.fsencode(lib), raw)
        os.rename(made, final)
        sources.append(Path(os.fsdecode(final)))
    storage.init_root(root)
    run = run_ingest(lib, root, "--workers", "1", timeout=TIME_LIMIT_S)
    fig, detail = account("hostile names in ls (text and JSON)", sources, root, [run])
    ledger(fig)
    _clean(fig, detail)
    text = subprocess.run([*_mediapipe(), "ls", "--media-root", str(root)], capture_output=True,
                          timeout=60, check=True).stdout
    lines = text.decode("utf-8").splitlines()
    assert len(lines) == len(NAMES_SHOWN) and b"\x1b" not in text and b"\r" not in text
    assert sorted(line.rsplit("/", 1)[1] for line in lines) == sorted(NAMES_SHOWN.values())
    listed = run_cli("ls", "--media-root", str(root), "--json", timeout=60)
    raw_json = subprocess.run([*_mediapipe(), "ls", "--media-root", str(root), "--json"],
                              capture_output=True, timeout=60, check=True).stdout
    assert b"\\udc" not in raw_json
    exact = {os.path.basename(base64.b64decode(i["path_bytes"]) if "path_bytes" in i
                              else os.fsencode(i["path"])) for i in listed.summary["items"]}
    assert exact == set(NAMES_SHOWN)


def _mediapipe() -> list[str]:
    return [sys.executable, "-m", "mediapipe"]

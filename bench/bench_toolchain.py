"""``mediapipe ingest`` end to end against Immich's toolchain on the same real photos.

Ours: the real command (``mediapipe ingest LIB --media-root ROOT --workers 2``, start-up, scan,
catalog, metadata, thumbnails, writes) into a fresh media root. Immich's toolchain, as its
microservices run it: two worker processes, each with one ``exiftool -stay_open`` (metadata as
JSON, per file), then libvips: the preview decoded once at "fit outside" size (the shorter side
1440, never enlarged) kept in memory, JPEG Q80 and the 250 px WebP thumbnail from it, the
ThumbHash from a 100 px copy (our ThumbHash code, so both sides do that part alike), both
files written. JPEGs: libvips 8.18 (pyvips-binary); HEICs: the system's libvips with libheif
(pip's has no HEVC). Files: the real samples of ``bench_thumbnails`` copied into a library,
``COPIES`` times each (different names, same bytes). Best of ``RUNS`` wall times, alternating.
Both sides run with Python's bytecode cached, as an installed package runs (pip compiles it at
install; ``PYTHONDONTWRITEBYTECODE`` in a developer's shell would make every start compile).
Targets (issue 23): JPEG >= 1.5x Immich's toolchain, HEIC >= 1.1x.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.bench_thumbnails import HEICS, JPEGS, PREVIEW, QUALITY, THUMB, samples
from mediapipe.library import storage

COPIES, RUNS, WORKERS = 7, 3, 2
_EXIFTOOL: subprocess.Popen[bytes] | None = None
_VIPS: Any = None


def _library(root: Path, files: list[Path]) -> Path:
    root.mkdir(parents=True)
    for copy in range(COPIES):
        for f in files:
            shutil.copy(f, root / f"{copy:02d}-{f.name}")
    return root


def _env(work: Path) -> dict[str, str]:
    """Python's copy of the environment (pyvips-binary's libvips sets VIPSHOME in the C one),
    with bytecode cached in ``work`` (see the module docstring)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "PYTHONPYCACHEPREFIX": str(work / "pycache")}


def _ours(lib: Path, work: Path) -> float:
    root = work / "media-ours"
    shutil.rmtree(root, ignore_errors=True)
    storage.init_root(root)
    argv = [sys.executable, "-m", "mediapipe", "ingest", str(lib), "--media-root", str(root),
            "--workers", str(WORKERS), "--json"]
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=900,
                          env=_env(work))
    elapsed = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr[-800:]
    return elapsed


def _immich(lib: Path, work: Path, system_vips: bool) -> float:
    out = work / "media-immich"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    argv = [sys.executable, "-m", "bench.bench_toolchain", str(lib), str(out),
            "system" if system_vips else "pip"]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=900,
                          env=_env(work))
    assert proc.returncode == 0, proc.stderr[-800:]
    return float(proc.stdout.split()[-1])


def _start_worker(system_vips: bool) -> None:
    global _EXIFTOOL, _VIPS
    if system_vips:
        sys.modules["_libvips"] = None  # type: ignore[assignment]  # pyvips in ABI mode
    import pyvips

    pyvips.concurrency_set(1)
    pyvips.cache_set_max(0)
    _VIPS = pyvips
    _EXIFTOOL = subprocess.Popen(["exiftool", "-stay_open", "True", "-@", "-"],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL)
    # Ended with the worker (the pool is closed and joined, so its workers exit normally and
    # run their finalizers): exiftool does not end at its input's end, and was left behind.
    multiprocessing.util.Finalize(None, _stop_exiftool, args=(_EXIFTOOL,), exitpriority=10)


def _stop_exiftool(proc: subprocess.Popen[bytes]) -> None:
    assert proc.stdin is not None
    proc.stdin.write(b"-stay_open\nFalse\n")
    proc.stdin.close()
    proc.wait(timeout=30)


def _exif(path: Path) -> bytes:
    assert _EXIFTOOL is not None and _EXIFTOOL.stdin and _EXIFTOOL.stdout
    _EXIFTOOL.stdin.write(f"-json\n-n\n-struct\n{path}\n-execute\n".encode())
    _EXIFTOOL.stdin.flush()
    out = b""
    while not out.endswith(b"{ready}\n"):
        out += _EXIFTOOL.stdout.readline()
    return out


def _immich_asset(job: tuple[Path, Path]) -> str:
    import numpy as np

    from mediapipe.thumbnails import thumbhash

    path, out = job
    _exif(path)
    pyvips = _VIPS
    head = pyvips.Image.new_from_file(str(path))
    turned = head.get_typeof("orientation") and head.get("orientation") in (5, 6, 7, 8)
    w, h = (head.height, head.width) if turned else (head.width, head.height)
    big = 10_000_000
    box = (big, PREVIEW) if w >= h else (PREVIEW, big)
    preview = pyvips.Image.thumbnail(str(path), box[0], height=box[1], size="down")
    preview = preview.colourspace("srgb").copy_memory()
    preview.jpegsave(str(out / f"{path.stem}-preview.jpeg"), Q=QUALITY, strip=True)
    tbox = (big, THUMB) if w >= h else (THUMB, big)
    preview.thumbnail_image(tbox[0], height=tbox[1]).webpsave(
        str(out / f"{path.stem}-thumbnail.webp"), Q=QUALITY, strip=True)
    small = preview.thumbnail_image(100, height=100)
    if small.bands == 3:
        small = small.bandjoin(255)
    rgba = np.ndarray(buffer=small.write_to_memory(), dtype=np.uint8,
                      shape=(small.height, small.width, small.bands))
    return thumbhash.to_base64(thumbhash.encode(rgba))


def _immich_run(lib: Path, out: Path, system_vips: bool) -> None:
    """The Immich side, timed from before its workers start to the last file written."""
    start = time.perf_counter()
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(WORKERS, initializer=_start_worker, initargs=(system_vips,)) as pool:
        jobs = [(p, out) for p in sorted(lib.iterdir())]
        hashes = pool.map(_immich_asset, jobs, chunksize=1)
        elapsed = time.perf_counter() - start
        pool.close()
        pool.join()
    assert len(hashes) == len(jobs)
    print(elapsed)


def _race(label: str, files: list[Path], work: Path, system_vips: bool, target: float) -> None:
    if not files:
        print(f"{label}: skipped, no samples")
        return
    lib = _library(work / f"lib-{label}", files)
    ours, theirs = [], []
    for _ in range(RUNS):
        ours.append(_ours(lib, work))
        theirs.append(_immich(lib, work, system_vips))
    n = len(files) * COPIES
    print(f"{label}: {n} files, {WORKERS} processes, best of {RUNS}: mediapipe ingest "
          f"{min(ours):.2f}s   Immich's toolchain {min(theirs):.2f}s   "
          f"ratio {min(theirs) / min(ours):.2f}x (target >= {target}x)", flush=True)


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        _race("real JPEGs (libvips 8.18)", samples(JPEGS), work, False, 1.5)
        _race("real HEICs (system libvips + libheif)", samples(HEICS), work, True, 1.1)


if __name__ == "__main__":
    _immich_run(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3] == "system")

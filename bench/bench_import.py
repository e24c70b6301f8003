"""Import throughput: rename on one filesystem, verified copy across two, against shutil.copy2.

Same files, same process: ``importer.import_files`` (sha1 for the asset id, template render,
``+N`` check, then a hard-link move or a copy that is fsynced and sha1-verified) against a bare
``shutil.copy2`` loop and a bare ``os.rename`` loop. The second filesystem is /dev/shm when it is
one; otherwise both runs are on one disk (the figures say which).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from fixtures.imports import known_reader
from mediapipe.config import Config
from mediapipe.library import imports as importer
from mediapipe.library import storage

N = 300
SIZE = 256 * 1024  # a small JPEG; large enough that copying bytes is part of the cost


def _make(folder: Path) -> list[Path]:
    folder.mkdir(parents=True)
    out = []
    for i in range(N):
        p = folder / f"IMG_{i:05d}.jpg"
        p.write_bytes(os.urandom(SIZE))
        os.utime(p, (1.6e9 + i * 3600, 1.6e9 + i * 3600))
        out.append(p)
    return out


def _rate(seconds: float) -> float:
    return N / seconds if seconds > 0 else float("inf")


def _timed_import(src: Path, root: Path, *, move: bool) -> float:
    start = time.perf_counter()
    report = importer.import_files([src], root, Config(), move=move, reader=known_reader)
    elapsed = time.perf_counter() - start
    assert len(report.placements) == N and not report.failed
    return elapsed


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        disk = Path(d)
        shm = Path("/dev/shm")
        other = (Path(tempfile.mkdtemp(dir=shm)) if shm.is_dir()
                 and shm.stat().st_dev != disk.stat().st_dev else Path(tempfile.mkdtemp()))
        try:
            root = disk / "media"
            storage.init_root(root)

            files = _make(disk / "same")
            start = time.perf_counter()
            for i, p in enumerate(files):
                os.rename(p, disk / f"renamed-{i}.jpg")
            bare_rename = time.perf_counter() - start
            for i, p in enumerate(files):
                os.rename(disk / f"renamed-{i}.jpg", p)
            same = _timed_import(disk / "same", root, move=True)

            files = _make(other / "cross")
            (disk / "plain").mkdir()
            start = time.perf_counter()
            for p in files:
                shutil.copy2(p, disk / "plain" / p.name)
            plain = time.perf_counter() - start
            cross = _timed_import(other / "cross", root, move=False)
        finally:
            shutil.rmtree(other, ignore_errors=True)
    where = f"{other.parent} -> disk" if other.parent == shm else "one disk (no tmpfs)"
    print(f"files: {N} x {SIZE // 1024} KiB; cross-filesystem: {where}")
    print(f"same-fs move (link+unlink, sha1 for id): {_rate(same):8.0f} files/s   "
          f"bare os.rename {_rate(bare_rename):8.0f} files/s")
    print(f"cross-fs copy+fsync+sha1 verify:        {_rate(cross):8.0f} files/s   "
          f"shutil.copy2 {_rate(plain):8.0f} files/s   ratio {plain / cross:.2f}x of copy2 speed")
    print(f"same-fs move vs shutil.copy2 loop: {plain / same:.2f}x of copy2 speed")

"""Scanning a 100,000-file library into the catalog: first scan, unchanged rescan, peak RSS.

Targets (issue 8): an unchanged rescan of 100,000 files in <= 5 s, start-up included; peak RSS of
the scanner <= 200 MB. Also the cost of ``library.scan.fingerprint`` (issue 17: off by default),
on the same tree and on 2,000 photo-size files (3 MB, their first and last 64 KiB written, a
hole between: the bytes a fingerprint reads are real), page cache warm. Each run is a fresh
``python`` process (wall time includes interpreter start-up and imports; RSS is that process's
own peak). The reference is a bare
``os.walk`` + ``os.stat`` of the same tree in this process: the floor any scanner pays.
The tree is generated once under the system temp folder and reused (page cache warm).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fixtures.library import build_flat_library

FILES = 100_000
SMALL = 2_000
PHOTOS, PHOTO_SIZE = 2_000, 3 * 2**20

# ru_maxrss survives exec: a child of a big bench process would report the parent's peak. The
# child resets its high-water mark first and reads it (VmHWM) at the end.
_CHILD = """
import json, sys, time
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
t0 = time.perf_counter()
from mediapipe.library import storage
from mediapipe.index.catalog import Catalog
from mediapipe.config import Config
from mediapipe.index.scan import LibraryScan
media, library, fingerprint = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
storage.init_root(media)
with Catalog.open(media) as cat:
    d = cat.diff(LibraryScan(library, Config().library.exclusion_patterns,
                             fingerprint=fingerprint))
with open("/proc/self/status") as f:
    rss = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024
print(json.dumps({"inner_s": time.perf_counter() - t0, "rss_mb": rss, "new": d.new,
                  "unchanged": d.unchanged, "scanned": d.scanned}))
"""


def _run(media: Path, library: Path, fingerprint: bool = False) -> dict[str, float]:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", _CHILD, str(media), str(library),
                          "1" if fingerprint else "0"],
                         capture_output=True, text=True, check=True).stdout
    result = json.loads(out)
    result["wall_s"] = time.perf_counter() - start
    return result


def _bare_walk(library: Path) -> tuple[int, float]:
    start = time.perf_counter()
    n = 0
    for folder, _dirs, names in os.walk(library):
        for name in names:
            if name[0] != ".":
                os.stat(os.path.join(folder, name))
                n += 1
    return n, time.perf_counter() - start


def _photo_size_library(root: Path) -> Path:
    """``PHOTOS`` sparse files of ``PHOTO_SIZE`` bytes, random at both ends; idempotent."""
    done = root / ".complete"
    if done.exists():
        return root
    root.mkdir(parents=True, exist_ok=True)
    for i in range(PHOTOS):
        with open(root / f"IMG_{i:05d}.jpg", "wb") as f:
            f.write(os.urandom(64 * 1024))
            f.seek(PHOTO_SIZE - 64 * 1024)
            f.write(os.urandom(64 * 1024))
    done.touch()
    return root


def _fingerprint_cost(media: Path, library: Path, n: int, what: str) -> None:
    _run(media, library, fingerprint=True)  # records them (an unchanged rescan would too)
    plain = min(_run(media, library)["wall_s"] for _ in range(3))
    taken = min(_run(media, library, fingerprint=True)["wall_s"] for _ in range(3))
    print(f"unchanged rescan, {what}: {plain:6.2f}s plain, {taken:6.2f}s with fingerprints "
          f"= {taken / plain:.2f}x, +{(taken - plain) / n * 1e6:.0f} us a file "
          f"({n * 128 / 2**20:.1f} GiB read a scan when every file is 128 KiB or more)")


def main() -> None:
    cache = Path(tempfile.gettempdir()) / "mediapipe-bench"
    start = time.perf_counter()
    big = build_flat_library(cache / f"library-{FILES}", FILES)
    small = build_flat_library(cache / f"library-{SMALL}", SMALL, per_folder=200)
    print(f"tree of {FILES:,} files ready in {time.perf_counter() - start:.1f}s ({big})")

    with tempfile.TemporaryDirectory() as tmp:
        media = Path(tmp) / "media"
        first = _run(media, big)
        again = _run(media, big)
        media_small = Path(tmp) / "media-small"
        _run(media_small, small)
        small_again = _run(media_small, small)
        db_mb = (media / "catalog.db").stat().st_size / 2**20
    walked, bare = _bare_walk(big)
    assert first["new"] == walked == FILES, (first, walked)
    assert again["unchanged"] == FILES, again

    print(f"first scan + insert : {first['wall_s']:6.2f}s wall  "
          f"{FILES / first['wall_s']:9,.0f} files/s  peak RSS {first['rss_mb']:5.0f} MB")
    print(f"unchanged rescan    : {again['wall_s']:6.2f}s wall  "
          f"{FILES / again['wall_s']:9,.0f} files/s  peak RSS {again['rss_mb']:5.0f} MB   "
          f"(target <= 5 s, <= 200 MB)")
    print(f"bare os.walk + stat : {bare:6.2f}s        "
          f"{walked / bare:9,.0f} files/s   rescan/bare = {again['wall_s'] / bare:.2f}x")
    print(f"unchanged {SMALL:,}-file rescan: {small_again['wall_s']:.2f}s wall (start-up "
          f"included; the ingest command's budget is 1.5 s)   catalog.db {db_mb:.0f} MB "
          f"for {FILES:,} sources")
    photos = _photo_size_library(cache / f"photos-{PHOTOS}")
    with tempfile.TemporaryDirectory() as tmp:
        _fingerprint_cost(Path(tmp) / "media", big, FILES, f"{FILES:,} one-byte files")
        _fingerprint_cost(Path(tmp) / "media-photos", photos, PHOTOS,
                          f"{PHOTOS:,} files of {PHOTO_SIZE >> 20} MB")

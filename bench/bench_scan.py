"""Scanning a 100,000-file library into the catalog: first scan, unchanged rescan, peak RSS.

Targets (issue 8): an unchanged rescan of 100,000 files in <= 5 s, start-up included; peak RSS of
the scanner <= 200 MB. Each run is a fresh ``python`` process (wall time includes interpreter
start-up and imports; RSS is that process's own peak). The reference is a bare
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

_CHILD = """
import json, resource, sys, time
t0 = time.perf_counter()
from mediapipe.library import storage
from mediapipe.index.catalog import Catalog
from mediapipe.config import Config
from mediapipe.index.scan import LibraryScan
media, library = sys.argv[1], sys.argv[2]
storage.init_root(media)
with Catalog.open(media) as cat:
    d = cat.diff(LibraryScan(library, Config().library.exclusion_patterns))
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"inner_s": time.perf_counter() - t0, "rss_mb": rss, "new": d.new,
                  "unchanged": d.unchanged, "scanned": d.scanned}))
"""


def _run(media: Path, library: Path) -> dict[str, float]:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", _CHILD, str(media), str(library)],
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

"""``ingest --watch``: from files landing in a followed library to their rows in the catalog.

Target (issue 18): 1,000 photos copied in at once are all processed, each once; the figure is
the latency from the end of the copy to the last one done in the catalog, beside the time the
same 1,000 take through a plain ``ingest`` in the same run (the watch's own cost is the
difference: the settle wait and its rescans). The unchanged rescan of 100,000 files with the
catalog's columns is in ``bench_scan``.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

from fixtures import images
from mediapipe.config import Config, LibraryScanConfig
from mediapipe.index.catalog import Catalog
from mediapipe.index.ingest import IngestSummary, ingest
from mediapipe.index.listing import stats
from mediapipe.index.watch import follow
from mediapipe.library import storage
from mediapipe.pipeline.local import LocalRunner

CACHE = Path(tempfile.gettempdir()) / "mediapipe-bench"
N = 1000


def _photos() -> Path:
    folder = CACHE / f"watch-{N}"
    if not (folder / f"{N - 1:04d}.jpg").exists():
        folder.mkdir(parents=True, exist_ok=True)
        first = images.jpeg(folder / "0000.jpg", (640, 480))
        for i in range(1, N):  # distinct files (bytes differ by a comment), one decode each
            (folder / f"{i:04d}.jpg").write_bytes(first.read_bytes() + i.to_bytes(4, "big"))
    return folder


def _done(root: Path) -> int:
    with Catalog.open(root) as cat:
        return stats(cat).by_stage["thumbnails"].get("done", 0)


def main() -> None:
    photos = _photos()
    cfg = Config()
    cfg = cfg.replace(library=dataclasses.replace(cfg.library,
                                                  scan=LibraryScanConfig(enabled=False)))
    workers = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        work = Path(tmp)
        plain_lib, plain_root = work / "plain", work / "plain-media"
        shutil.copytree(photos, plain_lib)
        storage.init_root(plain_root)
        start = time.perf_counter()
        ingest(plain_lib, LocalRunner(plain_root, cfg, workers))
        plain = time.perf_counter() - start

        lib, root = work / "lib", work / "media"
        lib.mkdir()
        storage.init_root(root)
        summaries: list[IngestSummary] = []
        stop = threading.Event()
        thread = threading.Thread(target=follow, args=(lib, LocalRunner(root, cfg, workers)),
                                  kwargs={"stop": stop, "on_summary": summaries.append})
        thread.start()
        while not summaries:
            time.sleep(0.05)
        start = time.perf_counter()
        for p in sorted(photos.iterdir()):
            shutil.copy(p, lib / p.name)
        copied = time.perf_counter()
        while _done(root) < N and time.perf_counter() - copied < 600:
            time.sleep(0.05)
        last = time.perf_counter()
        stop.set()
        thread.join()
    processed = sum(s.processed for s in summaries)
    settle = cfg.library.watch.settle_seconds
    print(f"{N} photos copied in {copied - start:.2f}s; all in the catalog "
          f"{last - copied:.2f}s after the copy ended ({N / (last - start):.0f} files/s from "
          f"its start); processed {processed} times in {len(summaries) - 1} ingests "
          f"(target: each once: {'OK' if processed == N else 'NO'})")
    print(f"the same {N} through a plain ingest: {plain:.2f}s; the watch's own cost "
          f"(settle {settle:g}s, rescans): {(last - start) - plain:+.2f}s")

"""The Celery path against the in-process path on the same corpus, and 2 workers against 1.

Targets (issue 7): per-asset overhead of Celery <= 5 % of the in-process time; throughput with 2
worker processes >= 1.7x one. Uses a private redis-server and real worker processes; the corpus
is 24 photo-like 12 MP JPEGs (the size of a phone photo), thumbnails only.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from fixtures import images
from mediapipe import storage
from mediapipe.config import Config
from mediapipe.identity import asset_id_for_path
from mediapipe.pipeline import process_asset
from tests.support.services import CeleryWorker, RedisServer
from workers.app import make_app
from workers.dispatch import Run

N = 24


def _celery(redis: RedisServer, sources: list[Path], root: Path, concurrency: int,
            work: Path) -> float:
    storage.init_root(root)
    worker = CeleryWorker(redis.url, "metadata,thumbnails", work, name=f"b{concurrency}",
                          concurrency=concurrency).start()
    try:
        cfg = Config()
        warm = Run(make_app(cfg.replace(broker_url=redis.url)), root, cfg)
        warm.submit([(str(sources[0]), "warm-up-" + asset_id_for_path(sources[0]), "image")])
        list(warm.results(timeout=120))  # the pool's processes are up and have run once
        run = Run(make_app(cfg.replace(broker_url=redis.url)), root, cfg)
        start = time.perf_counter()
        run.submit((str(s), asset_id_for_path(s), "image") for s in sources)
        results = list(run.results(timeout=600))
        elapsed = time.perf_counter() - start
        assert len(results) == len(sources) and all(r.ok for r in results)
        return elapsed
    finally:
        worker.stop()


def _local(sources: list[Path], root: Path) -> float:
    storage.init_root(root)
    cfg = Config()
    start = time.perf_counter()
    for s in sources:
        assert process_asset(s, asset_id_for_path(s), root, cfg).ok
    return time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        corpus = work / "corpus"
        corpus.mkdir()
        sources = [images.noise_jpeg(corpus / f"IMG_{i:03d}.jpg", (4000, 3000), seed=i)
                   for i in range(N)]
        redis = RedisServer(work / "redis").start()
        try:  # in-process before and after the Celery runs: the machine's load drifts
            local = _local(sources, work / "local-1")
            one = _celery(redis, sources, work / "c1", 1, work)
            local = (local + _local(sources, work / "local-2")) / 2
            two = _celery(redis, sources, work / "c2", 2, work)
        finally:
            redis.stop()
    per_local, per_one = local / N * 1000, one / N * 1000
    print(f"in-process, 1 process : {N / local:6.2f} assets/s  ({per_local:.1f} ms/asset)")
    print(f"celery, 1 worker proc : {N / one:6.2f} assets/s  ({per_one:.1f} ms/asset)  "
          f"overhead {100 * (one - local) / local:+.1f}%  (target <= 5%)")
    print(f"celery, 2 worker procs: {N / two:6.2f} assets/s  speed-up {one / two:.2f}x over 1  "
          f"(target >= 1.7x)")

"""The Celery path against the in-process path on the same corpus, and 2 workers against 1.

Targets (issue 7): per-asset overhead of Celery <= 5 % of the in-process time; throughput with 2
worker processes >= 1.7x one. Uses a private redis-server and real worker processes; the corpus
is 60 photo-like 12 MP JPEGs (the size of a phone photo), metadata and thumbnails.

Two overhead figures: the wall-clock one (sensitive to whatever else the machine runs), and the
framework's own: wall time per asset minus the time its stages took inside the task (as each
``StageOutcome`` records it), compared with the same quantity in-process.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from fixtures import images
from mediapipe import storage
from mediapipe.config import Config
from mediapipe.identity import asset_id_for_path
from mediapipe.pipeline import AssetResult, process_asset
from tests.support.services import CeleryWorker, RedisServer
from workers.app import make_app
from workers.dispatch import Run

N = 60


def _stage_time(results: list[AssetResult]) -> float:
    return sum(o.duration_s for r in results for o in r.stages.values())


def _celery(redis: RedisServer, sources: list[Path], root: Path, concurrency: int,
            work: Path) -> tuple[float, float]:
    storage.init_root(root)
    worker = CeleryWorker(redis.url, "metadata,thumbnails", work, name=f"b{concurrency}",
                          concurrency=concurrency).start()
    try:
        cfg = Config()
        warm = Run(make_app(cfg.replace(broker_url=redis.url)), root, cfg)
        warm.submit([(str(s), "warm-up-" + asset_id_for_path(s), "image")
                     for s in sources[:concurrency]])
        list(warm.results(timeout=120))  # the pool's processes are up and have run once
        run = Run(make_app(cfg.replace(broker_url=redis.url)), root, cfg)
        start = time.perf_counter()
        run.submit((str(s), asset_id_for_path(s), "image") for s in sources)
        results = list(run.results(timeout=600))
        elapsed = time.perf_counter() - start
        assert len(results) == len(sources) and all(r.ok for r in results)
        return elapsed, _stage_time(results)
    finally:
        worker.stop()


def _local(sources: list[Path], root: Path) -> tuple[float, float]:
    storage.init_root(root)
    cfg = Config()
    start = time.perf_counter()
    results = [process_asset(s, asset_id_for_path(s), root, cfg) for s in sources]
    elapsed = time.perf_counter() - start
    assert all(r.ok for r in results)
    return elapsed, _stage_time(results)


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        corpus = work / "corpus"
        corpus.mkdir()
        sources = [images.noise_jpeg(corpus / f"IMG_{i:03d}.jpg", (4000, 3000), seed=i)
                   for i in range(N)]
        redis = RedisServer(work / "redis").start()
        try:  # in-process before and after the Celery runs: the machine's load drifts
            local_a = _local(sources, work / "local-1")
            one = _celery(redis, sources, work / "c1", 1, work)
            local_b = _local(sources, work / "local-2")
            two = _celery(redis, sources, work / "c2", 2, work)
        finally:
            redis.stop()
    local = statistics.mean([local_a[0], local_b[0]])
    local_frame = statistics.mean([local_a[0] - local_a[1], local_b[0] - local_b[1]]) / N
    one_frame = (one[0] - one[1]) / N
    print(f"in-process, 1 process : {N / local:6.2f} assets/s  ({local / N * 1000:.1f} ms/asset)")
    print(f"celery, 1 worker proc : {N / one[0]:6.2f} assets/s  ({one[0] / N * 1000:.1f} "
          f"ms/asset)  wall overhead {100 * (one[0] - local) / local:+.1f}%")
    overhead = 100 * (one_frame - local_frame) * N / local
    print(f"   framework time per asset: celery {one_frame * 1000:.1f} ms, in-process "
          f"{local_frame * 1000:.1f} ms -> overhead {overhead:+.1f}% of the in-process time "
          f"per asset (target <= 5%)")
    print(f"celery, 2 worker procs: {N / two[0]:6.2f} assets/s  speed-up {one[0] / two[0]:.2f}x "
          f"over 1  (target >= 1.7x)")

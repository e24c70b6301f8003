"""The Celery path against the in-process path on the same corpus, and 2 workers against 1.

Targets (issue 7): per-asset overhead of Celery <= 5 % of the in-process time; throughput with 2
worker processes >= 1.7x one. Uses a private redis-server (AOF, ``appendfsync everysec`` as the
README sets it up) and real worker processes; the corpus is 60 photo-like 12 MP JPEGs (the size
of a phone photo), metadata and thumbnails, each run into a fresh media root.

The machine's load drifts (a shared VM moves by +-5 % from one run to the next), so the two paths
run in alternating rounds against one warm worker, and the figure is the median of the rounds'
overheads, each round comparing neighbours in time. Beside the wall-clock overhead, the
framework's own: wall time per asset minus the time its stages took inside the task (as each
``StageOutcome`` records it), against the same quantity in-process; that one is immune to how
fast the stages happened to run.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from fixtures import images
from mediapipe import allocator
from mediapipe.config import Config
from mediapipe.identity import asset_id_for_path
from mediapipe.library import storage
from mediapipe.pipeline import Asset, AssetResult, process_asset
from mediapipe.workers.app import make_app
from mediapipe.workers.dispatch import Run
from tests.support.services import CeleryWorker, RedisServer

N = 60
ROUNDS = 3

Timing = tuple[float, float]  # (wall seconds, seconds spent inside the stages)


def _timed(results: Callable[[], list[AssetResult]], expected: int) -> Timing:
    start = time.perf_counter()
    done = results()
    elapsed = time.perf_counter() - start
    assert len(done) == expected and all(r.ok for r in done), [r.error for r in done if not r.ok]
    return elapsed, sum(o.duration_s for r in done for o in r.stages.values())


def _local(sources: list[Path], root: Path) -> Timing:
    storage.init_root(root)
    cfg = Config()
    return _timed(lambda: [process_asset(s, asset_id_for_path(s), root, cfg) for s in sources],
                  len(sources))


class _Celery:
    """One warm worker (``concurrency`` pool processes) that runs the corpus on demand."""

    def __init__(self, redis: RedisServer, work: Path, concurrency: int) -> None:
        self.cfg = Config()
        self.app = make_app(self.cfg.replace(broker_url=redis.url))
        self.worker = CeleryWorker(redis.url, "metadata,thumbnails", work,
                                   name=f"bench{concurrency}", concurrency=concurrency).start()

    def run(self, sources: list[Path], root: Path) -> Timing:
        storage.init_root(root)
        run = Run(self.app, root, self.cfg)

        def results() -> list[AssetResult]:
            run.submit(Asset(str(s), asset_id_for_path(s)) for s in sources)
            return list(run.results(timeout=600))

        return _timed(results, len(sources))

    def stop(self) -> None:
        self.worker.stop()


def main() -> None:
    allocator.tune()  # the in-process path as the CLI runs it (the workers tune theirs)
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        corpus = work / "corpus"
        corpus.mkdir()
        sources = [images.noise_jpeg(corpus / f"IMG_{i:03d}.jpg", (4000, 3000), seed=i)
                   for i in range(N)]
        redis = RedisServer(work / "redis").start()
        try:
            one = _Celery(redis, work, 1)
            try:
                one.run(sources[:4], work / "warm-up")  # the pool process has run once
                rounds = [(_local(sources, work / f"local-{i}"),
                           one.run(sources, work / f"celery1-{i}")) for i in range(ROUNDS)]
            finally:
                one.stop()
            two = _Celery(redis, work, 2)
            try:
                two.run(sources[:4], work / "warm-up-2")
                twos = [two.run(sources, work / f"celery2-{i}") for i in range(ROUNDS - 1)]
            finally:
                two.stop()
        finally:
            redis.stop()
    _report(rounds, twos)


def _report(rounds: list[tuple[Timing, Timing]], twos: list[Timing]) -> None:
    def ms(t: float) -> str:
        return f"{t / N * 1000:.1f}"

    wall = [100 * (c[0] - loc[0]) / loc[0] for loc, c in rounds]
    frame = [100 * ((c[0] - c[1]) - (loc[0] - loc[1])) / loc[0] for loc, c in rounds]
    for i, (loc, c) in enumerate(rounds):
        print(f"round {i + 1}: in-process {ms(loc[0])} ms/asset, celery (1 worker process) "
              f"{ms(c[0])} ms/asset: wall {wall[i]:+.1f}%; framework time "
              f"{ms(c[0] - c[1])} vs {ms(loc[0] - loc[1])} ms/asset: {frame[i]:+.1f}%")
    print(f"celery vs in-process, median of {len(rounds)} rounds: wall "
          f"{statistics.median(wall):+.1f}%, framework {statistics.median(frame):+.1f}% "
          f"of the in-process time per asset "
          f"(target <= 5%)")
    best_one = min(c[0] for _, c in rounds)
    best_two = min(t[0] for t in twos)
    print(f"celery, 2 worker processes: {N / best_two:.2f} assets/s, {best_one / best_two:.2f}x "
          f"1 process ({N / best_one:.2f} assets/s), best runs (target >= 1.7x)")

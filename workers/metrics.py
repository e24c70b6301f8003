"""Prometheus metrics of a worker: tasks by stage and outcome, durations, encoders, bytes, queues.

Owns: the metric objects and ``serve(port, broker_url, queues)``, which a ``mediapipe worker
--metrics-port`` parent process calls before forking its pool. The caller sets
``PROMETHEUS_MULTIPROC_DIR`` before this module is imported, so prefork children write to that
shared directory; the parent serves the aggregate plus the queue depths, read from Redis at
scrape time. Without it (a plain ``celery worker``), metrics stay in-process and unserved.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

__all__ = ["record_task", "serve"]

TASKS = Counter("mediapipe_tasks_total", "Tasks finished, by stage and outcome",
                ["stage", "outcome"])
DURATION = Histogram("mediapipe_task_duration_seconds", "Task duration by stage", ["stage"],
                     buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800,
                              7200))
ENCODER = Counter("mediapipe_encoder_used_total", "Transcodes by the encoder that did them",
                  ["encoder"])
FALLBACKS = Counter("mediapipe_encoder_fallbacks_total",
                    "Transcodes that fell back from a hardware encoder")
BYTES = Counter("mediapipe_bytes_written_total", "Bytes written by stage", ["stage"])


def record_task(stage: str, outcome: str, duration_s: float, *, encoder: str | None = None,
                fell_back: bool = False, bytes_written: int = 0) -> None:
    TASKS.labels(stage, outcome).inc()
    DURATION.labels(stage).observe(duration_s)
    if encoder:
        ENCODER.labels(encoder).inc()
    if fell_back:
        FALLBACKS.inc()
    if bytes_written:
        BYTES.labels(stage).inc(bytes_written)


class QueueDepth:
    """Reads each queue's length from the Redis broker when Prometheus scrapes."""

    def __init__(self, broker_url: str, queues: tuple[str, ...]) -> None:
        self.broker_url = broker_url
        self.queues = queues

    def collect(self) -> Iterator[GaugeMetricFamily]:
        import redis

        gauge = GaugeMetricFamily("mediapipe_queue_depth", "Tasks waiting per queue",
                                  labels=["queue"])
        try:
            client = redis.Redis.from_url(self.broker_url, socket_timeout=1)
            for q in self.queues:
                gauge.add_metric([q], client.llen(q))
        except redis.RedisError:
            pass
        yield gauge


def serve(port: int, broker_url: str, queues: tuple[str, ...]) -> None:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    registry.register(QueueDepth(broker_url, queues))
    start_http_server(port, registry=registry)

"""Starting a worker: ``mediapipe worker`` builds the app from its config and runs it.

Owns: ``run_worker`` (the app made from the given ``Config``, metrics served when asked on the
given address — its prefork children's through a multiprocess folder removed when the worker
ends —, the Celery worker started on the given queues, its banner left out of JSON logs) and
``default_concurrency`` (the CPU count for image work; for a worker that serves only the video
queue, the NVENC sessions when an NVENC encoder really opens here, else 1). The settings a
task runs with travel with the run (the coordinator's config, by reference); the worker's own
config (its ``--config``, its ``MEDIAPIPE_*`` variables) sets only the broker and the
``worker.*`` options (time limits, recycling, retries). It says so in its first log line, with
the digest of its own settings; each task's line carries the digest of the settings that task
ran with (``config=``). Before anything starts, the broker is probed (``workers.broker``): a
worker never retries a broker that is not there forever in silence.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence

from mediapipe.config import Config
from mediapipe.pipeline.steps import PIPELINE, Pipeline

__all__ = ["NVENC_SESSIONS", "default_concurrency", "run_worker"]

NVENC_SESSIONS = 3
log = logging.getLogger(__name__)


def default_concurrency(queues: Sequence[str], pipeline: Pipeline = PIPELINE) -> int:
    """CPU count for image work; for a worker that serves only the pipeline's GPU queue,
    NVENC sessions if NVENC opens, else 1."""
    if set(queues) == {pipeline.gpu_queue}:
        from mediapipe.transcode import toolchain

        return NVENC_SESSIONS if toolchain.probe_encoder("h264_nvenc").available else 1
    return os.cpu_count() or 1


def run_worker(cfg: Config, *, queues: Sequence[str], concurrency: int | None = None,
               metrics_port: int | None = None, metrics_address: str = "127.0.0.1",
               hostname: str | None = None, pipeline: Pipeline = PIPELINE) -> None:
    """Serve ``queues`` of ``pipeline`` with a prefork Celery worker until it is stopped."""
    from workers.broker import probe

    probe(cfg.broker_url)
    folder = None
    if metrics_port:
        # Before prometheus_client is imported: pool children share this folder. Under systemd
        # it goes in the unit's RuntimeDirectory; wherever it is, it goes when the worker ends.
        folder = tempfile.mkdtemp(prefix="mediapipe-metrics-",
                                  dir=os.environ.get("RUNTIME_DIRECTORY") or None)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    try:
        if metrics_port:
            _serve_metrics(cfg, metrics_port, metrics_address, pipeline)
        _start(cfg, queues, concurrency, hostname, pipeline)
    finally:
        if folder:
            shutil.rmtree(folder, ignore_errors=True)


def _serve_metrics(cfg: Config, port: int, address: str, pipeline: Pipeline) -> None:
    from pathlib import Path

    from workers import metrics

    exporter = metrics.Exporter(broker_url=cfg.broker_url, queues=pipeline.queues,
                                media_root=Path(cfg.media_root) if cfg.media_root else None)
    metrics.serve(metrics.registry(exporter, multiprocess=True), port, address)


def _start(cfg: Config, queues: Sequence[str], concurrency: int | None,
           hostname: str | None, pipeline: Pipeline) -> None:
    from mediapipe import logs
    from workers.app import make_app
    from workers.broker import redact
    from workers.tasks import config_digest

    app = make_app(cfg, pipeline)
    for name in ("mediapipe.asset", __name__):  # a line per step, and this one, always
        logging.getLogger(name).setLevel(logging.INFO)
    log.info("worker on %s serving %s; its own settings (config %s) set only brokerUrl and "
             "worker.*: each task runs with the settings its coordinator sent with the run "
             "(config=... on each task line)", redact(cfg.broker_url), ",".join(queues),
             config_digest(cfg), extra={"config": config_digest(cfg)})
    n = concurrency or default_concurrency(queues, pipeline)
    # JSON logs are JSON only: Celery's banner (plain text on stdout) is left out; the line
    # above says what it would (broker, queues), and Celery's own lines go through the log.
    quiet = []
    if logs.current()[0] == "json":
        quiet = ["--quiet"]
        sys.__stdout__ = _LogLines()  # type: ignore[misc,assignment]  # Celery: shutdowns
    app.worker_main([*quiet, "worker", "-Q", ",".join(queues), "-c", str(n), "--pool",
                     "prefork", "-n", hostname or "mediapipe@%h", "-l", "info"])


class _LogLines:
    """A stream whose lines are log lines: where Celery prints to the real stdout
    (``safe_say``: "worker: Warm shutdown (MainProcess)"), JSON logs get a JSON line. No
    ``fileno``: Celery then writes through ``write``."""

    def write(self, text: str) -> int:
        for line in text.splitlines():
            if line.strip():
                log.info("%s", line.strip())
        return len(text)

    def flush(self) -> None:
        pass

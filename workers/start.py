"""Starting a worker: ``mediapipe worker`` builds the app from its config and runs it.

Owns: ``run_worker`` (the app made from the given ``Config``, metrics served when asked, the
Celery worker started on the given queues) and ``default_concurrency`` (the CPU count for image
work; for a worker that serves only the video queue, the NVENC sessions when an NVENC encoder
really opens here, else 1). The settings a task runs with travel with the run (the
coordinator's config, by reference); the worker's own config (its ``--config``, its
``MEDIAPIPE_*`` variables) sets only the broker and the ``worker.*`` options (time limits,
recycling, retries). It says so in its first log line, with the digest of its own settings;
each task's line carries the digest of the settings that task ran with (``config=``). Before
anything starts, the broker is probed (``workers.broker``): a worker never retries a broker
that is not there forever in silence.
"""

from __future__ import annotations

import logging
import os
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
               metrics_port: int | None = None, hostname: str | None = None,
               pipeline: Pipeline = PIPELINE) -> None:
    """Serve ``queues`` of ``pipeline`` with a prefork Celery worker until it is stopped."""
    from workers.broker import probe, redact

    probe(cfg.broker_url)
    if metrics_port:
        # Before prometheus_client is imported: pool children share this directory.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="mediapipe-metrics-")
        from workers import metrics

        metrics.serve(metrics_port, cfg.broker_url, tuple(queues))
    from workers.app import make_app
    from workers.tasks import config_digest

    app = make_app(cfg, pipeline)
    for name in ("mediapipe.asset", __name__):  # a line per step, and this one, always
        logging.getLogger(name).setLevel(logging.INFO)
    log.info("worker on %s serving %s; its own settings (config %s) set only brokerUrl and "
             "worker.*: each task runs with the settings its coordinator sent with the run "
             "(config=... on each task line)", redact(cfg.broker_url), ",".join(queues),
             config_digest(cfg), extra={"config": config_digest(cfg)})
    n = concurrency or default_concurrency(queues, pipeline)
    app.worker_main(["worker", "-Q", ",".join(queues), "-c", str(n), "--pool", "prefork",
                     "-n", hostname or "mediapipe@%h", "-l", "info"])

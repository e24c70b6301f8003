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
ran with (``config=``). Before anything starts, the worker waits for its broker
(``wait_for_broker``: a PING, retried with a backoff up to ``BACKOFF_MAX_S``, said when it
starts waiting and once a minute after, and when the broker answers): a worker started before
Redis, or during an outage, serves once Redis is up and never exits for it (a unit with a
start limit would stay stopped for good). A broker URL of the wrong shape is a config error,
said at once. ``broker_wait_s`` bounds the wait (``--broker-wait``; 0: one probe).
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence

from mediapipe.config import Config
from mediapipe.pipeline.steps import PIPELINE, Pipeline

__all__ = ["BACKOFF_MAX_S", "NVENC_SESSIONS", "SAY_EVERY_S", "default_concurrency", "run_worker",
           "wait_for_broker"]

NVENC_SESSIONS = 3
BACKOFF_MAX_S = 30.0  # the longest pause between two probes of a broker that is away
SAY_EVERY_S = 60.0  # how often a worker still waiting for its broker says so
log = logging.getLogger(__name__)


def default_concurrency(queues: Sequence[str], pipeline: Pipeline = PIPELINE) -> int:
    """CPU count for image work; for a worker that serves only the pipeline's GPU queue,
    NVENC sessions if NVENC opens, else 1."""
    if set(queues) == {pipeline.gpu_queue}:
        from mediapipe.transcode import toolchain

        return NVENC_SESSIONS if toolchain.probe_encoder("h264_nvenc").available else 1
    return os.cpu_count() or 1


def wait_for_broker(url: str, *, wait_s: float | None = None,
                    sleep: Callable[[float], None] = time.sleep,
                    clock: Callable[[], float] = time.monotonic) -> float:
    """Probe the broker at ``url`` until it answers; the seconds waited. Retries with a backoff
    (1 s, doubling, at most ``BACKOFF_MAX_S``), saying so at the first failure and every
    ``SAY_EVERY_S`` after, for ever unless ``wait_s`` (then ``BrokerUnreachable`` once it is
    spent). A URL of the wrong shape raises ``BrokerUnreachable`` at once: no wait mends it."""
    from mediapipe.errors import BrokerUnreachable
    from mediapipe.workers.broker import check_url, probe, redact

    if check_url(url):
        probe(url)  # raises, saying what is wrong with the URL
    started = clock()
    pause, said = 1.0, None
    while True:
        try:
            probe(url)
        except BrokerUnreachable as exc:
            waited = clock() - started
            if wait_s is not None and waited + pause > wait_s:
                raise
            if said is None or clock() - said >= SAY_EVERY_S:
                log.warning("broker %s: %s; waiting for it (%.0f s so far, retrying every "
                            "%.0f s at most)", redact(url), exc.why, waited, BACKOFF_MAX_S)
                said = clock()
            sleep(pause)
            pause = min(pause * 2, BACKOFF_MAX_S)
            continue
        waited = clock() - started
        if said is not None:
            log.warning("broker %s answers, after %.0f s", redact(url), waited)
        return waited


def run_worker(cfg: Config, *, queues: Sequence[str], concurrency: int | None = None,
               metrics_port: int | None = None, metrics_address: str = "127.0.0.1",
               hostname: str | None = None, pipeline: Pipeline = PIPELINE,
               broker_wait_s: float | None = None) -> None:
    """Serve ``queues`` of ``pipeline`` with a prefork Celery worker until it is stopped, once
    its broker answers (``wait_for_broker``, at most ``broker_wait_s``; None: for ever)."""
    wait_for_broker(cfg.broker_url, wait_s=broker_wait_s)
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

    from mediapipe.workers import metrics

    exporter = metrics.Exporter(broker_url=cfg.broker_url, queues=pipeline.queues,
                                media_root=Path(cfg.media_root) if cfg.media_root else None)
    metrics.serve(metrics.registry(exporter, multiprocess=True), port, address)


def _start(cfg: Config, queues: Sequence[str], concurrency: int | None,
           hostname: str | None, pipeline: Pipeline) -> None:
    from mediapipe import logs
    from mediapipe.workers.app import make_app
    from mediapipe.workers.broker import redact
    from mediapipe.workers.tasks import config_digest

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

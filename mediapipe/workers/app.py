"""The Celery application: broker, serialisation, delivery guarantees and queues.

Owns: building the Celery app from a ``Config`` and a ``Pipeline`` (``make_app``: no app exists
until one is made; ``celery -A mediapipe.workers worker`` gets one made from ``MEDIAPIPE_*``
variables and
the product's pipeline, see ``workers``), its queues (the pipeline's) and the time limits of
each step's task, by the step's budget: a worker's app is made from the worker's own config, so
its ``worker.imageTimeLimit``/``videoTimeLimit`` govern the tasks it runs (messages carry none,
``workers.tasks.send``). Does not own: what tasks do (``workers.tasks``).

Task events are on (``worker_send_task_events``, ``task_send_sent_event``), so Flower and
celery-exporter see every task. Delivery: JSON only; ``acks_late`` with
``reject_on_worker_lost`` (tasks are idempotent, so a worker killed mid-task means the task
runs again elsewhere); prefetch 1; a Redis visibility timeout above the longest transcode.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery, signals
from kombu import Queue

from mediapipe import allocator
from mediapipe.config import Config
from mediapipe.pipeline.steps import IMAGE_BUDGET, PIPELINE, Pipeline
from mediapipe.workers import policy, tasks

__all__ = ["make_app"]

DEFAULT_BROKER = "redis://127.0.0.1:6379/0"


def make_app(cfg: Config, pipeline: Pipeline = PIPELINE) -> Celery:
    """The Celery app for ``pipeline`` (its queues, one task per step) on ``cfg``'s broker."""
    broker = cfg.broker_url or DEFAULT_BROKER
    w = cfg.worker
    restore_every = max(1, min(60, w.visibility_timeout // 4))
    celery = Celery("mediapipe", broker=broker, backend=broker)
    celery.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_disable_rate_limits=True,  # no task has a rate limit: skip the token buckets
        worker_max_tasks_per_child=w.max_tasks_per_child,
        worker_max_memory_per_child=w.max_memory_per_child * 1024,  # Celery counts KiB
        result_expires=w.result_expires,
        broker_transport_options={
            "visibility_timeout": w.visibility_timeout,
            # Look for tasks of dead workers every few seconds (kombu's default scans every
            # 100 s), so a killed worker's task is redelivered soon after its timeout.
            "unacked_restore_interval": restore_every,
            "unacked_restore_throttle": 1,
        },
        result_backend_transport_options={"visibility_timeout": w.visibility_timeout},
        broker_connection_retry_on_startup=True,
        # Celery's own publish retries are short: ``workers.outage.patiently`` waits out a
        # longer outage around them, up to worker.brokerDeadline.
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0.2,
                                   "interval_step": 0.3, "interval_max": 0.5},
        # a worker without -Q serves them all
        task_queues=[Queue(name) for name in pipeline.queues],
        task_default_queue=pipeline.queues[0],
        task_create_missing_queues=True,
        # Celery reprs every task's return value for its own "succeeded" log line, which is
        # silenced below: keep that repr short.
        resultrepr_maxsize=80,
        worker_hijack_root_logger=False,
        # Task events on: Flower and celery-exporter see tasks start, succeed and fail.
        worker_send_task_events=True,
        task_send_sent_event=True,
        task_annotations={
            tasks.DISPATCH: {"time_limit": IMAGE_BUDGET.limit(cfg),
                             "soft_time_limit": IMAGE_BUDGET.soft_limit(cfg)},
            **{tasks.task_name(s): {"time_limit": s.budget.limit(cfg),
                                    "soft_time_limit": s.budget.soft_limit(cfg)}
               for s in pipeline}},
    )
    policy.attach(celery, pipeline)
    tasks.register(celery)
    return celery


@signals.worker_init.connect
def _warm_steps(sender: Any = None, **_: object) -> None:
    """In the worker's parent, before the prefork pool starts: the steps on the queues it
    consumes load their codecs and engine once (``Step.warm``), and every pool process starts
    with them loaded (a ``mediapipe worker`` and a ``celery -A mediapipe.workers worker`` alike)."""
    app = getattr(sender, "app", None)
    try:
        pipeline = policy.pipeline_of(app)  # type: ignore[arg-type]
    except RuntimeError:  # a Celery app not made here: not ours to load for
        return
    queues = app.amqp.queues  # type: ignore[union-attr]
    allocator.one_blas_thread()  # before the steps load numpy
    pipeline.warm(set(queues.consume_from or queues))


@signals.worker_process_init.connect
def _tune_allocator(**_: object) -> None:
    """Each pool process handles image after image: see ``mediapipe.allocator``."""
    allocator.tune()


@signals.after_setup_logger.connect
def _quiet_task_trace(**_: object) -> None:
    """Tasks log one structured line each (``mediapipe.task``); Celery's own "succeeded" line
    would repr the whole state passed between stages for every task."""
    logging.getLogger("celery.app.trace").setLevel(logging.WARNING)



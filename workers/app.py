"""The Celery application: broker, serialisation, delivery guarantees and queues.

Owns: building the Celery app from a ``Config`` (``make_app``: no app exists until one is made;
``celery -A workers worker`` gets one made from ``MEDIAPIPE_*`` variables, see ``workers``),
its queues (one per distinct queue of ``mediapipe.pipeline.steps.STEPS``) and the time limits of
each step's task: a worker's app is made from the worker's own config, so its
``worker.imageTimeLimit``/``videoTimeLimit`` govern the tasks it runs (messages carry none,
``workers.tasks.send``). Does not own: what tasks do (``workers.tasks``).

Task events are on (``worker_send_task_events``, ``task_send_sent_event``), so Flower and
celery-exporter see every task. Delivery: JSON only; ``acks_late`` with
``reject_on_worker_lost`` (tasks are idempotent, so a worker killed mid-task means the task
runs again elsewhere); prefetch 1; a Redis visibility timeout above the longest transcode.
"""

from __future__ import annotations

import logging

from celery import Celery, signals
from kombu import Queue

from mediapipe import allocator
from mediapipe.config import Config
from mediapipe.pipeline import steps
from workers import tasks
from workers.policy import queues, time_limit

__all__ = ["make_app", "queues"]

DEFAULT_BROKER = "redis://127.0.0.1:6379/0"
SOFT_LIMIT_MARGIN_S = {"image": 10, "video": 30}  # time to clean up after a soft time limit


def make_app(cfg: Config) -> Celery:
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
        task_queues=[Queue(name) for name in queues()],  # a worker without -Q serves them all
        task_default_queue=steps.STEPS[0].queue,
        task_create_missing_queues=True,
        # Celery reprs every task's return value for its own "succeeded" log line, which is
        # silenced below: keep that repr short.
        resultrepr_maxsize=80,
        worker_hijack_root_logger=False,
        # Task events on: Flower and celery-exporter see tasks start, succeed and fail.
        worker_send_task_events=True,
        task_send_sent_event=True,
        task_annotations={
            tasks.DISPATCH: {"time_limit": w.image_time_limit,
                             "soft_time_limit": max(1, w.image_time_limit - 10)},
            **{tasks.task_name(s): {
                "time_limit": time_limit(s, cfg),
                "soft_time_limit": max(1, time_limit(s, cfg) - SOFT_LIMIT_MARGIN_S[s.budget])}
               for s in steps.STEPS}},
    )
    tasks.register(celery)
    return celery


@signals.worker_process_init.connect
def _tune_allocator(**_: object) -> None:
    """Each pool process handles image after image: see ``mediapipe.allocator``."""
    allocator.tune()


@signals.after_setup_logger.connect
def _quiet_task_trace(**_: object) -> None:
    """Tasks log one structured line each (``mediapipe.task``); Celery's own "succeeded" line
    would repr the whole state passed between stages for every task."""
    logging.getLogger("celery.app.trace").setLevel(logging.WARNING)



"""Celery tasks: one generic task that runs a named pipeline step and publishes where it ends.

Owns: registering, on an app, one task per step of the app's ``Pipeline`` (named
``mediapipe.<step>``, all running ``run_step_task``), ``dispatch_batch`` (one coordinator message
fans out into one task per asset, so dispatch is fast) and ``ping``; the worker's edge around
the one walk (``pipeline.drive.advance``, called once per task, with ``workers.policy``'s rule
for the steps it takes along): publishing the step it ends at, retries with backoff for
transient failures only, the metrics per step, and reporting each finished asset to the
coordinator's results list in Redis. A broker that goes away while a task publishes the next
step or its result is waited for (``workers.outage.patiently``, up to the run's
``worker.brokerDeadline``), not dropped. A step stopped by this worker's soft time limit is a
failed ``OverTimeLimit``. Messages carry no time limit: the worker applies its own config's
(``workers.app``). Does not own: what a step does, when it is skipped or what runs next
(``mediapipe.pipeline``), the messages' wire form (``workers.messages``), or the catalog (the
coordinator's).

Results go to the coordinator's list, not to Celery's result backend: one Redis write per
asset.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import os
import socket
import time
from typing import Any

import redis
from celery import Celery, Task
from celery.exceptions import SoftTimeLimitExceeded

from mediapipe.config import Config, WorkerConfig
from mediapipe.errors import ConfigError, ErrorRecord, OverTimeLimit
from mediapipe.pipeline import drive
from mediapipe.pipeline.state import AssetState, StageOutcome, Status
from mediapipe.pipeline.steps import Pipeline, Step
from mediapipe.workers import metrics, policy
from mediapipe.workers.dispatch import KEYS_TTL_S, RESULTS_KEY, config_json, digest_of
from mediapipe.workers.messages import Batch, StepMessage, result_text
from mediapipe.workers.outage import patiently

__all__ = ["DISPATCH", "register", "task_name"]

log = logging.getLogger("mediapipe.task")

PREFIX = "mediapipe."
DISPATCH = "mediapipe.dispatch_batch"
BROKER_DEADLINE_S = WorkerConfig().broker_deadline  # before a run's config is known


def task_name(step: Step) -> str:
    return PREFIX + step.name


def register(app: Celery) -> None:
    """Register the tasks on ``app``: ping, dispatch and one task per step of its pipeline."""
    app.task(name="mediapipe.ping")(ping)
    app.task(name=DISPATCH, bind=True, acks_late=True, ignore_result=True)(dispatch_batch)
    for step in policy.pipeline_of(app):
        app.task(name=task_name(step), bind=True, acks_late=True,
                 ignore_result=True)(run_step_task)


def ping() -> dict[str, object]:
    """Answer with where it ran: proves a worker took a task off the queue."""
    return {"host": socket.gethostname(), "pid": os.getpid()}


def send(app: Celery, message: StepMessage, step: Step, *,
         deadline_s: float = BROKER_DEADLINE_S, **options: Any) -> None:
    """Publish ``step`` for the asset, waiting out a broker outage of up to ``deadline_s``.

    A short argsrepr: Celery would otherwise repr the whole state (config, metadata) into every
    message's headers, a measurable share of the per-task cost. No time limit in the message
    (Celery would copy the sender's): the worker that runs the step applies its own."""
    patiently(lambda: app.send_task(
        task_name(step), args=[message.to_dict()], queue=step.queue, time_limit=None,
        soft_time_limit=None, argsrepr=f"({message.state.asset_id})", kwargsrepr="{}",
        **options), what=f"send {step.name}", deadline_s=deadline_s)


def dispatch_batch(task: Task, sent: dict[str, Any]) -> int:
    """Fan one coordinator message (a ``messages.Batch``) out into the first step of each
    asset."""
    pipeline = policy.pipeline_of(task.app)
    started = time.perf_counter()
    batch = Batch.from_dict(sent)
    with task.app.producer_or_acquire() as producer:
        for message in batch.messages():
            first = pipeline.first_due(message.state)
            if first is None:  # nothing due: the asset is done as it is
                report(task.app, message, message.state)
                continue
            send(task.app, message, first, producer=producer)
    log.info("dispatched %d assets", len(batch.assets),
             extra={"stage": "dispatch", "duration_s": round(time.perf_counter() - started, 4)})
    return len(batch.assets)


def run_step_task(task: Task, sent: dict[str, Any]) -> None:
    """Run the step this task is named for and on (``drive.advance``: the steps with nothing
    to do recorded, those ``policy.run_here`` allows run here), then publish where the walk
    ended: the next step to its queue, the asset to the coordinator, or this step again."""
    pipeline = policy.pipeline_of(task.app)
    task_step = pipeline.by_name(task.name.removeprefix(PREFIX))
    message = StepMessage.from_dict(sent)
    try:
        cfg = _config_at(task.app.conf.broker_url, message.config_key)
    except Exception as exc:  # fail the asset, reported: the coordinator must not wait forever
        log.exception("the run's config is unusable here",
                      extra={"asset_id": message.state.asset_id})
        error = exc if isinstance(exc, ConfigError) else ConfigError("config", str(exc))
        report(task.app, message, _unconfigured(pipeline, message.state, task_step, error))
        return
    move = drive.advance(
        message.state, pipeline, cfg, task_step,
        takes=functools.partial(policy.run_here, task_step=task_step,
                                consumed=task.app.amqp.queues.consume_from,
                                limit=lambda s: task.app.tasks[task_name(s)].time_limit),
        retries=task.request.retries < cfg.worker.max_retries,
        run=functools.partial(_run_due, task),
        account=functools.partial(_account, cfg=cfg))
    deadline_s = cfg.worker.broker_deadline
    if isinstance(move, drive.Retry):
        _retry(task, move, sent)
    elif isinstance(move, drive.Send):
        send(task.app, dataclasses.replace(message, state=move.state), move.step,
             deadline_s=deadline_s)
    else:
        report(task.app, message, move.state, deadline_s=deadline_s)


def _run_due(task: Task, step: Step, state: AssetState, cfg: Config,
              progress: object = None) -> AssetState:
    """``drive.run_due`` with this worker's soft time limit turned into a failed
    ``OverTimeLimit``: the exception passes the step's own containment, so its type says what
    happened."""
    try:
        return drive.run_due(step, state, cfg, passing=(SoftTimeLimitExceeded,))
    except SoftTimeLimitExceeded:
        return state.with_outcome(step.name, StageOutcome(
            Status.FAILED, error=_over_time(task, step, state, cfg).record()))


def _over_time(task: Task, step: Step, state: AssetState, cfg: Config) -> OverTimeLimit:
    limit = task.app.tasks[task_name(step)].soft_time_limit or step.budget.soft_limit(cfg)
    return OverTimeLimit(state.source_path, f"{step.name} ran past this worker's time limit "
                                            f"({limit}s soft; {step.budget.setting})")


def _retry(task: Task, move: drive.Retry, sent: dict[str, Any]) -> None:
    """Send the task's own message again later, with backoff (Celery's ``retry`` raises)."""
    error = move.state.stages[move.step.name].error
    countdown = min(600, 5 * 2 ** task.request.retries)
    log.warning("transient failure, retrying in %ss", countdown,
                extra={"asset_id": move.state.asset_id, "stage": move.step.name,
                       "error": error.message if error else None})
    raise task.retry(args=(sent,), countdown=countdown)


def _account(step: Step, state: AssetState, *, cfg: Config) -> None:
    """The step's line (``drive.log_outcome``: the same line as in-process runs, plus the
    digest of the config the task ran with) and the metrics for one step's outcome."""
    drive.log_outcome(step, state, config=config_digest(cfg))
    metrics.record_outcome(step.name, state.stages[step.name], accel=cfg.ffmpeg.accel)


@functools.lru_cache(maxsize=8)
def config_digest(cfg: Config) -> str:
    """The settings a task runs with (the coordinator's), for the log: the first 12 digits of
    the run's config key (``workers.dispatch.CONFIG_KEY``)."""
    return digest_of(config_json(cfg))[:12]


def _unconfigured(pipeline: Pipeline, state: AssetState, step: Step,
                  exc: ConfigError) -> AssetState:
    """The asset failed at ``step`` for want of its run's config; the rest cannot run either."""
    state = state.with_outcome(step.name, StageOutcome(Status.FAILED,
                                                       error=ErrorRecord.of(exc)))
    for later in pipeline:
        if later.name not in state.stages:
            state = state.with_outcome(later.name, StageOutcome(Status.SKIPPED,
                                                                note="no config"))
    return state


def report(app: Celery, message: StepMessage, state: AssetState, *,
           deadline_s: float = BROKER_DEADLINE_S) -> None:
    """Push the finished asset's result to the coordinator's list (when it is listening),
    waiting out a broker outage of up to ``deadline_s``."""
    if not message.run_id:
        return
    key = RESULTS_KEY.format(run_id=message.run_id)
    item = result_text(state.result())

    def push() -> None:
        with _redis(app.conf.broker_url).pipeline() as pipe:
            pipe.rpush(key, item)
            pipe.expire(key, KEYS_TTL_S)
            pipe.execute()

    patiently(push, what="report a result", deadline_s=deadline_s)


@functools.cache
def _redis(url: str) -> redis.Redis:
    """One connection per worker process (made after the fork), not one per call."""
    return redis.Redis.from_url(url, socket_timeout=30, retry_on_timeout=True)


@functools.lru_cache(maxsize=8)
def _config_at(broker_url: str, key: str) -> Config:
    """The run's config, stored once by the coordinator (keys are content digests, so a cached
    one never goes stale); validating it takes ~2 ms, so once per process and run."""
    text = _redis(broker_url).get(key)
    if text is None:
        raise ConfigError("config", f"{key} is not in the broker (expired?): run ingest again")
    return Config.from_dict(json.loads(text))

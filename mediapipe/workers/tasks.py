"""Celery tasks: one generic task that runs a named pipeline step and hands the state on.

Owns: registering, on an app, one task per step of the app's ``Pipeline`` (named
``mediapipe.<step>``, all running ``run_step_task``), ``dispatch_batch`` (one coordinator message
fans out into one task per asset, so dispatch is fast) and ``ping``; the walk down the step list
(what runs here and what is sent on is ``workers.policy``'s rule), retries with backoff for
transient failures only, one structured log line and the metrics per step, and reporting each
finished asset to the coordinator's results list in Redis. A broker that goes away while a task
publishes the next step or its result is waited for (``workers.outage.patiently``, up to the
run's ``worker.brokerDeadline``), not dropped. A step stopped by this worker's soft time limit
is a failed ``OverTimeLimit``. Messages carry no time limit: the worker applies its own config's
(``workers.app``). Does not own: what a step does or when it is skipped
(``mediapipe.pipeline``), or the catalog (the coordinator's).

A message is ``{"run_id", "config_key", "state": AssetState.to_dict()}``. Results go to the
coordinator's list, not to Celery's result backend: one Redis write per asset.
"""

from __future__ import annotations

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
from mediapipe.pipeline.state import Asset, AssetState, StageOutcome, Status
from mediapipe.pipeline.steps import Pipeline, Step
from mediapipe.workers import metrics, policy
from mediapipe.workers.dispatch import KEYS_TTL_S, RESULTS_KEY, config_json, digest_of
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


def send(app: Celery, step: Step, message: dict[str, Any], *,
         deadline_s: float = BROKER_DEADLINE_S, **options: Any) -> None:
    """Publish ``step`` for the asset, waiting out a broker outage of up to ``deadline_s``.

    A short argsrepr: Celery would otherwise repr the whole state (config, metadata) into every
    message's headers, a measurable share of the per-task cost. No time limit in the message
    (Celery would copy the sender's): the worker that runs the step applies its own."""
    patiently(lambda: app.send_task(
        task_name(step), args=[message], queue=step.queue, time_limit=None,
        soft_time_limit=None, argsrepr=f"({message['state']['asset_id']})", kwargsrepr="{}",
        **options), what=f"send {step.name}", deadline_s=deadline_s)


def dispatch_batch(task: Task, batch: dict[str, Any]) -> int:
    """Fan one coordinator message out into the first step of each asset: ``{"common":
    {"root", "config_key", "force", "run_id"}, "assets": [Asset.to_dict(), ...]}``."""
    common = batch["common"]
    pipeline = policy.pipeline_of(task.app)
    started = time.perf_counter()
    with task.app.producer_or_acquire() as producer:
        for asset in map(Asset.from_dict, batch["assets"]):
            state = asset.state(common["root"], force=common["force"])
            message = {"run_id": common["run_id"], "config_key": common["config_key"],
                       "state": state.to_dict()}
            first = pipeline.first_due(state)
            if first is None:  # nothing due: the asset is done as it is
                report(task.app, message, state)
                continue
            send(task.app, first, message, producer=producer)
    log.info("dispatched %d assets", len(batch["assets"]),
             extra={"stage": "dispatch", "duration_s": round(time.perf_counter() - started, 4)})
    return len(batch["assets"])


def run_step_task(task: Task, message: dict[str, Any]) -> None:
    """Run the step this task is named for, then walk on: record the steps with nothing to do,
    run here those ``policy.run_here`` allows, send the next one to its queue, or report."""
    pipeline = policy.pipeline_of(task.app)
    task_step = pipeline.by_name(task.name.removeprefix(PREFIX))
    state = AssetState.from_dict(message["state"])
    try:
        cfg = _config_at(task.app.conf.broker_url, message["config_key"])
    except Exception as exc:  # fail the asset, reported: the coordinator must not wait forever
        log.exception("the run's config is unusable here", extra={"asset_id": state.asset_id})
        error = exc if isinstance(exc, ConfigError) else ConfigError("config", str(exc))
        report(task.app, message, _unconfigured(pipeline, state, task_step, error))
        return
    step: Step | None = task_step
    while step is not None:
        if not pipeline.is_due(step, state):  # done earlier: left as the catalog has it
            step = pipeline.next_step(step.name)
            continue
        skipped = drive.skip_outcome(step, state, cfg)
        if skipped is not None:
            state = state.with_outcome(step.name, skipped)
        elif step is task_step:
            state = _run_step(task, step, state, cfg)
            _retry_if_transient(task, step, state, message, cfg)
        elif policy.run_here(step, task_step, task.app.amqp.queues.consume_from,
                             lambda s: task.app.tasks[task_name(s)].time_limit):
            after = _run_step(task, step, state, cfg)
            if after.stages[step.name].transient:  # its own task retries it, with backoff
                log.info("transient failure, passed on to the %s queue", step.queue,
                         extra={"asset_id": state.asset_id, "stage": step.name})
                send(task.app, step, {**message, "state": state.to_dict()},
                     deadline_s=cfg.worker.broker_deadline)
                return
            state = after
        else:
            send(task.app, step, {**message, "state": state.to_dict()},
                 deadline_s=cfg.worker.broker_deadline)
            return
        if step.applies(state):  # a step that does not apply to this asset is no task's work
            _account(step, state.stages[step.name], state, cfg)
        step = pipeline.next_step(step.name)
    report(task.app, message, state, deadline_s=cfg.worker.broker_deadline)


def _run_step(task: Task, step: Step, state: AssetState, cfg: Config) -> AssetState:
    """``drive.run_due`` (the walk already asked ``skip_outcome``), with this worker's soft
    time limit turned into a failed ``OverTimeLimit``: the exception passes the step's own
    containment, so its type says what happened."""
    try:
        return drive.run_due(step, state, cfg, passing=(SoftTimeLimitExceeded,))
    except SoftTimeLimitExceeded:
        return state.with_outcome(step.name, StageOutcome(
            Status.FAILED, error=_over_time(task, step, state, cfg).record()))


def _over_time(task: Task, step: Step, state: AssetState, cfg: Config) -> OverTimeLimit:
    limit = task.app.tasks[task_name(step)].soft_time_limit or step.budget.soft_limit(cfg)
    return OverTimeLimit(state.source_path, f"{step.name} ran past this worker's time limit "
                                            f"({limit}s soft; {step.budget.setting})")


def _retry_if_transient(task: Task, step: Step, state: AssetState,
                        message: dict[str, Any], cfg: Config) -> None:
    outcome = state.stages[step.name]
    if outcome.transient and task.request.retries < cfg.worker.max_retries:
        countdown = min(600, 5 * 2 ** task.request.retries)
        log.warning("transient failure, retrying in %ss", countdown,
                    extra={"asset_id": state.asset_id, "stage": step.name,
                           "error": outcome.error.message if outcome.error else None})
        raise task.retry(args=(message,), countdown=countdown)


def _account(step: Step, outcome: StageOutcome, state: AssetState, cfg: Config) -> None:
    """The step's line (``drive.log_outcome``: the same line as in-process runs, plus the
    digest of the config the task ran with) and the metrics for one step's outcome."""
    drive.log_outcome(step, state, config=config_digest(cfg))
    metrics.record_outcome(step.name, outcome, accel=cfg.ffmpeg.accel)


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


def report(app: Celery, message: dict[str, Any], state: AssetState, *,
           deadline_s: float = BROKER_DEADLINE_S) -> None:
    """Push the finished asset's result to the coordinator's list (when it is listening),
    waiting out a broker outage of up to ``deadline_s``."""
    if not message.get("run_id"):
        return
    key = RESULTS_KEY.format(run_id=message["run_id"])
    item = json.dumps(state.result().to_dict())

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

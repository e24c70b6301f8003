"""Celery tasks: thin wrappers that run one ``mediapipe.pipeline`` step each and pass it on.

Owns: the task names and their queues, the per-asset chain (metadata → thumbnails → video;
a worker that serves the thumbnails queue too runs that link inside the metadata task),
batch fan-out (``dispatch_batch``: one message from the coordinator becomes many chains, so
dispatch is fast), retries with backoff for transient failures only, one structured log line
and the metrics per task, and reporting each finished asset to the coordinator's results list
in Redis. Does not own: media logic (``pipeline``) or the catalog (the coordinator's).

Results go to the coordinator's list, not to Celery's result backend (``ignore_result``): one
Redis write per asset instead of one per task. A job is a JSON dict: ``{"source", "asset_id",
"kind", "root", "config_key", "force", "run_id"}``; between stages it travels as ``{"job",
"result", "info"}``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
from celery import Task, chain

# The stages load once in the parent, before the pool forks, not in each child's first task.
from mediapipe import pipeline
from mediapipe.config import Config
from mediapipe.errors import ConfigError
from mediapipe.metadata.model import MediaInfo
from mediapipe.pipeline import AssetResult, StageOutcome, Status
from workers import metrics
from workers.app import app
from workers.dispatch import KEYS_TTL_S, RESULTS_KEY

__all__ = ["asset_chain", "dispatch_batch", "ping"]

log = logging.getLogger("mediapipe.task")

# Results cross JSON: source paths with bytes that are not UTF-8 travel as surrogate escapes.


@app.task(name="mediapipe.ping")
def ping() -> dict[str, object]:
    """Answer with where it ran: proves a worker took a task off the queue."""
    return {"host": socket.gethostname(), "pid": os.getpid()}


def _source(job: dict[str, Any]) -> Path:
    return Path(job["source"])


def _config(job: dict[str, Any]) -> Config:
    return _config_at(job["config_key"])


@functools.lru_cache(maxsize=8)
def _config_at(key: str) -> Config:
    """The run's config, stored once by the coordinator (keys are content digests, so a cached
    one never goes stale); validating it takes ~2 ms, so once per process and run."""
    text = _redis(app.conf.broker_url).get(key)
    if text is None:
        raise ConfigError("config", f"{key} is not in the broker (expired?): run ingest again")
    return Config.from_dict(json.loads(text))


def _finish(task: Task, stage: str, state: dict[str, Any], outcome: StageOutcome,
            cfg: Config) -> dict[str, Any]:
    """Retry a transient failure, else log, count, store the outcome and report if last."""
    job = state["job"]
    if outcome.transient and task.request.retries < cfg.worker.max_retries:
        countdown = min(600, 5 * 2 ** task.request.retries)
        log.warning("transient failure, retrying in %ss", countdown,
                    extra={"asset_id": job["asset_id"], "stage": stage,
                           "error": outcome.error.get("message")})
        raise task.retry(countdown=countdown)
    result = AssetResult.from_dict(state["result"]).with_stage(stage, outcome)
    state = {**state, "result": result.to_dict()}
    log.info("%s %s", stage, outcome.status,
             extra={"asset_id": job["asset_id"], "stage": stage, "outcome": str(outcome.status),
                    "duration_s": round(outcome.duration_s, 4), "encoder": outcome.encoder})
    metrics.record_task(stage, str(outcome.status), outcome.duration_s,
                        encoder=outcome.encoder,
                        fell_back=bool(outcome.encoder and cfg.ffmpeg.accel != "disabled"
                                       and cfg.ffmpeg.accel not in outcome.encoder),
                        bytes_written=outcome.bytes_written)
    if stage == last_stage(job):
        if "video" not in result.stages:  # an image's chain has no video step
            result = result.with_stage("video", pipeline.AFTER_FAILED_METADATA
                                       if state["info"] is None else pipeline.NOT_A_VIDEO)
            state = {**state, "result": result.to_dict()}
        report(job, dataclasses.replace(result, metadata=state["info"]))
    return state


def last_stage(job: dict[str, Any]) -> str:
    return "video" if job["kind"] == "video" else "thumbnails"


def report(job: dict[str, Any], result: AssetResult) -> None:
    """Push the finished asset's result to the coordinator's list (when it is listening)."""
    if not job.get("run_id"):
        return
    key = RESULTS_KEY.format(run_id=job["run_id"])
    with _redis(app.conf.broker_url).pipeline() as pipe:
        pipe.rpush(key, json.dumps(result.to_dict()))
        pipe.expire(key, KEYS_TTL_S)
        pipe.execute()


@functools.cache
def _redis(url: str) -> redis.Redis:
    """One connection per worker process (made after the fork), not one per call."""
    return redis.Redis.from_url(url, socket_timeout=30, retry_on_timeout=True)


@app.task(name="mediapipe.metadata", bind=True, acks_late=True, ignore_result=True)
def metadata(self: Task, job: dict[str, Any]) -> dict[str, Any]:
    try:
        cfg = _config(job)
    except ConfigError as exc:  # fail the asset, reported: the coordinator must not wait forever
        error = {"type": "ConfigError", "path": "", "message": str(exc), "transient": False}
        failed = StageOutcome(Status.FAILED, error=error)
        report(job, AssetResult(job["asset_id"], job["source"], None, {
            "metadata": failed, "thumbnails": pipeline.AFTER_FAILED_METADATA,
            "video": pipeline.AFTER_FAILED_METADATA}))
        self.request.chain = None  # the rest of this asset's chain cannot run either
        return {"job": job, "info": None, "result": None}
    outcome, info = pipeline.step_metadata(_source(job), cfg)
    info_dict = info.to_dict() if info else None
    state = {"job": job, "info": info_dict,  # the metadata travels once, joins the result last
             "result": AssetResult(job["asset_id"], job["source"], info.kind if info else None,
                                   {}).to_dict()}
    state = _finish(self, "metadata", state, outcome, cfg)
    return _take_along(self, "thumbnails", state, pipeline.step_thumbnails)


def _take_along(task: Task, stage: str, state: dict[str, Any],
                step: Callable[..., StageOutcome]) -> dict[str, Any]:
    """Run the chain's next link here, in this task, when it is ``stage`` and this worker
    consumes that stage's queue: the worker would most likely take it next anyway, and a task
    boundary costs more than reading a photo's metadata (a broker round trip, an ack and a pool
    hand-off: ~2 ms, 2 % of a 12 MP photo). A worker that does not serve the queue passes the
    link on as before. A transient failure goes on to the queued task, which retries it."""
    links = task.request.chain
    if not links or links[-1].get("task") != f"mediapipe.{stage}" \
            or stage not in app.amqp.queues.consume_from:
        return state
    link = links.pop()
    outcome = _run_step(state, step)
    if outcome.transient:
        log.info("transient failure, passed on to the %s queue", stage,
                 extra={"asset_id": state["job"]["asset_id"], "stage": stage})
        links.append(link)
        return state
    return _finish(task, stage, state, outcome, _config(state["job"]))


def _next_step(task: Task, stage: str, state: dict[str, Any],
               step: Callable[..., StageOutcome]) -> dict[str, Any]:
    return _finish(task, stage, state, _run_step(state, step), _config(state["job"]))


def _run_step(state: dict[str, Any], step: Callable[..., StageOutcome]) -> StageOutcome:
    """``pipeline.step_<stage>`` on the state the previous stage passed on."""
    job = state["job"]
    return _skipped_after_metadata(state) or step(
        _source(job), job["asset_id"], Path(job["root"]), _config(job),
        MediaInfo.from_dict(state["info"]), force=job.get("force", False))


def _skipped_after_metadata(state: dict[str, Any]) -> StageOutcome | None:
    return pipeline.AFTER_FAILED_METADATA if state["info"] is None else None


@app.task(name="mediapipe.thumbnails", bind=True, acks_late=True, ignore_result=True)
def thumbnails(self: Task, state: dict[str, Any]) -> dict[str, Any]:
    return _next_step(self, "thumbnails", state, pipeline.step_thumbnails)


@app.task(name="mediapipe.video", bind=True, acks_late=True, ignore_result=True)
def video(self: Task, state: dict[str, Any]) -> dict[str, Any]:
    return _next_step(self, "video", state, pipeline.step_video)


def asset_chain(job: dict[str, Any]) -> chain:
    """The per-asset chain, each step on its own queue (video on the GPU machines' queue)."""
    # A short argsrepr: Celery would otherwise repr the whole state (config, metadata) into
    # every message's headers, a measurable share of the per-task cost.
    label = {"argsrepr": f"({job['asset_id']})", "kwargsrepr": "{}"}
    steps = [metadata.s(job).set(queue="metadata", **label),
             thumbnails.s().set(queue="thumbnails", **label)]
    if job["kind"] == "video":
        steps.append(video.s().set(queue="video", **label))
    return chain(*steps)


@app.task(name="mediapipe.dispatch_batch", acks_late=True, ignore_result=True)
def dispatch_batch(batch: dict[str, Any]) -> int:
    """Fan one coordinator message out into per-asset chains: ``{"common": {...},
    "assets": [[source, asset_id, kind], ...]}``."""
    common = batch["common"]
    started = time.perf_counter()
    for source, asset_id, kind in batch["assets"]:
        asset_chain({**common, "source": source, "asset_id": asset_id,
                     "kind": kind}).apply_async()
    log.info("dispatched %d assets", len(batch["assets"]),
             extra={"stage": "dispatch", "duration_s": round(time.perf_counter() - started, 4)})
    return len(batch["assets"])

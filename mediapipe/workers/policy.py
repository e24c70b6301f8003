"""Which steps a Celery task takes along: the rule ``drive.advance`` asks, on a worker.

Owns: ``pipeline_of`` (the ``Pipeline`` an app was made for: ``workers.app.make_app`` keeps it
on the app) and ``run_here``, the one rule for taking the next step along instead of sending it
to its queue (a step with nothing to do, by ``pipeline.drive.skip_outcome``, is recorded where
it is without asking): a step with work runs here when this worker consumes its queue and its
time limit is the task's (a step must not run under a longer limit than its own). A task
boundary (publish, ack, fetch, hand-off to the pool: ~2 ms) costs more than reading a photo's
metadata, and a worker serving the next queue would most likely take the step next anyway; a
transcode keeps its own task (its own, longer limit, and the GPU machines' queue). Queues,
budgets and time limits are the pipeline's own (``Pipeline.queues``, ``Step.budget``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from celery import Celery

from mediapipe.pipeline.steps import Pipeline, Step

__all__ = ["attach", "pipeline_of", "run_here"]

_ATTRIBUTE = "mediapipe_pipeline"


def attach(app: Celery, pipeline: Pipeline) -> None:
    """Keep ``pipeline`` on ``app``: its tasks walk it, its queues are the app's."""
    setattr(app, _ATTRIBUTE, pipeline)


def pipeline_of(app: Celery) -> Pipeline:
    """The pipeline ``app`` was made for (``workers.app.make_app``)."""
    pipeline = getattr(app, _ATTRIBUTE, None)
    if not isinstance(pipeline, Pipeline):
        raise RuntimeError("this Celery app was not made by workers.app.make_app")
    return pipeline


def run_here(step: Step, task_step: Step, consumed: Collection[str],
             limit: Callable[[Step], int | None]) -> bool:
    """Whether ``step`` (which has work) runs inside the task that was sent for ``task_step``;
    ``limit`` gives a step's hard limit on this worker (its own config's, ``workers.app``)."""
    if step.queue not in consumed:
        return False
    mine, theirs = limit(step), limit(task_step)
    return mine is not None and mine == theirs  # its own limit governs it, not a longer one

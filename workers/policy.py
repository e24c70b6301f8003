"""How the Celery driver walks the step list: which step runs in the task at hand, which is sent on.

Owns: ``queues`` (every queue a step is served on), ``time_limit`` (a step's hard limit, from
its budget and the worker's own settings) and ``run_here``, the one rule for taking the next
step along instead of sending it to its queue: a step with nothing to do
(``pipeline.skip_outcome``) is recorded where it is; a step with work runs here when this worker
consumes its queue and its time limit is the task's (a step must not run under a longer limit
than its own). A task
boundary (publish, ack, fetch, hand-off to the pool: ~2 ms) costs more than reading a photo's
metadata, and a worker serving the next queue would most likely take the step next anyway;
a transcode keeps its own task (its own, longer limit, and the GPU machines' queue).
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from mediapipe.config import Config
from mediapipe.pipeline import steps
from mediapipe.pipeline.steps import Step

__all__ = ["queues", "run_here", "time_limit"]


def queues() -> tuple[str, ...]:
    """Every queue a step is served on, in pipeline order."""
    return tuple(dict.fromkeys(s.queue for s in steps.STEPS))


def time_limit(step: Step, cfg: Config) -> int:
    """The hard time limit of ``step``'s task, by its budget (``worker.<budget>TimeLimit``)."""
    w = cfg.worker
    return w.video_time_limit if step.budget == "video" else w.image_time_limit


def run_here(step: Step, task_step: Step, consumed: Collection[str],
             limit: Callable[[Step], int | None]) -> bool:
    """Whether ``step`` (which has work) runs inside the task that was sent for ``task_step``;
    ``limit`` gives a step's hard limit on this worker (its own config's, ``workers.app``)."""
    if step.queue not in consumed:
        return False
    mine, theirs = limit(step), limit(task_step)
    return mine is not None and mine == theirs  # its own limit governs it, not a longer one

"""Whether any worker consumes the queues a run's assets wait in: a wait that is seen, and ends.

Owns: ``served`` (the queues some worker consumes, by Celery's own inspection: one
``active_queues`` broadcast, the replies within a second), ``running`` (the tasks live workers
hold: ``active`` and ``reserved``, so that a message no live worker holds is known lost),
``waiting`` (how many of a run's assets wait in a queue: its messages read off the list, each
read as ``inflight`` reads one)
and ``Watch``, the coordinator's eye on them: while no result comes, every few seconds, a queue
where assets of the run wait and that no worker serves is said at once (the status line and one
warning: ``no worker serves `video`: 1 asset waiting``); when it stays so past the deadline,
``Unserved`` ends the run and the assets stay pending in the catalog for the next one (an
infinite deadline, ``ingest --watch``'s, waits it out). A queue that gets a consumer starts the
count again. Does not own: the run (``dispatch``).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable

import redis
from celery import Celery

from mediapipe.errors import Unserved, unserved_line
from mediapipe.workers.inflight import message_assets

__all__ = ["CHECK_EVERY_S", "QUIET_S", "Watch", "running", "served", "waiting"]

CHECK_EVERY_S = 5.0
QUIET_S = 2.0  # the coordinator looks only when no result came for this long
INSPECT_TIMEOUT_S = 1.0
READ_AT_MOST = 10_000  # messages read off one queue per check (a batch message holds 200 assets)
log = logging.getLogger("mediapipe.dispatch")


def served(app: Celery, timeout: float = INSPECT_TIMEOUT_S) -> set[str]:
    """The queues some worker consumes now (those that answer within ``timeout``)."""
    replies = app.control.inspect(timeout=timeout).active_queues() or {}
    return {q["name"] for queues in replies.values() for q in queues or ()}


def running(app: Celery, timeout: float = 2 * INSPECT_TIMEOUT_S) -> set[str]:
    """The ids of the tasks live workers hold now (running, or reserved to run next); a
    worker that does not answer within ``timeout`` holds none."""
    inspect = app.control.inspect(timeout=timeout)
    ids: set[str] = set()
    for replies in (inspect.active() or {}, inspect.reserved() or {}):
        ids.update(str(task.get("id")) for tasks in replies.values() for task in tasks or ())
    return ids


def waiting(client: redis.Redis, queue: str, run_id: str) -> int:
    """How many assets of ``run_id`` wait in ``queue`` (a batch message counts its assets)."""
    return sum(len(message_assets(raw, run_id))
               for raw in client.lrange(queue, 0, READ_AT_MOST - 1))


class Watch:
    """Looks, at most every ``every_s``, for assets of ``run_id`` waiting in ``queues`` that no
    worker serves; says so through ``on_status`` and the log, and raises ``Unserved`` once they
    have waited so for ``deadline_s``."""

    def __init__(self, app: Celery, client: redis.Redis, run_id: str, queues: Iterable[str], *,
                 deadline_s: float, on_status: Callable[[str | None], None],
                 every_s: float = CHECK_EVERY_S) -> None:
        self.app, self.client, self.run_id = app, client, run_id
        self.queues = tuple(queues)
        self.deadline_s, self.on_status, self.every_s = deadline_s, on_status, every_s
        self._checked = float("-inf")
        self._since: float | None = None
        self._said: dict[str, int] = {}

    def check(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if now - self._checked < self.every_s:
            return
        self._checked = now
        unserved = self._unserved()
        if not unserved:
            if self._said:
                self.on_status(None)
            self._since, self._said = None, {}
            return
        self._since = self._since if self._since is not None else now
        line = unserved_line(unserved)
        self.on_status(line)
        if unserved != self._said:
            left = self.deadline_s - (now - self._since)
            log.warning("%s (%s)", line, "waiting until a worker serves it" if left == math.inf
                        else f"the run ends in {left:.0f}s unless a worker starts serving it",
                        extra={"unserved": unserved})
            self._said = unserved
        if now - self._since >= self.deadline_s:
            raise Unserved(unserved, now - self._since)

    def _unserved(self) -> dict[str, int]:
        """Cheapest first: which queues hold anything (LLEN), then whether a worker consumes
        them (one broadcast), and only for those that none does, how many of ours wait there."""
        busy = [q for q in self.queues if self.client.llen(q)]
        if not busy:
            return {}
        consumed = served(self.app)
        counts = {q: waiting(self.client, q, self.run_id) for q in busy if q not in consumed}
        return {q: n for q, n in counts.items() if n}

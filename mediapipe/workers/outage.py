"""Riding out a broker outage: a Redis restart, a NAS reboot, a blip of the network.

Owns: ``BROKER_ERRORS`` (what a lost broker raises, through redis-py, Kombu or the socket) and
``patiently``, which repeats one broker operation (publish the next step, push a result) with
backoff until it goes through or the deadline (``worker.brokerDeadline``) passes. Both sides use
it: a task finishing its step while Redis is away waits for it instead of dropping the asset,
and the coordinator waits the same way, saying so. Does not own: what is sent.

Repeating is safe: a publish that reached the broker before the connection dropped may be sent
twice, and a step run twice does the same thing (steps are idempotent); results are de-duplicated
by asset id (``dispatch.Run.results``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

import kombu.exceptions
import redis.exceptions

__all__ = ["BROKER_ERRORS", "patiently"]

T = TypeVar("T")
BROKER_ERRORS: tuple[type[BaseException], ...] = (
    redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
    redis.exceptions.BusyLoadingError, kombu.exceptions.OperationalError, ConnectionError,
)
log = logging.getLogger("mediapipe.broker")


def patiently(operation: Callable[[], T], *, what: str, deadline_s: float,
              on_wait: Callable[[float], None] | None = None) -> T:
    """``operation()``, repeated while the broker is away (backoff 0.2 s to 2 s) for at most
    ``deadline_s`` seconds; then its last error is raised. ``on_wait(seconds_away)`` before
    each wait: the caller says it is waiting (never a silent wait)."""
    started = time.monotonic()
    pause = 0.2
    while True:
        try:
            return operation()
        except BROKER_ERRORS as exc:
            away = time.monotonic() - started
            if away >= deadline_s:
                raise
            if on_wait is not None:
                on_wait(away)
            else:
                log.warning("broker away while trying to %s (%s): waiting, %.0fs so far",
                            what, type(exc).__name__, away)
            time.sleep(min(pause, max(0.0, deadline_s - away)))
            pause = min(2.0, pause * 2)

"""Which of a run's assets a worker holds, read from the broker: a lost task told from a slow one.

Owns: ``queued`` (how many tasks wait in the run's queues) and ``held`` (the assets of a run
whose task a worker has taken and not acknowledged: running it, or holding it for a retry;
tasks are ``acks_late``, so a running task stays there until it returns, and a dead worker's
stay until kombu puts them back in their queue), both read from kombu's Redis layout (a list
per queue and priority, the ``unacked`` hash). With nothing queued, an asset that is neither
held nor reported is lost: a worker killed between taking its message off the queue and
recording it (kombu's Redis transport has that window) took it along.
``holdings`` names each such message's task, so that a message whose task no live worker
holds (its worker killed with ``kill -9``: kombu would give it back only after the visibility
timeout, hours) is told apart, and ``forget`` drops it once it is sent again.
Does not own: what is done about a lost asset (``dispatch``: it is sent again) or asking the
workers what they hold (``consumers.running``).
"""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Iterable
from typing import Any

import redis
from kombu.transport.redis import PRIORITY_STEPS, Channel

from mediapipe.workers import messages

__all__ = ["Holding", "forget", "held", "holdings", "message_assets", "queued"]

# kombu's names: a list per queue and priority (the queue's own name for priority 0), and the
# hash of delivered, unacknowledged messages.
_PRIORITY_KEYS = tuple(f"{Channel.sep}{p}" if p else "" for p in PRIORITY_STEPS)
UNACKED = Channel.unacked_key
UNACKED_INDEX = Channel.unacked_index_key


def queued(client: redis.Redis, queues: Iterable[str]) -> int:
    """How many tasks wait in ``queues`` (every priority)."""
    return sum(int(client.llen(q + p)) for q in queues for p in _PRIORITY_KEYS)


def held(client: redis.Redis, run_id: str) -> set[str]:
    """The asset ids of ``run_id`` whose task a worker holds unacknowledged."""
    return {a for holding in holdings(client, run_id) for a in holding.assets}


@dataclasses.dataclass(frozen=True)
class Holding:
    """One unacknowledged message of a run: its delivery tag, its task id, its assets."""

    tag: str
    task_id: str
    assets: tuple[str, ...]


def holdings(client: redis.Redis, run_id: str) -> list[Holding]:
    """Every message of ``run_id`` some worker took and has not acknowledged."""
    out = []
    for tag, raw in client.hscan_iter(UNACKED, count=500):
        assets = message_assets(raw, run_id, unacked=True)
        if assets:
            out.append(Holding(_text(tag), _task_id(raw), tuple(assets)))
    return out


def forget(client: redis.Redis, tags: Iterable[str]) -> None:
    """Drop these unacknowledged messages (a dead worker's, sent again by the caller): kombu
    must not deliver them once more when their visibility timeout ends."""
    tags = list(tags)
    if tags:
        with client.pipeline() as pipe:
            pipe.hdel(UNACKED, *tags)
            pipe.zrem(UNACKED_INDEX, *tags)
            pipe.execute()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _task_id(raw: bytes | str) -> str:
    try:
        return str(json.loads(raw)[0]["headers"]["id"])
    except (ValueError, TypeError, KeyError, IndexError):
        return ""


def message_assets(raw: bytes | str, run_id: str, *, unacked: bool = False) -> list[str]:
    """The asset ids of ``run_id`` in one message as kombu keeps it: in a queue's list, or
    (``unacked``) in the hash of messages a worker holds; none for a message that is not ours
    or not in a shape we know. The one reading of our messages (``held``, ``consumers``)."""
    try:
        payload = json.loads(raw)
        return _assets(payload[0] if unacked else payload, run_id)
    except (ValueError, TypeError, KeyError, IndexError):
        return []


def _assets(payload: dict[str, Any], run_id: str) -> list[str]:
    """The asset ids a task message carries for ``run_id``: one for a step's task, a batch's
    for ``dispatch_batch``."""
    body = payload["body"]
    if payload.get("properties", {}).get("body_encoding") == "base64":
        body = base64.b64decode(body)
    # protocol 2: [args, kwargs, embed]; args[0] is ours (``messages``)
    return messages.asset_ids(json.loads(body)[0][0], run_id)

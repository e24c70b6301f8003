"""The coordinator's side of Celery: send assets to the workers, collect their results.

Owns: batching assets into ``dispatch_batch`` messages (one message per ``batch_size`` assets,
so a scan of a million files dispatches quickly) and reading finished ``AssetResult``s from the
run's Redis list as they come, de-duplicated (a redelivered task may report twice). Does not own:
the catalog (the caller writes it from the results) or the tasks themselves.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import redis
from celery import Celery
from kombu import Producer

from mediapipe.config import Config
from mediapipe.pipeline import steps
from mediapipe.pipeline.state import AssetResult

__all__ = ["CONFIG_KEY", "RESULTS_KEY", "Run"]

BATCH_SIZE = 200
RESULTS_KEY = "mediapipe:results:{run_id}"  # a list of AssetResult JSON, one per asset
CONFIG_KEY = "mediapipe:config:{digest}"  # a run's Config JSON, by content
KEYS_TTL_S = 30 * 86400


class Run:
    """One coordinator run: ``submit`` assets, then ``results`` until all are back."""

    def __init__(self, app: Celery, root: Path, cfg: Config, *, force: bool = False,
                 run_id: str | None = None) -> None:
        self.app = app
        self.run_id = run_id or uuid.uuid4().hex
        self._redis = redis.Redis.from_url(app.conf.broker_url, socket_timeout=30)
        # The config travels by reference: stored once, not in every message of the run.
        text = json.dumps(cfg.to_dict(), sort_keys=True)
        self.config_key = CONFIG_KEY.format(digest=hashlib.sha1(text.encode()).hexdigest())
        self._redis.set(self.config_key, text, ex=KEYS_TTL_S)
        self.common = {"root": str(root), "config_key": self.config_key, "force": force,
                       "run_id": self.run_id}
        self.submitted = 0

    def submit(self, assets: Iterable[tuple[Any, ...]], batch_size: int = BATCH_SIZE) -> int:
        """Send ``(source, asset_id, kind[, todo])`` in batches; returns how many were sent."""
        batch: list[tuple[Any, ...]] = []
        sent = 0
        with self.app.producer_or_acquire() as producer:
            for asset in assets:
                batch.append(asset)
                if len(batch) >= batch_size:
                    sent += self._send(batch, producer)
                    batch = []
            if batch:
                sent += self._send(batch, producer)
        self.submitted += sent
        return sent

    def _send(self, batch: list[tuple[Any, ...]], producer: Producer) -> int:
        self.app.send_task("mediapipe.dispatch_batch",
                           args=[{"common": self.common, "assets": [list(a) for a in batch]}],
                           queue=steps.STEPS[0].queue, producer=producer)
        return len(batch)

    def results(self, *, timeout: float | None = None,
                idle_timeout: float | None = None) -> Iterator[AssetResult]:
        """Yield each asset's result once, until every submitted asset has reported.

        Survives a broker restart (it waits and reconnects). ``timeout`` bounds the whole wait;
        ``idle_timeout`` bounds the wait for the next result.
        """
        key = RESULTS_KEY.format(run_id=self.run_id)
        seen: set[str] = set()
        deadline = None if timeout is None else time.monotonic() + timeout
        last = time.monotonic()
        while len(seen) < self.submitted:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"{self.submitted - len(seen)} assets still pending")
            if idle_timeout is not None and time.monotonic() - last > idle_timeout:
                raise TimeoutError(f"no result for {idle_timeout}s; "
                                   f"{self.submitted - len(seen)} assets pending")
            try:
                item = self._redis.blpop([key], timeout=1)
            except redis.ConnectionError:
                time.sleep(0.5)  # the broker is restarting: wait for it
                continue
            if item is None:
                continue
            result = AssetResult.from_dict(json.loads(item[1]))
            last = time.monotonic()
            if result.asset_id in seen:
                continue
            seen.add(result.asset_id)
            yield result


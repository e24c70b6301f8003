"""The coordinator's side of Celery: send assets to the workers, collect their results.

Owns: batching assets into ``dispatch_batch`` messages (one message per ``batch_size`` assets,
so a scan of a million files dispatches quickly), the assets still out (sent, no result yet),
and reading finished ``AssetResult``s from the run's Redis list as they come, de-duplicated by
asset id (a redelivered or re-sent task may report twice). Does not own: the catalog (the caller
writes it from the results) or the tasks themselves.

A broker outage is never a silent wait: ``results`` says it is waiting (``on_status``, and a
log line), and when the broker is back, the assets with no result after
``worker.redispatchAfter`` seconds of silence are sent again (messages and results published in
the outage may be gone: Redis keeps its last second only, tasks finishing in the outage may have
given up). If the broker stays away past ``worker.brokerDeadline`` the run ends with
``BrokerUnreachable``; the assets with no result stay pending in the catalog for the next run.
The run's keys expire in hours (``KEYS_TTL_S``): a killed coordinator leaves nothing for long.
Without an outage too, after ``worker.redispatchAfter`` seconds without a result and with no task
waiting in the queues, the assets out that no worker holds (``inflight.held``) are lost and are
sent again: a worker killed as it took a message off the queue loses it with kombu's Redis
transport. A slow task (a long transcode) is held, so it is never sent twice. A task held
unacknowledged by no live worker (``consumers.running``: its worker's main process killed) at
two checks ``worker.redispatchAfter`` apart is dropped from kombu's unacked set and its assets
sent again: redelivered within a minute or two, not after the visibility timeout (hours).
Assets waiting in a queue that no worker serves are said within seconds and end the run at
its deadline (``consumers.Watch``, when the run is given ``unserved_deadline``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import redis
from celery import Celery
from kombu import Producer
from redis.backoff import NoBackoff
from redis.retry import Retry

from mediapipe.config import Config
from mediapipe.errors import BrokerUnreachable
from mediapipe.pipeline.state import Asset, AssetResult
from mediapipe.workers import consumers, inflight, policy
from mediapipe.workers.broker import redact
from mediapipe.workers.messages import Batch, result_of
from mediapipe.workers.outage import BROKER_ERRORS, patiently

__all__ = ["CONFIG_KEY", "RESULTS_KEY", "Run", "Status", "config_json", "digest_of"]

BATCH_SIZE = 200
RESULTS_KEY = "mediapipe:results:{run_id}"  # a list of results (``messages.result_text``)
CONFIG_KEY = "mediapipe:config:{digest}"  # a run's Config JSON, by content
KEYS_TTL_S = 6 * 3600  # refreshed while the run lives (results: by each push)
REFRESH_EVERY_S = 600
Status = Callable[[str | None], None]  # a line on what the run waits for; None: nothing
log = logging.getLogger("mediapipe.dispatch")


def config_json(cfg: Config) -> str:
    """A run's settings as the broker keeps them: sorted JSON, the same text for the same
    settings, so that its digest (``digest_of``) names them."""
    return json.dumps(cfg.to_dict(), sort_keys=True)


def digest_of(config_text: str) -> str:
    """The digest in ``CONFIG_KEY`` (and, cut to 12 digits, in the workers' task log lines)."""
    return hashlib.sha1(config_text.encode()).hexdigest()


class Run:
    """One coordinator run: ``submit`` assets, then ``results`` until all are back."""

    def __init__(self, app: Celery, root: Path, cfg: Config, *,
                 run_id: str | None = None, on_status: Status | None = None,
                 unserved_deadline: float | None = None) -> None:
        self.app = app
        self.pipeline = policy.pipeline_of(app)
        self.cfg = cfg
        self.run_id = run_id or uuid.uuid4().hex
        self.on_status = on_status or (lambda _line: None)
        # No silent reconnects: the run must see an outage to say so and to re-send after it.
        self._redis = redis.Redis.from_url(app.conf.broker_url, socket_timeout=30,
                                           retry=Retry(NoBackoff(), 0))
        # The config travels by reference: stored once, not in every message of the run.
        self._config_text = config_json(cfg)
        self.config_key = CONFIG_KEY.format(digest=digest_of(self._config_text))
        self._store_config()
        self.root = str(root)
        self.outstanding: dict[str, Asset] = {}  # sent, no result yet: by asset id
        self._reclaimed = time.monotonic()  # when held messages were last checked (``_reclaim``)
        self._suspects: set[str] = set()  # delivery tags no live worker held at that check
        # Assets waiting where no worker serves: said within seconds, the run ended at the
        # deadline (``consumers``).
        self.watch = None if unserved_deadline is None else consumers.Watch(
            app, self._redis, self.run_id, self.pipeline.queues, deadline_s=unserved_deadline,
            on_status=self.on_status)

    def _store_config(self) -> None:
        self._patiently(lambda: self._redis.set(self.config_key, self._config_text,
                                                ex=KEYS_TTL_S), "store the run's config")

    def _patiently(self, operation: Callable[[], object], what: str) -> None:
        def waiting(away: float) -> None:
            self.on_status(f"waiting for the broker ({away:.0f}s)")
            log.warning("broker %s away while trying to %s: waiting, %.0fs of %ds",
                        redact(self.app.conf.broker_url), what, away,
                        self.cfg.worker.broker_deadline)
        try:
            patiently(operation, what=what, deadline_s=self.cfg.worker.broker_deadline,
                      on_wait=waiting)
        except BROKER_ERRORS as exc:
            raise self._unreachable(f"{type(exc).__name__}: {exc}") from exc
        self.on_status(None)

    def _unreachable(self, cause: str) -> BrokerUnreachable:
        return BrokerUnreachable(
            redact(self.app.conf.broker_url),
            f"away for more than {self.cfg.worker.broker_deadline}s (worker.brokerDeadline; "
            f"{cause}); {len(self.outstanding)} assets left pending: run ingest again when "
            "it is back")

    def submit(self, assets: Iterable[Asset], batch_size: int = BATCH_SIZE) -> int:
        """Send ``assets`` in batches; returns how many were sent."""
        batch: list[Asset] = []
        sent = 0
        for asset in assets:
            batch.append(asset)
            if len(batch) >= batch_size:
                sent += self._send(batch)
                batch = []
        if batch:
            sent += self._send(batch)
        return sent

    def _send(self, batch: list[Asset]) -> int:
        def publish() -> None:
            with self.app.producer_or_acquire() as producer:
                self._publish(batch, producer)
        self._patiently(publish, "send assets")
        self.outstanding.update((a.asset_id, a) for a in batch)
        return len(batch)

    def _publish(self, batch: list[Asset], producer: Producer) -> None:
        message = Batch(self.run_id, self.config_key, self.root, tuple(batch))
        self.app.send_task("mediapipe.dispatch_batch", args=[message.to_dict()],
                           queue=self.pipeline.queues[0], producer=producer, time_limit=None,
                           soft_time_limit=None)

    def redispatch(self, assets: Iterable[Asset] | None = None) -> int:
        """Send ``assets`` (every asset still out) again, and the config, which an outage may
        have lost."""
        self._store_config()
        out = list(self.outstanding.values() if assets is None else assets)
        for i in range(0, len(out), BATCH_SIZE):
            self._send(out[i:i + BATCH_SIZE])
        return len(out)

    def _lost(self) -> list[Asset]:
        """The assets out that no task stands for: nothing waits in the queues (it could be
        theirs) and no worker holds them."""
        if inflight.queued(self._redis, self.pipeline.queues):
            return []
        held = inflight.held(self._redis, self.run_id)
        return [a for asset_id, a in self.outstanding.items() if asset_id not in held]

    def _reclaim(self) -> None:
        """Messages of this run that a worker took and no live worker holds (its main process
        killed: kombu would redeliver them after the visibility timeout, hours away): seen so
        at two checks in a row, they are dropped and their assets sent again, said."""
        holdings = inflight.holdings(self._redis, self.run_id)
        if not holdings:
            self._suspects = set()
            return
        live = consumers.running(self.app)
        orphans = {h.tag: h for h in holdings if h.task_id not in live}
        lost = [h for tag, h in orphans.items() if tag in self._suspects]
        self._suspects = set(orphans) - {h.tag for h in lost}
        if not lost:
            return
        assets = list({a: self.outstanding[a] for h in lost for a in h.assets
                       if a in self.outstanding}.values())
        log.warning("%d tasks of this run are held by no live worker (a worker died with "
                    "them: killed, or its machine lost): sending their %d assets again",
                    len(lost), len(assets), extra={"stage": "dispatch"})
        inflight.forget(self._redis, [h.tag for h in lost])
        if assets:
            self.redispatch(assets)

    def results(self, *, timeout: float | None = None,
                idle_timeout: float | None = None) -> Iterator[AssetResult]:
        """Yield each asset's result once, until every submitted asset has reported.

        Rides out a broker outage up to ``worker.brokerDeadline`` (then ``BrokerUnreachable``),
        saying so, and re-sends what is still out after it. ``timeout`` bounds the whole wait;
        ``idle_timeout`` bounds the wait for the next result.
        """
        key = RESULTS_KEY.format(run_id=self.run_id)
        deadline = None if timeout is None else time.monotonic() + timeout
        last = refreshed = time.monotonic()
        away_since: float | None = None
        outage = False  # the broker was away since the assets out were last sent
        while self.outstanding:
            now = time.monotonic()
            if deadline is not None and now > deadline:
                raise TimeoutError(f"{len(self.outstanding)} assets still pending")
            if idle_timeout is not None and now - last > idle_timeout:
                raise TimeoutError(f"no result for {idle_timeout}s; "
                                   f"{len(self.outstanding)} assets pending")
            try:
                if now - last > self.cfg.worker.redispatch_after:
                    if outage:
                        log.warning("no result for %ds since the broker came back: sending "
                                    "the %d assets still out again",
                                    self.cfg.worker.redispatch_after, len(self.outstanding))
                        self.redispatch()
                    elif lost := self._lost():
                        log.warning("no result for %ds and no worker holds %d of the assets "
                                    "still out (a worker died as it took them): sending "
                                    "those again", self.cfg.worker.redispatch_after, len(lost))
                        self.redispatch(lost)
                    outage, last = False, time.monotonic()
                if now - self._reclaimed > self.cfg.worker.redispatch_after:
                    self._reclaimed = now
                    self._reclaim()
                if self.watch is not None and now - last > consumers.QUIET_S:
                    self.watch.check(now)
                if now - refreshed > REFRESH_EVERY_S:
                    self._redis.expire(self.config_key, KEYS_TTL_S)
                    refreshed = now
                item = self._redis.blpop([key], timeout=1)
            except BROKER_ERRORS as exc:
                away_since = away_since or now
                away = time.monotonic() - away_since
                if away > self.cfg.worker.broker_deadline:
                    raise self._unreachable(f"{type(exc).__name__}: {exc}") from exc
                if away < 1 or int(away) % 10 == 0:
                    log.warning("broker %s away (%s): waiting, %.0fs of %ds; %d assets out",
                                redact(self.app.conf.broker_url), type(exc).__name__, away,
                                self.cfg.worker.broker_deadline, len(self.outstanding))
                self.on_status(f"waiting for the broker ({away:.0f}s)")
                time.sleep(0.5)
                continue
            if away_since is not None:
                log.warning("broker back after %.0fs", time.monotonic() - away_since)
                self.on_status(None)
                away_since, outage, last = None, True, time.monotonic()
            if item is None:
                continue
            result = result_of(item[1])
            last = time.monotonic()
            if self.outstanding.pop(result.asset_id, None) is None:
                continue  # reported twice (a redelivered or re-sent task), or not ours
            yield result

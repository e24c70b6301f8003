"""Test infrastructure smoke tests: a private Redis and real Celery workers really work."""

from __future__ import annotations

from collections.abc import Callable

from tests.support.services import CeleryWorker, RedisServer


def test_private_redis_is_not_the_machines(redis_server: RedisServer) -> None:
    assert redis_server.port != 6379
    assert redis_server.ping()


def test_private_redis_keeps_its_queue_across_a_restart(redis_server: RedisServer) -> None:
    import redis

    r = redis.Redis.from_url(redis_server.url)
    r.rpush("q", b"job")
    redis_server.restart()
    assert redis.Redis.from_url(redis_server.url).lrange("q", 0, -1) == [b"job"]


def test_a_real_worker_process_runs_a_task(redis_server: RedisServer,
                                           celery_worker: Callable[..., CeleryWorker]) -> None:
    from mediapipe.config import Config
    from mediapipe.workers.app import make_app

    worker = celery_worker("metadata", name="smoke")
    app = make_app(Config(broker_url=redis_server.url))
    result = app.send_task("mediapipe.ping", queue="metadata").get(timeout=30)
    assert result["pid"] in worker.children()

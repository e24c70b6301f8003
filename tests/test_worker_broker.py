"""A worker waits for its broker: started before Redis, or through an outage, it retries with a
backoff, says so once a minute, and serves once Redis is up; it never exits for an outage."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fixtures import images
from mediapipe.config import Config
from mediapipe.errors import BrokerUnreachable
from mediapipe.identity import asset_id_for_path
from mediapipe.library import storage
from mediapipe.pipeline import Asset
from mediapipe.workers import start
from mediapipe.workers.runner import new_run
from mediapipe.workers.start import BACKOFF_MAX_S, SAY_EVERY_S, wait_for_broker
from tests.support.services import RedisServer, free_port


class FakeTime:
    """A clock that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.pauses: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def test_it_backs_off_to_a_cap_and_says_so_once_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeTime()
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens: refused at once
    with caplog.at_level(logging.WARNING, "mediapipe.workers.start"), \
            pytest.raises(BrokerUnreachable):
        wait_for_broker(url, wait_s=600, sleep=fake.sleep, clock=fake.clock)
    assert fake.pauses[:6] == [1, 2, 4, 8, 16, BACKOFF_MAX_S]
    assert set(fake.pauses[5:]) == {BACKOFF_MAX_S}
    said = [r.getMessage() for r in caplog.records if r.name == start.log.name]  # its own
    assert len(said) == pytest.approx(600 / SAY_EVERY_S, abs=1)
    assert all("waiting for it" in line and "connection refused" in line for line in said)


@pytest.mark.parametrize("url", ["http://127.0.0.1:6379/0", "redis://", "redis://:6379/0"],
                         ids=["wrong-scheme", "no-host", "empty-host"])
def test_a_url_of_the_wrong_shape_is_said_at_once(url: str) -> None:
    fake = FakeTime()
    with pytest.raises(BrokerUnreachable):
        wait_for_broker(url, sleep=fake.sleep, clock=fake.clock)
    assert fake.pauses == []


@pytest.mark.reliability  # make reliability
def test_a_worker_started_before_redis_serves_once_it_is_up(tmp_path: Path) -> None:
    root = tmp_path / "media"
    storage.init_root(root)
    photo = images.jpeg(tmp_path / "p.jpg", (640, 480))
    redis = RedisServer(tmp_path / "redis")
    log = tmp_path / "worker.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mediapipe", "worker", "--broker", redis.url,
             "-Q", "metadata,thumbnails", "-c", "1", "-n", "early@%h"],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    try:
        deadline = time.monotonic() + 30
        while b"waiting for it" not in log.read_bytes():
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.1)
        time.sleep(3)  # a few retries: still there, still waiting
        assert proc.poll() is None, log.read_text()[-2000:]
        redis.start()
        deadline = time.monotonic() + 60
        while b" ready." not in log.read_bytes():
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.1)
        assert b"answers, after" in log.read_bytes()
        run = new_run(root, Config(broker_url=redis.url))
        run.submit([Asset(str(photo), asset_id_for_path(photo))])
        [result] = list(run.results(timeout=60))
        assert result.ok
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
        redis.stop()

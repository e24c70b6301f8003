"""``mediapipe worker``: a real worker process with Prometheus metrics and JSON task logs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from fixtures import images
from mediapipe.config import Config
from mediapipe.identity import asset_id_for_path
from mediapipe.library import storage
from mediapipe.pipeline import Asset
from mediapipe.workers.runner import new_run
from tests.support.services import RedisServer, free_port


def _scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return r.read().decode()


def test_worker_serves_metrics_and_logs_one_json_line_per_task(
        redis_server: RedisServer, tmp_path: Path) -> None:
    root = tmp_path / "media"
    storage.init_root(root)
    photo = images.jpeg(tmp_path / "p.jpg", (640, 480))
    port = free_port()
    log = tmp_path / "worker.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mediapipe", "--log-format", "json", "worker",
             "--broker", redis_server.url, "-Q", "metadata,thumbnails", "-c", "1",
             "--metrics-port", str(port), "-n", "metrics@%h"],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    try:
        deadline = time.monotonic() + 60
        while b" ready." not in log.read_bytes():
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.1)
        run = new_run(root, Config(broker_url=redis_server.url))
        run.submit([Asset(str(photo), asset_id_for_path(photo))])
        [result] = list(run.results(timeout=60))
        assert result.ok
        metrics = _scrape(port)
        assert 'mediapipe_tasks_total{outcome="done",stage="thumbnails"} 1.0' in metrics
        assert 'mediapipe_task_duration_seconds_count{stage="metadata"} 1.0' in metrics
        assert 'mediapipe_bytes_written_total{stage="thumbnails"}' in metrics
        assert 'mediapipe_queue_depth{queue="thumbnails"} 0.0' in metrics
        lines = [json.loads(ln) for ln in log.read_text().splitlines() if ln.startswith("{")]
        tasks = [ln for ln in lines if ln.get("logger") == "mediapipe.asset" and "outcome" in ln]
        assert {(t["stage"], t["outcome"]) for t in tasks} == {("metadata", "done"),
                                                              ("thumbnails", "done")}
        assert all(t["asset_id"] == result.asset_id and t["duration_s"] >= 0 for t in tasks)
        assert all(t["path"] == str(photo) and len(t["config"]) == 12 for t in tasks)
        assert {t["config"] for t in tasks} == {run.config_key.rsplit(":", 1)[1][:12]}, \
            "each line names the digest of the coordinator's settings the task ran with"
        [start] = [ln for ln in lines if ln.get("logger") == "mediapipe.workers.start"]
        assert "set only brokerUrl and worker.*" in start["msg"] and len(start["config"]) == 12
    finally:
        proc.terminate()
        proc.wait(30)

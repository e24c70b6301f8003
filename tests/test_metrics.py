"""Metrics an operator can alert on, scraped from a real worker and a real ``ingest``: the broker
up or down, every step queue's depth, the catalog's counts, storage, work-only durations,
failures by type, the last good scan; the default collectors kept; a port in use one line;
nothing left in the temporary folder; JSON logs with no plain-text line."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fixtures import images
from mediapipe.config import Config
from mediapipe.identity import asset_id_for_path
from mediapipe.index import lock
from mediapipe.library import storage
from mediapipe.pipeline import Asset
from mediapipe.pipeline.state import StageOutcome, Status
from mediapipe.workers import metrics
from mediapipe.workers.runner import new_run
from tests.support.cli import mediapipe
from tests.support.metrics_clients import scrape
from tests.support.services import CeleryWorker, RedisServer, free_port

ROOT = Path(__file__).resolve().parents[1]


def samples(text: str) -> dict[str, float]:
    """``name{labels}`` -> value of every sample line."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


def families(text: str) -> set[str]:
    return {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}


def start(args: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "mediapipe", *args], stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True, cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


def wait_for(predicate: object, proc: subprocess.Popen[bytes], log: Path,
             timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert proc.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.2)


def stop(proc: subprocess.Popen[bytes]) -> int:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
    return proc.wait(60)


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


# --- what one step's outcome counts --------------------------------------------------------------

def test_a_skipped_step_is_counted_but_its_zero_seconds_are_not_observed() -> None:
    before = samples_of("video")
    metrics.record_outcome("video", StageOutcome(Status.SKIPPED, note="plays as it is"))
    after = samples_of("video")
    assert after["tasks"] == before["tasks"] + 1
    assert after["observed"] == before["observed"], "a skip is not work"


def samples_of(stage: str) -> dict[str, float]:
    from prometheus_client import REGISTRY

    return {"tasks": REGISTRY.get_sample_value("mediapipe_tasks_total",
                                               {"stage": stage, "outcome": "skipped"}) or 0,
            "observed": REGISTRY.get_sample_value("mediapipe_task_duration_seconds_count",
                                                  {"stage": stage}) or 0}


@pytest.mark.parametrize("encoder, accel, fell_back", [
    ("h264_nvenc", "nvenc", False),
    ("libx264", "nvenc", True),
    ("libx264", "disabled", False),
    ("copy", "nvenc", False),
], ids=["nvenc-used", "software-after-nvenc", "software-asked", "remux"])
def test_a_fallback_is_software_doing_what_the_configured_accelerator_should(
        encoder: str, accel: str, fell_back: bool) -> None:
    outcome = StageOutcome(Status.DONE, encoder=encoder)
    assert metrics.fell_back(outcome, accel) is fell_back


# --- a real worker ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def worker_scrape(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """A ``mediapipe worker`` on metadata,thumbnails with JSON logs and metrics on 127.0.0.1,
    one photo run through it; yields its scrapes (broker up, then down) and what it left.
    Once for the module: the tests below only read what it yields."""
    tmp_path = tmp_path_factory.mktemp("worker-scrape")
    redis_server = RedisServer(tmp_path / "redis").start()
    root = tmp_path / "media"
    storage.init_root(root)
    photo = images.jpeg(tmp_path / "p.jpg", (640, 480))
    port, tmp = free_port(), tmp_path / "tmp"
    tmp.mkdir()
    log = tmp_path / "worker.log"
    proc = start(["--log-format", "json", "worker", "--broker", redis_server.url,
                  "-Q", "metadata,thumbnails", "-c", "1", "--metrics-port", str(port),
                  "--metrics-address", "127.0.0.1", "-n", "metrics@%h"], log,
                 env={"TMPDIR": str(tmp), "MEDIAPIPE_MEDIA_ROOT": str(root)})
    try:
        wait_for(lambda: b" ready." in log.read_bytes(), proc, log)
        assert list(tmp.iterdir()), "the multiprocess folder is in TMPDIR while it runs"
        run = new_run(root, Config(broker_url=redis_server.url))
        run.submit([Asset(str(photo), asset_id_for_path(photo))])
        [result] = list(run.results(timeout=60))
        assert result.ok
        up = scrape(port)
        redis_server.stop()
        down = scrape(port)
    finally:
        code = stop(proc)
        redis_server.stop()
    yield {"up": up, "down": down, "tmp": tmp, "log": log, "code": code}


def test_a_worker_exports_every_step_queue_the_broker_storage_and_the_defaults(
        worker_scrape: dict[str, object]) -> None:
    up = samples(str(worker_scrape["up"]))
    assert up["mediapipe_broker_up"] == 1
    for queue in ("metadata", "thumbnails", "video"):  # video too: no worker of its own here
        assert up[f'mediapipe_queue_depth{{queue="{queue}"}}'] == 0
    for folder in storage.FOLDERS:
        free = up[f'mediapipe_storage_free_bytes{{folder="{folder}"}}']
        assert 0 < free <= up[f'mediapipe_storage_total_bytes{{folder="{folder}"}}']
    assert up['mediapipe_tasks_total{outcome="done",stage="thumbnails"}'] == 1
    assert up['mediapipe_task_duration_seconds_count{stage="metadata"}'] == 1
    assert [k for k in up if k.startswith("mediapipe_build_info")]
    assert up["process_resident_memory_bytes"] > 0 and "python_info" in families(
        str(worker_scrape["up"])), "the default collectors are kept"


def test_with_the_broker_down_it_says_so_instead_of_going_quiet(
        worker_scrape: dict[str, object]) -> None:
    down = samples(str(worker_scrape["down"]))
    assert down["mediapipe_broker_up"] == 0
    assert not [k for k in down if k.startswith("mediapipe_queue_depth{")], \
        "an unknown depth is no sample, not a zero"


def test_a_stopped_worker_leaves_nothing_in_the_temporary_folder(
        worker_scrape: dict[str, object]) -> None:
    assert list(Path(str(worker_scrape["tmp"])).iterdir()) == []


def test_json_logs_have_no_plain_text_line_not_even_celerys_banner(
        worker_scrape: dict[str, object]) -> None:
    lines = Path(str(worker_scrape["log"])).read_text().splitlines()
    assert lines
    for line in lines:
        assert isinstance(json.loads(line), dict), line
    assert any("ready." in json.loads(line)["msg"] for line in lines)


@pytest.mark.parametrize("command", ["worker", "ingest"])
def test_a_metrics_port_in_use_is_one_line_and_a_config_exit(
        command: str, redis_server: RedisServer, tmp_path: Path, media_root: Path) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    lib = tmp_path / "lib"
    lib.mkdir()
    args = {"worker": ["worker", "--broker", redis_server.url],
            "ingest": ["ingest", str(lib), "--media-root", str(media_root)]}[command]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-m", "mediapipe", *args, "--metrics-port", str(port),
             "--metrics-address", "127.0.0.1"],
            capture_output=True, text=True, timeout=60, cwd=ROOT, env={
                **os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp)})
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"mediapipe: error: --metrics-port: 127.0.0.1:{port} is in use by another process; "
        "pick another --metrics-port or --metrics-address"]
    assert list(tmp.iterdir()) == [], "nothing left behind"


# --- ingest: a timer's textfile, a service's port ------------------------------------------------

def test_a_timer_run_writes_the_catalog_failures_and_scan_time_for_node_exporter(
        tmp_path: Path, media_root: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    images.jpeg(lib / "ok.jpg", (320, 240))
    (lib / "empty.jpg").write_bytes(b"")
    out_dir = tmp_path / "textfiles"
    out_dir.mkdir()
    textfile = out_dir / "mediapipe.prom"
    label = metrics.library_label(str(lib))
    before = time.time()
    def timer_run() -> subprocess.CompletedProcess[str]:
        # a process of its own, as a timer starts it: its metrics are that run's alone
        return subprocess.run(
            [sys.executable, "-m", "mediapipe", "ingest", str(lib), "--media-root",
             str(media_root), "--workers", "1", "--metrics-textfile", str(textfile)],
            capture_output=True, text=True, timeout=300, cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)})
    for expected in (6, 0):  # CorruptMedia; then nothing new fails: it succeeds
        proc = timer_run()
        assert proc.returncode == expected, proc.stderr
    text = textfile.read_text()
    got = samples(text)
    assert got['mediapipe_assets{state="failed"}'] == 1, "old failures are in the metrics"
    assert got['mediapipe_assets{state="online"}'] == 2
    assert got['mediapipe_step_assets{state="done",step="thumbnails"}'] == 1
    scanned = f'mediapipe_last_scan_success_timestamp_seconds{{library="{label}"}}'
    assert got[scanned] >= before
    assert str(lib) not in text, "no path in a label"
    with lock.hold(media_root):  # another run holds the media root: this one is refused
        refused = timer_run()
    assert refused.returncode == 17, refused.stderr
    assert samples(textfile.read_text())[scanned] == got[scanned], \
        "a refused run keeps the last good scan (MediapipeScanStale keeps its series)"
    assert not [k for k, v in got.items() if k.startswith("mediapipe_failures_total{") and v], \
        "the second run failed nothing: the counters are this run's"
    assert got['mediapipe_storage_free_bytes{folder="thumbs"}'] > 0
    assert not [name for name in families(text) if not name.startswith("mediapipe_")], \
        "node_exporter has its own process_* metrics"
    assert [p.name for p in out_dir.iterdir()] == ["mediapipe.prom"], "written atomically"


def ingest_scrape(lib: Path, root: Path, tmp_path: Path,
                  broker: RedisServer | None = None) -> str:
    """``ingest --watch --metrics-port``: its scrape once its first scan is done."""
    port = free_port()
    log = tmp_path / "ingest.log"
    args = ["ingest", str(lib), "--media-root", str(root), "--workers", "1", "--watch",
            "--metrics-port", str(port), "--metrics-address", "127.0.0.1"]
    proc = start(args + (["--broker", broker.url] if broker else []), log)
    try:
        wait_for(lambda: listening(port) and "mediapipe_last_scan_success" in scrape(port),
                 proc, log, timeout=120)
        return scrape(port)
    finally:
        stop(proc)


def test_ingest_watch_serves_the_catalog_the_work_and_the_defaults(
        tmp_path: Path, media_root: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    images.jpeg(lib / "a.jpg", (320, 240))
    (lib / "bad.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    text = ingest_scrape(lib, media_root, tmp_path)
    got = samples(text)
    label = metrics.library_label(str(lib))
    assert f'mediapipe_last_scan_success_timestamp_seconds{{library="{label}"}}' in got
    assert got[f'mediapipe_library_info{{library="{label}",path="{lib}"}}'] == 1, \
        "the path behind a label, on a port bound to this machine"
    assert got['mediapipe_assets{state="online"}'] == 2
    assert got['mediapipe_assets{state="failed"}'] == 1
    assert got['mediapipe_tasks_total{outcome="done",stage="thumbnails"}'] == 1
    assert sum(v for k, v in got.items() if k.startswith("mediapipe_failures_total{")) == 1
    assert got["process_resident_memory_bytes"] > 0


# --- the dashboard asks only for what is exported -----------------------------------------------

def test_every_dashboard_expression_names_only_metrics_a_live_scrape_has(
        redis_server: RedisServer, tmp_path: Path, media_root: Path) -> None:
    from tests.test_deploy import dashboard_metric_names

    lib = tmp_path / "lib"
    lib.mkdir()
    images.jpeg(lib / "a.jpg", (320, 240))
    (lib / "bad.jpg").write_bytes(b"")
    exported = families(ingest_scrape(lib, media_root, tmp_path))
    port, log = free_port(), tmp_path / "worker.log"
    proc = start(["worker", "--broker", redis_server.url, "-c", "1", "--metrics-port",
                  str(port)], log, env={"MEDIAPIPE_MEDIA_ROOT": str(media_root)})
    try:
        wait_for(lambda: listening(port), proc, log)
        run = new_run(media_root, Config(broker_url=redis_server.url))
        photo = lib / "a.jpg"
        run.submit([Asset(str(photo), asset_id_for_path(photo))])
        list(run.results(timeout=60))
        exported |= families(scrape(port))
    finally:
        stop(proc)
    # A histogram's family is named without its _bucket/_sum/_count; a counter without _total.
    names = exported | {f"{n}{s}" for n in exported for s in ("_bucket", "_sum", "_count",
                                                                "_total")}
    wanted = dashboard_metric_names()
    assert wanted, "the dashboard has expressions"
    assert wanted <= names, f"not exported: {sorted(wanted - names)}"


# --- an NVENC fallback is a warning, in the log, in `ls` and in the metrics -----------------------

def test_an_nvenc_fallback_is_a_warning_in_the_log_in_ls_and_counted(
        tmp_path: Path, media_root: Path) -> None:
    from fixtures import videos
    from mediapipe.transcode import toolchain

    if toolchain.probe_encoder("h264_nvenc").available:
        pytest.skip("NVENC opens here: nothing falls back")
    lib = tmp_path / "lib"
    lib.mkdir()
    videos.video(lib / "clip.avi", codec="mpeg4", duration=1.0, audio=())  # to be transcoded
    textfile = tmp_path / "mediapipe.prom"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MEDIAPIPE_FFMPEG_ACCEL": "nvenc"}
    proc = subprocess.run(  # a process of its own: its counters in the textfile are its own
        [sys.executable, "-m", "mediapipe", "ingest", str(lib), "--media-root", str(media_root),
         "--workers", "1", "--metrics-textfile", str(textfile)],
        capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stderr
    [line] = [ln for ln in proc.stderr.splitlines() if "encoded in software" in ln]
    assert "WARNING" in line and "clip.avi" in line and "not nvenc" in line
    listed = mediapipe("ls", "--media-root", str(media_root), "--json")
    assert listed.returncode == 0, listed.stderr
    [item] = json.loads(listed.stdout)
    assert [w for w in item["warnings"] if w.startswith("encoded in software, not nvenc")]
    got = samples(textfile.read_text())
    assert got["mediapipe_encoder_fallbacks_total"] == 1
    assert got['mediapipe_encoder_used_total{encoder="libx264"}'] == 1


# --- task events: what Flower and celery-exporter read ------------------------------------------

def test_workers_send_task_events_by_default(
        redis_server: RedisServer, celery_worker: Callable[..., CeleryWorker], tmp_path: Path,
        media_root: Path) -> None:
    import threading

    from mediapipe.workers.app import make_app

    celery_worker("metadata,thumbnails,video")
    photo = images.jpeg(tmp_path / "p.jpg", (320, 240))
    app = make_app(Config(broker_url=redis_server.url))
    seen: list[str] = []
    with app.connection() as conn:
        receiver = app.events.Receiver(conn, handlers={"*": lambda e: seen.append(e["type"])})
        listening = threading.Thread(target=receiver.capture,
                                     kwargs={"limit": None, "timeout": None}, daemon=True)
        listening.start()
        time.sleep(1)  # subscribed before anything is sent
        run = new_run(media_root, Config(broker_url=redis_server.url))
        run.submit([Asset(str(photo), asset_id_for_path(photo))])
        [result] = list(run.results(timeout=60))
        deadline = time.monotonic() + 10
        while "task-succeeded" not in seen and time.monotonic() < deadline:
            time.sleep(0.1)
        receiver.should_stop = True
    assert result.ok
    assert {"task-sent", "task-received", "task-started", "task-succeeded"} <= set(seen)


@pytest.mark.parametrize("written, kept", [
    ('mediapipe_last_scan_success_timestamp_seconds{library="photos"} 1.7e9\n',
     {"photos": 1.7e9}),
    ('mediapipe_last_scan_success_timestamp_seconds{library="/mnt/photos"} 1.7e9\n', {}),
    ("not prometheus text {\n", {}),
    (None, {}),
], ids=["a-label", "an-old-path-label-dropped", "garbage", "no-file"])
def test_a_textfile_gives_back_its_last_good_scans_never_a_path(
        tmp_path: Path, written: str | None, kept: dict[str, float]) -> None:
    textfile = tmp_path / "mediapipe.prom"
    if written is not None:
        textfile.write_text(written)
    assert metrics.last_scans(textfile) == kept


@pytest.mark.parametrize("path, name, label", [
    ("/mnt/photos", "family", "family"),
    ("/mnt/photos", None, metrics.library_label("/mnt/photos")),
], ids=["configured-name", "short-hash"])
def test_a_library_label_is_its_name_or_a_short_hash(path: str, name: str | None,
                                                     label: str) -> None:
    got = metrics.library_label(path, name)
    assert got == label and "/" not in got
    assert name or (got.startswith("lib-") and len(got) == 12)

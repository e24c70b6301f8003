"""``ingest --watch``: the library followed after its scan; each change processed once, settled."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fixtures import images
from mediapipe.config import Config, LibraryConfig, LibraryScanConfig
from mediapipe.identity import asset_id_for_path
from mediapipe.index.catalog import Catalog, State
from mediapipe.index.ingest import IngestSummary
from mediapipe.index.listing import listing
from mediapipe.index.watch import follow
from mediapipe.pipeline.local import LocalRunner
from mediapipe.workers.runner import CeleryRunner
from tests.support.services import CeleryWorker, RedisServer

SETTLE_S = 0.6


@contextlib.contextmanager
def following(library: Path, root: Path,
              broker_url: str | None = None) -> Iterator[list[IngestSummary]]:
    """``follow`` in a thread (settle 0.6 s, no scheduled rescan) until the block ends; on
    Celery workers when a broker is given."""
    cfg = Config(broker_url=broker_url).replace(library=LibraryConfig(
        scan=LibraryScanConfig(enabled=False)))
    runner = CeleryRunner(root, cfg) if broker_url else LocalRunner(root, cfg)
    summaries: list[IngestSummary] = []
    stop = threading.Event()
    thread = threading.Thread(target=follow, args=(library, runner),
                              kwargs={"stop": stop, "on_summary": summaries.append,
                                      "settle_s": SETTLE_S}, daemon=True)
    thread.start()
    try:
        wait_for(lambda: bool(summaries), "the first ingest")
        yield summaries
    finally:
        stop.set()
        thread.join(10)
        assert not thread.is_alive()


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise TimeoutError(f"waited {timeout}s for {what}")


def states(root: Path) -> dict[str, tuple[bool, str]]:
    """path -> (online, thumbnails state), as the catalog has them now (read only: a WAL reader
    never waits on the follower's write lock, however long a busy machine makes it)."""
    with Catalog.open(root, read_only=True) as cat:
        return {Path(item.path).name: (item.online, item.states["thumbnails"])
                for item in listing(cat)}


def online_folders(root: Path) -> dict[str, int]:
    """Folder name -> how many of its sources are online and done."""
    with Catalog.open(root, read_only=True) as cat:
        done = [Path(i.path).parent.name for i in listing(cat)
                if i.online and i.states["thumbnails"] == State.DONE]
    return {name: done.count(name) for name in done}


def processed(summaries: list[IngestSummary]) -> int:
    return sum(s.processed for s in summaries)


def test_a_file_copied_slowly_is_processed_once_when_the_copy_ends(tmp_path: Path,
                                                                   media_root: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    data = images.noise_jpeg(tmp_path / "big.jpg", (2000, 1500)).read_bytes()
    with following(lib, media_root) as summaries:
        with open(lib / "big.jpg", "wb") as out:  # a slow copy: 8 writes over ~2.4 s
            for i in range(8):
                out.write(data[i * len(data) // 8:(i + 1) * len(data) // 8])
                out.flush()
                time.sleep(0.3)
        wait_for(lambda: states(media_root).get("big.jpg") == (True, State.DONE), "big.jpg")
        time.sleep(3 * SETTLE_S)
    assert processed(summaries) == 1 and not any(s.failed for s in summaries)


def test_moves_deletes_and_restores_are_handled_as_a_rescan_would(tmp_path: Path,
                                                                  media_root: Path) -> None:
    lib = tmp_path / "lib"
    (lib / "2020").mkdir(parents=True)
    for name in ("a.jpg", "b.jpg"):
        images.jpeg(lib / "2020" / name, (320, 240))
    images.jpeg(lib / "c.jpg", (320, 240))
    with following(lib, media_root) as summaries:
        assert processed(summaries) == 3
        (lib / "2020").rename(lib / "2021")  # a folder renamed
        wait_for(lambda: online_folders(media_root) == {"2021": 2, "lib": 1}, "the move")
        saved = (lib / "c.jpg").read_bytes()
        (lib / "c.jpg").unlink()  # deleted: offline, its thumbnails kept
        wait_for(lambda: states(media_root)["c.jpg"][0] is False, "c.jpg offline")
        (lib / "c.jpg").write_bytes(saved)
        os.utime(lib / "c.jpg", ns=(0, _mtime_ns(media_root, lib / "c.jpg")))
        wait_for(lambda: states(media_root)["c.jpg"][0] is True, "c.jpg back online")
    # the renamed folder's two files are new paths (new assets); the restore, a new file (its
    # inode and ctime) under the old mtime, is processed again as any restore from a backup
    assert processed(summaries) == 6


def _mtime_ns(root: Path, path: Path) -> int:
    with Catalog.open(root, read_only=True) as cat:
        entry = cat.get(asset_id_for_path(path))
        assert entry is not None
        return entry.mtime_ns


def test_a_library_unmounted_goes_offline_and_comes_back(tmp_path: Path,
                                                         media_root: Path) -> None:
    share, lib = tmp_path / "share", tmp_path / "lib"
    share.mkdir()
    lib.mkdir()
    images.jpeg(share / "a.jpg", (320, 240))
    if subprocess.run(["mount", "--bind", str(share), str(lib)], capture_output=True,
                      check=False).returncode != 0:
        pytest.skip("cannot bind-mount here (not root?)")
    try:
        with following(lib, media_root) as summaries:
            assert processed(summaries) == 1
            subprocess.run(["umount", str(lib)], check=True)
            wait_for(lambda: states(media_root)["a.jpg"][0] is False, "a.jpg offline")
            assert (media_root / "catalog.db").exists() and states(media_root)["a.jpg"][1] == \
                State.DONE  # offline, not deleted: its work is kept
            subprocess.run(["mount", "--bind", str(share), str(lib)], check=True)
            wait_for(lambda: states(media_root)["a.jpg"][0] is True, "a.jpg back online")
            images.jpeg(share / "b.jpg", (320, 240))  # and the watch follows the share again
            wait_for(lambda: states(media_root).get("b.jpg") == (True, State.DONE), "b.jpg")
        assert processed(summaries) == 2
    finally:
        subprocess.run(["umount", "-l", str(lib)], capture_output=True, check=False)


def test_with_a_broker_the_workers_process_what_the_watch_sees(
        tmp_path: Path, media_root: Path, redis_server: RedisServer,
        celery_worker: Callable[..., CeleryWorker]) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    celery_worker()
    with following(lib, media_root, redis_server.url) as summaries:
        images.jpeg(lib / "new.jpg", (320, 240))
        wait_for(lambda: states(media_root).get("new.jpg") == (True, State.DONE), "new.jpg")
    assert processed(summaries) == 1


def test_without_events_the_scheduled_rescan_is_the_safety_net(tmp_path: Path,
                                                               media_root: Path) -> None:
    from mediapipe.index.watch import Follower

    state = Follower(settle_s=1.0, cron="* * * * *")  # every minute
    assert 0 <= state.next_rescan - time.monotonic() <= 60
    assert Follower(settle_s=1.0, cron=None).next_rescan == float("inf")
    state.touched({"a", "b"}, now=100.0)
    assert not state.settled(now=100.5) and state.settled(now=101.0)
    assert state.unsettled == {}
    shutil.rmtree(tmp_path, ignore_errors=True)

"""Following a library: ``mediapipe ingest --watch``, after the scan, until stopped.

Owns: ``follow``, the loop that turns file-system events (``watchfiles``: inotify on Linux)
into ingests. Every event only marks its path *unsettled*; a path settles once no event has
touched it for ``library.watch.settleSeconds``. When something has settled, the library is
ingested again with the still-unsettled paths left as they are (``ingest(settling=...)``): a
file being copied is processed once, when the copy has stopped, and a move, a delete or a
restore is handled exactly as a rescan handles it (the diff decides; files that went are
offline, never deleted). A library that disappears (an unmounted share: its root gone or
replaced by the empty mount point) is rescanned like any change — its sources go offline — and
watched again when it comes back (its root's device and inode change), with a rescan. Each of
these ingests (and the first) runs once the watch is set up, so a file that arrives meanwhile
is either in its scan or in an event. A
scheduled full rescan (``library.scan.cronExpression``) is the safety net for missed events.
Each ingest holds the media root shared (``lock.shared``) for its pass only: other libraries'
watches and timers run beside it, and an exclusive run (``import``) waits for no more than a
pass, as the watch waits for it.
Does not own: the ingest itself (``ingest``) or the runner (the caller's).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import datetime

from mediapipe.errors import MediaRootBusy, StorageOffline
from mediapipe.index import lock
from mediapipe.index.ingest import IngestSummary, check_apart, ingest
from mediapipe.pipeline.local import Runner

__all__ = ["Follower", "follow"]

log = logging.getLogger(__name__)

TICK_MS = 250  # how often the loop looks at the clock when no event comes


def _identity(root: str) -> tuple[int, int] | None:
    """The library root's (device, inode): it changes when a share is mounted over it."""
    try:
        st = os.stat(root)
    except OSError:
        return None
    return st.st_dev, st.st_ino


@dataclasses.dataclass
class Follower:
    """The state of one followed library: what is unsettled, when the next rescan is due."""

    settle_s: float
    cron: str | None
    unsettled: dict[str, float] = dataclasses.field(default_factory=dict)  # path -> last event
    next_rescan: float = float("inf")

    def __post_init__(self) -> None:
        self.schedule()

    def schedule(self) -> None:
        if self.cron is None:
            return
        from cronsim import CronSim

        due = next(CronSim(self.cron, datetime.now()))
        self.next_rescan = time.monotonic() + max(0.0, (due - datetime.now()).total_seconds())

    def touched(self, paths: set[str], now: float) -> None:
        for path in paths:
            self.unsettled[path] = now

    def settled(self, now: float) -> bool:
        """Forget the paths that have settled; True when any did (an ingest is due)."""
        done = [p for p, seen in self.unsettled.items() if now - seen >= self.settle_s]
        for path in done:
            del self.unsettled[path]
        return bool(done)


def follow(library: str | os.PathLike[str], runner: Runner, *, stop: threading.Event,
           on_summary: Callable[[IngestSummary], None] | None = None,
           settle_s: float | None = None) -> None:
    """Ingest ``library`` now (into the runner's media root, with its settings), then again
    whenever its files change and settle, until ``stop`` is set. Each ingest's summary goes
    to ``on_summary``."""
    import watchfiles

    root, cfg = runner.root, runner.cfg
    lib = os.fsdecode(os.path.abspath(library))
    check_apart(lib, root)  # a config error ends the watch at once, not at every pass
    watch_cfg, scan_cfg = cfg.library.watch, cfg.library.scan
    state = Follower(watch_cfg.settle_seconds if settle_s is None else settle_s,
                     scan_cfg.cron_expression if scan_cfg.enabled else None)

    def run(reason: str) -> None:
        try:
            with lock.shared(root, wait=stop):
                summary = ingest(lib, runner, settling=set(state.unsettled))
        except MediaRootBusy:  # stopped while an exclusive run held the media root
            return
        except StorageOffline as exc:  # the library (or a media-root disk) is away for now
            log.warning("%s: %s; waiting for it to come back", reason, exc)
            return
        log.info("ingest after %s: %d processed, %d failed", reason, summary.processed,
                 summary.failed, extra={"stage": "watch"})
        if on_summary:
            on_summary(summary)

    scanned = _identity(lib)  # the root the last ingest saw
    if scanned is None:
        run("the start")  # says the library is away, and waits for it
    due = "the start" if scanned is not None else None  # an ingest to run once watched
    while not stop.is_set():
        identity = _identity(lib)
        if identity is None:
            stop.wait(1.0)
            continue
        if identity != scanned:  # unmounted, or mounted again over the root, since the last
            scanned = identity
            due = "the library root changed"
        try:
            for changes in watchfiles.watch(lib, stop_event=stop, yield_on_timeout=True,
                                            rust_timeout=TICK_MS, debounce=TICK_MS, step=50,
                                            raise_interrupt=False):
                now = time.monotonic()
                if due is not None:  # watched from here on: what changes while this ingest
                    run(due)  # runs comes as events, none falls between the two
                    due = None
                state.touched({path for _change, path in changes}, now)
                if _identity(lib) != identity:  # the loop above rescans, then watches anew
                    break
                if state.settled(now):
                    run("changes settled")
                if now >= state.next_rescan:
                    run("the scheduled rescan")
                    state.schedule()
        except (OSError, RuntimeError) as exc:  # the watched root itself went away
            log.warning("watching %s stopped: %s", lib, exc)
            scanned = None
            stop.wait(1.0)

"""SIGTERM and SIGINT end a command promptly, whatever it is doing.

Owns: ``stoppable``, the handlers a long command (``ingest``, ``--watch``) runs under: the first
SIGTERM or SIGINT sets ``STOP`` (what a loop between ingests looks at) and raises ``Stopped`` in
the main thread wherever it waits — a scan, a pool's results, a broker's reply, a queue no
worker serves — so the command unwinds through its ``with`` and ``finally`` blocks (the lock
released, the catalog's transaction rolled back or committed whole; outputs are written
atomically, so nothing partial stays; assets without a result stay pending for the next run).
A second signal is ignored while it unwinds, and a watchdog ends the process after
``GRACE_S`` if unwinding hangs (a pool waiting on a long transcode): a stop never takes longer
than that. Does not own: what the command reports (``main``: exit 130 for ``ingest``; a watch
stopped on purpose exits 0).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType

from mediapipe.errors import EXIT_INTERRUPTED

__all__ = ["GRACE_S", "STOP", "Stopped", "stoppable"]

GRACE_S = 8.0  # from the signal to the process's end, at most (systemd waits 90 s; issue: 10 s)
STOP = threading.Event()
log = logging.getLogger("mediapipe.cli")


class Stopped(KeyboardInterrupt):
    """The command was asked to stop by a signal (``signame``)."""

    def __init__(self, signame: str) -> None:
        super().__init__(signame)
        self.signame = signame


def _watchdog(signame: str, code: int) -> None:
    log.error("still stopping %.0fs after %s: ending now", GRACE_S, signame)
    sys.stderr.flush()
    os._exit(code)


@contextlib.contextmanager
def stoppable(exit_code: int = EXIT_INTERRUPTED) -> Iterator[threading.Event]:
    """Run the body under SIGTERM/SIGINT handlers that stop it (see the module); yields
    ``STOP``. ``exit_code`` is what the watchdog exits with."""
    if threading.current_thread() is not threading.main_thread():
        yield STOP  # signals reach the main thread only: nothing to install
        return

    def handler(signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if STOP.is_set():
            return  # already unwinding
        STOP.set()
        timer = threading.Timer(GRACE_S, _watchdog, (name, exit_code))
        timer.daemon = True
        timer.start()
        log.warning("%s: stopping (what has no result stays pending for the next run)", name)
        raise Stopped(name)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    STOP.clear()
    try:
        yield STOP
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)

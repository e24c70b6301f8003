"""One run per media root: an advisory ``flock`` on ``<media root>/.mediapipe.lock``.

Owns: ``hold(root, command)``, the lock that ``ingest``, ``import`` and ``migrate`` take for as
long as they run, and ``MediaRootBusy`` naming the holder (pid, host, command, since when) when
another run has it. The kernel drops the lock when its holder dies, however it dies (SIGKILL
too): no stale lock to clean up. The holder's details are written into the lock file for the
message only; the ``flock`` is the truth. Does not own: what the run does.

The lock file is opened by the media root's one rule for its own files
(``storage.open_own``): a symbolic link, a hard link or a FIFO planted as ``.mediapipe.lock`` is
refused (``PathEscape``), never followed and truncated.

A root that cannot be written (a read-only mount) gets no lock file: nothing can be written
there by any run, so there is nothing to serialise; the command fails on its own terms.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from mediapipe.errors import MediaRootBusy, PathEscape, from_os_error
from mediapipe.library import storage

__all__ = ["LOCK_NAME", "hold", "holder"]

LOCK_NAME = ".mediapipe.lock"
_NO_LOCK = {errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOENT}


def holder(root: str | Path) -> str:
    """The holder as its lock file describes it, in words (``pid 12, host h, ...``)."""
    try:
        with os.fdopen(storage.open_own(Path(root) / LOCK_NAME, os.O_RDONLY)) as fh:
            info = json.loads(fh.read() or "{}")
    except (OSError, ValueError, PathEscape):
        return "holder unknown"
    if not isinstance(info, dict) or not info:
        return "holder unknown"
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.get("since", 0)))
    return (f"pid {info.get('pid')} on {info.get('host')}, `{info.get('command')}`, "
            f"since {since}")


@contextlib.contextmanager
def hold(root: str | Path, command: str | None = None) -> Iterator[None]:
    """Hold the media root's lock for the block; ``MediaRootBusy`` at once if another has it."""
    path = Path(root) / LOCK_NAME
    try:
        fd = storage.open_own(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        if exc.errno in _NO_LOCK:  # read-only or missing root: the command says what is wrong
            yield
            return
        raise
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise MediaRootBusy(root, holder(root)) from None
        described = json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                "command": command or " ".join(["mediapipe", *sys.argv[1:]]),
                                "since": int(time.time())})
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, described.encode(), 0)
        except OSError as exc:  # a full disk: StorageOffline, as any write there
            raise from_os_error(path, exc, writing=True) from exc
        yield
    finally:
        os.close(fd)  # releases the flock

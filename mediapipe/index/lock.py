"""Who may run on a media root at once: advisory ``flock``s in the media root.

Owns: ``hold(root, command)``, the media root's exclusive lock (``.mediapipe.lock``) that
``import``, ``migrate`` and ``catalog rebuild`` take for as long as they run;
``hold_library(root, library)``, a library's own lock (``.mediapipe-library-<hash>.lock``)
that an ingest or a ``--watch`` of that library takes for its life; ``shared(root)``, the
media root's lock taken shared for one ingest pass (any number of libraries ingest at once;
an exclusive run waits for them all, and they for it); ``MediaRootBusy`` naming the holder
(pid, host, command, since when). Two ingests of different libraries on one media root run
side by side: their outputs cannot collide (ids come from the absolute path) and the catalog
takes one writer at a time (SQLite's own lock, with a busy timeout: ``index.catalog``). Two
runs of one library, or a library run and an exclusive one, never overlap.

The kernel drops a lock when its holder dies, however it dies (SIGKILL too): no stale lock to
clean up. The holder's details are written into the lock file for the message only; the
``flock`` is the truth. Does not own: what the run does.

Lock files are opened by the media root's one rule for its own files (``storage.open_own``): a
symbolic link, a hard link or a FIFO planted as a lock file is refused (``PathEscape``), never
followed and truncated. A root that cannot be written (a read-only mount) gets no lock file:
nothing can be written there by any run, so there is nothing to serialise; the command fails
on its own terms.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from mediapipe.errors import MediaRootBusy, PathEscape, from_os_error
from mediapipe.library import storage

__all__ = ["LIBRARY_LOCK", "LOCK_NAME", "hold", "hold_library", "holder", "library_lock",
           "shared"]

LOCK_NAME = ".mediapipe.lock"
LIBRARY_LOCK = ".mediapipe-library-{}.lock"
_NO_LOCK = {errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOENT}
log = logging.getLogger(__name__)


def library_lock(root: str | Path, library: str | os.PathLike[str]) -> Path:
    """The lock file of ``library`` (resolved: a link to it is the same library) in ``root``."""
    key = hashlib.sha256(os.fsencode(os.path.realpath(library))).hexdigest()[:16]
    return Path(root) / LIBRARY_LOCK.format(key)


def _describe(path: Path) -> str | None:
    try:
        with os.fdopen(storage.open_own(path, os.O_RDONLY)) as fh:
            info = json.loads(fh.read() or "{}")
    except (OSError, ValueError, PathEscape):
        return None
    if not isinstance(info, dict) or not info:
        return None
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.get("since", 0)))
    return (f"pid {info.get('pid')} on {info.get('host')}, `{info.get('command')}`, "
            f"since {since}")


def _held(path: Path, how: int) -> bool:
    """Whether some process holds ``path``'s lock so that ``how`` cannot be had now (tried, and
    let go at once)."""
    try:
        fd = storage.open_own(path, os.O_RDONLY)
    except (OSError, PathEscape):
        return False
    try:
        fcntl.flock(fd, how | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def holder(root: str | Path) -> str:
    """Who holds the media root, in words (``pid 12 on h, `mediapipe import …`, since …``): the
    exclusive holder, or else every library run that holds its library now."""
    root = Path(root)
    if not _held(root / LOCK_NAME, fcntl.LOCK_SH):  # only shared holders: library runs
        libraries = [d for p in sorted(root.glob(LIBRARY_LOCK.format("*")))
                     if _held(p, fcntl.LOCK_SH) and (d := _describe(p))]
        if libraries:
            return "; ".join(libraries)
    return _describe(root / LOCK_NAME) or "holder unknown"


def _open(path: Path) -> int | None:
    try:
        return storage.open_own(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        if exc.errno in _NO_LOCK:  # read-only or missing root: the command says what is wrong
            return None
        raise


def _sign(fd: int, path: Path, command: str | None) -> None:
    described = json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                            "command": command or " ".join(["mediapipe", *sys.argv[1:]]),
                            "since": int(time.time())})
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, described.encode(), 0)
    except OSError as exc:  # a full disk: StorageOffline, as any write there
        raise from_os_error(path, exc, writing=True) from exc


def hold(root: str | Path, command: str | None = None) -> contextlib.AbstractContextManager[None]:
    """Hold the media root alone for the block; ``MediaRootBusy`` at once if any other run
    (exclusive, or an ingest of any library) holds it."""
    return _alone(root, Path(root) / LOCK_NAME, command, lambda: holder(root))


def hold_library(root: str | Path, library: str | os.PathLike[str],
                 command: str | None = None) -> contextlib.AbstractContextManager[None]:
    """Hold ``library``'s own lock for the block; ``MediaRootBusy`` at once, naming the
    holder, if another run of the same library has it. Other libraries are not held up."""
    path = library_lock(root, library)
    return _alone(root, path, command, lambda: _describe(path) or "holder unknown")


@contextlib.contextmanager
def _alone(root: str | Path, path: Path, command: str | None,
           busy: Callable[[], str]) -> Iterator[None]:
    """``path``'s flock held exclusively for the block, signed by this run; ``MediaRootBusy``
    (``busy()`` names the holder) at once if another run has it."""
    fd = _open(path)
    if fd is None:
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise MediaRootBusy(root, busy()) from None
        _sign(fd, path, command)
        yield
    finally:
        os.close(fd)  # releases the flock


@contextlib.contextmanager
def shared(root: str | Path, *, wait: threading.Event | None = None,
           poll_s: float = 1.0) -> Iterator[None]:
    """Hold the media root shared for the block (one ingest pass): beside other libraries'
    passes, never beside an exclusive run. While an exclusive run holds it: ``MediaRootBusy``
    at once, or, given ``wait`` (a watch's stop event), wait for it to end (said once), unless
    ``wait`` is set first (``MediaRootBusy`` then)."""
    path = Path(root) / LOCK_NAME
    fd = _open(path)
    if fd is None:
        yield
        return
    said = False
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                who = _describe(path) or "holder unknown"  # an exclusive run
                if wait is None or wait.is_set():
                    raise MediaRootBusy(root, who) from None
                if not said:
                    log.warning("media root %s is held by %s; waiting for it", root, who)
                    said = True
                wait.wait(poll_s)
        yield
    finally:
        os.close(fd)

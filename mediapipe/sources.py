"""The source a step reads: the very file the scan saw, opened once and held while it is read.

Owns: ``held(path, identity)``, which opens a source (following a link inside the library, as
the scan did), checks that what it opened is a regular file and, when the scan recorded one,
that its (device, inode) is the scan's, and holds it open while a step runs; and
``readable(path)``, the name every reader opens (the block readers, Pillow, pillow-heif, rawpy,
PyAV, exiftool, ffmpeg): while a source is held, ``/proc/<pid>/fd/<n>``, which opens the held
file and no other whatever happens to ``path`` meanwhile (a symbolic link to a file outside the
library swapped in, a folder above it replaced); the path itself when nothing holds it (a file
named on the command line) or where ``/proc`` is absent. Every other use of a source's name
(its extension, its sidecar, messages) keeps ``path``; ``reason`` takes the hold's name out of
a reader's words (PyAV and ffmpeg quote the name they opened). And ``fingerprint``: a cheap
digest of a file's first and last 64 KiB, which the scan may compare besides size, mtime, inode
and ctime (``library.scan.fingerprint``).
Does not own: what a reader makes of the file (the stages), what the scan records (``index``).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

from mediapipe.errors import OFFLINE_ERRNOS, SourceOffline, Unreadable, from_os_error

__all__ = ["FINGERPRINT_SPAN", "Identity", "fingerprint", "held", "offline", "readable",
           "reason"]

Identity = tuple[int, int]  # (st_dev, st_ino): which file the scan saw at a path

_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC  # a FIFO must not block
_HELD: dict[str, int] = {}  # a held source's path -> its descriptor, in this process
_LOCK = threading.Lock()
_PROC = os.path.isdir("/proc/self/fd")
# A hold's name as readers quote it: "…input: '/proc/1/fd/3'" (PyAV), "/proc/1/fd/3: …" (ffmpeg).
_QUOTED = re.compile(r"(: ')?(?:file:)?/proc/\d+/fd/\d+(')?(: )?")


def _key(path: str | os.PathLike[str]) -> str:
    """One spelling of a path, however a reader was handed it (``a/./b.jpg``, ``Path``)."""
    return str(Path(path))


def readable(path: str | os.PathLike[str]) -> str:
    """The name to open ``path``'s contents by: the held file's, or ``path`` itself."""
    name = os.fspath(path)
    fd = _HELD.get(_key(name)) if _HELD else None  # nothing held: no spelling to work out
    if fd is None:
        return name
    return f"/proc/{os.getpid()}/fd/{fd}"  # a child process (ffmpeg, exiftool) opens it too


FINGERPRINT_SPAN = 64 * 1024  # read from each end of a file


def fingerprint(path: str | os.PathLike[str], size: int) -> bytes:
    """An 8-byte digest of the first and last ``FINGERPRINT_SPAN`` bytes of a ``size``-byte
    file (all of it when smaller): what changes when a same-size file replaces another, even
    where the filesystem's ctime does not (FAT and exFAT keep none). Reads at most 128 KiB."""
    digest = hashlib.blake2b(digest_size=8)
    fd = os.open(path, _FLAGS)
    try:
        digest.update(os.pread(fd, FINGERPRINT_SPAN, 0))
        if size > FINGERPRINT_SPAN:
            tail = max(FINGERPRINT_SPAN, size - FINGERPRINT_SPAN)
            digest.update(os.pread(fd, FINGERPRINT_SPAN, tail))
    finally:
        os.close(fd)
    return digest.digest()


def offline(path: str, exc: OSError) -> SourceOffline | None:
    """``SourceOffline`` when ``exc``, met opening or reading a source the scan saw, says it
    cannot be read now (a share unmounted, a stale or dropped mount, an I/O error, access
    refused by a share); None for any other error."""
    if exc.errno not in OFFLINE_ERRNOS:
        return None
    return SourceOffline(path, f"cannot be read now ({exc.strerror}); left pending, retried on "
                               "the next run")


def reason(said: BaseException | str) -> str:
    """A reader's words about a source without the hold's name (the error names the source)."""
    return _QUOTED.sub(lambda m: "" if m.group(1) or m.group(3) else "the source", str(said))


@contextlib.contextmanager
def held(path: str | os.PathLike[str],
         identity: Identity | None = None) -> Iterator[os.stat_result]:
    """Hold ``path`` open while the block runs, which reads it through ``readable(path)``;
    yields its ``stat`` (what the outputs made from it are stamped with).

    ``SourceOffline`` (transient) when it cannot be opened now or another file stands where
    the scan saw ``identity``; ``Unreadable`` when it is not a regular file."""
    name = os.fspath(path)
    try:
        fd = os.open(name, _FLAGS)
    except OSError as exc:
        with contextlib.suppress(OSError):  # a socket cannot be opened (ENXIO): say what it is
            if stat.S_ISSOCK(os.stat(name).st_mode):
                raise Unreadable(name, "not a regular file (a socket)") from exc
        gone = offline(name, exc) if identity is not None else None  # the scan saw it there
        raise gone or from_os_error(name, exc) from exc
    try:
        st = os.fstat(fd)
        if identity is not None and (st.st_dev, st.st_ino) != tuple(identity):
            # another file (or a link to one) stands where the scan saw this one: a task that
            # waited in a queue must not read it; the next scan decides what it is
            raise SourceOffline(name, "replaced since the scan (another file is there now); "
                                      "left for the next scan")
        if not stat.S_ISREG(st.st_mode):
            kind = ("a FIFO" if stat.S_ISFIFO(st.st_mode) else "a device"
                    if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else "a folder"
                    if stat.S_ISDIR(st.st_mode) else "not a file")
            raise Unreadable(name, f"not a regular file ({kind})")
        key = _key(name)
        with _LOCK:  # held already (a step inside a step): that hold answers
            mine = _PROC and key not in _HELD
            if mine:
                _HELD[key] = fd
        try:
            yield st
        finally:
            if mine:
                with _LOCK:
                    del _HELD[key]
    finally:
        os.close(fd)

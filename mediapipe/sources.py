"""The source a step reads: the very file the scan saw, opened once and held while it is read.

Owns: ``Source``, the value every stage reads a file through: ``path`` names it (its
extension, its sidecar, messages) and ``name`` is what readers open (the block readers, Pillow,
pillow-heif, rawpy, PyAV, exiftool, ffmpeg); ``held(path, identity)``, which opens a source
(following a link inside the library, as the scan did), checks that what it opened is a regular
file and, when the scan recorded one, that its (device, inode) is the scan's, and yields a
``Source`` whose ``name`` is ``/proc/<pid>/fd/<n>``: it opens the held file and no other
whatever happens to ``path`` meanwhile (a symbolic link to a file outside the library swapped
in, a folder above it replaced); ``Source.of(path)`` for a file named on the command line (its
``name`` is the path itself). ``reason`` takes the hold's name out of a reader's words (PyAV and
ffmpeg quote the name they opened). And ``fingerprint``: a cheap digest of a file's first and
last 64 KiB, which the scan may compare besides size, mtime, inode and ctime
(``library.scan.fingerprint``). ``denied``: a source its own permissions refuse (EACCES with
modes that refuse it: ``Unreadable``, recorded once) told from one a share refuses for now
(``SourceOffline``, transient). No process-wide state: a hold is a value passed down.
Does not own: what a reader makes of the file (the stages), what the scan records (``index``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from mediapipe.errors import OFFLINE_ERRNOS, SourceOffline, Unreadable, from_os_error

__all__ = [
    "FINGERPRINT_SPAN",
    "Identity",
    "Source",
    "SourceLike",
    "denied",
    "fingerprint",
    "held",
    "offline",
    "reason",
]

Identity = tuple[int, int]  # (st_dev, st_ino): which file the scan saw at a path

_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC  # a FIFO must not block
_PROC = os.path.isdir("/proc/self/fd")
# A hold's name as readers quote it: "…input: '/proc/1/fd/3'" (PyAV), "/proc/1/fd/3: …" (ffmpeg).
_QUOTED = re.compile(r"(: ')?(?:file:)?/proc/\d+/fd/\d+(')?(: )?")


@dataclasses.dataclass(frozen=True)
class Source:
    """A source file as a stage reads it: ``path`` names it (its extension, its sidecar,
    messages), ``name`` is what readers open (during a step, the held file's
    ``/proc/<pid>/fd/<n>``; else the path itself)."""

    path: Path
    name: str

    @classmethod
    def of(cls, source: SourceLike) -> Source:
        """``source`` itself, or the file a path names (read by that path)."""
        if isinstance(source, Source):
            return source
        path = Path(source)
        return cls(path, os.fspath(path))

    def open(self, buffering: int = -1) -> BinaryIO:
        """The file's bytes, opened by ``name``; the caller closes it. ``buffering=0`` for a
        walk of a few small reads far apart (box headers): no 8 KiB refill at each seek."""
        return open(self.name, "rb", buffering=buffering)

    def stat(self) -> os.stat_result:
        """The file's ``stat``, through ``name`` (the held file while a step runs)."""
        return os.stat(self.name)

    @property
    def suffix(self) -> str:
        return self.path.suffix

    def __str__(self) -> str:
        return str(self.path)


SourceLike = Source | str | os.PathLike[str]


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
    refused by a share); None for any other error (its own permissions refusing it among
    them: ``denied``)."""
    if exc.errno not in OFFLINE_ERRNOS or denied(path, exc):  # its own mode: permanent
        return None
    return SourceOffline(path, f"cannot be read now ({exc.strerror}); left pending, retried on "
                               "the next run")


def denied(path: str, exc: OSError) -> bool:
    """Whether ``exc`` (EACCES, EPERM) is the file's own permissions refusing this user — a
    permanent failure, recorded once — rather than a share refusing access for now (the
    modes allow it: ``SourceOffline``, transient)."""
    if exc.errno not in (errno.EACCES, errno.EPERM):
        return False
    try:
        return not os.access(path, os.R_OK)
    except OSError:
        return False


def reason(said: BaseException | str) -> str:
    """A reader's words about a source without the hold's name (the error names the source)."""
    return _QUOTED.sub(lambda m: "" if m.group(1) or m.group(3) else "the source", str(said))


@contextlib.contextmanager
def held(path: str | os.PathLike[str], identity: Identity | None = None) -> Iterator[Source]:
    """Hold ``path`` open while the block runs; yields the ``Source`` its readers read it by
    (``Source.stat`` is then the held file's: what outputs made from it are stamped with).

    ``SourceOffline`` (transient) when it cannot be opened now or another file stands where
    the scan saw ``identity``; ``Unreadable`` when it is not a regular file."""
    name = os.fspath(path)
    try:
        fd = os.open(name, _FLAGS)
    except OSError as exc:
        with contextlib.suppress(OSError):  # a socket cannot be opened (ENXIO): say what it is
            if stat.S_ISSOCK(os.stat(name).st_mode):
                raise Unreadable(name, "not a regular file (a socket)") from exc
        if denied(name, exc):  # its own mode refuses us: so it stays until someone fixes it
            raise Unreadable(name, f"no read permission ({exc.strerror}); recorded as failed: "
                                   "fix its permissions, then ingest --retry-failed") from exc
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
        # a child process (ffmpeg, exiftool) opens the held file by this name too
        yield Source(Path(name), f"/proc/{os.getpid()}/fd/{fd}" if _PROC else name)
    finally:
        os.close(fd)

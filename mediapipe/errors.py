"""The one error family of mediapipe, and the record an error travels as.

Owns: ``MediapipeError``, the one root of every exception mediapipe raises on purpose (a stage,
storage, the catalog, the config, the broker), each type with its exit code and whether a retry
may help; ``MediaError``, the branch about one file; ``ErrorRecord``, an error as a value that
crosses a process or a Celery message (``to_dict``/``from_dict``) and keeps its type's exit
code wherever it was raised. Does not own: catching them (the edges do: ``mediapipe.cli``,
``mediapipe.pipeline.drive``, ``workers.tasks``).

Every error about a file carries the path and a reason, and is raised ``from`` its cause.
``MediaError.transient`` tells the workers whether a retry can help: only ``StorageOffline``,
``SourceOffline`` and an ffmpeg killed by a signal are; a wrong path, a copy that does not match its
source or a catalog from a newer mediapipe fail the same way every time, so they fail once, clearly.

Exit codes (the CLI's, one per type): 1 ``MediaError`` (some files failed), 3 ``ConfigError``,
4 ``StorageOffline``, 5 ``UnsupportedMedia``, 6 ``CorruptMedia``, 7 ``TooLarge``,
8 ``TranscodeFailed``, 9 ``PathEscape``, 10 ``IntegrityError``, 11 ``CatalogError``,
12 ``Unreadable`` (not found / not readable), 13 ``PermissionDenied`` (an output that is mounted but
may not be written), 14 ``BrokerUnreachable``, 15 ``SourceOffline`` (a source the scan saw that
cannot be read when it is processed: a share gone, a disk failing; transient), 16 ``OverTimeLimit``
(a task ran past its worker's time limit), 17 ``MediaRootBusy`` (another run holds the media
root), 18 ``Unserved`` (assets waited past a deadline in a queue no worker serves; they stay
pending). ``from_os_error`` turns an ``OSError`` into the right one of these by its errno class;
``combined_exit_code`` is the one rule for a batch. A failure that is no ``MediapipeError`` (a
bug) travels as an ``ErrorRecord`` of type ``InternalError``, exit code 70.
"""

from __future__ import annotations

import dataclasses
import errno
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

__all__ = [
    "OFFLINE_ERRNOS",
    "BrokerUnreachable",
    "CatalogError",
    "ConfigError",
    "CorruptMedia",
    "ErrorRecord",
    "IntegrityError",
    "MediaError",
    "MediaRootBusy",
    "MediapipeError",
    "OverTimeLimit",
    "PathEscape",
    "PermissionDenied",
    "SourceOffline",
    "StorageOffline",
    "TooLarge",
    "TranscodeFailed",
    "Unreadable",
    "Unserved",
    "UnsupportedMedia",
    "check_pixels",
    "combined_exit_code",
    "from_os_error",
    "unserved_line",
]


INTERNAL_EXIT_CODE = 70  # a bug (EX_SOFTWARE): a failure no MediapipeError names


class MediapipeError(Exception):
    """The root of every error mediapipe raises on purpose: its type names what happened,
    ``exit_code`` what the CLI exits with, ``transient`` whether a later try may succeed."""

    exit_code: ClassVar[int] = 1
    transient: bool = False
    _types: ClassVar[dict[str, type[MediapipeError]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        MediapipeError._types[cls.__name__] = cls

    @property
    def path(self) -> str:
        """The file (or place) it is about; empty when none."""
        return ""

    @property
    def reason(self) -> str:
        return str(self)

    def record(self) -> ErrorRecord:
        """This error as a value that crosses processes and messages."""
        return ErrorRecord(type(self).__name__, self.reason, self.path, bool(self.transient))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly form, the shape results and ``--json`` output carry."""
        return self.record().to_dict()

    @classmethod
    def by_name(cls, name: str) -> type[MediapipeError] | None:
        """The error type named ``name`` (as an ``ErrorRecord`` names it), if there is one."""
        return cls._types.get(name) or (cls if name == cls.__name__ else None)


@dataclasses.dataclass(frozen=True)
class ErrorRecord:
    """One error as a value: its type's name, its message, the path it is about and whether
    it is transient. What a failed step's outcome carries, on a wire or in the catalog."""

    type: str
    message: str
    path: str = ""
    transient: bool = False

    @classmethod
    def of(cls, exc: BaseException) -> ErrorRecord:
        """``exc``'s record; anything that is not a ``MediapipeError`` is an ``InternalError``."""
        if isinstance(exc, MediapipeError):
            return exc.record()
        return cls("InternalError", f"{type(exc).__name__}: {exc}")

    @property
    def exit_code(self) -> int:
        """The exit code of its type, wherever it was raised (a worker's ConfigError: 3)."""
        kind = MediapipeError.by_name(self.type)
        return kind.exit_code if kind is not None else INTERNAL_EXIT_CODE

    def describe(self) -> str:
        """``Type: path: message`` (the path left out when there is none)."""
        where = f"{self.path}: " if self.path else ""
        return f"{self.type}: {where}{self.message}"

    def error(self) -> MediapipeError:
        """The error again, of its own type where it is a ``MediaError`` (else the root)."""
        kind = MediapipeError.by_name(self.type)
        if kind is not None and issubclass(kind, MediaError):
            return kind(self.path, self.message)
        return MediapipeError(self.describe())

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ErrorRecord:
        return cls(str(data.get("type") or "MediaError"), str(data.get("message") or ""),
                   str(data.get("path") or ""), bool(data.get("transient")))


class MediaError(MediapipeError):
    """A problem with one file (a source or an output); the rest of a batch carries on."""

    exit_code = 1
    transient = False

    def __init__(self, path: object, reason: str) -> None:
        self._path = str(path)
        self._reason = reason
        super().__init__(path, reason)

    @property
    def path(self) -> str:
        return self._path

    @property
    def reason(self) -> str:
        return self._reason

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


class UnsupportedMedia(MediaError):
    """Not a kind of file mediapipe handles (unknown extension, mislabelled content)."""

    exit_code = 5


class CorruptMedia(MediaError):
    """The file claims a supported format but cannot be decoded (empty, truncated, damaged)."""

    exit_code = 6


class TooLarge(MediaError):
    """Refused before decoding: the image exceeds the configured pixel limit."""

    exit_code = 7


def check_pixels(path: object, width: int | None, height: int | None, limit: int, *,
                 what: str = "image") -> None:
    """The one pixel check (``image.maxPixels``), for images and video streams alike:
    ``TooLarge`` when ``width`` x ``height``, as a header says, exceeds ``limit``. Called with
    the header's numbers before any decoder allocates a frame of that size."""
    if width and height and width * height > limit:
        raise TooLarge(path, f"{what} of {width}x{height} = {width * height} pixels exceeds "
                             f"the limit of {limit} (image.maxPixels); refused before decoding")


class StorageOffline(MediaError):
    """A media-root folder lacks its ``.immich`` marker (unmounted disk?) or cannot be written.

    Nothing is written when this is raised. Transient: the disk may come back.
    """

    exit_code = 4
    transient = True


class TranscodeFailed(MediaError):
    """ffmpeg failed; carries its return code, argv and the tail of its stderr."""

    exit_code = 8

    def __init__(
        self,
        path: object,
        reason: str,
        *,
        returncode: int | None = None,
        argv: list[str] | None = None,
        stderr_tail: str = "",
    ) -> None:
        super().__init__(path, reason)
        self.returncode = returncode
        self.argv = list(argv or [])
        self.stderr_tail = stderr_tail

    @property
    def transient(self) -> bool:  # type: ignore[override]
        """ffmpeg killed by a signal (OOM killer, shutdown) may well succeed on a retry."""
        return self.returncode is not None and self.returncode < 0


class PathEscape(MediaError):
    """A place resolves outside the folder it must stay in (a symlink pointing out of the media
    root, say). Refused before anything is written there. Not transient: it resolves the same way
    until someone changes the folders."""

    exit_code = 9


class IntegrityError(MediaError):
    """A copy differs from its source (size or sha1): the copy is removed, nothing is placed and
    the source is kept. Not transient: retrying on the same hardware is not expected to help; a
    re-run once the cause (memory, disk, network share) is fixed repeats the copy safely."""

    exit_code = 10


class CatalogError(MediaError):
    """The catalog cannot be used: its schema is newer than this mediapipe knows, or SQLite
    cannot read or write it (damaged, read-only, immutable, locked by another process). Nothing
    more is written to it. Not transient: ``mediapipe catalog check`` says what is wrong,
    ``mediapipe catalog rebuild`` makes a new one from the libraries and the outputs on disk."""

    exit_code = 11


class Unreadable(MediaError):
    """A source that is not there or cannot be read: missing, a folder where a file was expected,
    no read permission, a dangling link. Not transient: nothing changes until someone fixes the
    path or its permissions."""

    exit_code = 12


class PermissionDenied(MediaError):
    """An output folder that is mounted (its marker is there) but may not be written: no write
    permission, or a read-only filesystem. Nothing is written. Not transient: retrying cannot
    help until someone changes the permissions or remounts read-write."""

    exit_code = 13


class SourceOffline(MediaError):
    """A source that cannot be read when it is processed: gone since the scan (a NAS share
    unmounted), an I/O error, a stale or dropped network mount, access refused by a share.
    Transient: the step stays pending and the next run tries it again (the catalog keeps the
    asset; a later scan says whether it is really gone)."""

    exit_code = 15
    transient = True


class OverTimeLimit(MediaError):
    """A step ran past the time limit of the worker running it (``worker.imageTimeLimit``,
    ``worker.videoTimeLimit``): stopped, nothing written. Not transient: the same file takes as
    long again; raise the limit on that worker."""

    exit_code = 16


class BrokerUnreachable(MediapipeError):
    """The Celery broker does not answer or refuses us: connection refused, unknown host, no
    answer within the timeout, authentication failed. Checked before a run starts, and raised
    by a run whose broker stays away past ``worker.brokerDeadline`` (its assets stay pending)."""

    exit_code = 14

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.why = reason
        super().__init__(url, reason)

    @property
    def reason(self) -> str:
        return self.why

    @property
    def path(self) -> str:
        return self.url

    def __str__(self) -> str:
        return f"broker {self.url}: {self.why}"


class MediaRootBusy(MediapipeError):
    """Another mediapipe run holds the media root (``ingest``, ``import``, ``migrate``): names
    the holder (pid, host, command, since when). Nothing was changed; run again when it ends."""

    exit_code = 17

    def __init__(self, root: object, holder: str) -> None:
        self.root = str(root)
        self.holder = holder
        super().__init__(root, holder)

    @property
    def path(self) -> str:
        return self.root

    @property
    def reason(self) -> str:
        return f"in use by another run ({self.holder}); nothing changed"

    def __str__(self) -> str:
        return f"{self.root}: {self.reason}"


class Unserved(MediapipeError):
    """A run's assets waited in queues that no worker consumes (no ``mediapipe worker -Q``
    names them) past the run's deadline: the run ends, those assets stay pending in the catalog
    for the next run. Names each queue and how many assets wait there."""

    exit_code = 18

    def __init__(self, waiting: dict[str, int], waited_s: float) -> None:
        self.waiting = dict(waiting)
        self.waited_s = waited_s
        super().__init__(waiting, waited_s)

    def __str__(self) -> str:  # also its reason (``MediapipeError.reason``): it names no path
        return (f"{unserved_line(self.waiting)} for {self.waited_s:.0f}s: start a worker that "
                "serves it (mediapipe worker -Q ...); the assets stay pending for the next run")


def unserved_line(waiting: dict[str, int]) -> str:
    """``no worker serves `video`: 1 asset waiting`` (queues joined by ``; ``): the one wording
    of the coordinator's status line, its log line and ``Unserved``."""
    return "; ".join(f"no worker serves `{queue}`: {n} asset{'s' if n != 1 else ''} waiting"
                     for queue, n in sorted(waiting.items()))


class ConfigError(MediapipeError, ValueError):
    """An invalid setting: names the key, the value given and what is allowed."""

    exit_code = 3

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        super().__init__(f"{key}: {message}")


# errno classes: what a failed read or write says about the path.
_NOT_FOUND = {errno.ENOENT, errno.ENOTDIR, errno.ELOOP, errno.ENAMETOOLONG, errno.EISDIR}
_DENIED = {errno.EACCES, errno.EPERM, errno.EROFS}
# A source cannot be read now, but may be later: the medium or the mount behind it is failing.
_UNREACHABLE = {errno.EIO, errno.ESTALE, errno.ENOTCONN, errno.EHOSTDOWN, errno.EHOSTUNREACH,
                errno.ETIMEDOUT, errno.ENODEV, errno.ENXIO, errno.ECONNRESET, errno.ECONNABORTED}
# What a source the scan saw says when it is read at processing time and its share is gone.
OFFLINE_ERRNOS = frozenset(_UNREACHABLE | {errno.ENOENT, errno.ENOTDIR, errno.EACCES,
                                           errno.EPERM})


def from_os_error(path: object, exc: OSError, *, writing: bool = False) -> MediaError:
    """The typed error for ``exc`` met reading (or ``writing``) ``path``, its cause in words.

    Reading: missing, not a file, no permission → ``Unreadable``; an I/O error, a stale or
    dropped mount → ``SourceOffline`` (transient); anything else → ``CorruptMedia``.
    Writing: no permission or a read-only filesystem →
    ``PermissionDenied``; anything else (full, gone, stale mount) → ``StorageOffline``, which
    is transient.
    """
    cause = exc.strerror or str(exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        cause = f"the disk is full ({cause})"
    elif exc.errno == errno.EROFS:
        cause = f"a read-only filesystem ({cause})"
    if exc.errno == errno.EISDIR:
        cause = "is a directory, not a file"
    if writing:
        if exc.errno in _DENIED:
            return PermissionDenied(path, f"cannot write: {cause}; nothing written")
        return StorageOffline(path, f"cannot write: {cause}; nothing written")
    if exc.errno in _NOT_FOUND or exc.errno in _DENIED:
        return Unreadable(path, f"cannot read: {cause}")
    if exc.errno in _UNREACHABLE:
        return SourceOffline(path, f"cannot read: {cause}; retried on the next run")
    return CorruptMedia(path, f"cannot read: {cause}")


def combined_exit_code(codes: Iterable[int]) -> int:
    """One exit code for a batch: 0 when nothing failed, the failures' shared code when they all
    failed the same way (one missing file → 12), 1 when they failed in different ways."""
    distinct = set(codes) - {0}
    if not distinct:
        return 0
    return distinct.pop() if len(distinct) == 1 else 1

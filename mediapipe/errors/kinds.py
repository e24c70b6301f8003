"""The kinds of mediapipe error, each with its exit code: the one register of exit codes.

Owns: every kind under ``MediapipeError`` (``MediaError``'s: ``UnsupportedMedia``,
``CorruptMedia``, ``TooLarge``, ``StorageOffline``, ``TranscodeFailed``, ``PathEscape``,
``IntegrityError``, ``CatalogError``, ``Unreadable``, ``PermissionDenied``, ``SourceOffline``,
``OverTimeLimit``; and ``ConfigError``, ``BrokerUnreachable``, ``MediaRootBusy``, ``Unserved``),
each with its exit code and whether a retry may help; ``EXIT_CODES``, every code the CLI exits
with and what it names, made from them (the CLI, the README's table and the deployment files
are checked against it); ``check_pixels``, the one ``image.maxPixels`` check of a header's size;
``unserved_line``, the one wording of assets no worker serves. Does not own: the root, the
record and the batch rule (``errors.base``), nor telling an ``OSError``'s kind
(``errors.oserrors``).

Every error about a file carries the path and a reason, and is raised ``from`` its cause.
``transient`` tells the workers whether a retry can help: only ``StorageOffline``,
``SourceOffline`` and an ffmpeg killed by a signal are; a wrong path, a copy that does not match
its source or a catalog from a newer mediapipe fail the same way every time, so they fail once,
clearly.
"""

from __future__ import annotations

from collections.abc import Mapping

from mediapipe.errors.base import (
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    MediaError,
    MediapipeError,
)

__all__ = [
    "EXIT_CODES",
    "BrokerUnreachable",
    "CatalogError",
    "ConfigError",
    "CorruptMedia",
    "IntegrityError",
    "MediaRootBusy",
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
    "unserved_line",
]


class UnsupportedMedia(MediaError):
    """Not a kind of file mediapipe handles (unknown extension, mislabelled content)."""

    exit_code = 5


class CorruptMedia(MediaError):
    """The file claims a supported format but cannot be decoded (empty, truncated, damaged)."""

    exit_code = 6


class TooLarge(MediaError):
    """Refused before decoding: an image, a RAW sensor or a video stream over ``image.maxPixels``
    by its header's size."""

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


# Every exit code of ``mediapipe``, by code: the name of the kind that carries it (as ``--json``
# names it: ``error.type``), or the outcome no kind carries. Made once, from the kinds above.
EXIT_CODES: Mapping[int, str] = dict(sorted({
    EXIT_OK: "ok", EXIT_USAGE: "usage", EXIT_INTERNAL: "InternalError",
    EXIT_INTERRUPTED: "interrupted",
    **{kind.exit_code: kind.__name__ for kind in MediapipeError.kinds()},
}.items()))

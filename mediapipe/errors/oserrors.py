"""An ``OSError`` told as the mediapipe error it means, by its errno class.

Owns: ``from_os_error``, the one reading of a failed read or write (missing, denied, a failing
medium or mount, a full disk) as a kind with its cause in words; ``OFFLINE_ERRNOS``, what a
source the scan saw says when its share is gone. Does not own: the kinds (``errors.kinds``).
"""

from __future__ import annotations

import errno

from mediapipe.errors.base import MediaError
from mediapipe.errors.kinds import (
    CorruptMedia,
    PermissionDenied,
    SourceOffline,
    StorageOffline,
    Unreadable,
)

__all__ = ["OFFLINE_ERRNOS", "from_os_error"]

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

"""The media root's own files: opened for writing never through a link.

Owns: the one rule for the files the media root keeps for itself (the lock, ``catalog.db`` and
the files SQLite keeps beside it, the import ledger, temp files): ``open_own`` opens one, and
``refuse_link`` checks one before another program (SQLite) opens it itself. Never through a
symbolic link, never a file that is not regular (a FIFO) or that has another name (a hard link
to a file elsewhere), so a link planted in the media root cannot make mediapipe write outside it
(``PathEscape``); ``FILE_MODE``, the permission bits a new file gets unless the settings say
otherwise (``storage.Modes``). Does not own: where the files are, or what they hold (their
callers'); atomic writes (``storage``). ``storage`` names both entry points too.

Entry points: ``open_own``, ``refuse_link``.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from mediapipe.errors import PathEscape, from_os_error

__all__ = ["FILE_MODE", "open_own", "refuse_link"]

FILE_MODE = 0o644


def _not_own(st: os.stat_result) -> str | None:
    """Why a file that is there may not be written as one of the media root's own, or None."""
    if stat.S_ISLNK(st.st_mode):
        return "is a symbolic link"
    if not stat.S_ISREG(st.st_mode):
        return "is not a regular file"
    if st.st_nlink > 1:
        return f"has {st.st_nlink - 1} other name(s) (a hard link)"
    return None


def _escape(path: Path, why: str) -> PathEscape:
    return PathEscape(path, f"{why}: the media root's own files are never written through a "
                            "link (it could lead outside the media root); remove it; nothing "
                            "written")


def refuse_link(path: str | Path) -> None:
    """``PathEscape`` when ``path`` is there and is not a plain file of its own (a symbolic or
    hard link, a FIFO …): the check before another program (SQLite) opens it for writing. A
    folder there is left to that program to refuse in its own words."""
    path = Path(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise from_os_error(path, exc, writing=True) from exc
    if not stat.S_ISDIR(st.st_mode) and (why := _not_own(st)) is not None:
        raise _escape(path, why)


def open_own(path: str | Path, flags: int, mode: int = FILE_MODE) -> int:
    """Open one of the media root's own files for writing (``os.open`` flags; ``O_CREAT`` to
    make it), never through a link: ``PathEscape`` for a symbolic link (``O_NOFOLLOW``), a file
    that is not regular (a FIFO does not block: ``O_NONBLOCK``) or has another name. Returns
    the descriptor; other ``OSError``s are the caller's."""
    path = Path(path)
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP or (exc.errno == errno.ENXIO and path.is_fifo()):
            raise _escape(path, "is a symbolic link" if exc.errno == errno.ELOOP
                          else "is not a regular file") from exc
        raise
    try:
        why = _not_own(os.fstat(fd))
    except OSError:
        os.close(fd)
        raise
    if why is not None:
        os.close(fd)
        raise _escape(path, why)
    os.set_blocking(fd, True)
    return fd

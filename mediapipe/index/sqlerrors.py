"""SQLite's errors in words: every ``sqlite3.Error`` the catalog meets, as one ``CatalogError``.

Owns: ``catalog_error`` (a damaged, unwritable, immutable, locked or unreadable ``catalog.db``,
each named with what to do about it; a full disk is ``StorageOffline``, as everywhere) and
``mapped``, the decorator that turns any ``sqlite3.Error`` escaping a ``Catalog`` method into
it. Does not own: the catalog (``catalog``)
or the exit code (``errors.CatalogError``: 11, at the CLI's edge).
"""

from __future__ import annotations

import functools
import inspect
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar, cast

from mediapipe.errors import CatalogError, MediaError, StorageOffline

__all__ = ["BUSY_TIMEOUT_S", "busy", "catalog_error", "mapped"]

BUSY_TIMEOUT_S = 10.0  # how long a write waits for another process's lock on the catalog
F = TypeVar("F", bound=Callable[..., Any])

_REPAIR = "`mediapipe catalog check` says more; `mediapipe catalog rebuild LIBRARY...` makes a " \
          "new one from the libraries, reusing the outputs on disk"
_WORDS = (  # (what SQLite says, in part; what it means and what to do)
    ("malformed", f"damaged; {_REPAIR}"),
    ("not a database", f"damaged or not a catalog; {_REPAIR}"),
    ("readonly", "may not be written: a read-only file, folder or filesystem, or immutable "
                 "(lsattr shows 'i'; chattr -i)"),
    ("unable to open", "cannot be opened: no permission, or its folder may not be written "
                       "(SQLite keeps -wal and -shm files beside it)"),
    ("locked", f"locked by another process for more than {BUSY_TIMEOUT_S:g}s (another "
               "mediapipe, or a program holding it open)"),
    ("busy", f"locked by another process for more than {BUSY_TIMEOUT_S:g}s"),
    ("disk i/o", "input/output error: a failing disk or a network share that went away"),
    ("no such table", f"is missing tables; {_REPAIR}"),
    ("no such column", f"has a schema this mediapipe does not know; {_REPAIR}"),
)


def busy(exc: sqlite3.Error) -> bool:
    """SQLite could not take a lock it needed (SQLITE_BUSY, SQLITE_LOCKED: "... is locked"),
    after its busy timeout, or at once where waiting could deadlock (a read upgraded to a
    write after another connection wrote, a switch to WAL)."""
    return "locked" in str(exc)


def catalog_error(path: str | Path, exc: sqlite3.Error) -> MediaError:
    """The one-line ``CatalogError`` for ``exc`` met using the catalog at ``path``; a full
    disk (``SQLITE_FULL``) is what it is anywhere else, ``StorageOffline`` (exit 4): nothing
    more written, what was committed kept, a re-run once there is room finishes the work."""
    said = str(exc) or type(exc).__name__
    low = said.lower()
    if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "disk is full" in low:
        return StorageOffline(path, f"cannot write: the disk is full; nothing more written, "
                                    f"run again once there is room (SQLite: {said})")
    words = next((w for key, w in _WORDS if key in low), "cannot be used")
    return CatalogError(path, f"{words} (SQLite: {said})")


def mapped(method: F) -> F:
    """Wrap a ``Catalog`` method (a generator too): ``sqlite3.Error`` → ``CatalogError``."""
    if inspect.isgeneratorfunction(method):
        @functools.wraps(method)
        def stream(self: Any, *args: Any, **kwargs: Any) -> Iterator[Any]:
            try:
                yield from method(self, *args, **kwargs)
            except sqlite3.Error as exc:
                raise catalog_error(self.path, exc) from exc
        return cast(F, stream)

    @functools.wraps(method)
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise catalog_error(self.path, exc) from exc
    return cast(F, call)

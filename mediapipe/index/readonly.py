"""Opening the catalog for reading only, and keeping SQLite's side files as the catalog is.

Owns: ``connect_read_only`` (``mode=ro``; where SQLite cannot make or read the WAL index beside
a read-only catalog in a read-only folder, ``immutable=1``: the file as it stands, what a
writer left in ``-wal`` and never checkpointed not seen), ``open_read_only`` (the file itself,
or a copy, ``scratch_copy``, in a temporary database SQLite deletes on close, where a reader
must still change it: an older schema brought up to date, ``ingest --dry-run``'s diff rolled
back; nothing reaches the file) and ``align_side_files`` (``-wal``, ``-shm``, ``-journal``
given the catalog's own mode, so a failed or read-only open never leaves, say, a 0444 ``-shm``
that blocks every later writer once the catalog is made writable again). Does not own: the
catalog's queries (``catalog``) or mapping SQLite's errors (``sqlerrors``).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import urllib.parse
from pathlib import Path

from mediapipe.index.sqlerrors import catalog_error

__all__ = ["SIDE_FILES", "align_side_files", "connect_read_only", "open_read_only",
           "scratch_copy"]

SIDE_FILES = ("-wal", "-shm", "-journal")  # what SQLite opens beside the catalog itself


def _uri(path: Path, **params: str) -> str:
    quoted = urllib.parse.quote(os.fsencode(os.path.abspath(path)))
    return f"file:{quoted}?" + "&".join(f"{k}={v}" for k, v in params.items())


def connect_read_only(path: Path, timeout: float) -> sqlite3.Connection:
    """``path`` opened for reading only (see the module); ``sqlite3.Error`` when neither way
    reads it."""
    db = sqlite3.connect(_uri(path, mode="ro"), uri=True, isolation_level=None,
                         timeout=timeout)
    try:
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()  # WAL index made or read
        return db
    except sqlite3.OperationalError:
        db.close()
    finally:
        align_side_files(path)
    return sqlite3.connect(_uri(path, mode="ro", immutable="1"), uri=True,
                           isolation_level=None, timeout=timeout)


def open_read_only(path: Path, columns: set[str], version: int, *, scratch: bool,
                   timeout: float) -> tuple[sqlite3.Connection, bool]:
    """The catalog at ``path`` for reading: the file itself when its schema is ``version``
    with every one of ``columns`` and nothing is to change (False), else a scratch copy
    that the caller brings up to date (True; an empty one where there is no catalog yet).
    SQLite's errors as one ``CatalogError``."""
    try:
        return _open(path, columns, version, scratch=scratch, timeout=timeout)
    except sqlite3.Error as exc:
        raise catalog_error(path, exc) from exc


def _open(path: Path, columns: set[str], version: int, *, scratch: bool,
          timeout: float) -> tuple[sqlite3.Connection, bool]:
    if not os.path.lexists(path):  # never ingested: an empty one, made nowhere
        return sqlite3.connect("", isolation_level=None), True
    db = connect_read_only(path, timeout)
    try:
        if not scratch and _current(db, columns, version):
            return db, False
        copied = scratch_copy(db)
    except BaseException:
        db.close()
        raise
    db.close()
    return copied, True


def _current(db: sqlite3.Connection, columns: set[str], version: int) -> bool:
    if db.execute("PRAGMA user_version").fetchone()[0] != version:
        return False
    return columns <= {str(r[1]) for r in db.execute("PRAGMA table_info(sources)")}


def scratch_copy(source: sqlite3.Connection) -> sqlite3.Connection:
    """A temporary copy of ``source`` (on disk, deleted when closed), free to change."""
    copy = sqlite3.connect("", isolation_level=None)
    try:
        source.backup(copy)
    except BaseException:
        copy.close()
        raise
    return copy


def align_side_files(path: Path) -> None:
    """Give each side file of ``path`` that SQLite left the catalog's permission bits (never
    through a link: ``opening.refuse_links`` checked them)."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return
    for side in SIDE_FILES:
        name = f"{path}{side}"
        with contextlib.suppress(OSError):  # not there, or not ours: SQLite says so later
            st = os.lstat(name)
            if stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) != mode:
                os.chmod(name, mode)

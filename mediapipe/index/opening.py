"""Opening ``catalog.db``: from a path to a connection ready for the catalog's queries.

Owns: ``connect`` (the links refused first, ``refuse_links``; the file made as the media
root's own file, ``storage.open_own``; WAL switched on, retried while another coordinator
switches the same new catalog; the schema applied under a write lock, or read as it is where
the file cannot be written; a newer schema refused; reading only through ``readonly``) and
``SCHEMA_VERSION``. Every ``sqlite3.Error`` leaves as one ``CatalogError`` in words
(``sqlerrors``). Does not own: the queries (``catalog``), the SQL (``schema``).
"""

from __future__ import annotations

import errno
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from mediapipe.errors import CatalogError, from_os_error
from mediapipe.identity import asset_id_for_path
from mediapipe.index import readonly, sqlerrors
from mediapipe.index.readonly import SIDE_FILES
from mediapipe.index.schema import Schema, column
from mediapipe.index.sqlerrors import catalog_error
from mediapipe.library import storage
from mediapipe.metadata.model import live_photo_key

__all__ = ["SCHEMA_VERSION", "connect", "refuse_links"]

SCHEMA_VERSION = 1


def refuse_links(db_path: str | Path) -> None:
    """``PathEscape`` when the catalog, or a file SQLite keeps beside it, is a link (symbolic
    or hard) or a FIFO: checked before SQLite opens it, for reading too (a reader in WAL mode
    writes ``-shm``)."""
    for side in ("", *SIDE_FILES):
        storage.refuse_link(f"{db_path}{side}")


def connect(path: Path, schema: Schema, *, read_only: bool = False,
            scratch: bool = False) -> sqlite3.Connection:
    """The catalog at ``path`` with ``schema`` applied. ``read_only``: the file itself while
    its schema is current, else a temporary copy brought up to date; ``scratch``: such a copy
    always (``readonly.open_read_only``)."""
    refuse_links(path)
    readonly.align_side_files(path)  # what an earlier failed open left, repaired
    if read_only or scratch:
        db, copied = readonly.open_read_only(path, {column(name) for name in schema.names},
                                             SCHEMA_VERSION, scratch=scratch,
                                             timeout=sqlerrors.BUSY_TIMEOUT_S)
        _guarded(db, path, _prepare if copied else _functions, schema)
        return db
    if not os.path.lexists(path):  # made here, as the media root's own file
        try:
            os.close(storage.open_own(path, os.O_RDWR | os.O_CREAT | os.O_EXCL))
        except OSError as exc:  # cannot be made: SQLite says why in its words, or full
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise from_os_error(path, exc, writing=True) from exc
    try:
        db = sqlite3.connect(path, isolation_level=None, timeout=sqlerrors.BUSY_TIMEOUT_S)
    except sqlite3.Error as exc:
        raise catalog_error(path, exc) from exc
    try:
        _guarded(db, path, _prepare, schema)
    finally:
        readonly.align_side_files(path)
    return db


def _guarded(db: sqlite3.Connection, path: Path,
             prepare: Callable[[sqlite3.Connection, Path, Schema], None],
             schema: Schema) -> None:
    """``prepare(db, path, schema)``; the connection closed if it fails, SQLite's errors in
    words."""
    try:
        prepare(db, path, schema)
    except sqlite3.Error as exc:
        db.close()
        raise catalog_error(path, exc) from exc
    except BaseException:
        db.close()
        raise


def _functions(db: sqlite3.Connection, path: Path, schema: Schema) -> None:
    """The SQL functions the catalog's statements call (``schema``)."""
    db.create_function("mp_asset_id", 1, asset_id_for_path, deterministic=True)
    db.create_function("mp_live_id", 1, live_photo_key, deterministic=True)


def _prepare(db: sqlite3.Connection, path: Path, schema: Schema) -> None:
    _wal(db)
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("PRAGMA cache_size = -32768")
    _functions(db, path, schema)
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise CatalogError(path, f"catalog schema {version} is newer than this "
                                 f"mediapipe knows ({SCHEMA_VERSION}); upgrade mediapipe")
    # Coordinators of two libraries may open a new catalog at once: one applies the
    # schema, the other waits (busy timeout) and then finds it applied. A catalog that
    # cannot be written takes no write lock, and its schema is read as it is.
    try:
        db.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if "readonly" not in str(exc):  # locked past the busy timeout: said as such
            raise
        schema.apply(db)
        return
    try:
        schema.apply(db)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _wal(db: sqlite3.Connection) -> None:
    """WAL mode (kept in the file). Switching a new catalog to it needs the file alone for
    a moment, and SQLite answers BUSY at once there instead of waiting (waiting could
    deadlock): a coordinator of another library opening the same new catalog retries,
    up to the busy timeout."""
    deadline = time.monotonic() + sqlerrors.BUSY_TIMEOUT_S
    while True:
        try:
            db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if not sqlerrors.busy(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.02)

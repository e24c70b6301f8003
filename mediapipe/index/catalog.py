"""The catalog: what mediapipe knows about each source of the media root, in SQLite.

Owns: ``<media root>/catalog.db`` (SQLite in WAL mode), its schema, the asset id of an external
source, the diff of a scan against what is recorded, the per-stage state of every source and the
queries the coordinator needs to (re)start work. Does not own: walking the library (``scan``),
doing the work (``pipeline``), deciding what a stage's result is. One writer only: the process
that scans (the coordinator); workers send results back to it and never open the catalog.

``mediapipe ingest`` opens it, ``diff``s a scan (the rules are ``diff``'s), reads ``pending``
work and ``record_result``s what comes back; live photos are paired here
(``link_live_photos``): data in the catalog, nothing renamed. Reports are ``listing``'s.

Resume: states are written as results arrive (buffered, committed at least every
``FLUSH_EVERY`` results or ``FLUSH_AFTER_S`` seconds, and on ``flush``/``close``). After a crash
``pending()`` yields exactly the sources with a stage still pending; at worst the last unflushed
results are redone (stages are idempotent). Failed stages are not retried unless the file changes
or ``requeue`` says so. Every ``sqlite3.Error`` (damaged, read-only, immutable, locked) leaves a
method as one ``CatalogError`` in words (``sqlerrors``).

Opening it is ``opening``'s: ``catalog.db`` and the files SQLite keeps beside it (``-wal``,
``-shm``, ``-journal``) are the media root's own files, each checked before SQLite opens it, so
a link planted there is ``PathEscape``, never a catalog written elsewhere. The metadata step's
``MediaInfo`` is kept as its JSON (``info``), with the facts the reports need in columns.

Paths are stored as the bytes ``os.fsencode`` gives (lossless for names that are not UTF-8) and
come back as ``str`` via ``os.fsdecode``. Asset ids come from ``mediapipe.identity``. Entry
points: ``Catalog``, ``State``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import json
import os
import sqlite3
import time
from collections.abc import Collection, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from mediapipe.errors import ErrorRecord
from mediapipe.formats import Kind
from mediapipe.index import readonly
from mediapipe.index.diff import ScanDiff, apply_scan, path_range
from mediapipe.index.opening import connect
from mediapipe.index.scan import SourceFile
from mediapipe.index.schema import FACTS, LIVE_PAIRING, Schema
from mediapipe.index.sqlerrors import busy, mapped
from mediapipe.library import storage
from mediapipe.metadata.model import MediaInfo
from mediapipe.pipeline.steps import PIPELINE, Pipeline
from mediapipe.sources import Identity

__all__ = ["CATALOG_NAME", "Catalog", "CatalogEntry", "ScanDiff", "State"]

CATALOG_NAME = "catalog.db"
FLUSH_EVERY = 500
FLUSH_AFTER_S = 1.0


class State(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclasses.dataclass(frozen=True)
class CatalogEntry:
    """One catalogued source and where its work stands."""

    asset_id: str
    path: str
    kind: Kind
    size: int
    mtime_ns: int
    sidecar: str | None
    online: bool
    states: Mapping[str, State]  # step name -> state, in pipeline order
    error_stage: str | None = None
    error_type: str | None = None
    error_message: str | None = None
    identity: Identity | None = None  # the file the last scan saw: (device, inode)
    remake: bool = False  # new content its outputs' stamps cannot tell: make them again

    @property
    def todo(self) -> tuple[str, ...]:
        """The steps still pending, in pipeline order."""
        return tuple(name for name, state in self.states.items() if state is State.PENDING)


class Catalog:
    """The SQLite catalog of one media root. Open with ``Catalog.open(root)``; one per process,
    used from one thread (the coordinator's). The diff itself lives in ``index.diff``."""

    def __init__(self, db_path: str | Path, pipeline: Pipeline = PIPELINE, *,
                 read_only: bool = False, scratch: bool = False) -> None:
        self.path = Path(db_path)
        self.pipeline = pipeline
        self.read_only = read_only or scratch
        self.schema = Schema.of(pipeline)
        self._db = connect(self.path, self.schema, read_only=read_only, scratch=scratch)
        self._columns = ("asset_id, path, kind, size, mtime_ns, sidecar, online, "
                         f"{self.schema.columns}, error_stage, error_type, error_message, "
                         "device, inode, remake")
        self._buffer: list[dict[str, Any]] = []
        self._last_flush = time.monotonic()

    @classmethod
    def open(cls, media_root: str | Path, pipeline: Pipeline = PIPELINE, *,
             read_only: bool = False, scratch: bool = False) -> Catalog:
        """The catalog of an initialised media root, with a state column for each step of
        ``pipeline``; ``StorageOffline`` before any write if a folder's ``.immich`` marker is
        missing (an unmounted disk must not get a fresh catalog: ``storage.require_root``).
        ``read_only``: never written (``ls``, ``catalog check``, a scrape); ``scratch``: a
        temporary copy that may change and is thrown away (``ingest --dry-run``)."""
        return cls(storage.require_root(media_root) / CATALOG_NAME, pipeline,
                   read_only=read_only, scratch=scratch)

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @mapped
    def close(self) -> None:
        """Commit buffered results and close."""
        try:
            if not self.read_only:
                self.flush()
                self._optimize()
        finally:
            self._db.close()
            readonly.align_side_files(self.path)

    def _optimize(self) -> None:
        """SQLite's planner statistics brought up to date, where another coordinator of the
        media root is not writing at that moment: they are advice, not the catalog's data (and
        SQLite refuses at once a read that turns into a write after another write), so a
        later close does it instead of this one failing a run whose results are committed."""
        try:
            self._db.execute("PRAGMA optimize")
        except sqlite3.OperationalError as exc:
            if not busy(exc):
                raise

    @property
    def journal_mode(self) -> str:
        return str(self._db.execute("PRAGMA journal_mode").fetchone()[0])

    # -- scans -------------------------------------------------------------------------------

    @mapped
    def diff(self, files: Iterable[SourceFile], *, root: str | None = None,
             keep: Collection[str] = (), dry_run: bool = False) -> ScanDiff:
        """Apply a scan of ``root`` (default: ``files.root``, as a ``LibraryScan`` has) and count.

        ``files`` is consumed once, streamed into SQLite; problems are read from
        ``files.problems`` after it is exhausted, when it has them. ``keep``: paths to leave as
        they are (files still being written).
        """
        root = root if root is not None else getattr(files, "root", None)
        if root is None:
            raise TypeError("diff() needs root= when files is not a LibraryScan")
        self.flush()
        return apply_scan(self._db, self.schema, files, os.path.abspath(root), keep=keep,
                          dry_run=dry_run)

    # -- work --------------------------------------------------------------------------------

    def pending(self, *, include_failed: bool = False, under: str | None = None,
                batch: int = 1000) -> Iterator[CatalogEntry]:
        """Online sources with a stage still pending (and failed ones, if asked), oldest first;
        only those below the folder ``under`` when given (the library being ingested).

        Read in pages, so ``record_result`` may be called while iterating; a source recorded as
        done before its page is read is not yielded.
        """
        failed = f"online = 1 AND ({self.schema.any_state('pending')} OR " \
                 f"{self.schema.any_state('failed')})"
        yield from self._select(failed if include_failed else self.schema.pending, batch, under)

    def entries(self, *, online_only: bool = True, under: str | None = None,
                batch: int = 1000) -> Iterator[CatalogEntry]:
        """Every (online) source, in pages: for checks such as regenerating missing outputs."""
        yield from self._select("online = 1" if online_only else "1", batch, under)

    @mapped
    def _select(self, where: str, batch: int, under: str | None) -> Iterator[CatalogEntry]:
        last = 0
        scope: tuple[bytes, ...] = ()
        if under is not None:
            where, scope = f"{where} AND path >= ? AND path < ?", path_range(under)
        while True:
            self.flush()
            rows = self._db.execute(f"SELECT id, {self._columns} FROM sources "
                                    f"WHERE id > ? AND {where} ORDER BY id LIMIT ?",
                                    (last, *scope, batch)).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            for row in rows:
                yield self._entry(row[1:])

    @mapped
    def get(self, asset_id: str) -> CatalogEntry | None:
        self.flush()
        row = self._db.execute(f"SELECT {self._columns} FROM sources WHERE asset_id = ?",
                               (asset_id,)).fetchone()
        return self._entry(row) if row else None

    @mapped
    def meta(self, key: str) -> str | None:
        """A fact about the media root itself (``layout``: which naming its files follow)."""
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    @mapped
    def set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    @mapped
    def info(self, asset_id: str) -> MediaInfo | None:
        """The metadata last recorded for the asset (kept as ``MediaInfo.to_dict``'s JSON)."""
        self.flush()
        row = self._db.execute("SELECT metadata FROM sources WHERE asset_id = ?",
                               (asset_id,)).fetchone()
        return MediaInfo.from_dict(json.loads(row[0])) if row and row[0] else None

    def record_result(self, asset_id: str, stage: str, state: State | str, *,
                      error: BaseException | ErrorRecord | None = None,
                      info: MediaInfo | None = None,
                      facts: Mapping[str, Any] | None = None) -> None:
        """Record a stage's outcome (buffered; see the module docstring for when it commits).

        ``error`` (an ``ErrorRecord``, or an exception) is kept for a failed stage, with its
        time; a later success of the same stage clears it. ``info`` replaces the stored
        metadata (its JSON); ``facts`` (``schema.FACTS``: thumbhash, size, encoder, links,
        warnings as a list) set what they name.
        """
        state = State(state)
        if stage not in self.schema.names:
            raise ValueError(f"no step named {stage!r} in this catalog")
        etype = emsg = None
        if error is not None:
            record = error if isinstance(error, ErrorRecord) else ErrorRecord.of(error)
            etype, emsg = record.type, record.message
        self._buffer.append({
            "asset_id": asset_id, "stage": stage, "state": state.value, "etype": etype,
            "emsg": emsg, "now": time.time(),
            "metadata": None if info is None else json.dumps(info.to_dict(), default=str),
            **{f: None for f in FACTS},
            **{f: json.dumps(list(v)) if f == "warnings" else v
               for f, v in (facts or {}).items() if f in FACTS and v is not None}})
        if (len(self._buffer) >= FLUSH_EVERY
                or time.monotonic() - self._last_flush >= FLUSH_AFTER_S):
            self.flush()

    @mapped
    def flush(self) -> None:
        """Commit buffered results in one transaction. ``LookupError`` for unknown asset ids."""
        self._last_flush = time.monotonic()
        if not self._buffer:
            return
        batch, self._buffer = self._buffer, []
        with self._transaction():
            updated = self._db.executemany(self.schema.record, batch).rowcount
        if updated != len(batch):
            raise LookupError(f"{len(batch) - updated} result(s) for asset ids not in the "
                              "catalog")

    @mapped
    def requeue(self, stages: Iterable[str] | None = None, *, failed_only: bool = False,
                under: str | None = None) -> int:
        """Set steps of online sources back to pending (``--force``, retrying failures).

        A step stays skipped for the kinds it does not apply to (an image's video). Returns the
        number of sources touched.
        """
        self.flush()
        sql, params = self.schema.requeue(stages, failed_only=failed_only,
                                          scope=path_range(under) if under else None)
        with self._transaction():
            return self._db.execute(sql, (time.time(), *params)).rowcount

    @mapped
    def link_live_photos(self) -> int:
        """Pair stills and videos that carry the same live-photo id, whatever order and run they
        were seen in, from what the files say now (``schema.LIVE_PAIRING``): the still links
        the video, the video is hidden; a pair the files no longer make is undone. Returns the
        stills whose link changed."""
        self.flush()
        normalise, link, hide = LIVE_PAIRING
        with self._transaction():
            self._db.execute(normalise)
            changed = self._db.execute(link).rowcount
            self._db.execute(hide)
        return changed

    @mapped
    def rows(self, sql: str, params: Iterable[Any] = ()) -> Iterator[tuple[Any, ...]]:
        """Read-only queries of the reports (``listing``), after buffered results are in."""
        self.flush()
        yield from self._db.execute(sql, tuple(params))

    def _entry(self, row: tuple[Any, ...]) -> CatalogEntry:
        asset_id, path, kind, size, mtime_ns, sidecar, online = row[:7]
        n = len(self.schema.names)
        estage, etype, emsg, device, inode, remake = row[7 + n:]
        return CatalogEntry(
            asset_id=asset_id, path=os.fsdecode(path), kind=Kind(kind), size=size,
            mtime_ns=mtime_ns, sidecar=None if sidecar is None else os.fsdecode(sidecar),
            online=bool(online),
            states={name: State(v) for name, v in zip(self.schema.names, row[7:7 + n],
                                                        strict=True)},
            error_stage=estage, error_type=etype, error_message=emsg,
            identity=None if device is None or inode is None else (device, inode),
            remake=bool(remake))

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            with contextlib.suppress(sqlite3.Error):  # the error that got here is the news
                self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")


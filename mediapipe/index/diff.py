"""The diff of a library scan against the catalog, done in SQL.

Owns: streaming a scan into a temporary table and the statements that turn it into new, changed,
unchanged, offline and back-online sources, with their counts (``ScanDiff``). Does not own: the
connection, the schema or the work queue (``catalog.Catalog``, whose ``diff`` method is the entry
point; ``apply_scan`` is what it calls).

The rules: a path not in the catalog is *new* (every step pending, or ``skipped`` for the kinds a
step does not apply to, as ``video`` for images); a known path whose size, mtime, inode or ctime
differs is *changed* (every step due again, error cleared: a file replaced by one with an older
mtime, ``cp -p`` or rsync, is changed too; the device is recorded, not compared, as a share's device
number changes when it is mounted again); a path whose XMP sidecar appeared or went is changed too
(the steps that read it, metadata, due again); the rest is *unchanged* (an offline one comes back
*online*, work kept). A catalogued path under the scanned root that the scan did not see goes
*offline*: never deleted, its derived files untouched; paths under a folder the scan could not read
are left as they were. Sources of other roots are not touched. The scan streams into a temporary
table and the diff runs in SQL, so memory does not grow with the library. ``dry_run=True`` computes
the counts and writes nothing.
"""

from __future__ import annotations

import dataclasses
import os
import sqlite3
import sys
import time
from collections.abc import Collection, Iterable

from mediapipe.index.scan import ScanProblem, SourceFile
from mediapipe.index.schema import Schema, column

__all__ = ["ScanDiff", "apply_scan", "path_range"]

_FS_ENC, _FS_ERR = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()  # os.fsencode


@dataclasses.dataclass(frozen=True)
class ScanDiff:
    """What a scan changed in the catalog (counts of source files)."""

    root: str
    scanned: int
    new: int
    changed: int
    unchanged: int
    offline: int  # went offline in this scan
    back_online: int  # sources that were offline and are seen again (changed or not)
    kept_unreadable: int  # catalogued sources under unreadable folders, left as they were
    pending: int  # online sources with a stage still to do, after the diff (new + changed + ...)
    problems: tuple[ScanProblem, ...]
    dry_run: bool = False


def path_range(root: str) -> tuple[bytes, bytes]:
    """The byte range holding every path below ``root`` (``'0'`` sorts right after ``'/'``)."""
    base = os.fsencode(root).rstrip(b"/")
    return base + b"/", base + b"0"


def _blob(path: str | None) -> bytes | None:
    return None if path is None else os.fsencode(path)


def _exactly(path: str) -> tuple[bytes, bytes]:
    """The byte range holding ``path`` alone."""
    raw = os.fsencode(path)
    return raw, raw + b"\x00"


def apply_scan(db: sqlite3.Connection, schema: Schema, files: Iterable[SourceFile], root: str,
               *, keep: Collection[str] = (), dry_run: bool = False) -> ScanDiff:
    """Diff ``files`` (a scan of ``root``) into ``sources`` in one transaction; count.

    ``keep`` names paths (files or folders) the diff must leave as they are, seen or not: files
    still being written (``watch``), processed once they have settled.
    """
    now = time.time()
    db.execute("CREATE TEMP TABLE IF NOT EXISTS scan (path BLOB PRIMARY KEY, kind TEXT, "
               "size INTEGER, mtime_ns INTEGER, sidecar BLOB, inode INTEGER, device INTEGER, "
               "ctime_ns INTEGER, fingerprint BLOB)")
    db.execute("CREATE TEMP TABLE IF NOT EXISTS unreadable (lo BLOB, hi BLOB)")
    db.execute("BEGIN")
    try:
        db.execute("DELETE FROM temp.scan")
        db.execute("DELETE FROM temp.unreadable")
        db.executemany("INSERT OR IGNORE INTO temp.scan VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       ((f.path.encode(_FS_ENC, _FS_ERR), f.kind, f.size, f.mtime_ns,
                         _blob(f.sidecar), f.inode, f.device, f.ctime_ns, f.fingerprint)
                        for f in files))
        problems = tuple(getattr(files, "problems", ()))
        db.executemany("INSERT INTO temp.unreadable VALUES (?, ?)",
                       [*(path_range(p.path) for p in problems),
                        *(r for k in keep for r in (_exactly(k), path_range(k)))])
        if keep:  # neither new nor changed while they settle: left out of the scan too
            db.execute("DELETE FROM temp.scan WHERE EXISTS (SELECT 1 FROM temp.unreadable AS u "
                       "WHERE temp.scan.path >= u.lo AND temp.scan.path < u.hi)")
        counts = _apply(db, schema, now, *path_range(root), bool(problems) or bool(keep))
        pending = db.execute(f"SELECT count(*) FROM sources WHERE {schema.pending}").fetchone()[0]
        db.execute("ROLLBACK" if dry_run else "COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    finally:
        db.execute("DELETE FROM temp.scan")
    return ScanDiff(root=root, pending=pending, problems=problems, dry_run=dry_run,
                    **counts)


def _apply(db: sqlite3.Connection, schema: Schema, now: float, lo: bytes, hi: bytes,
           has_unreadable: bool) -> dict[str, int]:
    scanned = db.execute("SELECT count(*) FROM temp.scan").fetchone()[0]
    back = db.execute("""
        UPDATE sources SET online = 1, updated_at = ? FROM temp.scan AS s
        WHERE sources.path = s.path AND sources.online = 0""", (now,)).rowcount
    # One pass: size/mtime changed -> every step again; only the sidecar -> the steps that
    # read it (metadata) again.
    # New content that only the fingerprint shows (a same-size file, its mtime put back, where
    # ctime does not change): the outputs' stamps cannot tell, so the steps run forced.
    rewritten = "(sources.fingerprint IS NOT NULL AND sources.fingerprint != s.fingerprint)"
    moved = ("(sources.size != s.size OR sources.mtime_ns != s.mtime_ns"
             f" OR sources.inode != s.inode OR sources.ctime_ns != s.ctime_ns OR {rewritten})")
    states = ",\n            ".join(
        f"{column(step.name)} = {schema.start_state(step, 'sources.kind')}" if step.reads_sidecar
        else f"{column(step.name)} = CASE WHEN {moved} THEN "
             f"{schema.start_state(step, 'sources.kind')} ELSE {column(step.name)} END"
        for step in schema.steps)
    readers = ", ".join(f"'{s.name}'" for s in schema.steps if s.reads_sidecar) or "NULL"
    clear = f"CASE WHEN {moved} OR error_stage IN ({readers}) THEN NULL ELSE {{0}} END"
    changed = db.execute(f"""
        UPDATE sources SET size = s.size, mtime_ns = s.mtime_ns, sidecar = s.sidecar,
            inode = s.inode, device = s.device, ctime_ns = s.ctime_ns,
            fingerprint = s.fingerprint,
            remake = CASE WHEN {rewritten} THEN 1 ELSE remake END,
            {states},
            error_stage = {clear.format("error_stage")},
            error_type = {clear.format("error_type")},
            error_message = {clear.format("error_message")}, updated_at = ?
        FROM temp.scan AS s
        WHERE sources.path = s.path AND ({moved} OR sources.sidecar IS NOT s.sidecar)""",
                         (now,)).rowcount
    # Identity not known yet (an older catalog, fingerprints just turned on) or a share
    # mounted again (a new device number): recorded, the source not called changed for it.
    db.execute("""
        UPDATE sources SET inode = s.inode, device = s.device, ctime_ns = s.ctime_ns,
            fingerprint = coalesce(s.fingerprint, sources.fingerprint)
        FROM temp.scan AS s WHERE sources.path = s.path
          AND (sources.inode IS NULL OR sources.ctime_ns IS NULL
               OR sources.device IS NOT s.device
               OR (sources.fingerprint IS NULL AND s.fingerprint IS NOT NULL))""")
    new = db.execute(f"""
        INSERT INTO sources (path, asset_id, kind, size, mtime_ns, sidecar, inode, device,
                             ctime_ns, fingerprint, {schema.columns}, first_seen_at, updated_at)
        SELECT s.path, mp_asset_id(s.path), s.kind, s.size, s.mtime_ns, s.sidecar, s.inode,
               s.device, s.ctime_ns, s.fingerprint,
               {", ".join(schema.start_state(step, "s.kind") for step in schema.steps)}, ?, ?
        FROM temp.scan AS s
        WHERE NOT EXISTS (SELECT 1 FROM sources AS c WHERE c.path = s.path)""",
                     (now, now)).rowcount
    outside_scan = """online = 1 AND path >= ? AND path < ?
          AND NOT EXISTS (SELECT 1 FROM temp.scan AS s WHERE s.path = sources.path)"""
    kept = 0 if not has_unreadable else db.execute(f"""
        SELECT count(*) FROM sources WHERE {outside_scan} AND EXISTS (
            SELECT 1 FROM temp.unreadable AS u WHERE sources.path >= u.lo
            AND sources.path < u.hi)""", (lo, hi)).fetchone()[0]
    offline = db.execute(f"""
        UPDATE sources SET online = 0, updated_at = ? WHERE {outside_scan}
          AND NOT EXISTS (SELECT 1 FROM temp.unreadable AS u WHERE sources.path >= u.lo
                          AND sources.path < u.hi)""", (now, lo, hi)).rowcount
    return {"scanned": scanned, "new": new, "changed": changed,
            "unchanged": scanned - new - changed, "offline": offline, "back_online": back,
            "kept_unreadable": kept}


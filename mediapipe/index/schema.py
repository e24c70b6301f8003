"""The catalog's SQL, made from the pipeline's steps: one state column per step.

Owns: the ``sources`` table (its fixed columns and a ``<step>_state`` column for every step of
the ``Pipeline`` the catalog is opened with), bringing an older catalog up to the current
steps (a step added since gets its column, ``pending`` for every source that it applies to,
and the partial index of pending work is remade), and the SQL fragments the catalog and the
diff share: where work is pending, a step's first state for a kind of source, the statement
that records one outcome.
Does not own: running the statements (``catalog``, ``diff``).
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Iterable

from mediapipe.pipeline.steps import Pipeline, Step

__all__ = ["FACTS", "LIVE_PAIRING", "Schema"]

_TABLE = """
CREATE TABLE IF NOT EXISTS sources (
    id INTEGER PRIMARY KEY,
    path BLOB NOT NULL UNIQUE,
    asset_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sidecar BLOB,
    online INTEGER NOT NULL DEFAULT 1,
    {states},
    error_stage TEXT,
    error_type TEXT,
    error_message TEXT,
    metadata TEXT,
    first_seen_at REAL NOT NULL,
    updated_at REAL NOT NULL
)"""
_META = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"

# What the catalog keeps of each asset besides its states (added to older catalogs on open).
FACTS = {
    "thumbhash": "TEXT",  # base64, from the thumbnails step
    "width": "INTEGER",  # as displayed, from the metadata step
    "height": "INTEGER",
    "encoder": "TEXT",  # the video encoder the transcode used
    "live_photo_id": "TEXT",  # Apple's ContentIdentifier / MediaGroupUUID
    "linked_video": "TEXT",  # asset id of the paired live video or the extracted motion part
    "warnings": "TEXT",  # a JSON array: what was read or made despite a problem
    # from the metadata step: the date (ISO 8601) and the rule that gave it, the place names
    # (Immich's ``city``/``state``/``country``; ``place_``: ``:state`` is a step's state in
    # the SQL), a panorama's projection (``projectionType``)
    "taken_at": "TEXT",
    "taken_at_source": "TEXT",
    "place_city": "TEXT",
    "place_state": "TEXT",
    "place_country": "TEXT",
    "projection_type": "TEXT",
}
_ADDED = {**FACTS, "hidden": "INTEGER NOT NULL DEFAULT 0",  # a live photo's video
          "error_at": "REAL",  # when the last error was recorded
          # The source's identity at the last scan, besides size and mtime (NULL: not known
          # yet, filled in by the next scan without calling the source changed).
          "inode": "INTEGER", "device": "INTEGER", "ctime_ns": "INTEGER",
          "fingerprint": "BLOB",  # ``library.scan.fingerprint``: first and last 64 KiB
          # New content the outputs' stamps cannot tell (a same-size file with its mtime put
          # back where ctime does not change): its steps run forced until all are done.
          "remake": "INTEGER NOT NULL DEFAULT 0"}


# Live photos, recomputed from what the files say now, every scan (in this order, in one
# transaction): ids recorded before the one normalisation are normalised; each online still
# links the online video with its id (the least asset id of several), and a still whose id
# changed, went or whose video went offline loses its old live link (a motion part's link,
# not a catalogued video, is the motion step's and stays); exactly the videos an online still
# links are hidden, so one still with two MOVs hides only the one it links.
LIVE_PAIRING = ("""
UPDATE sources SET live_photo_id = mp_live_id(live_photo_id)
WHERE live_photo_id IS NOT NULL AND live_photo_id IS NOT mp_live_id(live_photo_id)""", """
UPDATE sources SET linked_video = pair.video FROM (
    SELECT s.id, (SELECT min(v.asset_id) FROM sources AS v
                  WHERE v.kind = 'video' AND v.online = 1 AND s.online = 1
                    AND v.live_photo_id = s.live_photo_id) AS video
    FROM sources AS s
    WHERE s.kind = 'image' AND (s.live_photo_id IS NOT NULL OR s.linked_video IS NOT NULL)
) AS pair
WHERE sources.id = pair.id AND sources.linked_video IS NOT pair.video
  AND (pair.video IS NOT NULL OR EXISTS (SELECT 1 FROM sources AS old
       WHERE old.asset_id = sources.linked_video AND old.kind = 'video'))""", """
UPDATE sources SET hidden = h.hide FROM (
    SELECT v.id, EXISTS (SELECT 1 FROM sources AS s WHERE s.linked_video = v.asset_id
                         AND s.kind = 'image' AND s.online = 1) AS hide
    FROM sources AS v WHERE v.kind = 'video' AND (v.hidden = 1 OR v.live_photo_id IS NOT NULL)
) AS h
WHERE sources.id = h.id AND sources.hidden != h.hide""")
_LIVE_INDEXES = ("CREATE INDEX IF NOT EXISTS sources_live ON sources(live_photo_id) "
                 "WHERE live_photo_id IS NOT NULL",
                 "CREATE INDEX IF NOT EXISTS sources_linked ON sources(linked_video) "
                 "WHERE linked_video IS NOT NULL")


def column(step: str) -> str:
    return f"{step}_state"


@dataclasses.dataclass(frozen=True)
class Schema:
    """The SQL for one list of steps (the pipeline's, read when a catalog opens)."""

    steps: tuple[Step, ...]
    first: str  # the step that provides the metadata: its outcome starts an asset's warnings

    @classmethod
    def of(cls, pipeline: Pipeline) -> Schema:
        return cls(pipeline.steps, pipeline.metadata_step.name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.steps)

    @property
    def columns(self) -> str:
        """``metadata_state, thumbnails_state, …`` in pipeline order."""
        return ", ".join(column(n) for n in self.names)

    def any_state(self, state: str) -> str:
        """True for a source with at least one step in ``state``."""
        return f"'{state}' IN ({self.columns})" if len(self.names) > 1 else \
            f"{column(self.names[0])} = '{state}'"

    @property
    def pending(self) -> str:
        """Online sources with work left (the text of the partial index ``sources_pending``)."""
        return "online = 1 AND (" + " OR ".join(f"{column(n)} = 'pending'"
                                                for n in self.names) + ")"

    def start_state(self, step: Step, kind: str) -> str:
        """A step's first state for a source of kind ``kind`` (an SQL expression)."""
        if step.kinds >= {"image", "video"}:
            return "'pending'"
        kinds = ", ".join(f"'{k}'" for k in sorted(step.kinds))
        return f"CASE WHEN {kind} IN ({kinds}) THEN 'pending' ELSE 'skipped' END"

    @property
    def record(self) -> str:
        """Record one step's outcome (``:stage``, ``:state``, the error, the metadata, the
        ``FACTS``: each one given replaces the stored one; warnings from later steps add up;
        the live-photo id is what the metadata step read now, normalised, none when it read
        none or failed)."""
        states = ",\n    ".join(
            f"{column(n)} = CASE WHEN :stage = '{n}' THEN :state ELSE {column(n)} END"
            for n in self.names)
        facts = ",\n    ".join(f"{f} = COALESCE(:{f}, {f})" for f in FACTS
                                 if f not in ("warnings", "live_photo_id"))
        first = self.first
        finished = " AND ".join(  # every step done or skipped once this one is recorded
            f"(CASE WHEN :stage = '{n}' THEN :state ELSE {column(n)} END) IN ('done', 'skipped')"
            for n in self.names)
        return f"""
UPDATE sources SET
    {states},
    error_stage = CASE WHEN :state = 'failed' THEN :stage
        WHEN error_stage = :stage THEN NULL ELSE error_stage END,
    error_type = CASE WHEN :state = 'failed' THEN :etype
        WHEN error_stage = :stage THEN NULL ELSE error_type END,
    error_message = CASE WHEN :state = 'failed' THEN :emsg
        WHEN error_stage = :stage THEN NULL ELSE error_message END,
    error_at = CASE WHEN :state = 'failed' THEN :now
        WHEN error_stage = :stage THEN NULL ELSE error_at END,
    metadata = COALESCE(:metadata, metadata),
    {facts},
    warnings = CASE WHEN :warnings IS NULL THEN warnings
        WHEN :stage = '{first}' THEN :warnings
        ELSE (SELECT json_group_array(value) FROM (
            SELECT value FROM json_each(coalesce(warnings, '[]'))
            UNION SELECT value FROM json_each(:warnings))) END,
    live_photo_id = CASE WHEN :stage = '{first}' AND (:metadata IS NOT NULL OR :state = 'failed')
        THEN mp_live_id(:live_photo_id) ELSE live_photo_id END,
    remake = CASE WHEN {finished} THEN 0 ELSE remake END,
    updated_at = :now
WHERE asset_id = :asset_id
"""

    def requeue(self, stages: Iterable[str] | None, *, failed_only: bool,
                scope: tuple[bytes, bytes] | None) -> tuple[str, tuple[bytes, ...]]:
        """The statement (and its path range) that sets ``stages`` (None: all) of online
        sources back to pending: failed ones only, or every one but where a step does not
        apply to the source's kind; errors of those steps cleared. Its first parameter is now."""
        names = None if stages is None else set(stages)
        chosen = [s for s in self.steps if names is None or s.name in names]
        sets, conds = [], []
        for step in chosen:
            col = column(step.name)
            cond = f"{col} = 'failed'" if failed_only else \
                f"({col} != 'pending' AND {self.start_state(step, 'kind')} = 'pending')"
            sets.append(f"{col} = CASE WHEN {cond} THEN 'pending' ELSE {col} END")
            conds.append(cond)
        chosen_sql = ", ".join(f"'{s.name}'" for s in chosen)
        clear = [f"{c} = CASE WHEN error_stage IN ({chosen_sql}) THEN NULL ELSE {c} END"
                 for c in ("error_type", "error_message", "error_stage")]
        where = "path >= ? AND path < ?" if scope else "1"
        return (f"UPDATE sources SET {', '.join(sets + clear)}, updated_at = ? "
                f"WHERE online = 1 AND {where} AND ({' OR '.join(conds)})", scope or ())

    def apply(self, db: sqlite3.Connection) -> None:
        """Create the table, or add the columns of steps it lacks; (re)make the pending index."""
        states = ",\n    ".join(f"{column(n)} TEXT NOT NULL DEFAULT 'pending'"
                                 for n in self.names)
        db.execute(_TABLE.format(states=states))
        db.execute(_META)
        have = {row[1] for row in db.execute("PRAGMA table_info(sources)")}
        for name, decl in _ADDED.items():
            if name not in have:
                db.execute(f"ALTER TABLE sources ADD COLUMN {name} {decl}")
        for index_sql in _LIVE_INDEXES:
            db.execute(index_sql)
        for step in self.steps:
            if column(step.name) not in have:
                db.execute(f"ALTER TABLE sources ADD COLUMN {column(step.name)} TEXT NOT NULL "
                           "DEFAULT 'pending'")
                db.execute(f"UPDATE sources SET {column(step.name)} = "
                           f"{self.start_state(step, 'kind')}")
        index = f"CREATE INDEX sources_pending ON sources(id) WHERE {self.pending}"
        row = db.execute("SELECT sql FROM sqlite_master WHERE name = 'sources_pending'").fetchone()
        if row is None or row[0] != index:
            db.execute("DROP INDEX IF EXISTS sources_pending")
            db.execute(index)

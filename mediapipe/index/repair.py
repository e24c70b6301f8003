"""``mediapipe catalog check`` and ``rebuild``: is the catalog the truth, and a new one if not.

Owns: ``check`` (SQLite's integrity check, the schema against what this mediapipe expects, and
for every online source each done step's outputs present on disk) as a ``CheckReport``, and
``rebuild`` (the damaged catalog set aside as ``catalog.db.broken-<time>``, never deleted, then
an ingest of each library into a new one: the steps find their outputs fresh and do not redo
them, so a rebuild re-reads metadata and re-encodes nothing). Does not own: the catalog
(``catalog``), the ingest (``ingest``) or the freshness rule (``pipeline.drive``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sqlite3
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from mediapipe.config import Config
from mediapipe.errors import CatalogError
from mediapipe.index import ingest as coordinator
from mediapipe.index import readonly, sqlerrors
from mediapipe.index.catalog import CATALOG_NAME, Catalog
from mediapipe.index.opening import SCHEMA_VERSION, refuse_links
from mediapipe.index.sqlerrors import catalog_error
from mediapipe.pipeline.local import Runner
from mediapipe.pipeline.state import AssetResult

__all__ = ["CheckReport", "MissingOutput", "check", "rebuild"]

MISSING_SHOWN = 1000  # outputs listed in a report; all are counted


@dataclasses.dataclass(frozen=True)
class MissingOutput:
    """An output of a done step that is not on disk: which source, which step, which file."""

    path: str
    stage: str
    output: str


@dataclasses.dataclass
class CheckReport:
    catalog: str
    integrity: list[str] = dataclasses.field(default_factory=list)  # empty: SQLite says ok
    schema: list[str] = dataclasses.field(default_factory=list)
    sources: int = 0
    missing_outputs: int = 0  # done steps' outputs that are not on disk
    missing: list[MissingOutput] = dataclasses.field(default_factory=list)  # the first shown

    @property
    def ok(self) -> bool:
        return not (self.integrity or self.schema or self.missing_outputs)

    @property
    def usable(self) -> bool:
        """The catalog can be read and written as it is (``--missing`` fixes lost outputs)."""
        return not (self.integrity or self.schema)

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "ok": self.ok, "usable": self.usable}


def check(root: Path, cfg: Config) -> CheckReport:
    """What is wrong with the media root's catalog, without changing it."""
    db = root / CATALOG_NAME
    report = CheckReport(str(db))
    if not db.is_file():
        raise CatalogError(db, "no catalog here (never ingested, or the wrong --media-root)")
    refuse_links(db)  # SQLite writes -shm even for a read-only check
    try:
        with contextlib.closing(readonly.connect_read_only(db, sqlerrors.BUSY_TIMEOUT_S)) as con:
            found = [str(r[0]) for r in con.execute("PRAGMA integrity_check")]
            report.integrity = [] if found == ["ok"] else found[:20]
            if not report.integrity:
                report.schema = _schema_problems(con)
    except sqlite3.Error as exc:
        report.integrity = [catalog_error(db, exc).reason]
    if report.usable:
        with Catalog(db, read_only=True) as cat:
            for entry in cat.entries():
                report.sources += 1
                for step, output in coordinator.missing_outputs(cat, entry, root, cfg):
                    report.missing_outputs += 1
                    if len(report.missing) < MISSING_SHOWN:
                        report.missing.append(MissingOutput(entry.path, step.name,
                                                            str(output)))
    return report


def _schema_problems(con: sqlite3.Connection) -> list[str]:
    version = con.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        return [f"schema {version} is newer than this mediapipe knows ({SCHEMA_VERSION})"]
    have = {str(r[1]) for r in con.execute("PRAGMA table_info(sources)")}
    if not have:
        return ["no sources table"]
    # A step added since the catalog was written gets its column on the next open: not a fault.
    lacking = sorted({"asset_id", "path", "kind", "size", "mtime_ns", "online"} - have)
    return [f"sources lacks column {c}" for c in lacking]


def set_aside(root: Path) -> Path | None:
    """Move ``catalog.db`` (and its -wal and -shm) to ``catalog.db.broken-<time>``."""
    db = root / CATALOG_NAME
    if not db.exists():
        return None
    aside = db.with_name(f"{CATALOG_NAME}.broken-{time.strftime('%Y%m%dT%H%M%S')}")
    for suffix in ("-wal", "-shm", ""):  # the database last: a crash leaves it where it was
        here = Path(f"{db}{suffix}")
        if here.exists():
            os.replace(here, f"{aside}{suffix}")
    return aside


def rebuild(libraries: Iterable[str | os.PathLike[str]], runner: Runner, *,
            on_result: Callable[[AssetResult], None] | None = None,
            ) -> tuple[Path | None, list[coordinator.IngestSummary]]:
    """A new catalog of the runner's media root from a scan of ``libraries``, reusing the
    outputs on disk; the old one is kept aside (returned). Each library's summary, as
    ``ingest`` gives it."""
    aside = set_aside(runner.root)
    return aside, [coordinator.ingest(lib, runner, on_result=on_result) for lib in libraries]

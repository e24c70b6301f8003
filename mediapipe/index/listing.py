"""What the catalog can tell: the assets and what each has, the failures, the counts.

Owns: ``listing`` (one ``Listed`` per source: path, asset id, kind, whether it is hidden (a live
photo's video), the video linked to it (the paired live video or the extracted motion part), its
thumbhash, size, encoder, date taken and its source, place names, projection, warnings, its
failure with when, and the library it belongs to: the deepest library ingested into this media
root that holds it, as ``ingest`` records each under ``library:<path>`` in the catalog's
``meta``), ``libraries``, ``failures`` and ``stats``. All read-only, through ``Catalog.rows``.
Does not own: the schema or writing (``catalog``), printing (``cli``).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterator, Mapping
from typing import Any

from mediapipe.index.catalog import Catalog
from mediapipe.index.diff import path_range

__all__ = ["LIBRARY_KEY", "CatalogStats", "Listed", "failures", "libraries", "listing", "stats"]

LIBRARY_KEY = "library:"  # meta key prefix: one row per library ingested into the media root


@dataclasses.dataclass(frozen=True)
class Listed:
    path: str
    asset_id: str
    kind: str
    online: bool
    hidden: bool
    linked_video: str | None
    live_photo_id: str | None
    thumbhash: str | None
    width: int | None
    height: int | None
    encoder: str | None
    taken_at: str | None  # ISO 8601, as the metadata step read it
    taken_at_source: str | None  # the date tag or rule that gave it (``MediaInfo``)
    city: str | None
    state: str | None
    country: str | None
    projection_type: str | None
    warnings: tuple[str, ...]
    states: Mapping[str, str]
    error: str | None  # "Type: message" of the failed step, None when nothing failed
    error_stage: str | None
    error_at: float | None
    library: str | None = None  # the library root it was ingested from

    @property
    def failed(self) -> bool:
        return "failed" in self.states.values()

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "warnings": list(self.warnings),
                "states": dict(self.states), "failed": self.failed}


_COLUMNS = ("path, asset_id, kind, online, hidden, linked_video, live_photo_id, thumbhash, "
            "width, height, encoder, taken_at, taken_at_source, place_city, place_state, "
            "place_country, "
            "projection_type, warnings, error_type, error_message, error_stage, error_at")


def libraries(cat: Catalog) -> list[str]:
    """Every library ingested into this media root (its absolute path), sorted."""
    return sorted(key[len(LIBRARY_KEY):] for (key,) in cat.rows(
        "SELECT key FROM meta WHERE substr(key, 1, ?) = ?", (len(LIBRARY_KEY), LIBRARY_KEY)))


def _library_of(path: str, known: list[str]) -> str | None:
    best = None
    for lib in known:  # sorted: a library below another comes after it, and wins
        if path.startswith(lib.rstrip("/") + "/"):
            best = lib
    return best


def listing(cat: Catalog, *, failed: bool = False, kind: str | None = None,
            under: str | None = None) -> Iterator[Listed]:
    """Every source (of ``kind``, failed ones only, below the folder ``under``), in catalog
    order, offline ones included (they are the user's files too, on a disk away for now)."""
    where: list[str] = ["1"]
    params: list[Any] = []
    if failed:
        where.append(cat.schema.any_state("failed"))
    if kind:
        where.append("kind = ?")
        params.append(kind)
    if under:
        where.append("path >= ? AND path < ?")
        params.extend(path_range(under))
    names = cat.schema.names
    known = libraries(cat)
    sql = (f"SELECT {_COLUMNS}, {cat.schema.columns} FROM sources "
           f"WHERE {' AND '.join(where)} ORDER BY id")
    for row in cat.rows(sql, params):
        (path, asset_id, kind_, online, hidden, linked, live, thumbhash, width, height, encoder,
         taken_at, taken_at_source, city, state, country, projection_type,
         warnings, etype, emsg, estage, error_at), states = row[:22], row[22:]
        path = os.fsdecode(path)
        yield Listed(
            path=path, library=_library_of(path, known), asset_id=asset_id, kind=kind_,
            online=bool(online),
            hidden=bool(hidden), linked_video=linked, live_photo_id=live, thumbhash=thumbhash,
            width=width, height=height, encoder=encoder, taken_at=taken_at,
            taken_at_source=taken_at_source, city=city, state=state, country=country,
            projection_type=projection_type,
            warnings=tuple(json.loads(warnings)) if warnings else (),
            states=dict(zip(names, states, strict=True)),
            error=f"{etype}: {emsg}" if etype else None, error_stage=estage, error_at=error_at)


def failures(cat: Catalog) -> Iterator[dict[str, str]]:
    """``{"path", "stage", "error"}`` for every online source with a failed stage."""
    for item in listing(cat, failed=True):
        if item.online:
            yield {"path": item.path, "stage": item.error_stage or "",
                   "error": item.error or "failed"}


@dataclasses.dataclass(frozen=True)
class CatalogStats:
    total: int
    online: int
    offline: int
    by_kind: Mapping[str, int]
    by_stage: Mapping[str, Mapping[str, int]]  # stage -> state -> count (online sources)
    failed: int  # online sources with at least one failed stage


def stats(cat: Catalog, *, under: str | None = None) -> CatalogStats:
    """Counts over the whole catalog, or over the sources below the folder ``under``."""
    scope, params = ("path >= ? AND path < ?", path_range(under)) if under else ("1", ())
    [(total, online)] = cat.rows("SELECT count(*), coalesce(sum(online), 0) FROM sources "
                                 f"WHERE {scope}", params)
    by_kind = dict(cat.rows(f"SELECT kind, count(*) FROM sources WHERE {scope} GROUP BY kind",
                            params))
    by_stage = {name: dict(cat.rows(f"SELECT {name}_state, count(*) FROM sources "
                                    f"WHERE online = 1 AND {scope} GROUP BY {name}_state",
                                    params))
                for name in cat.schema.names}
    [(failed,)] = cat.rows("SELECT count(*) FROM sources WHERE online = 1 AND "
                           f"{cat.schema.any_state('failed')} AND {scope}", params)
    return CatalogStats(total, online, total - online, by_kind, by_stage, failed)

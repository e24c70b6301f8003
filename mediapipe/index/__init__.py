"""The index wing: what is in an external library and what has been done with it.

Modules: ``scan`` (walking a library), ``catalog`` (SQLite: sources and per-step states),
``opening`` (opening ``catalog.db``), ``schema`` (its SQL, from the pipeline), ``diff`` (a
scan against the catalog, in SQL), ``listing`` (what the catalog can tell), ``ingest`` (the
coordinator of ``mediapipe ingest``),
``lock``, ``sqlerrors``, ``repair`` (``catalog check | rebuild``), ``watch`` (``--watch``).
Public names: ``IngestSummary``, ``Catalog`` (the coordinator itself is
``mediapipe.index.ingest.ingest``: the module has the name).
"""

from __future__ import annotations

from mediapipe.index.catalog import Catalog
from mediapipe.index.ingest import IngestSummary

__all__ = ["Catalog", "IngestSummary"]

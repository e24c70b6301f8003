"""The index wing: what is in an external library and what has been done with it.

Modules: ``scan`` (walking a library), ``catalog`` (SQLite: sources and per-step states),
``diff`` (a scan against the catalog, in SQL), ``ingest`` (the coordinator of ``mediapipe
ingest``).
"""

"""The library wing: the media root on disk and the originals placed in it.

Modules: ``storage`` (folders, ``.immich`` markers, atomic writes, Immich's derived paths),
``placement`` (verified move/copy of originals), ``imports`` (``mediapipe import`` and
``migrate`` by the storage template).
"""

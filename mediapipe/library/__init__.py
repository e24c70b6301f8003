"""The library wing: the media root on disk and the originals placed in it.

Modules: ``storage`` (folders, ``.immich`` markers, atomic writes, Immich's derived paths),
``own`` (the media root's own files, never opened through a link), ``temps`` (writes in
progress), ``stamps`` (which source an output was made from), ``placement`` (verified
move/copy of originals), ``imports`` (``mediapipe import`` and ``migrate`` by the storage
template), ``upgrade`` (an older layout brought up to date).
Public names: ``init_root``, ``verify_root``, ``require_root``,
``atomic_write``, ``derived_path``, ``Derived``.
"""

from __future__ import annotations

from mediapipe.library.storage import (
    Derived,
    atomic_write,
    derived_path,
    init_root,
    require_root,
    verify_root,
)

__all__ = ["Derived", "atomic_write", "derived_path", "init_root", "require_root", "verify_root"]

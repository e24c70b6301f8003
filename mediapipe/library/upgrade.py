"""Bringing a media root written by an older mediapipe up to today's layout, in place.

Owns: ``rename_legacy_derived``: mediapipe once named derived files ``<id>_preview.jpeg``,
``<id>_thumbnail.webp`` and ``<id>_fullsize.jpeg``; Immich (and mediapipe now) writes
``<id>-preview.jpeg``… Each old name is renamed in its folder (one ``rename``: atomic, the bytes
and the mtime kept, so the thumbnails step still finds them fresh and decodes nothing). Where
both names exist, the new file wins and the old one is removed. Does not own: deciding when to
run (the coordinator does it once per media root, and records that in the catalog).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from mediapipe.library import storage

__all__ = ["rename_legacy_derived"]

_LEGACY = re.compile(r"^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
                     r"_(preview|thumbnail|fullsize)(\.\w+)$")


def rename_legacy_derived(root: str | Path) -> int:
    """Rename every ``<id>_<kind>.<ext>`` under ``thumbs/`` to ``<id>-<kind>.<ext>``; how many."""
    thumbs = Path(root, "thumbs")
    storage.require_marker(thumbs / storage.MARKER)
    renamed = 0
    for folder, _dirs, files in os.walk(thumbs):
        changed = False
        for name in files:
            m = _LEGACY.match(name)
            if not m:
                continue
            old, new = Path(folder, name), Path(folder, f"{m[1]}-{m[2]}{m[3]}")
            if new.exists():
                old.unlink()
            else:
                os.rename(old, new)
                renamed += 1
            changed = True
        if changed:
            storage.fsync_dir(Path(folder))
    return renamed

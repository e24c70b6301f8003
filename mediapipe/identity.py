"""Asset identity: one namespace, two kinds of id (ARCHITECTURE.md, "Identity").

Owns: ``ASSET_NAMESPACE`` and the ids made in it: ``asset_id_for_path`` for external-library
sources (stable across rescans and catalog loss), ``asset_id_for_content`` for imports (the
same bytes always get the same id) and ``motion_part_id``, the id of the video a motion photo
carries (derived from the photo's, so a re-extraction lands on the same files). All UUIDv5.
"""

from __future__ import annotations

import hashlib
import os
import uuid

__all__ = ["ASSET_NAMESPACE", "asset_id_for_content", "asset_id_for_path", "motion_part_id"]

# uuid5(NAMESPACE_URL, "mediapipe:asset"), pinned: it decides every id ever given out.
ASSET_NAMESPACE = uuid.UUID("f3de3e5a-8eb8-55ff-b68d-2a4865156b83")


def asset_id_for_path(path: str | bytes | os.PathLike[str]) -> str:
    """UUIDv5 of ``"path:" + absolute path``, over the path's bytes.

    Equal to ``uuid.uuid5(ASSET_NAMESPACE, "path:" + path)`` for absolute UTF-8 paths, and
    defined for names that are not UTF-8 too (their exact bytes are hashed). A relative path is
    made absolute first (from the working directory), so ``IMG_0001.jpg`` and the same file's
    absolute path get one id; an absolute path is hashed as it is spelled.
    """
    raw = os.fsencode(path)
    if not os.path.isabs(raw):
        raw = os.path.abspath(raw)
    digest = hashlib.sha1(ASSET_NAMESPACE.bytes + b"path:" + raw).digest()
    return str(uuid.UUID(bytes=digest[:16], version=5))


def asset_id_for_content(sha1: str) -> str:
    """UUIDv5 of ``"sha1:" + hex digest``: an imported asset's id."""
    return str(uuid.uuid5(ASSET_NAMESPACE, "sha1:" + sha1))


def motion_part_id(asset_id: str) -> str:
    """UUIDv5 of ``"motion:" + the photo's asset id``: the id of its embedded video."""
    return str(uuid.uuid5(ASSET_NAMESPACE, "motion:" + asset_id))

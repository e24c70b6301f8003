"""Lookup tables built once per machine and mapped by every later process.

Owns: where a table built from a package's data is kept (``$CACHE_DIRECTORY``, the folder
systemd gives a unit with ``CacheDirectory=``; else ``$XDG_CACHE_HOME/mediapipe``, else
``~/.cache/mediapipe``; in it, a folder named by the table's kind, its version and the size and
modification time of the data it was built from), whether one can be kept there, writing it
(one ``.npy`` file an array, in a temp folder renamed into place: a reader sees all of it or
none; the tables of the same kind that other versions or other data left are removed) and
reading it (every array mapped from its file: read as it is used, its pages shared by every
process on the machine). A table that cannot be read (cut short by a full disk or a crash) is
built again and replaces it. Does not own: what a table holds (``places``, ``zones``).

Entry points: ``folder``, ``keepable``, ``cached``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["cached", "folder", "keepable"]

T = TypeVar("T")
_UNREADABLE = (OSError, ValueError, KeyError, EOFError)  # a file missing, short or foreign


def folder(kind: str, source: Path, version: int) -> Path | None:
    """Where the table ``kind`` built from the file ``source`` is kept (``version``: bumped
    when what the table holds changes); None where ``source`` or a home to keep it in is
    missing."""
    try:
        data = source.stat()
        systemd = os.environ.get("CACHE_DIRECTORY", "").split(":")[0]
        home = Path(systemd) if systemd else Path(
            os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mediapipe"
    except (OSError, RuntimeError):
        return None
    return home / f"{kind}-{version}-{data.st_size}-{data.st_mtime_ns}"


def keepable(path: Path) -> bool:
    """Whether a table can be kept at ``path``: its folder made where it is missing, and
    writable (not under a read-only home, as a hardened service's may be)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(path.parent, os.W_OK)


def cached(path: Path | None, build: Callable[[], Mapping[str, Any]],
           use: Callable[[Mapping[str, Any]], T]) -> T:
    """``use`` of the arrays kept at ``path`` (a ``folder``), or of the ones ``build`` makes
    where they cannot be read (kept at ``path`` for the next process where it can be written;
    None: not kept). ``use`` raising ``KeyError`` or ``ValueError`` marks a table as
    unreadable, as a missing or short file does."""
    if path is not None:
        with contextlib.suppress(*_UNREADABLE):
            return use(_load(path))
    arrays = build()
    if path is not None:
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            _save(path, arrays)
            _drop_others(path)
    return use(arrays)


def _load(path: Path) -> dict[str, Any]:
    import numpy as np

    names = sorted(p.stem for p in path.glob("*.npy"))
    if not names:
        raise FileNotFoundError(path)
    return {name: np.load(path / f"{name}.npy", mmap_mode="r") for name in names}


def _save(path: Path, arrays: Mapping[str, Any]) -> None:
    """The arrays as one ``.npy`` file each in the folder ``path``, made under a temp name and
    then renamed."""
    import numpy as np

    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        for name, array in arrays.items():
            np.save(tmp / f"{name}.npy", array)
        # One that could not be read goes (a process mapping it keeps its files); a rename
        # that still fails found another process's, made meanwhile: as good.
        shutil.rmtree(path, ignore_errors=True)
        os.rename(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _drop_others(kept: Path) -> None:
    """The tables of ``kept``'s kind that other versions or other data left, removed (a
    file: an older format's)."""
    kind = kept.name.split("-", 1)[0]
    for other in kept.parent.glob(f"{kind}-*"):
        if other != kept:
            if other.is_dir():
                shutil.rmtree(other, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    other.unlink()

"""Which source an output was made from: a stamp in the output's own mtime.

Owns: ``source_stamp`` (a source's ctime, in ns: changed by every write, replacement, ``cp -p``,
rsync or restored mtime, and settable by no program), ``stamp_outputs`` (each output's mtime set
to its source's stamp once written) and ``made_from`` (read back, as finely as the filesystem
keeps times: ns, NTFS/SMB's 100 ns, µs, ms, s, FAT's 2 s). The stamp travels with the file, so a
worker on another machine and the coordinator agree without asking the catalog.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable
from pathlib import Path

__all__ = ["made_from", "source_stamp", "stamp_outputs"]

# Timestamp granularities a media root's filesystem may keep (ns, NTFS/SMB, µs, ms, s, FAT).
_GRAINS = (1, 100, 1_000, 1_000_000, 1_000_000_000, 2_000_000_000)


def source_stamp(st: os.stat_result) -> int:
    """The stamp of a source as it is: its ctime, in ns (changed by every write, replacement,
    ``cp -p``, rsync or restored mtime; no program can set it)."""
    return st.st_ctime_ns


def stamp_outputs(outputs: Iterable[str | Path], stamp: int) -> None:
    """Mark ``outputs`` as made from the source whose stamp is ``stamp`` (their mtime)."""
    for path in outputs:
        with contextlib.suppress(OSError):  # unstamped means "not known fresh": made again
            os.utime(path, ns=(time.time_ns(), stamp))


def made_from(path: str | Path, stamp: int) -> bool:
    """Whether ``path`` exists, is not empty and was made from the source stamped ``stamp``
    (as finely as its filesystem keeps times)."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    have = st.st_mtime_ns
    return st.st_size > 0 and any(have == stamp - stamp % grain for grain in _GRAINS)

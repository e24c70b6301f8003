"""The C libraries' settings for a process that handles many images, one after another.

Owns: ``tune()``, which the long-running edges call once (the CLI, each Celery pool process),
and ``one_blas_thread()``, which it calls and which a Celery worker's parent calls before it
loads the steps. Stages never call them: a library user's process is theirs to tune.

Why: decoding and resizing a photo allocates a few large buffers (tens of MB for 12 MP). glibc's
malloc adapts its thresholds as it goes; after some images it settles into returning those
buffers to the kernel at every ``free`` and faulting them back in for the next photo: ~8,000 page
faults and ~10 % of a 12 MP photo's time, in a process that ran fine a minute before (seen in a
Celery worker after ~120 photos). Fixed thresholds make it deterministic: blocks under
``MMAP_THRESHOLD`` come from the heap and up to ``TRIM_THRESHOLD`` of freed heap stays for the
next image; a bigger image still gives its memory back afterwards.

Leaves alone: C libraries other than glibc, and processes whose environment already sets
``MALLOC_MMAP_THRESHOLD_`` or ``MALLOC_TRIM_THRESHOLD_`` (the operator's choice wins).

And numpy's OpenBLAS: one thread. By default it keeps a thread per CPU, which wakes for each
small matrix product (a place-name lookup, a ThumbHash) and then spins waiting for more, taking
CPU from the other pool processes: 4 % of an ingest's CPU time on two cores. OpenBLAS reads
``OPENBLAS_NUM_THREADS`` as it loads, so this holds where numpy is not imported yet (the CLI
and a worker's parent set it first; pool processes fork from them); an operator's value wins.
"""

from __future__ import annotations

import ctypes
import os

__all__ = ["MMAP_THRESHOLD", "TRIM_THRESHOLD", "one_blas_thread", "tune"]

MMAP_THRESHOLD = 64 << 20
TRIM_THRESHOLD = 128 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # <malloc.h>
_ENV = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")


def one_blas_thread() -> None:
    """numpy's OpenBLAS keeps to one thread in this process (see the module docstring)."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def tune() -> bool:
    """``one_blas_thread``, and fix glibc's mmap and trim thresholds; returns whether it did the
    latter (False elsewhere)."""
    one_blas_thread()
    if not _glibc() or any(name in os.environ for name in _ENV):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) \
        and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))


def _glibc() -> bool:
    try:
        return (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
    except (ValueError, OSError):  # not a glibc system
        return False

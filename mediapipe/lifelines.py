"""Processes that must not outlive the process that started them.

Owns: ``die_with_parent`` (a pre-exec hook: the kernel SIGKILLs the child program — ffmpeg, a
``-stay_open`` exiftool — when the process running it dies) and ``bind_to_parent`` (the same
from inside a forked child, a pool process, which also leaves at once if its parent is already
gone). Without them a killed worker leaves ffmpeg encoding for nobody, and an exiftool whose
parent died reads its closed stdin in a loop forever (``-stay_open`` polls past end of file).
Linux's ``PR_SET_PDEATHSIG``; elsewhere no such safety net.
"""

from __future__ import annotations

import ctypes
import functools
import os
import signal
from collections.abc import Callable

__all__ = ["bind_to_parent", "die_with_parent"]

PR_SET_PDEATHSIG = 1


@functools.cache
def _prctl() -> Callable[..., int] | None:
    try:
        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux
        return None
    return prctl


def die_with_parent() -> Callable[[], None] | None:
    """For ``subprocess.Popen(preexec_fn=...)``: libc is loaded here, in the parent; between
    fork and exec only the C call runs."""
    prctl = _prctl()
    if prctl is None:
        return None

    def hook() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)

    return hook


def bind_to_parent(parent: int) -> None:
    """In a forked child: be SIGKILLed when ``parent`` dies; if it already has, leave now."""
    prctl = _prctl()
    if prctl is None:
        return
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the call: no signal will come
        os._exit(1)

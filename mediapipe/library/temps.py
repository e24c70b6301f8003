"""Temp files: how a write in progress is named, and sweeping those that crashed writers left.

Owns: ``temp_path_for`` (``.<name>.<host>.<pid>.<random>.mptmp`` beside its target: hidden, naming
its writer, cut to 255 bytes), ``sweep_temp`` (a temp goes when its writer on this host is gone —
no such process, a zombie not yet reaped, or a pid reused since — or when it has not changed for
an hour: writers on other hosts of a shared disk) and ``sweep_folders`` (every folder a run
writes, once per process). Does not own: the writes themselves (``storage.atomic_output``).
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from collections.abc import Iterable
from pathlib import Path

__all__ = ["STALE_AFTER_S", "TEMP_SUFFIX", "sweep_folders", "sweep_temp", "temp_path_for"]

TEMP_SUFFIX = ".mptmp"
STALE_AFTER_S = 3600.0

_HOST = socket.gethostname().replace(".", "_")


def temp_path_for(target: Path) -> Path:
    """``.<name>.<host>.<pid>.<random>.mptmp`` beside ``target``: hidden, naming its writer,
    cut to fit 255 bytes (on a UTF-8 boundary) for long names."""
    tag = f"{_HOST}.{os.getpid()}.{secrets.token_hex(4)}"
    room = 255 - len(os.fsencode(f"..{tag}{TEMP_SUFFIX}"))
    raw = os.fsencode(target.name)  # a name that is not UTF-8 has surrogate escapes
    try:
        raw.decode()
        name = raw[:room].decode("utf-8", "ignore")  # cut on a character boundary
    except UnicodeDecodeError:  # not UTF-8: cut the bytes as they are
        name = os.fsdecode(raw[:room])
    return target.with_name(f".{name}.{tag}{TEMP_SUFFIX}")


def _boot_time() -> float | None:
    try:
        with open("/proc/stat", "rb") as fh:
            for line in fh:
                if line.startswith(b"btime "):
                    return float(line.split()[1])
    except OSError:
        pass
    return None


_BOOT = _boot_time()
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _process_gone(pid: int, written_at: float) -> bool:
    """True when no live process ``pid`` could have written a file last changed at
    ``written_at``: there is none, it is a zombie (dead, not yet reaped by its parent) or it
    started after the file was written (the pid was reused)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except FileNotFoundError:
        return True
    except OSError:  # no /proc: ask the kernel whether the pid exists at all
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except OSError:
            return False
        return False
    fields = stat[stat.rfind(b")") + 2:].split()
    if fields[0] in (b"Z", b"X"):
        return True
    started = _BOOT + int(fields[19]) / _TICKS if _BOOT is not None else None
    return started is not None and started > written_at + 1.0


def _writer_dead(temp_name: str, written_at: float = float("inf")) -> bool:
    """True when the temp file's writer was a process on this host that is gone (or a zombie)."""
    parts = temp_name[: -len(TEMP_SUFFIX)].rsplit(".", 3)
    if len(parts) != 4 or parts[1] != _HOST or not parts[2].isdigit():
        return False
    return _process_gone(int(parts[2]), written_at)


def sweep_temp(folder: str | Path, *, name: str | None = None,
               older_than: float = STALE_AFTER_S, recursive: bool = False) -> int:
    """Remove temp files that crashed writers left; returns how many were removed.

    A temp file goes when its writer (named in it) was on this host and is gone, or when it
    has not changed for ``older_than`` seconds (writers on other hosts sharing the disk).
    ``name`` limits the sweep to the temps of one target.
    """
    folder = Path(folder)
    now = time.time()
    prefix = f".{name}." if name else "."
    removed = 0
    walker = os.walk(folder) if recursive else [(str(folder), [], None)]
    for dirpath, _dirs, _files in walker:
        try:
            entries = list(os.scandir(dirpath))
        except OSError:
            continue
        for entry in entries:
            if not (entry.name.startswith(prefix) and entry.name.endswith(TEMP_SUFFIX)):
                continue
            try:
                written_at = entry.stat().st_mtime
                if _writer_dead(entry.name, written_at) or now - written_at > older_than:
                    os.unlink(entry.path)
                    removed += 1
            except OSError:
                continue
    return removed


_SWEPT: set[str] = set()  # folders this process has swept: once each is enough


def sweep_folders(outputs: Iterable[str | Path]) -> int:
    """Sweep the folders of ``outputs`` once per process (every folder a run writes, or would
    write had its outputs not been there already); returns how many temps were removed."""
    removed = 0
    for folder in {os.path.dirname(os.path.abspath(p)) for p in outputs} - _SWEPT:
        if len(_SWEPT) > 100_000:
            _SWEPT.clear()
        _SWEPT.add(folder)
        removed += sweep_temp(folder)
    return removed

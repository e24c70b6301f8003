"""The exiftool fallback reader: one persistent ``exiftool -stay_open`` process per process.

Owns: starting exiftool lazily (``exiftool -stay_open True -@ -``) the first time a file needs
it, one per OS process (a forked worker starts its own), restarting it when it died or overran
its per-file timeout, and turning its ``-j -n`` answer for one file into a tag dict whose names
are exiftool's (the names ``exif``, ``xmp`` and ``iptc`` already use), so the same Immich rules
apply to it. Does not own: when to ask (``read``), or any rule about which tag wins.

Entry point: ``exiftool_tags(path, timeout=TIMEOUT_S) -> dict[str, object]`` (lists as tuples;
exiftool's own complaint, if any, under ``"Error"``); raises ``ExiftoolUnavailable`` (not
installed, died, timed out, cannot take the name), nothing else.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import threading
from pathlib import Path

from mediapipe import lifelines
from mediapipe.metadata.tags import exiftool_names
from mediapipe.sources import Source, SourceLike

__all__ = ["TAGS", "TIMEOUT_S", "ExiftoolUnavailable", "exiftool_tags", "shutdown"]

TIMEOUT_S = 30.0  # per file; a config setting could carry it (see the metadata README section)
# The tags the metadata rules read, by exiftool's names (``tags.VOCABULARY``; composites
# included: ImageSize is the displayed size of a RAW sensor, DateTimeCreated joins IPTC's date
# and time).
TAGS = exiftool_names()
# Each request: JSON, numbers as numbers, names without groups, no warnings on stderr.
_ARGS = ("-j", "-n", "-q", "-q", "-charset", "filename=utf8", "-api", "largefilesupport=1",
         *(f"-{tag}" for tag in TAGS))


class ExiftoolUnavailable(Exception):
    """exiftool could not answer (absent, died, too slow): the caller keeps what it has."""


class _Process:
    """One ``-stay_open`` exiftool: requests are numbered, answers end at ``{readyN}``."""

    def __init__(self) -> None:
        try:
            self.proc = subprocess.Popen(
                ["exiftool", "-stay_open", "True", "-@", "-"], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0,
                preexec_fn=lifelines.die_with_parent())  # else it polls a closed stdin forever
        except OSError as exc:
            raise ExiftoolUnavailable(f"exiftool cannot start: {exc}") from exc
        self.pid = os.getpid()
        self.count = 0

    def alive(self) -> bool:
        return self.pid == os.getpid() and self.proc.poll() is None

    def ask(self, path: Path, timeout: float) -> bytes:
        self.count += 1
        ready = f"{{ready{self.count}}}".encode()
        request = "\n".join((*_ARGS, str(path), f"-execute{self.count}", ""))
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(request.encode("utf-8", "surrogateescape"))
            self.proc.stdin.flush()
        except OSError as exc:
            raise ExiftoolUnavailable(f"exiftool died: {exc}") from exc
        out = bytearray()
        fd = self.proc.stdout.fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while not out.rstrip().endswith(ready):
                if not sel.select(timeout):
                    self.close()
                    raise ExiftoolUnavailable(f"exiftool took over {timeout:g}s")
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    raise ExiftoolUnavailable("exiftool died while reading")
                out += chunk
        return bytes(out.rstrip()[: -len(ready)])

    def close(self) -> None:
        if self.pid != os.getpid():
            return  # a forked child does not own its parent's process
        try:
            if self.proc.poll() is None:
                assert self.proc.stdin is not None
                self.proc.stdin.write(b"-stay_open\nFalse\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


_lock = threading.Lock()
_current: _Process | None = None


def exiftool_tags(source: SourceLike, timeout: float = TIMEOUT_S) -> dict[str, object]:
    """exiftool's ``-j -n`` tags of one file, read by its ``Source.name`` (the held file,
    whatever its path says now; see the module docstring)."""
    global _current
    p = Path(Source.of(source).name)
    if "\n" in str(p) or "\r" in str(p):
        raise ExiftoolUnavailable("exiftool's argument file cannot carry a newline in a name")
    with _lock:
        if _current is None or not _current.alive():
            _current = _Process()
        try:
            raw = _current.ask(p, timeout)
        except ExiftoolUnavailable:
            _current.close()
            _current = None
            raise
    if not raw.strip():  # -q -q silences "file not found"-like errors into no output
        return {"Error": "exiftool read nothing from the file"}
    try:
        answer = json.loads(raw)[0]
    except (ValueError, IndexError, KeyError) as exc:
        raise ExiftoolUnavailable(f"exiftool answered something else than JSON: {exc}") from exc
    if not isinstance(answer, dict):
        raise ExiftoolUnavailable("exiftool answered something else than one object")
    return {k: tuple(v) if isinstance(v, list) else v for k, v in answer.items()}


def shutdown() -> None:
    """Stop this process's exiftool (tests; a worker's exit ends it anyway)."""
    global _current
    with _lock:
        if _current is not None:
            _current.close()
            _current = None

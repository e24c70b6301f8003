"""What the reliability tests share: running the real ``mediapipe ingest``, and judging its end.

Owns: ``run_ingest`` (the command in a subprocess, under a time limit, with the peak resident
memory of its whole process tree sampled from ``/proc``; ``run_cli`` for any other command),
``account`` (every source of a run classed as processed, failed cleanly with a typed
``MediaError``, crashed or lost, from the catalog the run wrote), ``partial_files`` (temp files,
empty or undecodable outputs under a media root), ``digests`` (sha256 of every file under a
folder) and ``Figures``, the row each case adds to the table printed at the end of the session.
Does not own: the media (``fixtures``) or the services (``tests.support.services``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mediapipe.errors import MediaError
from mediapipe.library import storage, temps
from mediapipe.pipeline import PIPELINE

__all__ = ["MEDIA_ERRORS", "Figures", "IngestRun", "account", "digests", "partial_files",
           "run_cli", "run_ingest"]

MEDIA_ERRORS = frozenset({"MediaError"} | {c.__name__ for c in MediaError.__subclasses__()})
# What a run that ended and reported its failed assets may exit with: 1, or the code their
# failures share (every one StorageOffline: 4, ...).
FAILED_RUN_CODES = frozenset({1} | {c.exit_code for c in MediaError.__subclasses__()})
STATES = tuple(f"{step.name}_state" for step in PIPELINE)  # every step's state column


@dataclasses.dataclass
class Figures:
    """One row of the reliability table."""

    case: str
    tried: int = 0
    processed: int = 0
    failed_clean: int = 0
    crashed: int = 0
    lost: int = 0
    partial: int = 0
    hung: int = 0  # runs killed at their time limit (also counted as crashed)
    peak_rss_mib: float = 0.0


@dataclasses.dataclass(frozen=True)
class IngestRun:
    code: int | None  # None: killed at the time limit (a hang)
    summary: dict[str, Any]
    stderr: str
    peak_rss: int  # bytes, the process tree's largest sampled total
    wall_s: float

    @property
    def hung(self) -> bool:
        return self.code is None

    @property
    def crashed(self) -> bool:
        """Died, hung, or printed a traceback: anything but exit 0 (all ok) or a run that ended
        and reported failed assets with their exit code."""
        if "Traceback" in self.stderr or not self.summary:
            return True
        if self.refused:
            return False
        reported = bool(self.summary.get("failed") or self.summary.get("still_failed"))
        return not (self.code == 0 or (reported and self.code in FAILED_RUN_CODES))

    @property
    def refused(self) -> bool:
        """Stopped by one typed error, said as ``--json``'s error object with its exit code
        (a planted link, a full disk): a clean end, not a crash."""
        error = self.summary.get("error")
        return isinstance(error, dict) and error.get("type") in MEDIA_ERRORS and \
            self.code == self.summary.get("exit_code")


def _tree(pid: int) -> list[int]:
    """``pid`` and every descendant, from ``/proc/*/stat``."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, ()))
    return out


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


class TreeSampler:
    """Samples the summed RSS of process trees every ``every`` seconds; ``peak`` in bytes."""

    def __init__(self, *pids: int, every: float = 0.05) -> None:
        self.pids, self.every, self.peak = pids, every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, sum(map(_rss, set().union(*map(_tree, self.pids)))))
            self._stop.wait(self.every)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def start_ingest(library: Path, root: Path, *args: str,
                 env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mediapipe", "ingest", os.fsdecode(library), "--media-root",
         str(root), "--json", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **(env or {})}, start_new_session=True)


def finish_ingest(proc: subprocess.Popen[str], timeout: float,
                  sampler: TreeSampler | None = None, started: float | None = None) -> IngestRun:
    """Wait for a started ingest; at the time limit kill its whole group and call it hung."""
    started = started or time.monotonic()
    try:
        out, err = proc.communicate(timeout=timeout)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        code = None
    try:
        summary = json.loads(out) if out.strip() else {}
    except json.JSONDecodeError:
        summary = {}
    if isinstance(summary, list):  # info, thumbnail: one entry per file
        summary = {"items": summary}
    return IngestRun(code, summary, err, sampler.peak if sampler else 0,
                     time.monotonic() - started)


def run_cli(*args: str, timeout: float = 120) -> IngestRun:
    """``mediapipe ARGS`` (any command; give it ``--json``) to its end, or killed at
    ``timeout`` seconds, with the peak RSS of its process tree."""
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "mediapipe", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    with TreeSampler(proc.pid) as sampler:
        return finish_ingest(proc, timeout, sampler, started)


def run_ingest(library: Path, root: Path, *args: str, timeout: float = 240,
               env: dict[str, str] | None = None, also: Iterable[int] = ()) -> IngestRun:
    """``mediapipe ingest LIBRARY --media-root ROOT --json ARGS`` to its end, or killed at
    ``timeout`` seconds; the peak RSS is that of the command and all its children (and of the
    process trees ``also`` names: Celery workers)."""
    started = time.monotonic()
    proc = start_ingest(library, root, *args, env=env)
    with TreeSampler(proc.pid, *also) as sampler:
        return finish_ingest(proc, timeout, sampler, started)


def catalog_rows(root: Path) -> dict[bytes, dict[str, Any]]:
    db = root / "catalog.db"
    if not db.exists():
        return {}
    with contextlib.closing(sqlite3.connect(db)) as con:
        con.row_factory = sqlite3.Row
        return {bytes(r["path"]): dict(r) for r in con.execute(
            f"SELECT path, asset_id, online, {', '.join(STATES)}, "
            "error_stage, error_type, error_message FROM sources")}


def account(case: str, sources: Iterable[Path | str], root: Path, runs: Iterable[IngestRun],
            ) -> tuple[Figures, dict[str, list[str]]]:
    """Class every source by the catalog's last word on it; crashes of the runs count too.

    processed: every stage done or skipped. failed-clean: a stage failed with a ``MediaError``
    type (or is pending again after a transient failure the run reported). crashed: failed
    with anything else (an ``InternalError``), plus each run that died, hung or printed a
    traceback. lost: not in the catalog, or a stage still pending and not reported.
    """
    rows = catalog_rows(root)
    runs = list(runs)
    reported = {os.fsencode(os.path.abspath(f["path"])): f["error"].split(":", 1)[0]
                for run in runs for f in run.summary.get("failures", ())}
    fig = Figures(case)
    detail: dict[str, list[str]] = {"crashed": [], "lost": []}
    for src in sources:
        key = os.fsencode(os.path.abspath(src))
        fig.tried += 1
        row = rows.get(key)
        states = [row[s] for s in STATES] if row else ["pending"]
        if "pending" in states and reported.get(key) in MEDIA_ERRORS:
            fig.failed_clean += 1  # a transient failure: reported, and left pending for a re-run
        elif "pending" in states:
            fig.lost += 1
            detail["lost"].append(os.fsdecode(key))
        elif "failed" in states:
            if row and row["error_type"] in MEDIA_ERRORS:
                fig.failed_clean += 1
            else:
                fig.crashed += 1
                detail["crashed"].append(f"{os.fsdecode(key)}: {row and row['error_type']}: "
                                         f"{row and row['error_message']}")
        else:
            fig.processed += 1
    for run in runs:
        fig.hung += run.hung
        if run.crashed:
            fig.crashed += 1
            detail["crashed"].append(f"run exit {run.code}: {run.stderr[-2000:]}")
    fig.partial = len(partial_files(root))
    fig.peak_rss_mib = round(max((r.peak_rss for r in runs), default=0) / 2**20, 1)
    return fig, detail


def partial_files(root: Path) -> list[Path]:
    """Temp files left behind, and derived outputs that are empty or do not decode."""
    from PIL import Image

    bad = []
    for folder in ("thumbs", "encoded-video", "library"):
        for p in (root / folder).rglob("*"):
            if not p.is_file() or p.name == storage.MARKER:
                continue
            if p.name.endswith(temps.TEMP_SUFFIX) or p.stat().st_size == 0:
                bad.append(p)
            elif folder == "thumbs":
                try:
                    with Image.open(p) as im:
                        im.load()
                except Exception:
                    bad.append(p)
            elif folder == "encoded-video" and not _plays(p):
                bad.append(p)
    return bad


def _plays(path: Path) -> bool:
    """ffprobe counts the video packets to the end: a truncated MP4 has no moov and fails."""
    proc = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets",
                           "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0",
                           str(path)], capture_output=True, text=True, timeout=60, check=False)
    return proc.returncode == 0 and proc.stdout.strip().isdigit() and int(proc.stdout) > 0


def digests(folder: Path) -> dict[bytes, str]:
    """sha256 of every regular file under ``folder`` (links not followed), by path."""
    out = {}
    for dirpath, _dirs, files in os.walk(os.fsencode(folder)):
        for name in files:
            p = os.path.join(dirpath, name)
            if os.path.islink(p):
                continue
            h = hashlib.sha256()
            with open(p, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    h.update(chunk)
            out[p] = h.hexdigest()
    return out

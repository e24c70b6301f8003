"""``mediapipe ingest``: index an external library in place, with a progress bar.

Owns: the command's options, the checks before anything runs (the library is a readable folder,
the media root is initialised and mounted, the broker answers within its timeout:
``workers.broker.probe``), picking the runner (``workers.runner.CeleryRunner`` when a broker is
given or configured, else ``pipeline.local.LocalRunner`` with ``--workers`` processes), the
library's lock for the run and the media root's, shared with other libraries (``index.lock``),
the rich progress bar on
stderr (which says when the run waits for the broker) and the summary (exit 1, or the failures'
shared code — all read-only thumbs/ is 13 — when an asset failed in this run; failures of
earlier runs are said, and counted in the metrics, but a run that failed nothing new exits 0,
as a systemd timer needs). Does not own: the scan, the catalog or the results' bookkeeping
(``index.ingest``), or the work on each asset (the runners), or its metrics (``cli.metrics``:
served on ``--metrics-port``, and written to ``--metrics-textfile`` after each ingest for a
timer run). With a broker, assets waiting in a queue no worker serves are said within seconds
and end the run after ``--unserved-deadline`` (exit 18, ``workers.consumers``). SIGTERM and
SIGINT end a run or a watch within seconds whatever it does (``stopping``). Without a terminal,
a progress line every ``--progress-every`` seconds goes to the log for a journal. Both runners
are imported only when chosen: an unchanged library starts fast.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import click

from mediapipe.cli.context import (
    COUNT,
    AppContext,
    BrokerUrl,
    emit_json,
    fail,
    json_option,
    media_root_option,
    pass_app,
    readable_source,
)
from mediapipe.cli.metrics import metrics_options, textfile_option
from mediapipe.cli.stopping import Stopped, stoppable
from mediapipe.errors import MediaError, Unreadable, combined_exit_code
from mediapipe.shown import shown

__all__ = ["Progress", "ingest"]


@click.command()
@click.argument("library", type=click.Path(readable=False))
@media_root_option
@click.option("--broker", type=BrokerUrl(), default=None,
              help="Fan out to Celery workers through this broker (default: "
                   "MEDIAPIPE_BROKER_URL; none: run in-process).")
@click.option("--workers", type=COUNT, default=None,
              help="In-process worker processes, 1 or more (default: CPU count).")
@click.option("--force", is_flag=True, help="Redo every stage of every source.")
@click.option("--missing", is_flag=True,
              help="Also regenerate derived files that are gone (with --dry-run: count them).")
@click.option("--retry-failed", is_flag=True,
              help="Try the assets that failed in earlier runs again.")
@click.option("--dry-run", is_flag=True, help="Scan and count; change nothing.")
@click.option("--watch", is_flag=True,
              help="After the scan, follow the library and process what changes, until "
                   "stopped (library.watch.enabled makes it the default).")
@click.option("--unserved-deadline", type=click.FloatRange(min=0), default=None,
              metavar="SECONDS",
              help="With a broker: end the run (exit 18, assets left pending) when its assets "
                   "wait this long in a queue no worker serves (default: 600, with --watch "
                   "none; said within seconds either way).")
@click.option("--progress-every", type=click.FloatRange(min=0), default=30.0,
              show_default=True, metavar="SECONDS",
              help="Without a terminal (a journal): a progress line this often (done/total, "
                   "failed, rate, ETA); 0: none. -q silences it.")
@click.option("--library-name", default=None,
              help="The library's name in metric labels (default: a short hash of its path; "
                   "mediapipe_library_info maps it to the path on a port bound to 127.0.0.1).")
@metrics_options
@textfile_option
@json_option
@pass_app
def ingest(app: AppContext, library: str, media_root: str | None, broker: str | None,
           workers: int | None, force: bool, missing: bool, retry_failed: bool, dry_run: bool,
           watch: bool, unserved_deadline: float | None, progress_every: float,
           library_name: str | None, metrics_port: int | None,
           metrics_address: str, metrics_textfile: str | None, as_json: bool) -> None:
    """Index an external library in place and make its thumbnails and encoded videos."""
    from mediapipe.index import ingest as coordinator
    from mediapipe.index import lock
    from mediapipe.library import storage

    cfg = app.config
    root = app.media_root(media_root)
    if not readable_source(library, folder_ok=True).is_dir():
        raise Unreadable(library, "is a file, not a library folder")
    storage.require_root(root)
    broker_url = broker or cfg.broker_url
    tty = sys.stderr.isatty()
    bar = Progress(enabled=not as_json and tty,
                   every_s=progress_every if not as_json and not tty else 0.0)
    runner: coordinator.Runner
    if broker_url and not dry_run:
        from mediapipe.workers.broker import probe
        from mediapipe.workers.runner import CeleryRunner

        probe(broker_url)  # before the catalog changes: a broker that is not there stops here
        runner = CeleryRunner(root, cfg.replace(broker_url=broker_url), on_status=bar.waiting)
        if unserved_deadline is not None:
            runner.unserved_deadline = unserved_deadline
        elif watch or cfg.library.watch.enabled:  # a service: said, and waited out
            runner.unserved_deadline = float("inf")
    else:
        from mediapipe.pipeline.local import LocalRunner

        runner = LocalRunner(root, cfg, workers or os.cpu_count() or 1)
    observed = None
    if (metrics_port is not None or metrics_textfile) and not dry_run:
        from mediapipe.cli.metrics import Observed

        observed = Observed(root, cfg, broker_url=broker_url, in_process=not broker_url,
                            port=metrics_port, address=metrics_address, textfile=metrics_textfile,
                            library=library, library_name=library_name)
        observed.start()  # a port in use stops here, before anything changes
        runner = observed.counting(runner)
    if (watch or cfg.library.watch.enabled) and not dry_run:
        journal = Progress(enabled=False, every_s=bar.every_s, active=False)
        # the library alone; the media root shared, a pass at a time (index.watch)
        with stoppable(exit_code=0) as stop, lock.hold_library(root, library), journal:
            _follow(library, journal.following(runner), as_json, observed, stop)
        return
    scanned = None
    try:
        with stoppable(), _held(root, library) if not dry_run else _nothing(), bar:
            summary = coordinator.ingest(library, runner, remake=force, missing=missing,
                                         retry_failed=retry_failed, dry_run=dry_run,
                                         on_start=bar.start, on_result=bar.advance)
        scanned = summary.library
    finally:
        if observed:
            observed.ended(scanned)
    _report(summary, as_json, missing)
    if summary.failed:  # the failures' shared code (all PermissionDenied: 13), else MediaError's
        first = summary.failures[0]
        raise click.exceptions.Exit(fail(
            f"{summary.failed} of {summary.processed} assets failed (first: {first.path}: "
            f"{first.error.describe()})",
            combined_exit_code(f.error.exit_code for f in summary.failures)
            or MediaError.exit_code))
    # Assets that failed in earlier runs and were not retried are in the summary (and the
    # metrics), not in the exit code: a nightly timer over an unchanged library succeeds.


@contextlib.contextmanager
def _held(root: Any, library: str) -> Iterator[None]:
    """One ingest: its library alone, the media root shared with other libraries' ingests."""
    from mediapipe.index import lock

    with lock.hold_library(root, library), lock.shared(root):
        yield


def _nothing() -> Any:
    return contextlib.nullcontext()


def _follow(library: str, runner: Any, as_json: bool, observed: Any, stop: Any) -> None:
    """``--watch``: ingest, then follow; a summary per ingest (and the metrics: the scan's
    time, the textfile); Ctrl-C or SIGTERM ends it within seconds, whatever it is doing
    (``stopping``), and it exits 0: a service stopped on purpose."""
    from mediapipe.index.watch import follow

    def summarised(summary: Any) -> None:
        _report(summary, as_json, False)
        if observed:
            observed.ended(summary.library)
    try:
        follow(library, runner, stop=stop, on_summary=summarised)
    except Stopped:
        stop.set()


def _report(summary: Any, as_json: bool, missing: bool) -> None:
    if as_json:
        emit_json(summary.to_dict())
    else:
        click.echo(f"{shown(str(summary.library))}: {summary.new} new, {summary.changed} changed, "
                   f"{summary.unchanged} unchanged, {summary.offline} offline, "
                   f"{summary.back_online} back online; {summary.processed} processed, "
                   f"{summary.failed} failed in {summary.duration_s:.1f}s"
                   + (f"; {summary.missing} with derived files missing" if missing else ""))
        if summary.still_failed:
            click.echo(f"  {summary.still_failed} assets failed in earlier runs: "
                       "`mediapipe ls --failed` lists them, --retry-failed tries them again",
                       err=True)
        for f in summary.failures[:20]:
            click.echo(shown(f"  FAILED {f.path}: {f.error.describe()}"), err=True)
        for p in summary.problems[:20]:
            click.echo(shown(f"  skipped {p.path}: {p.reason}"), err=True)


class Progress:
    """A rich progress bar on stderr with ok/failed counts, rate and ETA, and what the run
    waits for (``waiting``: the broker); without a terminal, with ``every_s``, one line that
    often for a journal (``line``: done/total, failed, rate, ETA) through the log, at info
    (``-q`` silences it); silent if neither."""

    def __init__(self, enabled: bool, every_s: float = 0.0, active: bool = True) -> None:
        self.enabled, self.every_s = enabled, every_s
        self.active = active  # lines only while a run works (a watch's idle time is quiet)
        self.phase = "scanning"  # what a line says before the first result
        self.counts = {"ok": 0, "failed": 0}
        self.total: int | None = None
        self._bar: Any = None
        self._task: Any = None
        self._t0 = time.monotonic()
        self._done = threading.Event()
        self._ticker: threading.Thread | None = None

    def __enter__(self) -> Progress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TaskProgressColumn,
                TextColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as Bar

            self._bar = Bar(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TaskProgressColumn(show_speed=True), TimeRemainingColumn(),
                            console=Console(stderr=True))
            self._bar.__enter__()
        elif self.every_s > 0 and _journal.isEnabledFor(logging.WARNING):
            _journal.setLevel(logging.INFO)  # shown unless -q: progress is not a warning
            self._ticker = threading.Thread(target=self._tick, name="mediapipe-progress",
                                            daemon=True)
            self._ticker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def _tick(self) -> None:
        while not self._done.wait(self.every_s):
            if self.active:
                _journal.info("%s", self.line(), extra={"stage": "progress"})

    def following(self, runner: Any) -> Any:
        """``runner``, each of its runs counted (a watch's ingests, whose totals the scan
        does not tell this bar): lines while it runs, none while the watch waits."""
        return _Followed(runner, self)

    def begin(self) -> None:
        self.counts, self.total, self._t0 = {"ok": 0, "failed": 0}, None, time.monotonic()
        self.active, self.phase = True, "processing what changed"

    def line(self, now: float | None = None) -> str:
        """``ingest: 120/2000 done, 3 failed, 12.5/s, ETA 2m30s`` (``scanning`` before the
        scan has counted)."""
        elapsed = (time.monotonic() if now is None else now) - self._t0
        done = self.counts["ok"] + self.counts["failed"]
        rate = done / elapsed if elapsed > 0 else 0.0
        if self.total is None and not done:
            return f"ingest: {self.phase} ({elapsed:.0f}s)"
        if self.total is None:
            return f"ingest: {done} done, {self.counts['failed']} failed, {rate:.1f}/s"
        left = self.total - done
        eta = _duration(left / rate) if rate > 0 else "unknown"
        wait = f"; {self.wait_line}" if self.wait_line else ""
        return (f"ingest: {done}/{self.total} done, {self.counts['failed']} failed, "
                f"{rate:.1f}/s, ETA {eta}{wait}")

    def start(self, total: int) -> None:
        self.total, self._t0 = total, time.monotonic()
        if self._bar is not None:
            self._task = self._bar.add_task("ingest", total=total)

    def advance(self, result: Any) -> None:
        self.counts["ok" if result.ok else "failed"] += 1
        self._show(advance=1)

    def waiting(self, line: str | None) -> None:
        """What the run waits for (``waiting for the broker (12s)``), or None when it no
        longer waits."""
        self.wait_line = line
        self._show(advance=0)

    wait_line: str | None = None

    def description(self) -> str:
        counts = f"ingest ok={self.counts['ok']} failed={self.counts['failed']}"
        return f"{counts} — {self.wait_line}" if self.wait_line else counts

    def _show(self, advance: int) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, advance=advance, description=self.description())


class _Followed:
    """A runner whose runs a ``Progress`` counts (``Progress.following``)."""

    def __init__(self, runner: Any, progress: Progress) -> None:
        self.runner, self.progress = runner, progress
        self.root, self.cfg, self.pipeline = runner.root, runner.cfg, runner.pipeline

    def run(self, assets: Any) -> Any:
        self.progress.begin()
        try:
            for result in self.runner.run(assets):
                self.progress.advance(result)
                yield result
        finally:
            self.progress.active = False


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


_journal = logging.getLogger("mediapipe.progress")

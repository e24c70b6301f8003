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
and end the run after ``--unserved-deadline`` (exit 18, ``workers.consumers``). Both runners
are imported only when chosen: an unchanged library starts fast.
"""

from __future__ import annotations

import contextlib
import os
import sys
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
from mediapipe.errors import ErrorRecord, Unreadable, combined_exit_code
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
@metrics_options
@textfile_option
@json_option
@pass_app
def ingest(app: AppContext, library: str, media_root: str | None, broker: str | None,
           workers: int | None, force: bool, missing: bool, retry_failed: bool, dry_run: bool,
           watch: bool, unserved_deadline: float | None, metrics_port: int | None,
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
    bar = Progress(enabled=not as_json and sys.stderr.isatty())
    runner: coordinator.Runner
    if broker_url and not dry_run:
        from mediapipe.workers.broker import probe
        from mediapipe.workers.runner import CeleryRunner

        probe(broker_url)  # before the catalog changes: a broker that is not there stops here
        runner = CeleryRunner(root, cfg.replace(broker_url=broker_url), force=force,
                              on_status=bar.waiting)
        if unserved_deadline is not None:
            runner.unserved_deadline = unserved_deadline
        elif watch or cfg.library.watch.enabled:  # a service: said, and waited out
            runner.unserved_deadline = float("inf")
    else:
        from mediapipe.pipeline.local import LocalRunner

        runner = LocalRunner(root, cfg, workers or os.cpu_count() or 1, force=force)
    observed = None
    if (metrics_port is not None or metrics_textfile) and not dry_run:
        from mediapipe.cli.metrics import Observed

        observed = Observed(root, cfg, broker_url=broker_url, in_process=not broker_url,
                            port=metrics_port, address=metrics_address, textfile=metrics_textfile)
        observed.start()  # a port in use stops here, before anything changes
        runner = observed.counting(runner)
    if (watch or cfg.library.watch.enabled) and not dry_run:
        with lock.hold_library(root, library):  # the media root: shared, a pass at a time
            _follow(library, root, cfg, runner, as_json, observed)
        return
    scanned = None
    try:
        with _held(root, library) if not dry_run else _nothing(), bar:
            summary = coordinator.ingest(library, root, cfg, runner, force=force,
                                         missing=missing, retry_failed=retry_failed,
                                         dry_run=dry_run, on_start=bar.start,
                                         on_result=bar.advance)
        scanned = summary.library
    finally:
        if observed:
            observed.ended(scanned)
    _report(summary, as_json, missing)
    if summary.failed:  # the failures' shared code (all PermissionDenied: 13), else 1
        codes = [ErrorRecord(f.get("type", ""), "").exit_code for f in summary.failures]
        first = summary.failures[0]
        raise click.exceptions.Exit(fail(
            f"{summary.failed} of {summary.processed} assets failed (first: {first['path']}: "
            f"{first['error']})", combined_exit_code(codes) or 1))
    # Assets that failed in earlier runs and were not retried are in the summary (and the
    # metrics), not in the exit code: a nightly timer over an unchanged library succeeds.


@contextlib.contextmanager
def _held(root: Any, library: str) -> Iterator[None]:
    """One ingest: its library alone, the media root shared with other libraries' ingests."""
    from mediapipe.index import lock

    with lock.hold_library(root, library), lock.shared(root):
        yield


def _nothing() -> Any:
    import contextlib

    return contextlib.nullcontext()


def _follow(library: str, root: Any, cfg: Any, runner: Any, as_json: bool,
            observed: Any) -> None:
    """``--watch``: ingest, then follow; a summary per ingest (and the metrics: the scan's
    time, the textfile); Ctrl-C or SIGTERM ends it."""
    import signal
    import threading

    from mediapipe.index.watch import follow

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def summarised(summary: Any) -> None:
        _report(summary, as_json, False)
        if observed:
            observed.ended(summary.library)
    try:
        follow(library, root, cfg, runner, stop=stop, on_summary=summarised)
    except KeyboardInterrupt:
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
            click.echo(shown(f"  FAILED {f['path']}: {f['error']}"), err=True)
        for p in summary.problems[:20]:
            click.echo(shown(f"  skipped {p['path']}: {p['error']}"), err=True)


class Progress:
    """A rich progress bar on stderr with ok/failed counts, rate and ETA, and what the run
    waits for (``waiting``: the broker); silent if disabled (the log says it then)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.counts = {"ok": 0, "failed": 0}
        self._bar: Any = None
        self._task: Any = None

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
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def start(self, total: int) -> None:
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

"""The coordinator's metrics: what ``ingest`` (a timer run, or ``--watch`` as a service) exports.

Owns: the metrics options ``ingest`` and ``worker`` share (``metrics_options``: a port, the
address it binds — 127.0.0.1 unless asked —, and for ``ingest`` a node_exporter textfile), the
catalog's counts as the exporter reads them (``catalog_counts``, read-only), and ``Observed``:
one ingest's metrics (served while it runs, the steps of an in-process run counted from its
results as they pass — a Celery run's are the workers' —, the last successful scan under the
library's label, the textfile written after each ingest, keeping the last good scans it held
when this run scanned none).
Does not own: the metrics themselves or serving them (``workers.metrics``), or the ingest
(``cli.ingest``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from mediapipe.config import Config

if TYPE_CHECKING:
    from mediapipe.pipeline.local import Asset, Runner
    from mediapipe.pipeline.state import AssetResult
    from mediapipe.workers.metrics import CatalogCounts
    from mediapipe.workers.serving import MetricsServer

__all__ = ["Observed", "catalog_counts", "metrics_options", "textfile_option"]

_F = TypeVar("_F", bound=Callable[..., Any])
PORT = click.IntRange(min=1, max=65535)


def metrics_options(f: _F) -> _F:
    """``--metrics-port`` and ``--metrics-address``."""
    f = click.option("--metrics-address", default="127.0.0.1", show_default=True,
                     help="Address the metrics port binds (0.0.0.0: every interface, for a "
                          "Prometheus on another machine).")(f)
    return click.option("--metrics-port", type=PORT, default=None,
                        help="Serve Prometheus metrics on this port.")(f)


def textfile_option(f: _F) -> _F:
    """``--metrics-textfile``: for runs too short to scrape (a systemd timer's)."""
    return click.option(
        "--metrics-textfile", type=click.Path(dir_okay=False), default=None,
        help="After each ingest, write the metrics here for node_exporter's textfile "
             "collector (written atomically; e.g. /var/lib/node_exporter/mediapipe.prom).")(f)


def catalog_counts(root: Path) -> Callable[[], CatalogCounts]:
    """A reader of the catalog's counts, opened afresh for each read (a scrape's thread)."""

    def read() -> CatalogCounts:
        from mediapipe.index import listing
        from mediapipe.index.catalog import Catalog
        from mediapipe.workers.metrics import CatalogCounts

        with Catalog.open(root, read_only=True) as cat:
            stats = listing.stats(cat)
        return CatalogCounts(
            by_state={"online": stats.online, "offline": stats.offline, "failed": stats.failed},
            by_step={(step, str(state)): n for step, states in stats.by_stage.items()
                     for state, n in states.items()})
    return read


class Observed:
    """One ``ingest`` command's metrics: ``start`` serves them (when a port is given),
    ``counting`` wraps an in-process runner to count its steps, ``ended`` marks a scan done and
    writes the textfile (when one is given)."""

    def __init__(self, root: Path, cfg: Config, *, broker_url: str | None, in_process: bool,
                 port: int | None, address: str, textfile: str | None,
                 library: str | None = None, library_name: str | None = None) -> None:
        from mediapipe.pipeline.steps import PIPELINE
        from mediapipe.workers import metrics

        self.cfg, self.in_process = cfg, in_process
        self.port, self.address, self.textfile = port, address, textfile
        self.library_name = library_name
        self.exporter = metrics.Exporter(broker_url=broker_url or None,
                                         queues=PIPELINE.queues if broker_url else (),
                                         media_root=root, catalog=catalog_counts(root),
                                         show_paths=_loopback(address))
        if library is not None:
            self.exporter.libraries[self.label(library)] = library
        if textfile:  # a run that scans nothing keeps the last good scans the file holds
            self.exporter.last_scan.update(metrics.last_scans(textfile))
        self.registry = metrics.registry(self.exporter)
        self.server: MetricsServer | None = None

    def label(self, library: str) -> str:
        """``library`` as metric labels name it (its name, else a hash: never a path)."""
        import os

        from mediapipe.workers.metrics import library_label

        return library_label(os.path.abspath(library), self.library_name)

    def start(self) -> None:
        from mediapipe.workers import metrics

        if self.port is not None:
            self.server = metrics.serve(self.registry, self.port, self.address)

    def counting(self, runner: Runner) -> Runner:
        """``runner``, each result's steps counted as it passes (an in-process run's: the
        workers count their own)."""
        return _Counting(runner, self.cfg.ffmpeg.accel) if self.in_process else runner

    def ended(self, library: str | None) -> None:
        """An ingest ended (``library``: its scan went well; None: it did not)."""
        from mediapipe.workers import metrics

        if library is not None:
            self.exporter.scanned(self.label(library))
        if self.textfile:
            metrics.write_textfile(self.textfile, self.registry)


def _loopback(address: str) -> bool:
    """Whether ``address`` binds this machine only (where a path may be shown)."""
    import ipaddress

    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return address == "localhost"


class _Counting:
    """A runner whose results are counted into the metrics as they pass."""

    def __init__(self, runner: Runner, accel: str) -> None:
        self.runner, self.accel = runner, accel
        self.root, self.cfg, self.pipeline = runner.root, runner.cfg, runner.pipeline

    def run(self, assets: Iterable[Asset]) -> Iterator[AssetResult]:
        from mediapipe.workers import metrics

        for result in self.runner.run(assets):
            for stage, outcome in result.stages.items():
                metrics.record_outcome(stage, outcome, accel=self.accel)
            yield result

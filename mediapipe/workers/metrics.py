"""Prometheus metrics of mediapipe, for a worker and for ``ingest``: what an operator alerts on.

Owns: the metric objects (steps by stage and outcome; the duration of the work a step did,
skipped steps not observed; failures by error type; the encoder used and fallbacks from a
hardware encoder; bytes written), ``record_outcome`` (one step's outcome into them), the
collectors read at scrape time (``Exporter``: build info, whether the broker answers, the depth
of every step queue whoever scrapes, free and total bytes of each media-root folder, the
catalog's counts and the last successful scan when the caller gives them), and serving them:
``serve`` (on an address and port by ``workers.serving``'s one capped thread, a port in
use one ``ConfigError``), how a library is named in labels (``library_label``: its name or a
short hash, never a path; ``mediapipe_library_info`` maps it to the path where the exporter
may show paths, never in a textfile), the last good scans a textfile held (``last_scans``) and
``write_textfile`` (node_exporter's textfile collector, written atomically, ``mediapipe_*``
only: node_exporter has its own ``process_*``).

Two registries, one set of metrics: a ``mediapipe worker --metrics-port`` parent sets
``PROMETHEUS_MULTIPROC_DIR`` (``workers.start``) before prometheus_client is imported, so its
prefork children write there and ``registry(multiprocess=True)`` aggregates them, with the
parent's own ``process_*`` and platform collectors added back; ``ingest`` serves the default
registry (its pool results are recorded in the coordinator, ``record_outcome``). Does not own:
reading the catalog (the caller passes ``catalog``: workers never import the index) or
cleaning the multiprocess folder (``workers.start``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import logging
import os
import platform
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
    write_to_textfile,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from mediapipe.errors import ConfigError, MediaError
from mediapipe.pipeline.state import StageOutcome, Status
from mediapipe.workers.serving import MetricsServer

__all__ = ["CatalogCounts", "Exporter", "fell_back", "last_scans", "library_label",
           "record_outcome", "registry", "serve", "write_textfile"]

PREFIX = "mediapipe_"
TASKS = Counter("mediapipe_tasks_total", "Steps finished, by stage and outcome",
                ["stage", "outcome"])
DURATION = Histogram("mediapipe_task_duration_seconds",
                     "Time a step spent working (done or failed; skipped steps are not observed)",
                     ["stage"], buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
                                         1800, 7200))
FAILURES = Counter("mediapipe_failures_total", "Steps failed, by stage and error type",
                   ["stage", "error_type"])
ENCODER = Counter("mediapipe_encoder_used_total", "Transcodes by the encoder that did them",
                  ["encoder"])
FALLBACKS = Counter("mediapipe_encoder_fallbacks_total",
                    "Transcodes that fell back from the configured hardware encoder")
BYTES = Counter("mediapipe_bytes_written_total", "Bytes written by stage", ["stage"])


@dataclasses.dataclass(frozen=True)
class CatalogCounts:
    """What the catalog says, for ``mediapipe_assets`` and ``mediapipe_step_assets``."""

    by_state: Mapping[str, int]  # online, offline, failed
    by_step: Mapping[tuple[str, str], int]  # (step, state) -> online assets


Catalog = Callable[[], CatalogCounts]
log = logging.getLogger(__name__)


def fell_back(outcome: StageOutcome, accel: str) -> bool:
    """A transcode done by an encoder other than the configured accelerator's (NVENC did not
    open, or failed, and software did it)."""
    return bool(outcome.encoder and outcome.encoder != "copy" and accel != "disabled"
                and accel not in outcome.encoder)


def record_outcome(stage: str, outcome: StageOutcome, *, accel: str = "disabled") -> None:
    """One step's outcome into the metrics; the configured ``accel`` tells a fallback."""
    TASKS.labels(stage, str(outcome.status)).inc()
    if outcome.status is not Status.SKIPPED:
        DURATION.labels(stage).observe(outcome.duration_s)
    if outcome.status is Status.FAILED:
        FAILURES.labels(stage, outcome.error.type if outcome.error else "MediaError").inc()
    if outcome.encoder:
        ENCODER.labels(outcome.encoder).inc()
    if fell_back(outcome, accel):
        FALLBACKS.inc()
    if outcome.bytes_written:
        BYTES.labels(stage).inc(outcome.bytes_written)


def library_label(path: str, name: str | None = None) -> str:
    """How a library is named in metric labels: its configured ``name``, else a short hash of
    its path (``lib-3f2a9c1d``): a label never shows a path to whoever reaches the port."""
    if name:
        return name
    return "lib-" + hashlib.sha256(os.fsencode(path)).hexdigest()[:8]


def last_scans(textfile: str | Path) -> dict[str, float]:
    """The last good scans a textfile written before holds (none when it is not there or not
    ours): a run that scans nothing (refused, failed) writes them again, so an alert on a
    stale scan keeps its series. Labels that are paths (an older mediapipe's) are dropped."""
    from prometheus_client.parser import text_string_to_metric_families

    try:
        text = Path(textfile).read_text(encoding="utf-8")
        found = {s.labels.get("library", ""): float(s.value)
                 for family in text_string_to_metric_families(text)
                 for s in family.samples
                 if s.name == "mediapipe_last_scan_success_timestamp_seconds"}
    except (OSError, ValueError, UnicodeDecodeError):
        return {}
    return {label: at for label, at in found.items() if label and "/" not in label}


def _version() -> str:
    try:
        return importlib.metadata.version("homelib-mediapipe")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - a source tree
        return "unknown"


@dataclasses.dataclass(eq=False)  # a collector: registries key on its identity
class Exporter:
    """What is read when Prometheus scrapes: build info always; the broker and every step
    queue's depth with a ``broker_url``; each media-root folder's space with a ``media_root``;
    the catalog's counts with ``catalog`` (cached for ``catalog_every_s``, or until a scan
    ends); and the last successful scan of each library, once ``scanned`` says one ended."""

    broker_url: str | None = None
    queues: tuple[str, ...] = ()
    media_root: Path | None = None
    catalog: Catalog | None = None
    catalog_every_s: float = 10.0
    last_scan: dict[str, float] = dataclasses.field(default_factory=dict)
    # library label -> its path, served as ``mediapipe_library_info`` only where paths may be
    # shown (a port bound to this machine): labels never carry a path
    libraries: dict[str, str] = dataclasses.field(default_factory=dict)
    show_paths: bool = False
    _counts: tuple[float, CatalogCounts] | None = None
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    def scanned(self, library: str, at: float | None = None) -> None:
        """A scan of ``library`` ended well (at ``at``, default now)."""
        self.last_scan[library] = time.time() if at is None else at
        with self._lock:
            self._counts = None  # the catalog changed: read it afresh at the next scrape

    def collect(self) -> Iterator[Metric]:
        build = GaugeMetricFamily("mediapipe_build_info", "mediapipe's version, always 1",
                                  labels=["version", "python"])
        build.add_metric([_version(), platform.python_version()], 1)
        yield build
        if self.broker_url:
            yield from self._broker()
        if self.media_root is not None:
            yield from _storage(self.media_root)
        if self.catalog is not None:
            yield from self._catalog()
        if self.last_scan:
            scan = GaugeMetricFamily("mediapipe_last_scan_success_timestamp_seconds",
                                     "When the last scan of each library ended well (Unix time)",
                                     labels=["library"])
            for library, at in sorted(self.last_scan.items()):
                scan.add_metric([library], at)
            yield scan
        if self.libraries and self.show_paths:
            info = GaugeMetricFamily("mediapipe_library_info", "Which path each library label "
                                     "names, always 1", labels=["library", "path"])
            for library, path in sorted(self.libraries.items()):
                info.add_metric([library, path], 1)
            yield info

    def _broker(self) -> Iterator[Metric]:
        import redis

        from mediapipe.workers.inflight import queued

        up = GaugeMetricFamily("mediapipe_broker_up", "1 when the broker answered this scrape")
        depth = GaugeMetricFamily("mediapipe_queue_depth", "Tasks waiting in each step queue",
                                  labels=["queue"])
        client = redis.Redis.from_url(str(self.broker_url), socket_timeout=1,
                                      socket_connect_timeout=1)
        try:
            for q in self.queues:
                depth.add_metric([q], queued(client, [q]))
            up.add_metric([], 1)
        except (redis.RedisError, OSError):
            up.add_metric([], 0)  # no depth samples: unknown is not zero
            depth = GaugeMetricFamily(depth.name, depth.documentation, labels=["queue"])
        finally:
            client.close()
        yield up
        yield depth

    def _catalog(self) -> Iterator[Metric]:
        assert self.catalog is not None
        with self._lock:
            if self._counts is None or time.monotonic() - self._counts[0] > self.catalog_every_s:
                try:
                    self._counts = (time.monotonic(), self.catalog())
                except (MediaError, OSError) as exc:  # unmounted, damaged: no samples, said
                    log.warning("metrics: the catalog cannot be read: %s", exc)
                    return
            counts = self._counts[1]
        assets = GaugeMetricFamily("mediapipe_assets", "Assets in the catalog by state (online, "
                                   "offline; failed: online with a failed step)",
                                   labels=["state"])
        for state, n in sorted(counts.by_state.items()):
            assets.add_metric([state], n)
        yield assets
        steps = GaugeMetricFamily("mediapipe_step_assets", "Online assets by step and that "
                                  "step's state in the catalog", labels=["step", "state"])
        for (step, state), n in sorted(counts.by_step.items()):
            steps.add_metric([step, state], n)
        yield steps


def _storage(root: Path) -> Iterator[Metric]:
    from mediapipe.library import storage

    free = GaugeMetricFamily("mediapipe_storage_free_bytes",
                             "Bytes free to unprivileged users in each media-root folder",
                             labels=["folder"])
    total = GaugeMetricFamily("mediapipe_storage_total_bytes",
                              "Size of the filesystem of each media-root folder",
                              labels=["folder"])
    for name in storage.FOLDERS:
        try:
            st = os.statvfs(root / name)
        except OSError:
            continue  # not there (not initialised, unmounted): no sample, not a zero
        free.add_metric([name], st.f_bavail * st.f_frsize)
        total.add_metric([name], st.f_blocks * st.f_frsize)
    yield free
    yield total


def registry(exporter: Exporter, *, multiprocess: bool = False) -> CollectorRegistry:
    """The registry to serve: the default one (with its ``process_*``, ``python_*``) and the
    exporter; for a prefork worker's parent, the children's aggregate and the parent's own
    process and platform collectors."""
    if not multiprocess:
        if exporter not in _registered:
            REGISTRY.register(exporter)
            _registered.append(exporter)
        return REGISTRY
    served = CollectorRegistry()
    MultiProcessCollector(served)
    ProcessCollector(registry=served)
    PlatformCollector(registry=served)
    served.register(exporter)
    return served


_registered: list[Exporter] = []


def serve(served: CollectorRegistry, port: int, address: str = "127.0.0.1") -> MetricsServer:
    """Serve ``served`` on ``address:port`` (``workers.serving``: one thread, connections
    capped, each request timed out); a port in use (or an address not of this machine) is one
    ``ConfigError`` naming them."""
    server = MetricsServer(lambda: generate_latest(served), port, address)
    server.start()
    return server


class _Ours:
    """Only the ``mediapipe_*`` families of a registry (a textfile must not repeat
    node_exporter's own ``process_*``), and no library's path."""

    def __init__(self, source: CollectorRegistry) -> None:
        self.source = source

    def collect(self) -> Iterator[Metric]:
        return (m for m in self.source.collect()
                if m.name.startswith(PREFIX) and m.name not in _NOT_IN_TEXTFILES)


# node_exporter serves a textfile on every interface, as a rule: no path goes there
_NOT_IN_TEXTFILES = frozenset({"mediapipe_library_info"})


def write_textfile(path: str | Path, source: Collector) -> None:
    """``source``'s ``mediapipe_*`` metrics into ``path`` for node_exporter's textfile
    collector: written beside it, then renamed over it (a scrape never reads half a file)."""
    out = CollectorRegistry()
    out.register(_Ours(source))  # type: ignore[arg-type]
    try:
        write_to_textfile(str(path), out)
    except OSError as exc:
        raise ConfigError("--metrics-textfile",
                          f"{path}: cannot write: {exc.strerror or exc}") from exc

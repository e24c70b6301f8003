"""The Celery runner: what ``mediapipe ingest --broker`` hands its pending assets to.

Owns: ``CeleryRunner``, a ``mediapipe.pipeline.local.Runner`` that sends the assets to the
workers through the broker (``dispatch.Run``) and yields their results as they come back.
The CLI picks it when a broker is given; the coordinator (``mediapipe.index.ingest``) only sees
a runner. ``on_status`` hears what the run waits for (the broker, after an outage): the CLI's
progress line shows it. ``BrokerUnreachable`` ends it when the broker stays away.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path

from mediapipe.config import Config
from mediapipe.pipeline.state import Asset, AssetResult
from mediapipe.pipeline.steps import PIPELINE, Pipeline
from workers.app import make_app
from workers.dispatch import Run, Status

__all__ = ["CeleryRunner", "new_run"]

log = logging.getLogger(__name__)


def new_run(root: Path, cfg: Config, *, force: bool = False, on_status: Status | None = None,
            pipeline: Pipeline = PIPELINE) -> Run:
    """A run of ``pipeline`` on an app made from ``cfg`` (its broker): submit assets, then
    read results."""
    return Run(make_app(cfg, pipeline), root, cfg, force=force, on_status=on_status)


@dataclasses.dataclass
class CeleryRunner:
    """Sends the assets to Celery workers in batches and yields their results as they come."""

    root: Path
    cfg: Config
    force: bool = False
    idle_timeout: float | None = None
    on_status: Status | None = None
    pipeline: Pipeline = PIPELINE

    def run(self, assets: Iterable[Asset]) -> Iterator[AssetResult]:
        run = new_run(self.root, self.cfg, force=self.force, on_status=self.on_status,
                      pipeline=self.pipeline)
        if not run.app.control.ping(timeout=1.0):
            log.warning("no worker answered on %s: the assets wait in the queue until one "
                        "starts (mediapipe worker --broker ...)", self.cfg.broker_url)
        run.submit(assets)
        yield from run.results(idle_timeout=self.idle_timeout)

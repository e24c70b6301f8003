"""The Celery runner: what ``mediapipe ingest --broker`` hands its pending assets to.

Owns: ``CeleryRunner``, a ``mediapipe.pipeline.local.Runner`` that sends the assets to the
workers through the broker (``dispatch.Run``) and yields their results as they come back.
The CLI picks it when a broker is given; the coordinator (``mediapipe.index.ingest``) only sees
a runner. ``on_status`` hears what the run waits for (the broker, after an outage): the CLI's
progress line shows it, as it shows assets waiting in a queue no worker serves (said within
seconds; ``Unserved`` ends the run after ``unserved_deadline``, the assets left pending).
``BrokerUnreachable`` ends it when the broker stays away.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from pathlib import Path

from mediapipe.config import Config
from mediapipe.pipeline.state import Asset, AssetResult
from mediapipe.pipeline.steps import PIPELINE, Pipeline
from mediapipe.workers.app import make_app
from mediapipe.workers.dispatch import Run, Status

__all__ = ["UNSERVED_DEADLINE_S", "CeleryRunner", "new_run"]

UNSERVED_DEADLINE_S = 600.0  # how long assets may wait where no worker serves (ingest's default)


def new_run(root: Path, cfg: Config, *, on_status: Status | None = None,
            unserved_deadline: float | None = None, pipeline: Pipeline = PIPELINE) -> Run:
    """A run of ``pipeline`` on an app made from ``cfg`` (its broker): submit assets (each
    remade where its ``Asset.remake`` says so), then read results."""
    return Run(make_app(cfg, pipeline), root, cfg, on_status=on_status,
               unserved_deadline=unserved_deadline)


@dataclasses.dataclass
class CeleryRunner:
    """Sends the assets to Celery workers in batches and yields their results as they come."""

    root: Path
    cfg: Config
    idle_timeout: float | None = None
    on_status: Status | None = None
    unserved_deadline: float | None = UNSERVED_DEADLINE_S
    pipeline: Pipeline = PIPELINE

    def run(self, assets: Iterable[Asset]) -> Iterator[AssetResult]:
        run = new_run(self.root, self.cfg, on_status=self.on_status,
                      unserved_deadline=self.unserved_deadline, pipeline=self.pipeline)
        run.submit(assets)
        yield from run.results(idle_timeout=self.idle_timeout)

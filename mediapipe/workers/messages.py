"""The messages of a Celery run, as values: what a task is sent and what a worker reports.

Owns: ``StepMessage`` (one asset's next step: the run it belongs to, the key of the run's
config in the broker, the ``AssetState`` so far), ``Batch`` (one ``dispatch_batch`` message:
what every asset of the run shares and up to ``dispatch.BATCH_SIZE`` ``Asset``s) and the one
wire form of each: a task's single argument (``to_dict``/``from_dict``: Celery's JSON
serializer carries it), the text a worker pushes onto the run's results list
(``result_text``/``result_of``), and ``asset_ids``, which of a run's assets a message as
kombu keeps it carries (read without decoding its state: the coordinator scans queues with
it). Does not own: sending or reading them (``tasks``, ``dispatch``, ``inflight``).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping
from typing import Any

from mediapipe.pipeline.state import Asset, AssetResult, AssetState

__all__ = ["Batch", "StepMessage", "asset_ids", "result_of", "result_text"]


@dataclasses.dataclass(frozen=True)
class StepMessage:
    """One asset's next step, as its task is sent it. No ``run_id``: no coordinator listens
    (the result is not reported)."""

    run_id: str | None
    config_key: str
    state: AssetState

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "config_key": self.config_key,
                "state": self.state.to_dict()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> StepMessage:
        return cls(d.get("run_id"), d["config_key"], AssetState.from_dict(d["state"]))


@dataclasses.dataclass(frozen=True)
class Batch:
    """One ``dispatch_batch`` message: the run, its config key, its media root and its assets
    (each says whether its outputs are remade)."""

    run_id: str
    config_key: str
    root: str
    assets: tuple[Asset, ...]

    def messages(self) -> Iterator[StepMessage]:
        """Each asset's message for its first step."""
        for asset in self.assets:
            yield StepMessage(self.run_id, self.config_key,
                              asset.state(self.root))

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "config_key": self.config_key, "root": self.root,
                "assets": [a.to_dict() for a in self.assets]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Batch:
        return cls(d["run_id"], d["config_key"], d["root"],
                   tuple(map(Asset.from_dict, d["assets"])))


def asset_ids(message: Mapping[str, Any], run_id: str) -> list[str]:
    """The ids of the assets of ``run_id`` that a task's argument (either message) carries."""
    if message.get("run_id") != run_id:
        return []
    if "assets" in message:  # a Batch
        return [str(asset["asset_id"]) for asset in message["assets"]]
    return [str(message["state"]["asset_id"])]


def result_text(result: AssetResult) -> str:
    """A finished asset as a worker pushes it onto the run's results list."""
    return json.dumps(result.to_dict())


def result_of(text: str | bytes) -> AssetResult:
    return AssetResult.from_dict(json.loads(text))

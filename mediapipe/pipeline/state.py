"""What travels through the pipeline: one asset's state between steps, and what each step did.

Owns: ``Asset`` (what a coordinator hands a runner: the source, its id, the steps due, the
file the scan saw there, whether it must be remade), ``AssetState`` (the serialisable state a
step reads and returns: the source, its media root, the metadata once read, and the outcomes so
far), ``StageOutcome`` (one step's outcome, its error an ``errors.ErrorRecord``, what it found
out a ``StepFacts``),
``AssetResult`` (the finished account the coordinator records) and ``Status``. Every value here
round-trips through JSON (``to_dict``/``from_dict``), so the same value crosses a Celery
message or stays in one process. Does not own: the steps (``steps``) or running them
(``drive``).
"""

from __future__ import annotations

import dataclasses
import enum
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mediapipe.errors import ErrorRecord
from mediapipe.metadata.model import MediaInfo
from mediapipe.sources import Identity

__all__ = ["Asset", "AssetResult", "AssetState", "StageOutcome", "Status", "StepFacts"]


def _identity(value: Sequence[int] | None) -> Identity | None:
    return None if value is None else (int(value[0]), int(value[1]))


@dataclasses.dataclass(frozen=True)
class Asset:
    """One asset handed to a runner: where it is, its id, the steps due (the catalog's pending
    ones; None: every step), the file the scan saw there (device, inode), and whether its
    outputs must be remade (new content the outputs' stamps cannot tell)."""

    source: str
    asset_id: str
    todo: tuple[str, ...] | None = None
    identity: Identity | None = None
    remake: bool = False

    def state(self, root: str | os.PathLike[str]) -> AssetState:
        """The state its first step starts from."""
        return AssetState.start(self.source, self.asset_id, root, remake=self.remake,
                                todo=self.todo, identity=self.identity)

    def to_dict(self) -> dict[str, Any]:
        # Source paths whose bytes are not UTF-8 travel as surrogate escapes (os.fsdecode).
        return {"source": self.source, "asset_id": self.asset_id,
                "todo": None if self.todo is None else list(self.todo),
                "identity": None if self.identity is None else list(self.identity),
                "remake": self.remake}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Asset:
        return cls(d["source"], d["asset_id"],
                   None if d.get("todo") is None else tuple(d["todo"]),
                   _identity(d.get("identity")), bool(d.get("remake")))


class Status(enum.StrEnum):
    DONE = "done"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclasses.dataclass(frozen=True)
class StepFacts:
    """What a step found out beside its outputs, for the catalog (``index.schema.FACTS``) and
    for the steps after it: the ThumbHash, the asset id of the video it linked (a motion
    photo's), the warnings of what it made despite a problem, and ``waits_for``, the step whose
    transient failure skipped it (it is then left pending, not skipped)."""

    thumbhash: str | None = None
    linked_video: str | None = None
    warnings: tuple[str, ...] = ()
    waits_for: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The facts it has (none of the empty ones: most steps find out nothing)."""
        d = {"thumbhash": self.thumbhash, "linked_video": self.linked_video,
             "warnings": list(self.warnings), "waits_for": self.waits_for}
        return {k: v for k, v in d.items() if v}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> StepFacts:
        return cls(d.get("thumbhash"), d.get("linked_video"), tuple(d.get("warnings", ())),
                   d.get("waits_for"))


@dataclasses.dataclass(frozen=True)
class StageOutcome:
    status: Status
    outputs: tuple[str, ...] = ()
    error: ErrorRecord | None = None
    encoder: str | None = None
    note: str = ""
    facts: StepFacts = StepFacts()
    duration_s: float = 0.0
    bytes_written: int = 0

    @property
    def transient(self) -> bool:
        """Failed for a reason a later try may not meet (``MediaError.transient``)."""
        return self.status is Status.FAILED and self.error is not None \
            and self.error.transient

    def to_dict(self) -> dict[str, Any]:
        return {"status": str(self.status), "outputs": list(self.outputs),
                "error": self.error.to_dict() if self.error else None,
                "encoder": self.encoder, "note": self.note, "facts": self.facts.to_dict(),
                "duration_s": self.duration_s, "bytes_written": self.bytes_written}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> StageOutcome:
        return cls(Status(d["status"]), tuple(d["outputs"]),
                   ErrorRecord.from_dict(d["error"]) if d.get("error") else None,
                   d.get("encoder"), d.get("note", ""), StepFacts.from_dict(d.get("facts", {})),
                   d.get("duration_s", 0.0), d.get("bytes_written", 0))


@dataclasses.dataclass(frozen=True)
class AssetResult:
    asset_id: str
    source: str
    kind: str | None
    stages: Mapping[str, StageOutcome]
    info: MediaInfo | None = None  # what the metadata step read (None: it did not run, or failed)

    @property
    def error(self) -> ErrorRecord | None:
        """The first stage error, if any."""
        return next((s.error for s in self.stages.values() if s.error), None)

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        return {"asset_id": self.asset_id, "source": self.source, "kind": self.kind,
                "stages": {k: v.to_dict() for k, v in self.stages.items()},
                "info": self.info.to_dict() if self.info else None,
                "error": self.error.to_dict() if self.error else None}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AssetResult:
        return cls(d["asset_id"], d["source"], d["kind"],
                   {k: StageOutcome.from_dict(v) for k, v in d["stages"].items()},
                   MediaInfo.from_dict(d["info"]) if d.get("info") else None)


@dataclasses.dataclass(frozen=True)
class AssetState:
    """One asset on its way through the steps: where it is, what is known, what was done."""

    source: str
    asset_id: str
    root: str
    remake: bool = False  # outputs made again, even those made from the source as it is
    info: MediaInfo | None = None
    stages: Mapping[str, StageOutcome] = dataclasses.field(default_factory=dict)
    # The steps due (the catalog's pending ones); None: all. Steps they need run too; the
    # others are left as the catalog has them (done in an earlier run, or failed for good).
    todo: tuple[str, ...] | None = None
    identity: Identity | None = None  # the file the scan saw (device, inode): none other is read

    @classmethod
    def start(cls, source: str | os.PathLike[str], asset_id: str, root: str | os.PathLike[str],
              *, remake: bool = False, todo: Sequence[str] | None = None,
              identity: Identity | None = None) -> AssetState:
        return cls(os.fsdecode(source), asset_id, os.fsdecode(root), remake,
                   todo=None if todo is None else tuple(todo),
                   identity=None if identity is None else (identity[0], identity[1]))

    @property
    def source_path(self) -> Path:
        return Path(self.source)

    @property
    def root_path(self) -> Path:
        return Path(self.root)

    @property
    def kind(self) -> str | None:
        """The kind the metadata step found (None before it ran, or when it failed)."""
        return str(self.info.kind) if self.info else None

    def with_outcome(self, name: str, outcome: StageOutcome) -> AssetState:
        return dataclasses.replace(self, stages={**self.stages, name: outcome})

    def result(self) -> AssetResult:
        """The account the coordinator records: every outcome, and the metadata once."""
        return AssetResult(self.asset_id, self.source, self.kind, dict(self.stages), self.info)

    def to_dict(self) -> dict[str, Any]:
        # Source paths whose bytes are not UTF-8 travel as surrogate escapes (os.fsdecode).
        return {"source": self.source, "asset_id": self.asset_id, "root": self.root,
                "remake": self.remake, "info": self.info.to_dict() if self.info else None,
                "stages": {k: v.to_dict() for k, v in self.stages.items()},
                "todo": None if self.todo is None else list(self.todo),
                "identity": None if self.identity is None else list(self.identity)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AssetState:
        return cls(d["source"], d["asset_id"], d["root"], bool(d.get("remake")),
                   MediaInfo.from_dict(d["info"]) if d.get("info") else None,
                   {k: StageOutcome.from_dict(v) for k, v in d.get("stages", {}).items()},
                   None if d.get("todo") is None else tuple(d["todo"]),
                   _identity(d.get("identity")))

"""The pipeline as a value: its steps, declared once as data, and the rules read off them.

Owns: ``Step`` (a name, the queue a worker serves it on, the ``Budget`` whose time limit it
runs under, the kinds of asset it applies to and a finer ``when``, the steps it needs, every
output it makes (``outputs``: made from the source as it is now, they mean "already done"),
what it provides to the catalog (``provides``: ``"metadata"`` for the step whose ``MediaInfo``
the catalog keeps), whether it may decline (nothing to make: a video that plays as is), and its
function over an ``AssetState`` and the held ``Source``); ``Pipeline`` (the ordered steps, their
queues and GPU queue; the walk ``next_step``/``is_due``; ``missing_outputs``, the one
rule ``ingest --missing`` and ``catalog check`` share); and ``PIPELINE``, the product's. Every
driver is handed a ``Pipeline``: the in-process one (``drive.process_asset``,
``local.LocalRunner``), the Celery one (``workers.app.make_app``), the catalog's schema and the
CLI. Adding a step, a queue or an output is one declaration here (or in a ``Pipeline`` of a
test's own). Each step function is the only place that composes its stage with storage (a
transcode through ``transcoding.transcode_to``; the thumbnails written as the stage's
``output_formats`` table declares them); it may raise, and the driver turns any exception into a
failed ``StageOutcome``. Does not own: skip rules common to every step and error containment
(``drive``).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from pathlib import Path

from mediapipe.config import Config
from mediapipe.library import storage
from mediapipe.pipeline import motion
from mediapipe.pipeline.state import AssetState, StageOutcome, Status, StepFacts
from mediapipe.pipeline.transcoding import transcode_to
from mediapipe.sources import Source

__all__ = ["IMAGE_BUDGET", "PIPELINE", "VIDEO_BUDGET", "Budget", "Pipeline", "Progress", "Step"]

log = logging.getLogger(__name__)
Progress = Callable[[float], None]
StepFunction = Callable[[AssetState, Source, Config, "Progress | None"],
                        tuple[StageOutcome, AssetState]]
Outputs = Callable[[AssetState, Config], Sequence[Path]]

ALL_KINDS = frozenset({"image", "video"})


@dataclasses.dataclass(frozen=True)
class Budget:
    """A time-limit budget a step runs under: the worker setting that sets its hard limit
    (``worker.<setting>``) and the margin its soft limit leaves to clean up."""

    name: str
    setting: str  # the setting's Immich-style name, for messages
    field: str  # the ``WorkerConfig`` attribute
    soft_margin_s: int

    def limit(self, cfg: Config) -> int:
        """The hard time limit (s) of a step under this budget, by ``cfg``'s worker settings."""
        return int(getattr(cfg.worker, self.field))

    def soft_limit(self, cfg: Config) -> int:
        return max(1, self.limit(cfg) - self.soft_margin_s)


IMAGE_BUDGET = Budget("image", "worker.imageTimeLimit", "image_time_limit", 10)
VIDEO_BUDGET = Budget("video", "worker.videoTimeLimit", "video_time_limit", 30)


@dataclasses.dataclass(frozen=True)
class Step:
    """One step of the pipeline. ``run`` returns its outcome and the (possibly enriched) state."""

    name: str
    run: StepFunction
    queue: str
    budget: Budget = IMAGE_BUDGET
    kinds: frozenset[str] = ALL_KINDS  # the kinds of asset it applies to (the catalog knows)
    when: Callable[[AssetState], bool] | None = None  # a finer test, once metadata is known
    when_not: str = ""  # the note when ``when`` says no
    needs: tuple[str, ...] = ("metadata",)  # a failure of one of these skips this step
    outputs: Outputs | None = None  # every file it makes: fresh ones mean done
    provides: frozenset[str] = frozenset()  # what the catalog keeps of it ("metadata")
    reads_sidecar: bool = False  # an XMP sidecar appearing or changing makes it due again
    declines: bool = False  # may itself decide there is nothing to make (skipped, no outputs)
    # Loads what its work needs (modules, an engine's probe) in a process about to fork its
    # pool: each pool process then starts ready instead of importing on its first asset.
    warm: Callable[[], object] | None = None

    def __post_init__(self) -> None:
        if not self.name.isidentifier():  # it names a catalog column and a task
            raise ValueError(f"step name {self.name!r} is not an identifier")

    def applies(self, state: AssetState) -> bool:
        """False when the asset's kind is known and not one of ``kinds``, or ``when`` says no."""
        if state.kind is None:
            return True
        return state.kind in self.kinds and (self.when is None or self.when(state))

    def not_applicable(self, state: AssetState) -> str:
        """Why it does not apply to this asset (the skipped outcome's note)."""
        if state.kind in self.kinds:
            return self.when_not
        return "not " + " or ".join(f"a {k}" if k[0] not in "aeiou" else f"an {k}"
                                    for k in sorted(self.kinds))

    def made(self, kind: str | None, states: Mapping[str, str]) -> bool:
        """Whether this step made (or found made) its outputs, by the states recorded of an
        asset of ``kind``: done, or ``skipped`` where it stands for done (a step that cannot
        decline on its own, skipped though it applies and its needed steps are done: what an
        older mediapipe recorded for outputs it found)."""
        have = states.get(self.name)
        if have == "done":
            return True
        return (have == "skipped" and not self.declines and str(kind) in self.kinds
                and all(states.get(n) == "done" for n in self.needs))


@dataclasses.dataclass(frozen=True)
class Pipeline:
    """The steps in order and what follows from them: their queues, the GPU queue."""

    steps: tuple[Step, ...]
    gpu_queue: str = "video"  # the queue GPU machines serve (their concurrency: NVENC sessions)

    def __post_init__(self) -> None:
        names = [s.name for s in self.steps]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"a pipeline needs steps with distinct names: {names}")
        if sum("metadata" in s.provides for s in self.steps) != 1:
            raise ValueError("exactly one step provides the metadata")

    def __iter__(self) -> Iterator[Step]:
        return iter(self.steps)

    def add(self, *steps: Step) -> Pipeline:
        """This pipeline with ``steps`` appended (a test's, or a plugin's)."""
        return dataclasses.replace(self, steps=(*self.steps, *steps))

    @functools.cached_property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.steps)

    @functools.cached_property
    def queues(self) -> tuple[str, ...]:
        """Every queue a step is served on, in pipeline order (the first: where runs start)."""
        return tuple(dict.fromkeys(s.queue for s in self.steps))

    @functools.cached_property
    def metadata_step(self) -> Step:
        """The step whose ``MediaInfo`` every later one reads and the catalog keeps."""
        return next(s for s in self.steps if "metadata" in s.provides)

    def warm(self, queues: Collection[str] | None = None) -> None:
        """Load what the steps served on ``queues`` (None: every step) need, before forking
        (``LocalRunner``; a Celery worker's parent, ``workers.app``)."""
        for step in self.steps:
            if step.warm is not None and (queues is None or step.queue in queues):
                step.warm()

    def by_name(self, name: str) -> Step:
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(f"no pipeline step named {name!r}")

    def next_step(self, after: str | None) -> Step | None:
        """The step that follows the one named ``after`` (the first when None)."""
        index = 0 if after is None else self.names.index(after) + 1
        return self.steps[index] if index < len(self.steps) else None

    def is_due(self, step: Step, state: AssetState) -> bool:
        """Whether ``step`` runs for this asset: it is in ``state.todo`` (None: every step), or
        a step due later needs it (thumbnails due needs this run's metadata)."""
        if state.todo is None or step.name in state.todo:
            return True
        return any(step.name in s.needs for s in self.steps if s.name in state.todo)

    def first_due(self, state: AssetState) -> Step | None:
        return next((s for s in self.steps if self.is_due(s, state)), None)

    def missing_outputs(self, state: AssetState, kind: str | None, states: Mapping[str, str],
                        cfg: Config) -> Iterator[tuple[Step, Path]]:
        """Each output that is not on disk of each step that made its outputs (``Step.made``)
        for an asset (its ``state`` names it; ``states``: what the catalog recorded of it).
        The one rule of ``ingest --missing`` and ``catalog check``."""
        for step in self.steps:
            if step.outputs is None or not step.made(kind, states):
                continue
            for path in step.outputs(state, cfg):
                if not path.exists():
                    yield step, path


def _elapsed(started: float) -> float:
    return time.perf_counter() - started


def read(state: AssetState, source: Source, cfg: Config,
         _: Progress | None) -> tuple[StageOutcome, AssetState]:
    """Read the source's metadata (always: it is cheap and has no output on disk)."""
    from mediapipe.metadata.daterules import ReadOptions
    from mediapipe.metadata.read import read_metadata

    started = time.perf_counter()
    info = read_metadata(source, options=ReadOptions.of(cfg))
    return (StageOutcome(Status.DONE, duration_s=_elapsed(started)),
            dataclasses.replace(state, info=info))


def _load_readers() -> object:
    from mediapipe import imaging
    from mediapipe.metadata import places, read, zones

    imaging.load_codecs()
    zones.load()
    places.load()
    return read


def _load_engine() -> object:
    """The codecs and the default engine (``image.engine = "auto"``; a run set to ``pillow``
    uses what it wraps)."""
    from mediapipe import imaging
    from mediapipe.thumbnails.make import default_engine

    imaging.load_codecs()
    return default_engine()


def _derived(state: AssetState, cfg: Config, kind: storage.Derived, ext: str) -> Path:
    return storage.derived_path(state.root_path, cfg.owner_id, state.asset_id, kind, ext)


def thumbnail_outputs(state: AssetState, cfg: Config) -> list[Path]:
    """Every file the thumbnails step makes of this asset (``output_formats``, the stage's
    table of what it makes), at Immich's path for each."""
    from mediapipe.thumbnails.make import output_formats

    return [_derived(state, cfg, kind, fmt)
            for kind, fmt in output_formats(state.info, cfg).items()]


def thumbnails(state: AssetState, source: Source, cfg: Config,
               _: Progress | None) -> tuple[StageOutcome, AssetState]:
    """Write the preview and thumbnail (and the full size where asked)."""
    from mediapipe.thumbnails.make import make_thumbnails

    assert state.info is not None  # ``needs`` metadata
    started = time.perf_counter()
    thumbs = make_thumbnails(source, state.info, cfg)
    files = {_derived(state, cfg, kind, made.format): made.data
             for kind, made in thumbs.outputs().items()}
    for target, data in files.items():
        storage.atomic_write(target, data, modes=storage.Modes.of(cfg))
    # made despite a problem (a damaged JPEG): the asset says so
    facts = StepFacts(thumbhash=thumbs.thumbhash, warnings=tuple(thumbs.warnings))
    return StageOutcome(Status.DONE, tuple(map(str, files)), note="; ".join(thumbs.warnings),
                        facts=facts,
                        duration_s=_elapsed(started),
                        bytes_written=sum(map(len, files.values()))), state


def encoded_video(state: AssetState, cfg: Config) -> list[Path]:
    return [_derived(state, cfg, storage.Derived.ENCODED_VIDEO, "mp4")]


def transcode(state: AssetState, source: Source, cfg: Config,
              progress: Progress | None) -> tuple[StageOutcome, AssetState]:
    """Transcode the video when the policy asks for it, down the accelerator fallback chain."""
    from mediapipe.transcode import plan as policy

    assert state.info is not None  # ``needs`` metadata
    started = time.perf_counter()
    plan = policy.plan_transcode(state.info, cfg)
    if plan.decision == "none":
        return StageOutcome(Status.SKIPPED, note="plays as it is: " + "; ".join(plan.reasons)), \
            state
    [target] = encoded_video(state, cfg)
    result = transcode_to(plan, source, target, modes=storage.Modes.of(cfg),
                          progress=progress)
    note = "; ".join(f"{accel} skipped: {why}" for accel, why in result.skipped)
    fell_back = cfg.ffmpeg.accel != "disabled" and result.accel == "software" \
        and plan.encodes_video  # a warning in the log and in `ls`
    if fell_back:
        log.warning("%s: encoded in software, not %s (%s)", state.source_path,
                    cfg.ffmpeg.accel, note)
    return StageOutcome(Status.DONE, (str(target),), encoder=result.encoder, note=note,
                        facts=StepFacts(warnings=(f"encoded in software, not "
                                                  f"{cfg.ffmpeg.accel}: {note}",)
                                        if fell_back else ()),
                        duration_s=_elapsed(started), bytes_written=result.size), state


PIPELINE = Pipeline((
    Step("metadata", read, queue="metadata", needs=(), provides=frozenset({"metadata"}),
         reads_sidecar=True, warm=_load_readers),
    Step("thumbnails", thumbnails, queue="thumbnails", outputs=thumbnail_outputs,
         warm=_load_engine),
    Step("video", transcode, queue="video", budget=VIDEO_BUDGET, kinds=frozenset({"video"}),
         outputs=encoded_video, declines=True),
    Step("motion", motion.extract, queue="video", budget=VIDEO_BUDGET,
         kinds=frozenset({"image"}), when=motion.applies, when_not="not a motion photo",
         outputs=motion.outputs, declines=True),
), gpu_queue="video")
"""The product's pipeline: metadata, thumbnails, the transcode, a motion photo's video."""

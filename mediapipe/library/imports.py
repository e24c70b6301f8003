"""Importing originals into ``library/<owner>/`` by the storage template, and migrating them.

Owns: finding the media files (and their XMP sidecars) among the sources, giving each import its
asset id (UUIDv5 of the content's sha1), building the ``TemplateContext`` from its ``MediaInfo``,
and driving ``placement.place_file`` file by file; ``migrate`` re-renders every file already in the
owner's folder after a template change and removes the folders it emptied. With
``storageTemplate.enabled`` off (Immich's default) an import keeps Immich's upload layout,
``<id[0:2]>/<id[2:4]>/<id>.<ext>``, and ``migrate`` refuses (``ConfigError``), as Immich skips its
template migration while the template is disabled. Does not own: reading
metadata (the ``reader`` passed in; the CLI passes ``metadata.read_metadata``), rendering
(``template``) or the bytes on disk (``storage``).

Each source is held while it is hashed and read, as a step holds its source (``sources.held``):
one that is not a regular file (a FIFO, a device, a socket) is ``Unreadable`` at once, never
waited on, and the rest of the run goes on.

Crash safety comes from ``place_file``: every step is repeatable, so a re-run after a kill
finds each half-done file (its copy already in place, same sha1) and finishes it.

Names: the name a file had when it was imported is recorded in ``<media root>/names-<owner>.jsonl``
beside the catalog (one JSON line per asset id, appended and fsynced before the file is placed;
opened by ``storage.open_own``, never through a link), and
``migrate`` renders ``{{filename}}`` from it, never from the current name:
``{{filetype}}_{{filename}}`` stays ``IMG_x.jpg`` however often it runs. A file an older mediapipe
(or Immich) placed gets its current name recorded at its first migrate. This ledger is also
migrate's journal: a killed migrate's next run renders every file to the same place and finishes the
half-done ones, and removes every folder left empty below the owner's folder, whichever run emptied
it.

Entry points: ``import_files``, ``migrate``, ``ImportReport``, ``upload_layout``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from mediapipe import sources
from mediapipe.config import Config
from mediapipe.errors import (
    ConfigError,
    MediaError,
    StorageOffline,
    UnsupportedMedia,
    from_os_error,
)
from mediapipe.formats import Kind, find_sidecar, kind_of, supported
from mediapipe.identity import asset_id_for_content
from mediapipe.library import placement, storage, temps
from mediapipe.library.placement import PlaceAction, Placement
from mediapipe.metadata.model import MediaInfo
from mediapipe.sources import Source
from mediapipe.template import TemplateContext, compile_template

__all__ = ["ImportReport", "import_files", "migrate", "upload_layout"]

Reader = Callable[[Source], MediaInfo]  # read_metadata, given the held source
Layout = Callable[[TemplateContext], PurePosixPath]  # an asset's path inside library/<owner>/
_ASSET_ID_NAME = compile_template("{{assetId}}")  # <id>.<ext>, extension as templates write it

@dataclasses.dataclass(frozen=True)
class ImportReport:
    """What an import or migrate did (or, with ``dry_run``, would do), file by file."""

    placements: tuple[Placement, ...]
    failed: tuple[MediaError, ...]
    dry_run: bool
    removed_folders: tuple[Path, ...] = ()

    def count(self, action: PlaceAction) -> int:
        return sum(1 for p in self.placements if p.action is action)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "placed": [{"source": str(p.source), "target": str(p.target),
                        "action": p.action.value,
                        "sidecar": str(p.sidecar_target) if p.sidecar_target else None}
                       for p in self.placements],
            "failed": [e.to_dict() for e in self.failed],
            "removed_folders": [str(f) for f in self.removed_folders],
            "counts": {a.value: self.count(a) for a in PlaceAction} | {"failed": len(self.failed)},
        }


def _owner_folder(root: Path, cfg: Config) -> Path:
    folder = Path(root).absolute() / "library" / cfg.owner_id
    storage.require_marker(folder / "probe")  # refuse before any read or write
    return folder


def _walk(folder: Path) -> Iterator[Path]:
    for dirpath, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith(".") and supported(name):
                yield Path(dirpath, name)


def _media_files(sources: Iterable[Path]) -> Iterator[Path | MediaError]:
    for source in sources:
        source = Path(source).absolute()
        if source.is_dir():
            yield from _walk(source)
        elif supported(source):
            yield source
        elif kind_of(source) is not Kind.SIDECAR:  # sidecars travel with their media
            yield UnsupportedMedia(source, "not an image or video mediapipe imports")


def upload_layout(ctx: TemplateContext) -> PurePosixPath:
    """Immich's layout for originals when the storage template is off: ``ab/cd/abcd….jpg``."""
    return PurePosixPath(ctx.asset_id[0:2], ctx.asset_id[2:4]) / _ASSET_ID_NAME.render(ctx)


def _layout(cfg: Config) -> Layout:
    if cfg.storage_template.enabled:
        return compile_template(cfg.storage_template.template).render
    return upload_layout


def _context(path: Path, info: MediaInfo, asset_id: str, mtime: float) -> TemplateContext:
    taken = info.taken_at or datetime.fromtimestamp(mtime).astimezone()
    return TemplateContext(filename=path.name, taken_at=taken, asset_id=asset_id,
                           kind=info.kind, make=info.make, model=info.model,
                           lens_model=info.lens_model)


NAMES = "names-{owner}.jsonl"  # in the media root, beside catalog.db


class _Names:
    """The name each asset had at import (``NAMES``, JSON lines), loaded once per run."""

    def __init__(self, owner: Path, dry_run: bool) -> None:
        self.path = owner.parent.parent / NAMES.format(owner=owner.name)
        self.dry_run = dry_run
        self.known: dict[str, str] = {}
        with contextlib.suppress(FileNotFoundError), \
                os.fdopen(storage.open_own(self.path, os.O_RDONLY), "rb") as fh:
            for line in fh:
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    entry = json.loads(line)
                    self.known.setdefault(entry["id"], entry["name"])

    def name(self, asset_id: str, current: str) -> str:
        """The recorded name, or ``current`` recorded as it (fsynced before any move)."""
        if asset_id not in self.known:
            self.known[asset_id] = current
            if not self.dry_run:
                line = json.dumps({"id": asset_id, "name": current}, ensure_ascii=False,
                                  default=str) + "\n"
                self.path.parent.mkdir(parents=True, exist_ok=True)
                flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT  # never through a link
                try:
                    with os.fdopen(storage.open_own(self.path, flags), "ab") as fh:
                        fh.write(line.encode("utf-8", "surrogateescape"))
                        fh.flush()
                        os.fsync(fh.fileno())
                except OSError as exc:  # a full disk is StorageOffline: the run stops
                    raise from_os_error(self.path, exc, writing=True) from exc
        return self.known[asset_id]


@dataclasses.dataclass
class _Run:
    """The state of one import or migrate run (folders swept, places planned)."""

    owner: Path
    layout: Layout
    reader: Reader
    verify: bool
    dry_run: bool
    names: _Names
    modes: storage.Modes  # the folders made for the originals get ``storage.folderMode``
    swept: set[Path] = dataclasses.field(default_factory=set)
    planned: set[Path] = dataclasses.field(default_factory=set)

    def place(self, path: Path, *, move: bool) -> Placement:
        # held as a step holds its source: a FIFO, device or socket is refused at once
        # (``Unreadable``), never waited on; the hash and the reader read the file held
        with sources.held(path) as source:
            try:
                sha1 = placement.file_sha1(source.name)
            except OSError as exc:
                raise MediaError(path, f"cannot read: {exc.strerror}") from exc
            info = self.reader(source)
            mtime = source.stat().st_mtime
        asset_id = asset_id_for_content(sha1)
        name = Path(self.names.name(asset_id, path.name))
        rel = self.layout(_context(name, info, asset_id, mtime))
        target = self.owner / rel
        if not self.dry_run and target.parent not in self.swept and target.parent.is_dir():
            temps.sweep_temp(target.parent)  # what a killed run left behind
            self.swept.add(target.parent)
        placed = placement.place_file(
            path, target, inside=self.owner, move=move, sha1=sha1, sidecar=find_sidecar(path),
            verify=self.verify, dry_run=self.dry_run, reserved=self.planned, modes=self.modes)
        if self.dry_run:
            self.planned.add(placed.target)
        return placed


def _start(root: Path, cfg: Config, reader: Reader, dry_run: bool) -> _Run:
    owner = _owner_folder(root, cfg)
    return _Run(owner, _layout(cfg), reader, cfg.storage_template.hash_verification_enabled,
                dry_run, _Names(owner, dry_run), storage.Modes.of(cfg))


def import_files(sources: Iterable[Path], root: Path, cfg: Config, *, move: bool = False,
                 dry_run: bool = False, reader: Reader) -> ImportReport:
    """Place every image and video found in ``sources`` (files or folders) in the library.

    Each goes to ``library/<owner>/<rendered template>`` (with the template disabled, to
    ``library/<owner>/<upload layout>``) with its XMP sidecar; copies unless
    ``move``. A file whose place already holds the same bytes counts as placed (and, with
    ``move``, its source is removed), so re-running after a crash finishes the job. Per-file
    problems are reported and the rest carry on; ``StorageOffline`` stops the run.
    """
    run = _start(root, cfg, reader, dry_run)
    placements: list[Placement] = []
    failed: list[MediaError] = []
    for item in _media_files(sources):
        if isinstance(item, MediaError):
            failed.append(item)
            continue
        try:
            placements.append(run.place(item, move=move))
        except StorageOffline:
            raise
        except MediaError as exc:
            failed.append(exc)
    return ImportReport(tuple(placements), tuple(failed), dry_run)


def migrate(root: Path, cfg: Config, *, dry_run: bool = False, reader: Reader) -> ImportReport:
    """Move every file in ``library/<owner>/`` to its place under the current template.

    Files already at their place (or one of its ``+N``) stay; folders left empty are removed.
    ``ConfigError`` while ``storageTemplate.enabled`` is off: there is no template to apply.
    """
    if not cfg.storage_template.enabled:
        raise ConfigError("storageTemplate.enabled", "is false, so there is no template to "
                          "migrate to (Immich skips its migration too); set it to true first")
    run = _start(root, cfg, reader, dry_run)
    placements: list[Placement] = []
    failed: list[MediaError] = []
    for path in list(_walk(run.owner)):
        try:
            placed = run.place(path, move=True)
        except StorageOffline:
            raise
        except MediaError as exc:
            failed.append(exc)
            continue
        placements.append(placed)
    removed = () if dry_run else _remove_emptied(run.owner, _folders(run.owner))
    return ImportReport(tuple(placements), tuple(failed), dry_run, removed)


def _folders(owner: Path) -> set[Path]:
    """Every folder below ``owner`` (the empty ones a killed migrate left are among them)."""
    return {Path(d) for d, _, _ in os.walk(owner)} - {owner}


def _remove_emptied(owner: Path, folders: set[Path]) -> tuple[Path, ...]:
    """Remove each folder (and then its parents) that is now empty, up to the owner's folder."""
    removed: list[Path] = []
    for folder in sorted(folders, key=lambda f: len(f.parts), reverse=True):
        while folder != owner and folder.is_relative_to(owner):
            try:
                folder.rmdir()
            except OSError:
                break  # not empty (or gone already): stop climbing
            removed.append(folder)
            folder = folder.parent
    return tuple(removed)

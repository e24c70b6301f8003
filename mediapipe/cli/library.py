"""``mediapipe init | verify | import | migrate``: the media root and the originals in it.

Owns: these commands' options, the folder report (``init``, ``verify``: exit 4 naming any folder
that is offline, 13 one that may not be written) and the placement report (``import``,
``migrate``: each bad source named on stderr, the others placed; exit with the failures'
shared code, else 1). ``import`` and ``migrate`` check first that ``library/`` is an
initialised, mounted media-root folder (``storage.require_root``), and hold the media root's
lock while they change it (``index.lock``). Does not own: markers,
temp sweeping or verified moves (``library.storage``), where a file goes (``library.imports``
and the storage template).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mediapipe.cli.context import (
    AppContext,
    emit_json,
    fail,
    json_option,
    media_root_option,
    pass_app,
    readable_source,
)
from mediapipe.errors import MediaError, StorageOffline, combined_exit_code
from mediapipe.index import lock
from mediapipe.library.placement import PlaceAction
from mediapipe.shown import shown

if TYPE_CHECKING:
    from mediapipe.config import Config
    from mediapipe.metadata.model import MediaInfo
    from mediapipe.sources import Source

__all__ = ["import_command", "init", "migrate", "verify"]


@click.command()
@click.argument("root", required=False, type=click.Path(readable=False))
@json_option
@pass_app
def init(app: AppContext, root: str | None, as_json: bool) -> None:
    """Create a media root: library/ thumbs/ encoded-video/ profile/, each with its marker."""
    from mediapipe.library import storage

    path = app.media_root(root, "pass ROOT")
    try:
        statuses = storage.init_root(path)
    except OSError as exc:  # the root itself cannot be made
        from mediapipe.errors import from_os_error

        raise from_os_error(path, exc, writing=True) from exc
    _report_folders(statuses, as_json)


@click.command()
@click.argument("root", required=False, type=click.Path(readable=False))
@json_option
@pass_app
def verify(app: AppContext, root: str | None, as_json: bool) -> None:
    """Read and rewrite every folder's .immich marker; fail naming any folder that is offline."""
    from mediapipe.library import storage, temps

    path = app.media_root(root, "pass ROOT")
    statuses = storage.verify_root(path)
    swept = sum(temps.sweep_temp(path / f, recursive=True) for f in storage.FOLDERS
                if storage.marked(path / f))
    _report_folders(statuses, as_json, swept=swept)


def _report_folders(statuses: list[Any], as_json: bool, swept: int | None = None) -> None:
    bad = [s for s in statuses if not s.ok]
    if as_json:
        data: dict[str, Any] = {"ok": not bad, "folders": [
            {"folder": s.folder, "path": str(s.path), "ok": s.ok, "problem": s.problem}
            for s in statuses]}
        if swept is not None:
            data["stale_temp_files_removed"] = swept
        emit_json(data)
    else:
        for s in statuses:
            click.echo(shown(f"{'ok ' if s.ok else 'BAD'} {s.folder:<14} {s.path}"
                             + (f"  {s.problem}" if s.problem else "")))
    if bad:
        names = ", ".join(s.folder for s in bad)
        code = combined_exit_code(s.exit_code or StorageOffline.exit_code for s in bad)
        raise click.exceptions.Exit(fail(f"media root {bad[0].path.parent} not ready: {names} "
                                         f"({bad[0].problem})", code))


@click.command("import")
@click.argument("sources", nargs=-1, required=True, type=click.Path(readable=False))
@media_root_option
@click.option("--move", is_flag=True, help="Remove each source once its copy is verified.")
@click.option("--dry-run", is_flag=True, help="Show where each file would go; change nothing.")
@json_option
@pass_app
def import_command(app: AppContext, sources: tuple[str, ...], media_root: str | None,
                   move: bool, dry_run: bool, as_json: bool) -> None:
    """Place originals (and their XMP sidecars) in library/<owner>/ by the storage template."""
    cfg, root = app.config, app.media_root(media_root)  # a bad template fails first
    from mediapipe.library import imports as importer
    from mediapipe.library import storage

    storage.require_root(root, ("library",))
    readable: list[Path] = []
    codes: list[int] = []
    for name in sources:
        try:
            readable.append(readable_source(name, folder_ok=True))
        except MediaError as exc:
            codes.append(fail(str(exc), exc.exit_code))
    with lock.hold(root) if not dry_run else contextlib.nullcontext():
        report = importer.import_files(readable, root, cfg, move=move, dry_run=dry_run,
                                       reader=_reader(cfg))
    _report_placements(report, as_json, codes=codes)


@click.command()
@media_root_option
@click.option("--dry-run", is_flag=True, help="Show what would move; change nothing.")
@json_option
@pass_app
def migrate(app: AppContext, media_root: str | None, dry_run: bool, as_json: bool) -> None:
    """Move every file in library/<owner>/ to its place under the current storage template."""
    cfg, root = app.config, app.media_root(media_root)
    from mediapipe.library import imports as importer
    from mediapipe.library import storage

    storage.require_root(root, ("library",))
    with lock.hold(root) if not dry_run else contextlib.nullcontext():
        report = importer.migrate(root, cfg, dry_run=dry_run, reader=_reader(cfg))
    _report_placements(report, as_json, only_changes=True)


def _reader(cfg: Config) -> Callable[[Source], MediaInfo]:
    """The metadata reader with the date rules and place names ``cfg`` asks for: the storage
    template places a photo by the date they give."""
    from mediapipe.metadata.daterules import ReadOptions
    from mediapipe.metadata.read import read_metadata

    return functools.partial(read_metadata, options=ReadOptions.of(cfg))


def _report_placements(report: Any, as_json: bool, only_changes: bool = False,
                       codes: list[int] | None = None) -> None:
    if as_json:
        emit_json(report.to_dict())
    else:
        for p in report.placements:
            if only_changes and p.action is PlaceAction.ALREADY_PLACED:
                continue
            verb = f"would be {p.action.value}" if report.dry_run else p.action.value
            click.echo(f"{verb:<20} {shown(str(p.source))} -> {shown(str(p.target))}")
        for f in report.removed_folders:
            click.echo(f"{'removed empty folder':<20} {shown(str(f))}")
        counts = report.to_dict()["counts"]
        click.echo(", ".join(f"{n} {k}" for k, n in counts.items())
                   + (" (dry run: nothing changed)" if report.dry_run else ""))
    codes = list(codes or [])
    for e in report.failed:
        codes.append(fail(str(e), e.exit_code))
    if code := combined_exit_code(codes):
        raise click.exceptions.Exit(code)

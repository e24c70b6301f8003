"""``mediapipe catalog check | rebuild``: whether the catalog is the truth, and a new one.

Owns: the commands' options and reports. ``check`` prints what is wrong (integrity, schema,
outputs of done steps gone) and exits 0 when nothing is, 11 (``CatalogError``) when the catalog
itself is damaged, 1 when only outputs are missing (``ingest --missing`` makes them again).
``rebuild`` holds the media root's lock (``index.lock``), sets the old catalog aside and ingests
each library given into a new one, in-process, reusing fresh outputs. Does not own: the checks
or the rebuild (``index.repair``).
"""

from __future__ import annotations

import os

import click

from mediapipe.cli.context import (
    COUNT,
    AppContext,
    emit_json,
    fail,
    json_option,
    media_root_option,
    pass_app,
    readable_source,
)
from mediapipe.errors import CatalogError, MediaError, combined_exit_code
from mediapipe.shown import shown

__all__ = ["catalog_group"]


@click.group("catalog")
def catalog_group() -> None:
    """Check the catalog, or rebuild it from the libraries and the outputs on disk."""


@catalog_group.command("check")
@media_root_option
@json_option
@pass_app
def check(app: AppContext, media_root: str | None, as_json: bool) -> None:
    """SQLite's integrity check, the schema, and every done step's outputs on disk."""
    from mediapipe.index import repair

    report = repair.check(app.media_root(media_root), app.config)
    if as_json:
        emit_json(report.to_dict())
    else:
        for line in report.integrity + report.schema:
            click.echo(shown(f"  damaged: {line}"), err=True)
        for m in report.missing[:20]:
            click.echo(shown(f"  missing: {m.output} ({m.stage} of {m.path})"), err=True)
        click.echo(shown(f"{report.catalog}: {report.sources} sources, "
                         f"{report.missing_outputs} outputs missing"
                         + ("" if report.usable else "; DAMAGED")))
    if not report.usable:
        raise click.exceptions.Exit(fail(
            f"{report.catalog}: damaged; `mediapipe catalog rebuild LIBRARY...` makes a new one",
            CatalogError.exit_code))
    if report.missing_outputs:
        raise click.exceptions.Exit(fail(
            f"{report.missing_outputs} outputs of done steps are missing; "
            "`mediapipe ingest LIBRARY --missing` makes them again", 1))


@catalog_group.command("rebuild")
@click.argument("libraries", nargs=-1, required=True, type=click.Path(readable=False))
@media_root_option
@click.option("--workers", type=COUNT, default=None,
              help="In-process worker processes, 1 or more (default: CPU count).")
@json_option
@pass_app
def rebuild(app: AppContext, libraries: tuple[str, ...], media_root: str | None,
            workers: int | None, as_json: bool) -> None:
    """Set the catalog aside and make a new one by ingesting LIBRARIES (every external library
    of this media root): outputs already on disk and fresh are kept, not made again."""
    from mediapipe.index import lock, repair
    from mediapipe.library import storage
    from mediapipe.pipeline.local import LocalRunner

    cfg, root = app.config, app.media_root(media_root)
    folders = [readable_source(lib, folder_ok=True) for lib in libraries]
    storage.require_root(root)
    runner = LocalRunner(root, cfg, workers or os.cpu_count() or 1)
    with lock.hold(root):
        aside, summaries = repair.rebuild(folders, runner)
    if as_json:
        emit_json({"set_aside": str(aside) if aside else None,
                   "libraries": [s.to_dict() for s in summaries]})
    else:
        if aside:
            click.echo(shown(f"old catalog kept as {aside}"))
        for s in summaries:
            click.echo(shown(f"{s.library}: {s.new} sources; {s.processed} processed, "
                             f"{s.failed} failed in {s.duration_s:.1f}s"))
    if any(s.failed for s in summaries):  # as ``ingest``: the failures' shared code
        raise click.exceptions.Exit(combined_exit_code(
            f.error.exit_code for s in summaries for f in s.failures) or MediaError.exit_code)

"""``mediapipe info | thumbnail | transcode``: single files, anywhere on disk.

Owns: these commands' options, their text and ``--json`` output and their exit codes. Each
source is checked first (``readable_source``: a missing, unreadable or folder source is
``Unreadable``, exit 12); a bad file is one line on stderr and the batch carries on; the exit
code is the failures' shared code, else 1 (``errors.combined_exit_code``). An output folder that
cannot be written stops the batch (every other file would fail the same way). Does not own:
the media work: ``info`` calls
``metadata.read_metadata``; ``thumbnail`` and ``transcode`` call ``pipeline.files``, which
composes the stages and writes the outputs.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from mediapipe.cli.context import (
    ACCEL_CHOICE,
    AppContext,
    emit_json,
    fail,
    json_option,
    pass_app,
    readable_source,
)
from mediapipe.errors import MediaError, PermissionDenied, StorageOffline, combined_exit_code
from mediapipe.shown import shown

__all__ = ["info", "thumbnail", "transcode"]


def _failed(name: str, exc: MediaError, codes: list[int]) -> dict[str, Any]:
    """One bad file: its line on stderr, its code kept for the batch's, its JSON entry."""
    fail(str(exc), exc.exit_code)
    codes.append(exc.exit_code)
    return {"path": name, "error": str(exc), "type": type(exc).__name__}


def _exit(codes: list[int]) -> None:
    if code := combined_exit_code(codes):
        raise click.exceptions.Exit(code)


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(readable=False))
@click.option("--no-sidecar", is_flag=True, help="Ignore XMP sidecars next to the files.")
@json_option
def info(files: tuple[str, ...], no_sidecar: bool, as_json: bool) -> None:
    """Read each file's metadata (date taken, GPS, camera, size...); bad files are named on
    stderr and the others still read."""
    from mediapipe.metadata.read import read_metadata

    results: list[dict[str, Any]] = []
    codes: list[int] = []
    for name in files:
        try:
            results.append(read_metadata(readable_source(name),
                                         sidecar=not no_sidecar).to_dict())
        except MediaError as exc:
            results.append(_failed(name, exc, codes))
    if as_json:
        emit_json(results)
    else:
        for r in results:
            _print_info(r)
    _exit(codes)


def _print_info(r: dict[str, Any]) -> None:
    if "error" in r:
        return  # named on stderr already
    camera = " ".join(v for v in (r["make"], r["model"]) if v)
    gps = (f"{r['latitude']:.6f},{r['longitude']:.6f}" if r["latitude"] is not None
           else "no GPS")
    click.echo(f"{shown(str(r['path']))}: {r['kind']} {r['mime_type']} "
               f"{r['width']}x{r['height']} orientation {r['orientation']}")
    click.echo(shown(f"  taken {r['taken_at']} ({r['taken_at_source']})  {gps}"  # EXIF text too
                     + (f"  {camera}" if camera else "")
                     + (f"  {r['lens_model']}" if r["lens_model"] else "")))
    for w in r["warnings"]:
        click.echo(f"  warning: {shown(w)}")


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(readable=False))
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=".",
              show_default=True, help="Folder for <stem>_preview.jpeg and <stem>_thumbnail.webp.")
@json_option
@pass_app
def thumbnail(app: AppContext, files: tuple[str, ...], out_dir: str, as_json: bool) -> None:
    """Write the preview and thumbnail of each FILE into --out and print sizes and thumbhash."""
    from mediapipe.pipeline.files import thumbnail_file

    results: list[dict[str, Any]] = []
    codes: list[int] = []
    cfg = app.config
    for name in files:
        try:
            written = thumbnail_file(readable_source(name), out_dir, cfg)
        except (StorageOffline, PermissionDenied):
            raise  # --out cannot be written: every other file would fail the same way
        except MediaError as exc:
            results.append(_failed(str(Path(name)), exc, codes))
            continue
        results.append(written.to_dict())
        if not as_json:
            p, t = written.preview, written.thumbnail
            click.echo(f"{shown(str(written.source))}: preview {p.width}x{p.height} "
                       f"({p.nbytes} B), "
                       f"thumbnail {t.width}x{t.height} ({t.nbytes} B), "
                       f"thumbhash {written.thumbhash}")
            for warning in written.warnings:
                click.echo(f"  warning: {shown(warning)}", err=True)
    if as_json:
        emit_json(results)
    _exit(codes)


@click.command()
@click.argument("file", type=click.Path(readable=False))
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="Output mp4 (default: FILE's stem + .mp4 in the current directory).")
@click.option("--accel", type=ACCEL_CHOICE, default=None,
              help="Hardware encoder (default: ffmpeg.accel); falls back to software (qsv, "
                   "vaapi and rkmpp are Immich's: software here).")
@click.option("--dry-run", is_flag=True, help="Print the decision and the argv; run nothing.")
@json_option
@pass_app
def transcode(app: AppContext, file: str, out: str | None, accel: str | None, dry_run: bool,
              as_json: bool) -> None:
    """Transcode one video to a browser-friendly mp4, by the ffmpeg policy in the config."""
    from mediapipe.pipeline import files

    dst = Path(out) if out else Path.cwd() / (Path(file).stem + ".mp4")
    cfg = app.config
    planned = files.plan_file(readable_source(file), dst, cfg, accel)
    reasons = "; ".join(planned.reasons)
    if dry_run:
        if as_json:
            emit_json(planned.to_dict())
        else:
            click.echo(f"{planned.decision}: {reasons}")
            click.echo(" ".join(planned.command))
        return
    if planned.decision == "none":
        if as_json:
            emit_json({"decision": "none", "reasons": list(planned.reasons), "output": None})
        else:
            click.echo(f"nothing to do: {reasons}")
        return
    if planned.replaces_source:
        raise click.UsageError(f"the output would replace the input {planned.source}; pass --out")

    def show(fraction: float) -> None:
        if not as_json and sys.stderr.isatty():
            click.echo(f"\r{fraction:6.1%}", nl=False, err=True)

    result = files.transcode_file(planned, progress=show)
    if as_json:
        emit_json({**result.to_dict(), "reasons": list(planned.reasons)})
    else:
        click.echo(f"{shown(str(result.output))}: {result.decision} with {result.encoder} "
                   f"({result.accel}), {result.size} bytes in {result.seconds:.2f}s")
        for link, why in result.skipped:
            click.echo(f"  skipped {link}: {why}")

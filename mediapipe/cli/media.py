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

import logging
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
@pass_app
def info(app: AppContext, files: tuple[str, ...], no_sidecar: bool, as_json: bool) -> None:
    """Read each file's metadata (date taken and where it came from, GPS and the place there,
    camera, size...); bad files are named on stderr and the others still read."""
    from mediapipe.metadata.daterules import ReadOptions
    from mediapipe.metadata.read import read_metadata

    options = ReadOptions.of(app.config)
    results: list[dict[str, Any]] = []
    codes: list[int] = []
    for name in files:
        try:
            results.append(read_metadata(readable_source(name), sidecar=not no_sidecar,
                                         options=options).to_dict())
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
    place = ", ".join(r[k] for k in ("city", "state", "country") if r.get(k))
    gps += f" ({place})" if place else ""
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
              help="Hardware encoder (default: ffmpeg.accel); falls back to software decoding, "
                   "then to software.")
@click.option("--dry-run", is_flag=True, help="Print the decision and the argv of every link "
                                              "of the fallback chain; run nothing.")
@click.option("--hw-devices", default=None, metavar="NODES",
              help="With --dry-run: plan for a machine with these /dev/dri nodes "
                   "(renderD128,card0; 'none' for no node) instead of this one's.")
@click.option("--mali-opencl", is_flag=True, default=None,
              help="With --dry-run: plan for a machine with Mali OpenCL (RK3588).")
@click.option("--ffmpeg-build", type=click.Choice(["here", "jellyfin", "stock"]), default="here",
              help="With --dry-run: plan for this ffmpeg build (jellyfin: Immich's "
                   "jellyfin-ffmpeg) instead of the one on PATH.")
@json_option
@pass_app
def transcode(app: AppContext, file: str, out: str | None, accel: str | None, dry_run: bool,
              hw_devices: str | None, mali_opencl: bool | None, ffmpeg_build: str,
              as_json: bool) -> None:
    """Transcode one video to a browser-friendly mp4, by the ffmpeg policy in the config."""
    from mediapipe.pipeline import files
    from mediapipe.transcode import build, devices
    from mediapipe.transcode.accelerator import Machine

    described = hw_devices is not None or mali_opencl or ffmpeg_build != "here"
    if described and not dry_run:
        raise click.UsageError("--hw-devices, --mali-opencl and --ffmpeg-build describe "
                               "another machine: only with --dry-run")
    dst = Path(out) if out else Path.cwd() / (Path(file).stem + ".mp4")
    cfg = app.config
    machine = None
    if described:
        here = devices.discover()
        found = devices.parse_devices(hw_devices, bool(mali_opencl)) if hw_devices is not None \
            else devices.HwDevices(here.dri, bool(mali_opencl) or here.mali_opencl)
        machine = Machine(found, build.named_build(ffmpeg_build),
                          cfg.ffmpeg.preferred_hw_device)
    verbose = logging.getLogger("mediapipe").isEnabledFor(logging.DEBUG)
    planned = files.plan_file(readable_source(file), dst, cfg, accel, machine=machine,
                              verbose=verbose)
    reasons = "; ".join(planned.reasons)
    if dry_run:
        if as_json:
            emit_json(planned.to_dict())
        else:
            click.echo(f"{planned.decision}: {reasons}")
            for step in planned.chain:
                click.echo(f"{step.accel}: {' '.join(step.command)}")
            for name, why in planned.skipped:
                click.echo(f"  skipped {name}: {why}")
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

"""The ``mediapipe`` command: the one place that talks to the user.

Owns: parsing arguments, loading the config (file and ``MEDIAPIPE_*`` environment), turning
``MediaError``/``ConfigError`` into one-line messages and exit codes (never a traceback), text and
``--json`` output, progress bars. Does not own: any media work; commands call the stages,
``storage`` and ``pipeline``. Heavy modules are imported inside commands so start-up stays fast.

Exit codes: 0 ok, 1 some files failed, 2 usage, 3 config, 4 storage offline, 5 unsupported,
6 corrupt, 7 too large, 8 transcode failed, 130 interrupted.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mediapipe import allocator
from mediapipe.errors import ConfigError, MediaError

if TYPE_CHECKING:
    from mediapipe.config import Config

__all__ = ["main"]


@dataclasses.dataclass
class AppContext:
    config_path: str | None
    _config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            from mediapipe import config

            self._config = config.load(self.config_path, os.environ)
        return self._config

    def media_root(self, given: str | None) -> Path:
        root = given or self.config.media_root
        if not root:
            raise click.UsageError("no media root: pass --media-root or set MEDIAPIPE_MEDIA_ROOT")
        return Path(root)


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


pass_app = click.make_pass_decorator(AppContext)
media_root_option = click.option(
    "--media-root", "media_root", type=click.Path(file_okay=False), default=None,
    help="Media root (default: MEDIAPIPE_MEDIA_ROOT or mediaRoot in the config).")
json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="homelib-mediapipe", prog_name="mediapipe")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              envvar="MEDIAPIPE_CONFIG", help="TOML or JSON config file (an Immich export too).")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text",
              envvar="MEDIAPIPE_LOG_FORMAT", show_default=True)
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]),
              default="warning", envvar="MEDIAPIPE_LOG_LEVEL", show_default=True)
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, log_format: str, log_level: str) -> None:
    """Metadata, previews, thumbnails and browser-friendly video for a photo library."""
    from mediapipe import logs

    logs.configure(log_format, log_level)
    ctx.obj = AppContext(config_path)


@cli.command()
@click.argument("root", required=False, type=click.Path(file_okay=False))
@json_option
@pass_app
def init(app: AppContext, root: str | None, as_json: bool) -> None:
    """Create a media root: library/ thumbs/ encoded-video/ profile/, each with its marker."""
    from mediapipe.library import storage

    statuses = storage.init_root(app.media_root(root))
    _report_folders(statuses, as_json)


@cli.command()
@click.argument("root", required=False, type=click.Path(file_okay=False))
@json_option
@pass_app
def verify(app: AppContext, root: str | None, as_json: bool) -> None:
    """Read and rewrite every folder's .immich marker; fail naming any folder that is offline."""
    from mediapipe.library import storage

    path = app.media_root(root)
    statuses = storage.verify_root(path)
    swept = sum(storage.sweep_temp(path / f, recursive=True) for f in storage.FOLDERS
                if (path / f / storage.MARKER).is_file())
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
            click.echo(f"{'ok ' if s.ok else 'BAD'} {s.folder:<14} {s.path}"
                       + (f"  {s.problem}" if s.problem else ""))
    if bad:
        names = ", ".join(s.folder for s in bad)
        raise click.exceptions.Exit(_fail(f"media root not ready: {names} "
                                          f"({bad[0].problem})", 4))


def _fail(message: str, code: int) -> int:
    click.echo(f"mediapipe: error: {message}", err=True)
    return code


@cli.command()
@media_root_option
@click.option("--broker", default=None, help="Broker URL to check (default: the config's).")
@json_option
@pass_app
def doctor(app: AppContext, media_root: str | None, broker: str | None, as_json: bool) -> None:
    """Report tools, versions, which encoders really work, the broker and the media root."""
    from mediapipe.cli import doctor as checks

    report = checks.report(broker or app.config.broker_url, media_root or app.config.media_root)
    if as_json:
        emit_json(report)
    else:
        for line in checks.render(report):
            click.echo(line)
    if not report["ok"]:
        raise click.exceptions.Exit(1)


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="Output mp4 (default: FILE's stem + .mp4 in the current directory).")
@click.option("--accel", type=click.Choice(["nvenc", "disabled"]), default=None,
              help="Hardware encoder (default: ffmpeg.accel); falls back to software.")
@click.option("--dry-run", is_flag=True, help="Print the decision and the argv; run nothing.")
@json_option
@pass_app
def transcode(app: AppContext, file: str, out: str | None, accel: str | None, dry_run: bool,
              as_json: bool) -> None:
    """Transcode one video to a browser-friendly mp4, by the ffmpeg policy in the config."""
    from mediapipe.library import storage
    from mediapipe.metadata.video import read_video
    from mediapipe.transcode import plan as stage
    from mediapipe.transcode import run as ffmpeg_run
    from mediapipe.transcode.argv import build_command

    ff = app.config.ffmpeg
    accel = accel or ff.accel
    src = Path(file).absolute()
    dst = Path(out).absolute() if out else Path.cwd() / (src.stem + ".mp4")
    plan = stage.plan_transcode(read_video(src), app.config)
    if dry_run:
        chain, _ = ffmpeg_run.accel_chain(accel, ff.accel_decode)
        command = [] if plan.decision == "none" else build_command(plan, src, dst, chain[0])
        data = {"decision": plan.decision, "reasons": list(plan.reasons), "command": command}
        if as_json:
            emit_json(data)
        else:
            click.echo(f"{plan.decision}: {'; '.join(plan.reasons)}")
            click.echo(" ".join(command))
        return
    if plan.decision == "none":
        data = {"decision": "none", "reasons": list(plan.reasons), "output": None}
        emit_json(data) if as_json else click.echo(f"nothing to do: {'; '.join(plan.reasons)}")
        return
    if dst == src:
        raise click.UsageError(f"the output would replace the input {src}; pass --out")

    def show(fraction: float) -> None:
        if not as_json and sys.stderr.isatty():
            click.echo(f"\r{fraction:6.1%}", nl=False, err=True)

    result = ffmpeg_run.transcode(plan, src, dst, accel=accel, accel_decode=ff.accel_decode,
                                  output=functools.partial(storage.atomic_output, guarded=False),
                                  progress=show)
    if as_json:
        emit_json({**result.to_dict(), "reasons": list(plan.reasons)})
    else:
        click.echo(f"{result.output}: {result.decision} with {result.encoder} ({result.accel}), "
                   f"{result.size} bytes in {result.seconds:.2f}s")
        for link, why in result.skipped:
            click.echo(f"  skipped {link}: {why}")


@cli.group("config")
def config_group() -> None:
    """Show the effective settings or write a commented sample file."""


@config_group.command("show")
@pass_app
def config_show(app: AppContext) -> None:
    """The effective settings (defaults, file, environment) as JSON."""
    emit_json(app.config.to_dict())


@config_group.command("sample")
def config_sample() -> None:
    """A commented TOML file with every setting and its default."""
    from mediapipe import config

    click.echo(config.sample_toml(), nl=False)


@cli.command("import")
@click.argument("sources", nargs=-1, required=True, type=click.Path(exists=True))
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
    from mediapipe.metadata.read import read_metadata

    report = importer.import_files([Path(s) for s in sources], root, cfg, move=move,
                                   dry_run=dry_run, reader=read_metadata)
    _report_placements(report, as_json)


@cli.command()
@media_root_option
@click.option("--dry-run", is_flag=True, help="Show what would move; change nothing.")
@json_option
@pass_app
def migrate(app: AppContext, media_root: str | None, dry_run: bool, as_json: bool) -> None:
    """Move every file in library/<owner>/ to its place under the current storage template."""
    cfg, root = app.config, app.media_root(media_root)
    from mediapipe.library import imports as importer
    from mediapipe.metadata.read import read_metadata

    report = importer.migrate(root, cfg, dry_run=dry_run, reader=read_metadata)
    _report_placements(report, as_json, only_changes=True)


def _report_placements(report: Any, as_json: bool, only_changes: bool = False) -> None:
    if as_json:
        emit_json(report.to_dict())
    else:
        for p in report.placements:
            if only_changes and p.action.value == "already-placed":
                continue
            verb = f"would be {p.action.value}" if report.dry_run else p.action.value
            click.echo(f"{verb:<20} {p.source} -> {p.target}")
        for f in report.removed_folders:
            click.echo(f"{'removed empty folder':<20} {f}")
        counts = report.to_dict()["counts"]
        click.echo(", ".join(f"{n} {k}" for k, n in counts.items())
                   + (" (dry run: nothing changed)" if report.dry_run else ""))
    for e in report.failed:
        click.echo(f"mediapipe: error: {e}", err=True)
    if report.failed:
        raise click.exceptions.Exit(1)


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--no-sidecar", is_flag=True, help="Ignore XMP sidecars next to the files.")
@json_option
def info(files: tuple[str, ...], no_sidecar: bool, as_json: bool) -> None:
    """Read each file's metadata (date taken, GPS, camera, size...); exit 1 if any fails."""
    from mediapipe.metadata.read import read_metadata

    results: list[dict[str, Any]] = []
    for name in files:
        try:
            results.append(read_metadata(name, sidecar=not no_sidecar).to_dict())
        except MediaError as exc:
            results.append({"path": name, "error": str(exc)})
    if as_json:
        emit_json(results)
    else:
        for r in results:
            _print_info(r)
    if any("error" in r for r in results):
        raise click.exceptions.Exit(1)


def _print_info(r: dict[str, Any]) -> None:
    if "error" in r:
        click.echo(f"{r['path']}: ERROR {r['error']}")
        return
    camera = " ".join(v for v in (r["make"], r["model"]) if v)
    gps = (f"{r['latitude']:.6f},{r['longitude']:.6f}" if r["latitude"] is not None
           else "no GPS")
    click.echo(f"{r['path']}: {r['kind']} {r['mime_type']} {r['width']}x{r['height']} "
               f"orientation {r['orientation']}")
    click.echo(f"  taken {r['taken_at']} ({r['taken_at_source']})  {gps}"
               + (f"  {camera}" if camera else "") + (f"  {r['lens_model']}"
                                                    if r["lens_model"] else ""))
    for w in r["warnings"]:
        click.echo(f"  warning: {w}")


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=".",
              show_default=True, help="Folder for <stem>_preview.jpeg and <stem>_thumbnail.webp.")
@json_option
@pass_app
def thumbnail(app: AppContext, files: tuple[str, ...], out_dir: str, as_json: bool) -> None:
    """Write the preview and thumbnail of each FILE into --out and print sizes and thumbhash."""
    from mediapipe.library import storage
    from mediapipe.metadata.read import read_metadata
    from mediapipe.thumbnails.make import make_thumbnails

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, Any]] = []
    for name in files:
        path = Path(name)
        try:
            info = read_metadata(path)
            thumbs = make_thumbnails(path, info, app.config)
        except MediaError as exc:
            results.append({"path": str(path), "error": str(exc)})
            if not as_json:
                click.echo(f"mediapipe: error: {exc}", err=True)
            continue
        written = {}
        for label, item in (("preview", thumbs.preview), ("thumbnail", thumbs.thumbnail)):
            target = out / f"{path.stem}_{label}.{item.format}"
            storage.atomic_write(target, item.data, guarded=False)
            written[label] = {"path": str(target), "width": item.width, "height": item.height,
                              "bytes": len(item.data)}
        results.append({"path": str(path), **written, "thumbhash": thumbs.thumbhash,
                        "colorspace": thumbs.colorspace})
        if not as_json:
            p, t = thumbs.preview, thumbs.thumbnail
            click.echo(f"{path}: preview {p.width}x{p.height} ({len(p.data)} B), thumbnail "
                       f"{t.width}x{t.height} ({len(t.data)} B), thumbhash {thumbs.thumbhash}")
    if as_json:
        emit_json(results)
    if any("error" in r for r in results):
        raise click.exceptions.Exit(1)


@cli.command()
@click.argument("library", type=click.Path(file_okay=False))
@media_root_option
@click.option("--broker", default=None,
              help="Fan out to Celery workers through this broker (default: "
                   "MEDIAPIPE_BROKER_URL; none: run in-process).")
@click.option("--workers", type=int, default=None,
              help="In-process worker processes (default: CPU count).")
@click.option("--force", is_flag=True, help="Redo every stage of every source.")
@click.option("--missing", is_flag=True, help="Also regenerate derived files that are gone.")
@click.option("--dry-run", is_flag=True, help="Scan and count; change nothing.")
@json_option
@pass_app
def ingest(app: AppContext, library: str, media_root: str | None, broker: str | None,
           workers: int | None, force: bool, missing: bool, dry_run: bool,
           as_json: bool) -> None:
    """Index an external library in place and make its thumbnails and encoded videos."""
    from mediapipe.index import ingest as coordinator

    cfg = app.config
    root = app.media_root(media_root)
    broker_url = broker or cfg.broker_url
    runner: coordinator.Runner
    if broker_url:
        runner = coordinator.CeleryRunner(root, cfg.replace(broker_url=broker_url), force=force)
    else:
        runner = coordinator.LocalRunner(root, cfg, workers or os.cpu_count() or 1, force=force)
    with Progress(enabled=not as_json and sys.stderr.isatty()) as bar:
        summary = coordinator.ingest(library, root, cfg, runner, force=force, missing=missing,
                                     dry_run=dry_run, on_start=bar.start, on_result=bar.advance)
    if as_json:
        emit_json(summary.to_dict())
    else:
        click.echo(f"{summary.library}: {summary.new} new, {summary.changed} changed, "
                   f"{summary.unchanged} unchanged, {summary.offline} offline, "
                   f"{summary.back_online} back online; {summary.processed} processed, "
                   f"{summary.failed} failed in {summary.duration_s:.1f}s")
        for f in summary.failures[:20]:
            click.echo(f"  FAILED {f['path']}: {f['error']}", err=True)
        for p in summary.problems[:20]:
            click.echo(f"  skipped {p['path']}: {p['error']}", err=True)
    if summary.failed:
        raise click.exceptions.Exit(1)


class Progress:
    """A rich progress bar on stderr with ok/failed counts, rate and ETA; silent if disabled."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.counts = {"ok": 0, "failed": 0}
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> Progress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TaskProgressColumn,
                TextColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as Bar

            self._bar = Bar(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TaskProgressColumn(show_speed=True), TimeRemainingColumn(),
                            console=Console(stderr=True))
            self._bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def start(self, total: int) -> None:
        if self._bar is not None:
            self._task = self._bar.add_task("ingest", total=total)

    def advance(self, result: Any) -> None:
        self.counts["ok" if result.ok else "failed"] += 1
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, advance=1,
                             description=f"ingest ok={self.counts['ok']} "
                                         f"failed={self.counts['failed']}")


@cli.command()
@click.option("--broker", default=None, help="Broker URL (default: MEDIAPIPE_BROKER_URL).")
@click.option("-Q", "--queues", default="metadata,thumbnails,video", show_default=True,
              help="Comma-separated queues to serve; a GPU machine serves 'video'.")
@click.option("-c", "--concurrency", type=int, default=None,
              help="Worker processes (default: CPU count; for video alone, the NVENC sessions "
                   "when NVENC works, else 1).")
@click.option("--metrics-port", type=int, default=None, help="Serve Prometheus metrics here.")
@click.option("-n", "--hostname", default=None, help="Worker name (default: mediapipe@host).")
@pass_app
def worker(app: AppContext, broker: str | None, queues: str, concurrency: int | None,
           metrics_port: int | None, hostname: str | None) -> None:
    """Run a Celery worker that serves tasks from the broker."""
    broker_url = broker or app.config.broker_url
    if not broker_url:
        raise click.UsageError("no broker: pass --broker or set MEDIAPIPE_BROKER_URL")
    os.environ["MEDIAPIPE_BROKER_URL"] = broker_url  # the worker app reads its settings here
    if app.config_path:
        os.environ["MEDIAPIPE_CONFIG"] = str(Path(app.config_path).absolute())
    names = tuple(q.strip() for q in queues.split(",") if q.strip())
    if metrics_port:
        import tempfile

        # Before prometheus_client is imported: pool children share this directory.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="mediapipe-metrics-")
        from workers import metrics

        metrics.serve(metrics_port, broker_url, names)
    from workers.app import app as celery_app

    logging.getLogger("mediapipe.task").setLevel(logging.INFO)  # one line per task, always
    n = concurrency or default_concurrency(names)
    argv = ["worker", "-Q", ",".join(names), "-c", str(n), "--pool", "prefork",
            "-n", hostname or "mediapipe@%h", "-l", "info"]
    celery_app.worker_main(argv)


NVENC_SESSIONS = 3


def default_concurrency(queues: tuple[str, ...]) -> int:
    """CPU count for image work; for a video-only worker, NVENC sessions if NVENC opens."""
    if set(queues) == {"video"}:
        from mediapipe.transcode import toolchain

        return NVENC_SESSIONS if toolchain.probe_encoder("h264_nvenc").available else 1
    return os.cpu_count() or 1



def main(argv: list[str] | None = None) -> int:
    """Run the CLI on ``argv`` (default: the process's); map errors to exit codes."""
    allocator.tune()  # an ingest handles image after image in this process
    try:
        code = cli.main(args=argv, prog_name="mediapipe", standalone_mode=False)
        code = code if isinstance(code, int) else 0
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.ClickException as exc:
        exc.show()
        code = exc.exit_code
    except click.Abort:
        code = _fail("interrupted", 130)
    except KeyboardInterrupt:
        code = _fail("interrupted", 130)
    except (MediaError, ConfigError) as exc:
        code = _fail(str(exc), exc.exit_code)
    return code


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()

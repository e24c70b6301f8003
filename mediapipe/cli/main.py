"""The ``mediapipe`` command: the one place that talks to the user.

Owns: the root click group and its global options (``--config``, ``--log-format``,
``--log-level``), the list of commands, and ``main()``, which turns ``MediaError``/``ConfigError``
into one-line messages and exit codes (never a traceback); ``run()`` is the console script.
Does not own: the commands themselves, one module per group: ``cli.media`` (info, thumbnail,
transcode), ``cli.library`` (init, verify, import, migrate), ``cli.ingest``, ``cli.ops``
(doctor, worker, config); nor any media work. Heavy modules are imported inside commands so
start-up stays fast.

Exit codes: 0 ok, 1 some files failed, 2 usage, 3 config, 4 storage offline, 5 unsupported,
6 corrupt, 7 too large, 8 transcode failed, 130 interrupted.
"""

from __future__ import annotations

import sys

import click

from mediapipe import allocator
from mediapipe.cli import ingest as ingest_command
from mediapipe.cli import library, listing, media, ops
from mediapipe.cli.context import AppContext, fail
from mediapipe.errors import ConfigError, MediaError

__all__ = ["cli", "main", "run"]


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


for command in (library.init, library.verify, ops.doctor, media.transcode, ops.config_group,
                library.import_command, library.migrate, media.info, media.thumbnail,
                ingest_command.ingest, listing.ls, ops.worker):
    cli.add_command(command)


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
    except (click.Abort, KeyboardInterrupt):
        code = fail("interrupted", 130)
    except (MediaError, ConfigError) as exc:
        code = fail(str(exc), exc.exit_code)
    return code


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()

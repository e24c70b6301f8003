"""The ``mediapipe`` command: the one place that talks to the user.

Owns: the root click group and its global options (``--config``, ``--log-format``,
``--log-level`` with its shorthands ``-q``/``-v``, ``--library-log-level``), the list of
commands, and ``main()``, the one edge where
every failure becomes a one-line message on stderr and an exit code, never a traceback:
any ``MediapipeError`` (a file's ``MediaError``, ``ConfigError``, ``BrokerUnreachable``,
``MediaRootBusy``, ``Unserved``: its type's exit code), an ``OSError`` no command caught (by
its errno class), an ``sqlite3.Error`` no catalog method mapped (as a ``CatalogError``), and,
last, any other
exception (an internal error: one line, the traceback only at ``--log-level debug``); ``run()``
is the console script. Does not own: the commands themselves, one module per group:
``cli.media`` (info, thumbnail, transcode), ``cli.library`` (init, verify, import, migrate),
``cli.ingest``, ``cli.ops`` (doctor, worker, config), ``cli.deploy`` (the shipped deployment
files); nor any media work. A command given
``--json`` that an error ends still prints one object on stdout (``context.emit_json_error``).
Heavy modules are imported inside commands so start-up stays fast.

Exit codes: each error's type carries its own, and ``errors.EXIT_CODES`` lists every one this
command exits with (README's table is checked against it, ``--help`` lists them from it); usage
(click's) and an interrupt have theirs there too. A batch exits with its failures' code when
they share one, else 1 (``errors.combined_exit_code``).
"""

from __future__ import annotations

import atexit
import errno
import logging
import os
import sqlite3
import sys
import threading

import click

from mediapipe import allocator
from mediapipe.cli import catalog as catalog_command
from mediapipe.cli import deploy, library, listing, media, ops
from mediapipe.cli import ingest as ingest_command
from mediapipe.cli.context import JSON_ASKED, AppContext, emit_json_error, fail
from mediapipe.cli.stopping import Stopped
from mediapipe.errors import (
    EXIT_CODES,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    MediapipeError,
    from_os_error,
)

__all__ = ["cli", "main", "run"]

# An OSError that can only have come from writing: a full disk or quota is storage offline (4).
_WRITING_ERRNOS = frozenset({errno.EROFS, errno.ENOSPC, errno.EDQUOT})
LEVELS = click.Choice(["debug", "info", "warning", "error"])
log = logging.getLogger("mediapipe.cli")
_help_asked = False  # --help anywhere: show it even where the settings are bad


@click.group(context_settings={"help_option_names": ["-h", "--help"]},
             epilog="Exit codes: " + ", ".join(f"{code} {name}"
                                               for code, name in EXIT_CODES.items()) + ".")
@click.version_option(package_name="homelib-mediapipe", prog_name="mediapipe")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              envvar="MEDIAPIPE_CONFIG", help="TOML or JSON config file (an Immich export too).")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text",
              envvar="MEDIAPIPE_LOG_FORMAT", show_default=True)
@click.option("--log-level", type=LEVELS, default="warning", envvar="MEDIAPIPE_LOG_LEVEL",
              show_default=True, help="mediapipe's own log level ('info': a line per asset "
                                      "and step).")
@click.option("--library-log-level", type=LEVELS, default="warning",
              envvar="MEDIAPIPE_LIBRARY_LOG_LEVEL", show_default=True,
              help="Level of the libraries' loggers (Pillow, Celery, Kombu...).")
@click.option("-q", "--quiet", is_flag=True, help="--log-level error: failures only, no "
                                                   "progress lines.")
@click.option("-v", "--verbose", count=True, help="--log-level info (-vv: debug).")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, log_format: str, log_level: str,
        library_log_level: str, quiet: bool, verbose: int) -> None:
    """Metadata, previews, thumbnails and browser-friendly video for a photo library."""
    from mediapipe import logs

    if quiet and verbose:
        raise click.UsageError("-q and -v contradict each other")
    if quiet:
        log_level = "error"
    elif verbose:
        log_level = "debug" if verbose > 1 else "info"

    logs.configure(log_format, log_level, library_log_level)
    ctx.obj = AppContext(config_path)
    if not _help_asked:  # every command: a bad setting or variable stops here, first
        ctx.obj.config  # noqa: B018


for command in (library.init, library.verify, ops.doctor, media.transcode, ops.config_group,
                library.import_command, library.migrate, media.info, media.thumbnail,
                ingest_command.ingest, listing.ls, ops.worker, catalog_command.catalog_group,
                deploy.deploy_group):
    cli.add_command(command)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI on ``argv`` (default: the process's); map errors to exit codes."""
    global _help_asked
    allocator.tune()  # an ingest handles image after image in this process
    _help_asked = bool({"--help", "-h"} & set(sys.argv[1:] if argv is None else argv))
    JSON_ASKED.set(False)
    error: BaseException | None = None  # what ended the command, for --json's one object
    try:
        code = cli.main(args=argv, prog_name="mediapipe", standalone_mode=False)
        code = code if isinstance(code, int) else 0
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.UsageError as exc:  # one line too, naming the command and where help is
        where = exc.ctx.command_path if exc.ctx else "mediapipe"
        code = fail(f"{exc.format_message()} (see {where} --help)", exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        code = exc.exit_code
    except (click.Abort, KeyboardInterrupt) as exc:
        stopped = exc if isinstance(exc, Stopped) else exc.__cause__  # click wraps it in Abort
        if isinstance(stopped, Stopped):  # SIGTERM or SIGINT while a run worked or waited
            code = fail(f"stopped by {stopped.signame}: assets without a result stay pending "
                        "for the next run", EXIT_INTERRUPTED)
        else:
            code = fail("interrupted", EXIT_INTERRUPTED)
    except MediapipeError as exc:  # every error mediapipe raises on purpose
        code, error = fail(str(exc), exc.exit_code), exc
    except sqlite3.Error as exc:  # a catalog call no method mapped: still one line, exit 11
        from mediapipe.index.sqlerrors import catalog_error

        error = catalog_error("catalog", exc)
        code = fail(str(error), error.exit_code)
    except OSError as exc:  # a path no command checked: named, by its errno class
        error = from_os_error(exc.filename or "", exc, writing=exc.errno in _WRITING_ERRNOS)
        code = fail(str(error), error.exit_code)
    except Exception as exc:  # the edge: a bug is still one line (traceback at debug)
        log.debug("internal error", exc_info=True)
        code = fail(f"internal error: {type(exc).__name__}: {exc} (run with --log-level debug "
                    "for the traceback, and please report it)", EXIT_INTERNAL)
        error = exc
    # --json seen by the command, or on the line when an error came before the command parsed
    # it (a bad --config or MEDIAPIPE_* variable stops the root group first)
    if error is not None and (JSON_ASKED.get() or "--json" in (argv or sys.argv[1:])):
        emit_json_error(error, code)
    return code


def run() -> None:
    """Console-script entry point: ``main()``, then the process ends at once (``exit_now``)."""
    exit_now(main())


def exit_now(code: int) -> None:
    """End the process with ``code`` as soon as nothing is left to do: the exit handlers run
    (log handlers flushed and closed, multiprocessing's children reaped), stdout and stderr
    are flushed (exit 120 where that fails, as Python's own exit does), and the interpreter's
    teardown is skipped: freeing every module's objects one by one took 40-60 ms after an
    ingest, for a process about to end. Where a thread that is not a daemon still runs,
    Python's own exit waits for it, as always."""
    if any(t.is_alive() and not t.daemon for t in threading.enumerate()
           if t is not threading.main_thread()):
        sys.exit(code)
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe (``| head``), a closed stream
        code = code or 120
    os._exit(code)


if __name__ == "__main__":
    run()

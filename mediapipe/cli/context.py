"""What every ``mediapipe`` command shares: the app context, common options and output helpers.

Owns: ``AppContext`` (the ``--config`` path and the config loaded from it and the
``MEDIAPIPE_*`` environment on first use; the media root a command works on), the
``--media-root`` and ``--json`` options, the click types that check input before a command runs
(``BrokerUrl``, ``QueueList``, ``COUNT``, ``PORT``), ``readable_source`` (a source the user named:
there, a regular file, readable, or ``Unreadable``), ``emit_json``, ``emit_json_error`` (the one
object of a ``--json`` command an error ended) and ``fail`` (the one-line error message that
goes with an exit code). Does not own: any command (see the sibling modules) or
the mapping of exceptions to exit codes (``cli.main``).
"""

from __future__ import annotations

import contextvars
import dataclasses
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mediapipe import sources
from mediapipe.errors import MediapipeError, Unreadable, from_os_error
from mediapipe.shown import json_names, shown

if TYPE_CHECKING:
    from mediapipe.config import Config

__all__ = ["ACCEL_CHOICE", "COUNT", "JSON_ASKED", "PORT", "AppContext", "BrokerUrl", "QueueList",
           "emit_json", "emit_json_error", "fail", "json_option", "media_root_option", "pass_app",
           "readable_source"]

COUNT = click.IntRange(min=1)  # processes, workers: at least one
# Immich's accelerators (mediapipe's config.ACCELS, spelled here so --help loads no config).
ACCEL_CHOICE = click.Choice(["disabled", "nvenc", "qsv", "vaapi", "rkmpp"])
PORT = click.IntRange(min=1, max=65535)


class BrokerUrl(click.ParamType):
    """A broker URL of a scheme mediapipe runs on (``redis://``, ``rediss://``, ``unix://``)."""

    name = "URL"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> str:
        from mediapipe.config import broker_url_problem

        text = str(value)
        if problem := broker_url_problem(text):
            self.fail(f"{text!r}: {problem}; expected redis://host:port/db, rediss:// (TLS) or "
                      "unix:///path/to/socket", param, ctx)
        return text


class QueueList(click.ParamType):
    """Comma-separated queue names, each one a pipeline step is served on."""

    name = "QUEUES"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> tuple[str, ...]:
        if isinstance(value, tuple):
            return value
        from mediapipe.pipeline.steps import PIPELINE

        known = PIPELINE.queues
        names = tuple(dict.fromkeys(q.strip() for q in str(value).split(",") if q.strip()))
        if not names:
            self.fail(f"no queue named; choose from {', '.join(known)}", param, ctx)
        unknown = [q for q in names if q not in known]
        if unknown:
            self.fail(f"unknown queue {unknown[0]!r}; choose from {', '.join(known)}",
                      param, ctx)
        return names


def readable_source(name: str, *, folder_ok: bool = False) -> Path:
    """``name`` as a path once it is there, of the right kind and readable; ``Unreadable``
    (missing, a folder where a file is wanted, no permission, a dangling link, a FIFO, a
    device or a socket: not a regular file, refused at once) otherwise."""
    path = Path(name)
    try:
        if path.is_dir():
            if not folder_ok:
                raise Unreadable(path, "is a directory, not a file")
            os.scandir(path).close()
        else:  # sources' rule: opened without blocking (a FIFO), a regular file or Unreadable
            with sources.held(path) as source, source.open() as fh:
                fh.read(1)
    except OSError as exc:
        raise from_os_error(path, exc) from exc
    return path


@dataclasses.dataclass
class AppContext:
    """The root group's state, handed to each command by ``pass_app``."""

    config_path: str | None
    _config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            from mediapipe import config

            self._config = config.load(self.config_path, os.environ)
        return self._config

    def media_root(self, given: str | None, how: str = "pass --media-root") -> Path:
        """The media root given on the command line, else the config's; ``how`` says how to
        give one, in the words of the command at hand (``init`` takes it as ROOT)."""
        root = given or self.config.media_root
        if not root:
            raise click.UsageError(f"no media root: {how} or set MEDIAPIPE_MEDIA_ROOT")
        return Path(root)


def emit_json(data: Any) -> None:
    """``data`` as indented JSON on stdout (paths and dates as strings; a name that is not
    UTF-8 in the unambiguous form of ``shown.json_names``)."""
    click.echo(json.dumps(json_names(data), indent=2, default=str))


# Whether the command at hand was given --json: an error that ends it (``cli.main``) is then
# one JSON object on stdout as well as its line on stderr, never an empty stdout.
JSON_ASKED: contextvars.ContextVar[bool] = contextvars.ContextVar("json_asked", default=False)


def emit_json_error(error: BaseException, code: int) -> None:
    """The one object a ``--json`` command prints when an error ends it:
    ``{"error": {"type", "message", "path"?, "transient"?}, "exit_code": code}``."""
    if isinstance(error, MediapipeError):  # its record: type, message, path, transient
        described = error.to_dict()
    else:
        described = {"type": type(error).__name__, "message": str(error)}
    emit_json({"error": described, "exit_code": code})


def fail(message: str, code: int) -> int:
    """Print ``mediapipe: error: <message>`` on stderr (control characters escaped: one line
    whatever the names in it) and return ``code`` for the caller."""
    click.echo(f"mediapipe: error: {shown(message)}", err=True)
    return code


pass_app = click.make_pass_decorator(AppContext)
media_root_option = click.option(
    "--media-root", "media_root", type=click.Path(), default=None,
    help="Media root (default: MEDIAPIPE_MEDIA_ROOT or mediaRoot in the config).")


def _remember_json(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    if value:
        JSON_ASKED.set(True)
    return value


json_option = click.option("--json", "as_json", is_flag=True, callback=_remember_json,
                           help="Machine-readable output.")

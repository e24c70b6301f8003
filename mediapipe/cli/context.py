"""What every ``mediapipe`` command shares: the app context, common options and output helpers.

Owns: ``AppContext`` (the ``--config`` path and the config loaded from it and the
``MEDIAPIPE_*`` environment on first use; the media root a command works on), the
``--media-root`` and ``--json`` options, ``emit_json`` and ``fail`` (the one-line error message
that goes with an exit code). Does not own: any command (see the sibling modules) or the
mapping of exceptions to exit codes (``cli.main``).
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from mediapipe.config import Config

__all__ = ["AppContext", "emit_json", "fail", "json_option", "media_root_option", "pass_app"]


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

    def media_root(self, given: str | None) -> Path:
        root = given or self.config.media_root
        if not root:
            raise click.UsageError("no media root: pass --media-root or set MEDIAPIPE_MEDIA_ROOT")
        return Path(root)


def emit_json(data: Any) -> None:
    """``data`` as indented JSON on stdout (paths and dates as strings)."""
    click.echo(json.dumps(data, indent=2, default=str))


def fail(message: str, code: int) -> int:
    """Print ``mediapipe: error: <message>`` on stderr and return ``code`` for the caller."""
    click.echo(f"mediapipe: error: {message}", err=True)
    return code


pass_app = click.make_pass_decorator(AppContext)
media_root_option = click.option(
    "--media-root", "media_root", type=click.Path(file_okay=False), default=None,
    help="Media root (default: MEDIAPIPE_MEDIA_ROOT or mediaRoot in the config).")
json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")

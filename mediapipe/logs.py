"""Log set-up: human lines or one JSON object per line, with the fields tasks attach.

Owns: ``configure(fmt, level, libraries)``, called once by the CLI or a worker at start-up
(and again in each pool process, with ``current()``): mediapipe's loggers at ``level``, every
other library's (Pillow, Celery, Kombu…) held at ``libraries``, warning unless asked, so that
``--log-level debug`` shows mediapipe's lines and not Pillow's TIFF tag dumps. Modules log
through ``logging.getLogger(__name__)`` and pass structured fields as ``extra={...}``
(``path``, ``asset_id``, ``stage``, ``outcome``, ``duration_s`` …); the JSON format keeps them
as keys. Python's warnings go through the log too (``py.warnings``): with JSON, every line
on stderr is a JSON object.
"""

from __future__ import annotations

import json
import logging
import sys
import time

from mediapipe.shown import shown

__all__ = ["configure", "current"]

_settings: tuple[str, str, str] = ("text", "warning", "warning")

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        out.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


class TextFormatter(logging.Formatter):
    """One line per record: its message and fields escaped as ``shown`` escapes a name (a
    path's newline or ANSI escape cannot forge or recolour a line); a traceback follows as is."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        extra = {k: v for k, v in vars(record).items() if k not in _STANDARD}
        if extra:
            line += " " + " ".join(f"{k}={v}" for k, v in extra.items())
        return shown(line)


def configure(fmt: str = "text", level: str = "warning", libraries: str = "warning") -> None:
    """Route logs to stderr in ``fmt`` ("text" or "json"): mediapipe's (and the workers') at
    ``level``, every other logger at ``libraries``."""
    global _settings
    _settings = (fmt, level, libraries)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else
                         TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    logging.captureWarnings(True)  # Python's warnings (Celery's as root…) are lines like any other
    root.setLevel(libraries.upper())
    for name in ("mediapipe",):
        logging.getLogger(name).setLevel(level.upper())


def current() -> tuple[str, str, str]:
    """The ``(fmt, level, libraries)`` of the last ``configure``: a pool process's start-up
    repeats it, so its lines look like its parent's."""
    return _settings

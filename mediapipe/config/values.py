"""What a setting is, and the checks its values pass.

Owns: ``setting(...)`` (a dataclass field with its doc, its allowed values and checks, how it is
normalised, whether it has an effect here), the value checks the declarations name
(resolutions, bitrates, broker URLs, storage templates, octal modes, cron expressions), the
value sets (``ACCELS``, ``RESOLUTIONS``, ``BROKER_SCHEMES``) and ``parse_bitrate``. Does not
own: the declarations (``settings``) or applying the checks (``coerce``).
"""

from __future__ import annotations

import dataclasses
import re
import urllib.parse
from collections.abc import Callable
from datetime import datetime
from typing import Any

from mediapipe.errors import ConfigError
from mediapipe.template import TemplateError, compile_template

__all__ = [
    "ACCELS",
    "BROKER_SCHEMES",
    "RESOLUTIONS",
    "broker_url_problem",
    "check_bitrate",
    "check_broker_url",
    "check_cron",
    "check_mode",
    "check_resolution",
    "check_storage_template",
    "normal_resolution",
    "parse_bitrate",
    "setting",
]

# Redis carries both the Celery queues and each run's results: these are its URL schemes.
BROKER_SCHEMES = ("redis", "rediss", "unix")
# Immich's accelerators, each run by its own module (``transcode.chain.ACCELERATORS``; spelled
# here because the config is below the transcode stage, and a test holds the two together).
ACCELS = ("disabled", "nvenc", "qsv", "vaapi", "rkmpp")
RESOLUTIONS = ("original", "480", "720", "1080", "1440", "2160")

def setting(
    default: Any,
    doc: str,
    *,
    key: str | None = None,
    choices: tuple[Any, ...] | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    check: Callable[[Any], str | None] | None = None,
    normalize: Callable[[Any], Any] | None = None,
) -> Any:
    """Declare one setting. ``key`` is its name in files when not the camelCase of the field.
    ``normalize`` turns an accepted spelling into the canonical one before the checks
    (``'1080p'``)."""
    meta = {"doc": doc, "key": key, "choices": choices, "min": minimum, "max": maximum,
            "check": check, "normalize": normalize}
    if isinstance(default, list | dict | set):
        raise TypeError("use a tuple or a section dataclass for mutable defaults")
    if dataclasses.is_dataclass(default):
        return dataclasses.field(default_factory=lambda: default, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def check_resolution(value: str) -> str | None:
    if value == "original" or (value.isdigit() and int(value) > 0):
        return None
    return "a positive number of pixels (the shorter side, '1080' or '1080p') or 'original'"


def normal_resolution(value: str) -> str:
    """``'1080p'`` (as Immich's HLS settings and people write it) is ``'1080'``."""
    text = value.strip()
    return text[:-1] if text[:-1].isdigit() and text[-1:] in ("p", "P") else text


def broker_url_problem(url: str) -> str | None:
    """Why ``url`` is not a broker URL mediapipe can use; None when its shape is right (or it is
    empty: no broker). Only the shape: whether a broker answers there is ``workers.broker``'s."""
    if not url:
        return None
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 -- ValueError for a port that is not a number in range
    except ValueError as exc:
        return f"not a URL ({exc})"
    if parts.scheme not in BROKER_SCHEMES:
        shown = f"scheme {parts.scheme}://" if parts.scheme else "no scheme"
        return f"{shown} is not supported"
    if parts.scheme == "unix":
        return None if parts.path else "a unix:// URL needs the socket's path"
    if not parts.hostname:
        return "no host"
    db = parts.path.strip("/")
    if db and not db.isdigit():
        return f"the database {db!r} is not a number"
    return None


def check_broker_url(value: str) -> str | None:
    problem = broker_url_problem(value)
    return f"a redis://host:port/db, rediss:// or unix:// URL ({problem})" if problem else None


_BITRATE = re.compile(r"(\d+(?:\.\d+)?)([kKmM]?)")


def parse_bitrate(text: str) -> int:
    """``'5000k'`` → 5_000_000, ``'8M'`` → 8_000_000, ``'0'`` → 0 (no limit); bits/s. A number
    without a unit is kbit/s, as Immich reads it (``'4500'`` → 4_500_000)."""
    m = _BITRATE.fullmatch(text.strip())
    if not m:
        raise ConfigError("ffmpeg.maxBitrate", f"{text!r} is not a bitrate")
    unit = {"": 1000, "k": 1000, "m": 1_000_000}[m.group(2).lower()]
    return int(float(m.group(1)) * unit)


def check_bitrate(value: str) -> str | None:
    if _BITRATE.fullmatch(value.strip()):
        return None
    return "a number with an optional k or M suffix, e.g. '0', '5000k', '8M' (0 = no limit)"


def check_storage_template(value: str) -> str | None:
    try:
        compile_template(value)
    except TemplateError as exc:
        return f"an Immich storage template ({exc.detail})"
    return None


def check_mode(value: str) -> str | None:
    try:
        bits = int(value, 8)
    except ValueError:
        return "permission bits in octal, such as '0644'"
    return None if 0 <= bits <= 0o777 else "permission bits in octal, at most '0777'"


def check_cron(value: str) -> str | None:
    from cronsim import CronSim, CronSimError

    try:
        CronSim(value, datetime.now())
    except CronSimError as exc:
        return f"a cron expression such as '0 0 * * *' ({exc})"
    return None

"""Loading the settings: defaults, then a TOML, JSON or YAML file, then ``MEDIAPIPE_*`` variables.

Owns: reading a config file (TOML, or JSON or YAML such as an Immich system-config export,
accepted as is: a key a newer Immich added to one of its sections is warned about and skipped,
where in TOML, our own format, it is an error), the environment names of every setting (its
path in upper snake case: ``image.preview.size`` is ``MEDIAPIPE_IMAGE_PREVIEW_SIZE``; lists
are comma-separated or a JSON array) and merging the sources (later wins). Does not own:
reading the environment by itself (the caller passes ``env`` in; stages never read it),
coercion and checks (``coerce``).

Entry points: ``load(path, env)``, ``read_file(path)``, ``env_names()``.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import logging
import re
import stat
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mediapipe.config.coerce import build, file_key, hints
from mediapipe.config.settings import Config
from mediapipe.errors import ConfigError

__all__ = ["ENV_PREFIX", "OTHER_VARIABLES", "env_names", "load", "read_file"]

ENV_PREFIX = "MEDIAPIPE_"
IMMICH_SUFFIXES = {".json": "JSON", ".yaml": "YAML", ".yml": "YAML"}  # Immich's export formats
# MEDIAPIPE_* variables that are not settings, and what reads them; any other is a typo.
OTHER_VARIABLES = {
    "MEDIAPIPE_CONFIG": "the CLI's --config",
    "MEDIAPIPE_LOG_FORMAT": "the CLI's --log-format",
    "MEDIAPIPE_LOG_LEVEL": "the CLI's --log-level",
    "MEDIAPIPE_LIBRARY_LOG_LEVEL": "the CLI's --library-log-level",
    "MEDIAPIPE_SAMPLES": "the tests: where the real sample media are",
    "MEDIAPIPE_FIXTURES": "the tests: where generated fixtures go",
}
log = logging.getLogger("mediapipe.config")


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def env_names(cls: type = Config, prefix: str = "") -> dict[str, str]:
    """Every environment variable name mapped to the dotted file path of its setting."""
    names: dict[str, str] = {}
    types = hints(cls)
    for f in dataclasses.fields(cls):
        path = f"{prefix}{file_key(f)}"
        if dataclasses.is_dataclass(types[f.name]):
            names.update(env_names(types[f.name], path + "."))
        else:
            snake = [_snake(p) for p in path.split(".")]
            names[ENV_PREFIX + "_".join(snake).upper()] = path
    return names


def _nest(path: str, value: Any) -> dict[str, Any]:
    head, _, rest = path.partition(".")
    return {head: _nest(rest, value) if rest else value}


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for k, v in b.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def read_file(path: str | Path) -> dict[str, Any]:
    """A config file as a dict: TOML by default, JSON for ``.json`` and YAML for ``.yaml`` or
    ``.yml`` (the formats of Immich's config file)."""
    import yaml

    p = Path(path)
    try:
        if not p.is_dir() and not stat.S_ISREG(p.stat().st_mode):  # a FIFO would block
            raise ConfigError(str(p), "cannot read config file: not a regular file")
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(p), f"cannot read config file: {exc.strerror}") from exc
    kind = IMMICH_SUFFIXES.get(p.suffix.lower(), "TOML")
    try:
        data = (json.loads(text) if kind == "JSON" else yaml.safe_load(text) if kind == "YAML"
                else tomllib.loads(text))
    except (ValueError, tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(str(p), f"not valid {kind}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(str(p), "the file must hold a table of settings")
    return data


def _unknown_variable(name: str, names: Mapping[str, str]) -> ConfigError:
    close = difflib.get_close_matches(name, [*names, *OTHER_VARIABLES], n=1, cutoff=0.75)
    hint = f"did you mean {close[0]}?" if close else "see `mediapipe config sample` for the names"
    return ConfigError(name, f"unknown environment variable (every MEDIAPIPE_* variable must name "
                             f"a setting); {hint}")


def _skipped(key: str, known: str) -> None:
    log.warning("%s: unknown setting in an Immich export (from a newer Immich?), skipped; "
                "known here: %s", key, known)


def load(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Defaults, then the file at ``path`` (if any), then ``MEDIAPIPE_*`` entries of ``env``.

    An unknown ``MEDIAPIPE_*`` variable is a ``ConfigError``, like an unknown key in a section
    of a TOML file (``OTHER_VARIABLES`` are the project's non-setting variables); in a JSON or
    YAML file (an Immich export) an unknown key of one of Immich's sections is one warning.
    """
    data: dict[str, Any] = read_file(path) if path else {}
    immich_export = bool(path) and Path(path or "").suffix.lower() in IMMICH_SUFFIXES
    if env:
        names = env_names()
        for name, value in sorted(env.items()):
            if name in names:
                data = _merge(data, _nest(names[name], value))
            elif name.startswith(ENV_PREFIX) and name not in OTHER_VARIABLES:
                raise _unknown_variable(name, names)
    return build(Config, data, unknown=_skipped if immich_export else None)

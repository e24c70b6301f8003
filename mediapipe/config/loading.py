"""Loading the settings: defaults, then a TOML or JSON file, then ``MEDIAPIPE_*`` variables.

Owns: reading a config file (TOML, or JSON such as an Immich system-config export, accepted as
is), the environment names of every setting (its path in upper snake case: ``image.preview.size``
is ``MEDIAPIPE_IMAGE_PREVIEW_SIZE``; lists are comma-separated or a JSON array), merging the
sources (later wins), and warning once per load about settings that have no effect here (an
Immich export's QSV/VAAPI knobs). Does not own: reading the environment by itself (the caller
passes ``env`` in; stages never read it), coercion and checks (``coerce``).

Entry points: ``load(path, env)``, ``read_file(path)``, ``env_names()``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from mediapipe.config.coerce import file_key, hints
from mediapipe.config.settings import Config
from mediapipe.errors import ConfigError

__all__ = ["ENV_PREFIX", "env_names", "load", "read_file"]

ENV_PREFIX = "MEDIAPIPE_"
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
    """A config file as a dict: TOML by default, JSON for ``.json`` (Immich's export)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(p), f"cannot read config file: {exc.strerror}") from exc
    json_file = p.suffix.lower() == ".json"
    try:
        data = json.loads(text) if json_file else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(str(p), f"not valid {'JSON' if json_file else 'TOML'}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(str(p), "the file must hold a table of settings")
    return data


def without_effect(cfg: Any, default: Any = None,
                   prefix: str = "") -> Iterator[tuple[str, Any, str]]:
    """``(key, value, why)`` for each ``no_effect`` setting that ``cfg`` moves off its default."""
    default = default if default is not None else type(cfg)()
    for f in dataclasses.fields(cfg):
        key, value = prefix + file_key(f), getattr(cfg, f.name)
        if dataclasses.is_dataclass(value):
            yield from without_effect(value, getattr(default, f.name), key + ".")
        elif f.metadata.get("no_effect") and value != getattr(default, f.name):
            yield key, value, f.metadata["no_effect"]


def load(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Defaults, then the file at ``path`` (if any), then ``MEDIAPIPE_*`` entries of ``env``.

    A setting kept only for Immich compatibility (``ffmpeg.cqMode``, ``ffmpeg.preferredHwDevice``)
    set to anything but its default is accepted, with one warning naming it.
    """
    data: dict[str, Any] = read_file(path) if path else {}
    if env:
        names = env_names()
        for name, value in env.items():
            if name in names:
                data = _merge(data, _nest(names[name], value))
    cfg = Config.from_dict(data)
    for key, value, why in without_effect(cfg):
        log.warning("%s = %r has no effect in mediapipe: %s", key, value, why)
    return cfg

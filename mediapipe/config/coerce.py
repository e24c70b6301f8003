"""Between file shape and the typed settings: key names, coercion, checks, and back.

Owns: a setting's name in files (camelCase of the field, or its declared ``key``), turning raw
values (TOML/JSON values, environment strings) into each field's type, the declared checks
(choices, minimum, maximum, ``check``), building a settings dataclass over a base from a nested
mapping, ``to_dict`` (the reverse) and the one masking rule for showing settings (``redact``: a
URL's password; ``shown``: every setting whose value may carry one). An unknown key inside one of
Immich's own sections (``IMMICH_SECTIONS``) is an error, or, for an Immich export read leniently
(a newer Immich adds keys), reported to the caller and skipped. Does not own: where the mapping
comes from (``loading``) or what the settings are (``settings``).

Entry points: ``build(cls, data)``, ``to_dict(obj)``, ``file_key(field)``, ``redact(url)``,
``shown(data)``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import typing
import urllib.parse
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from mediapipe.errors import ConfigError

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

_D = TypeVar("_D", bound="DataclassInstance")

__all__ = ["IMMICH_SECTIONS", "IMMICH_UNUSED", "Unknown", "build", "file_key", "hints", "redact",
           "shown", "to_dict"]

# The sections an Immich system-config export has (ours are the rest: worker, the top level).
IMMICH_SECTIONS = frozenset({"ffmpeg", "image", "library", "storageTemplate", "metadata",
                             "reverseGeocoding"})
# Settings whose value is a URL that may carry a password (shown with it masked).
URL_SETTINGS = frozenset({"brokerUrl"})
Unknown = Callable[[str, str], None]  # (key, what is known there): an unknown key let through

# Keys an Immich system-config export carries inside our sections that mediapipe does not use.
IMMICH_UNUSED = frozenset({
    "ffmpeg.npl", "ffmpeg.realtime", "image.thumbnail.progressive", "image.preview.progressive",
    "image.fullsize.progressive", "library.scan", "library.watch", "metadata.faces",
})


def redact(url: str) -> str:
    """``url`` with its password, if any, replaced by ``***``: safe to print and log."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def shown(data: Mapping[str, Any]) -> dict[str, Any]:
    """Settings in file shape (``to_dict``) as they may be shown: every URL setting redacted."""
    return {k: shown(v) if isinstance(v, Mapping)
            else redact(v) if k in URL_SETTINGS and isinstance(v, str) else v
            for k, v in data.items()}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.capitalize() for p in rest)


def file_key(f: dataclasses.Field[Any]) -> str:
    """The name of a setting in files: its declared ``key``, else the camelCase field name."""
    return f.metadata.get("key") or _camel(f.name)


@functools.cache
def hints(cls: type) -> dict[str, Any]:
    """The resolved type of each field of a settings dataclass."""
    return typing.get_type_hints(cls)


def to_dict(obj: Any) -> dict[str, Any]:
    """A settings dataclass in file shape: camelCase keys, lists for tuples, nested sections."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            out[file_key(f)] = to_dict(value)
        elif isinstance(value, tuple):
            out[file_key(f)] = list(value)
        else:
            out[file_key(f)] = value
    return out


def _coerce(key: str, value: Any, hint: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin is tuple:
        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else [
                v.strip() for v in text.split(",") if v.strip()]
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise ConfigError(key, f"expected a list of strings, got {value!r}")
        return tuple(value)
    if hint is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"1", "true", "yes", "on"}:
            return True
        if text in {"0", "false", "no", "off"}:
            return False
        raise ConfigError(key, f"expected true or false, got {value!r}")
    if hint is int:
        if isinstance(value, bool):
            raise ConfigError(key, f"expected an integer, got {value!r}")
        try:
            return int(str(value).strip())
        except ValueError:
            raise ConfigError(key, f"expected an integer, got {value!r}") from None
    if hint is float:
        if isinstance(value, bool):
            raise ConfigError(key, f"expected a number, got {value!r}")
        try:
            return float(str(value).strip())
        except ValueError:
            raise ConfigError(key, f"expected a number, got {value!r}") from None
    if hint is str:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)  # Immich writes targetResolution/maxBitrate as strings, users not
        if not isinstance(value, str):
            raise ConfigError(key, f"expected a string, got {value!r}")
        return value
    raise TypeError(f"unsupported setting type {hint!r}")  # pragma: no cover


def _check(key: str, f: dataclasses.Field[Any], value: Any) -> None:
    meta = f.metadata
    choices = meta.get("choices")
    if choices:
        for v in value if isinstance(value, tuple) else (value,):
            if v not in choices:
                raise ConfigError(key, f"{v!r} is not allowed; choose from "
                                       f"{', '.join(map(str, choices))}")
    if meta.get("min") is not None and value < meta["min"]:
        raise ConfigError(key, f"{value!r} is below the minimum {meta['min']}")
    if meta.get("max") is not None and value > meta["max"]:
        raise ConfigError(key, f"{value!r} is above the maximum {meta['max']}")
    if meta.get("check") and (problem := meta["check"](value)):
        # A message about a URL never carries its password.
        shown = redact(value) if key.rpartition(".")[2] in URL_SETTINGS else value
        raise ConfigError(key, f"{shown!r} is not valid; expected {problem}")


def build(cls: type[_D], data: Mapping[str, Any], prefix: str = "",
          base: _D | None = None, *, unknown: Unknown | None = None) -> _D:
    """``base`` (default: ``cls()``) overlaid with ``data`` (camelCase or snake_case keys).

    At the top level (empty ``prefix``) unknown keys are an Immich export's other sections and
    are skipped; inside a section an unknown key is an error naming the known ones, except in
    one of Immich's sections when ``unknown`` is given (an export read leniently): it hears the
    key and the known ones, and the key is skipped.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(prefix.rstrip(".") or "config", f"expected a table, got {data!r}")
    base = base if base is not None else cls()
    types = hints(cls)
    by_key: dict[str, dataclasses.Field[Any]] = {}
    for declared in dataclasses.fields(cls):
        by_key[file_key(declared)] = declared
        by_key[declared.name] = declared
    changes: dict[str, Any] = {}
    for raw_key, value in data.items():
        key = prefix + raw_key
        f = by_key.get(raw_key)
        if f is None:
            if key in IMMICH_UNUSED or not prefix:
                continue  # an Immich export's other sections and keys we do not use
            known = ", ".join(sorted(file_key(f) for f in dataclasses.fields(cls)))
            if unknown is not None and key.split(".")[0] in IMMICH_SECTIONS:
                unknown(key, known)
                continue
            raise ConfigError(key, f"unknown setting; known here: {known}")
        hint = types[f.name]
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            changes[f.name] = build(hint, value, key + ".", getattr(base, f.name),
                                    unknown=unknown)
        else:
            coerced = _coerce(key, value, hint)
            if f.metadata.get("normalize"):
                coerced = f.metadata["normalize"](coerced)
            _check(key, f, coerced)
            changes[f.name] = coerced
    return dataclasses.replace(base, **changes)

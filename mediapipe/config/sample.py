"""The commented sample config file that ``mediapipe config sample`` / ``init`` writes.

Owns: rendering every setting as TOML, each with its doc line (and its choices), at its value in
a given ``Config``; read back, the sample gives that ``Config`` again. Does not own: the settings
(``settings``) or reading files (``loading``).

Entry point: ``sample_toml(cfg)``.
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

from mediapipe.config.coerce import file_key, hints
from mediapipe.config.settings import Config

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = ["sample_toml"]


def sample_toml(cfg: Config | None = None) -> str:
    """A commented TOML file with every setting at its value in ``cfg`` (defaults if None)."""
    cfg = cfg or Config()
    lines = ["# mediapipe configuration. Every setting, with its default.",
             "# Environment variables MEDIAPIPE_<PATH> override this file.", ""]
    _section(cfg, "", lines)
    return "\n".join(lines) + "\n"


def _section(obj: DataclassInstance, path: str, lines: list[str]) -> None:
    types = hints(type(obj))
    nested = []
    for f in dataclasses.fields(obj):
        if dataclasses.is_dataclass(types[f.name]):
            nested.append(f)
            continue
        lines.append(f"# {f.metadata['doc']}")
        if f.metadata.get("choices"):
            lines.append(f"# One of: {', '.join(map(str, f.metadata['choices']))}")
        lines.append(f"{file_key(f)} = {_toml_value(getattr(obj, f.name))}")
    for f in nested:
        sub = f"{path}{file_key(f)}"
        lines.extend(["", f"# {f.metadata['doc']}", f"[{sub}]"])
        _section(getattr(obj, f.name), sub + ".", lines)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(json.dumps(v) for v in value) + "]"
    return json.dumps(value)

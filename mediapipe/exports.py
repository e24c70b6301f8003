"""A package face whose names are imported when first used, for the faces where that pays.

Owns: ``lazy(package)``, the ``__getattr__`` and ``__dir__`` a package's ``__init__`` installs
so that ``from mediapipe import read_metadata`` works without ``import mediapipe`` loading the
whole metadata reader, Pillow, NumPy and libraw for a program that only wants
``mediapipe.errors`` (measured, CPU of a fresh import: ``mediapipe.metadata.model`` 46 ms
through a lazy face, 150 ms through a plain one; ``mediapipe.thumbnails`` 30 ms, or some 240 ms
with Pillow, NumPy and libraw). The names and
where each comes from are the imports of the package's ``if TYPE_CHECKING:`` block, read from
its source: readers, type checkers and linters see those imports, and ``__all__`` lists them
(ruff holds the two together). Used by ``mediapipe``, ``mediapipe.metadata`` and
``mediapipe.thumbnails``; every other package imports its names plainly.
Does not own: what the names are (each package's ``__init__``).
"""

from __future__ import annotations

import functools
import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["lazy"]


def lazy(package: str) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: each name its ``if TYPE_CHECKING:``
    block imports is imported from that module on first use, and kept in the package."""

    @functools.cache  # read on the first name asked for: ``import mediapipe`` parses nothing
    def names() -> dict[str, tuple[str, str]]:
        return _type_checking_imports(Path(sys.modules[package].__file__ or ""))

    def __getattr__(name: str) -> Any:
        source = names().get(name)
        if source is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, original = source
        value = getattr(importlib.import_module(module), original)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted({*names(), *vars(sys.modules[package])})

    return __getattr__, __dir__


def _type_checking_imports(init: Path) -> dict[str, tuple[str, str]]:
    """Each name the file's top-level ``if TYPE_CHECKING:`` block imports (``from MODULE import
    NAME [as ALIAS]``) → its module and its name there."""
    import ast  # here, not at the top: its import alone is most of a lazy face's start-up

    names: dict[str, tuple[str, str]] = {}
    for node in ast.parse(init.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) \
                and node.test.id == "TYPE_CHECKING":
            for imported in node.body:
                if isinstance(imported, ast.ImportFrom) and imported.module:
                    names.update((alias.asname or alias.name, (imported.module, alias.name))
                                 for alias in imported.names)
    return names

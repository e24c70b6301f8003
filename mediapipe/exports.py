"""The public names of a package, imported when first used.

Owns: ``lazy(package, names)``, the ``__getattr__`` and ``__dir__`` a package's ``__init__``
installs so that ``from mediapipe import read_metadata`` works without ``import mediapipe``
loading Pillow, PyAV and libraw for a program that only wants ``mediapipe.errors`` (the CLI
starts in a tenth of a second). Each package lists its names once, in ``__all__``, with the
module that defines each; type checkers read the same names from its ``TYPE_CHECKING`` block.
Does not own: what the names are (each package's ``__init__``).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy"]


def lazy(package: str, names: Mapping[str, str]) -> tuple[Callable[[str], Any],
                                                         Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: each of ``names`` (name → the module
    defining it) is imported on first use and kept in the package."""

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted({*names, *vars(sys.modules[package])})

    return __getattr__, __dir__

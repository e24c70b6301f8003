"""ARCHITECTURE.md is the map of every module: it names each one under its wing, and no other.

A package's ``__init__.py`` (its docstring, its public names) need not be listed.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[1]


def _mapped() -> set[str]:
    """``wing/module.py`` for every module a wing section of the map lists."""
    text = (ROOT / "ARCHITECTURE.md").read_text()
    named: set[str] = set()
    for section in re.split(r"^### ", text, flags=re.M)[1:]:
        folder = re.search(r"\(`([\w/]+/)`\)", section.splitlines()[0])
        assert folder, f"section without its folder: {section.splitlines()[0]}"
        named |= {folder.group(1) + m for m in re.findall(r"`(\w+\.py)`", section)}
    return {m for m in named if not m.endswith("/__init__.py")}


def _modules() -> set[str]:
    return {str(p.relative_to(ROOT)) for package in ("mediapipe",)
            for p in (ROOT / package).rglob("*.py") if p.name != "__init__.py"}


def test_every_module_is_on_the_map() -> None:
    assert sorted(_modules() - _mapped()) == []


def test_the_map_names_no_module_that_is_gone() -> None:
    assert sorted(_mapped() - _modules()) == []

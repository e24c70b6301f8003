"""Lazy package faces: only where an import is heavy, and each offers exactly what its
``if TYPE_CHECKING:`` block imports (what readers and type checkers see)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from mediapipe import exports

LAZY = ["mediapipe", "mediapipe.metadata", "mediapipe.thumbnails"]
PLAIN = ["mediapipe.config", "mediapipe.errors", "mediapipe.index", "mediapipe.library",
         "mediapipe.pipeline", "mediapipe.transcode"]


@pytest.mark.parametrize("package", LAZY)
def test_a_lazy_face_offers_what_its_type_checking_block_imports(package: str) -> None:
    module = importlib.import_module(package)
    names = exports._type_checking_imports(Path(module.__file__ or ""))
    assert set(names) == set(module.__all__) - {"__version__"}
    for name, (source, original) in names.items():
        assert getattr(module, name) is getattr(importlib.import_module(source), original)


@pytest.mark.parametrize("package", PLAIN)
def test_every_other_face_imports_its_names_plainly(package: str) -> None:
    module = importlib.import_module(package)
    assert "__getattr__" not in vars(module)
    assert all(name in vars(module) for name in module.__all__)

"""Celery workers for mediapipe: ``mediapipe worker`` (or
``celery -A mediapipe.workers worker -Q video``).

No app is built at import: ``workers.app.make_app(cfg)`` makes one from a ``Config``;
``celery -A mediapipe.workers`` asks this package for ``celery`` and gets one made from the
``MEDIAPIPE_*`` environment (and ``MEDIAPIPE_CONFIG``, a config file), once.
"""

from __future__ import annotations

import functools
import os
from typing import Any

__all__ = ["celery"]


@functools.cache
def _from_environment() -> Any:
    from mediapipe.config import load
    from mediapipe.workers.app import make_app

    return make_app(load(os.environ.get("MEDIAPIPE_CONFIG") or None, os.environ))


def __getattr__(name: str) -> Any:
    if name == "celery":
        return _from_environment()
    raise AttributeError(f"module 'mediapipe.workers' has no attribute {name!r}")

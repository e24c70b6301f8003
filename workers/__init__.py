"""``celery -A workers`` from a checkout, as before the Celery driver moved into the package:
the app of ``mediapipe.workers``. This folder is not installed (the wheel holds ``mediapipe``
only); with an installed mediapipe, ``celery -A mediapipe.workers worker``."""

from __future__ import annotations

from typing import Any

__all__ = ["celery"]


def __getattr__(name: str) -> Any:
    if name == "celery":
        import mediapipe.workers

        return mediapipe.workers.celery
    raise AttributeError(f"module 'workers' has no attribute {name!r}")

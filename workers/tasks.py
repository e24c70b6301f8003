"""Celery tasks: thin wrappers that call ``mediapipe.pipeline`` steps and return JSON results.

Owns: task names, their queues and retry policy. Does not own: any media logic.
"""

from __future__ import annotations

import os
import socket

from workers.app import app

__all__ = ["ping"]


@app.task(name="mediapipe.ping")
def ping() -> dict[str, object]:
    """Answer with where it ran: proves a worker took a task off the queue."""
    return {"host": socket.gethostname(), "pid": os.getpid()}

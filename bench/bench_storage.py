"""Atomic writes against plain writes of the same bytes: what the fsync+rename safety costs."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from mediapipe.library import storage


def main() -> None:
    data = b"x" * 60_000  # a typical preview JPEG
    n = 300
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        storage.init_root(root)
        start = time.perf_counter()
        for i in range(n):
            storage.atomic_write(root / "thumbs" / f"{i}.jpeg", data)
        atomic = time.perf_counter() - start
        start = time.perf_counter()
        for i in range(n):
            (root / "profile" / f"{i}.jpeg").write_bytes(data)
        plain = time.perf_counter() - start
    print(f"atomic_write: {n / atomic:8.0f} files/s   plain write: {n / plain:8.0f} files/s   "
          f"ratio {plain / atomic:.2f}x (fsync cost)")

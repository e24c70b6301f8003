"""The allocator settings of processes that handle image after image (CLI, worker processes)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

# Ten 12 MP images decoded and resized, after three to warm up: the page faults per image.
_FAULTS_PER_IMAGE = """
import resource, sys
from PIL import Image
from mediapipe import allocator
tuned = allocator.tune() if sys.argv[1] == "tune" else False
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):
    Image.new("RGB", (4000, 3000)).resize((1440, 1080))
before = faults()
for _ in range(10):
    Image.new("RGB", (4000, 3000)).resize((1440, 1080))
print(tuned, (faults() - before) // 10)
"""

glibc_only = pytest.mark.skipif(
    not (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc"),
    reason="the settings are glibc's")


def _faults_per_image(mode: str, env: dict[str, str] | None = None) -> tuple[bool, int]:
    out = subprocess.run([sys.executable, "-c", _FAULTS_PER_IMAGE, mode], check=True, text=True,
                         capture_output=True, env={**os.environ, **(env or {})}).stdout.split()
    return out[0] == "True", int(out[1])


@glibc_only
def test_a_tuned_process_reuses_image_buffers_instead_of_faulting_them_in_again() -> None:
    tuned, faults = _faults_per_image("tune")
    pages_per_image = 4000 * 3000 * 4 // 4096
    assert tuned
    assert faults < pages_per_image // 100, f"{faults} page faults per image"


@glibc_only
def test_the_operators_own_malloc_settings_win() -> None:
    tuned, _ = _faults_per_image("tune", {"MALLOC_TRIM_THRESHOLD_": str(1 << 20)})
    assert not tuned


def test_every_worker_pool_process_tunes_it() -> None:
    from celery import signals

    from mediapipe.workers.app import _tune_allocator

    receivers = [ref() if callable(ref) else ref
                 for _, ref in signals.worker_process_init.receivers]
    assert _tune_allocator in receivers


# The threads of a process that imports numpy and multiplies two matrices (OpenBLAS's pool
# starts as it loads), after ``tune`` or not.
_THREADS = """
import os, sys
from mediapipe import allocator
if sys.argv[1] == "tune":
    allocator.tune()
import numpy as np
np.ones((300, 300)) @ np.ones((300, 300))
print(len(os.listdir("/proc/self/task")), os.environ.get("OPENBLAS_NUM_THREADS"))
"""


def _threads(mode: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    base = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    out = subprocess.run([sys.executable, "-c", _THREADS, mode], check=True, text=True,
                         capture_output=True, env={**base, **(env or {})}).stdout.split()
    return int(out[0]), out[1]


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="OpenBLAS keeps one thread on one CPU")
def test_a_tuned_process_keeps_numpy_to_one_thread_that_cannot_spin_against_the_others() -> None:
    assert _threads("plain")[0] > 1  # what it guards against: OpenBLAS's pool, a thread a CPU
    assert _threads("tune") == (1, "1")


def test_the_operators_own_blas_threads_win() -> None:
    assert _threads("tune", {"OPENBLAS_NUM_THREADS": "2"})[1] == "2"


# A Celery worker's parent as ``worker_init`` finds it: the app made, the steps loaded.
_WORKER_PARENT = """
import os, types
from mediapipe.config import Config
from mediapipe.workers.app import _warm_steps, make_app
_warm_steps(sender=types.SimpleNamespace(app=make_app(Config())))
import numpy as np
np.ones((300, 300)) @ np.ones((300, 300))
print(len(os.listdir("/proc/self/task")), os.environ.get("OPENBLAS_NUM_THREADS"))
"""


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="OpenBLAS keeps one thread on one CPU")
def test_a_workers_parent_keeps_numpy_to_one_thread_before_it_loads_the_steps() -> None:
    """Its pool processes fork from it with numpy loaded (``Step.warm``)."""
    base = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    out = subprocess.run([sys.executable, "-c", _WORKER_PARENT], check=True, text=True,
                         capture_output=True, env=base).stdout.split()
    assert out == ["1", "1"]

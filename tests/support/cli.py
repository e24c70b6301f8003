"""The ``mediapipe`` command run in this process: ``mediapipe(*args)`` calls ``cli.main.main``
with its own stdout and stderr, and gives back the exit code and both texts.

It is what a subprocess would see (the same ``main()``, the same one-line errors and exit codes)
without starting an interpreter per call. The environment (``env``: variables set for the call,
``None`` unsets one), the working directory and the root logger are put back afterwards.
A test keeps a subprocess only where a process boundary is the point (signals, a descriptor
limit, another user, the console script's own exit, a tool looked up on another ``PATH``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import logging
import os
import sys
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path

from mediapipe.cli.main import main

__all__ = ["Ran", "mediapipe"]


@dataclasses.dataclass(frozen=True)
class Ran:
    """One command's exit code and output (named as ``subprocess.CompletedProcess`` names them)."""

    returncode: int
    stdout: str
    stderr: str


def _stream() -> io.TextIOWrapper:
    """A text stream as a piped stdout has: UTF-8, with the process's own error handler."""
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline="", write_through=True,
                            errors=getattr(sys.__stdout__, "errors", None) or "strict")


def _text(stream: io.TextIOWrapper) -> str:
    raw = stream.buffer
    assert isinstance(raw, io.BytesIO)
    return raw.getvalue().decode("utf-8", "surrogateescape")


@contextlib.contextmanager
def _environment(env: Mapping[str, str | None]) -> Iterator[None]:
    saved = dict(os.environ)
    try:
        for name, value in env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def _logging_restored() -> Iterator[None]:
    """``logs.configure`` (the root group) replaces the root logger's handlers and levels."""
    root, own = logging.getLogger(), logging.getLogger("mediapipe")
    handlers, levels, showwarning = root.handlers[:], (root.level, own.level), warnings.showwarning
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(levels[0])
        own.setLevel(levels[1])
        logging.captureWarnings(False)
        warnings.showwarning = showwarning


def mediapipe(*args: str | os.PathLike[str], env: Mapping[str, str | None] | None = None,
              cwd: Path | None = None) -> Ran:
    """``mediapipe ARGS...`` in this process; its exit code, stdout and stderr."""
    out, err = _stream(), _stream()
    here = os.getcwd()
    with _environment(env or {}), _logging_restored(), \
            contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            if cwd is not None:
                os.chdir(cwd)
            code = main([os.fspath(a) for a in args])
        finally:
            os.chdir(here)
    return Ran(code, _text(out), _text(err))

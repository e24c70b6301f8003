"""What every mediapipe error is, and the value it travels as.

Owns: ``MediapipeError``, the one root of every exception mediapipe raises on purpose, with its
``exit_code`` and ``transient``, and the register of its kinds by name (each subclass enters it
as it is defined); ``MediaError``, the branch about one file; ``ErrorRecord``, an error as a value
that crosses a process or a Celery message (``to_dict``/``from_dict``) and keeps its type's exit
code wherever it was raised; the exit codes no kind carries (``EXIT_OK``, ``EXIT_USAGE``,
``EXIT_INTERNAL``, ``EXIT_INTERRUPTED``); ``combined_exit_code``, the one rule for a batch.
Does not own: the kinds themselves and the table of every exit code (``errors.kinds``), nor
catching errors (the edges do: ``mediapipe.cli``, ``mediapipe.pipeline.drive``,
``workers.tasks``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

__all__ = ["EXIT_INTERNAL", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "ErrorRecord",
           "MediaError", "MediapipeError", "combined_exit_code"]

# The exit codes of outcomes that no MediapipeError kind carries.
EXIT_OK = 0  # nothing failed
EXIT_USAGE = 2  # a command line click refuses (click's own ``UsageError`` code)
EXIT_INTERNAL = 70  # a bug (sysexits' EX_SOFTWARE): a failure no MediapipeError names
EXIT_INTERRUPTED = 130  # Ctrl-C, or SIGTERM/SIGINT ending a run (128 + SIGINT, as shells say)


class MediapipeError(Exception):
    """The root of every error mediapipe raises on purpose: its type names what happened,
    ``exit_code`` what the CLI exits with, ``transient`` whether a later try may succeed."""

    exit_code: ClassVar[int] = 1
    transient: bool = False
    _kinds: ClassVar[dict[str, type[MediapipeError]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        MediapipeError._kinds[cls.__name__] = cls

    @property
    def path(self) -> str:
        """The file (or place) it is about; empty when none."""
        return ""

    @property
    def reason(self) -> str:
        return str(self)

    def record(self) -> ErrorRecord:
        """This error as a value that crosses processes and messages."""
        return ErrorRecord(type(self).__name__, self.reason, self.path, bool(self.transient))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly form, the shape results and ``--json`` output carry."""
        return self.record().to_dict()

    @classmethod
    def by_name(cls, name: str) -> type[MediapipeError] | None:
        """The error type named ``name`` (as an ``ErrorRecord`` names it), if there is one."""
        return cls._kinds.get(name) or (cls if name == cls.__name__ else None)

    @classmethod
    def kinds(cls) -> tuple[type[MediapipeError], ...]:
        """Every kind defined so far under the root, in the order they were defined."""
        return tuple(cls._kinds.values())


@dataclasses.dataclass(frozen=True)
class ErrorRecord:
    """One error as a value: its type's name, its message, the path it is about and whether
    it is transient. What a failed step's outcome carries, on a wire or in the catalog."""

    type: str
    message: str
    path: str = ""
    transient: bool = False

    @classmethod
    def of(cls, exc: BaseException) -> ErrorRecord:
        """``exc``'s record; anything that is not a ``MediapipeError`` is an ``InternalError``."""
        if isinstance(exc, MediapipeError):
            return exc.record()
        return cls("InternalError", f"{type(exc).__name__}: {exc}")

    @property
    def exit_code(self) -> int:
        """The exit code of its type, wherever it was raised (a worker's ConfigError: 3)."""
        kind = MediapipeError.by_name(self.type)
        return kind.exit_code if kind is not None else EXIT_INTERNAL

    def describe(self) -> str:
        """``Type: path: message`` (the path left out when there is none)."""
        where = f"{self.path}: " if self.path else ""
        return f"{self.type}: {where}{self.message}"

    def error(self) -> MediapipeError:
        """The error again, of its own type where it is a ``MediaError`` (else the root)."""
        kind = MediapipeError.by_name(self.type)
        if kind is not None and issubclass(kind, MediaError):
            return kind(self.path, self.message)
        return MediapipeError(self.describe())

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ErrorRecord:
        return cls(str(data.get("type") or "MediaError"), str(data.get("message") or ""),
                   str(data.get("path") or ""), bool(data.get("transient")))


class MediaError(MediapipeError):
    """A problem with one file (a source or an output); the rest of a batch carries on."""

    exit_code = 1
    transient = False

    def __init__(self, path: object, reason: str) -> None:
        self._path = str(path)
        self._reason = reason
        super().__init__(path, reason)

    @property
    def path(self) -> str:
        return self._path

    @property
    def reason(self) -> str:
        return self._reason

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def combined_exit_code(codes: Iterable[int]) -> int:
    """One exit code for a batch: 0 when nothing failed, the failures' shared code when they all
    failed the same way (one missing file → 12), 1 when they failed in different ways."""
    distinct = set(codes) - {EXIT_OK}
    if not distinct:
        return EXIT_OK
    return distinct.pop() if len(distinct) == 1 else MediaError.exit_code

"""The one error family of mediapipe, and the record an error travels as.

Every exception mediapipe raises on purpose (a stage, storage, the catalog, the config, the
broker) is a ``MediapipeError``; each kind carries its exit code and whether a retry may help,
and ``EXIT_CODES`` lists every code the CLI exits with, made from them. An ``ErrorRecord`` is an
error as a value on a wire or in the catalog; a failure that is no ``MediapipeError`` (a bug)
travels as one of type ``InternalError``, exit code 70. ``from_os_error`` tells an ``OSError``'s
kind by its errno class (a full disk is ``StorageOffline``); ``combined_exit_code`` is the one
rule for a batch.

Modules: ``base`` (the root, ``MediaError``, ``ErrorRecord``, the codes no kind carries, the
batch rule), ``kinds`` (every kind with its exit code, and ``EXIT_CODES``), ``oserrors``
(``OSError`` to a kind). Every name is imported from here: ``from mediapipe.errors import X``.
"""

from __future__ import annotations

from mediapipe.errors.base import (
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    ErrorRecord,
    MediaError,
    MediapipeError,
    combined_exit_code,
)
from mediapipe.errors.kinds import (
    EXIT_CODES,
    BrokerUnreachable,
    CatalogError,
    ConfigError,
    CorruptMedia,
    IntegrityError,
    MediaRootBusy,
    OverTimeLimit,
    PathEscape,
    PermissionDenied,
    SourceOffline,
    StorageOffline,
    TooLarge,
    TranscodeFailed,
    Unreadable,
    Unserved,
    UnsupportedMedia,
    check_pixels,
    unserved_line,
)
from mediapipe.errors.oserrors import OFFLINE_ERRNOS, from_os_error

__all__ = [
    "EXIT_CODES",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "OFFLINE_ERRNOS",
    "BrokerUnreachable",
    "CatalogError",
    "ConfigError",
    "CorruptMedia",
    "ErrorRecord",
    "IntegrityError",
    "MediaError",
    "MediaRootBusy",
    "MediapipeError",
    "OverTimeLimit",
    "PathEscape",
    "PermissionDenied",
    "SourceOffline",
    "StorageOffline",
    "TooLarge",
    "TranscodeFailed",
    "Unreadable",
    "Unserved",
    "UnsupportedMedia",
    "check_pixels",
    "combined_exit_code",
    "from_os_error",
    "unserved_line",
]

"""The error family: which failures a retry can fix, and the CLI exit code each one maps to."""

from __future__ import annotations

import errno
import json
import os
import re
from pathlib import Path

import click
import pytest

from mediapipe import errors
from mediapipe.errors import (
    CatalogError,
    ConfigError,
    CorruptMedia,
    ErrorRecord,
    IntegrityError,
    MediaError,
    OverTimeLimit,
    PathEscape,
    PermissionDenied,
    SourceOffline,
    StorageOffline,
    TooLarge,
    TranscodeFailed,
    Unreadable,
    UnsupportedMedia,
)

FAMILY: list[tuple[type[MediaError], int, bool]] = [
    (MediaError, 1, False),
    (StorageOffline, 4, True),
    (UnsupportedMedia, 5, False),
    (CorruptMedia, 6, False),
    (TooLarge, 7, False),
    (TranscodeFailed, 8, False),
    (PathEscape, 9, False),
    (IntegrityError, 10, False),
    (CatalogError, 11, False),
    (Unreadable, 12, False),
    (PermissionDenied, 13, False),
    (SourceOffline, 15, True),
    (OverTimeLimit, 16, False),
]


@pytest.mark.parametrize(("cls", "code", "transient"), FAMILY, ids=[c.__name__ for c, *_ in FAMILY])
def test_each_error_has_its_exit_code_and_says_whether_a_retry_can_help(
        cls: type[MediaError], code: int, transient: bool) -> None:
    exc = cls("/srv/media/library/a.jpg", "why")
    assert exc.exit_code == code
    assert exc.transient is transient
    assert str(exc) == "/srv/media/library/a.jpg: why"


def test_exit_codes_are_distinct_and_keep_config_at_3() -> None:
    """Each kind of the family has its own code (a narrower error elsewhere, such as a
    template's ``ConfigError``, shares its parent's)."""
    kinds = [kind for kind in errors.MediapipeError.kinds()
             if kind.__module__.startswith("mediapipe.errors")]
    assert len({kind.exit_code for kind in kinds}) == len(kinds)
    assert ConfigError.exit_code == 3


def test_the_table_of_exit_codes_names_every_kind_and_the_outcomes_no_kind_carries() -> None:
    kinds = {errors.MediapipeError.by_name(name) for name in errors.EXIT_CODES.values()} - {None}
    assert {c for c, *_ in FAMILY} | {ConfigError, errors.BrokerUnreachable,
                                      errors.MediaRootBusy, errors.Unserved} == kinds
    assert {code: errors.EXIT_CODES[code] for code in (0, 2, 70, 130)} == {
        0: "ok", 2: "usage", 70: "InternalError", 130: "interrupted"}
    assert click.UsageError("x").exit_code == errors.EXIT_USAGE


@pytest.mark.parametrize("unit", ["deploy/systemd/mediapipe-ingest@.service",
                                  "deploy/nixos/mediapipe.nix"])
def test_a_timer_finding_the_media_root_busy_is_no_failure(unit: str) -> None:
    """The ingest timer's unit counts ``MediaRootBusy`` (another run holds the root) a success."""
    text = (Path(__file__).parents[1] / unit).read_text()
    assert re.findall(r"SuccessExitStatus\s*=\s*(\d+)", text) == [
        str(errors.MediaRootBusy.exit_code)]


@pytest.mark.parametrize("cls", [c for c, *_ in FAMILY], ids=[c.__name__ for c, *_ in FAMILY])
def test_every_error_survives_a_trip_through_json(cls: type[MediaError]) -> None:
    data = json.loads(json.dumps(cls("/p", "why").to_dict()))
    assert data == {"type": cls.__name__, "path": "/p", "message": "why",
                    "transient": cls("/p", "why").transient}
    record = ErrorRecord.from_dict(data)
    back = record.error()
    assert type(back) is cls and (back.path, back.reason) == ("/p", "why")
    assert record.exit_code == cls.exit_code


@pytest.mark.parametrize("error", [ConfigError("image.quality", "must be 1-100"),
                                   errors.BrokerUnreachable("redis://q", "refused"),
                                   errors.MediaRootBusy("/srv/media", "pid 7")],
                         ids=lambda e: type(e).__name__)
def test_an_error_keeps_its_exit_code_as_a_record_wherever_it_was_raised(
        error: errors.MediapipeError) -> None:
    record = ErrorRecord.from_dict(json.loads(json.dumps(error.record().to_dict())))
    assert record.type == type(error).__name__ and record.exit_code == error.exit_code


def test_one_root_for_every_error_mediapipe_raises() -> None:
    for cls in (MediaError, ConfigError, errors.BrokerUnreachable, errors.MediaRootBusy):
        assert issubclass(cls, errors.MediapipeError)
    assert ErrorRecord.of(KeyError("x")).type == "InternalError"
    assert ErrorRecord.of(KeyError("x")).exit_code == 70


def test_only_a_killed_ffmpeg_is_a_transient_transcode_failure() -> None:
    assert TranscodeFailed("a.mkv", "killed", returncode=-9).transient
    assert not TranscodeFailed("a.mkv", "bad input", returncode=1).transient


def test_every_exported_error_is_in_the_table() -> None:
    exported = [getattr(errors, n) for n in errors.__all__]
    classes = {c for c in exported if isinstance(c, type) and issubclass(c, MediaError)}
    assert classes == {c for c, *_ in FAMILY}


OS_ERRORS = [
    # id, errno, writing, the error it is, a word of its message
    ("missing", errno.ENOENT, False, Unreadable, "No such file"),
    ("folder-as-file", errno.EISDIR, False, Unreadable, "is a directory"),
    ("no-read-permission", errno.EACCES, False, Unreadable, "Permission denied"),
    ("dangling-link-loop", errno.ELOOP, False, Unreadable, "symbolic links"),
    ("a-file-as-folder", errno.ENOTDIR, False, Unreadable, "Not a directory"),
    ("failing-disk-read", errno.EIO, False, SourceOffline, "Input/output"),
    ("stale-share-read", errno.ESTALE, False, SourceOffline, "tale"),
    ("dropped-share-read", errno.ENOTCONN, False, SourceOffline, "not connected"),
    ("no-write-permission", errno.EACCES, True, PermissionDenied, "Permission denied"),
    ("not-permitted", errno.EPERM, True, PermissionDenied, "not permitted"),
    ("read-only-filesystem", errno.EROFS, True, PermissionDenied, "Read-only"),
    ("disk-full", errno.ENOSPC, True, StorageOffline, "No space"),
    ("quota", errno.EDQUOT, True, StorageOffline, "quota"),
    ("stale-mount", errno.ESTALE, True, StorageOffline, "tale"),
    ("failing-disk-write", errno.EIO, True, StorageOffline, "Input/output"),
]


@pytest.mark.parametrize(("code", "writing", "cls", "word"), [o[1:] for o in OS_ERRORS],
                         ids=[o[0] for o in OS_ERRORS])
def test_every_file_system_error_class_has_its_typed_error(code: int, writing: bool,
                                                           cls: type[MediaError],
                                                           word: str) -> None:
    exc = OSError(code, os.strerror(code), "/x/a.jpg")
    error = errors.from_os_error("/x/a.jpg", exc, writing=writing)
    assert type(error) is cls and error.path == "/x/a.jpg"
    assert word in error.reason, error.reason


def test_denied_is_reported_as_what_it_is_and_not_retried() -> None:
    error = errors.from_os_error("/m/thumbs", PermissionError(errno.EACCES, "Permission denied"),
                                 writing=True)
    assert isinstance(error, PermissionDenied) and not error.transient
    assert "offline" not in str(error).lower()


@pytest.mark.parametrize(("codes", "code"), [
    ([], 0), ([0, 0], 0), ([12], 12), ([12, 12, 0], 12), ([12, 5], 1), ([4, 13], 1),
], ids=["nothing", "all-ok", "one-missing", "all-missing", "mixed", "mixed-storage"])
def test_a_batch_exits_with_its_failures_shared_code_else_1(codes: list[int], code: int) -> None:
    assert errors.combined_exit_code(codes) == code

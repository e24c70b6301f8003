"""The error family: which failures a retry can fix, and the CLI exit code each one maps to."""

from __future__ import annotations

import json

import pytest

from mediapipe import errors
from mediapipe.errors import (
    CatalogError,
    ConfigError,
    CorruptMedia,
    IntegrityError,
    MediaError,
    PathEscape,
    StorageOffline,
    TooLarge,
    TranscodeFailed,
    UnsupportedMedia,
    error_from_dict,
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
]


@pytest.mark.parametrize(("cls", "code", "transient"), FAMILY, ids=[c.__name__ for c, *_ in FAMILY])
def test_each_error_has_its_exit_code_and_says_whether_a_retry_can_help(
        cls: type[MediaError], code: int, transient: bool) -> None:
    exc = cls("/srv/media/library/a.jpg", "why")
    assert exc.exit_code == code
    assert exc.transient is transient
    assert str(exc) == "/srv/media/library/a.jpg: why"


def test_exit_codes_are_distinct_and_keep_config_at_3() -> None:
    codes = [code for _, code, _ in FAMILY] + [ConfigError.exit_code]
    assert len(codes) == len(set(codes))
    assert ConfigError.exit_code == 3


@pytest.mark.parametrize("cls", [c for c, *_ in FAMILY], ids=[c.__name__ for c, *_ in FAMILY])
def test_every_error_survives_a_trip_through_json(cls: type[MediaError]) -> None:
    data = json.loads(json.dumps(cls("/p", "why").to_dict()))
    assert data == {"type": cls.__name__, "path": "/p", "message": "why",
                    "transient": cls("/p", "why").transient}
    back = error_from_dict(data)
    assert type(back) is cls and (back.path, back.reason) == ("/p", "why")


def test_only_a_killed_ffmpeg_is_a_transient_transcode_failure() -> None:
    assert TranscodeFailed("a.mkv", "killed", returncode=-9).transient
    assert not TranscodeFailed("a.mkv", "bad input", returncode=1).transient


def test_every_exported_error_is_in_the_table() -> None:
    exported = {getattr(errors, n) for n in errors.__all__}
    classes = {c for c in exported if isinstance(c, type) and issubclass(c, MediaError)}
    assert classes == {c for c, *_ in FAMILY}

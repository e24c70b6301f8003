"""A step reads the very file the scan saw: held open, verified, and read through that hold."""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

import pytest

from mediapipe import sources
from mediapipe.errors import SourceOffline, Unreadable


def _identity(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_dev, st.st_ino


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "library" / "a.jpg"
    path.parent.mkdir()
    path.write_bytes(b"the photo the scan saw")
    return path


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    path = tmp_path / "outside.jpg"
    path.write_bytes(b"somebody else's file")
    return path


def _swap_in_link(path: Path, target: Path) -> Path:
    """Put a symbolic link to ``target`` where ``path`` is, atomically; the file moves aside."""
    aside = path.with_name(".aside")
    os.rename(path, aside)
    link = path.with_name(".link")
    link.symlink_to(target)
    os.replace(link, path)
    return aside


def test_a_source_named_by_its_path_is_read_by_that_path(photo: Path) -> None:
    source = sources.Source.of(photo)
    assert (source.path, source.name) == (photo, str(photo))
    assert sources.Source.of(source) is source


def test_a_held_source_is_read_from_the_hold_even_after_a_link_is_swapped_in(
        photo: Path, outside: Path) -> None:
    with sources.held(photo, _identity(photo)) as source:
        _swap_in_link(photo, outside)
        assert photo.read_bytes() == b"somebody else's file"  # the name now leads outside
        with source.open() as fh:
            assert fh.read() == b"the photo the scan saw"
        assert source.path == photo and str(source) == str(photo)  # messages name the source


def test_a_child_process_reads_the_held_file_too(photo: Path, outside: Path) -> None:
    """ffmpeg and exiftool run as children: the name they are given opens the held file."""
    with sources.held(photo, _identity(photo)) as source:
        _swap_in_link(photo, outside)
        out = subprocess.run(["cat", source.name], capture_output=True, check=True)
    assert out.stdout == b"the photo the scan saw"


def test_the_hold_stats_the_opened_file_and_is_released_after(photo: Path) -> None:
    with sources.held(photo, _identity(photo)) as source:
        st = source.stat()
        assert (st.st_dev, st.st_ino) == _identity(photo)
        assert source.name != str(photo)
    with pytest.raises(FileNotFoundError):
        os.stat(source.name)  # the descriptor is closed: its name leads nowhere


def test_another_file_where_the_scan_saw_this_one_is_not_opened_for_reading(
        photo: Path, outside: Path) -> None:
    scanned = _identity(photo)
    _swap_in_link(photo, outside)
    with (pytest.raises(SourceOffline, match="replaced since the scan") as err,
          sources.held(photo, scanned)):
        pytest.fail("the block ran on another file")
    assert err.value.transient  # left pending: the next scan decides what the file is


def test_a_source_gone_since_the_scan_is_offline_not_broken(photo: Path) -> None:
    scanned = _identity(photo)
    photo.unlink()  # a share unmounted: the file is not there now
    with pytest.raises(SourceOffline, match="cannot be read now") as err, \
            sources.held(photo, scanned):
        pass
    assert err.value.transient


def test_a_missing_file_nobody_scanned_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(Unreadable), sources.held(tmp_path / "nothing.jpg"):
        pass


def test_a_fifo_in_a_sources_place_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "a.jpg"
    os.mkfifo(fifo)
    with pytest.raises(Unreadable, match="not a regular file"), sources.held(fifo):
        pass


def test_holds_are_values_a_hold_inside_a_hold_leaves_the_outer_one_readable(
        photo: Path) -> None:
    with sources.held(photo, _identity(photo)) as outer:
        with sources.held(photo, _identity(photo)) as inner:
            assert inner.name != outer.name
        with outer.open() as fh:
            assert fh.read() == b"the photo the scan saw"


def test_a_readers_words_about_a_held_source_do_not_name_the_hold(
        tmp_path: Path, media_root: Path) -> None:
    """PyAV and ffmpeg quote the name they opened; the error names the source instead."""
    from mediapipe.config import Config
    from mediapipe.pipeline import process_asset

    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\0\0\0\x18ftypisom" + bytes(range(256)) * 8)
    result = process_asset(bad, "0f1e2d3c-4b5a-4968-8776-655443322110", media_root, Config(),
                           identity=_identity(bad))
    error = result.stages["metadata"].error
    assert error and error.type == "CorruptMedia" and error.path == str(bad)
    assert "Invalid data found" in error.message and "/proc/" not in error.message


@pytest.mark.parametrize(("said", "told"), [
    ("Invalid data found when processing input: '/proc/7/fd/3'",
     "Invalid data found when processing input"),
    ("file:/proc/7/fd/3: Invalid data found when processing input",
     "Invalid data found when processing input"),
    ("Error opening input file /proc/7/fd/3.", "Error opening input file the source."),
])
def test_the_holds_name_is_taken_out_of_what_ffmpeg_and_pyav_say(said: str, told: str) -> None:
    assert sources.reason(said) == told


def _fingerprint(path: Path) -> bytes:
    return sources.fingerprint(path, path.stat().st_size)


@pytest.mark.parametrize("at", [0, 64 * 1024 - 1, 300 * 1024 - 1], ids=["head", "end-of-head",
                                                                          "last-byte"])
def test_a_fingerprint_changes_with_a_byte_in_the_first_or_last_64_kib(
        tmp_path: Path, at: int) -> None:
    path = tmp_path / "a.jpg"
    data = bytearray(os.urandom(300 * 1024))
    path.write_bytes(data)
    before = _fingerprint(path)
    assert _fingerprint(path) == before and len(before) == 8
    data[at] ^= 0xFF
    path.write_bytes(data)
    assert _fingerprint(path) != before


def test_a_fingerprint_reads_only_the_ends_of_a_big_file(tmp_path: Path) -> None:
    """Its limit, the price of reading 128 KiB a file: a change in the middle is not seen
    (ctime and mtime are what catch that on every POSIX filesystem)."""
    path = tmp_path / "a.mp4"
    data = bytearray(os.urandom(1024 * 1024))
    path.write_bytes(data)
    before = _fingerprint(path)
    data[512 * 1024] ^= 0xFF
    path.write_bytes(data)
    assert _fingerprint(path) == before


def test_a_small_files_fingerprint_covers_every_byte(tmp_path: Path) -> None:
    path = tmp_path / "a.gif"
    for size in (0, 1, 1000, 100 * 1024):
        data = bytearray(os.urandom(size))
        path.write_bytes(data)
        before = _fingerprint(path)
        for at in range(0, size, max(1, size // 7)):
            data[at] ^= 0xFF
            path.write_bytes(data)
            assert _fingerprint(path) != before
            data[at] ^= 0xFF


def test_a_source_held_by_another_spelling_of_its_path_is_the_scanned_file(
        photo: Path, outside: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(photo.parent.parent)
    with sources.held("library/./a.jpg", _identity(photo)) as source:
        _swap_in_link(photo, outside)
        with source.open() as fh:
            assert fh.read() == b"the photo the scan saw"


@pytest.mark.parametrize("mode, err, expected", [
    (0o000, errno.EACCES, True),   # its own mode refuses: permanent, recorded once
    (0o644, errno.EACCES, False),  # the modes allow it: a share refusing for now (transient)
    (0o000, errno.EIO, False),     # an I/O error is never a permission
], ids=["mode-refuses", "share-refuses", "eio"])
def test_a_permission_refused_by_the_files_own_mode_is_told_from_a_share_refusing(
        tmp_path: Path, mode: int, err: int, expected: bool) -> None:
    from mediapipe.sources import denied

    f = tmp_path / "f.jpg"
    f.write_bytes(b"x")
    f.chmod(mode)
    if mode == 0 and os.access(f, os.R_OK) and expected:
        pytest.skip("root with CAP_DAC_OVERRIDE reads any mode (the reliability test drops it)")
    assert denied(str(f), OSError(err, os.strerror(err))) is expected

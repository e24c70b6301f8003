"""The media root's own files are never written through a link: nothing outside it changes.

Whoever can write the media root can plant ``.mediapipe.lock``, ``catalog.db``, its ``-wal``,
``-shm`` or ``-journal``, or the import ledger as a symbolic link (to a file elsewhere, or
dangling), a hard link to a file elsewhere, or a FIFO. Each is refused with ``PathEscape``
(exit 9) before a byte is written, and the file it leads to is as it was.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from fixtures import images
from fixtures.imports import known_reader
from mediapipe.config import Config
from mediapipe.errors import PathEscape
from mediapipe.index import lock
from mediapipe.index.catalog import CATALOG_NAME, Catalog
from mediapipe.library import imports, storage

PRECIOUS = b"precious: not mediapipe's to write\n"


def _symlink(victim: Path, planted: Path) -> None:
    planted.symlink_to(victim)


def _dangling(victim: Path, planted: Path) -> None:
    victim.unlink()
    planted.symlink_to(victim)


def _hard_link(victim: Path, planted: Path) -> None:
    os.link(victim, planted)


def _fifo(victim: Path, planted: Path) -> None:
    os.mkfifo(planted)


PLANTS: dict[str, Callable[[Path, Path], None]] = {
    "symlink to a file elsewhere": _symlink, "dangling symlink": _dangling,
    "hard link to a file elsewhere": _hard_link, "fifo": _fifo,
}


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A file outside the media root that must come through untouched (or not appear)."""
    path = tmp_path / "elsewhere" / "victim"
    path.parent.mkdir()
    path.write_bytes(PRECIOUS)
    return path


def _untouched(victim: Path, how: str) -> None:
    if how == "dangling symlink":
        assert not victim.exists(), "a file was created where the dangling link pointed"
    else:
        assert victim.read_bytes() == PRECIOUS


# --- the one rule ------------------------------------------------------------------------------

@pytest.mark.parametrize("how", list(PLANTS))
def test_open_own_refuses_a_planted_file_and_writes_nothing(
        how: str, tmp_path: Path, victim: Path) -> None:
    planted = tmp_path / "own"
    PLANTS[how](victim, planted)
    with pytest.raises(PathEscape, match="own files are never written through a link") as err:
        storage.open_own(planted, os.O_RDWR | os.O_CREAT)
    assert err.value.exit_code == 9
    with pytest.raises(PathEscape):
        storage.refuse_link(planted)
    _untouched(victim, how)


def test_open_own_makes_a_new_file_with_its_mode_and_opens_a_plain_one(tmp_path: Path) -> None:
    fd = storage.open_own(tmp_path / "new", os.O_WRONLY | os.O_CREAT, 0o600)
    os.close(fd)
    assert (tmp_path / "new").stat().st_mode & 0o777 == 0o600 & ~_umask()
    os.close(storage.open_own(tmp_path / "new", os.O_RDWR))
    storage.refuse_link(tmp_path / "new")
    storage.refuse_link(tmp_path / "not-there")  # nothing there: nothing to refuse


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# --- each of the media root's own files ---------------------------------------------------------

@pytest.mark.parametrize("how", list(PLANTS))
def test_the_lock_file_planted_is_refused_and_its_target_kept(
        how: str, media_root: Path, victim: Path) -> None:
    PLANTS[how](victim, media_root / lock.LOCK_NAME)
    with pytest.raises(PathEscape, match=r"\.mediapipe\.lock"), lock.hold(media_root, "test"):
        pass
    _untouched(victim, how)


@pytest.mark.parametrize("name", [CATALOG_NAME, f"{CATALOG_NAME}-wal", f"{CATALOG_NAME}-shm",
                                  f"{CATALOG_NAME}-journal"])
@pytest.mark.parametrize("how", list(PLANTS))
def test_the_catalog_or_a_file_sqlite_keeps_beside_it_planted_is_refused_before_sqlite_opens(
        how: str, name: str, media_root: Path, victim: Path) -> None:
    PLANTS[how](victim, media_root / name)
    with pytest.raises(PathEscape, match=name):
        Catalog.open(media_root)
    _untouched(victim, how)
    for side in ("-wal", "-shm", "-journal"):  # nothing was made elsewhere either
        assert not Path(f"{victim}{side}").exists()


def test_a_catalog_made_here_is_a_plain_file_of_the_media_root(media_root: Path) -> None:
    with Catalog.open(media_root) as cat:
        assert cat.journal_mode == "wal"
    st = os.lstat(media_root / CATALOG_NAME)
    assert st.st_nlink == 1 and st.st_size > 0


@pytest.mark.parametrize("how", ["symlink to a file elsewhere", "hard link to a file elsewhere"])
def test_the_import_ledger_planted_stops_the_import_before_anything_is_placed(
        how: str, tmp_path: Path, media_root: Path, victim: Path) -> None:
    cfg = Config()
    PLANTS[how](victim, media_root / imports.NAMES.format(owner=cfg.owner_id))
    src = images.jpeg(tmp_path / "a.jpg", (64, 48))
    with pytest.raises(PathEscape, match=r"names-admin\.jsonl"):
        imports.import_files([src], media_root, cfg, reader=known_reader)
    _untouched(victim, how)
    assert src.is_file()
    assert not [p for p in (media_root / "library").rglob("*") if p.is_file()
                and p.name != storage.MARKER], "nothing placed"


@pytest.mark.parametrize("how", ["symlink to a file elsewhere", "dangling symlink"])
def test_catalog_check_refuses_a_planted_shm_before_sqlite_reads(
        how: str, media_root: Path, victim: Path) -> None:
    from mediapipe.index.repair import check

    with Catalog.open(media_root):
        pass
    PLANTS[how](victim, media_root / f"{CATALOG_NAME}-shm")
    with pytest.raises(PathEscape, match="-shm"):
        check(media_root, Config())
    _untouched(victim, how)


def test_init_does_not_copy_a_linked_markers_target_into_the_media_root(
        media_root: Path, victim: Path) -> None:
    marker = media_root / "thumbs" / storage.MARKER
    marker.unlink()
    marker.symlink_to(victim)
    assert all(s.ok for s in storage.init_root(media_root))
    assert not marker.is_symlink() and PRECIOUS not in marker.read_bytes()
    assert victim.read_bytes() == PRECIOUS

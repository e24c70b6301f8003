"""A catalog or media root that SQLite cannot use: one line, exit 11, never a traceback.

Each case damages a real ``catalog.db`` (or what surrounds it) the way a home server does —
garbage over its header, cut in half, made immutable, replaced by a folder, locked by another
program, its media root mounted read-only — and runs the real ``mediapipe ingest`` and ``ls``.
Also at the media root's edge: ``init`` on a read-only root fails, and ``thumbnail`` takes a
file name that is not UTF-8.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fixtures import images
from mediapipe.index import sqlerrors
from tests.support.cli import mediapipe


def _mount_ro(src: Path, dst: Path) -> bool:
    dst.mkdir(exist_ok=True)
    return subprocess.run(["mount", "--bind", "-o", "ro", str(src), str(dst)],
                          capture_output=True, check=False).returncode == 0


@pytest.fixture
def ingested(tmp_path: Path, media_root: Path) -> tuple[Path, Path]:
    lib = tmp_path / "lib"
    lib.mkdir()
    for i in range(3):
        images.noise_jpeg(lib / f"IMG_{i}.jpg", (320, 240), seed=i)
    assert mediapipe("ingest", str(lib), "--media-root", str(media_root),
                      "--workers", "1").returncode == 0
    return lib, media_root


def _garbage(db: Path) -> contextlib.AbstractContextManager[None]:
    with open(db, "r+b") as fh:
        fh.write(b"\x00not sqlite" * 100)
    return contextlib.nullcontext()


def _truncated(db: Path) -> contextlib.AbstractContextManager[None]:
    os.truncate(db, 1000)
    return contextlib.nullcontext()


@contextlib.contextmanager
def _immutable(db: Path) -> Iterator[None]:
    if subprocess.run(["chattr", "+i", str(db)], capture_output=True).returncode:
        pytest.skip("chattr +i needs root and a filesystem with attributes")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(db)], check=False)


def _a_folder(db: Path) -> contextlib.AbstractContextManager[None]:
    for p in db.parent.glob("catalog.db*"):
        p.unlink()
    db.mkdir()
    return contextlib.nullcontext()


# another program: a process of its own holds the catalog's write lock until its stdin closes
_HOLD_LOCK = ("import sqlite3, sys; db = sqlite3.connect(sys.argv[1], isolation_level=None); "
              "db.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); sys.stdin.read()")


@contextlib.contextmanager
def _locked(db: Path) -> Iterator[None]:
    holder = subprocess.Popen([sys.executable, "-c", _HOLD_LOCK, str(db)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert holder.stdin is not None and holder.stdout is not None
    try:
        assert holder.stdout.readline() == b"locked\n"
        yield
    finally:
        holder.stdin.close()
        holder.wait(30)


CASES: dict[str, Callable[[Path], contextlib.AbstractContextManager[None]]] = {
    "garbage over its header": _garbage, "cut short": _truncated, "immutable": _immutable,
    "a folder": _a_folder, "locked by another program": _locked,
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_catalog_sqlite_cannot_use_is_one_line_and_exit_11(
        case: str, ingested: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    lib, root = ingested
    # a lock held for good outlasts any busy timeout: a short one (not 10 s) shows the same end
    monkeypatch.setattr(sqlerrors, "BUSY_TIMEOUT_S", 0.5)
    with CASES[case](root / "catalog.db"):
        done = mediapipe("ingest", str(lib), "--media-root", str(root), "--force")
        assert done.returncode == 11, done.stderr
        assert "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
        assert "catalog.db" in done.stderr and "SQLite" in done.stderr
        if case == "locked by another program":  # ls reads (mode=ro): a writer's lock
            listed = mediapipe("ls", "--media-root", str(root))  # does not stop it
            assert (listed.returncode, listed.stdout.count("IMG_")) == (0, 3), listed.stderr


def test_a_read_only_media_root_fails_in_one_line(ingested: tuple[Path, Path],
                                                   tmp_path: Path) -> None:
    lib, root = ingested
    ro = tmp_path / "ro"
    if not _mount_ro(root, ro):
        pytest.skip("cannot bind-mount read-only here (not root)")
    try:
        done = mediapipe("ingest", str(lib), "--media-root", str(ro), "--force")
        assert done.returncode in (11, 13), done.stderr
        assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
        init = mediapipe("init", str(ro))
        assert init.returncode == 13 and "ok" not in init.stdout.lower().split()
    finally:
        subprocess.run(["umount", str(ro)], check=False)


def test_thumbnail_of_a_name_that_is_not_utf8(tmp_path: Path) -> None:
    name = os.fsdecode(b"caf\xe9.jpg")  # Latin-1, as an old camera card or SMB share gives
    images.noise_jpeg(tmp_path / name, (64, 48), seed=3)
    out = tmp_path / "out"
    out.mkdir()
    done = mediapipe("thumbnail", tmp_path / name, "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert len(list(out.iterdir())) == 2 and not list(out.glob("*.mptmp"))


def test_check_lists_outputs_gone_and_exits_1(ingested: tuple[Path, Path]) -> None:
    _lib, root = ingested
    assert mediapipe("catalog", "check", "--media-root", str(root)).returncode == 0
    shutil.rmtree(root / "thumbs" / "admin")
    done = mediapipe("catalog", "check", "--media-root", str(root))
    assert done.returncode == 1 and "--missing" in done.stderr
    assert "6 outputs missing" in done.stdout

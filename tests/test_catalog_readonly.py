"""A read-only catalog is still readable: ``ls``, ``catalog check`` and ``ingest --dry-run`` open it
read-only (``mode=ro``, ``immutable`` where SQLite cannot make its WAL index) and change
nothing; no open, failed or not, leaves side files with modes other than the catalog's, so a
catalog made writable again is writable at once. Run as root without its capabilities (file
modes then bind root as they bind anyone)."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures import images
from mediapipe.index.readonly import SIDE_FILES

ROOT = Path(__file__).resolve().parents[1]
NO_CAPS = ["setpriv", "--bounding-set=-all", "--inh-caps=-all"]


def mediapipe(*args: str, privileged: bool = False) -> subprocess.CompletedProcess[str]:
    # a process of its own (not tests.support.cli): capabilities are dropped for a whole process
    argv = [sys.executable, "-m", "mediapipe", *args]
    return subprocess.run(argv if privileged else NO_CAPS + argv, capture_output=True,
                          text=True, cwd=ROOT, timeout=180,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


@pytest.fixture(scope="module")
def modes_bind() -> None:
    probe = subprocess.run([*NO_CAPS, "true"], capture_output=True)
    if probe.returncode:
        pytest.skip("setpriv cannot drop capabilities here")


@pytest.fixture
def ingested(tmp_path: Path, media_root: Path, modes_bind: None) -> Iterator[tuple[Path, Path]]:
    lib = tmp_path / "lib"
    lib.mkdir()
    for i in range(3):
        images.noise_jpeg(lib / f"IMG_{i}.jpg", (320, 240), seed=i)
    done = mediapipe("ingest", str(lib), "--media-root", str(media_root), "--workers", "1",
                     privileged=True)
    assert done.returncode == 0, done.stderr
    yield lib, media_root
    media_root.chmod(0o755)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def side_modes(db: Path) -> dict[str, int]:
    return {side: stat.S_IMODE(os.lstat(f"{db}{side}").st_mode) for side in SIDE_FILES
            if os.path.lexists(f"{db}{side}")}


@pytest.mark.parametrize("folder_mode", [0o755, 0o555], ids=["catalog-0444",
                                                              "catalog-and-folder-read-only"])
def test_a_read_only_catalog_is_read_and_left_as_it_was(
        ingested: tuple[Path, Path], folder_mode: int) -> None:
    lib, root = ingested
    db = root / "catalog.db"
    db.chmod(0o444)
    root.chmod(folder_mode)
    before = digest(db)
    listed = mediapipe("ls", "--media-root", str(root))
    assert (listed.returncode, listed.stdout.count("IMG_")) == (0, 3), listed.stderr
    checked = mediapipe("catalog", "check", "--media-root", str(root))
    assert checked.returncode == 0, checked.stderr
    dry = mediapipe("ingest", str(lib), "--media-root", str(root), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "3 unchanged" in dry.stdout
    assert digest(db) == before, "nothing written"
    assert set(side_modes(db).values()) <= {0o444}, "side files as the catalog is"


def test_a_failed_write_leaves_no_side_file_that_outlives_the_fix(
        ingested: tuple[Path, Path]) -> None:
    lib, root = ingested
    db = root / "catalog.db"
    db.chmod(0o444)
    refused = mediapipe("ingest", str(lib), "--media-root", str(root))
    assert refused.returncode == 11, refused.stderr
    assert set(side_modes(db).values()) <= {0o444}
    db.chmod(0o644)  # the operator's fix: nothing else (no chattr, no rm of -shm)
    again = mediapipe("ingest", str(lib), "--media-root", str(root))
    assert again.returncode == 0, again.stderr
    assert set(side_modes(db).values()) <= {0o644}

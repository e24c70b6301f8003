"""Hostile files and names at the CLI's edge: no hang, one clear error, nothing hidden or forged.

- a FIFO (or any file that is not regular) named on the command line or met by ``import`` is
  ``Unreadable`` (exit 12) at once, never waited on, and the rest of the batch goes on;
- a full disk is storage offline (exit 4) wherever it is met, the catalog included, and a
  ``--json`` command that an error ends still prints one JSON object;
- text output escapes control characters in names (one asset, one line; no terminal escape
  reaches the terminal), and JSON gives a name that is not UTF-8 as ``\\xNN`` text with its
  exact bytes in base64 (``path_bytes``), never a lone surrogate.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures import images
from mediapipe.errors import StorageOffline
from mediapipe.index.catalog import Catalog
from mediapipe.index.scan import LibraryScan
from mediapipe.index.sqlerrors import catalog_error
from mediapipe.shown import json_names, shown

TIMEOUT_S = 60  # far beyond what any of these takes: past it, the command hangs


def mediapipe(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    # a process of its own (not tests.support.cli): a command that hangs on a FIFO is killed
    # at TIMEOUT_S, and the exact bytes it writes to its stdout and stderr are what is checked
    proc = subprocess.run([sys.executable, "-m", "mediapipe", *args], capture_output=True,
                          timeout=TIMEOUT_S, check=False, cwd=cwd)
    assert b"Traceback" not in proc.stderr, proc.stderr.decode(errors="replace")
    return proc


# --- FIFOs and other files that are not regular --------------------------------------------------

@pytest.fixture
def fifo_and_good(tmp_path: Path) -> tuple[Path, Path]:
    good = images.jpeg(tmp_path / "a.jpg", (64, 48))
    fifo = tmp_path / "p.jpg"
    os.mkfifo(fifo)
    return good, fifo


@pytest.mark.parametrize("command", ["info", "thumbnail"])
def test_a_fifo_is_refused_at_once_and_the_good_file_still_done(
        command: str, fifo_and_good: tuple[Path, Path], tmp_path: Path) -> None:
    good, fifo = fifo_and_good
    extra = ["--out", str(tmp_path / "out")] if command == "thumbnail" else []
    done = mediapipe(command, str(fifo), str(good), *extra, "--json")
    assert done.returncode == 12
    assert b"p.jpg: not a regular file" in done.stderr
    results = json.loads(done.stdout)
    assert [("error" in r) for r in results] == [True, False]
    if command == "thumbnail":
        assert (tmp_path / "out" / "a_preview.jpeg").is_file()


def test_a_socket_and_a_link_to_a_device_are_refused_as_what_they_are(
        fifo_and_good: tuple[Path, Path], tmp_path: Path) -> None:
    import socket

    good, _ = fifo_and_good
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(tmp_path / "s.jpg"))
        (tmp_path / "z.jpg").symlink_to("/dev/zero")
        done = mediapipe("info", str(tmp_path / "s.jpg"), str(tmp_path / "z.jpg"), str(good))
    assert done.returncode == 12, "not regular: unreadable, never 'retried on the next run'"
    assert b"s.jpg: not a regular file (a socket)" in done.stderr
    assert b"z.jpg: not a regular file (a device)" in done.stderr


def test_a_fifo_as_config_file_is_a_config_error_at_once_said_in_json_too(
        fifo_and_good: tuple[Path, Path], tmp_path: Path) -> None:
    good, _ = fifo_and_good
    os.mkfifo(tmp_path / "settings.toml")
    done = mediapipe("--config", str(tmp_path / "settings.toml"), "info", str(good), "--json")
    assert done.returncode == 3
    assert b"not a regular file" in done.stderr
    assert json.loads(done.stdout)["error"]["type"] == "ConfigError"


def test_transcode_of_a_fifo_is_refused_at_once(fifo_and_good: tuple[Path, Path]) -> None:
    _, fifo = fifo_and_good
    assert mediapipe("transcode", str(fifo), "--dry-run").returncode == 12


def test_import_places_the_good_file_and_refuses_the_fifo_named_or_found(
        fifo_and_good: tuple[Path, Path], tmp_path: Path, media_root: Path) -> None:
    good, fifo = fifo_and_good
    folder = tmp_path / "camera"
    folder.mkdir()
    os.mkfifo(folder / "q.jpg")
    images.jpeg(folder / "c.jpg", (32, 24))
    done = mediapipe("import", str(good), str(fifo), str(folder), "--media-root",
                     str(media_root), "--json")
    assert done.returncode == 12, done.stderr
    report = json.loads(done.stdout)
    assert sorted(Path(p["source"]).name for p in report["placed"]) == ["a.jpg", "c.jpg"]
    assert [Path(f["path"]).name for f in report["failed"]] == ["q.jpg"]
    assert b"p.jpg: not a regular file" in done.stderr


# --- a full disk --------------------------------------------------------------------------------

def test_a_full_catalog_is_storage_offline_not_a_catalog_error(
        tmp_path: Path, media_root: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    for i in range(300):
        (lib / f"{'x' * 120}{i}.jpg").write_bytes(b"\xff\xd8")
    with Catalog.open(media_root) as cat:
        [(pages,)] = list(cat.rows("PRAGMA page_count"))
        cat._db.execute(f"PRAGMA max_page_count = {pages + 1}")  # as good as full now
        with pytest.raises(StorageOffline, match="the disk is full") as err:
            cat.diff(LibraryScan(lib, ()))
    assert err.value.exit_code == 4 and err.value.transient


def test_catalog_error_names_sqlite_full_the_disk_is_full() -> None:
    full = sqlite3.connect(":memory:")
    full.execute("CREATE TABLE t (x BLOB)")
    full.execute("PRAGMA max_page_count = 2")
    with pytest.raises(sqlite3.Error) as err:
        full.execute("INSERT INTO t VALUES (zeroblob(100000))")
    assert isinstance(catalog_error("catalog.db", err.value), StorageOffline)


def test_a_json_command_an_error_ends_prints_one_error_object(tmp_path: Path) -> None:
    done = mediapipe("ls", "--media-root", str(tmp_path / "not-a-root"), "--json")
    assert done.returncode == 4
    out = json.loads(done.stdout)
    assert out["exit_code"] == 4 and out["error"]["type"] == "StorageOffline"
    assert len(done.stderr.decode().strip().splitlines()) == 1


# --- names --------------------------------------------------------------------------------------

HOSTILE = {  # raw name -> how text output must show it
    b"new\nline.jpg": "new\\nline.jpg",
    b"\x1b[31mred.jpg": "\\x1b[31mred.jpg",
    b"caf\xe9.jpg": "caf\\xe9.jpg",  # Latin-1: not UTF-8
    b"back\\slash.jpg": "back\\\\slash.jpg",  # a backslash is escaped, so nothing is forged
}


@pytest.fixture
def ingested(tmp_path: Path, media_root: Path) -> Path:
    lib = tmp_path / "lib"
    lib.mkdir()
    for i, raw in enumerate(HOSTILE):
        made = images.jpeg(lib / f"tmp{i}.jpg", (32, 24))
        os.rename(made, os.path.join(os.fsencode(lib), raw))
    done = mediapipe("ingest", str(lib), "--media-root", str(media_root), "--workers", "1")
    assert done.returncode == 0, done.stderr
    return media_root


def test_text_ls_prints_one_line_per_asset_with_control_characters_escaped(
        ingested: Path) -> None:
    done = mediapipe("ls", "--media-root", str(ingested))
    lines = done.stdout.decode("utf-8").splitlines()
    assert len(lines) == len(HOSTILE)
    assert b"\x1b" not in done.stdout and b"\r" not in done.stdout
    assert sorted(line.rsplit("/", 1)[1] for line in lines) == sorted(HOSTILE.values())


def test_json_ls_is_strict_unicode_with_the_exact_bytes_of_a_name_that_is_not_utf8(
        ingested: Path) -> None:
    done = mediapipe("ls", "--media-root", str(ingested), "--json")
    text = done.stdout.decode("utf-8")
    assert "\\udc" not in text, "a lone surrogate is no JSON a strict parser reads"
    items = json.loads(text)
    names = {os.path.basename(base64.b64decode(i["path_bytes"]) if "path_bytes" in i
                              else os.fsencode(i["path"])) for i in items}
    assert names == set(HOSTILE)
    latin = next(i for i in items if "path_bytes" in i)
    assert latin["path"].endswith("caf\\xe9.jpg")
    assert sum("path_bytes" in i for i in items) == 1  # only the name that is not UTF-8


@pytest.mark.parametrize(("text", "expected"), [
    ("plain/été/😀.jpg", "plain/été/😀.jpg"),
    ("a\nb\rc\td", "a\\nb\\rc\\td"),
    ("\x1b[31m\x7f\x85", "\\x1b[31m\\x7f\\x85"),
    ("rtl\u202egpj.exe \u2028", "rtl\\u202egpj.exe \\u2028"),
    (os.fsdecode(b"caf\xe9"), "caf\\xe9"),
    ("a\\nb", "a\\\\nb"),
], ids=["printable", "newlines-tabs", "ansi-del-c1", "bidi-separator", "not-utf8",
        "backslash"])
def test_shown(text: str, expected: str) -> None:
    assert shown(text) == expected


def test_json_names_keeps_utf8_as_is_and_adds_the_bytes_of_the_rest() -> None:
    raw = b"/lib/caf\xe9\n.jpg"
    data = json_names({"path": os.fsdecode(raw), "ok": "été\n", "list": [os.fsdecode(b"\xff")],
                       "n": 1})
    assert data == {"path": "/lib/caf\\xe9\n.jpg",
                    "path_bytes": base64.b64encode(raw).decode(), "ok": "été\n",
                    "list": ["\\xff"], "n": 1}

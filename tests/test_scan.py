"""The library walk: which files are sources, and what a scan survives."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.library import AWKWARD_NAMES, Library, build_library
from mediapipe.config import Config
from mediapipe.errors import StorageOffline
from mediapipe.formats import Kind
from mediapipe.index.scan import LibraryScan, SourceFile, compile_exclusions
from tests.support.unprivileged import run_unprivileged

IMMICH_EXCLUSIONS = Config().library.exclusion_patterns


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Library:
    return build_library(tmp_path_factory.mktemp("scan"))


@pytest.fixture(scope="module")
def found(library: Library) -> dict[str, SourceFile]:
    scan = LibraryScan(library.root, IMMICH_EXCLUSIONS)
    files = list(scan)
    assert scan.problems == []
    return {os.path.relpath(f.path, library.root): f for f in files}


def test_scan_yields_exactly_the_visible_supported_files(
        library: Library, found: dict[str, SourceFile]) -> None:
    assert sorted(found) == list(library.sources)


@pytest.mark.parametrize("rel", [
    pytest.param("2020/01/@eaDir/IMG_0001.jpg/SYNOPHOTO_THUMB_XL.jpg", id="synology-eaDir"),
    pytest.param("#recycle/deleted.jpg", id="recycle-bin-at-root"),
    pytest.param("2020/#recycle/old.mp4", id="recycle-bin-nested"),
    pytest.param("2020/01/._IMG_0001.jpg", id="macos-resource-fork"),
    pytest.param(".hidden/inside.jpg", id="hidden-folder"),
    pytest.param("2020/.secret.jpg", id="hidden-file"),
    pytest.param(".stfolder/x.jpg", id="syncthing-folder"),
    pytest.param("notes.txt", id="unsupported-text"),
    pytest.param("2020/01/doc.pdf", id="unsupported-pdf"),
    pytest.param("2020/01/no_extension", id="no-extension"),
])
def test_scan_skips(rel: str, library: Library, found: dict[str, SourceFile]) -> None:
    assert (library.root / rel).is_file()
    assert rel not in found


@pytest.mark.parametrize("name", AWKWARD_NAMES, ids=[
    "newline", "invalid-utf8", "leading-dash", "double-dash", "255-bytes", "254-bytes-utf8",
    "spaces-quotes"])
def test_awkward_names_come_back_byte_exact(name: str, library: Library,
                                            found: dict[str, SourceFile]) -> None:
    source = found[f"odd/{name}"]
    raw = os.fsencode(source.path)
    assert raw.endswith(b"/" + os.fsencode(name))
    assert os.stat(raw).st_size == source.size


def test_extensions_match_case_insensitively_and_give_the_kind(
        found: dict[str, SourceFile]) -> None:
    assert found["2020/01/IMG_0002.JPG"].kind is Kind.IMAGE
    assert found["2020/01/clip.MP4"].kind is Kind.VIDEO
    assert found["2020/02/raw.CR2"].kind is Kind.IMAGE


def test_size_and_mtime_are_the_files_own(library: Library,
                                          found: dict[str, SourceFile]) -> None:
    for rel, f in found.items():
        st = os.stat(os.fsencode(f.path))
        assert (f.size, f.mtime_ns) == (st.st_size, st.st_mtime_ns), rel
        assert os.path.isabs(f.path)


def test_fingerprints_are_taken_only_when_asked(library: Library,
                                                found: dict[str, SourceFile]) -> None:
    from mediapipe.sources import fingerprint

    assert all(f.fingerprint is None for f in found.values())
    asked = list(LibraryScan(library.root, IMMICH_EXCLUSIONS, fingerprint=True))
    assert {f.path for f in asked} == {f.path for f in found.values()}
    for f in asked:
        assert f.fingerprint == fingerprint(f.path, f.size), f.path


def test_sidecars_are_found_by_full_name_then_by_stem(library: Library,
                                                      found: dict[str, SourceFile]) -> None:
    got = {rel: os.path.relpath(f.sidecar, library.root)
           for rel, f in found.items() if f.sidecar}
    assert got == library.sidecars


@pytest.mark.parametrize("rel", [
    pytest.param("loop/self", id="folder-link-to-itself"),
    pytest.param("loop/up", id="folder-link-to-the-root"),
    pytest.param("links/same-album", id="folder-link-inside-already-walked"),
    pytest.param("links/away", id="folder-link-outside-root"),
    pytest.param("links/away.jpg", id="file-link-outside-root"),
    pytest.param("loop/dangling.jpg", id="dangling-link"),
])
def test_symlinks_never_loop_leave_the_root_or_list_a_file_twice(
        rel: str, found: dict[str, SourceFile]) -> None:
    assert not any(r == rel or r.startswith(rel + "/") for r in found)


def test_a_file_link_inside_the_root_is_followed(found: dict[str, SourceFile]) -> None:
    alias, target = found["links/alias.jpg"], found["top.png"]
    assert (alias.size, alias.mtime_ns) == (target.size, target.mtime_ns)


def test_an_unreadable_folder_is_reported_and_skipped(tmp_path: Path) -> None:
    lib = build_library(tmp_path)
    locked = lib.root / "2020" / "02"
    locked.chmod(0)
    try:
        out = run_unprivileged(
            "import json, sys\n"
            "from mediapipe.index.scan import LibraryScan\n"
            "s = LibraryScan(sys.argv[1], ['**/@eaDir/**'])\n"
            "paths = [f.path for f in s]\n"
            "print(json.dumps({'paths': paths, 'problems': [[p.path, p.reason] "
            "for p in s.problems]}))\n", str(lib.root))
    finally:
        locked.chmod(0o755)
    assert out["problems"] == [[str(locked), "cannot read folder: Permission denied"]]
    assert str(lib.root / "2020/01/IMG_0001.jpg") in out["paths"]
    assert not any(p.startswith(str(locked)) for p in out["paths"])


@pytest.mark.parametrize("make", [
    pytest.param(lambda p: p, id="missing"),
    pytest.param(lambda p: (p.write_bytes(b"x"), p)[1], id="a-file"),
])
def test_an_unreachable_root_is_storage_offline_not_an_empty_library(
        make: object, tmp_path: Path) -> None:
    root = make(tmp_path / "lib")  # type: ignore[operator]
    with pytest.raises(StorageOffline):
        list(LibraryScan(root))


@pytest.mark.parametrize(("pattern", "path", "excluded"), [
    ("**/@eaDir/**", "@eaDir", True),
    ("**/@eaDir/**", "a/b/@eaDir/x.jpg", True),
    ("**/@eaDir/**", "a/@eaDirx/x.jpg", False),
    ("**/._*", "._x.jpg", True),
    ("**/._*", "a/._x.jpg", True),
    ("**/._*", "a/x._jpg", False),
    ("*.jpg", "x.jpg", True),
    ("*.jpg", "a/x.jpg", False),
    ("Private/**", "Private/x.jpg", True),
    ("Private/**", "a/Private/x.jpg", False),
    ("/Private/**", "Private/x.jpg", True),
    ("**/IMG_????.jpg", "a/IMG_0001.jpg", True),
    ("**/IMG_????.jpg", "a/IMG_01.jpg", False),
    ("**/[!a]*.png", "b.png", True),
    ("**/[!a]*.png", "a.png", False),
    ("**/*.{mov,mp4}", "x/y.mp4", True),
    ("**/*.{mov,mp4}", "x/y.mkv", False),
    ("a/**/z.jpg", "a/z.jpg", True),
    ("a/**/z.jpg", "a/b/c/z.jpg", True),
    ("**/(1)+.jpg", "(1)+.jpg", True),
], ids=lambda v: str(v))
def test_exclusion_globs(pattern: str, path: str, excluded: bool) -> None:
    assert bool(compile_exclusions([pattern]).fullmatch(path)) is excluded


def test_no_exclusions_exclude_nothing() -> None:
    assert compile_exclusions([]).fullmatch("anything") is None


def test_the_scan_is_lazy(library: Library) -> None:
    scan = LibraryScan(library.root, IMMICH_EXCLUSIONS)
    next(iter(scan))
    assert scan.files == 1
    assert scan.folders < 10


def test_importing_scan_and_catalog_stays_light() -> None:
    code = ("import sys, mediapipe.index.scan, mediapipe.index.catalog\n"
            "heavy = {'PIL', 'av', 'numpy', 'celery', 'click', 'rich', 'redis', 'pillow_heif'}\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"

"""Originals are never written: sha256 of every source file before and after a full ingest.

The folders are ingested in place, as a user's external library is (never a copy): the
generated fixture set (images and videos of every kind, the manifest beside them), a generated
library with XMP sidecars, and the real samples (``../shared/samples``: cameras, phones, HEIC,
videos that must be transcoded, the bad files). Every file under each folder, media or not, must
have the same bytes (and size and mtime) after a full ingest into a temporary media root.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from fixtures import images, videos
from tests.reliability.harness import Figures, account, digests, run_ingest

TIME_LIMIT_S = 300


def _stats(folder: Path) -> dict[bytes, tuple[int, int]]:
    return {p: (os.stat(p).st_size, os.stat(p).st_mtime_ns) for p in digests(folder)}


def _sources(folder: Path) -> list[Path]:
    from mediapipe.index.scan import LibraryScan

    return [Path(s.path) for s in LibraryScan(folder)]


def _ingest_in_place(case: str, folder: Path, media_root: Path,
                     ledger: Callable[[Figures], Figures], *args: str) -> None:
    before, stats = digests(folder), _stats(folder)
    run = run_ingest(folder, media_root, "--workers", "2", *args, timeout=TIME_LIMIT_S)
    fig, detail = account(case, _sources(folder), media_root, [run])
    ledger(fig)
    assert not run.crashed and fig.crashed == fig.lost == fig.partial == 0, detail
    assert digests(folder) == before, "an original changed"
    assert _stats(folder) == stats, "an original's size or mtime changed"
    assert not media_root.is_relative_to(folder)


def test_fixture_set_is_byte_identical_after_ingest(
        fixture_set: dict[str, object], media_root: Path,
        ledger: Callable[[Figures], Figures]) -> None:
    folder = next(iter(fixture_set.values())).path.parent  # type: ignore[attr-defined]
    _ingest_in_place("originals: fixture set", folder, media_root, ledger)


def test_library_with_sidecars_is_byte_identical_after_ingest(
        tmp_path: Path, media_root: Path, ledger: Callable[[Figures], Figures]) -> None:
    lib = tmp_path / "lib"
    (lib / "2023").mkdir(parents=True)
    for i in range(4):
        photo = images.jpeg(lib / "2023" / f"IMG_{i}.jpg", (640, 480), orientation=1 + i)
        photo.with_name(photo.name + ".xmp").write_text(
            '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/'
            '02/22-rdf-syntax-ns#"><rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" '
            f'exif:DateTimeOriginal="2023-0{i + 1}-01T10:00:00"/></rdf:RDF></x:xmpmeta>')
    clip = videos.video(lib / "2023" / "clip.mkv", pix_fmt="yuv444p", duration=1.0)
    clip.with_name("clip.xmp").write_text("<x:xmpmeta/>")
    _ingest_in_place("originals: library with sidecars", lib, media_root, ledger)


@pytest.mark.samples
def test_real_samples_are_byte_identical_after_ingest(
        samples: Path, media_root: Path, ledger: Callable[[Figures], Figures]) -> None:
    # one worker: 200MP.heic is decoded (under the default 200 MP limit) and takes ~1.6 GiB
    before, stats = digests(samples), _stats(samples)
    run = run_ingest(samples, media_root, "--workers", "1", timeout=TIME_LIMIT_S)
    fig, detail = account("originals: real samples", _sources(samples), media_root, [run])
    ledger(fig)
    assert not run.crashed and fig.crashed == fig.lost == fig.partial == 0, detail
    assert digests(samples) == before, "an original changed"
    assert _stats(samples) == stats, "an original's size or mtime changed"
    assert fig.processed > 40

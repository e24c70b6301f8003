"""Bad input: every damaged, mislabelled, empty or bomb file is processed or fails typed.

The corpus (``fixtures.bad``, seeded) holds a little over 300 files per ``scale``: truncations at
random offsets, bit flips, empty and all-zero files, wrong extensions, JPEGs with broken EXIF
IFDs, MP4/MOV without ``moov``, garbage behind real magic numbers and decompression bombs (PNG
and JPEG headers claiming 30000x30000 and more). The real ``mediapipe ingest`` runs on it in a
subprocess, under a time limit (a hang fails the test), and the catalog it writes is read back:

- every file ends processed or failed with a ``MediaError`` type, in the catalog and in the
  ``--json`` summary; none is left pending (lost); no ``InternalError``, no traceback, no crash;
- no temp file or undecodable output is left in the media root;
- the peak resident memory of the whole ingest process tree (the coordinator, its pool workers,
  the ffmpeg they start; for Celery, the worker processes too) stays under ``MEMORY_BOUND_MIB``.

The real bad samples (``../shared/samples/images/bad``, ingested in place) include
``200MP.heic``: 12240x16320 = 199.8 MP, just under the default ``image.maxPixels`` (200 MP), so
it is decoded for real; its bound is ``SAMPLES_MEMORY_BOUND_MIB`` (one worker). With the limit
at 100 MP it is refused ``TooLarge`` before decoding, and the bound drops to the corpus's.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from fixtures.bad import BadFile, build_bad_corpus
from tests.reliability.harness import MEDIA_ERRORS, Figures, IngestRun, account, run_ingest
from tests.support.services import CeleryWorker, RedisServer

MEMORY_BOUND_MIB = 768  # generated corpus: the ingest process tree, 2 workers
SAMPLES_MEMORY_BOUND_MIB = 2560  # real bad samples with 200MP.heic decoded: tree, 1 worker
TIME_LIMIT_S = 240  # for ~300 small files; a hang is killed here and fails the test


def _check(run: IngestRun, fig: Figures, detail: dict[str, list[str]],
           corpus: list[Path], bound_mib: float) -> None:
    assert not run.hung, f"ingest hung: killed after {TIME_LIMIT_S}s"
    assert fig.crashed == 0, "\n".join(detail["crashed"][:20])
    assert fig.lost == 0, detail["lost"][:20]
    assert fig.partial == 0
    assert fig.processed + fig.failed_clean == fig.tried == len(corpus)
    summary = run.summary
    assert summary["processed"] == len(corpus), "every file is reported"
    assert summary["failed"] == fig.failed_clean
    types = {f["error"].split(":", 1)[0] for f in summary["failures"]}
    assert types <= MEDIA_ERRORS, types
    assert fig.peak_rss_mib < bound_mib, (
        f"peak RSS of the ingest tree {fig.peak_rss_mib} MiB exceeds {bound_mib} MiB")


def _failures(run: IngestRun) -> dict[str, str]:
    return {f["path"]: f["error"].split(":", 1)[0] for f in run.summary["failures"]}


def _bombs_refused(run: IngestRun, corpus: list[BadFile]) -> None:
    failures = _failures(run)
    for f in corpus:
        if f.category == "bomb":
            assert failures.get(str(f.path)) in ("TooLarge", "CorruptMedia"), (f.note, failures)
        if f.note.startswith("png-30000"):
            assert failures[str(f.path)] == "TooLarge"


def test_bad_corpus_in_process_ends_processed_or_typed_failure(
        tmp_path: Path, media_root: Path, ledger: Callable[[Figures], Figures]) -> None:
    corpus = build_bad_corpus(tmp_path / "bad", seed=9)
    assert len(corpus) >= 300
    run = run_ingest(tmp_path / "bad", media_root, "--workers", "2", timeout=TIME_LIMIT_S)
    paths = [f.path for f in corpus]
    fig, detail = account(f"bad input x{len(corpus)}, in-process", paths, media_root, [run])
    ledger(fig)
    _check(run, fig, detail, paths, MEMORY_BOUND_MIB)
    _bombs_refused(run, corpus)
    # A second run has nothing to redo: failures are final for media that did not change.
    again = run_ingest(tmp_path / "bad", media_root, "--workers", "2", timeout=TIME_LIMIT_S)
    assert again.summary["processed"] == 0 and again.summary["unchanged"] == len(corpus)


@pytest.mark.samples
def test_real_bad_samples_in_place_end_processed_or_typed_failure(
        samples: Path, media_root: Path, ledger: Callable[[Figures], Figures]) -> None:
    bad = samples / "images" / "bad"
    files = sorted(p for p in bad.iterdir() if p.is_file())
    run = run_ingest(bad, media_root, "--workers", "1", timeout=TIME_LIMIT_S)
    fig, detail = account("real bad samples (200MP.heic decoded)", files, media_root, [run])
    ledger(fig)
    _check(run, fig, detail, files, SAMPLES_MEMORY_BOUND_MIB)
    failures = _failures(run)
    assert failures.get(str(bad / "empty.heic")) == "CorruptMedia"


@pytest.mark.samples
def test_a_lower_pixel_limit_refuses_200mp_heic_before_decoding(
        samples: Path, media_root: Path, ledger: Callable[[Figures], Figures]) -> None:
    bad = samples / "images" / "bad"
    files = sorted(p for p in bad.iterdir() if p.is_file())
    run = run_ingest(bad, media_root, "--workers", "1", timeout=TIME_LIMIT_S,
                     env={"MEDIAPIPE_IMAGE_MAX_PIXELS": "100000000"})
    fig, detail = account("real bad samples (maxPixels 100 MP)", files, media_root, [run])
    ledger(fig)
    _check(run, fig, detail, files, MEMORY_BOUND_MIB)
    assert _failures(run)[str(bad / "200MP.heic")] == "TooLarge"


@pytest.mark.slow
def test_soak_bad_corpus_x4_in_process(tmp_path: Path, media_root: Path,
                                       ledger: Callable[[Figures], Figures]) -> None:
    corpus = build_bad_corpus(tmp_path / "bad", seed=1009, scale=4)
    run = run_ingest(tmp_path / "bad", media_root, "--workers", "2", timeout=4 * TIME_LIMIT_S)
    paths = [f.path for f in corpus]
    fig, detail = account(f"soak: bad input x{len(corpus)}, in-process", paths, media_root,
                          [run])
    ledger(fig)
    _check(run, fig, detail, paths, MEMORY_BOUND_MIB)
    _bombs_refused(run, corpus)


@pytest.mark.slow
def test_soak_bad_corpus_on_celery_workers(
        tmp_path: Path, media_root: Path, redis_server: RedisServer,
        celery_worker: Callable[..., CeleryWorker],
        ledger: Callable[[Figures], Figures]) -> None:
    corpus = build_bad_corpus(tmp_path / "bad", seed=2009, scale=2)
    worker = celery_worker("metadata,thumbnails,video", name="bad", concurrency=2)
    assert worker.proc is not None
    run = run_ingest(tmp_path / "bad", media_root, "--broker", redis_server.url,
                     timeout=4 * TIME_LIMIT_S, also=[worker.proc.pid])
    paths = [f.path for f in corpus]
    fig, detail = account(f"soak: bad input x{len(corpus)}, Celery", paths, media_root, [run])
    ledger(fig)
    _check(run, fig, detail, paths, MEMORY_BOUND_MIB)
    _bombs_refused(run, corpus)
    assert worker.proc.poll() is None, "the worker is still up"
    assert "WorkerLostError" not in worker.log.read_text(errors="replace")
    assert os.path.exists(media_root / "catalog.db")

"""Coordinator faults during a real in-process ``mediapipe ingest``: killed, doubled, damaged.

SIGKILL of the coordinator at random moments (seeded): every process of the run is gone within
5 s (pool processes die with it), a re-run finishes, and ``--missing`` rebuilds every deleted
output. Two ingests started together on one media root: one runs, the other stops at once
naming the holder (exit 17), and runs when the first is over. A damaged catalog: every ingest
says so in one line (exit 11), ``catalog check`` finds it, ``catalog rebuild`` makes a new one
that reuses the outputs on disk (nothing re-encoded) and ``check`` is clean after it.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from fixtures import images, videos
from mediapipe.config import Config
from mediapipe.identity import asset_id_for_path
from mediapipe.index import lock
from mediapipe.pipeline import PIPELINE
from mediapipe.pipeline.state import AssetState
from tests.reliability.harness import (
    Figures,
    _tree,
    account,
    finish_ingest,
    partial_files,
    run_ingest,
    start_ingest,
)

TIME_LIMIT_S = 240


def _library(folder: Path, photos: int, clips: int, seed: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = [images.noise_jpeg(folder / f"IMG_{i:03d}.jpg", (2400, 1800), seed=seed + i)
           for i in range(photos)]
    for i in range(clips):  # yuv444p: the default policy transcodes it
        out.append(videos.video(folder / f"clip_{i:02d}.mkv", size=(640, 480), duration=3.0,
                                fps=25, pix_fmt="yuv444p", audio=()))
    return out


def _alive(pids: list[int]) -> list[int]:
    """The pids still running (a zombie waiting for its reaper has ended)."""
    out = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        if stat[stat.rindex(b")") + 2:].split()[0] != b"Z":
            out.append(pid)
    return out


def _outputs(root: Path, sources: list[Path]) -> list[Path]:
    """Every output the steps say each source has (previews, thumbnails, encoded videos)."""
    cfg, out = Config(), []
    for src in sources:
        state = AssetState.start(os.path.abspath(src), asset_id_for_path(os.path.abspath(src)),
                                 str(root))
        for step in PIPELINE:
            if step.outputs is not None and step.applies(state):
                out += [p for p in step.outputs(state, cfg) if p.is_file()]
    return out


def _mediapipe(*argv: str, timeout: float = TIME_LIMIT_S) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mediapipe", *argv], capture_output=True,
                          text=True, timeout=timeout, check=False)


def _kill_and_rerun(case: str, tmp_path: Path, media_root: Path, *, kills: int, seed: int,
                    photos: int, clips: int, ledger: Callable[[Figures], Figures]) -> None:
    rng = random.Random(seed)
    lib = tmp_path / "lib"
    sources = _library(lib, photos, clips, seed)
    orphans = 0
    for _ in range(kills):
        proc = start_ingest(lib, media_root, "--workers", "2")
        time.sleep(rng.uniform(0.3, 2.5))
        family = _tree(proc.pid)
        proc.send_signal(signal.SIGKILL)  # the coordinator only: its pool must follow it
        proc.wait()  # not its pipes: an orphan would hold them open
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
        time.sleep(5)
        orphans += len(_alive(family))
        for pid in _alive(family):  # not ours to leave behind, whatever the verdict
            os.kill(pid, signal.SIGKILL)
    rerun = run_ingest(lib, media_root, "--workers", "2", timeout=TIME_LIMIT_S)
    fig, detail = account(f"{case} ({kills}x SIGKILL coordinator): re-run", sources,
                          media_root, [rerun])
    fig.crashed += orphans  # a process of a killed run still alive is a crash of that run
    ledger(fig)
    assert orphans == 0, "processes of a killed run outlived it"
    assert not rerun.hung and fig.crashed == 0 and fig.lost == 0, detail
    assert fig.partial == 0, partial_files(media_root)
    assert fig.processed == len(sources)

    gone = rng.sample(_outputs(media_root, sources), 4)
    for path in gone:
        path.unlink()
    again = run_ingest(lib, media_root, "--workers", "2", "--missing", timeout=TIME_LIMIT_S)
    fig2, detail2 = account(f"{case}: --missing after deleting {len(gone)} outputs", sources,
                            media_root, [again])
    ledger(fig2)
    assert fig2.crashed == 0 and fig2.lost == 0 and fig2.partial == 0, detail2
    assert [p for p in gone if not p.is_file()] == [], "--missing rebuilds every deleted output"


def test_sigkill_of_the_coordinator_leaves_no_process_and_a_rerun_finishes(
        tmp_path: Path, media_root: Path, ledger: Callable[[Figures], Figures]) -> None:
    _kill_and_rerun("SIGKILL coordinator", tmp_path, media_root, kills=2, seed=17,
                    photos=16, clips=1, ledger=ledger)


@pytest.mark.slow
def test_soak_sigkill_of_the_coordinator_at_random(
        tmp_path: Path, media_root: Path, ledger: Callable[[Figures], Figures]) -> None:
    _kill_and_rerun("soak: SIGKILL coordinator", tmp_path, media_root, kills=10, seed=1017,
                    photos=60, clips=4, ledger=ledger)


def test_two_libraries_of_one_media_root_ingest_at_once_each_its_own(
        tmp_path: Path, media_root: Path, ledger: Callable[[Figures], Figures]) -> None:
    a = _library(tmp_path / "a", 10, 0, seed=300)
    b = _library(tmp_path / "b", 10, 0, seed=400)
    first = start_ingest(tmp_path / "a", media_root, "--workers", "1")
    second = start_ingest(tmp_path / "b", media_root, "--workers", "1")
    runs = [finish_ingest(first, TIME_LIMIT_S), finish_ingest(second, TIME_LIMIT_S)]
    assert [r.code for r in runs] == [0, 0], [r.stderr for r in runs]
    fig, detail = account("two libraries at once", a + b, media_root, runs)
    ledger(fig)
    assert fig.processed == len(a) + len(b), detail
    assert fig.crashed == fig.lost == fig.partial == 0, detail
    assert [r.summary["processed"] for r in runs] == [10, 10], "each library by its own run"


def test_two_ingests_of_one_library_at_once_one_runs_the_other_names_the_holder(
        tmp_path: Path, media_root: Path, ledger: Callable[[Figures], Figures]) -> None:
    a = _library(tmp_path / "a", 10, 0, seed=300)
    first = start_ingest(tmp_path / "a", media_root, "--workers", "1")
    second = start_ingest(tmp_path / "a", media_root, "--workers", "1")
    runs = [finish_ingest(first, TIME_LIMIT_S), finish_ingest(second, TIME_LIMIT_S)]
    refused = [r for r in runs if r.code == 17]
    ran = [r for r in runs if r.code != 17]
    if not refused:  # the first ended before the second began: both ran, one did nothing
        assert sorted(r.summary["processed"] for r in runs) == [0, 10]
        return
    assert len(refused) == 1 and len(ran) == 1, [(r.code, r.stderr) for r in runs]
    message = refused[0].stderr
    assert "in use by another run" in message and "pid" in message and "ingest" in message
    assert "Traceback" not in message and len(message.strip().splitlines()) == 1
    fig, detail = account("one library twice at once: the one that ran", a, media_root, ran)
    ledger(fig)
    assert fig.processed == len(a) and fig.crashed == fig.lost == fig.partial == 0, detail


def test_the_lock_names_its_holder_and_goes_with_it(media_root: Path) -> None:
    with lock.hold(media_root, "mediapipe ingest /photos"):
        with pytest.raises(Exception) as caught, lock.hold(media_root):
            pass
        assert f"pid {os.getpid()}" in str(caught.value)
        assert "mediapipe ingest /photos" in str(caught.value)
        assert getattr(caught.value, "exit_code", None) == 17
    with lock.hold(media_root):  # released with its holder
        pass


def _damage(db: Path) -> None:
    with open(db, "r+b") as fh:
        fh.seek(0)
        fh.write(b"\x00garbage" * 512)


def test_a_damaged_catalog_is_one_line_and_a_rebuild_reuses_the_outputs(
        tmp_path: Path, media_root: Path, ledger: Callable[[Figures], Figures]) -> None:
    lib = tmp_path / "lib"
    sources = _library(lib, 8, 1, seed=500)
    first = run_ingest(lib, media_root, "--workers", "2")
    assert first.code == 0, first.stderr
    outputs = [p for p in _outputs(media_root, sources) if p.is_file()]
    made = {p: p.stat().st_mtime_ns for p in outputs}
    _damage(media_root / "catalog.db")

    broken = run_ingest(lib, media_root, "--workers", "2")
    assert broken.code == 11 and "Traceback" not in broken.stderr
    assert "damaged" in broken.stderr and len(broken.stderr.strip().splitlines()) == 1
    check = _mediapipe("catalog", "check", "--media-root", str(media_root))
    assert check.returncode == 11 and "damaged" in check.stderr

    rebuilt = _mediapipe("catalog", "rebuild", str(lib), "--media-root", str(media_root),
                         "--workers", "2")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert list(media_root.glob("catalog.db.broken-*")), "the damaged catalog is kept aside"
    fig, detail = account("damaged catalog: rebuilt", sources, media_root, [])
    ledger(fig)
    assert fig.processed == len(sources) and fig.crashed == fig.lost == fig.partial == 0, detail
    assert {p: p.stat().st_mtime_ns for p in outputs} == made, "fresh outputs are not redone"
    assert _mediapipe("catalog", "check", "--media-root", str(media_root)).returncode == 0
    again = run_ingest(lib, media_root, "--workers", "2")
    assert again.code == 0 and again.summary["processed"] == 0

"""Image bombs and crafted RAW in a real ingest: refused from their headers, typed, no traceback.

The library (``fixtures.bombs``, each file under 1 KB on disk): a sparse 31000x31000 16-bit DNG
(1.9 GB of zeros to libraw), DNGs cut after their header declaring 14000, 30000 and 60000 px
sensors, JPEG XL headers declaring 20000x20000 (bare and in the container), and one good JPEG.
``mediapipe ingest`` runs on it for real; every bomb fails ``TooLarge`` or ``CorruptMedia``,
nothing crashes, hangs or is lost, and the whole ingest tree stays under ``PEAK_MIB``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from fixtures import images
from fixtures.bombs import dng_bomb, jxl_bomb
from tests.reliability.harness import MEDIA_ERRORS, Figures, account, run_ingest

PEAK_MIB = 400
EXPECTED = {"sparse-31000.dng": "TooLarge", "cut-14000.dng": "CorruptMedia",
            "cut-30000.dng": "TooLarge", "cut-60000.dng": "TooLarge",
            "bomb.jxl": "TooLarge", "bomb-box.jxl": "TooLarge"}


def _library(lib: Path) -> list[Path]:
    lib.mkdir()
    files = [dng_bomb(lib / "sparse-31000.dng", 31000),
             jxl_bomb(lib / "bomb.jxl", 20000, 20000),
             jxl_bomb(lib / "bomb-box.jxl", 20000, 20000, container=True),
             images.jpeg(lib / "good.jpg", (640, 480))]
    files += [dng_bomb(lib / f"cut-{side}.dng", side, sparse=False)
              for side in (14000, 30000, 60000)]
    return files


@pytest.mark.slow
def test_bombs_and_crafted_raw_in_an_ingest_fail_typed_within_the_memory_bound(
        tmp_path: Path, media_root: Path, ledger: Callable[[Figures], Figures]) -> None:
    files = _library(tmp_path / "bombs")
    run = run_ingest(tmp_path / "bombs", media_root, "--workers", "2", timeout=120)
    fig, detail = account("image bombs and crafted RAW", files, media_root, [run])
    ledger(fig)
    assert not run.hung and fig.crashed == 0, detail["crashed"][:10]
    assert fig.lost == fig.partial == 0
    assert fig.processed == 1 and fig.failed_clean == len(EXPECTED)
    failures = {Path(f["path"]).name: f["error"].split(":", 1)[0]
                for f in run.summary["failures"]}
    assert failures == EXPECTED
    assert set(failures.values()) <= MEDIA_ERRORS
    assert fig.peak_rss_mib <= PEAK_MIB

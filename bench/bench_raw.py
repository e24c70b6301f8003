"""RAW previews: our libraw engine against rawpy's own ``postprocess()`` + Pillow resize.

A 24 MP Bayer DNG made from a photo (``fixtures/raw.py``), once without a preview (the decode
path: half-size demosaic, as the preview allows) and once with a 3000x2000 embedded JPEG (the
fast path, ``image.extractEmbedded``); the reference decodes the same file at full size with
rawpy's defaults and resizes with Pillow, in the same run. Targets: ours >= 1.5x the reference
on the decode path; peak RSS of one process making the previews of a 50 MP RAW <= 400 MB.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import rawpy
from PIL import Image

from fixtures import raw
from mediapipe.config import Config
from mediapipe.metadata.read import read_metadata
from mediapipe.thumbnails.make import make_thumbnails

RUNS = 3
# VmHWM, not ru_maxrss: Linux keeps ru_maxrss across fork and exec, so a child of this (large)
# bench process would report the parent's peak.
_RSS_CHILD = """
import sys
from mediapipe.config import Config
from mediapipe.metadata.read import read_metadata
from mediapipe.thumbnails.make import make_thumbnails
make_thumbnails(sys.argv[1], read_metadata(sys.argv[1]), Config())
hwm = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(int(hwm.split()[1]) // 1024)
"""


def _samples() -> Path | None:
    root = Path(__file__).resolve().parents[1]
    path = Path(os.environ.get("MEDIAPIPE_SAMPLES") or root.parent / "shared" / "samples")
    return path if path.exists() else None


def _rate(job: object, path: Path) -> float:
    start = time.perf_counter()
    for _ in range(RUNS):
        job(path)  # type: ignore[operator]
    return RUNS / (time.perf_counter() - start)


def _ours(cfg: Config) -> object:
    return lambda p: make_thumbnails(p, read_metadata(p), cfg)


def _reference(path: Path) -> None:
    with rawpy.imread(str(path)) as r:
        rgb = r.postprocess(use_camera_wb=True)
    img = Image.fromarray(rgb).resize((2160, 1440), Image.Resampling.LANCZOS)
    img.save(io.BytesIO(), "JPEG", quality=80)


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        photo = raw.photo(_samples(), (6000, 4000))
        bare = raw.dng(Path(d) / "24mp.dng", photo)
        embedded = raw.dng(Path(d) / "24mp-preview.dng", photo, preview=(3000, 2000))
        decode = _rate(_ours(Config()), bare)
        fast = _rate(_ours(Config.from_dict({"image": {"extractEmbedded": True}})), embedded)
        ref = _rate(_reference, bare)
        print(f"RAW 24 MP: decode path {decode:5.2f} files/s   embedded path {fast:5.2f} files/s"
              f"   rawpy postprocess+Pillow {ref:5.2f} files/s   ratio {decode / ref:4.1f}x",
              flush=True)
        del photo
        big = raw.dng(Path(d) / "50mp.dng", raw.photo(_samples(), (8688, 5792)))
        out = subprocess.run([sys.executable, "-c", _RSS_CHILD, str(big)], check=True,
                             capture_output=True, text=True, timeout=300)
        print(f"RAW 50 MP: peak RSS {int(out.stdout.strip()):4d} MB (one process, preview + "
              "thumbnail)", flush=True)


if __name__ == "__main__":
    main()

"""Thumbnail stage against libvips: files/s on one core and peak RSS on a 50 MP JPEG.

Ours: ``make_thumbnails`` (preview JPEG + thumbnail WebP + thumbhash). Reference, in the same
run and on the same core: pyvips, one ``thumbnail`` load at preview size kept in memory, the
thumbnail made from it, both encoded (no thumbhash: the reference does less work). Runs alternate
between the two so that noise from other processes hits both alike; the median time is reported.
Targets: >= 1.0x vips on JPEG (aim 1.3x), HEIC within 1.2x, peak RSS <= 150 MB on 50 MP.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from mediapipe import allocator

ROUNDS = 9
PREVIEW, THUMB, QUALITY = 1440, 250, 80
SAMPLES = Path(os.environ.get("MEDIAPIPE_SAMPLES")
               or Path(__file__).resolve().parents[2] / "shared" / "samples")

# Peak RSS of the child alone: VmHWM belongs to the exec'd process's own memory map, whereas
# getrusage's ru_maxrss on Linux starts from the parent's high-water mark (carried over exec).
_RSS_CHILD = """
import sys
from pathlib import Path
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
from mediapipe import allocator
from mediapipe.config import Config
from mediapipe.metadata.model import MediaInfo
from mediapipe.thumbnails.make import make_thumbnails
allocator.tune()
p = Path(sys.argv[1])
base = hwm()
t = make_thumbnails(p, MediaInfo(path=str(p), kind="image", mime_type="image/jpeg",
                                 size=p.stat().st_size), Config())
print(base, hwm(), t.preview.width, t.preview.height)
"""


def _ours(path: Path) -> Callable[[], object]:
    from mediapipe import formats
    from mediapipe.config import Config
    from mediapipe.metadata.model import MediaInfo
    from mediapipe.thumbnails.make import make_thumbnails

    cfg = Config()
    info = MediaInfo(path=str(path), kind="image", mime_type=formats.mime_type(path),
                     size=path.stat().st_size)
    return lambda: make_thumbnails(path, info, cfg)


def _vips(path: Path) -> Callable[[], object]:
    import pyvips

    def job() -> tuple[bytes, bytes]:
        head = pyvips.Image.new_from_file(str(path))  # header only: which side is shorter
        turned = head.get_typeof("orientation") and head.get("orientation") in (5, 6, 7, 8)
        w, h = (head.height, head.width) if turned else (head.width, head.height)
        big = 10_000_000
        box = (big, PREVIEW) if w >= h else (PREVIEW, big)
        preview = pyvips.Image.thumbnail(str(path), box[0], height=box[1],
                                         size="down").copy_memory()
        tbox = (big, THUMB) if w >= h else (THUMB, big)
        thumb = preview.thumbnail_image(tbox[0], height=tbox[1])
        return (preview.jpegsave_buffer(Q=QUALITY, strip=True),
                thumb.webpsave_buffer(Q=QUALITY, strip=True))

    return job


def _race(label: str, path: Path) -> None:
    jobs = {"ours": _ours(path), "vips": _vips(path)}
    times: dict[str, list[float]] = {k: [] for k in jobs}
    for job in jobs.values():
        job()  # warm-up: imports, caches, first-touch allocations
    for _ in range(ROUNDS):
        for name, job in jobs.items():
            start = time.perf_counter()
            job()
            times[name].append(time.perf_counter() - start)
    ours, vips = (1 / statistics.median(times[k]) for k in ("ours", "vips"))
    print(f"{label:<22} ours {ours:6.2f} files/s   vips {vips:6.2f} files/s   "
          f"ratio {ours / vips:.2f}x", flush=True)


def _median_in_child(side: str, path: Path) -> float:
    out = subprocess.run([sys.executable, "-m", "bench.bench_thumbnails", side, str(path)],
                         capture_output=True, text=True, check=True, timeout=600)
    return float(out.stdout.split()[-1])


def _race_isolated(label: str, path: Path) -> None:
    """HEIC: pillow-heif and libvips each bring a libheif; loaded together they crash, so each
    side runs in its own process (same core, same rounds)."""
    ours, vips = (1 / _median_in_child(side, path) for side in ("ours", "vips"))
    print(f"{label:<22} ours {ours:6.2f} files/s   vips {vips:6.2f} files/s   "
          f"ratio {ours / vips:.2f}x (separate processes)", flush=True)


def _child(side: str, path: Path) -> None:
    allocator.tune()
    os.environ.setdefault("VIPS_CONCURRENCY", "1")
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    if side == "vips":
        import pyvips

        pyvips.cache_set_max(0)
    job = _ours(path) if side == "ours" else _vips(path)
    job()
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        job()
        times.append(time.perf_counter() - start)
    print(statistics.median(times))


def _peak_rss(path: Path) -> None:
    out = subprocess.run([sys.executable, "-c", _RSS_CHILD, str(path)], capture_output=True,
                         text=True, check=True, timeout=300).stdout.split()
    base, peak, w, h = map(int, out)
    print(f"{'peak RSS, 50 MP JPEG':<22} {peak} MB (after imports {base} MB; "
          f"preview {w}x{h}); target <= 150 MB", flush=True)


def main() -> None:
    """Runs pinned to one core; the other benches of the run get the whole machine back."""
    affinity, concurrency = os.sched_getaffinity(0), os.environ.get("VIPS_CONCURRENCY")
    try:
        _pinned()
    finally:
        os.sched_setaffinity(0, affinity)
        if concurrency is None:
            os.environ.pop("VIPS_CONCURRENCY", None)


def _pinned() -> None:
    allocator.tune()  # as the CLI and the workers run (both sides share the allocator)
    os.environ.setdefault("VIPS_CONCURRENCY", "1")
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})  # one core, for us and for libvips alike
    import pyvips

    pyvips.cache_set_max(0)  # the same file is thumbnailed repeatedly: no operation cache
    from PIL import Image

    from fixtures.images import noise_jpeg

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for label, size in (("24 MP JPEG q90", (6000, 4000)), ("12 MP JPEG q90", (4000, 3000))):
            _race(label, noise_jpeg(tmp / f"{size[0]}.jpg", size, quality=90))
        heic = SAMPLES / "images" / "heic" / "iphone_13_pro_max.HEIC"
        if heic.is_file():
            _race_isolated("12 MP HEIC (iPhone)", heic)
        else:
            print(f"HEIC: skipped, no sample at {heic}")
        big = tmp / "50mp.jpg"
        Image.open(noise_jpeg(tmp / "src.jpg", (4000, 3000))).resize((8660, 5773)).save(
            big, quality=90)
        _peak_rss(big)


if __name__ == "__main__":
    _child(sys.argv[1], Path(sys.argv[2]))

"""Thumbnail stage against libvips on real photos, one core: per file, per format, peak RSS.

Ours: ``make_thumbnails`` (preview JPEG + thumbnail WebP + thumbhash) with the default engine.
Reference, on the same core: libvips ``thumbnail`` at preview size (shrink-on-load, Lanczos-3)
kept in memory, the thumbnail made from it, JPEG Q80 and WebP Q80 encoded by libvips (no
thumbhash: the reference does less work). JPEG: libvips 8.18 from pyvips-binary, in the same
process, runs alternating so that noise from other processes hits both alike. HEIC: pip's
libvips has no HEVC decoder, so the reference is the system's libvips with libheif (Debian's
8.14, ``libvips-tools``), each side in its own process (two libheifs in one process clash).
Files: ``../shared/samples/images`` (``photos/``, ``camera/iphone_hdr_YES.jpg``,
``camera/jolla.jpg``, ``heic/``; set ``MEDIAPIPE_SAMPLES``); a synthetic noise JPEG is an extra
row only. The median of ``ROUNDS`` runs per file; per format the median of the files' ratios.
Quality in the same run: every output's SSIM against a full-decode Lanczos-3 (``_quality``).
Targets: JPEG >= 1.5x libvips 8.18 (issue 30; 1.25x in issue 23), HEIC >= 1.1x, peak RSS
<= 150 MB on 50 MP.
"""

from __future__ import annotations

import json
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
JPEGS = ("photos/*.jpg", "camera/iphone_hdr_YES.jpg", "camera/jolla.jpg")
HEICS = ("heic/*.heic", "heic/*.HEIC")

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


def samples(patterns: tuple[str, ...]) -> list[Path]:
    root = SAMPLES / "images"
    return sorted({p for pattern in patterns for p in root.glob(pattern)})


def _ours(path: Path) -> Callable[[], object]:
    from mediapipe import formats
    from mediapipe.config import Config
    from mediapipe.metadata.model import MediaInfo
    from mediapipe.thumbnails.make import make_thumbnails

    cfg = Config()
    info = MediaInfo(path=str(path), kind="image", mime_type=formats.mime_type(path),
                     size=path.stat().st_size)
    return lambda: make_thumbnails(path, info, cfg)


def vips_job(path: Path, pyvips: object = None) -> Callable[[], tuple[bytes, bytes]]:
    """libvips' own: preview (shorter side ``PREVIEW``, Immich's "fit outside") and thumbnail."""
    if pyvips is None:
        import pyvips

    def job() -> tuple[bytes, bytes]:
        head = pyvips.Image.new_from_file(str(path))  # type: ignore[attr-defined]
        turned = head.get_typeof("orientation") and head.get("orientation") in (5, 6, 7, 8)
        w, h = (head.height, head.width) if turned else (head.width, head.height)
        big = 10_000_000
        box = (big, PREVIEW) if w >= h else (PREVIEW, big)
        preview = pyvips.Image.thumbnail(str(path), box[0], height=box[1],  # type: ignore[attr-defined]
                                         size="down").copy_memory()
        tbox = (big, THUMB) if w >= h else (THUMB, big)
        thumb = preview.thumbnail_image(tbox[0], height=tbox[1])
        return (preview.jpegsave_buffer(Q=QUALITY, strip=True),
                thumb.webpsave_buffer(Q=QUALITY, strip=True))

    return job


def _timed(jobs: dict[str, Callable[[], object]]) -> dict[str, float]:
    """Median seconds per job, the jobs alternating round by round."""
    times: dict[str, list[float]] = {k: [] for k in jobs}
    for job in jobs.values():
        job()  # warm-up: imports, caches, first-touch allocations
    for _ in range(ROUNDS):
        for name, job in jobs.items():
            start = time.perf_counter()
            job()
            times[name].append(time.perf_counter() - start)
    return {k: statistics.median(v) for k, v in times.items()}


def _row(label: str, ours: float, vips: float, note: str = "") -> float:
    print(f"  {label:<36} ours {ours * 1000:7.1f} ms   libvips {vips * 1000:7.1f} ms   "
          f"ratio {vips / ours:.2f}x{note}", flush=True)
    return vips / ours


def _summary(fmt: str, ratios: list[float], ours: float, vips: float, target: float) -> None:
    if not ratios:
        print(f"  {fmt}: skipped, no samples under {SAMPLES / 'images'}")
        return
    print(f"  {fmt} ({len(ratios)} files): median ratio {statistics.median(ratios):.2f}x, "
          f"all files {vips / ours:.2f}x ({ours * 1000:.0f} vs {vips * 1000:.0f} ms); "
          f"target >= {target}x", flush=True)


def _jpegs() -> None:
    import pyvips

    print(f"real JPEGs, libvips {pyvips.version(0)}.{pyvips.version(1)} (pyvips-binary), "
          f"same process:")
    ratios, tot_o, tot_v = [], 0.0, 0.0
    for path in samples(JPEGS):
        t = _timed({"ours": _ours(path), "vips": vips_job(path)})
        ratios.append(_row(path.name, t["ours"], t["vips"]))
        tot_o, tot_v = tot_o + t["ours"], tot_v + t["vips"]
    _summary("JPEG", ratios, tot_o, tot_v, 1.5)


def _quality() -> None:
    """Every output's SSIM (luminance) against a full-decode Lanczos-3 of its size
    (``fixtures.quality``), ours beside libvips' own and the Pillow engine's, on the files
    timed above and on the worst case of a resize (a zone plate)."""
    import io

    from PIL import Image

    from fixtures.quality import reference, ssim
    from fixtures.thumbnails import zone_plate
    from mediapipe import formats
    from mediapipe.config import Config
    from mediapipe.metadata.model import MediaInfo
    from mediapipe.thumbnails.engine import PillowEngine
    from mediapipe.thumbnails.make import make_thumbnails

    def decoded(pair: tuple[bytes, bytes]) -> list[Image.Image]:
        return [Image.open(io.BytesIO(data)) for data in pair]

    print("quality, SSIM against a full-decode Lanczos-3 of each output's size "
          "(preview / thumbnail):")
    with tempfile.TemporaryDirectory() as d:
        for path in [*samples(JPEGS), zone_plate(Path(d) / "zone-plate.png")]:
            info = MediaInfo(path=str(path), kind="image", mime_type=formats.mime_type(path),
                             size=path.stat().st_size)
            made = make_thumbnails(path, info, Config())
            slow = make_thumbnails(path, info, Config(), PillowEngine())
            rows = {"ours": decoded((made.preview.data, made.thumbnail.data)),
                    "pillow engine": decoded((slow.preview.data, slow.thumbnail.data)),
                    "libvips": decoded(vips_job(path)())}
            cells = "   ".join(
                f"{name} " + " / ".join(f"{ssim(im, reference(path, im.size)):.3f}"
                                        for im in images)
                for name, images in rows.items())
            print(f"  {path.name:<36} {cells}", flush=True)


def _median_in_child(side: str, path: Path) -> float:
    # env: Python's copy of the environment. pyvips-binary's libvips sets VIPSHOME in the C
    # one as it loads, and the system libvips would look for its HEIF module there.
    out = subprocess.run([sys.executable, "-m", "bench.bench_thumbnails", side, str(path)],
                         capture_output=True, text=True, check=True, timeout=600,
                         env=dict(os.environ))
    return float(json.loads(out.stdout.split("\n")[-2])["median"])


def _heics() -> None:
    print("real HEICs, system libvips with libheif, separate processes:")
    ratios, tot_o, tot_v = [], 0.0, 0.0
    for path in samples(HEICS):
        ours, vips = (_median_in_child(side, path) for side in ("ours", "system-vips"))
        ratios.append(_row(path.name, ours, vips))
        tot_o, tot_v = tot_o + ours, tot_v + vips
    _summary("HEIC", ratios, tot_o, tot_v, 1.1)


def _child(side: str, path: Path) -> None:
    allocator.tune()
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    if side == "ours":
        job = _ours(path)
    else:
        sys.modules["_libvips"] = None  # type: ignore[assignment]  # no pyvips-binary: ABI mode
        import pyvips

        pyvips.concurrency_set(1)
        pyvips.cache_set_max(0)
        job = vips_job(path, pyvips)
    print(json.dumps({"median": _timed({side: job})[side]}))


def _synthetic(tmp: Path) -> None:
    from fixtures.images import noise_jpeg

    print("synthetic (extra row, not a target: noise makes entropy decoding dominate):")
    path = noise_jpeg(tmp / "noise.jpg", (4000, 3000), quality=90)
    t = _timed({"ours": _ours(path), "vips": vips_job(path)})
    _row("12 MP noise JPEG q90", t["ours"], t["vips"])


def _peak_rss(tmp: Path) -> None:
    from PIL import Image

    from fixtures.images import noise_jpeg

    big = tmp / "50mp.jpg"
    Image.open(noise_jpeg(tmp / "src.jpg", (4000, 3000))).resize((8660, 5773)).save(
        big, quality=90)
    out = subprocess.run([sys.executable, "-c", _RSS_CHILD, str(big)], capture_output=True,
                         text=True, check=True, timeout=300).stdout.split()
    base, peak, w, h = map(int, out)
    print(f"peak RSS, 50 MP JPEG: {peak} MB (after imports {base} MB; preview {w}x{h}); "
          f"target <= 150 MB", flush=True)


def main() -> None:
    """Runs pinned to one core; the other benches of the run get the whole machine back."""
    affinity = os.sched_getaffinity(0)
    try:
        _pinned()
    finally:
        os.sched_setaffinity(0, affinity)


def _pinned() -> None:
    allocator.tune()  # as the CLI and the workers run (both sides share the allocator)
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, for both sides
    import pyvips

    pyvips.concurrency_set(1)
    pyvips.cache_set_max(0)  # the same file is thumbnailed repeatedly: no operation cache
    _jpegs()
    _quality()
    _heics()
    with tempfile.TemporaryDirectory() as d:
        _synthetic(Path(d))
        _peak_rss(Path(d))


if __name__ == "__main__":
    _child(sys.argv[1], Path(sys.argv[2]))

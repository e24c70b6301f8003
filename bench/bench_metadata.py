"""read_metadata against one persistent ``exiftool -stay_open`` process on the same files.

JPEG: the real sample JPEGs (../shared/samples or $MEDIAPIPE_SAMPLES, bad ones left out) plus
generated camera-like JPEGs; HEIC: the sample HEICs plus a generated one. Each list is repeated
to a fixed count; ours runs in this one thread, exiftool gets the same list, one file per
``-execute``, after start-up. Target: >= 2,000 JPEG files/s and >= 4x exiftool on JPEGs with
a date; the exiftool fallback reader (files it cannot read, files without a date tag) may only
touch the files that need it: how many did is printed beside the figures. A third row is the
fallback's cost end to end: real photos with no date tag in-process (the samples' orientation
set, and the old camera archive of ``fixtures/oldcams``, whose dates only exiftool finds); those
that may hold a date only exiftool reads ask the running exiftool, the others are not sent
(``ImageBlocks.opaque``).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from datetime import datetime
from pathlib import Path

from fixtures import images, oldcams
from mediapipe.metadata.read import read_metadata

JPEG_READS = 2000
HEIC_READS = 200


def _samples() -> Path:
    root = Path(__file__).resolve().parents[1]
    return Path(os.environ.get("MEDIAPIPE_SAMPLES") or root.parent / "shared" / "samples")


def _generated(out: Path) -> tuple[list[Path], list[Path]]:
    t = datetime(2023, 6, 1, 14, 30, 15)
    jpegs = [images.jpeg(out / f"gen{i}.jpg", (1024, 768), orientation=1 + i % 8, taken=t,
                         offset="+02:00", subsec="12", make="Canon", model="EOS", lens="EF50",
                         iso=100, exposure=(1, 125), f_number=2.8, focal_length=50.0,
                         gps=images.Gps(48.85, 2.29, 35.0)) for i in range(8)]
    heics = [images.heic(out / "gen.heic", (512, 384), taken=t, make="Apple", model="iPhone")]
    return jpegs, heics


def _repeat(files: list[Path], n: int) -> list[Path]:
    return (files * (n // max(len(files), 1) + 1))[:n]


def _has_date(path: Path) -> bool:
    """Whether the in-process readers find a date (exiftool is never asked for it)."""
    info = read_metadata(path, sidecar=False)
    return info.taken_at_source != "file_mtime" and info.metadata_source == "mediapipe"


def _ours(files: list[Path]) -> tuple[float, int]:
    """Files per second, and how many of the reads asked the exiftool fallback."""
    asked = 0
    start = time.perf_counter()
    for f in files:
        asked += read_metadata(f, sidecar=False).metadata_source != "mediapipe"
    return len(files) / (time.perf_counter() - start), asked


def _exiftool(files: list[Path]) -> float:
    proc = subprocess.Popen(["exiftool", "-stay_open", "True", "-@", "-"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdin and proc.stdout

    def one(path: Path) -> None:
        proc.stdin.write(f"-j\n-n\n{path}\n-execute\n")  # type: ignore[union-attr]
        proc.stdin.flush()  # type: ignore[union-attr]
        while not proc.stdout.readline().startswith("{ready}"):  # type: ignore[union-attr]
            pass

    try:
        one(files[0])  # start-up and module loading are not counted
        start = time.perf_counter()
        for f in files:
            one(f)
        return len(files) / (time.perf_counter() - start)
    finally:
        proc.stdin.write("-stay_open\nFalse\n")
        proc.stdin.close()
        proc.wait(timeout=30)


def main() -> None:
    samples = _samples() / "images"
    with tempfile.TemporaryDirectory() as d:
        gen_jpegs, gen_heics = _generated(Path(d))
        real = sorted(p for sub in ("camera", "gps", "orientation")
                      for p in (samples / sub).glob("*.jp*g")) if samples.is_dir() else []
        heic = sorted((samples / "heic").glob("*")) if samples.is_dir() else []
        dated = [p for p in real + gen_jpegs if _has_date(p)]
        dateless = [p for p in real if p not in dated]
        dateless += list(oldcams.build(Path(d) / "digicam").values())
        for name, files, n in (("JPEG with a date", dated, JPEG_READS),
                               ("HEIC", heic + gen_heics, HEIC_READS),
                               ("JPEG without a date tag in-process", dateless,
                                HEIC_READS)):
            todo = _repeat(files, n)
            _ours(files)  # warm imports and caches
            ours, asked = _ours(todo)
            ref = _exiftool(todo)
            print(f"{name}: read_metadata {ours:8.0f} files/s   exiftool -stay_open "
                  f"{ref:6.0f} files/s   ratio {ours / ref:5.1f}x   "
                  f"({len(files)} distinct files, {n} reads; {asked} answered with exiftool's "
                  f"help; {1000 / ours:.2f} ms a file)", flush=True)

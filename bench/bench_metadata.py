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

Then the place names and the date rules (issue 34): the place index's build time and the memory
it adds to a process (measured in a fresh interpreter: resident set before and after
``places.load``), a lookup's cost over positions spread across the inhabited world (no two the
same), and the date rules' cost per photo: a dateless JPEG whose name holds its date, one with
a Takeout JSON beside it, and the same files with every rule but the file time off.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from fixtures import images, oldcams
from mediapipe.metadata import places
from mediapipe.metadata.daterules import DATE_RULES, ReadOptions
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
    return info.taken_at_source not in (*DATE_RULES, "none") \
        and info.metadata_source == "mediapipe"


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


_RSS_PROBE = """
import resource, sys, time
def rss():
    return int(next(l for l in open('/proc/self/status') if l.startswith('VmRSS')).split()[1])
from mediapipe.metadata import places
import numpy
before = rss()
start = time.perf_counter()
places.load()
print(time.perf_counter() - start, (rss() - before) / 1024)
"""


def _places(dated: list[Path]) -> None:
    """The place index: build time and memory in a fresh process; a lookup's cost; what it
    adds to a dated JPEG with GPS, its lookup never remembered (each photo a new position)."""
    out = subprocess.run([sys.executable, "-c", _RSS_PROBE], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[1])
    build_s, mib = map(float, out.stdout.split())
    rng = random.Random(34)
    points = [(rng.uniform(-45, 65), rng.uniform(-125, 150)) for _ in range(20000)]
    places.load()
    start = time.perf_counter()
    named = sum(places.place_at(lat, lon) is not None for lat, lon in points)
    per = (time.perf_counter() - start) / len(points)
    print(f"place names: index built in {build_s:.2f} s, {mib:.0f} MiB resident per process "
          f"(shared by a pool forked after it); {per * 1e6:.0f} us a lookup "
          f"({named} of {len(points)} random positions named, the rest at sea or far from "
          f"any town)", flush=True)
    with_gps = [p for p in dated if read_metadata(p, sidecar=False).latitude is not None]
    on, off = _interleaved(_repeat(with_gps, HEIC_READS), ReadOptions(),
                           ReadOptions(places=False), forget=True)
    print(f"place names, JPEG with a date and GPS, no lookup remembered: {on:.3f} ms a file "
          f"with place names, {off:.3f} ms without (+{(on - off) * 1000:.0f} us; medians)",
          flush=True)


def _interleaved(files: list[Path], a: ReadOptions, b: ReadOptions,
                 forget: bool = False) -> tuple[float, float]:
    """The median read time (ms) of each file under ``a`` and under ``b``, read one after the
    other so that a busy machine weighs on both alike; ``forget``: no place remembered."""
    times: tuple[list[float], list[float]] = ([], [])
    for f in files:
        for side, options in enumerate((a, b)):
            if forget:
                places._near.cache_clear()
            start = time.perf_counter()
            read_metadata(f, sidecar=False, options=options)
            times[side].append(time.perf_counter() - start)
    return (statistics.median(times[0]) * 1000, statistics.median(times[1]) * 1000)


def _date_rules(out: Path) -> None:
    """What the date rules cost a photo with no date tag: by name, by Takeout JSON."""
    named = [images.jpeg(out / f"IMG_20190412_1234{i:02d}.jpg", (1024, 768)) for i in range(8)]
    takeout = [images.jpeg(out / f"IMG_{i:04d}.jpg", (1024, 768)) for i in range(8)]
    for p in takeout:
        (out / f"{p.name}.supplemental-metadata.json").write_text(json.dumps(
            {"photoTakenTime": {"timestamp": "1555072496"},
             "geoData": {"latitude": 48.85, "longitude": 2.29, "altitude": 0.0}}))
    off = ReadOptions(date_rules=("file_mtime",))
    for label, files in (("file name", named), ("Takeout JSON", takeout)):
        for f in files:
            read_metadata(f, sidecar=False)  # warm
        rules, mtime = _interleaved(_repeat(files, HEIC_READS), ReadOptions(), off)
        print(f"date rules, dateless JPEG dated by its {label}: {rules:.3f} ms a file with the "
              f"rules, {mtime:.3f} ms with the file time only (+{(rules - mtime) * 1000:.0f} us; "
              f"medians)", flush=True)


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
        _places(dated)
        rules = Path(d) / "rules"
        rules.mkdir()
        _date_rules(rules)

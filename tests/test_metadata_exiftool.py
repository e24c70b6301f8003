"""read_metadata agrees with ``exiftool -j -n`` on every image sample and generated image fixture,
and on the long tail (``fixtures/longtail.py``): RAW of several makes, IPTC-only, XMP-only
(UTF-16, Extended) and dates only exiftool finds (the fallback reader answers those: also an
old camera archive's CIFF, Picture Info, QVCI and XMP-pdf dates, ``fixtures/oldcams.py``).

Fields compared: taken_at (to the second; the offset too when exiftool's chosen date has one,
and then as an instant: a UTC GPS time we show in the zone of its position is the same moment),
GPS (1e-5 degrees), orientation, displayed width/height, make, model, lens. At least 99% of the
comparisons must agree, and every disagreement must be listed in ``EXPECTED_DIFFERENCES`` with
its reason; an unlisted disagreement fails, and so does a listed one that no longer happens.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from fixtures import images, longtail, oldcams
from mediapipe import formats
from mediapipe.errors import MediaError
from mediapipe.metadata.dates import PRIORITY, parse_date
from mediapipe.metadata.read import read_metadata

pytestmark = pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool not installed")

FIELDS = ("taken_at", "gps", "orientation", "width", "height", "make", "model", "lens")

# (file name, field) -> why we differ from exiftool.
EXPECTED_DIFFERENCES: dict[tuple[str, str], str] = {
    ("exif_gps.jpg", "gps"): "GPSLatitude is 4294967295 degrees (a corrupt rational) with no "
        "longitude; exiftool prints it, we drop an impossible coordinate with a warning",
    ("truncated.heic", "width"): "truncated file: exiftool reads the 'ispe' box of the item "
        "it lists (64), libheif sizes the primary image it can open (16)",
    ("truncated.heic", "height"): "as for its width",
    ("xmp-utf16.jpg", "taken_at"): "exiftool does not read an XMP packet in UTF-16 inside a "
        "JPEG (the XMP spec asks for UTF-8 there); Windows tools write them, we read them",
}
# With -n, maker-note lens fields are codes, not names (Canon LensType 65535 means 'n/a',
# Nikon's LensID is 8 hex bytes looked up in exiftool's lens database, Sony's LensSpec raw
# numbers); a code is not a lens model, so the reference skips it like Immich would want.
_LENS_CODE = re.compile(r"^(?:[0-9A-F]{2}(?: [0-9A-F]{2})+|[\d.\s]+)$")


def _ours(path: Path) -> dict[str, Any] | None:
    try:
        info = read_metadata(path, sidecar=False)
    except MediaError:
        return None
    taken = None
    if info.taken_at_source != "file_mtime" and info.taken_at is not None:
        taken = (info.taken_at.replace(tzinfo=None, microsecond=0), info.offset)
    gps = (info.latitude, info.longitude) if info.latitude is not None else None
    return {"taken_at": taken, "gps": gps, "orientation": info.orientation,
            "width": info.width, "height": info.height, "make": info.make,
            "model": info.model, "lens": info.lens_model}


def _text(value: object) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def _theirs(tags: dict[str, Any]) -> dict[str, Any] | None:
    if "Error" in tags or "ImageWidth" not in tags:
        return None
    taken = None
    for name in PRIORITY:
        parsed = parse_date(tags.get(name))
        if parsed:
            when, offset = parsed
            stamp = tags[name]
            taken = (when.replace(microsecond=0), stamp[-6:] if offset is not None and
                     stamp[-6] in "+-" else "+00:00" if offset is not None else None)
            break
    lat, lon = tags.get("GPSLatitude"), tags.get("GPSLongitude")
    numeric = isinstance(lat, int | float) and isinstance(lon, int | float)
    gps = (float(lat), float(lon)) if numeric and (lat or lon) else None  # type: ignore[arg-type]
    if isinstance(lat, int | float) and not numeric:
        gps = (float(lat), None)  # type: ignore[assignment]
    orientation = tags.get("Orientation") or 1
    width, height = tags.get("ImageWidth"), tags.get("ImageHeight")
    if isinstance(tags.get("ImageSize"), str):  # RAW: the sensor's size, not IFD0's preview
        width, height = (int(v) for v in tags["ImageSize"].split())
    if orientation >= 5:
        width, height = height, width
    lens = next((_text(tags[k]) for k in ("LensModel", "LensID", "LensType", "LensSpec")
                 if _text(tags.get(k)) and not _LENS_CODE.match(str(tags[k]))), None)
    return {"taken_at": taken, "gps": gps, "orientation": orientation, "width": width,
            "height": height, "make": _text(tags.get("Make")), "model": _text(tags.get("Model")),
            "lens": lens}


def _agree(field: str, ours: Any, theirs: Any) -> bool:
    if field == "taken_at" and ours and theirs:
        if theirs[1] is not None and ours[1] is not None:  # both aware: the same instant
            return bool(_instant(*ours) == _instant(*theirs))
        return ours[0] == theirs[0] and theirs[1] is None
    if field == "gps" and ours and theirs:
        return None not in theirs and all(abs(a - b) <= 1e-5 for a, b in zip(ours, theirs,
                                                                              strict=True))
    return bool(ours == theirs)


def _instant(when: Any, offset: str) -> Any:
    sign = -1 if offset[0] == "-" else 1
    return when - sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6]))


def _image_files(samples: Path, fixture_set: dict[str, Any], tail: Path) -> list[Path]:
    files = sorted(p for p in (samples / "images").rglob("*")
                   if p.is_file() and formats.kind_of(p) is formats.Kind.IMAGE)
    files += sorted(f.path for f in fixture_set.values() if f.kind == "image")
    files += sorted(longtail.build(tail, samples).values())
    files += sorted(oldcams.build(tail / "digicam").values())
    return files


def test_read_metadata_agrees_with_exiftool_on_99_percent(
        samples: Path, fixture_set: dict[str, Any], tmp_path: Path) -> None:
    files = _image_files(samples, fixture_set, tmp_path)
    out = subprocess.run(["exiftool", "-j", "-n", "-q", "-q", *map(str, files)],
                         capture_output=True, text=True, timeout=300, check=False)
    reference = {Path(t["SourceFile"]): t for t in json.loads(out.stdout)}
    total, differences = 0, {}
    for path in files:
        ours, theirs = _ours(path), _theirs(reference.get(path, {"Error": "not listed"}))
        if ours is None or theirs is None:  # unreadable: both must say so
            total += 1
            if (ours is None) != (theirs is None):
                differences[(path.name, "readable")] = (ours is not None, theirs is not None)
            continue
        for field in FIELDS:
            total += 1
            if not _agree(field, ours[field], theirs[field]):
                differences[(path.name, field)] = (ours[field], theirs[field])
    unexplained = {k: v for k, v in differences.items() if k not in EXPECTED_DIFFERENCES}
    stale = sorted(set(EXPECTED_DIFFERENCES) - set(differences))
    agreement = 1 - len(differences) / total
    tail = {p.name for p in files if p.parent == tmp_path}
    assert tail >= {"canon.dng", "iptc-only.jpg", "xmp-extended.jpg", "ifd0-date.jpg"}
    assert not unexplained, f"disagreements without a reason (ours, exiftool's): {unexplained}"
    assert not stale, f"listed differences that no longer happen: {stale}"
    assert agreement >= 0.99, f"{agreement:.2%} of {total} comparisons agree"


_KILLED_READER = """
import sys
from mediapipe.metadata import exiftool
exiftool.exiftool_tags(sys.argv[1])
print(exiftool._current.proc.pid, flush=True)
sys.stdin.read()  # hold on until killed
"""


def test_the_stay_open_exiftool_dies_with_the_process_that_started_it(tmp_path: Path) -> None:
    """An exiftool left behind would poll its closed stdin forever (``-stay_open``)."""
    photo = images.jpeg(tmp_path / "a.jpg", (64, 48))
    reader = subprocess.Popen([sys.executable, "-c", _KILLED_READER, str(photo)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert reader.stdout is not None
    exiftool_pid = int(reader.stdout.readline())
    reader.kill()
    reader.wait()
    deadline = time.monotonic() + 10
    while Path(f"/proc/{exiftool_pid}").exists() and time.monotonic() < deadline:
        status = Path(f"/proc/{exiftool_pid}/status")
        if status.exists() and "State:\tZ" in status.read_text():
            break
        time.sleep(0.05)
    status = Path(f"/proc/{exiftool_pid}/status")
    assert not status.exists() or "State:\tZ" in status.read_text(), "exiftool outlived it"

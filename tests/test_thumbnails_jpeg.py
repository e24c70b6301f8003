"""JPEGs by their structure, with both engines: arithmetic coding decodes whole, a file is read
only up to its end of image, a progressive-scan bomb is refused before decoding, and lossless or
12/16-bit JPEGs are unsupported (exit 5), not damaged (exit 6).

The files are generated (``fixtures/jpegs.py``); ``jpeg.layout`` is what both engines ask first.
"""

from __future__ import annotations

import io
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from fixtures import jpegs
from fixtures.images import pattern
from fixtures.quality import ssim
from mediapipe.config import Config
from mediapipe.errors import TooLarge, UnsupportedMedia
from mediapipe.metadata.model import MediaInfo
from mediapipe.thumbnails import jpeg
from mediapipe.thumbnails.engine import PillowEngine
from mediapipe.thumbnails.make import make_thumbnails
from mediapipe.thumbnails.turbo import TurboEngine

ENGINES = [pytest.param(TurboEngine, id="turbo"), pytest.param(PillowEngine, id="pillow")]


def thumbnails(path: Path, engine: type) -> tuple[Image.Image, tuple[str, ...]]:
    info = MediaInfo(path=str(path), kind="image", mime_type="image/jpeg",
                     size=path.stat().st_size)
    made = make_thumbnails(path, info, Config(), engine())
    return Image.open(io.BytesIO(made.preview.data)), made.warnings


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("mode", "progressive"), [
    pytest.param("RGB", False, id="rgb"), pytest.param("L", False, id="grey"),
    pytest.param("CMYK", False, id="cmyk"), pytest.param("RGB", True, id="rgb-progressive")])
def test_an_arithmetic_coded_jpeg_looks_like_its_huffman_original(
        tmp_path: Path, engine: type, mode: str, progressive: bool) -> None:
    """jpegtran -arithmetic keeps every coefficient: the preview is the original's, whole,
    with no "damaged" warning (Pillow's libjpeg has no arithmetic decoder: it came out black)."""
    original = tmp_path / "huffman.jpg"
    pattern(640, 480).convert(mode).save(original, "JPEG", quality=90)
    coded = jpegs.arithmetic(tmp_path / "arith.jpg", source=original, progressive=progressive)
    assert jpeg.layout(coded.read_bytes()).arithmetic
    ours, warnings = thumbnails(coded, engine)
    assert warnings == ()
    assert ssim(ours, thumbnails(original, engine)[0]) > 0.999


_PEAK = """
import sys
from pathlib import Path
from mediapipe.config import Config
from mediapipe.metadata.model import MediaInfo
from mediapipe.thumbnails.engine import PillowEngine
from mediapipe.thumbnails.make import make_thumbnails
from mediapipe.thumbnails.turbo import TurboEngine
p = Path(sys.argv[1])
engine = {"turbo": TurboEngine, "pillow": PillowEngine}[sys.argv[2]]()
t = make_thumbnails(p, MediaInfo(path=str(p), kind="image", mime_type="image/jpeg",
                                 size=p.stat().st_size), Config(), engine)
hwm = [line for line in open("/proc/self/status") if line.startswith("VmHWM")][0]
print(t.preview.width, int(hwm.split()[1]) // 1024)
"""


@pytest.mark.parametrize("engine", ["turbo", "pillow"])
def test_a_jpeg_followed_by_2_gb_is_read_only_up_to_its_end(tmp_path: Path, engine: str) -> None:
    path = jpegs.padded(tmp_path / "padded.jpg", 2 << 30)
    out = subprocess.run([sys.executable, "-c", _PEAK, str(path), engine], capture_output=True,
                         text=True, timeout=120, check=True).stdout.split()
    assert int(out[0]) == 640
    assert int(out[1]) <= 300  # peak RSS, MB: the whole file would be 2 GB


@pytest.mark.parametrize("engine", ENGINES)
def test_a_progressive_scan_bomb_is_refused_before_decoding(tmp_path: Path,
                                                            engine: type) -> None:
    path = jpegs.scan_bomb(tmp_path / "bomb.jpg", 20_000)
    assert jpeg.layout(path.read_bytes()).scans > jpeg.MAX_SCANS
    start = time.monotonic()
    with pytest.raises(TooLarge, match="scans"):
        thumbnails(path, engine)
    assert time.monotonic() - start < 5


@pytest.mark.parametrize("engine", ENGINES)
def test_a_progressive_jpeg_within_the_scan_limit_is_made(tmp_path: Path,
                                                          engine: type) -> None:
    path = jpegs.scan_bomb(tmp_path / "many.jpg", 200, size=(400, 300))
    assert thumbnails(path, engine)[0].size == (400, 300)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("make", [
    pytest.param(lambda p: jpegs.lossless(p), id="lossless-ljpeg"),
    pytest.param(lambda p: jpegs.deep(p, 12), id="12-bit-dct"),
    pytest.param(lambda p: jpegs.deep(p, 12, lossless=True), id="12-bit-lossless"),
    pytest.param(lambda p: jpegs.deep(p, 16, lossless=True), id="16-bit-lossless")])
def test_lossless_and_deep_jpegs_are_unsupported_not_damaged(tmp_path: Path, engine: type,
                                                             make: object) -> None:
    path = make(tmp_path / "deep.jpg")  # type: ignore[operator]
    with pytest.raises(UnsupportedMedia) as caught:
        thumbnails(path, engine)
    assert caught.value.exit_code == 5


def test_the_end_of_image_is_found_past_a_thumbnail_and_before_a_trailer() -> None:
    """An EXIF thumbnail is a JPEG with its own end marker inside an APP1 segment: segments
    are skipped by their length, so only the image's own EOI ends it."""
    inner = io.BytesIO()
    Image.new("RGB", (16, 16)).save(inner, "JPEG")
    outer = io.BytesIO()
    exif = Image.Exif()
    exif[0x010E] = "x"
    Image.new("RGB", (64, 48), (9, 9, 9)).save(outer, "JPEG",
                                               exif=exif.tobytes() + inner.getvalue())
    data = outer.getvalue()
    found = jpeg.layout(data + b"TRAILER" * 10)
    assert found.end == len(data)
    assert (found.scans, found.process, found.precision, found.components) == (1, 0xC0, 8, 3)


def test_a_jpeg_cut_short_ends_where_its_data_does() -> None:
    out = io.BytesIO()
    Image.new("RGB", (64, 48)).save(out, "JPEG", progressive=True)
    data = out.getvalue()[:-100]
    found = jpeg.layout(data)
    assert found.end == len(data) and found.progressive and found.scans >= 1


def test_the_bomb_is_refused_in_an_ingest_and_the_batch_goes_on(tmp_path: Path) -> None:
    """One typed failure (exit 7) for the bomb; its neighbour is made."""
    from mediapipe.identity import asset_id_for_path
    from mediapipe.library import storage
    from mediapipe.pipeline.drive import process_asset

    library, root = tmp_path / "lib", tmp_path / "media"
    library.mkdir()
    storage.init_root(root)
    jpegs.scan_bomb(library / "bomb.jpg", 20_000)
    pattern(64, 48).save(library / "fine.jpg")
    results = {p.name: process_asset(p, asset_id_for_path(p), str(root), Config())
               for p in sorted(library.iterdir())}
    failed = results["bomb.jpg"].stages["thumbnails"]
    assert failed.error is not None and failed.error.type == "TooLarge"
    assert failed.error.exit_code == 7
    assert results["fine.jpg"].stages["thumbnails"].status.value == "done"


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("mode", "suffix"), [("L", ".jpg"), ("LA", ".png")])
def test_a_grey_image_with_a_grey_profile_is_converted_like_rgb(
        tmp_path: Path, engine: type, mode: str, suffix: str) -> None:
    """Gray Gamma 1.8: mid-grey 128 is 146 in sRGB, as a colour-managed viewer shows it."""
    from fixtures.thumbnails import grey_icc

    path = tmp_path / f"grey{suffix}"
    Image.new(mode, (64, 48), 128 if mode == "L" else (128, 255)).save(
        path, icc_profile=grey_icc(1.8))
    info = MediaInfo(path=str(path), kind="image", mime_type="image/png",
                     size=path.stat().st_size)
    made = make_thumbnails(path, info, Config(), engine())
    for out in (made.preview, made.thumbnail):
        pixel = Image.open(io.BytesIO(out.data)).convert("RGB").getpixel((10, 10))
        assert pixel == pytest.approx((146, 146, 146), abs=1)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_jpeg_whose_adobe_segment_is_cut_short_is_made_as_libjpeg_reads_it(
        tmp_path: Path, engine: type) -> None:
    """Pillow's header parser trips on a 6-byte Adobe segment that libjpeg skips."""
    path = jpegs.short_adobe(tmp_path / "adobe.jpg")
    ours, warnings = thumbnails(path, engine)
    assert ours.size == (320, 240) and warnings == ()
    assert ssim(ours, pattern(320, 240)) > 0.95


@pytest.mark.parametrize("engine", ENGINES)
def test_an_arithmetic_jpeg_cut_short_keeps_what_decodes_and_says_so(
        tmp_path: Path, engine: type) -> None:
    """Never a black preview behind a "damaged" warning: the top of the picture is there."""
    original = tmp_path / "huffman.jpg"
    pattern(640, 480).save(original, "JPEG", quality=90)
    coded = jpegs.arithmetic(tmp_path / "arith.jpg", source=original)
    coded.write_bytes(coded.read_bytes()[:len(coded.read_bytes()) * 2 // 3])
    ours, warnings = thumbnails(coded, engine)
    assert any("damaged" in w for w in warnings)
    top = (0, 0, 640, 60)  # the first 2/3 of the bytes hold its first 80 rows
    assert ssim(ours.crop(top), pattern(640, 480).crop(top)) > 0.95

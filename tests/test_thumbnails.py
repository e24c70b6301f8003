"""The thumbnail stage: sizes, formats, orientation, colour, modes, HEIC, limits, bad files.

One table of cases for every engine: each test runs once per engine that loads here (thumbor's
lesson), the default one (``TurboEngine``) and ``PillowEngine``.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from fixtures import images
from fixtures import thumbnails as tfx
from mediapipe import colour, formats
from mediapipe.config import Config, ImageConfig, ImageOutput
from mediapipe.errors import CorruptMedia, TooLarge, UnsupportedMedia
from mediapipe.formats import Derived
from mediapipe.metadata.model import MediaInfo
from mediapipe.thumbnails import make
from mediapipe.thumbnails.engine import ImageEngine, PillowEngine
from mediapipe.thumbnails.make import Thumbnails, make_thumbnails
from mediapipe.thumbnails.turbo import TurboEngine, available

CFG = Config()
ENGINES = {"turbo": TurboEngine, "pillow": PillowEngine}


@pytest.fixture(autouse=True, params=sorted(ENGINES))
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> ImageEngine:
    """The engine ``make_thumbnails`` picks by default, for the length of one test."""
    if request.param == "turbo" and not available():
        pytest.skip("OpenCV or simplejpeg does not load here")
    chosen: ImageEngine = ENGINES[request.param]()
    monkeypatch.setattr(make, "default_engine", lambda choice="auto": chosen)
    return chosen


def info_for(path: Path, **kw: object) -> MediaInfo:
    kind = str(formats.kind_of(path))
    return MediaInfo(path=str(path), kind=kind, mime_type=formats.mime_type(path),  # type: ignore[arg-type]
                     size=path.stat().st_size, **kw)  # type: ignore[arg-type]


def thumbs(path: Path, cfg: Config = CFG, **kw: object) -> Thumbnails:
    return make_thumbnails(path, info_for(path, **kw), cfg)


def decoded(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def quadrants(im: Image.Image) -> list[tuple[int, ...]]:
    """Mean colour near the centre of each quadrant: TL, TR, BL, BR."""
    arr = np.asarray(im.convert("RGB")).astype(float)
    h, w = arr.shape[:2]
    out = []
    for fy, fx in ((0.3, 0.3), (0.3, 0.7), (0.7, 0.3), (0.7, 0.7)):
        y, x = int(h * fy), int(w * fx)
        patch = arr[y - 2:y + 3, x - 2:x + 3].reshape(-1, 3).mean(axis=0)
        out.append(tuple(int(v) for v in patch))
    return out


def assert_upright(im: Image.Image, tol: int = 30) -> None:
    for got, want in zip(quadrants(im), images.QUADRANTS, strict=True):
        assert max(abs(g - w) for g, w in zip(got, want, strict=True)) <= tol, \
            (quadrants(im), images.QUADRANTS)
    marker = np.asarray(im.convert("L"))
    h, w = marker.shape
    s = min(w, h) // 8
    assert marker[s // 2 + s // 2, s // 2 + s // 2] < 60, "marker square not in the top-left"


SIZES = [
    pytest.param((3000, 2000), (2160, 1440), (375, 250), id="landscape-downscaled"),
    pytest.param((2000, 3000), (1440, 2160), (250, 375), id="portrait-downscaled"),
    pytest.param((800, 600), (800, 600), (333, 250), id="small-never-upscaled"),
    pytest.param((200, 100), (200, 100), (200, 100), id="tiny-kept-as-is"),
]


@pytest.mark.parametrize(("size", "preview", "thumbnail"), SIZES)
def test_shorter_side_fits_the_configured_size_and_nothing_is_upscaled(
        tmp_path: Path, size: tuple[int, int], preview: tuple[int, int],
        thumbnail: tuple[int, int]) -> None:
    t = thumbs(images.jpeg(tmp_path / "a.jpg", size))
    assert t.preview.size == preview == decoded(t.preview.data).size
    assert t.thumbnail.size == thumbnail == decoded(t.thumbnail.data).size


def test_preview_is_jpeg_thumbnail_is_webp_and_hash_is_base64(tmp_path: Path) -> None:
    t = thumbs(images.jpeg(tmp_path / "a.jpg", (640, 480)))
    assert (t.preview.format, decoded(t.preview.data).format) == ("jpeg", "JPEG")
    assert (t.thumbnail.format, decoded(t.thumbnail.data).format) == ("webp", "WEBP")
    assert 20 <= len(t.thumbhash) <= 40 and t.fullsize is None and t.colorspace == "srgb"


def test_quality_setting_reaches_the_encoder(tmp_path: Path) -> None:
    src = images.noise_jpeg(tmp_path / "n.jpg", (800, 600))
    def with_quality(q: int) -> Config:
        return CFG.replace(image=ImageConfig(preview=ImageOutput("jpeg", 1440, q),
                                             thumbnail=ImageOutput("webp", 250, q)))
    low, high = thumbs(src, with_quality(40)), thumbs(src, with_quality(95))
    assert len(low.preview.data) < len(high.preview.data) / 1.5
    assert len(low.thumbnail.data) < len(high.thumbnail.data)


def test_outputs_carry_no_source_metadata(tmp_path: Path) -> None:
    src = images.jpeg(tmp_path / "a.jpg", (640, 480), orientation=6, make="Canon",
                      description="secret")
    t = thumbs(src)
    for data in (t.preview.data, t.thumbnail.data):
        im = decoded(data)
        assert not im.getexif() and not im.info.get("icc_profile")
        assert b"Canon" not in data and b"secret" not in data


@pytest.mark.parametrize("orientation", range(1, 9), ids=lambda o: f"exif-{o}")
def test_jpeg_lands_upright_for_every_exif_orientation(tmp_path: Path, orientation: int) -> None:
    t = thumbs(images.jpeg(tmp_path / "a.jpg", (400, 300), orientation=orientation))
    assert t.preview.size == (400, 300)
    assert_upright(decoded(t.preview.data))
    assert_upright(decoded(t.thumbnail.data))


@pytest.mark.parametrize("orientation", [3, 6, 8], ids=lambda o: f"exif-{o}")
def test_png_exif_orientation_is_applied_too(tmp_path: Path, orientation: int) -> None:
    t = thumbs(tfx.oriented_png(tmp_path / "a.png", orientation))
    assert_upright(decoded(t.preview.data))


@pytest.mark.samples
@pytest.mark.parametrize("name", [f"{k}_{o}" for k in ("landscape", "portrait")
                                  for o in range(1, 9)])
def test_real_orientation_samples_all_show_the_same_picture(samples: Path, name: str) -> None:
    folder = samples / "images" / "orientation"
    ref = decoded(thumbs(folder / f"{name.split('_')[0]}_1.jpg").preview.data)
    got = decoded(thumbs(folder / f"{name}.jpg").preview.data)
    assert got.size == ref.size
    diff = np.abs(np.asarray(got, float) - np.asarray(ref, float)).mean()
    assert diff < 12, f"{name} differs from the upright reference by {diff:.1f}"


def srgb_from_p3(rgb: tuple[int, int, int]) -> np.ndarray:
    """Independent reference: P3 code values to sRGB code values by the published matrices."""
    def lin(v: np.ndarray) -> np.ndarray:
        return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)
    p3_to_xyz = np.array([[0.4865709, 0.2656677, 0.1982173], [0.2289746, 0.6917385, 0.0792869],
                          [0.0, 0.0451134, 1.0439444]])
    xyz_to_srgb = np.array([[3.2404542, -1.5371385, -0.4985314],
                            [-0.9692660, 1.8760108, 0.0415560],
                            [0.0556434, -0.2040259, 1.0572252]])
    v = np.clip(xyz_to_srgb @ p3_to_xyz @ lin(np.array(rgb) / 255), 0, 1)
    return np.where(v <= 0.0031308, 12.92 * v, 1.055 * v ** (1 / 2.4) - 0.055) * 255


P3_COLOURS = [(200, 150, 100), (60, 160, 90), (120, 120, 200), (128, 128, 128)]


@pytest.mark.parametrize("p3", P3_COLOURS, ids=str)
def test_p3_source_converted_to_expected_srgb_values(tmp_path: Path,
                                                     p3: tuple[int, int, int]) -> None:
    cfg = CFG.replace(image=ImageConfig(colorspace="srgb"))
    t = thumbs(tfx.p3_jpeg(tmp_path / "p3.jpg", p3), cfg)
    im = decoded(t.preview.data)
    assert t.colorspace == "srgb" and not im.info.get("icc_profile")
    got = np.asarray(im, float).reshape(-1, 3).mean(axis=0)
    assert np.abs(got - srgb_from_p3(p3)).max() < 4, (got, srgb_from_p3(p3))


def test_p3_source_stays_p3_with_the_profile_embedded_when_configured(tmp_path: Path) -> None:
    t = thumbs(tfx.p3_jpeg(tmp_path / "p3.jpg", (200, 150, 100)))
    assert t.colorspace == "p3"
    for data in (t.preview.data, t.thumbnail.data):
        im = decoded(data)
        profile = ImageCms.ImageCmsProfile(io.BytesIO(im.info["icc_profile"]))
        assert profile.profile.profile_description == "Display P3"
        got = np.asarray(im.convert("RGB"), float).reshape(-1, 3).mean(axis=0)
        assert np.abs(got - (200, 150, 100)).max() < 4


def test_srgb_profile_source_stays_srgb_without_a_profile(tmp_path: Path) -> None:
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    t = thumbs(images.jpeg(tmp_path / "s.jpg", (320, 240), icc=icc))
    assert t.colorspace == "srgb" and not decoded(t.preview.data).info.get("icc_profile")
    assert_upright(decoded(t.preview.data))


@pytest.mark.samples
def test_real_iphone_p3_jpeg_keeps_p3(samples: Path) -> None:
    t = thumbs(samples / "images" / "gps" / "singlemarkersoriginal.jpg")
    assert t.colorspace == "p3"
    assert colour.classify(decoded(t.preview.data).info["icc_profile"]) is colour.Gamut.WIDE


def test_alpha_is_flattened_on_white_for_jpeg_and_kept_in_webp(tmp_path: Path) -> None:
    t = thumbs(images.png(tmp_path / "a.png", (320, 240), mode="RGBA"))
    preview = decoded(t.preview.data)
    assert preview.mode == "RGB"
    top = np.asarray(preview)[0].astype(int)  # alpha 0 along the top row: white
    assert top.min() > 245
    assert decoded(t.thumbnail.data).mode == "RGBA"


MODES = [
    pytest.param(lambda p: images.png(p / "g16.png", mode="I;16"), "L", id="16-bit-grey-png"),
    pytest.param(lambda p: tfx.tiff16(p / "c16.tiff"), "RGB", id="16-bit-rgb-tiff"),
    pytest.param(lambda p: images.png(p / "p.png", mode="P"), "RGB", id="palette-png"),
    pytest.param(lambda p: images.png(p / "l.png", mode="L"), "L", id="grey-png"),
    pytest.param(lambda p: tfx.cmyk_jpeg(p / "cmyk.jpg"), "RGB", id="cmyk-jpeg"),
    pytest.param(lambda p: images.webp(p / "w.webp"), "RGB", id="webp"),
]


@pytest.mark.parametrize(("make", "look"), MODES)
def test_every_pixel_mode_gives_a_correct_rgb_preview(tmp_path: Path, make: object,
                                                      look: str) -> None:
    t = thumbs(make(tmp_path))  # type: ignore[operator]
    im = decoded(t.preview.data)
    assert im.mode == "RGB" and im.size == (320, 240)
    if look == "RGB":
        assert_upright(im, tol=40)
    else:  # grey: the quadrants' luminance, in order
        want = [int(0.299 * r + 0.587 * g + 0.114 * b) for r, g, b in images.QUADRANTS]
        got = [q[0] for q in quadrants(im)]
        assert max(abs(a - b) for a, b in zip(got, want, strict=True)) < 12, (got, want)


@pytest.mark.parametrize("ext", ["gif", "webp"])
def test_animation_shows_its_first_frame_that_is_not_blank(tmp_path: Path, ext: str) -> None:
    t = thumbs(tfx.animated(tmp_path / f"anim.{ext}", blank_frames=2))
    assert_upright(decoded(t.preview.data), tol=40)


@pytest.mark.parametrize(("orientation", "shown"), [
    (1, None), (6, Image.Transpose.ROTATE_270), (8, Image.Transpose.ROTATE_90)],
    ids=["exif-1", "exif-6", "exif-8"])
def test_generated_heic_is_rotated_once(tmp_path: Path, orientation: int,
                                        shown: Image.Transpose | None) -> None:
    # pillow-heif turns the EXIF orientation into an irot box when saving; libheif applies it
    # on decode and the EXIF tag must then not be applied a second time.
    want = images.pattern(512, 384)
    want = want.transpose(shown) if shown is not None else want
    t = thumbs(images.heic(tmp_path / "a.heic", (512, 384), orientation=orientation))
    got = decoded(t.preview.data)
    assert got.size == want.size
    assert np.abs(np.asarray(got, float) - np.asarray(want, float)).mean() < 8


@pytest.mark.samples
@pytest.mark.parametrize(("name", "preview"), [
    ("iphone_13_pro_max.HEIC", (1440, 1920)),  # orientation 6 in EXIF, pixels pre-rotated
    ("arrow.heic", (1440, 1920)),              # rotated by the irot box
    ("xiaomi.heic", (1920, 1440)),
    ("IMG_5195.HEIC", (1440, 1859)),
])
def test_real_heic_previews_are_displayed_the_right_way(samples: Path, name: str,
                                                        preview: tuple[int, int]) -> None:
    t = thumbs(samples / "images" / "heic" / name)
    assert t.preview.size == preview == decoded(t.preview.data).size


def test_fullsize_is_made_only_for_formats_browsers_cannot_show(tmp_path: Path) -> None:
    cfg = Config.from_dict({"image": {"fullsize": {"enabled": True}}})
    heic = thumbs(images.heic(tmp_path / "a.heic", (512, 384), orientation=6), cfg)  # irot: 90° cw
    assert heic.fullsize is not None and heic.fullsize.size == (384, 512)
    assert decoded(heic.fullsize.data).format == "JPEG"
    assert thumbs(images.jpeg(tmp_path / "a.jpg"), cfg).fullsize is None


def test_what_is_made_is_the_one_table_of_outputs_by_kind_and_format(tmp_path: Path) -> None:
    """``output_formats`` (what the thumbnails step declares it makes) and what
    ``make_thumbnails`` made (``outputs()``) are one table: a HEIC gets a full-size JPEG when
    ``image.fullsize`` is on, a JPEG never, and without metadata only the two every asset gets."""
    cfg = Config.from_dict({"image": {"fullsize": {"enabled": True}}})
    both = {Derived.PREVIEW: "jpeg", Derived.THUMBNAIL: "webp"}
    for path, expected in ((images.heic(tmp_path / "a.heic"), {**both, Derived.FULLSIZE: "jpeg"}),
                           (images.jpeg(tmp_path / "b.jpg"), both)):
        made = thumbs(path, cfg).outputs()
        assert {kind: image.format for kind, image in made.items()} == expected
        assert make.output_formats(info_for(path), cfg) == expected
    assert make.output_formats(None, cfg) == both


def test_pixel_limit_refuses_before_decoding(tmp_path: Path) -> None:
    cfg = Config.from_dict({"image": {"maxPixels": 640 * 480 - 1}})
    with pytest.raises(TooLarge, match="maxPixels"):
        thumbs(images.jpeg(tmp_path / "a.jpg", (640, 480)), cfg)


@pytest.mark.parametrize(("content", "error"), [
    pytest.param(b"", CorruptMedia, id="empty"),
    pytest.param(b"not an image at all", CorruptMedia, id="garbage"),
], )
def test_undecodable_bytes_are_corrupt_media(tmp_path: Path, content: bytes,
                                             error: type[Exception]) -> None:
    path = tmp_path / "x.jpg"
    path.write_bytes(content)
    with pytest.raises(error):
        thumbs(path)


@pytest.mark.parametrize("keep", [0.5, 0.9], ids=["half", "tail-cut"])
def test_damaged_jpeg_gets_thumbnails_of_what_decodes_and_a_warning(tmp_path: Path,
                                                                    keep: float) -> None:
    data = images.noise_jpeg(tmp_path / "n.jpg", (800, 600)).read_bytes()
    (tmp_path / "t.jpg").write_bytes(data[: int(len(data) * keep)])
    t = thumbs(tmp_path / "t.jpg")
    assert decoded(t.preview.data).size == t.preview.size == (800, 600)
    assert len(t.warnings) == 1 and "damaged image" in t.warnings[0]


def test_damage_tolerance_is_scoped_to_that_decode(tmp_path: Path) -> None:
    from PIL import ImageFile

    data = images.noise_jpeg(tmp_path / "n.jpg", (800, 600)).read_bytes()
    (tmp_path / "t.jpg").write_bytes(data[: len(data) // 2])
    thumbs(tmp_path / "t.jpg")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_a_jpeg_cut_inside_its_header_is_still_corrupt_media(tmp_path: Path) -> None:
    data = images.noise_jpeg(tmp_path / "n.jpg", (800, 600)).read_bytes()
    (tmp_path / "t.jpg").write_bytes(data[:100])
    with pytest.raises(CorruptMedia):
        thumbs(tmp_path / "t.jpg")


def test_an_intact_file_has_no_warnings(tmp_path: Path) -> None:
    assert thumbs(images.jpeg(tmp_path / "a.jpg", (640, 480))).warnings == ()


@pytest.mark.parametrize("extract", [False, True])
def test_raw_that_libraw_cannot_open_and_has_no_preview_is_unsupported(tmp_path: Path,
                                                                       extract: bool) -> None:
    path = tmp_path / "a.nef"
    path.write_bytes(b"\0" * 64)
    cfg = Config.from_dict({"image": {"extractEmbedded": extract}})
    with pytest.raises(UnsupportedMedia, match="libraw cannot open it"):
        thumbs(path, cfg)


def test_svg_is_refused_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "b.svg"
    path.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>')
    with pytest.raises(UnsupportedMedia, match="SVG is not rendered"):
        thumbs(path)


BAD = {
    "200MP.heic": TooLarge,  # 12240x16320 = 199.8 MP: refused here under a 150 MP limit
    "corrupted.heic": CorruptMedia, "empty.heic": CorruptMedia,
    "truncated.heic": None, "corrupted.jpg": None,  # still decodable: a valid result
    "36-memory_error.jpg": None, "42_IndexError.jpg": None, "67-0_length_string.jpg": None,
    "87_OSError.jpg": None, "exif_gps.jpg": None, "image00971.jpg": None,
    "image01137.jpg": None, "invalid-exif.jpg": None,
    "giant-280MP.jpg": TooLarge,  # 280 MP: refused from its header, nothing decoded
}


@pytest.mark.samples
@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_sample_gives_a_clear_error_or_a_valid_result(samples: Path, name: str) -> None:
    path = samples / "images" / "bad" / name
    if not path.exists():
        pytest.skip(f"{name} not in samples")
    cfg = Config.from_dict({"image": {"maxPixels": 150_000_000}})
    expected = BAD[name]
    if expected is None:
        t = thumbs(path, cfg)
        assert decoded(t.preview.data).size == t.preview.size
    else:
        with pytest.raises(expected):
            thumbs(path, cfg)


@pytest.mark.samples
def test_every_bad_sample_is_listed(samples: Path) -> None:
    assert {p.name for p in (samples / "images" / "bad").iterdir()} <= set(BAD)

"""The thumbnail stage: preview JPEG, thumbnail WebP and thumbhash from one decode of a file.

Owns: the order of the work and every size decision: refuse oversized images before decoding
(``image.maxPixels``), decode once at the smallest size that keeps the preview sharp (JPEG DCT
scaling), preview (shorter side ``image.preview.size``) and thumbnail each resized from those
pixels, thumbhash from the thumbnail, never upscaled; the output colour space (``colour``); the
optional full-size JPEG for formats browsers cannot show (RAW included, as Immich does); which
engine reads a file (RAW: ``raw.RawEngine``, libraw; everything else ``turbo.TurboEngine`` where
it loads, else ``PillowEngine``); videos via ``videoframe``; the warnings of a file decoded only
in part (``Thumbnails.warnings``). Does not own: pixel operations (an ``ImageEngine``), writing
files (``library.storage``, ``pipeline``), reading metadata (``metadata``: the caller passes
``MediaInfo``; for images the orientation is read from the image's own header as it is decoded).

Entry point: ``make_thumbnails(path, info, cfg) -> Thumbnails``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from mediapipe import colour
from mediapipe.config import Config
from mediapipe.errors import CorruptMedia, UnsupportedMedia, check_pixels
from mediapipe.formats import Derived, is_raw
from mediapipe.metadata import jxl
from mediapipe.metadata.model import MediaInfo
from mediapipe.sources import Source, SourceLike
from mediapipe.thumbnails import geometry, thumbhash
from mediapipe.thumbnails.engine import Header, ImageEngine, PillowEngine
from mediapipe.thumbnails.turbo import TurboEngine, available

__all__ = ["MAX_SIDE", "Encoded", "Thumbnails", "default_engine", "make_thumbnails",
           "output_formats", "output_size", "wants_fullsize"]

THUMBHASH_BOX = 100
MAX_SIDE = {"webp": 16383, "jpeg": 65500}  # the longest side libwebp and libjpeg write
# Formats every browser shows; others (HEIF, TIFF, RAW, ...) get a full-size image when
# ``image.fullsize.enabled`` (``wants_fullsize``).
WEB_MIME_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/avif"})
# Extensions no engine here can read, and why.
UNREADABLE = {".svg": "SVG is not rendered: no SVG renderer is installed with mediapipe"}


@dataclasses.dataclass(frozen=True)
class Encoded:
    """One encoded output image."""

    data: bytes
    format: str  # "jpeg" or "webp"
    width: int
    height: int

    @property
    def size(self) -> tuple[int, int]:
        return (self.width, self.height)


@dataclasses.dataclass(frozen=True)
class Thumbnails:
    preview: Encoded
    thumbnail: Encoded
    thumbhash: str           # base64, as Immich stores it
    colorspace: str          # "srgb" or "p3": the space preview and thumbnail are in
    fullsize: Encoded | None = None
    warnings: tuple[str, ...] = ()  # what the decode had to forgive (a damaged file, ...)

    def outputs(self) -> dict[Derived, Encoded]:
        """Each image made, by the kind of derived file it is (``output_formats``' kinds):
        what the thumbnails step writes, each to Immich's path for its kind."""
        made = {Derived.PREVIEW: self.preview, Derived.THUMBNAIL: self.thumbnail}
        if self.fullsize is not None:
            made[Derived.FULLSIZE] = self.fullsize
        return made


def make_thumbnails(source: SourceLike, info: MediaInfo, cfg: Config,
                    engine: ImageEngine | None = None) -> Thumbnails:
    """Preview, thumbnail and thumbhash (and full size when configured) of one image or video.

    Raises ``TooLarge`` before decoding an image over ``image.maxPixels``, ``CorruptMedia`` for
    undecodable input and ``UnsupportedMedia`` for what no engine can read.
    """
    return _make(Source.of(source), info, cfg, engine or default_engine(cfg.image.engine))


def default_engine(choice: str = "auto") -> ImageEngine:
    """The engine ``image.engine`` picks: ``auto``, the fastest that loads here
    (``bench_thumbnails`` measures them: libjpeg-turbo with OpenCV, else Pillow alone);
    ``pillow``, Pillow alone."""
    return TurboEngine() if choice == "auto" and available() else PillowEngine()


def _make(src: Source, info: MediaInfo, cfg: Config, eng: ImageEngine) -> Thumbnails:
    if info.kind == "video":
        return _from_video(src, info, cfg, eng)
    fullsize = Derived.FULLSIZE in output_formats(info, cfg)
    why = UNREADABLE.get(src.suffix.lower())
    if why is not None:
        raise UnsupportedMedia(src.path, why)
    if is_raw(src.path):
        from mediapipe.thumbnails.raw import RawEngine, open_raw  # libraw: for RAWs alone

        raw_eng = eng if isinstance(eng, RawEngine) else RawEngine()
        header = open_raw(src, preview_size=cfg.image.preview.size,
                          extract_embedded=cfg.image.extract_embedded, engine=raw_eng,
                          max_pixels=cfg.image.max_pixels)
        return _from_image(header, cfg, raw_eng, fullsize)
    declared = _jxl_size(src)  # pillow-jxl decodes inside Image.open: its header first
    if declared is not None:
        check_pixels(src.path, *declared, cfg.image.max_pixels)
    return _from_image(eng.open(src, max_pixels=cfg.image.max_pixels), cfg, eng, fullsize)


def _jxl_size(src: Source) -> tuple[int, int] | None:
    """The size a JPEG XL's SizeHeader declares (whatever the file's extension); None for any
    other file, or a header the decoder is left to judge."""
    try:
        head = jxl.read_header(src)
    except (jxl.JxlHeaderError, OSError):
        return None
    return head.width, head.height


def wants_fullsize(info: MediaInfo, cfg: Config) -> bool:
    """Whether this asset gets a full-size image besides its preview: a photo in a format
    browsers do not show, when ``image.fullsize.enabled``."""
    return (cfg.image.fullsize.enabled and info.kind == "image"
            and info.mime_type not in WEB_MIME_TYPES)


def output_formats(info: MediaInfo | None, cfg: Config) -> dict[Derived, str]:
    """Every image ``make_thumbnails`` makes of an asset, by kind, with its format: a preview,
    a thumbnail and, where ``wants_fullsize``, a full-size image (``info`` None, not read yet:
    the two every asset gets). The one table of what is made, which the thumbnails step also
    declares as its outputs."""
    img = cfg.image
    formats = {Derived.PREVIEW: img.preview.format, Derived.THUMBNAIL: img.thumbnail.format}
    if info is not None and wants_fullsize(info, cfg):
        formats[Derived.FULLSIZE] = img.fullsize.format
    return formats


def output_size(size: tuple[int, int], shorter: int, fmt: str) -> tuple[int, int]:
    """``size`` with its shorter side fitted to ``shorter`` (never upscaled), then, where its
    longer side is over what ``fmt``'s encoder writes (``MAX_SIDE``), scaled to fit that: the
    one rule of every output's size, for every engine (a 20000x300 panorama's thumbnail is
    16383x246, a 1x65000 strip's 1x16383)."""
    return geometry.fit_inside(geometry.fit_shorter(size, shorter), MAX_SIDE[fmt])


def _from_image(header: Header, cfg: Config, eng: ImageEngine,
                fullsize_wanted: bool = False) -> Thumbnails:
    im_cfg = cfg.image
    w, h = header.size
    check_pixels(header.path, *header.size, im_cfg.max_pixels)
    if w <= 0 or h <= 0:
        raise CorruptMedia(header.path, f"impossible image size {w}x{h}")
    space = colour.output_space(header.icc, im_cfg.colorspace)
    out_icc = colour.display_p3_icc() if space is colour.Space.P3 else None
    preview_stored = output_size(header.size, im_cfg.preview.size, im_cfg.preview.format)
    thumb_stored = output_size(preview_stored, im_cfg.thumbnail.size, im_cfg.thumbnail.format)
    fullsize = None
    if fullsize_wanted:
        img = eng.decode(header, header.size)
        img = eng.orient(eng.to_space(img, header.icc, space), header.orientation)
        full = eng.resize(img, geometry.fit_inside(eng.size(img),
                                                   MAX_SIDE[im_cfg.fullsize.format]))
        fw, fh = eng.size(full)
        fullsize = Encoded(eng.encode(full, im_cfg.fullsize.format, im_cfg.fullsize.quality,
                                      out_icc), im_cfg.fullsize.format, fw, fh)
        del full
        preview_img, thumb_img = eng.resize_each(
            img, [geometry.stored(size, header.orientation)
                  for size in (preview_stored, thumb_stored)])
    else:
        img = eng.decode(header, preview_stored)
        preview_img, thumb_img = eng.resize_each(img, [preview_stored, thumb_stored])
        del img
        preview_img, thumb_img = (eng.orient(eng.to_space(im, header.icc, space),
                                             header.orientation)
                                  for im in (preview_img, thumb_img))
    return _outputs(preview_img, thumb_img, cfg, eng, out_icc, space, fullsize,
                    tuple(header.notes))


def _outputs(preview_img: Any, thumb_img: Any, cfg: Config, eng: ImageEngine,
             out_icc: bytes | None, space: colour.Space, fullsize: Encoded | None,
             warnings: tuple[str, ...] = ()) -> Thumbnails:
    """Encode the preview and the thumbnail (both resized by one ``resize_each`` of the decoded
    pixels: the engine decides what the thumbnail is made from) and derive the thumbhash."""
    im_cfg = cfg.image
    pw, ph = eng.size(preview_img)
    preview = Encoded(eng.encode(preview_img, im_cfg.preview.format, im_cfg.preview.quality,
                                 out_icc), im_cfg.preview.format, pw, ph)
    tw, th = eng.size(thumb_img)
    thumbnail = Encoded(eng.encode(thumb_img, im_cfg.thumbnail.format, im_cfg.thumbnail.quality,
                                   out_icc), im_cfg.thumbnail.format, tw, th)
    hash_img = eng.resize(thumb_img if min(tw, th) >= THUMBHASH_BOX else preview_img,
                          geometry.fit_inside((pw, ph), THUMBHASH_BOX))
    hash_ = thumbhash.to_base64(thumbhash.encode(eng.rgba(hash_img)))
    return Thumbnails(preview, thumbnail, hash_, str(space), fullsize, warnings)


def _from_video(src: Source, info: MediaInfo, cfg: Config, eng: ImageEngine) -> Thumbnails:
    from mediapipe.thumbnails.videoframe import representative_frame

    frame = representative_frame(src, rotation=info.rotation, transfer=info.color_transfer,
                                 shorter=cfg.image.preview.size,
                                 max_pixels=cfg.image.max_pixels)
    img = eng.from_array(frame)
    thumb_img = eng.resize(img, output_size(eng.size(img), cfg.image.thumbnail.size,
                                            cfg.image.thumbnail.format))
    return _outputs(img, thumb_img, cfg, eng, None, colour.Space.SRGB, None)

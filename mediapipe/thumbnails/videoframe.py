"""The still that stands for a video: a representative keyframe, upright, in SDR sRGB.

Owns: picking the frame (keyframes only, skipping black or uniform leading frames, bounded work),
scaling it while decoding (swscale), applying the display rotation, and tone-mapping PQ and HLG
(BT.2020) frames to SDR BT.709/sRGB so that thumbnails of HDR video are not washed out; also
``is_blank``, which animated images use too. Does not own: sizes (``geometry``), encoding
(``engine``), reading the rotation or transfer (``metadata``; passed in).

Entry point: ``representative_frame(path, rotation=, transfer=, shorter=, max_pixels=)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np
import numpy.typing as npt

from mediapipe import sources
from mediapipe.errors import CorruptMedia, UnsupportedMedia, check_pixels
from mediapipe.metadata.model import HDR_TRANSFERS
from mediapipe.metadata.video import TRANSFER_NAMES
from mediapipe.sources import Source, SourceLike
from mediapipe.thumbnails.geometry import fit_shorter

if TYPE_CHECKING:  # PyAV is imported where it is used: importing this module stays cheap
    from av.container import InputContainer
    from av.video.frame import VideoFrame
    from av.video.stream import VideoStream

__all__ = ["is_blank", "representative_frame", "tonemap"]

MAX_KEYFRAMES = 12      # keyframes examined before settling for the best one seen
MAX_PACKETS = 6000      # packets demuxed at most (bounds work on long GOPs and broken files)
SDR_WHITE_NITS = 203.0  # BT.2408 reference white: HDR code for "paper white" maps to SDR 1.0
PEAK_NITS = 1000.0      # assumed mastering peak (most phone and consumer HDR)
KNEE = 0.75             # linear SDR level above which highlights are compressed

_BT2020_TO_709 = np.array([[1.6605, -0.5876, -0.0728],
                           [-0.1246, 1.1329, -0.0083],
                           [-0.0182, -0.1006, 1.1187]], dtype=np.float32)
_LUMA_2020 = np.array([0.2627, 0.6780, 0.0593], dtype=np.float32)


def is_blank(pixels: npt.NDArray[np.uint8]) -> bool:
    """True for a frame that shows nothing: transparent, near-black, or one uniform colour."""
    px = pixels.reshape(-1, pixels.shape[-1]).astype(np.float32)
    if px.shape[1] == 4:
        visible = px[:, 3] > 127
        if visible.mean() < 0.02:
            return True
        px = px[visible]
    luma = px[:, :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return bool(luma.std() < 3.0 or luma.mean() < 10.0)


def _pq_to_linear(e: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    m1, m2 = 2610 / 16384, 2523 / 4096 * 128
    c1, c2, c3 = 3424 / 4096, 2413 / 4096 * 32, 2392 / 4096 * 32
    p = np.power(np.clip(e, 0, 1), 1 / m2)
    nits = np.power(np.maximum(p - c1, 0) / (c2 - c3 * p), 1 / m1) * 10000
    return (nits / SDR_WHITE_NITS).astype(np.float32)


def _hlg_to_linear(e: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    a, b, c = 0.17883277, 0.28466892, 0.55991073
    e = np.clip(e, 0, 1)
    scene = np.where(e <= 0.5, e * e / 3, (np.exp((e - c) / a) + b) / 12)
    ys = np.maximum(scene @ _LUMA_2020, 1e-6)[..., None]
    nits = PEAK_NITS * np.power(ys, 0.2) * scene  # BT.2100 OOTF for a 1000-nit display
    return (nits / SDR_WHITE_NITS).astype(np.float32)


def _knee(x: npt.NDArray[np.float32], peak: float) -> npt.NDArray[np.float32]:
    """Identity below ``KNEE``; above it, highlights up to ``peak`` roll off smoothly into 1."""
    t = np.maximum(x - KNEE, 0) / (1 - KNEE)
    tw = (peak - KNEE) / (1 - KNEE)
    rolled = KNEE + (1 - KNEE) * t * (1 + t / (tw * tw)) / (1 + t)
    return np.where(x <= KNEE, x, np.minimum(rolled, 1.0)).astype(np.float32)


def tonemap(rgb: npt.NDArray[np.float32], transfer: str) -> npt.NDArray[np.uint8]:
    """Non-linear BT.2020 RGB (0..1) under PQ or HLG to 8-bit sRGB (BT.709 primaries)."""
    lin = _pq_to_linear(rgb) if transfer == "smpte2084" else _hlg_to_linear(rgb)
    lin = np.maximum(lin @ _BT2020_TO_709.T, 0)
    peak = PEAK_NITS / SDR_WHITE_NITS
    m = lin.max(axis=-1, keepdims=True)
    lin = np.where(m > KNEE, lin * (_knee(m, peak) / np.maximum(m, 1e-6)), lin)
    lin = np.clip(lin, 0, 1)
    srgb: npt.NDArray[np.float32] = np.where(lin <= 0.0031308, 12.92 * lin,
                                             1.055 * np.power(lin, 1 / 2.4) - 0.055)
    return (srgb * 255 + 0.5).astype(np.uint8)


def representative_frame(source: SourceLike, *, rotation: int = 0, transfer: str | None = None,
                         shorter: int = 1440, max_pixels: int = 200_000_000,
                         ) -> npt.NDArray[np.uint8]:
    """The first keyframe that is not blank (else the most detailed seen), as upright sRGB
    ``(h, w, 3)`` with its shorter side at most ``shorter``. ``rotation`` is clockwise degrees;
    ``transfer`` the stream's colour transfer (PQ/HLG are tone-mapped; None: read the stream's)."""
    import av

    src = Source.of(source)
    path = src.path
    try:
        container = av.open(src.name, metadata_errors="ignore")
    except av.FFmpegError as exc:
        raise CorruptMedia(path, f"cannot open video: {sources.reason(exc)}") from exc
    with container:
        streams = [s for s in container.streams.video
                   if not (s.disposition & av.stream.Disposition.attached_pic)]
        if not streams:
            raise UnsupportedMedia(path, "no video stream")
        stream = streams[0]
        check_pixels(path, stream.codec_context.width, stream.codec_context.height,
                     max_pixels, what="video")  # the header's size: nothing decoded yet
        stream.codec_context.skip_frame = "NONKEY"
        chosen = _pick(container, stream, path)
    trc = transfer or TRANSFER_NAMES.get(int(chosen.color_trc))
    tw, th = fit_shorter((chosen.width, chosen.height), shorter)
    if trc in HDR_TRANSFERS:
        from av.video.reformatter import Colorspace

        frame = chosen.reformat(tw, th, "rgb48le", src_colorspace=Colorspace.BT2020,
                                interpolation="AREA")
        rgb = tonemap(frame.to_ndarray().astype(np.float32) / 65535.0, trc)
    else:
        rgb = _rgb24(chosen.reformat(tw, th, "rgb24", interpolation="AREA"))
    k = (-(rotation // 90)) % 4  # np.rot90 turns counter-clockwise
    return np.ascontiguousarray(np.rot90(rgb, k)) if k else rgb


def _rgb24(frame: VideoFrame) -> npt.NDArray[np.uint8]:
    # cast: PyAV types to_ndarray as a union over every pixel format; rgb24 frames are uint8.
    return cast("npt.NDArray[np.uint8]", frame.to_ndarray())


def _pick(container: InputContainer, stream: VideoStream, path: Path) -> VideoFrame:
    import av

    best: VideoFrame | None = None
    best_score, seen = -1.0, 0

    def frames() -> Iterator[VideoFrame]:
        for n, packet in enumerate(container.demux(stream)):
            if n >= MAX_PACKETS:
                return
            yield from packet.decode()  # the last, empty packet flushes the decoder

    try:
        for frame in frames():
            seen += 1
            small = _rgb24(frame.reformat(32, 32, "rgb24"))
            if not is_blank(small):
                return frame
            score = float(small.std())
            if score > best_score:
                best, best_score = frame, score
            if seen >= MAX_KEYFRAMES:
                break
    except av.FFmpegError as exc:
        if best is None:
            raise CorruptMedia(path, f"cannot decode video: {sources.reason(exc)}") from exc
    if best is None:
        raise CorruptMedia(path, "no decodable video frame")
    return best

"""The external programs and native libraries mediapipe relies on, and what really works here.

Owns: finding ``ffmpeg``/``ffprobe``/``exiftool``, their versions, PyAV's and libheif's versions,
and probing which ffmpeg encoders and filters *actually* work (a one-frame test encode, cached
per process) instead of trusting ``ffmpeg -encoders``: Debian's ffmpeg lists ``h264_nvenc`` and
then fails with "Cannot load libcuda.so.1". Does not own: deciding what to encode
(``transcode``) or reporting (``cli doctor``).

Entry points: ``probe_encoder``, ``has_filter``, ``versions``.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import shutil
import subprocess

__all__ = ["EncoderStatus", "has_filter", "probe_encoder", "tool_path", "versions"]

PROBE_TIMEOUT_S = 30


@dataclasses.dataclass(frozen=True)
class EncoderStatus:
    name: str
    available: bool
    reason: str = ""

    def to_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


def tool_path(name: str) -> str | None:
    return shutil.which(name)


def _run(argv: list[str], timeout: float = PROBE_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, check=False)


def last_error_lines(stderr: str, n: int = 3, *, said_by: str = "") -> str:
    """What a tool's stderr says went wrong, joined: the lines ffmpeg's component ``said_by``
    logged itself (``[h264_nvenc @ 0x…] No capable devices found``: ffmpeg 7 and later follow
    them with lines about the tasks it stopped), else the last ``n`` non-empty lines."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    own = [ln for ln in lines if said_by and ln.startswith(f"[{said_by} @ ")]
    return " | ".join(_ADDRESS.sub("", ln) for ln in (own or lines)[-n:])


_ADDRESS = re.compile(r" @ 0x[0-9a-f]+")  # a context's address: noise in a message


# Extra arguments a probe needs for encoders that want hardware frames or special input.
_PROBE_INPUT = ["-f", "lavfi", "-i", "color=c=black:s=256x256:r=25:d=0.04"]


@functools.cache
def probe_encoder(name: str, inputs: tuple[str, ...] = (), vf: str = "") -> EncoderStatus:
    """Encode one frame with ``name``; available only if ffmpeg exits 0. Cached per process.

    ``inputs`` (``-init_hw_device …``) and ``vf`` (``format=nv12,hwupload``) are what an encoder
    that takes hardware frames needs to be reached."""
    ffmpeg = tool_path("ffmpeg")
    if ffmpeg is None:
        return EncoderStatus(name, False, "ffmpeg not found on PATH")
    frames = ["-vf", vf] if vf else ["-pix_fmt", "yuv420p"]
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", *inputs, *_PROBE_INPUT,
            "-frames:v", "1", *frames, "-c:v", name, "-f", "null", "-"]
    try:
        proc = _run(argv)
    except subprocess.TimeoutExpired:
        return EncoderStatus(name, False, f"test encode timed out after {PROBE_TIMEOUT_S}s")
    if proc.returncode == 0:
        return EncoderStatus(name, True, "")
    return EncoderStatus(name, False, last_error_lines(proc.stderr, said_by=name) or
                         f"ffmpeg exited with {proc.returncode}")


@functools.cache
def _filters() -> frozenset[str]:
    ffmpeg = tool_path("ffmpeg")
    if ffmpeg is None:
        return frozenset()
    proc = _run([ffmpeg, "-hide_banner", "-filters"])
    names = set()
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 3 and "->" in parts[2]:
            names.add(parts[1])
    return frozenset(names)


def has_filter(name: str) -> bool:
    """Whether this ffmpeg binary was built with the filter (``zscale``, ``tonemapx`` …)."""
    return name in _filters()


def _version_of(argv: list[str], pattern: str) -> str | None:
    if tool_path(argv[0]) is None:
        return None
    try:
        proc = _run(argv)
    except (subprocess.TimeoutExpired, OSError):
        return None
    match = re.search(pattern, proc.stdout + proc.stderr)
    return match.group(1) if match else None


@functools.cache
def versions() -> dict[str, str | None]:
    """Versions of every tool and library mediapipe uses; None where one is missing."""
    out: dict[str, str | None] = {
        "ffmpeg": _version_of(["ffmpeg", "-version"], r"ffmpeg version (\S+)"),
        "ffprobe": _version_of(["ffprobe", "-version"], r"ffprobe version (\S+)"),
        "exiftool": _version_of(["exiftool", "-ver"], r"(\d+\.\d+)"),
        "vipsthumbnail": _version_of(["vips", "--version"], r"vips-(\S+)"),
    }
    try:
        import av

        out["pyav"] = av.__version__
        out["pyav_ffmpeg"] = getattr(av, "ffmpeg_version_info", None)
    except ImportError:
        out["pyav"] = None
    try:
        import PIL

        out["pillow"] = PIL.__version__
    except ImportError:
        out["pillow"] = None
    try:
        import pillow_heif

        out["pillow_heif"] = pillow_heif.__version__
        out["libheif"] = pillow_heif.libheif_version()
    except ImportError:
        out["pillow_heif"] = None
    return out

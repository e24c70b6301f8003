"""``mediapipe doctor``: what this machine can do, gathered into one report.

Owns: the ``Report`` (tool and library versions, which encoders really open — a one-frame test
encode each, for every accelerator of ``transcode.chain.ACCELERATORS`` —, which ffmpeg build
and filters it found, the ``/dev/dri`` nodes and Mali OpenCL, whether the broker answers within
its timeout, whether the media root's markers are there and its folders writable), the
``Failure``s it found (each with its message and the exit code of its kind: a required tool
missing ``MediaError``'s, a folder offline ``StorageOffline``'s, a folder not writable
``PermissionDenied``'s, the broker unreachable ``BrokerUnreachable``'s) and its text rendering.
``ok`` is true only when nothing failed; an NVENC that does not open is reported, not a
failure. Does not own: probing itself (``toolchain``, ``workers.broker``) or printing (``cli``).

Also every component's version (``versions``: mediapipe, Python, the tools, the libraries,
libraw; never a tool nothing uses), the thumbnail engine in use (``engine_in_use``), and the
tools a run cannot do without (``REQUIRED``: ffmpeg, ffprobe, exiftool; one missing fails
doctor). Every name in the text is escaped (``shown``).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mediapipe.errors import BrokerUnreachable, MediaError, PermissionDenied, StorageOffline
from mediapipe.library import storage
from mediapipe.transcode import build, toolchain
from mediapipe.transcode.chain import ACCELERATORS
from mediapipe.transcode.devices import HwDevices
from mediapipe.transcode.run import machine_here

__all__ = ["ENCODERS", "FILTERS", "Failure", "Report", "render", "report"]

# Every accelerator's h264 and hevc encoders (the list is chain.ACCELERATORS, not restated).
ENCODERS = tuple((acc, codec) for acc in ACCELERATORS for codec in ("h264", "hevc")
                 if codec in acc.encoders)
FILTERS = ("tonemap", "hwupload_cuda", *build.FILTERS)


@dataclasses.dataclass(frozen=True)
class Failure:
    """One check that failed: which, in words, and the exit code of its kind."""

    check: str
    message: str
    exit_code: int


@dataclasses.dataclass(frozen=True)
class Folder:
    """One folder of the media root: whether it can be written to, and if not, why."""

    folder: str
    problem: str = ""

    @property
    def ok(self) -> bool:
        return not self.problem


@dataclasses.dataclass(frozen=True)
class Broker:
    """The broker checked: its URL (password masked), whether it answered (None: no broker)."""

    url: str | None
    reachable: bool | None
    error: str | None = None


@dataclasses.dataclass(frozen=True)
class Report:
    """Everything doctor found; ``ok`` when no check failed. ``to_dict`` is ``--json``."""

    versions: Mapping[str, str | None]
    thumbnail_engine: str
    encoders: tuple[tuple[str, toolchain.EncoderStatus], ...]  # (accelerator, status)
    filters: Mapping[str, bool]
    ffmpeg_build: str
    hw_devices: HwDevices
    broker: Broker
    media_root: tuple[Path, tuple[Folder, ...]] | None
    failures: tuple[Failure, ...]

    @property
    def ok(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        broker = dataclasses.asdict(self.broker)
        if broker["url"] is None:
            broker["note"] = "no broker: runs in-process"
        root = None if self.media_root is None else {
            "path": str(self.media_root[0]),
            "folders": [{"folder": f.folder, "ok": f.ok, "problem": f.problem}
                        for f in self.media_root[1]]}
        return {"versions": dict(self.versions),
                "encoders": [{**status.to_dict(), "accel": accel}
                             for accel, status in self.encoders],
                "filters": dict(self.filters), "ffmpeg_build": self.ffmpeg_build,
                "hw_devices": self.hw_devices.to_dict(), "broker": broker, "media_root": root,
                "thumbnail_engine": self.thumbnail_engine,
                "failures": [dataclasses.asdict(f) for f in self.failures], "ok": self.ok}


def report(broker_url: str, media_root: str | None, engine: str = "auto") -> Report:
    """Everything doctor checks; not ``ok`` when any check failed (``failures``)."""
    machine = machine_here()
    found = versions(toolchain.versions())
    broker, broker_failed = _check_broker(broker_url)
    root, root_failed = _check_root(Path(media_root)) if media_root else (None, [])
    missing = [Failure("tools", f"{tool} is not installed or does not run (needed for {why})",
                       MediaError.exit_code)
               for tool, why in REQUIRED.items() if not found.get(tool)]
    return Report(
        versions=found, thumbnail_engine=engine_in_use(engine),
        encoders=tuple((acc.name, acc.available(codec, machine)) for acc, codec in ENCODERS),
        filters={name: toolchain.has_filter(name) for name in FILTERS},
        ffmpeg_build=build.probe_build().name, hw_devices=machine.devices, broker=broker,
        media_root=root, failures=(*broker_failed, *root_failed, *missing))


# What a run cannot do without, and what for: a missing one fails doctor.
REQUIRED = {"ffmpeg": "transcodes and video thumbnails", "ffprobe": "video checks",
            "exiftool": "metadata of RAW, PSD, JPEG XL, SVG and maker notes"}
UNUSED = ("vipsthumbnail",)  # reported by the toolchain, used by nothing mediapipe runs


def versions(tools: dict[str, str | None]) -> dict[str, str | None]:
    """Every component's version, mediapipe's and Python's first, then ``tools`` (the
    toolchain's, less what nothing uses); None where one is missing."""
    import importlib.metadata
    import platform

    def dist(name: str) -> str | None:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return None

    out: dict[str, str | None] = {"mediapipe": dist("homelib-mediapipe"),
                                  "python": platform.python_version()}
    out.update((k, v) for k, v in tools.items() if k not in UNUSED)
    out["numpy"] = dist("numpy")
    out["opencv"] = _module_version("cv2")
    out["simplejpeg"] = dist("simplejpeg")
    out["rawpy"] = dist("rawpy")
    out["libraw"] = _libraw()
    out["celery"] = dist("celery")
    out["redis-py"] = dist("redis")
    return out


def _module_version(module: str) -> str | None:
    import importlib

    try:
        return str(importlib.import_module(module).__version__)
    except (ImportError, OSError, AttributeError):
        return None


def _libraw() -> str | None:
    try:
        import rawpy

        return str(rawpy.libraw_version).strip("()").replace(", ", ".")
    except (ImportError, OSError, AttributeError):
        return None


def engine_in_use(choice: str) -> str:
    """The thumbnail engine ``image.engine`` picks on this machine, and why."""
    from mediapipe.thumbnails import polyphase, turbo

    if choice == "pillow":
        return "pillow (image.engine = pillow)"
    if not turbo.available():
        return "pillow (simplejpeg, or both resamplers, do not load)"
    loops = polyphase.loops()
    resampler = (f"the compiled Lanczos resampler ({loops} loops)" if loops
                 else "OpenCV's resampling (the compiled resampler was not built)")
    return f"turbo: libjpeg-turbo (simplejpeg) and {resampler}, Pillow for other formats"


def _check_root(root: Path) -> tuple[tuple[Path, tuple[Folder, ...]], list[Failure]]:
    folders, failures = [], []
    for name in storage.FOLDERS:
        folder = root / name
        problem, code = "", 0
        if not storage.marked(folder):
            problem, code = "marker missing (not initialised, or disk not mounted)", \
                StorageOffline.exit_code
        elif not os.access(folder, os.W_OK):
            problem, code = "not writable by this user", PermissionDenied.exit_code
        if problem:
            failures.append(Failure("media_root", f"{folder}: {problem}", code))
        folders.append(Folder(name, problem))
    return (root, tuple(folders)), failures


def _check_broker(url: str) -> tuple[Broker, list[Failure]]:
    if not url:
        return Broker(None, None), []
    from mediapipe.workers.broker import probe, redact

    try:
        probe(url)
    except BrokerUnreachable as exc:
        return Broker(exc.url, False, exc.reason), [Failure("broker", str(exc), exc.exit_code)]
    return Broker(redact(url), True), []


def render(data: Report) -> list[str]:
    """The report as lines of text, every name escaped."""
    from mediapipe.shown import shown

    lines = ["Versions:"]
    lines += [f"  {name:<14} {shown(str(version)) if version else 'MISSING'}"
              for name, version in data.versions.items()]
    lines.append(f"Thumbnail engine: {data.thumbnail_engine}")
    lines.append("Encoders (1-frame test encode):")
    for _, e in data.encoders:
        lines.append(f"  {e.name:<14} {'works' if e.available else 'unavailable'}"
                     + (f"  ({e.reason})" if e.reason else ""))
    lines.append(f"ffmpeg build: {data.ffmpeg_build} (jellyfin-ffmpeg's filters: "
                 f"{'yes' if data.ffmpeg_build == 'jellyfin' else 'no'})")
    lines.append("Filters: " + ", ".join(f"{k}={'yes' if v else 'no'}"
                                          for k, v in data.filters.items()))
    hw = data.hw_devices
    lines.append(f"/dev/dri: {', '.join(hw.dri) or 'none'}; Mali OpenCL: "
                 f"{'yes' if hw.mali_opencl else 'no'}")
    b = data.broker
    lines.append(f"Broker: {b.url or 'none (in-process)'}"
                 + ("" if b.reachable is None else
                    " reachable" if b.reachable else f" UNREACHABLE ({shown(str(b.error))})"))
    if data.media_root:
        path, folders = data.media_root
        lines.append(f"Media root: {shown(str(path))}")
        lines += [f"  {'ok ' if f.ok else 'BAD'} {f.folder}  {f.problem}" for f in folders]
    return lines

"""``mediapipe doctor``: what this machine can do, gathered into one report.

Owns: the report (tool and library versions, which encoders really open — a one-frame test
encode each, for every accelerator of ``transcode.chain.ACCELERATORS`` —, which ffmpeg build
and filters it found, the ``/dev/dri`` nodes and Mali OpenCL, whether the broker answers within
its timeout, whether the media root's markers are there and its folders writable), the
``failures`` it found (each with its message and exit code: ffmpeg missing 1, a folder offline
4, a folder not writable 13, the broker unreachable 14) and its text rendering. ``ok`` is true
only when nothing failed; an NVENC that does not open is reported, not a failure. Does not
own: probing itself (``toolchain``, ``workers.broker``) or printing (``cli``).

Also every component's version (``versions``: mediapipe, Python, the tools, the libraries,
libraw; never a tool nothing uses), the thumbnail engine in use (``engine_in_use``), and the
tools a run cannot do without (``REQUIRED``: ffmpeg, ffprobe, exiftool; one missing fails
doctor, exit 1). Every name in the text is escaped (``shown``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mediapipe.errors import BrokerUnreachable, PermissionDenied, StorageOffline
from mediapipe.library import storage
from mediapipe.transcode import build, toolchain
from mediapipe.transcode.chain import ACCELERATORS
from mediapipe.transcode.run import machine_here

__all__ = ["ENCODERS", "FILTERS", "render", "report"]

# Every accelerator's h264 and hevc encoders (the list is chain.ACCELERATORS, not restated).
ENCODERS = tuple((acc, codec) for acc in ACCELERATORS for codec in ("h264", "hevc")
                 if codec in acc.encoders)
FILTERS = ("tonemap", "hwupload_cuda", *build.FILTERS)


def report(broker_url: str, media_root: str | None, engine: str = "auto") -> dict[str, Any]:
    """Everything doctor checks; ``ok`` is false when any check failed (``failures``)."""
    failures: list[dict[str, Any]] = []
    machine = machine_here()
    out: dict[str, Any] = {
        "versions": toolchain.versions(),
        "encoders": [{**acc.available(codec, machine).to_dict(), "accel": acc.name}
                     for acc, codec in ENCODERS],
        "filters": {name: toolchain.has_filter(name) for name in FILTERS},
        "ffmpeg_build": build.probe_build().name,
        "hw_devices": machine.devices.to_dict(),
        "broker": _check_broker(broker_url, failures),
        "media_root": _check_root(Path(media_root), failures) if media_root else None,
    }
    out["versions"] = versions(out["versions"])
    out["thumbnail_engine"] = engine_in_use(engine)
    for tool, why in REQUIRED.items():
        if not out["versions"].get(tool):
            failures.append(_failure("tools", f"{tool} is not installed or does not run "
                                              f"(needed for {why})", 1))
    out["failures"] = failures
    out["ok"] = not failures
    return out


# What a run cannot do without, and what for: a missing one fails doctor (exit 1).
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
    from mediapipe.thumbnails import turbo

    if choice == "pillow":
        return "pillow (image.engine = pillow)"
    return ("turbo: libjpeg-turbo (simplejpeg) and OpenCV, Pillow for other formats"
            if turbo.available() else "pillow (OpenCV or simplejpeg do not load)")


def _failure(check: str, message: str, exit_code: int) -> dict[str, Any]:
    return {"check": check, "message": message, "exit_code": exit_code}


def _check_root(root: Path, failures: list[dict[str, Any]]) -> dict[str, Any]:
    folders = []
    for name in storage.FOLDERS:
        folder = root / name
        problem, code = "", 0
        if not storage.marked(folder):
            problem, code = "marker missing (not initialised, or disk not mounted)", \
                StorageOffline.exit_code
        elif not os.access(folder, os.W_OK):
            problem, code = "not writable by this user", PermissionDenied.exit_code
        if problem:
            failures.append(_failure("media_root", f"{folder}: {problem}", code))
        folders.append({"folder": name, "ok": not problem, "problem": problem})
    return {"path": str(root), "folders": folders}


def _check_broker(url: str, failures: list[dict[str, Any]]) -> dict[str, Any]:
    if not url:
        return {"url": None, "reachable": None, "note": "no broker: runs in-process"}
    from mediapipe.workers.broker import probe, redact

    try:
        probe(url)
    except BrokerUnreachable as exc:
        failures.append(_failure("broker", str(exc), exc.exit_code))
        return {"url": exc.url, "reachable": False, "error": exc.reason}
    return {"url": redact(url), "reachable": True}


def render(data: dict[str, Any]) -> list[str]:
    """The report as lines of text, every name escaped."""
    from mediapipe.shown import shown

    lines = ["Versions:"]
    lines += [f"  {name:<14} {shown(str(version)) if version else 'MISSING'}"
              for name, version in data["versions"].items()]
    lines.append(f"Thumbnail engine: {data['thumbnail_engine']}")
    lines.append("Encoders (1-frame test encode):")
    for e in data["encoders"]:
        lines.append(f"  {e['name']:<14} {'works' if e['available'] else 'unavailable'}"
                     + (f"  ({e['reason']})" if e["reason"] else ""))
    lines.append(f"ffmpeg build: {data['ffmpeg_build']} (jellyfin-ffmpeg's filters: "
                 f"{'yes' if data['ffmpeg_build'] == 'jellyfin' else 'no'})")
    lines.append("Filters: " + ", ".join(f"{k}={'yes' if v else 'no'}"
                                          for k, v in data["filters"].items()))
    hw = data["hw_devices"]
    lines.append(f"/dev/dri: {', '.join(hw['dri']) or 'none'}; Mali OpenCL: "
                 f"{'yes' if hw['mali_opencl'] else 'no'}")
    b = data["broker"]
    lines.append(f"Broker: {b['url'] or 'none (in-process)'}"
                 + ("" if b["reachable"] is None else
                    " reachable" if b["reachable"] else
                    f" UNREACHABLE ({shown(str(b.get('error')))})"))
    if data["media_root"]:
        lines.append(f"Media root: {shown(data['media_root']['path'])}")
        lines += [f"  {'ok ' if f['ok'] else 'BAD'} {f['folder']}  {f['problem']}"
                  for f in data["media_root"]["folders"]]
    return lines

"""``mediapipe doctor``: what this machine can do, gathered into one report.

Owns: the report (tool and library versions, which encoders really open — a one-frame test
encode each, NVENC included —, which ffmpeg filters exist, whether the broker answers within
its timeout, whether the media root's markers are there and its folders writable), the
``failures`` it found (each with its message and exit code: ffmpeg missing 1, a folder offline
4, a folder not writable 13, the broker unreachable 14) and its text rendering. ``ok`` is true
only when nothing failed; an NVENC that does not open is reported, not a failure. Does not
own: probing itself (``toolchain``, ``workers.broker``) or printing (``cli``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mediapipe.errors import BrokerUnreachable, PermissionDenied, StorageOffline
from mediapipe.library import storage
from mediapipe.transcode import toolchain

__all__ = ["ENCODERS", "FILTERS", "render", "report"]

ENCODERS = ("libx264", "libx265", "h264_nvenc", "hevc_nvenc")
FILTERS = ("zscale", "tonemap", "tonemapx", "tonemap_cuda", "scale_cuda", "hwupload_cuda")


def report(broker_url: str, media_root: str | None) -> dict[str, Any]:
    """Everything doctor checks; ``ok`` is false when any check failed (``failures``)."""
    failures: list[dict[str, Any]] = []
    out: dict[str, Any] = {
        "versions": toolchain.versions(),
        "encoders": [toolchain.probe_encoder(name).to_dict() for name in ENCODERS],
        "filters": {name: toolchain.has_filter(name) for name in FILTERS},
        "broker": _check_broker(broker_url, failures),
        "media_root": _check_root(Path(media_root), failures) if media_root else None,
    }
    for tool in ("ffmpeg", "ffprobe"):
        if not out["versions"].get(tool):
            failures.append(_failure("tools", f"{tool} is not installed or does not run", 1))
    out["failures"] = failures
    out["ok"] = not failures
    return out


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
    """The report as lines of text."""
    lines = ["Versions:"]
    lines += [f"  {name:<14} {version or 'MISSING'}" for name, version in data["versions"].items()]
    lines.append("Encoders (1-frame test encode):")
    for e in data["encoders"]:
        lines.append(f"  {e['name']:<14} {'works' if e['available'] else 'unavailable'}"
                     + (f"  ({e['reason']})" if e["reason"] else ""))
    lines.append("Filters: " + ", ".join(f"{k}={'yes' if v else 'no'}"
                                          for k, v in data["filters"].items()))
    b = data["broker"]
    lines.append(f"Broker: {b['url'] or 'none (in-process)'}"
                 + ("" if b["reachable"] is None else
                    " reachable" if b["reachable"] else f" UNREACHABLE ({b.get('error')})"))
    if data["media_root"]:
        lines.append(f"Media root: {data['media_root']['path']}")
        lines += [f"  {'ok ' if f['ok'] else 'BAD'} {f['folder']}  {f['problem']}"
                  for f in data["media_root"]["folders"]]
    return lines

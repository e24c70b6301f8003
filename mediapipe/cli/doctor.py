"""``mediapipe doctor``: what this machine can do, gathered into one report.

Owns: the report (tool and library versions, which encoders really open — a one-frame test
encode each, NVENC included —, which ffmpeg filters exist, whether the broker answers, whether
the media root's markers are there) and its text rendering. Does not own: probing itself
(``toolchain``) or printing (``cli``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mediapipe.library import storage
from mediapipe.transcode import toolchain

__all__ = ["ENCODERS", "FILTERS", "render", "report"]

ENCODERS = ("libx264", "libx265", "h264_nvenc", "hevc_nvenc")
FILTERS = ("zscale", "tonemap", "tonemapx", "tonemap_cuda", "scale_cuda", "hwupload_cuda")


def report(broker_url: str, media_root: str | None) -> dict[str, Any]:
    """Everything doctor checks; ``ok`` is false when ffmpeg is missing or a marker is gone."""
    out: dict[str, Any] = {
        "versions": toolchain.versions(),
        "encoders": [toolchain.probe_encoder(name).to_dict() for name in ENCODERS],
        "filters": {name: toolchain.has_filter(name) for name in FILTERS},
        "broker": _check_broker(broker_url),
        "media_root": None,
    }
    if media_root:
        root = Path(media_root)
        out["media_root"] = {"path": str(root), "folders": [
            {"folder": f, "ok": (root / f / storage.MARKER).is_file(),
             "problem": "" if (root / f / storage.MARKER).is_file() else "marker missing"}
            for f in storage.FOLDERS]}
    missing = [k for k in ("ffmpeg", "ffprobe") if not out["versions"].get(k)]
    offline = out["media_root"] and not all(f["ok"] for f in out["media_root"]["folders"])
    out["ok"] = not missing and not offline
    return out


def _check_broker(url: str) -> dict[str, Any]:
    if not url:
        return {"url": None, "reachable": None, "note": "no broker: runs in-process"}
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2).ping()
        return {"url": url, "reachable": True}
    except Exception as exc:  # an edge: any failure to reach it is the answer
        return {"url": url, "reachable": False, "error": str(exc)}


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

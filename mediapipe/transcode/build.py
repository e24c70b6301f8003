"""The ffmpeg build as data: which of the filters a transcode may use this ffmpeg has.

Owns: ``FFmpegBuild`` (a name and the set of filters that matter to a plan: ``tonemapx``,
``tonemap_opencl``, ``tonemap_cuda``, ``scale_cuda``, ``scale_vaapi``, ``scale_qsv``,
``scale_rkrga``, ``libplacebo``, ``zscale``), ``probe_build()`` (the ffmpeg on PATH, asked once per
process) and ``named_build(name)`` (``jellyfin``: Immich's jellyfin-ffmpeg, which has them all, so
that a dry run can plan for it without it being installed; ``stock``: a Debian-like ffmpeg without
jellyfin's filters; ``here``: probed). Does not own: running ffmpeg or probing encoders
(``toolchain``), choosing filters (the accelerator modules ask ``has``).

Entry points: ``FFmpegBuild``, ``probe_build``, ``named_build``, ``BUILD_NAMES``.
"""

from __future__ import annotations

import dataclasses
import functools

from mediapipe.errors import ConfigError
from mediapipe.transcode import toolchain

__all__ = ["BUILD_NAMES", "FILTERS", "FFmpegBuild", "named_build", "probe_build"]

# The filters whose presence changes a plan: Immich's (jellyfin-ffmpeg's) and the stock fallbacks.
FILTERS = ("tonemapx", "tonemap_opencl", "tonemap_cuda", "scale_cuda", "scale_vaapi",
           "scale_qsv", "scale_rkrga", "libplacebo", "zscale")
# jellyfin-ffmpeg's own filters: a build with tonemapx is taken for jellyfin's.
_JELLYFIN_ONLY = frozenset({"tonemapx", "tonemap_cuda", "scale_rkrga"})
BUILD_NAMES = ("here", "jellyfin", "stock")


@dataclasses.dataclass(frozen=True)
class FFmpegBuild:
    """A build of ffmpeg as far as planning is concerned: its name and its filters."""

    name: str
    filters: frozenset[str]

    def has(self, name: str) -> bool:
        return name in self.filters

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "filters": {f: f in self.filters for f in FILTERS}}


JELLYFIN = FFmpegBuild("jellyfin", frozenset(FILTERS))
STOCK = FFmpegBuild("stock", frozenset(FILTERS) - _JELLYFIN_ONLY)


@functools.cache
def probe_build() -> FFmpegBuild:
    """The ffmpeg on PATH: ``jellyfin`` when it has jellyfin's filters, else ``stock``."""
    found = frozenset(f for f in FILTERS if toolchain.has_filter(f))
    return FFmpegBuild("jellyfin" if found >= _JELLYFIN_ONLY else "stock", found)


def named_build(name: str) -> FFmpegBuild:
    """``here`` (probed), ``jellyfin`` or ``stock``; ``ConfigError`` for another name."""
    if name == "here":
        return probe_build()
    if name == "jellyfin":
        return JELLYFIN
    if name == "stock":
        return STOCK
    raise ConfigError("--ffmpeg-build", f"{name!r} is not one of {', '.join(BUILD_NAMES)}")

"""The machine's video devices as data: ``/dev/dri`` nodes and whether Mali OpenCL is there.

Owns: ``HwDevices`` (the ``/dev/dri`` node names, ``renderD128``, ``card0`` …, and the Mali OpenCL
flag), ``discover()`` (what this machine has: it lists ``/dev/dri`` and looks for Mali's OpenCL
driver as Immich does), ``parse_devices`` (``renderD128,card0`` or ``none``: planning for another
machine) and ``HwDevices.pick(preferred)``: Immich's choice of node, ``ffmpeg.preferredHwDevice``
when set, else the render node with the highest number, else the card node with the highest
number. Does not own: what an accelerator does with the node (the accelerator modules).

Entry points: ``HwDevices``, ``discover``, ``parse_devices``.
"""

from __future__ import annotations

import dataclasses
import os
import re

from mediapipe.errors import ConfigError

__all__ = ["DRI", "HwDevices", "discover", "parse_devices"]

DRI = "/dev/dri"
# Where a Mali GPU's OpenCL driver lives on RK3588 images (what Immich checks).
MALI_OPENCL = ("/usr/lib/libmali.so", "/usr/lib/aarch64-linux-gnu/libmali.so")
MALI_DEVICE = "/dev/mali0"
_NODE = re.compile(r"(renderD|card)(\d+)")


@dataclasses.dataclass(frozen=True)
class HwDevices:
    """``/dev/dri`` node names (as listed, in any order) and whether Mali OpenCL is usable."""

    dri: tuple[str, ...] = ()
    mali_opencl: bool = False

    def pick(self, preferred: str = "auto") -> str | None:
        """The node to use, as a path (``/dev/dri/renderD129``); None when there is none.

        ``preferred`` (``ffmpeg.preferredHwDevice``): ``auto``, or a node by name or path, which
        must be one of ``dri`` (``ConfigError`` otherwise)."""
        if preferred and preferred != "auto":
            name = preferred.removeprefix(DRI + "/")
            if name not in self.dri:
                raise ConfigError("ffmpeg.preferredHwDevice",
                                  f"{preferred} is not among this machine's {DRI} nodes "
                                  f"({', '.join(self.dri) or 'none'})")
            return f"{DRI}/{name}"
        for kind in ("renderD", "card"):
            numbered = [(int(m.group(2)), d) for d in self.dri
                        if (m := _NODE.fullmatch(d)) and m.group(1) == kind]
            if numbered:
                return f"{DRI}/{max(numbered)[1]}"
        return None

    def to_dict(self) -> dict[str, object]:
        return {"dri": list(self.dri), "mali_opencl": self.mali_opencl}


def parse_devices(text: str, mali_opencl: bool = False) -> HwDevices:
    """``renderD128,card0`` → those nodes; ``none`` or empty → no node (``--hw-devices``)."""
    names = tuple(n.strip() for n in text.split(",") if n.strip() and n.strip() != "none")
    for name in names:
        if not _NODE.fullmatch(name):
            raise ConfigError("--hw-devices", f"{name!r} is no /dev/dri node name "
                                              "(renderD128, card0 …) nor 'none'")
    return HwDevices(names, mali_opencl)


def discover() -> HwDevices:
    """This machine's ``/dev/dri`` nodes and Mali OpenCL (both absent on most servers)."""
    try:
        dri = tuple(sorted(n for n in os.listdir(DRI) if _NODE.fullmatch(n)))
    except OSError:
        dri = ()
    mali = os.path.exists(MALI_DEVICE) and any(os.path.exists(p) for p in MALI_OPENCL)
    return HwDevices(dri, mali)

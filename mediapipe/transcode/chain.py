"""The accelerators, as a list, and the fallback chain built from them.

Owns: ``ACCELERATORS`` (every accelerator module's object, software first: the one list that
``doctor``, the metrics, the config's choices and the deploy files read), ``accelerator(name)``,
``Link`` (one try: an accelerator and where it decodes; ``nvenc-hwdecode``, ``vaapi``,
``software`` …) and ``fallback_chain``: for every hardware accelerator, hardware decoding and
encoding → hardware encoding of software-decoded frames → software, with the links left out and
why (decoding on the CPU by ``accelDecode: false``, a machine without the ``/dev/dri`` node the
accelerator needs). A target codec the accelerator has no encoder for is refused, as Immich does
(``ConfigError``). Adding an accelerator is one module with its ``Accelerator`` object and a line
here. Does not own: the argv (``argv``), running (``run``).

Entry points: ``ACCELERATORS``, ``accelerator``, ``Link``, ``fallback_chain``.
"""

from __future__ import annotations

import dataclasses

from mediapipe.errors import ConfigError
from mediapipe.transcode.accelerator import Accelerator, Decode, Machine
from mediapipe.transcode.nvenc import NVENC
from mediapipe.transcode.plan import TranscodePlan
from mediapipe.transcode.qsv import QSV
from mediapipe.transcode.rkmpp import RKMPP
from mediapipe.transcode.software import SOFTWARE
from mediapipe.transcode.vaapi import VAAPI

__all__ = ["ACCELERATORS", "ACCEL_NAMES", "HARDWARE", "Link", "accelerator", "fallback_chain"]

ACCELERATORS: tuple[Accelerator, ...] = (SOFTWARE, NVENC, QSV, VAAPI, RKMPP)
HARDWARE = tuple(a for a in ACCELERATORS if a.hardware)
# ffmpeg.accel's values: "disabled" is the software accelerator.
ACCEL_NAMES = ("disabled", *(a.name for a in HARDWARE))


def accelerator(name: str) -> Accelerator:
    """The accelerator for an ``ffmpeg.accel`` value (``disabled``: software)."""
    for acc in ACCELERATORS:
        if acc.name == name or (name == "disabled" and not acc.hardware):
            return acc
    raise ConfigError("ffmpeg.accel", f"{name!r} is not one of {', '.join(ACCEL_NAMES)}")


@dataclasses.dataclass(frozen=True)
class Link:
    """One link of the fallback chain: an accelerator and where it decodes."""

    accel: Accelerator
    decode: Decode = Decode.SOFTWARE

    @property
    def name(self) -> str:
        hw = self.accel.hardware and self.decode is Decode.HARDWARE
        return f"{self.accel.name}-hwdecode" if hw else self.accel.name

    @property
    def value(self) -> str:  # as the old Accel enum spelt it
        return self.name

    @classmethod
    def of(cls, name: str) -> Link:
        """``nvenc-hwdecode``, ``vaapi``, ``software`` … back to the link."""
        base, hw = name.removesuffix("-hwdecode"), name.endswith("-hwdecode")
        acc = accelerator("disabled" if base == "software" else base)
        return cls(acc, Decode.HARDWARE if hw else Decode.SOFTWARE)

    def __str__(self) -> str:
        return self.name


SOFTWARE_LINK = Link(SOFTWARE)


def fallback_chain(plan: TranscodePlan, accel: str, accel_decode: bool,
                   machine: Machine) -> tuple[list[Link], list[tuple[str, str]]]:
    """The links to try, in order, for ``ffmpeg.accel``/``accelDecode`` on ``machine``, and
    those left out with why; always ending in software. ``ConfigError`` for an unknown
    accelerator or a target codec it cannot encode."""
    acc = accelerator(accel)
    if not acc.hardware:
        return [SOFTWARE_LINK], []
    if not plan.encodes_video:
        why = f"decision {plan.decision}: no video encode"
        return [SOFTWARE_LINK], [(acc.name, why)]
    acc.encoder(plan.target_video_codec)  # Immich refuses a codec the accelerator lacks
    skipped: list[tuple[str, str]] = []
    absent = acc.why_not_here(machine)
    if absent:
        return [SOFTWARE_LINK], [(acc.name, absent)]
    modes = acc.decode_modes(plan, machine, accel_decode)
    if Decode.HARDWARE not in modes:
        why = ("accelDecode is off" if not accel_decode else
               "no hardware tone-mapping filter for this HDR video in this ffmpeg build")
        skipped.append((Link(acc, Decode.HARDWARE).name, why))
    return [*(Link(acc, d) for d in modes), SOFTWARE_LINK], skipped

"""The ffmpeg argv that carries out a ``TranscodePlan`` with one link of the fallback chain.

Owns: ``build_command(plan, src, dst, link, machine) -> list[str]`` and ``build_parts`` (the same
split as Immich's ``inputOptions``/``outputOptions``), laid out as Immich's ``BaseConfig`` does:
the accelerator's input options, then ``-c:v``/``-c:a``, ``-movflags faststart``, ``-fps_mode
passthrough``, the stream maps, ``-v verbose`` when asked, B-frames/references/GOP (with the
accelerator's defaults), ``-vf`` and the accelerator's encoder and thread options; ``two_pass``
(which plans take two software passes, and ``build_command``'s ``pass_number``). Does not own:
the options of each accelerator (its module), the decision (``plan``), running (``run``).

Paths are passed as ``file:`` URLs of absolute paths, so no name is ever taken for an option.
Entry points: ``build_command``, ``build_parts``, ``two_pass``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from mediapipe.transcode.accelerator import Bitrates, Machine
from mediapipe.transcode.build import probe_build
from mediapipe.transcode.chain import SOFTWARE_LINK, Link
from mediapipe.transcode.devices import HwDevices
from mediapipe.transcode.plan import TranscodePlan

__all__ = ["Bitrates", "CommandParts", "build_command", "build_parts", "two_pass"]

# Immich's audio codec settings to the ffmpeg encoder that writes them.
_AUDIO_ENCODERS = {"mp3": "libmp3lame", "opus": "libopus"}


@dataclasses.dataclass(frozen=True)
class CommandParts:
    """One ffmpeg run: the options before ``-i`` and after it, and the whole argv."""

    input_options: tuple[str, ...]
    output_options: tuple[str, ...]
    argv: tuple[str, ...]


def two_pass(plan: TranscodePlan, link: Link) -> bool:
    """Immich's rule: two software passes when ``twoPass`` is on and the video is encoded with a
    ``maxBitrate`` (vp9: with or without one). NVENC does its passes in one run (``-multipass``)."""
    ff = plan.ffmpeg
    if link.accel.hardware or not plan.encodes_video or not ff.two_pass:
        return False
    if plan.target_video_codec == "vp9":
        return True
    return plan.target_video_codec in ("h264", "hevc") and Bitrates.of(ff.max_bitrate).max > 0


def _url(path: str | Path) -> str:
    """A path ffmpeg cannot mistake for an option or a protocol."""
    return "file:" + str(Path(path).absolute())


def _here() -> Machine:
    return Machine(HwDevices(), probe_build())


def _gop_options(plan: TranscodePlan, link: Link) -> list[str]:
    ff, acc = plan.ffmpeg, link.accel
    bframes = ff.bframes if ff.bframes >= 0 else acc.bframes_default
    refs = ff.refs if ff.refs > 0 else acc.refs_default
    gop = ff.gop_size if ff.gop_size > 0 else acc.gop_default
    args: list[str] = []
    if bframes >= 0:
        args += ["-bf", str(bframes)]
    if refs > 0:
        args += ["-refs", str(refs)]
    if gop > 0:
        args += ["-g", str(gop)]
    return args


def build_parts(plan: TranscodePlan, src: str | Path, dst: str | Path,
                link: Link = SOFTWARE_LINK, machine: Machine | None = None,
                ffmpeg: str = "ffmpeg", *, pass_number: int | None = None,
                passlog: str | Path | None = None, verbose: bool = False) -> CommandParts:
    """The ffmpeg run carrying out ``plan`` with ``link`` on ``machine`` (default: this
    ffmpeg, no ``/dev/dri`` node); writes mp4 to ``dst``. ``verbose``: ffmpeg logs with
    ``-v verbose`` (Immich does at debug level), else only errors.

    For a plan that takes ``two_pass``, ``pass_number`` 1 (analysis: no audio, no output file)
    or 2 (the encode) and the ``passlog`` prefix both passes share; without them the argv is the
    second pass's, which is what a dry run shows.
    """
    if plan.decision == "none":
        raise ValueError("nothing to run for a plan whose decision is 'none'")
    machine = machine or _here()
    ff = plan.ffmpeg
    if not plan.encodes_video:
        link = SOFTWARE_LINK  # stream copy: no encoder to accelerate
    acc = link.accel
    passes = two_pass(plan, link)
    analysis = passes and pass_number == 1
    inputs = acc.input_options(plan, machine, link.decode) if plan.encodes_video else []
    out = ["-c:v", acc.encoder(plan.target_video_codec) if plan.encodes_video else "copy"]
    output_hevc = plan.target_video_codec == "hevc" if plan.encodes_video else \
        plan.source_video_codec == "hevc"
    if output_hevc:
        out += ["-tag:v", "hvc1"]
    if plan.audio_stream is not None and not analysis:
        if plan.encode_audio:
            encoder = _AUDIO_ENCODERS.get(ff.target_audio_codec, ff.target_audio_codec)
            out += ["-c:a", encoder, "-ac", "2"]
        else:
            out += ["-c:a", "copy"]
    out += ["-movflags", "faststart", "-fps_mode", "passthrough",
            "-map", f"0:{plan.video_stream}"]
    if plan.audio_stream is not None and not analysis:
        out += ["-map", f"0:{plan.audio_stream}"]
    out += ["-map_metadata", "-1", "-map_chapters", "-1"]
    if verbose:
        out += ["-v", "verbose"]
    if plan.encodes_video:
        out += _gop_options(plan, link)
        if filters := acc.filters(plan, machine, link.decode):
            out += ["-vf", ",".join(filters)]
        out += acc.encoder_options(plan, machine)
        out += acc.thread_options(plan)
        if passes and pass_number is not None:
            out += ["-pass", str(pass_number), "-passlogfile", str(passlog)]
        if plan.tonemap:
            out += ["-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709"]
    head = [ffmpeg, "-hide_banner", "-nostdin", "-nostats",
            *([] if verbose else ["-loglevel", "error"]), "-y"]
    if analysis:  # the first pass only measures the video: nothing is written
        out += ["-an", "-f", "null", "-progress", "pipe:1"]
        argv = [*head, *inputs, "-i", _url(src), *out, "-"]
    else:
        out += ["-f", "mp4", "-progress", "pipe:1"]
        argv = [*head, *inputs, "-i", _url(src), *out, _url(dst)]
    return CommandParts(tuple(inputs), tuple(out), tuple(argv))


def build_command(plan: TranscodePlan, src: str | Path, dst: str | Path,
                  link: Link = SOFTWARE_LINK, machine: Machine | None = None,
                  ffmpeg: str = "ffmpeg", *, pass_number: int | None = None,
                  passlog: str | Path | None = None, verbose: bool = False) -> list[str]:
    """``build_parts``'s argv."""
    return list(build_parts(plan, src, dst, link, machine, ffmpeg, pass_number=pass_number,
                            passlog=passlog, verbose=verbose).argv)

"""Running a transcode: ffmpeg with progress, timeout and niceness, and the encoder fallback chain.

Owns: ``run_ffmpeg`` (one argv; ``-progress pipe:1`` parsed into a 0..1 fraction; a timeout; the
process's niceness; ``TranscodeFailed`` with return code, argv and stderr tail) and
``transcode(plan, src, dst, accel) -> TranscodeResult``: down ``chain.fallback_chain`` (hardware
decode and encode → hardware encode of software-decoded frames → software, for every
accelerator), skipping links whose encoder does not open here (``Accelerator.available``, a real
one-frame encode) and falling back on real hardware failures too (too many sessions, out of
memory); a target codec whose software encoder this ffmpeg lacks (vp9, av1 where not built) is
encoded as h264, each said once in the log and in ``skipped``. Software
two-pass encodes run ffmpeg twice (``argv.two_pass``), sharing a pass log in a temp folder.
Output goes
to a temp file renamed on success and removed on failure, through the ``output`` the caller
passes (``pipeline.transcoding.transcode_to``: ``storage.atomic_output``). Does not own: what to
run (``plan``, ``argv``).

Entry points: ``transcode``, ``run_ffmpeg``, ``TranscodeResult``, ``machine_here``.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import functools
import logging
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from mediapipe import lifelines, sources
from mediapipe.errors import MediaError, PermissionDenied, StorageOffline, TranscodeFailed
from mediapipe.sources import Source, SourceLike
from mediapipe.transcode import devices, toolchain
from mediapipe.transcode.accelerator import Machine
from mediapipe.transcode.argv import build_command, two_pass
from mediapipe.transcode.build import probe_build
from mediapipe.transcode.chain import Link, fallback_chain
from mediapipe.transcode.plan import TranscodePlan
from mediapipe.transcode.software import LIBRARIES, SOFTWARE

__all__ = ["TranscodeResult", "machine_here", "run_ffmpeg", "transcode"]

Progress = Callable[[float], None]
Output = Callable[[Path], AbstractContextManager[Path]]  # target -> the temp path to write
STDERR_LINES = 20
FULL_BELOW_BYTES = 1 << 20  # an output filesystem with less room than this after a failure is full
FALLBACK_CODEC = "h264"  # what a target codec without a software encoder here is encoded as
log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class TranscodeResult:
    source: str
    output: str
    decision: str
    accel: str  # the link of the chain that produced the file
    encoder: str  # the video encoder actually used ("copy" for a remux)
    argv: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...]  # (accel, why) for each link not used
    seconds: float
    size: int

    def to_dict(self) -> dict[str, object]:
        data = dataclasses.asdict(self)
        data["argv"] = list(self.argv)
        data["skipped"] = [{"accel": a, "reason": r} for a, r in self.skipped]
        return data


@functools.cache
def _warn_once(message: str) -> None:
    log.warning("%s", message)


def machine_here(preferred_device: str = "auto") -> Machine:
    """This machine as a plan sees it: its ``/dev/dri`` nodes and its ffmpeg build."""
    return Machine(devices.discover(), probe_build(), preferred_device)


def software_codec(plan: TranscodePlan) -> tuple[TranscodePlan, str | None]:
    """``plan`` as software can carry it out here: a target codec whose encoder this ffmpeg
    lacks (vp9 without libvpx, av1 without SVT-AV1) becomes h264, with why (None: unchanged)."""
    codec = plan.target_video_codec
    if not plan.encodes_video or codec == FALLBACK_CODEC:
        return plan, None
    status = toolchain.probe_encoder(SOFTWARE.library(codec))
    if status.available:
        return plan, None
    why = (f"{SOFTWARE.library(codec)} does not open here ({status.reason}): {codec} "
           f"encoded as {FALLBACK_CODEC}")
    _warn_once(f"ffmpeg.targetVideoCodec = {codec!r}: {why}")
    return dataclasses.replace(plan, target_video_codec=FALLBACK_CODEC), why


def _output_unwritable(output: str) -> MediaError | None:
    """Why the folder of ``output`` cannot take a file (gone, read-only, full); None if it can.

    Asked after ffmpeg failed, before its partial output is removed: the filesystem's state, not
    ffmpeg's wording, says whether the disk was to blame. (A user quota does not show here.)
    """
    path = output.removeprefix("file:")  # build_command names outputs as file: URLs
    if path == "-" or ":" in path.split("/", 1)[0]:
        return None  # stdout or another protocol: no folder of ours
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fs = os.statvfs(folder)
    except OSError as exc:
        return StorageOffline(path, f"its folder {folder} cannot be reached ({exc.strerror})")
    if fs.f_flag & os.ST_RDONLY:
        return PermissionDenied(path, f"{folder} is on a read-only filesystem")
    if not os.access(folder, os.W_OK):
        return PermissionDenied(path, f"{folder} may not be written by this user")
    if fs.f_bavail * fs.f_frsize < FULL_BELOW_BYTES:
        return StorageOffline(path, f"the filesystem of {folder} is full")
    return None


def _encoder_of(argv: list[str]) -> str:
    """The video encoder an argv names (software's ``h264`` reported as libx264)."""
    name = argv[argv.index("-c:v") + 1] if "-c:v" in argv else "copy"
    return LIBRARIES.get(name, name)


def _drain(stream: object, sink: collections.deque[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        if line.strip():
            sink.append(line.rstrip())


def run_ffmpeg(argv: list[str], *, source: str, duration: float | None = None,
               progress: Progress | None = None, timeout: float = 0, nice: int = 0) -> None:
    """Run one ffmpeg argv to the end; ``TranscodeFailed`` unless it exits 0 in time."""
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, errors="replace",
                                preexec_fn=lifelines.die_with_parent())
    except OSError as exc:
        raise TranscodeFailed(source, f"cannot start ffmpeg: {exc.strerror}",
                              argv=argv) from exc
    if nice:
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, proc.pid, nice)
    tail: collections.deque[str] = collections.deque(maxlen=STDERR_LINES)
    err_thread = threading.Thread(target=_drain, args=(proc.stderr, tail), daemon=True)
    err_thread.start()
    timed_out = threading.Event()

    def _kill() -> None:
        timed_out.set()
        proc.kill()

    timer = threading.Timer(timeout, _kill) if timeout > 0 else None
    if timer:
        timer.start()
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if progress and duration and line.startswith("out_time_us="):
                value = line.split("=", 1)[1].strip()
                if value.lstrip("-").isdigit():
                    progress(min(1.0, max(0.0, int(value) / 1e6 / duration)))
        returncode = proc.wait()
    finally:
        if timer:
            timer.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        err_thread.join(timeout=5)
    stderr_tail = "\n".join(tail)
    if timed_out.is_set():
        raise TranscodeFailed(source, f"ffmpeg timed out after {timeout:g}s",
                              returncode=returncode, argv=argv, stderr_tail=stderr_tail)
    if returncode != 0:
        said = toolchain.last_error_lines(stderr_tail, said_by=_encoder_of(argv))
        last = sources.reason(said) or f"exit status {returncode}"
        if unwritable := _output_unwritable(argv[-1]):
            # The output disk, not the video: full or gone is retryable, denied is not.
            raise type(unwritable)(unwritable.path, f"ffmpeg could not write its output: "
                                                    f"{unwritable.reason}: {last}")
        raise TranscodeFailed(source, f"ffmpeg failed: {last}", returncode=returncode,
                              argv=argv, stderr_tail=stderr_tail)
    if progress:
        progress(1.0)


def transcode(plan: TranscodePlan, source: SourceLike, dst: str | Path, *, output: Output,
              accel: str = "disabled", accel_decode: bool = False,
              progress: Progress | None = None, machine: Machine | None = None) -> TranscodeResult:
    """Carry out ``plan`` on ``source`` (ffmpeg reads its ``Source.name``) into ``dst`` down
    the fallback chain on ``machine`` (default: this one); the result says what ran."""
    src = Source.of(source)
    machine = machine or machine_here(plan.ffmpeg.preferred_hw_device)
    chain, skipped = fallback_chain(plan, accel, accel_decode, machine)
    start = time.perf_counter()
    for i, link in enumerate(chain):
        run_plan = plan
        if link.accel.hardware:
            status = link.accel.available(plan.target_video_codec, machine)
            if not status.available:
                skipped.append((link.value, f"{status.name} does not open: {status.reason}"))
                continue
        else:
            run_plan, why = software_codec(plan)
            if why:
                skipped.append((f"{link.value} {plan.target_video_codec}", why))
        try:
            with output(Path(dst)) as tmp:
                argv = _run_passes(run_plan, src, tmp, link, machine, progress)
        except TranscodeFailed as exc:
            if i == len(chain) - 1:
                raise
            skipped.append((link.value, exc.reason))
            continue
        except OSError as exc:
            raise TranscodeFailed(src, f"cannot write {dst}: {exc}") from exc
        return TranscodeResult(
            source=str(src), output=str(Path(dst).absolute()), decision=plan.decision,
            accel=link.value, encoder=_encoder_of(argv), argv=tuple(argv),
            skipped=tuple(skipped), seconds=round(time.perf_counter() - start, 3),
            size=Path(dst).stat().st_size)
    raise AssertionError("the chain always ends with software")  # pragma: no cover


def _run_passes(plan: TranscodePlan, src: Source, tmp: Path, link: Link, machine: Machine,
                progress: Progress | None) -> list[str]:
    """Run ``plan`` into ``tmp``: once, or twice for a two-pass encode; the last argv."""
    ff = plan.ffmpeg
    if not two_pass(plan, link):
        argv = build_command(plan, src.name, tmp, link, machine)
        run_ffmpeg(argv, source=str(src), duration=plan.duration, progress=progress,
                   timeout=ff.timeout, nice=ff.nice)
        return argv
    with tempfile.TemporaryDirectory(prefix="mediapipe-2pass-") as folder:
        passlog = Path(folder, "pass")
        for number in (1, 2):
            argv = build_command(plan, src.name, tmp, link, machine, pass_number=number,
                                 passlog=passlog)

            def half(fraction: float, number: int = number) -> None:
                if progress:
                    progress((number - 1 + fraction) / 2)

            run_ffmpeg(argv, source=str(src), duration=plan.duration, progress=half,
                       timeout=ff.timeout, nice=ff.nice)
    return argv

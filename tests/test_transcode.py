"""The transcode stage for real: ffmpeg runs on generated fixtures and samples, ffprobe checks."""

from __future__ import annotations

import dataclasses
import functools
import json
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from fixtures import videos
from mediapipe.cli.main import main
from mediapipe.config import Config, FFmpegConfig
from mediapipe.errors import PermissionDenied, StorageOffline, TranscodeFailed
from mediapipe.library import storage
from mediapipe.metadata.video import read_video
from mediapipe.transcode import run as ffmpeg_run
from mediapipe.transcode import toolchain
from mediapipe.transcode.argv import build_command
from mediapipe.transcode.chain import Link
from mediapipe.transcode.plan import plan_transcode

UNGUARDED = functools.partial(storage.atomic_output, guarded=False)  # a CLI --out


def _cfg(**ff: Any) -> Config:
    return Config(ffmpeg=dataclasses.replace(FFmpegConfig(), **ff))


def _probe(path: Path) -> dict[str, Any]:
    out = subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", "-show_format",
                          "-show_streams", str(path)], capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out)


def _rotation(stream: dict[str, Any]) -> int:
    for sd in stream.get("side_data_list", []):
        if "rotation" in sd:
            return int(sd["rotation"])
    return int(stream.get("tags", {}).get("rotate", 0))


def _top_boxes(path: Path) -> list[str]:
    data, pos, names = path.read_bytes(), 0, []
    while pos + 8 <= len(data):
        size, kind = struct.unpack_from(">I4s", data, pos)
        if size == 1:
            size = struct.unpack_from(">Q", data, pos + 8)[0]
        names.append(kind.decode("latin-1"))
        if size < 8:
            break
        pos += size
    return names


@pytest.fixture(scope="module")
def extra_videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Cases the standard set lacks: a real odd size, a larger landscape, two audio in mov."""
    d = tmp_path_factory.mktemp("tc-videos")
    return {
        "odd": videos.video(d / "odd.mkv", size=(321, 241), duration=1, pix_fmt="yuv444p",
                            audio=("libopus",)),
        "landscape": videos.video(d / "wide.mp4", size=(640, 360), duration=1),
        "two-audio-mov": videos.video(d / "two.mov", duration=1, audio=("ac3", "aac"),
                                      codec="mpeg4"),
    }


# id, source ("fixture name" or "extra:key"), settings, decision, video codec, size,
# audio (codec, channels) or None, transfer of the output (None: not checked)
CASES = [
    ("h264-all", "video-h264-aac.mp4", {"transcode": "all"}, "all", "h264", (320, 240),
     ("aac", 2), None),
    ("hevc8-to-h264", "video-hevc8.mp4", {}, "video", "h264", (320, 240), ("aac", 2), None),
    ("hdr10-tonemapped", "video-hevc10-pq.mp4", {}, "video", "h264", (320, 240), ("aac", 2),
     "bt709"),
    ("hlg-tonemapped", "video-hevc10-hlg.mov", {}, "video", "h264", (320, 240), ("aac", 2),
     "bt709"),
    ("rotated-90-baked", "video-rotated-90.mp4", {"transcode": "all"}, "all", "h264",
     (240, 320), ("aac", 2), None),
    ("rotated-180-baked", "video-rotated-180.mp4", {"transcode": "all"}, "all", "h264",
     (320, 240), ("aac", 2), None),
    ("rotated-270-baked", "video-rotated-270.mp4", {"transcode": "all"}, "all", "h264",
     (240, 320), ("aac", 2), None),
    ("vertical-scaled", "video-vertical.mp4", {"transcode": "all", "target_resolution": "120"},
     "all", "h264", (120, 214), ("aac", 2), None),
    ("odd-size-even", "extra:odd", {}, "video", "h264", (320, 240), ("opus", 2), None),
    ("landscape-scaled", "extra:landscape", {"transcode": "optimal", "target_resolution": "240"},
     "video", "h264", (426, 240), ("aac", 2), None),
    ("avi-mpeg4-mp3", "video-mpeg4-mp3.avi", {}, "video", "h264", (320, 240), ("mp3", 1),
     None),
    ("mov-no-audio", "video-no-audio.mov", {"transcode": "all"}, "video", "h264", (320, 240),
     None, None),
    ("mkv-two-audio-remux", "video-two-audio.mkv", {}, "remux", "h264", (320, 240), ("aac", 2),
     None),
    ("mov-two-audio-ac3-default", "extra:two-audio-mov", {}, "all", "h264", (320, 240),
     ("aac", 2), None),
    ("hevc-target-hvc1", "video-h264-aac.mp4", {"transcode": "all",
                                                "target_video_codec": "hevc"},
     "all", "hevc", (320, 240), ("aac", 2), None),
]


def _source(spec: str, fixture_set: dict[str, Any], extra: dict[str, Path]) -> Path:
    return extra[spec[6:]] if spec.startswith("extra:") else fixture_set[spec].path


def _check_output(out: Path, src_duration: float | None, vcodec: str,
                  size: tuple[int, int], audio: tuple[str, int] | None,
                  transfer: str | None) -> None:
    info = _probe(out)
    v = [s for s in info["streams"] if s["codec_type"] == "video"]
    a = [s for s in info["streams"] if s["codec_type"] == "audio"]
    assert len(v) == 1
    assert (v[0]["codec_name"], v[0]["pix_fmt"]) == (vcodec, "yuv420p")
    assert (v[0]["width"], v[0]["height"]) == size
    assert _rotation(v[0]) == 0
    if vcodec == "hevc":
        assert v[0]["codec_tag_string"] == "hvc1"
    if transfer:
        assert v[0].get("color_transfer") == transfer
    if audio is None:
        assert not a
    else:
        assert len(a) == 1 and (a[0]["codec_name"], a[0]["channels"]) == audio
    assert src_duration is not None
    assert abs(float(info["format"]["duration"]) - src_duration) <= 0.1
    boxes = _top_boxes(out)
    assert boxes.index("moov") < boxes.index("mdat"), boxes  # faststart


@pytest.mark.parametrize(("source", "settings", "decision", "vcodec", "size", "audio",
                          "transfer"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_transcode_output_is_browser_ready(
        source: str, settings: dict[str, Any], decision: str, vcodec: str,
        size: tuple[int, int], audio: tuple[str, int] | None, transfer: str | None,
        fixture_set: dict[str, Any], extra_videos: dict[str, Path], media_root: Path) -> None:
    src = _source(source, fixture_set, extra_videos)
    info = read_video(src)
    plan = plan_transcode(info, _cfg(**settings))
    assert plan.decision == decision, plan.reasons
    dst = storage.derived_path(media_root, "admin", "0123abcd", storage.Derived.ENCODED_VIDEO,
                               "mp4")
    result = ffmpeg_run.transcode(plan, src, dst, output=storage.atomic_output)
    assert result.accel == "software" and Path(result.output) == dst
    _check_output(dst, info.duration, vcodec, size, audio, transfer)
    assert [p.name for p in dst.parent.iterdir()] == [dst.name]  # no temp left behind


SAMPLES = [
    ("realshort", "realshort.mp4", {"transcode": "all"}, "all", ("aac", 2)),
    ("cockatoo-yuv444", "cockatoo.mp4", {"target_resolution": "240"}, "video", ("mp3", 1)),
    ("bigbuckbunny", "bigbuckbunny.mp4", {"transcode": "optimal",
                                          "target_resolution": "240"}, "video", ("aac", 6)),
    ("megamind-avi-ac3", "Megamind.avi", {"target_resolution": "240"}, "all", ("aac", 2)),
]


@pytest.mark.samples
@pytest.mark.parametrize(("name", "settings", "decision", "audio"),
                         [s[1:] for s in SAMPLES], ids=[s[0] for s in SAMPLES])
def test_transcode_real_samples(name: str, settings: dict[str, Any], decision: str,
                                audio: tuple[str, int], samples: Path, tmp_path: Path) -> None:
    src = samples / "video" / name
    info = read_video(src)
    plan = plan_transcode(info, _cfg(**settings))
    assert plan.decision == decision, plan.reasons
    result = ffmpeg_run.transcode(plan, src, tmp_path / "out.mp4", output=UNGUARDED)
    _check_output(Path(result.output), info.duration, "h264", plan.output_size, audio, None)


# --- the fallback chain, for real ---------------------------------------------------------

def test_nvenc_request_falls_back_to_software_and_says_why(fixture_set: dict[str, Any],
                                                           tmp_path: Path) -> None:
    if toolchain.probe_encoder("h264_nvenc").available:
        pytest.skip("NVENC opens here: see the gpu-marked tests")
    src = fixture_set["video-hevc8.mp4"].path
    plan = plan_transcode(read_video(src), _cfg())
    result = ffmpeg_run.transcode(plan, src, tmp_path / "o.mp4", accel="nvenc",
                                  accel_decode=True, output=UNGUARDED)
    assert (result.accel, result.encoder) == ("software", "libx264")
    skipped = dict(result.skipped)
    assert set(skipped) == {"nvenc-hwdecode", "nvenc"}
    assert "h264_nvenc does not open" in skipped["nvenc"]
    _check_output(tmp_path / "o.mp4", plan.duration, "h264", (320, 240), ("aac", 2), None)


def test_a_real_nvenc_failure_mid_chain_falls_back(fixture_set: dict[str, Any],
                                                   tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The probe is told NVENC works; the real run then fails and the chain goes on."""
    if toolchain.probe_encoder("h264_nvenc").available:
        pytest.skip("NVENC really opens here")
    monkeypatch.setattr(toolchain, "probe_encoder",
                        lambda name, *_: toolchain.EncoderStatus(name, True))
    src = fixture_set["video-hevc8.mp4"].path
    plan = plan_transcode(read_video(src), _cfg())
    result = ffmpeg_run.transcode(plan, src, tmp_path / "o.mp4", accel="nvenc",
                                  accel_decode=True, output=UNGUARDED)
    assert result.accel == "software"
    assert all(r.startswith("ffmpeg failed:") for _, r in result.skipped), result.skipped
    assert list(tmp_path.iterdir()) == [tmp_path / "o.mp4"]


@pytest.mark.gpu
def test_nvenc_encodes_on_a_gpu(fixture_set: dict[str, Any], tmp_path: Path) -> None:
    if not toolchain.probe_encoder("h264_nvenc").available:
        pytest.skip(f"h264_nvenc unavailable: {toolchain.probe_encoder('h264_nvenc').reason}")
    src = fixture_set["video-hevc8.mp4"].path
    plan = plan_transcode(read_video(src), _cfg())
    result = ffmpeg_run.transcode(plan, src, tmp_path / "o.mp4", accel="nvenc",
                                  accel_decode=True, output=UNGUARDED)
    assert result.encoder == "h264_nvenc"
    _check_output(tmp_path / "o.mp4", plan.duration, "h264", (320, 240), ("aac", 2), None)


# --- failures leave nothing -----------------------------------------------------------------

def test_ffmpeg_failure_raises_with_details_and_leaves_nothing(
        fixture_set: dict[str, Any], tmp_path: Path) -> None:
    good = fixture_set["video-hevc8.mp4"].path
    plan = plan_transcode(read_video(good), _cfg())
    broken = tmp_path / "in" / "broken.mp4"
    broken.parent.mkdir()
    broken.write_bytes(good.read_bytes()[:2000])
    out_dir = tmp_path / "out"
    with pytest.raises(TranscodeFailed) as err:
        ffmpeg_run.transcode(plan, broken, out_dir / "o.mp4", output=UNGUARDED)
    assert err.value.returncode not in (0, None) and err.value.argv[0].endswith("ffmpeg")
    assert err.value.stderr_tail
    assert list(out_dir.iterdir()) == []


def test_output_in_an_offline_media_folder_is_refused(fixture_set: dict[str, Any],
                                                      media_root: Path) -> None:
    (media_root / "encoded-video" / storage.MARKER).unlink()
    src = fixture_set["video-hevc8.mp4"].path
    plan = plan_transcode(read_video(src), _cfg())
    dst = media_root / "encoded-video" / "admin" / "x.mp4"
    with pytest.raises(StorageOffline):
        ffmpeg_run.transcode(plan, src, dst, output=storage.atomic_output)
    assert not (media_root / "encoded-video" / "admin").exists()


def test_timeout_kills_ffmpeg() -> None:
    argv = ["ffmpeg", "-nostdin", "-loglevel", "error", "-re", "-f", "lavfi", "-i",
            "testsrc2=size=64x64:rate=10", "-f", "null", "-"]
    with pytest.raises(TranscodeFailed, match=r"timed out after 0\.5s"):
        ffmpeg_run.run_ffmpeg(argv, source="lavfi", timeout=0.5)


def test_progress_is_reported_as_a_rising_fraction(fixture_set: dict[str, Any],
                                                   tmp_path: Path) -> None:
    src = fixture_set["video-hevc8.mp4"].path
    plan = plan_transcode(read_video(src), _cfg())
    seen: list[float] = []
    ffmpeg_run.transcode(plan, src, tmp_path / "o.mp4", output=UNGUARDED, progress=seen.append)
    assert seen and seen == sorted(seen) and seen[-1] == 1.0
    assert all(0.0 <= f <= 1.0 for f in seen)


# --- the CLI ----------------------------------------------------------------------------------

def test_cli_dry_run_prints_decision_reasons_and_argv(fixture_set: dict[str, Any],
                                                      tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    src = fixture_set["video-hevc10-pq.mp4"].path
    out = tmp_path / "o.mp4"
    assert main(["transcode", str(src), "--out", str(out), "--accel", "nvenc", "--dry-run",
                 "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"decision", "reasons", "warnings", "two_pass", "chain", "skipped",
                         "command"}
    assert data["decision"] == "video" and "h264_nvenc" in data["command"]
    assert data["chain"][-1]["accel"] == "software" and data["command"] == \
        data["chain"][0]["command"]
    plan = plan_transcode(read_video(src), Config())
    first = Link.of(data["chain"][0]["accel"])
    assert data["command"] == build_command(plan, src, out, first, ffmpeg_run.machine_here())
    assert not out.exists()


def test_cli_accel_nvenc_writes_a_software_file_and_records_why(
        fixture_set: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    if toolchain.probe_encoder("h264_nvenc").available:
        pytest.skip("NVENC opens here")
    monkeypatch.chdir(tmp_path)
    src = fixture_set["video-mpeg4-mp3.avi"].path
    assert main(["transcode", str(src), "--accel", "nvenc", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["output"] == str(tmp_path / "video-mpeg4-mp3.mp4")
    assert (data["accel"], data["encoder"]) == ("software", "libx264")
    assert any(s["accel"] == "nvenc" and "does not open" in s["reason"]
               for s in data["skipped"])
    _check_output(tmp_path / "video-mpeg4-mp3.mp4", read_video(src).duration, "h264",
                  (320, 240), ("mp3", 1), None)


def test_cli_nothing_to_do_writes_nothing(fixture_set: dict[str, Any], tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "o.mp4"
    src = fixture_set["video-h264-aac.mp4"].path
    assert main(["transcode", str(src), "--out", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["decision"] == "none"
    assert not out.exists()


_KILLED_RUNNER = """
import sys
from mediapipe.transcode import run as ffmpeg_run
argv = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
        "testsrc2=size=320x240:rate=25", "-c:v", "libx264", "-preset", "ultrafast", "-f", "null",
        "-"]
print("starting", flush=True)
ffmpeg_run.run_ffmpeg(argv, source="endless")
"""


def test_ffmpeg_dies_with_the_process_that_runs_it(tmp_path: Path) -> None:
    """A worker SIGKILLed mid-transcode must not leave its ffmpeg encoding for nobody."""
    runner = subprocess.Popen([sys.executable, "-c", _KILLED_RUNNER], stdout=subprocess.PIPE)
    assert runner.stdout and runner.stdout.readline() == b"starting\n"

    def children() -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(runner.pid)], capture_output=True, text=True,
                             check=False).stdout
        return [int(p) for p in out.split()]

    deadline = time.monotonic() + 20
    while not children() and time.monotonic() < deadline:
        time.sleep(0.05)
    [ffmpeg] = children()
    runner.send_signal(signal.SIGKILL)
    runner.wait()
    deadline = time.monotonic() + 10
    while Path(f"/proc/{ffmpeg}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    status = Path(f"/proc/{ffmpeg}/status")
    assert not status.exists() or "State:\tZ" in status.read_text(), "ffmpeg outlived its parent"


def test_a_full_output_disk_is_storage_offline_not_a_bad_video(tmp_path: Path) -> None:
    """ffmpeg hitting ENOSPC says nothing about the video: the failure must be retryable."""
    root = tmp_path / "media"
    storage.init_root(root)
    folder = root / "encoded-video"
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)],
                      capture_output=True, check=False).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (not root?)")
    try:
        (folder / storage.MARKER).write_text("0")
        src = videos.video(tmp_path / "in.mkv", size=(640, 360), duration=2.0,
                           pix_fmt="yuv444p")
        plan = plan_transcode(read_video(src), Config())
        with pytest.raises(StorageOffline, match="No space left"):
            ffmpeg_run.transcode(plan, src, folder / "out.mp4", output=storage.atomic_output)
        assert sorted(p.name for p in folder.iterdir()) == [storage.MARKER]
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True, check=False)


def test_a_read_only_output_disk_is_permission_denied_not_a_bad_video(
        fixture_set: dict[str, Any], tmp_path: Path) -> None:
    """Told apart by the filesystem's read-only flag, whatever ffmpeg's message says; mounted,
    so not offline, and not retried: a retry cannot help until it is remounted."""
    root = tmp_path / "media"
    storage.init_root(root)
    folder = root / "encoded-video"
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)],
                      capture_output=True, check=False).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (not root?)")
    try:
        (folder / storage.MARKER).write_text("0")
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        src = fixture_set["video-hevc8.mp4"].path
        plan = plan_transcode(read_video(src), _cfg())
        with pytest.raises(PermissionDenied, match="read-only") as err:
            ffmpeg_run.transcode(plan, src, folder / "out.mp4", output=storage.atomic_output)
        assert not err.value.transient
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True, check=False)


def test_a_broken_video_named_like_a_disk_error_is_a_bad_video(
        fixture_set: dict[str, Any], tmp_path: Path) -> None:
    """ffmpeg's stderr quotes the input's name; a healthy output disk makes it the video's fault."""
    good = fixture_set["video-hevc8.mp4"].path
    plan = plan_transcode(read_video(good), _cfg())
    broken = tmp_path / "No space left on device.mp4"
    broken.write_bytes(good.read_bytes()[:2000])
    with pytest.raises(TranscodeFailed) as err:
        ffmpeg_run.transcode(plan, broken, tmp_path / "out" / "o.mp4", output=UNGUARDED)
    assert not err.value.transient


# --- Immich exports as they are, two-pass for real ---------------------------------------------

IMMICH_DEFAULTS = Path(__file__).parent / "data" / "immich-v3.1-defaults.json"


@pytest.mark.parametrize("accel", ["disabled", "nvenc", "qsv", "vaapi", "rkmpp"])
def test_an_immich_v3_export_with_every_accelerator_loads_and_runs(
        tmp_path: Path, accel: str) -> None:
    from mediapipe import config

    export = json.loads(IMMICH_DEFAULTS.read_text())
    export["ffmpeg"] |= {"accel": accel, "targetResolution": "1080p", "transcode": "all"}
    path = tmp_path / "immich-config.json"
    path.write_text(json.dumps(export))
    cfg = config.load(path, {})
    assert cfg.ffmpeg.accel_decode is True and cfg.ffmpeg.target_resolution == "1080"
    src = videos.video(tmp_path / "in.mkv", size=(640, 360), duration=1)
    plan = plan_transcode(read_video(src), cfg)
    result = ffmpeg_run.transcode(plan, src, tmp_path / "out.mp4", output=UNGUARDED,
                                  accel=cfg.ffmpeg.accel, accel_decode=cfg.ffmpeg.accel_decode)
    nvenc_here = toolchain.probe_encoder("h264_nvenc").available
    assert result.accel == ("nvenc-hwdecode" if accel == "nvenc" and nvenc_here else "software")
    if accel in ("qsv", "vaapi", "rkmpp"):  # no /dev/dri node, or an encoder that does not open
        assert any(name.startswith(accel) for name, _ in result.skipped), result.skipped
    assert _probe(tmp_path / "out.mp4")["streams"][0]["codec_name"] == "h264"


def test_two_pass_software_encode_runs_both_passes_and_leaves_no_pass_log(
        tmp_path: Path) -> None:
    src = videos.video(tmp_path / "in.mkv", size=(640, 360), duration=2.0)
    plan = plan_transcode(read_video(src), _cfg(two_pass=True, max_bitrate="400k",
                                                transcode="all"))
    seen: list[float] = []
    result = ffmpeg_run.transcode(plan, src, tmp_path / "out.mp4", output=UNGUARDED,
                                  progress=seen.append)
    assert _has_seq(result.argv, "-pass", "2") and _has_seq(result.argv, "-b:v", "276k")
    assert seen and max(seen) == 1.0 and min(seen) < 0.6
    bitrate = int(_probe(tmp_path / "out.mp4")["format"]["bit_rate"])
    assert bitrate < 600_000, "the average follows the two-pass target"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mkv", "out.mp4"]


def _has_seq(argv: tuple[str, ...], *seq: str) -> bool:
    return any(argv[i:i + len(seq)] == seq for i in range(len(argv)))



# What ffmpeg says when NVENC cannot open: Debian's 5.1 here, and 8.1 on an H100 (a GPU with
# no NVENC engine), whose last lines are about the tasks it stopped, not about why.
_NVENC_51 = """[h264_nvenc @ 0x55d74b809900] Cannot load libcuda.so.1
Error initializing output stream 0:0 -- Error while opening encoder for output stream #0:0 - maybe \
incorrect parameters such as bit_rate, rate, width or height
"""
_NVENC_81_H100 = """[h264_nvenc @ 0x55cd9a34abc0] OpenEncodeSessionEx failed: unsupported \
device (2): (no details)
[h264_nvenc @ 0x55cd9a34abc0] No capable devices found
[vost#0:0/h264_nvenc @ 0x55cd9a34a580] [enc:h264_nvenc @ 0x55cd9a34ab40] Error while opening \
encoder - maybe incorrect parameters such as bit_rate, rate, width or height.
[vf#0:0 @ 0x55cd9a365ec0] Error sending frames to consumers: Generic error in an external library
[vf#0:0 @ 0x55cd9a365ec0] Task finished with error code: -542398533 (Generic error in an external \
library)
[vf#0:0 @ 0x55cd9a365ec0] Terminating thread with return code -542398533 (Generic error in an \
external library)
"""


@pytest.mark.parametrize(("stderr", "why"), [
    (_NVENC_51, "[h264_nvenc] Cannot load libcuda.so.1"),
    (_NVENC_81_H100, "[h264_nvenc] OpenEncodeSessionEx failed: unsupported device (2): (no "
                     "details) | [h264_nvenc] No capable devices found"),
], ids=["ffmpeg-5.1", "ffmpeg-8.1-h100"])
def test_an_encoder_that_does_not_open_is_reported_in_its_own_words(stderr: str, why: str) -> None:
    assert toolchain.last_error_lines(stderr, said_by="h264_nvenc") == why


def test_without_the_encoders_own_words_the_last_lines_say_why() -> None:
    stderr = "[mov,mp4 @ 0x1] moov atom not found\nfile:in.mp4: Invalid data found\n"
    assert toolchain.last_error_lines(stderr, said_by="libx264") == \
        "[mov,mp4] moov atom not found | file:in.mp4: Invalid data found"

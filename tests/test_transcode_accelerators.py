"""Each accelerator module, the devices and the ffmpeg build as data, and the fallback chain:
argv tables per accelerator (no device needed), then real transcodes on this machine's ffmpeg,
where every accelerator's chain ends in software."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from fixtures import videos
from mediapipe.cli.context import ACCEL_CHOICE
from mediapipe.cli.main import main
from mediapipe.config import ACCELS, Config, FFmpegConfig, load
from mediapipe.errors import ConfigError
from mediapipe.metadata.model import MediaInfo, StreamInfo
from mediapipe.metadata.video import read_video
from mediapipe.pipeline.files import plan_media
from mediapipe.transcode import build, devices
from mediapipe.transcode import run as ffmpeg_run
from mediapipe.transcode.accelerator import Decode, Machine
from mediapipe.transcode.argv import build_parts
from mediapipe.transcode.chain import ACCEL_NAMES, ACCELERATORS, Link, fallback_chain
from mediapipe.transcode.plan import plan_transcode

INTEL = Machine(devices.HwDevices(("card0", "renderD128")), build.JELLYFIN)
RK3588 = Machine(devices.HwDevices(("renderD128",), mali_opencl=True), build.JELLYFIN)
NIX = Path(__file__).parent.parent / "deploy" / "nixos" / "mediapipe.nix"


def _info(size: tuple[int, int] = (1920, 1080), pix: str = "yuv420p", codec: str = "hevc",
          transfer: str | None = None, rotation: int = 0) -> MediaInfo:
    w, h = size
    streams = (StreamInfo(0, "video", codec, True, 1, width=w, height=h, pix_fmt=pix,
                          color_transfer=transfer, color_primaries="bt2020" if transfer else None),
               StreamInfo(1, "audio", "aac", True, 1, channels=2))
    shown = (h, w) if abs(rotation) % 180 == 90 else (w, h)
    return MediaInfo(path="/v/in.mkv", kind="video", mime_type="video/x-matroska", size=1,
                     width=shown[0], height=shown[1], rotation=rotation, container="matroska",
                     duration=1.0, video_codec=codec, pix_fmt=pix, streams=streams)


def _cfg(**ff: Any) -> Config:
    return Config(ffmpeg=dataclasses.replace(FFmpegConfig(), **ff))


def _has(argv: tuple[str, ...] | list[str], *seq: str) -> bool:
    n = len(seq)
    return any(list(argv[i:i + n]) == list(seq) for i in range(len(argv) - n + 1))


def _vf(out: tuple[str, ...]) -> str:
    return out[out.index("-vf") + 1] if "-vf" in out else ""


# --- one table per accelerator module ----------------------------------------------------------

HDR = {"pix": "yuv420p10le", "transfer": "smpte2084"}
ARGV = [
    # id, link, info kwargs, settings, machine, input sequence, output sequences, -vf
    ("software-scale-only", "software", {}, {}, INTEL, (), [("-c:v", "h264")], "scale=-2:720"),
    ("software-tonemapx-on-jellyfin", "software", {"size": (480, 480), **HDR}, {}, INTEL, (),
     [("-c:v", "h264")], "tonemapx=tonemap=hable:desat=0:p=bt709:t=bt709:m=bt709:r=pc:peak=100:"
                         "format=yuv420p"),
    ("software-zscale-on-stock", "software", {"size": (480, 480), **HDR}, {},
     dataclasses.replace(INTEL, build=build.STOCK), (), [("-c:v", "h264")],
     "zscale=tin=smpte2084"),
    ("nvenc-hw-decode", "nvenc-hwdecode", {}, {"accel": "nvenc"}, INTEL,
     ("-hwaccel", "cuda", "-hwaccel_output_format", "cuda", "-noautorotate", "-threads", "1"),
     [("-c:v", "h264_nvenc"), ("-g", "256")], "scale_cuda=-2:720:format=nv12"),
    ("nvenc-sw-decode", "nvenc", {}, {"accel": "nvenc"}, INTEL,
     ("-init_hw_device", "cuda=cuda:0", "-filter_hw_device", "cuda"),
     [("-qmin", "0"), ("-i_qfactor", "0.75")], "hwupload_cuda,scale_cuda=-2:720:format=nv12"),
    ("qsv-hw-decode-highest-render-node", "qsv-hwdecode", {}, {"accel": "qsv"},
     Machine(devices.HwDevices(("renderD128", "renderD129", "card0")), build.JELLYFIN),
     ("-qsv_device", "/dev/dri/renderD129"), [("-c:v", "h264_qsv"), ("-bf", "7"), ("-refs", "5")],
     "scale_qsv=-1:720:async_depth=4:mode=hq:format=nv12"),
    ("qsv-cqp-vp9-low-power", "qsv", {}, {"accel": "qsv", "target_video_codec": "vp9",
                                          "cq_mode": "cqp"}, INTEL,
     ("-init_hw_device", "qsv=hw,child_device=/dev/dri/renderD128"),
     [("-q:v", "23"), ("-low_power", "1")], "hwupload=extra_hw_frames=64,scale_qsv=-1:720:"
                                            "mode=hq:format=nv12"),
    ("vaapi-hw-decode-opencl-tonemap", "vaapi-hwdecode", {"size": (480, 480), **HDR},
     {"accel": "vaapi"}, INTEL, ("-hwaccel_device", "/dev/dri/renderD128"),
     [("-c:v", "h264_vaapi"), ("-rc_mode", "1")],
     "hwmap=derive_device=opencl,tonemap_opencl=desat=0:format=nv12"),
    ("vaapi-sw-decode-capped", "vaapi", {}, {"accel": "vaapi", "max_bitrate": "10000k"}, INTEL,
     ("-init_hw_device", "vaapi=accel:/dev/dri/renderD128", "-filter_hw_device", "accel"),
     [("-b:v", "6897k", "-maxrate", "10000k", "-minrate", "3448.5k", "-rc_mode", "3")],
     "hwupload=extra_hw_frames=64,scale_vaapi=-2:720:mode=hq:out_range=pc:format=nv12"),
    ("rkmpp-hw-decode", "rkmpp-hwdecode", {}, {"accel": "rkmpp"}, RK3588,
     ("-hwaccel", "rkmpp", "-hwaccel_output_format", "drm_prime", "-afbc", "rga"),
     [("-level", "51", "-rc_mode", "CQP", "-qp_init", "23")],
     "scale_rkrga=-2:720:format=nv12:afbc=1:async_depth=4"),
    ("rkmpp-hevc-avbr", "rkmpp-hwdecode", {}, {"accel": "rkmpp", "target_video_codec": "hevc",
                                               "max_bitrate": "8M"}, RK3588, (),
     [("-c:v", "hevc_rkmpp"), ("-level", "153", "-rc_mode", "AVBR", "-b:v", "8M")],
     "scale_rkrga"),
    ("rkmpp-sw-decode-no-inputs", "rkmpp", {"size": (480, 480), **HDR}, {"accel": "rkmpp"},
     RK3588, (), [("-c:v", "h264_rkmpp")], "tonemapx=tonemap=hable"),
]


@pytest.mark.parametrize(("link", "info", "settings", "machine", "inputs", "outputs", "vf"),
                         [a[1:] for a in ARGV], ids=[a[0] for a in ARGV])
def test_each_accelerator_builds_immichs_argv(link: str, info: dict[str, Any],
                                              settings: dict[str, Any], machine: Machine,
                                              inputs: tuple[str, ...],
                                              outputs: list[tuple[str, ...]], vf: str) -> None:
    plan = plan_transcode(_info(**info), _cfg(transcode="all", **settings))
    parts = build_parts(plan, "/v/in.mkv", "/v/out.mp4", Link.of(link), machine)
    assert _has(parts.input_options, *inputs), parts.input_options
    if link == "rkmpp":
        assert parts.input_options == ()
    for seq in outputs:
        assert _has(parts.output_options, *seq), (seq, parts.output_options)
    assert _vf(parts.output_options).startswith(vf), _vf(parts.output_options)
    assert parts.argv[-1] == "file:/v/out.mp4" and "-i" in parts.argv


@pytest.mark.parametrize("acc", [a for a in ACCELERATORS if a.hardware], ids=lambda a: a.name)
def test_every_hardware_accelerator_has_the_three_link_chain(acc: Any) -> None:
    plan = plan_transcode(_info(), _cfg(transcode="all"))
    chain, skipped = fallback_chain(plan, acc.name, True, RK3588)
    assert [link.name for link in chain] == [f"{acc.name}-hwdecode", acc.name, "software"]
    assert skipped == []
    chain, skipped = fallback_chain(plan, acc.name, False, RK3588)
    assert [link.name for link in chain] == [acc.name, "software"]
    assert skipped == [(f"{acc.name}-hwdecode", "accelDecode is off")]


def test_an_unknown_preset_is_dropped_with_a_warning() -> None:
    plan = plan_transcode(_info(), _cfg(transcode="all", preset="invalid", accel="qsv"))
    assert plan.warnings and "dropped" in plan.warnings[0]
    for link in ("software", "nvenc", "qsv", "vaapi"):
        out = build_parts(plan, "/i", "/o", Link.of(link), INTEL).output_options
        assert "-preset" not in out and "-compression_level" not in out and "-cpu-used" not in out


# --- devices and the build, as data -------------------------------------------------------------

PICKS = [
    ("highest-render-node", ("card1", "renderD129", "card0", "renderD128"), "auto",
     "/dev/dri/renderD129"),
    ("card-node-without-render-node", ("card0", "card1"), "auto", "/dev/dri/card1"),
    ("preferred-by-name", ("renderD128", "renderD129"), "renderD128", "/dev/dri/renderD128"),
    ("preferred-by-path", ("renderD128", "renderD129"), "/dev/dri/renderD128",
     "/dev/dri/renderD128"),
    ("none", (), "auto", None),
]


@pytest.mark.parametrize(("dri", "preferred", "picked"), [p[1:] for p in PICKS],
                         ids=[p[0] for p in PICKS])
def test_the_device_is_picked_as_immich_picks_it(dri: tuple[str, ...], preferred: str,
                                                 picked: str | None) -> None:
    assert devices.HwDevices(dri).pick(preferred) == picked


def test_a_preferred_device_the_machine_lacks_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="renderD130 is not among"):
        devices.HwDevices(("renderD128",)).pick("renderD130")


@pytest.mark.parametrize(("text", "dri"), [("renderD128,card0", ("renderD128", "card0")),
                                           ("none", ()), ("", ())])
def test_hw_devices_option_parses(text: str, dri: tuple[str, ...]) -> None:
    assert devices.parse_devices(text).dri == dri


def test_hw_devices_option_refuses_a_path_it_cannot_name() -> None:
    with pytest.raises(ConfigError, match="no /dev/dri node name"):
        devices.parse_devices("../../etc/passwd")


def test_this_machines_build_and_devices_are_probed() -> None:
    here = build.probe_build()
    assert here.name in ("stock", "jellyfin") and here.filters <= set(build.FILTERS)
    assert here.has("tonemapx") == (here.name == "jellyfin") or here.name == "stock"
    assert build.named_build("jellyfin").filters == frozenset(build.FILTERS)
    assert not build.named_build("stock").has("tonemapx")
    assert isinstance(devices.discover().dri, tuple)


# --- the list is read, not restated --------------------------------------------------------------

def test_the_accelerator_list_is_the_one_config_cli_and_deploy_offer() -> None:
    assert tuple(ACCELS) == ACCEL_NAMES
    assert tuple(ACCEL_CHOICE.choices) == ACCEL_NAMES
    enum = re.search(r"accel = mkOption \{\s*type = types\.enum \[([^\]]*)\]", NIX.read_text())
    assert enum and tuple(re.findall(r'"(\w+)"', enum.group(1))) == ACCEL_NAMES


def test_doctor_probes_every_accelerator() -> None:
    from mediapipe.cli.doctor import ENCODERS

    assert {acc.name for acc, _ in ENCODERS} == {a.name for a in ACCELERATORS}


# --- where mediapipe is deliberately not Immich (README: Accelerators) -------------------------

def test_a_small_10_bit_video_is_converted_not_upscaled_on_nvenc() -> None:
    """Immich: scale_cuda=-2:720:format=nv12 on a 480x480 source (an upscale)."""
    plan = plan_transcode(_info((480, 480), "yuv420p10le", "h264"), _cfg(accel="nvenc"))
    out = build_parts(plan, "/i", "/o", Link.of("nvenc-hwdecode"), INTEL).output_options
    assert _vf(out) == "scale_cuda=iw:ih:format=nv12"


def test_a_small_hdr_video_is_tonemapped_not_upscaled_on_rkmpp() -> None:
    """Immich: scale_rkrga=-2:720:format=p010… on a 480x480 source (an upscale)."""
    plan = plan_transcode(_info((480, 480), **HDR), _cfg(accel="rkmpp"))
    out = build_parts(plan, "/i", "/o", Link.of("rkmpp-hwdecode"), RK3588).output_options
    assert _vf(out).startswith("scale_rkrga=iw:ih:format=p010:afbc=1:async_depth=4,hwmap=")


@pytest.mark.parametrize("accel", ["qsv", "vaapi"])
def test_no_dri_node_falls_back_to_software_where_immich_fails(accel: str) -> None:
    """Immich fails the job (immich-app/immich#10523 asks for the fallback)."""
    plan = plan_transcode(_info(), _cfg(accel=accel))
    chain, skipped = fallback_chain(plan, accel, True, Machine(devices.HwDevices(),
                                                               build.JELLYFIN))
    assert [link.name for link in chain] == ["software"] and skipped[0][0] == accel


# --- for real, on this machine's ffmpeg ---------------------------------------------------------

@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return videos.video(tmp_path_factory.mktemp("accel") / "in.mkv", size=(640, 360),
                        duration=1, codec="mpeg4")


@pytest.mark.parametrize("accel", ACCEL_NAMES)
def test_every_accelerators_chain_ends_in_software_here(clip: Path, tmp_path: Path,
                                                       accel: str) -> None:
    """Told the machine has a render node and Mali OpenCL: each hardware link's encoder is
    really tried (a one-frame encode), does not open here, and software writes the file."""
    from mediapipe.library import storage

    plan = plan_transcode(read_video(clip), _cfg(accel=accel))
    machine = Machine(devices.HwDevices(("renderD128",), True), build.probe_build())
    result = ffmpeg_run.transcode(plan, clip, tmp_path / "out.mp4", accel=accel,
                                  accel_decode=True, machine=machine,
                                  output=lambda p: storage.atomic_output(p, guarded=False))
    if accel != "nvenc" or not ffmpeg_run.toolchain.probe_encoder("h264_nvenc").available:
        assert (result.accel, result.encoder) == ("software", "libx264")
    if accel != "disabled" and result.accel == "software":
        assert {name.removesuffix("-hwdecode") for name, _ in result.skipped} == {accel}
    probe = json.loads(subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_streams",
         str(tmp_path / "out.mp4")], capture_output=True, text=True, check=True).stdout)
    video = next(s for s in probe["streams"] if s["codec_type"] == "video")
    assert (video["codec_name"], video["width"], video["height"]) == ("h264", 640, 360)


def test_cli_dry_run_plans_for_a_described_machine(clip: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "o.mp4"
    assert main(["transcode", str(clip), "--out", str(out), "--accel", "vaapi", "--dry-run",
                 "--json", "--ffmpeg-build", "jellyfin", "--hw-devices", "renderD128,card0"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [link["accel"] for link in data["chain"]] == ["vaapi-hwdecode", "vaapi", "software"]
    assert data["command"] == data["chain"][0]["command"] and data["two_pass"] is False
    assert _has(data["chain"][0]["input_options"], "-hwaccel_device", "/dev/dri/renderD128")
    machine = Machine(devices.HwDevices(("renderD128", "card0")), build.JELLYFIN)
    again = plan_media(read_video(clip), clip.absolute(), out,
                       dataclasses.replace(load(), ffmpeg=dataclasses.replace(
                           load().ffmpeg, accel="vaapi")), machine=machine)
    assert [list(c.command) for c in again.chain] == [c["command"] for c in data["chain"]]
    assert not out.exists()


def test_cli_describing_a_machine_needs_dry_run(clip: Path) -> None:
    assert main(["transcode", str(clip), "--hw-devices", "none"]) == 2


def test_rkmpp_hdr_on_a_board_without_mali_opencl_decodes_in_software() -> None:
    plan = plan_transcode(_info((480, 480), **HDR), _cfg(accel="rkmpp"))
    chain, skipped = fallback_chain(plan, "rkmpp", True,
                                    Machine(devices.HwDevices(("renderD128",)), build.JELLYFIN))
    assert [link.name for link in chain] == ["rkmpp", "software"]
    assert chain[0].decode is Decode.SOFTWARE and "tone-mapping" in skipped[0][1]

"""``plan_transcode`` decisions and ``build_command`` argv, as data: no ffmpeg runs here.

Where the argv follows Immich v3.1's (two-pass targets, NVENC buffers, hardware decode threads)
the expected options are Immich's; where Immich is known wrong (issue 22294, isVideoVertical)
the table says so and expects what plays right."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from mediapipe.config import Config, FFmpegConfig, parse_bitrate
from mediapipe.errors import ConfigError, TooLarge, UnsupportedMedia
from mediapipe.metadata.model import MediaInfo, StreamInfo, main_stream
from mediapipe.transcode.accelerator import Machine
from mediapipe.transcode.argv import build_command, two_pass
from mediapipe.transcode.build import STOCK
from mediapipe.transcode.chain import Link, fallback_chain
from mediapipe.transcode.devices import HwDevices
from mediapipe.transcode.plan import plan_transcode

NVENC_HW, NVENC_SW, SW_LINK = (Link.of(n) for n in ("nvenc-hwdecode", "nvenc", "software"))
BARE = Machine(HwDevices(), STOCK)  # no /dev/dri node, a Debian-like ffmpeg


def _info(codec: str = "h264", pix: str = "yuv420p", size: tuple[int, int] = (1920, 1080),
          audio: tuple[str, ...] = ("aac",), container: str = "mp4", rotation: int = 0,
          transfer: str | None = None, bit_rate: int = 4_000_000) -> MediaInfo:
    w, h = size
    streams = [StreamInfo(0, "video", codec, True, bit_rate, width=w, height=h, pix_fmt=pix,
                          color_transfer=transfer, color_primaries="bt2020" if transfer
                          else None)]
    streams += [StreamInfo(i + 1, "audio", a, i == 0, 128_000, channels=6)
                for i, a in enumerate(audio)]
    return MediaInfo(path="/v/in.mp4", kind="video", mime_type="video/mp4", size=1, width=w,
                     height=h, rotation=rotation, container=container, duration=2.0,
                     video_codec=codec, pix_fmt=pix, streams=tuple(streams))


def _cfg(**ff: Any) -> Config:
    return Config(ffmpeg=dataclasses.replace(FFmpegConfig(), **ff))


_V, _A = "video", "audio"
MAIN_STREAM = [
    # id, streams as (type, codec, default, bit rate, cover art), kind, index of the main one
    ("default-wins", [(_V, "h264", False, 9, False), (_V, "h264", True, 1, False)], _V, 1),
    ("else-highest-bitrate", [(_V, "h264", False, 1, False), (_V, "hevc", False, 9, False)],
     _V, 1),
    ("first-of-equals", [(_A, "aac", False, None, False), (_A, "opus", False, None, False)],
     _A, 0),
    ("cover-art-is-no-video", [(_V, "mjpeg", True, 9, True), (_V, "h264", False, 1, False)],
     _V, 1),
    ("unknown-codec-is-no-audio", [(_A, "none", True, 9, False), (_A, "aac", False, 1, False)],
     _A, 1),
    ("none-of-the-kind", [(_V, "h264", True, 1, False)], _A, None),
]


@pytest.mark.parametrize(("streams", "kind", "expected"), [c[1:] for c in MAIN_STREAM],
                         ids=[c[0] for c in MAIN_STREAM])
def test_the_main_stream_is_the_one_a_player_picks(
        streams: list[tuple[Any, str, bool, int | None, bool]], kind: Any,
        expected: int | None) -> None:
    infos = [StreamInfo(i, t, codec, default, rate, attached_pic=pic)
             for i, (t, codec, default, rate, pic) in enumerate(streams)]
    found = main_stream(infos, kind)
    assert (found.index if found else None) == expected


DECISIONS = [
    # id, info, settings, decision, a reason fragment
    ("h264-mp4-accepted", _info(size=(1280, 720)), {}, "none", "all accepted"),
    ("hevc-needs-video", _info("hevc"), {}, "video", "video codec hevc"),
    ("10-bit-needs-video", _info(pix="yuv420p10le"), {"accepted_video_codecs": ("h264", "hevc")},
     "video", "not 8-bit 4:2:0"),
    ("444-needs-video", _info(pix="yuv444p"), {}, "video", "yuv444p"),
    ("ac3-needs-audio", _info(audio=("ac3",)), {}, "audio", "audio codec ac3"),
    ("opus-is-libopus", _info(audio=("opus",), container="webm"), {}, "none", "accepted"),
    ("both", _info("mpeg4", audio=("ac3",)), {}, "all", "mpeg4"),
    ("mkv-remux", _info(container="matroska"), {}, "remux", "container matroska"),
    ("avi-remux", _info(container="avi"), {}, "remux", "container avi"),
    ("optimal-large", _info(), {"transcode": "optimal"}, "video", "exceeds targetResolution"),
    ("optimal-small", _info(size=(1280, 720)), {"transcode": "optimal"}, "none", "accepted"),
    ("bitrate-above", _info(), {"transcode": "bitrate", "max_bitrate": "3M"}, "video",
     "exceeds maxBitrate"),
    ("bitrate-below", _info(), {"transcode": "bitrate", "max_bitrate": "5000k"}, "none",
     "accepted"),
    ("all", _info(), {"transcode": "all"}, "all", "policy all"),
    ("disabled", _info("mpeg4"), {"transcode": "disabled"}, "none", "disabled"),
    ("odd-size", _info(size=(321, 241)), {}, "video", "odd dimensions"),
    ("no-audio", _info("hevc", audio=()), {}, "video", "hevc"),
]


@pytest.mark.parametrize(("info", "settings", "decision", "reason"),
                         [d[1:] for d in DECISIONS], ids=[d[0] for d in DECISIONS])
def test_decision_follows_immich_policy(info: MediaInfo, settings: dict[str, Any],
                                        decision: str, reason: str) -> None:
    plan = plan_transcode(info, _cfg(**settings))
    assert plan.decision == decision
    assert any(reason in r for r in plan.reasons), plan.reasons
    assert plan.encodes_video is (decision in ("all", "video"))  # else the stream is copied


def test_default_audio_stream_is_default_disposition_else_highest_bitrate() -> None:
    info = _info(audio=("aac", "ac3"))
    streams = (info.streams[0], StreamInfo(1, "audio", "aac", False, 64_000),
               StreamInfo(2, "audio", "ac3", False, 384_000),
               StreamInfo(3, "video", "mjpeg", False, attached_pic=True))
    plan = plan_transcode(dataclasses.replace(info, streams=streams), _cfg())
    assert (plan.video_stream, plan.audio_stream, plan.decision) == (0, 2, "audio")


@pytest.mark.parametrize("policy", ["required", "all", "disabled"])
def test_a_video_over_image_max_pixels_is_too_large_before_anything_decodes(
        policy: str) -> None:
    """16000x16000 (256 MP) over the default 200 MP: refused from the header, whatever the
    policy would have done; the same video under a larger limit is planned as any other."""
    bomb = _info(codec="mjpeg", pix="yuvj420p", size=(16000, 16000), audio=())
    with pytest.raises(TooLarge, match=r"16000x16000.*image\.maxPixels") as err:
        plan_transcode(bomb, _cfg(transcode=policy))
    assert err.value.exit_code == 7
    roomy = dataclasses.replace(_cfg(transcode=policy),
                                image=dataclasses.replace(Config().image, max_pixels=300_000_000))
    assert plan_transcode(bomb, roomy).source_size == (16000, 16000)


def test_a_second_video_stream_over_the_limit_is_too_large_too() -> None:
    info = _info()
    big = StreamInfo(9, "video", "mjpeg", False, 1, width=20000, height=20000)
    with pytest.raises(TooLarge, match="stream 9"):
        plan_transcode(dataclasses.replace(info, streams=(*info.streams, big)), _cfg())


def test_no_video_stream_is_unsupported() -> None:
    info = dataclasses.replace(_info(), streams=(StreamInfo(0, "audio", "aac"),))
    with pytest.raises(UnsupportedMedia):
        plan_transcode(info, _cfg())


SCALES = [
    ("landscape-1080p", (1920, 1080), 0, "720", "scale=-2:720", (1280, 720)),
    ("vertical-1080p", (1080, 1920), 0, "720", "scale=720:-2", (720, 1280)),
    ("rotated-90-displayed-vertical", (1080, 1920), 90, "720", "scale=720:-2", (720, 1280)),
    # Immich scales only what is odd or above the target: a small even video is not filtered.
    ("small-not-upscaled", (640, 360), 0, "720", None, (640, 360)),
    ("original-fixes-odd", (321, 241), 0, "original", "scale=-2:240", (320, 240)),
    ("4k-to-1080", (3840, 2160), 0, "1080", "scale=-2:1080", (1920, 1080)),
]


@pytest.mark.parametrize(("size", "rotation", "target", "vf", "out"),
                         [s[1:] for s in SCALES], ids=[s[0] for s in SCALES])
def test_scale_shorter_side_to_target_even_and_orientation_aware(
        size: tuple[int, int], rotation: int, target: str, vf: str | None,
        out: tuple[int, int]) -> None:
    plan = plan_transcode(_info("hevc", size=size, rotation=rotation),
                          _cfg(target_resolution=target))
    argv = build_command(plan, "/v/in.mp4", "/v/out.mp4")
    if vf is None:
        assert "-vf" not in argv
    else:
        assert argv[argv.index("-vf") + 1].startswith(vf)
    assert plan.output_size == out


def _argv(info: MediaInfo, accel: Link = SW_LINK, **ff: Any) -> list[str]:
    return build_command(plan_transcode(info, _cfg(**ff)), "/v/in.mp4", "/v/out.mp4", accel)


def _has(argv: list[str], *seq: str) -> bool:
    n = len(seq)
    return any(argv[i:i + n] == list(seq) for i in range(len(argv) - n + 1))


SOFTWARE = [
    # Immich's -c:v names: ffmpeg opens h264 as libx264, hevc as libx265.
    ("x264-defaults", {}, [("-c:v", "h264"), ("-preset", "ultrafast"), ("-crf", "23")]),
    ("x265-tagged-hvc1", {"target_video_codec": "hevc"},
     [("-c:v", "hevc"), ("-tag:v", "hvc1")]),
    ("capped-crf-bufsize-twice-the-cap", {"max_bitrate": "5M"},
     [("-crf", "23", "-maxrate", "5M", "-bufsize", "10M")]),
    ("bframes-refs-gop-threads", {"bframes": 3, "refs": 4, "gop_size": 250, "threads": 2},
     [("-bf", "3"), ("-refs", "4"), ("-g", "250"), ("-threads", "2")]),
    ("faststart-and-no-metadata", {}, [("-movflags", "faststart"), ("-map_metadata", "-1"),
                                       ("-f", "mp4"), ("-fps_mode", "passthrough")]),
    ("audio-reencoded-stereo", {"accepted_audio_codecs": ("mp3",), "target_audio_codec": "opus"},
     [("-c:a", "libopus", "-ac", "2")]),
]


@pytest.mark.parametrize(("settings", "expected"), [s[1:] for s in SOFTWARE],
                         ids=[s[0] for s in SOFTWARE])
def test_software_argv_carries_the_settings(settings: dict[str, Any],
                                            expected: list[tuple[str, ...]]) -> None:
    argv = _argv(_info("mpeg4"), **settings)
    for seq in expected:
        assert _has(argv, *seq), (seq, argv)


NVENC = [
    ("h264-sw-decode", NVENC_SW, {}, [("-c:v", "h264_nvenc"), ("-preset", "p1"),
                                         ("-tune", "hq"), ("-cq:v", "23")],
     "hwupload_cuda"),
    ("hevc-hw-decode", NVENC_HW, {"target_video_codec": "hevc", "preset": "slow"},
     [("-hwaccel", "cuda", "-hwaccel_output_format", "cuda"), ("-c:v", "hevc_nvenc"),
      ("-preset", "p5"), ("-tag:v", "hvc1")], "scale_cuda=-2:720:format=nv12"),
    ("temporal-aq-bframes", NVENC_SW, {"temporal_aq": True, "bframes": 3},
     [("-temporal-aq", "1"), ("-bf", "3"), ("-b_ref_mode", "middle")], "hwupload_cuda"),
    # Immich: a target of max/1.45 (rounded up, in the unit given), the cap, a buffer of the
    # target, NVENC's own two passes.
    ("two-pass-with-maxrate", NVENC_SW, {"two_pass": True, "max_bitrate": "8M"},
     [("-b:v", "6M", "-maxrate", "8M", "-bufsize", "6M", "-multipass", "2")], "hwupload_cuda"),
    ("capped-bufsize-is-the-target", NVENC_SW, {"max_bitrate": "5000k"},
     [("-cq:v", "23"), ("-maxrate", "5000k", "-bufsize", "3449k")], "hwupload_cuda"),
    ("hw-decode-one-input-thread", NVENC_HW, {},
     [("-noautorotate", "-threads", "1", "-i")], "scale_cuda=-2:720"),
]


@pytest.mark.parametrize(("accel", "settings", "expected", "vf_part"),
                         [n[1:] for n in NVENC], ids=[n[0] for n in NVENC])
def test_nvenc_argv(accel: Link, settings: dict[str, Any], expected: list[tuple[str, ...]],
                    vf_part: str) -> None:
    argv = _argv(_info("mpeg4"), accel, **settings)
    for seq in expected:
        assert _has(argv, *seq), (seq, argv)
    assert vf_part in argv[argv.index("-vf") + 1]


def test_vp9_on_nvenc_is_refused_clearly() -> None:
    with pytest.raises(ConfigError, match="vp9 cannot be encoded with nvenc"):
        _argv(_info("mpeg4"), NVENC_SW, target_video_codec="vp9")


@pytest.mark.parametrize("transfer", ["smpte2084", "arib-std-b67"], ids=["pq", "hlg"])
def test_hdr_is_tonemapped_with_the_stock_zscale_chain(transfer: str) -> None:
    argv = _argv(_info("hevc", pix="yuv420p10le", transfer=transfer))
    vf = argv[argv.index("-vf") + 1]
    assert f"zscale=tin={transfer}" in vf and "tonemap=tonemap=hable" in vf
    assert vf.endswith("format=yuv420p") and _has(argv, "-color_trc", "bt709")


def test_tonemap_disabled_keeps_hdr() -> None:
    argv = _argv(_info("hevc", pix="yuv420p10le", transfer="smpte2084"), tonemap="disabled")
    assert "tonemap" not in argv[argv.index("-vf") + 1]


@pytest.mark.parametrize(("container", "codec", "tag"), [
    ("matroska", "h264", False), ("avi", "hevc", True)], ids=["h264", "hevc-hvc1"])
def test_remux_copies_streams(container: str, codec: str, tag: bool) -> None:
    argv = _argv(_info(codec, container=container), accepted_video_codecs=("h264", "hevc"))
    assert _has(argv, "-c:v", "copy") and _has(argv, "-c:a", "copy") and "-vf" not in argv
    assert _has(argv, "-tag:v", "hvc1") == tag


@pytest.mark.parametrize("name", ["-rf.mp4", "a:b.mp4", "-i"])
def test_paths_are_never_options_or_protocols(name: str) -> None:
    plan = plan_transcode(_info("hevc"), _cfg())
    argv = build_command(plan, name, "-" + name, SW_LINK)
    src, dst = argv[argv.index("-i") + 1], argv[-1]
    assert src.startswith("file:/") and dst.startswith("file:/")


@pytest.mark.parametrize(("text", "bits"), [("0", 0), ("5000k", 5_000_000), ("8M", 8_000_000),
                                            ("1.5m", 1_500_000)])
def test_parse_bitrate(text: str, bits: int) -> None:
    assert parse_bitrate(text) == bits


# --- Immich v3.1's argv for two-pass, capped NVENC and hardware decode ----------------------

TWO_PASS = [
    # id, codec, settings, (expected sequences), (absent options)
    ("x264-target-is-max-over-1.45", "h264", {"two_pass": True, "max_bitrate": "5000k"},
     [("-b:v", "3449k", "-minrate", "1724.5k", "-maxrate", "5000k")], ["-crf", "-bufsize"]),
    ("x265-in-megabits", "hevc", {"two_pass": True, "max_bitrate": "8M"},
     [("-b:v", "6M", "-minrate", "3M", "-maxrate", "8M")], ["-crf"]),
    ("decimal-cap-in-the-unit-below", "h264", {"two_pass": True, "max_bitrate": "1.5M"},
     [("-b:v", "1035k", "-minrate", "517.5k", "-maxrate", "1500k")], ["-crf"]),
    ("no-cap-no-second-pass", "h264", {"two_pass": True}, [("-crf", "23")],
     ["-b:v", "-pass"]),
    ("vp9-two-pass-even-uncapped", "vp9", {"two_pass": True},
     [("-c:v", "vp9"), ("-crf", "23", "-b:v", "0")], ["-maxrate"]),
]


@pytest.mark.parametrize(("codec", "settings", "expected", "absent"),
                         [t[1:] for t in TWO_PASS], ids=[t[0] for t in TWO_PASS])
def test_software_two_pass_targets_an_average_like_immich(
        codec: str, settings: dict[str, Any], expected: list[tuple[str, ...]],
        absent: list[str]) -> None:
    argv = _argv(_info("mpeg4"), target_video_codec=codec, **settings)
    for seq in expected:
        assert _has(argv, *seq), (seq, argv)
    for option in absent:
        assert option not in argv, (option, argv)


def test_two_pass_runs_an_analysis_pass_then_the_encode_sharing_one_log() -> None:
    plan = plan_transcode(_info("mpeg4"), _cfg(two_pass=True, max_bitrate="5000k"))
    assert two_pass(plan, SW_LINK) and not two_pass(plan, NVENC_SW)
    first = build_command(plan, "/v/in.mp4", "/v/out.mp4", pass_number=1, passlog="/t/p")
    second = build_command(plan, "/v/in.mp4", "/v/out.mp4", pass_number=2, passlog="/t/p")
    assert _has(first, "-pass", "1", "-passlogfile", "/t/p") and _has(first, "-f", "null")
    assert "-an" in first and "-c:a" not in first and first[-1] == "-"
    assert _has(second, "-pass", "2", "-passlogfile", "/t/p") and second[-1] == "file:/v/out.mp4"


# Immich's scaling is known wrong in two cases; mediapipe stays right, and says so here.
ROTATED = [
    # id, displayed size, rotation flag, accel, expected scale filter, output size
    # A phone video: stored 1920x1080 with a 90° flag, displayed portrait. Hardware decode with
    # -noautorotate sees the stored, landscape frames: their short side is the height. Immich
    # issue 22294 scales the width ("720:-2"): a 720x404 stored frame, 404 px wide displayed.
    ("phone-portrait-hw-decode-stored-short-side", (1080, 1920), 90, NVENC_HW,
     "scale_cuda=-2:720", (720, 1280)),
    ("phone-portrait-minus-90-hw-decode", (1080, 1920), -90, NVENC_HW,
     "scale_cuda=-2:720", (720, 1280)),
    ("phone-portrait-sw-decode-autorotated", (1080, 1920), 90, SW_LINK,
     "scale=720:-2", (720, 1280)),
    # Stored portrait (1080x1920) with a ±90° flag plays landscape (1920x1080 displayed).
    # Immich's isVideoVertical calls it vertical and scales its displayed width to 720.
    ("portrait-stored-flagged-plays-landscape", (1920, 1080), 90, SW_LINK,
     "scale=-2:720", (1280, 720)),
    ("portrait-stored-flagged-hw-decode", (1920, 1080), 270, NVENC_HW,
     "scale_cuda=720:-2", (1280, 720)),
]


@pytest.mark.parametrize(("size", "rotation", "accel", "vf", "out"), [r[1:] for r in ROTATED],
                         ids=[r[0] for r in ROTATED])
def test_rotated_video_is_scaled_on_its_real_short_side_where_immich_is_wrong(
        size: tuple[int, int], rotation: int, accel: Link, vf: str,
        out: tuple[int, int]) -> None:
    plan = plan_transcode(_info("hevc", size=size, rotation=rotation), _cfg())
    argv = build_command(plan, "/v/in.mp4", "/v/out.mp4", accel)
    assert argv[argv.index("-vf") + 1].startswith(vf)
    assert plan.output_size == out


def test_a_photo_is_not_transcoded() -> None:
    photo = dataclasses.replace(_info(), kind="image", mime_type="image/jpeg")
    with pytest.raises(UnsupportedMedia, match="not a video"):
        plan_transcode(photo, _cfg())


# --- the fallback chain -----------------------------------------------------------------------

@pytest.mark.parametrize("accel", ["qsv", "vaapi"])
def test_an_accelerator_without_its_dri_node_leaves_software_and_says_why(accel: str) -> None:
    plan = plan_transcode(_info("mpeg4"), _cfg(accel=accel))
    chain, skipped = fallback_chain(plan, accel, True, BARE)
    assert [link.name for link in chain] == ["software"]
    assert [(name, "needs a /dev/dri render node" in why) for name, why in skipped] == \
        [(accel, True)]


def test_disabled_is_software_alone() -> None:
    plan = plan_transcode(_info("mpeg4"), _cfg())
    assert fallback_chain(plan, "disabled", True, BARE) == ([SW_LINK], [])


def test_nvenc_without_an_nvidia_encoder_for_the_codec_is_refused_as_immich_does() -> None:
    plan = plan_transcode(_info("mpeg4"), _cfg(target_video_codec="vp9"))
    with pytest.raises(ConfigError, match="it has no vp9 encoder"):
        fallback_chain(plan, "nvenc", True, BARE)

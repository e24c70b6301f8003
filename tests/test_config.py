"""Settings: Immich's names and defaults, file and environment sources, clear errors."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from mediapipe import config
from mediapipe.config import Config
from mediapipe.errors import ConfigError

DEFAULTS = {
    "image.thumbnail": ("webp", 250, 80),
    "image.preview": ("jpeg", 1440, 80),
}


def test_defaults_are_immichs() -> None:
    c = Config()
    assert (c.image.thumbnail.format, c.image.thumbnail.size, c.image.thumbnail.quality) == \
        DEFAULTS["image.thumbnail"]
    assert (c.image.preview.format, c.image.preview.size, c.image.preview.quality) == \
        DEFAULTS["image.preview"]
    assert c.image.colorspace == "p3" and c.image.extract_embedded is False
    assert c.image.max_pixels == 200_000_000 and c.image.engine == "auto"
    f = c.ffmpeg
    assert (f.crf, f.threads, f.preset, f.target_video_codec) == (23, 0, "ultrafast", "h264")
    assert f.accepted_video_codecs == ("h264",)
    assert (f.target_audio_codec, f.accepted_audio_codecs) == ("aac", ("aac", "mp3", "libopus"))
    assert f.accepted_containers == ("mov", "ogg", "webm")
    assert (f.target_resolution, f.max_bitrate) == ("720", "0")
    assert (f.bframes, f.refs, f.gop_size, f.temporal_aq) == (-1, 0, 0, False)
    assert (f.cq_mode, f.two_pass, f.preferred_hw_device) == ("auto", False, "auto")
    assert (f.transcode, f.tonemap, f.accel, f.accel_decode) == \
        ("required", "hable", "disabled", True)  # accelDecode: Immich v3's default
    assert c.storage_template.enabled is True  # the one default that differs: see README
    assert c.storage_template.template == "{{y}}/{{y}}-{{MM}}-{{dd}}/{{filename}}"
    w = c.worker
    assert (w.visibility_timeout, w.max_tasks_per_child, w.max_memory_per_child) == \
        (21600, 2000, 1024)
    assert (w.result_expires, w.image_time_limit, w.video_time_limit, w.max_retries) == \
        (86400, 300, 14400, 5)
    assert (c.media_root, c.owner_id, c.broker_url) == ("", "admin", "")
    assert (f.timeout, f.nice) == (14400, 10)
    assert c.image.fullsize.enabled is False
    assert c.storage_template.hash_verification_enabled is True
    assert c.library.exclusion_patterns == (
        "**/@eaDir/**", "**/._*", "**/#recycle/**", "**/#snapshot/**", "**/.stversions/**",
        "**/.stfolder/**")


def test_sections_are_typed_frozen_values() -> None:
    import dataclasses

    from mediapipe.config import FFmpegConfig, ImageConfig, LibraryConfig, StorageTemplateConfig

    c = Config()
    assert isinstance(c.image, ImageConfig) and isinstance(c.ffmpeg, FFmpegConfig)
    assert isinstance(c.storage_template, StorageTemplateConfig)
    assert isinstance(c.library, LibraryConfig)
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.image.max_pixels = 1  # type: ignore[misc]


def test_a_golden_file_pins_every_default() -> None:
    """Every setting's default, as ``Config().to_dict()`` writes it (Immich's names). A change
    of default is a change of this file: regenerate it with
    ``python -c "import json; from mediapipe import Config; print(json.dumps(Config().to_dict(),
    indent=2, sort_keys=True))" > tests/data/defaults.json`` and say why in the commit."""
    golden = json.loads((Path(__file__).parent / "data" / "defaults.json").read_text())
    assert Config().to_dict() == golden
    assert Config.from_dict(golden) == Config()


def test_toml_file_then_env_later_wins(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text('[ffmpeg]\ncrf = 28\ntargetVideoCodec = "hevc"\n[image.preview]\nsize = 1080\n')
    c = config.load(f, {"MEDIAPIPE_FFMPEG_CRF": "30", "UNRELATED": "x"})
    assert c.ffmpeg.crf == 30
    assert c.ffmpeg.target_video_codec == "hevc"
    assert c.image.preview.size == 1080


def test_immich_system_config_export_is_accepted_as_is(tmp_path: Path) -> None:
    export = {
        "ffmpeg": {"crf": 30, "threads": 0, "preset": "fast", "targetVideoCodec": "hevc",
                   "acceptedVideoCodecs": ["h264", "hevc"], "targetAudioCodec": "aac",
                   "acceptedAudioCodecs": ["aac"], "acceptedContainers": ["mov"],
                   "targetResolution": "1080", "maxBitrate": "8M", "bframes": -1, "refs": 0,
                   "gopSize": 0, "npl": 0, "temporalAQ": True, "cqMode": "auto",
                   "twoPass": False, "preferredHwDevice": "auto", "transcode": "optimal",
                   "tonemap": "mobius", "accel": "nvenc", "accelDecode": True},
        "image": {"thumbnail": {"format": "webp", "size": 250, "quality": 80},
                  "preview": {"format": "jpeg", "size": 1440, "quality": 80},
                  "colorspace": "srgb", "extractEmbedded": True},
        "storageTemplate": {"enabled": True, "hashVerificationEnabled": True,
                            "template": "{{y}}/{{filename}}"},
        "library": {"scan": {"enabled": True, "cronExpression": "0 0 * * *"},
                    "watch": {"enabled": False}},
        "machineLearning": {"enabled": True},
        "map": {"enabled": True},
    }
    f = tmp_path / "immich-config.json"
    f.write_text(json.dumps(export))
    c = config.load(f)
    assert c.ffmpeg.temporal_aq is True and c.ffmpeg.accel == "nvenc"
    assert c.ffmpeg.accepted_video_codecs == ("h264", "hevc")
    assert c.image.colorspace == "srgb" and c.storage_template.enabled is True


@pytest.mark.parametrize(("env", "key", "allowed"), [
    ({"MEDIAPIPE_FFMPEG_TRANSCODE": "sometimes"}, "ffmpeg.transcode", "required"),
    ({"MEDIAPIPE_FFMPEG_ACCEL": "quicksync"}, "ffmpeg.accel", "nvenc"),
    ({"MEDIAPIPE_BROKER_URL": "http://queue"}, "brokerUrl", "scheme http://"),
    ({"MEDIAPIPE_BROKER_URL": "redis://queue:port/0"}, "brokerUrl", "not a URL"),
    ({"MEDIAPIPE_BROKER_URL": "redis://queue/zero"}, "brokerUrl", "not a number"),
    ({"MEDIAPIPE_IMAGE_COLORSPACE": "adobe"}, "image.colorspace", "srgb"),
    ({"MEDIAPIPE_FFMPEG_CRF": "high"}, "ffmpeg.crf", "integer"),
    ({"MEDIAPIPE_FFMPEG_CRF": "99"}, "ffmpeg.crf", "maximum"),
    ({"MEDIAPIPE_FFMPEG_MAX_BITRATE": "fast"}, "ffmpeg.maxBitrate", "suffix"),
    ({"MEDIAPIPE_FFMPEG_TARGET_RESOLUTION": "big"}, "ffmpeg.targetResolution", "original"),
    ({"MEDIAPIPE_FFMPEG_TWO_PASS": "maybe"}, "ffmpeg.twoPass", "true or false"),
], ids=lambda v: str(v)[:40])
def test_invalid_values_name_the_key_and_what_is_allowed(env: dict[str, str], key: str,
                                                          allowed: str) -> None:
    with pytest.raises(ConfigError) as err:
        config.load(None, env)
    assert err.value.key == key
    assert allowed in str(err.value)


def test_unknown_key_in_a_known_section_is_an_error(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text("[ffmpeg]\ncfr = 20\n")
    with pytest.raises(ConfigError, match=r"ffmpeg\.cfr: unknown setting.*crf"):
        config.load(f)


def test_lists_from_env_comma_or_json() -> None:
    a = config.load(None, {"MEDIAPIPE_FFMPEG_ACCEPTED_VIDEO_CODECS": "h264, hevc"})
    b = config.load(None, {"MEDIAPIPE_FFMPEG_ACCEPTED_VIDEO_CODECS": '["h264","hevc"]'})
    assert a.ffmpeg.accepted_video_codecs == b.ffmpeg.accepted_video_codecs == ("h264", "hevc")


def test_sample_file_documents_every_setting_and_reads_back_as_defaults() -> None:
    text = config.sample_toml()
    assert Config.from_dict(tomllib.loads(text)) == Config()
    assert "# Constant rate factor" in text and "temporalAQ = false" in text


def test_round_trip_through_dict() -> None:
    c = config.load(None, {"MEDIAPIPE_FFMPEG_CRF": "19", "MEDIAPIPE_OWNER_ID": "u2"})
    assert Config.from_dict(json.loads(json.dumps(c.to_dict()))) == c


def test_every_setting_has_an_env_name() -> None:
    names = config.env_names()
    assert names["MEDIAPIPE_FFMPEG_TEMPORAL_AQ"] == "ffmpeg.temporalAQ"
    assert names["MEDIAPIPE_STORAGE_TEMPLATE_TEMPLATE"] == "storageTemplate.template"
    assert names["MEDIAPIPE_MEDIA_ROOT"] == "mediaRoot"


# --- Immich's QSV/VAAPI knobs: they take effect now (transcode.qsv, transcode.vaapi) ----------

@pytest.mark.parametrize(("key", "attr", "value"), [
    ("cqMode", "cq_mode", "icq"),
    ("preferredHwDevice", "preferred_hw_device", "/dev/dri/renderD129"),
    ("accel", "accel", "vaapi"),
    ("preset", "preset", "invalid"),
])
def test_an_export_setting_a_qsv_vaapi_knob_loads_silently(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, key: str, attr: str,
        value: str) -> None:
    f = tmp_path / "immich-config.json"
    f.write_text(json.dumps({"ffmpeg": {key: value}}))
    with caplog.at_level("WARNING", logger="mediapipe.config"):
        c = config.load(f)
    assert getattr(c.ffmpeg, attr) == value, "loaded as is: an Immich export must load"
    assert not [r for r in caplog.records if r.levelname == "WARNING"]


def test_the_qsv_vaapi_knobs_say_what_they_do_in_the_sample_file() -> None:
    for key, says in (("cqMode", "QSV"), ("preferredHwDevice", "/dev/dri")):
        assert says in _said_before(key), key


def _said_before(key: str) -> str:
    """The comment lines the sample file puts above ``key = ...``."""
    lines = config.sample_toml().splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(f"{key} = "))
    above = []
    for line in reversed(lines[:at]):
        if not line.startswith("#"):
            break
        above.append(line)
    return " ".join(reversed(above))


def test_the_sample_says_max_pixels_is_the_one_pixel_limit_as_it_is() -> None:
    from mediapipe.imaging import pillow

    said = _said_before("maxPixels")
    assert "video stream" in said and "before anything decodes it" in said
    assert "guard is off" in said and pillow().MAX_IMAGE_PIXELS is None


def test_the_sample_says_what_the_auto_engine_is() -> None:
    from mediapipe.thumbnails.make import default_engine
    from mediapipe.thumbnails.turbo import TurboEngine, available

    said = _said_before("engine")
    assert "libjpeg-turbo" in said and "OpenCV" in said and "vips" not in said
    assert isinstance(default_engine("auto"), TurboEngine) is available()

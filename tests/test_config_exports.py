"""Immich exports as they come (JSON or YAML, from a newer Immich too), and settings shown with
their secrets masked, by ``config show`` and ``doctor`` alike."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from mediapipe import config
from mediapipe.errors import ConfigError
from tests.support.cli import mediapipe

EXPORT = {"ffmpeg": {"crf": 30, "targetVideoCodec": "hevc", "someNewKnob": True},
          "image": {"preview": {"size": 1080}}, "machineLearning": {"enabled": False}}


def test_an_unknown_key_in_an_immich_section_of_an_export_is_one_warning_not_an_error(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    f = tmp_path / "immich-config.json"
    f.write_text(json.dumps(EXPORT))
    with caplog.at_level(logging.WARNING, "mediapipe.config"):
        cfg = config.load(f)
    assert (cfg.ffmpeg.crf, cfg.ffmpeg.target_video_codec, cfg.image.preview.size) == \
        (30, "hevc", 1080)
    [line] = [r.getMessage() for r in caplog.records if "someNewKnob" in r.getMessage()]
    assert line.startswith("ffmpeg.someNewKnob: unknown setting in an Immich export")


def test_a_yaml_export_loads_like_the_json_one(tmp_path: Path) -> None:
    import yaml

    as_json, as_yaml = tmp_path / "immich.json", tmp_path / "immich.yaml"
    as_json.write_text(json.dumps(EXPORT))
    as_yaml.write_text(yaml.safe_dump(EXPORT))
    assert config.load(as_yaml) == config.load(as_json)


def test_broken_yaml_is_a_config_error_naming_the_file(tmp_path: Path) -> None:
    f = tmp_path / "immich.yml"
    f.write_text("ffmpeg: {crf: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        config.load(f)


def test_in_our_own_toml_an_unknown_key_of_a_section_stays_an_error(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text("[ffmpeg]\nsomeNewKnob = true\n")
    with pytest.raises(ConfigError, match="someNewKnob: unknown setting"):
        config.load(f)


def test_our_own_sections_in_an_export_are_strict(tmp_path: Path) -> None:
    f = tmp_path / "immich.json"
    f.write_text(json.dumps({"worker": {"maxRetrys": 3}}))
    with pytest.raises(ConfigError, match=r"worker\.maxRetrys: unknown setting"):
        config.load(f)


@pytest.mark.parametrize("url, shown", [
    ("redis://:s3cret@queue:6379/0", "redis://:***@queue:6379/0"),
    ("redis://user:s3cret@queue:6379/0", "redis://user:***@queue:6379/0"),
    ("redis://queue:6379/0", "redis://queue:6379/0"),
], ids=["password", "user-and-password", "none"])
def test_a_broker_password_is_masked_wherever_settings_are_shown(url: str, shown: str) -> None:
    assert config.shown(config.Config(broker_url=url).to_dict())["brokerUrl"] == shown


def test_config_show_and_doctor_never_print_the_broker_password() -> None:
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("MEDIAPIPE_")}
    env["MEDIAPIPE_BROKER_URL"] = "redis://:s3cret@127.0.0.1:1/0"
    show = mediapipe("config", "show", env=env)
    assert show.returncode == 0, show.stderr
    assert json.loads(show.stdout)["brokerUrl"] == "redis://:***@127.0.0.1:1/0"
    doctor = mediapipe("doctor", "--json", env=env)
    assert "s3cret" not in show.stdout + show.stderr + doctor.stdout + doctor.stderr
    assert json.loads(doctor.stdout)["broker"]["url"] == "redis://:***@127.0.0.1:1/0"


def test_a_bad_broker_url_is_named_without_its_password() -> None:
    with pytest.raises(ConfigError) as err:
        config.load(None, {"MEDIAPIPE_BROKER_URL": "http://:s3cret@queue:6379/0"})
    assert "s3cret" not in str(err.value) and "http://:***@queue:6379/0" in str(err.value)

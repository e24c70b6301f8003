"""The ``mediapipe`` command as a user runs it: exit codes, one-line errors, output and logs
(``main()`` in this process; a subprocess where the process itself is what is checked)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import mediapipe


def test_init_then_verify_succeeds_on_a_new_folder(tmp_path: Path) -> None:
    root = tmp_path / "media"
    assert mediapipe("init", str(root)).returncode == 0
    result = mediapipe("verify", str(root))
    assert result.returncode == 0, result.stderr
    assert "thumbs" in result.stdout


def test_verify_fails_naming_the_folder_whose_marker_is_gone(tmp_path: Path) -> None:
    root = tmp_path / "media"
    mediapipe("init", str(root))
    (root / "thumbs" / ".immich").unlink()
    result = mediapipe("verify", str(root), "--json")
    assert result.returncode == 4
    assert "thumbs" in result.stderr and "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    assert [f["folder"] for f in report["folders"] if not f["ok"]] == ["thumbs"]


def test_media_root_comes_from_the_environment(tmp_path: Path) -> None:
    root = tmp_path / "from-env"
    assert mediapipe("init", env={"MEDIAPIPE_MEDIA_ROOT": str(root)}).returncode == 0
    assert (root / "library" / ".immich").is_file()


def test_a_bad_setting_is_one_line_and_exit_code_3(tmp_path: Path) -> None:
    # (an unknown ffmpeg.preset is no such setting: Immich drops it with a warning, and so do we)
    result = mediapipe("config", "show", env={"MEDIAPIPE_FFMPEG_TONEMAP": "warp"})
    assert result.returncode == 3
    assert result.stderr.strip().splitlines() == [
        "mediapipe: error: ffmpeg.tonemap: 'warp' is not allowed; choose from hable, "
        "mobius, reinhard, disabled"]


def test_doctor_reports_nvenc_unavailable_with_the_reason(tmp_path: Path) -> None:
    root = tmp_path / "media"
    mediapipe("init", str(root))
    result = mediapipe("doctor", "--json", "--media-root", str(root))
    report = json.loads(result.stdout)
    encoders = {e["name"]: e for e in report["encoders"]}
    assert encoders["libx264"]["available"] is True
    nvenc = encoders["h264_nvenc"]
    if nvenc["available"]:
        pytest.skip("this machine has a working NVENC")
    assert nvenc["reason"], "an unavailable encoder says why"
    assert report["versions"]["ffmpeg"] and report["versions"]["pyav"]
    assert all(f["ok"] for f in report["media_root"]["folders"])
    assert result.returncode == 0


def test_config_sample_is_valid_toml() -> None:
    import tomllib

    result = mediapipe("config", "sample")
    assert result.returncode == 0
    assert tomllib.loads(result.stdout)["ffmpeg"]["crf"] == 23


def test_help_lists_every_command_without_loading_media_libraries() -> None:
    # a fresh interpreter: what --help imports is the point
    code = ("import sys; from mediapipe.cli.main import main; main(['--help']); "
            "print(sorted(m for m in ('PIL', 'av', 'celery', 'mediapipe.workers', 'rich') "
            "if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.stdout.strip().splitlines()[-1] == "[]"
    for command in ("config", "doctor", "import", "info", "ingest", "init", "migrate",
                    "thumbnail", "transcode", "verify", "worker"):
        assert f"  {command} " in result.stdout


def test_worker_without_a_broker_is_a_usage_error() -> None:
    result = mediapipe("worker", env={"MEDIAPIPE_BROKER_URL": ""})
    assert result.returncode == 2
    assert "no broker" in result.stderr and "Traceback" not in result.stderr


def test_transcode_refuses_to_write_over_its_input(tmp_path: Path) -> None:
    from fixtures import videos

    src = videos.video(tmp_path / "clip.avi", codec="mpeg4", duration=1.0)
    before = src.read_bytes()
    result = mediapipe("transcode", str(src), "--out", str(src))
    assert result.returncode == 2 and "would replace the input" in result.stderr
    assert src.read_bytes() == before


def test_transcode_of_a_video_that_plays_does_nothing_even_in_its_own_folder(
        tmp_path: Path) -> None:
    from fixtures import videos

    src = videos.video(tmp_path / "plays.mp4", duration=1.0)
    result = mediapipe("transcode", src.name, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("nothing to do: ")


# --- logs that say what happened -----------------------------------------------------------------

def _ingest_logs(tmp_path: Path, *options: str) -> list[str]:
    from fixtures import images

    lib, root = tmp_path / "lib", tmp_path / "media"
    lib.mkdir()
    images.jpeg(lib / "a.jpg", (320, 240))
    mediapipe("init", str(root))
    result = mediapipe(*options, "ingest", str(lib), "--media-root", str(root), "--workers", "2")
    assert result.returncode == 0, result.stderr
    return result.stderr.splitlines()


def test_embedded_ingest_logs_one_json_line_per_asset_and_step(tmp_path: Path) -> None:
    lines = [json.loads(ln) for ln in _ingest_logs(tmp_path, "--log-format", "json",
                                                   "--log-level", "info")]
    steps = [ln for ln in lines if ln["logger"] == "mediapipe.asset"]
    assert {(s["stage"], s["outcome"]) for s in steps} == {("metadata", "done"),
                                                           ("thumbnails", "done")}
    for s in steps:  # the same fields a worker's line has
        assert s["path"] == str(tmp_path / "lib" / "a.jpg") and len(s["asset_id"]) == 36
        assert s["duration_s"] >= 0 and "encoder" in s


def test_debug_shows_mediapipe_and_holds_the_libraries_at_warning(tmp_path: Path) -> None:
    lines = _ingest_logs(tmp_path, "--log-level", "debug")
    assert any(" mediapipe.asset: " in ln for ln in lines)
    assert not [ln for ln in lines if " PIL." in ln], "Pillow's tag dumps stay out unless asked"


def test_a_worker_given_no_wait_refuses_to_start_without_a_broker_that_answers() -> None:
    result = mediapipe("worker", "--broker", "redis://127.0.0.1:1/0", "--broker-wait", "0")
    assert result.returncode == 14
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]

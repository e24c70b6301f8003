"""``doctor`` is strict and complete: a required tool missing fails it; every component's version
and the thumbnail engine in use are printed, never a tool nothing uses; names are escaped in
its text (and ``catalog check``'s); ``config sample`` says what ``auto`` really picks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import mediapipe

ROOT = Path(__file__).resolve().parents[1]


def mediapipe_on_path(path: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``mediapipe ARGS`` in a process of its own that finds its tools on ``path`` only (a
    process looks its tools up once: a fresh one is the point)."""
    return subprocess.run([sys.executable, "-m", "mediapipe", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=180,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "PATH": path})


def path_without(tmp_path: Path, *missing: str) -> str:
    """A PATH holding the tools doctor looks for, less ``missing``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("ffmpeg", "ffprobe", "exiftool", "perl"):
        found = shutil.which(tool)
        if tool not in missing and found:
            (bin_dir / tool).symlink_to(found)
    return str(bin_dir)


@pytest.mark.parametrize("missing", ["exiftool", "ffprobe"])
def test_doctor_fails_when_a_required_tool_is_missing(tmp_path: Path, missing: str) -> None:
    if not shutil.which(missing):
        pytest.skip(f"{missing} is not installed here")
    result = mediapipe_on_path(path_without(tmp_path, missing), "doctor")
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"mediapipe: error: {missing} is not installed or does not run" in result.stderr
    assert f"{missing:<14} MISSING" in result.stdout


def test_doctor_names_every_component_and_the_engine_but_no_unused_tool() -> None:
    result = mediapipe("doctor", "--json")
    report = json.loads(result.stdout)
    versions = report["versions"]
    for name in ("mediapipe", "python", "ffmpeg", "ffprobe", "exiftool", "pillow", "pyav",
                 "opencv", "simplejpeg", "libraw", "numpy"):
        assert versions.get(name), f"{name} missing from {versions}"
    assert "vipsthumbnail" not in versions, "nothing mediapipe runs uses it"
    assert report["thumbnail_engine"].startswith(("turbo", "pillow"))
    text = mediapipe("doctor").stdout
    assert "Thumbnail engine: " in text and "vips" not in text


def test_config_sample_does_not_say_auto_is_libvips() -> None:
    sample = mediapipe("config", "sample").stdout
    engine = next(line for line in sample.splitlines() if "'auto'" in line)
    assert "libvips" not in engine and "libjpeg-turbo" in engine


@pytest.mark.parametrize("command", [["doctor"], ["catalog", "check"]], ids=["doctor",
                                                                            "catalog-check"])
def test_a_media_root_named_with_a_newline_is_printed_on_one_line(
        tmp_path: Path, command: list[str]) -> None:
    root = tmp_path / "media\nroot"
    assert mediapipe("init", str(root)).returncode == 0
    result = mediapipe(*command, "--media-root", str(root))
    lines = (result.stdout + result.stderr).splitlines()
    assert not [line for line in lines if line.startswith("root")], \
        "a raw newline would start a line with the rest of the name"
    assert any("media\\nroot" in line for line in lines), lines

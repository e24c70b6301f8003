"""The library face: what ``import mediapipe`` gives a user, typed, and nothing heavy loaded."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

import mediapipe
from mediapipe.identity import asset_id_for_path

WINGS = ["mediapipe", "mediapipe.metadata", "mediapipe.thumbnails", "mediapipe.transcode",
         "mediapipe.pipeline", "mediapipe.config", "mediapipe.library", "mediapipe.index"]


@pytest.mark.parametrize("package", WINGS)
def test_every_name_a_package_exports_resolves(package: str) -> None:
    module = importlib.import_module(package)
    assert module.__all__ and sorted(module.__all__) == sorted(set(module.__all__))
    for name in module.__all__:
        assert getattr(module, name) is not None, f"{package}.{name}"
        assert name in dir(module)


def test_the_stage_entry_points_and_core_types_come_from_the_top_level() -> None:
    from mediapipe import (
        PIPELINE,
        Config,
        MediaInfo,
        Pipeline,
        build_command,
        make_thumbnails,
        plan_transcode,
        process_asset,
        read_metadata,
    )
    from mediapipe.metadata import read_metadata as from_the_wing

    assert from_the_wing is read_metadata and isinstance(PIPELINE, Pipeline)
    assert all(map(callable, (Config, MediaInfo, build_command, make_thumbnails,
                              plan_transcode, process_asset)))
    with pytest.raises(AttributeError, match="no attribute 'nonesuch'"):
        _ = mediapipe.nonesuch  # type: ignore[attr-defined]


def test_import_mediapipe_loads_no_image_or_video_library() -> None:
    code = ("import sys, mediapipe, mediapipe.errors, mediapipe.metadata; "
            "print(sorted(m for m in ('PIL', 'av', 'rawpy', 'numpy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_the_package_carries_its_type_hints() -> None:
    assert (Path(mediapipe.__file__).parent / "py.typed").is_file()


def test_an_asset_id_is_that_of_the_files_absolute_path(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    absolute = os.path.join(os.getcwd(), "IMG_0001.jpg")
    assert asset_id_for_path("IMG_0001.jpg") == asset_id_for_path(absolute)
    assert asset_id_for_path(Path("IMG_0001.jpg")) == asset_id_for_path(absolute)
    assert asset_id_for_path("other.jpg") != asset_id_for_path(absolute)

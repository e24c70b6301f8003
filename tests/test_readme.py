"""Every block of Python in the README runs, as a new user would paste it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fixtures import images, videos

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_the_readme_shows_the_library_api() -> None:
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_each_python_block_of_the_readme_runs(code: str, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    images.jpeg(tmp_path / "IMG_0001.jpg", (640, 480))
    videos.video(tmp_path / "clip.mkv", size=(320, 240), duration=1.0)
    from mediapipe import init_root

    init_root(tmp_path / "media")  # blocks after the first use the root the first one made
    exec(compile(code, str(README), "exec"), {"__name__": "__readme__"})

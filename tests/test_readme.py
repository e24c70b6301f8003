"""Every block of Python in the README runs, as a new user would paste it, and its table of exit
codes is the one the error family makes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fixtures import images, videos
from mediapipe.errors import EXIT_CODES

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


def test_the_exit_code_table_is_the_error_familys() -> None:
    """Each row: the code, then the kind that carries it in backticks (or the outcome no kind
    carries: ok, usage, interrupted); every code ``mediapipe`` exits with, and no other."""
    section = README.read_text().split("### When something is wrong", 1)[1]
    rows = re.findall(r"^\| (\d+) \| ([^|]+?) \|", section, flags=re.M)
    assert {int(code): name.strip("`") for code, name in rows} == dict(EXIT_CODES)
    assert [int(code) for code, _ in rows] == sorted(EXIT_CODES)

"""Hostile names: newlines, bytes that are not UTF-8, leading dashes, 255-byte names, and
template values that try to leave the root. None escapes, none crashes, none reaches a tool as
an option.

- ``mediapipe ingest`` in place, in-process and on Celery workers, of real media under such
  names; ``-i.mp4`` is a real video that must be transcoded, so its name is handed to ffmpeg
  (as a path, never as the ``-i`` option it spells), and a ``-y`` folder holds another one;
- ``mediapipe import`` with a storage template built from metadata (``{{make}}/{{model}}/
  {{lensModel}}/{{filename}}``) of files whose EXIF says ``../../..``, ``/etc``, ``..`` and
  whose own names are hostile: every file lands inside ``library/<owner>/`` and nothing is
  written anywhere else; a template that itself climbs out is refused before any work;
- album values (``{{album}}``, not settable from the command line) rendered directly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path, PurePosixPath

import pytest

from fixtures import images, videos
from mediapipe.identity import asset_id_for_path
from mediapipe.library import storage
from mediapipe.template import TemplateContext, TemplateError, render_path
from tests.reliability.harness import Figures, account, partial_files, run_ingest
from tests.support.services import CeleryWorker, RedisServer

NAMES = {  # file name (bytes) -> how to make it real media
    b"new\nline.jpg": lambda p: images.jpeg(p, (320, 240)),
    b"tab\tand\rcr.png": lambda p: images.png(p, (64, 48)),
    b"latin1-caf\xe9.jpg": lambda p: images.jpeg(p, (320, 240)),
    b"broken-\xff\xfe-utf8.heic": lambda p: images.heic(p, (128, 96)),
    b"-i.jpg": lambda p: images.jpeg(p, (320, 240)),
    b"-i.mp4": lambda p: videos.video(p, duration=1.0, pix_fmt="yuv444p"),  # must transcode
    b"-y/-f.mkv": lambda p: videos.video(p, duration=1.0, pix_fmt="yuv444p", audio=()),
    b"--help.png": lambda p: images.png(p, (64, 48)),
    b"x" * 251 + b".jpg": lambda p: images.jpeg(p, (64, 48)),  # 255 bytes, NAME_MAX
    b"\xc3\xa9" * 125 + b".mp4": lambda p: videos.video(p, duration=1.0, pix_fmt="yuv444p"),
    b"$(touch pwned).jpg": lambda p: images.jpeg(p, (64, 48)),
    b"; rm -rf ~.jpg": lambda p: images.jpeg(p, (64, 48)),
}


def _make(folder: Path) -> list[Path]:
    """Write each under a safe temporary name first (the generators are not under test)."""
    out = []
    for i, (name, make) in enumerate(NAMES.items()):
        final = Path(os.fsdecode(os.path.join(os.fsencode(folder), name)))
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = folder / f"tmp-{i}{Path(os.fsdecode(name)).suffix}"
        make(tmp)
        tmp.rename(final)
        out.append(final)
    return out


def _outside(base: Path, root: Path) -> set[str]:
    """Every path under ``base`` that is not inside ``root``."""
    return {os.path.join(d, n) for d, dirs, files in os.walk(base) for n in dirs + files
            if not Path(d, n).is_relative_to(root)}


@pytest.fixture
def hostile(tmp_path: Path) -> tuple[Path, list[Path]]:
    lib = tmp_path / "lib"
    lib.mkdir()
    return lib, _make(lib)


def _check_ingest(case: str, lib: Path, sources: list[Path], root: Path,
                  ledger: Callable[[Figures], Figures], *args: str,
                  worker: CeleryWorker | None = None) -> None:
    before = _outside(root.parent, root)
    also = [worker.proc.pid] if worker and worker.proc else []
    run = run_ingest(lib, root, *args, timeout=240, also=also)
    fig, detail = account(case, sources, root, [run])
    ledger(fig)
    assert run.code == 0, (run.summary.get("failures"), run.stderr[-2000:])
    assert fig.processed == len(sources) and fig.crashed == fig.lost == 0, detail
    assert fig.partial == 0, partial_files(root)
    assert _outside(root.parent, root) == before, "something was written outside the root"
    assert not (lib / "pwned").exists() and not Path("pwned").exists()
    for src in sources:
        if src.suffix in (".mp4", ".mkv"):
            out = storage.derived_path(root, "admin", asset_id_for_path(src),
                                       storage.Derived.ENCODED_VIDEO, "mp4")
            assert out.is_file(), f"{src.name!r} was not transcoded"


def test_hostile_names_ingest_in_process(hostile: tuple[Path, list[Path]], media_root: Path,
                                         ledger: Callable[[Figures], Figures]) -> None:
    lib, sources = hostile
    _check_ingest("hostile names, in-process", lib, sources, media_root, ledger,
                  "--workers", "2")


def test_hostile_names_ingest_on_celery(
        hostile: tuple[Path, list[Path]], media_root: Path, redis_server: RedisServer,
        celery_worker: Callable[..., CeleryWorker],
        ledger: Callable[[Figures], Figures]) -> None:
    lib, sources = hostile
    worker = celery_worker("metadata,thumbnails,video", name="names")
    _check_ingest("hostile names, Celery", lib, sources, media_root, ledger,
                  "--broker", redis_server.url, worker=worker)


EVIL_EXIF = [  # (make, model, lens)
    ("../../../../..", "etc", "passwd"),
    ("/etc", "/root/.ssh", "/"),
    ("..", "..", ".."),
    ("a/../../b", "\x00nul", "line\nbreak"),
    ("CON", " . ", "." * 300),
]


def test_import_with_hostile_metadata_and_names_stays_in_the_owner_folder(
        tmp_path: Path, media_root: Path) -> None:
    src = tmp_path / "incoming"
    src.mkdir()
    files = []
    for i, (make, model, lens) in enumerate(EVIL_EXIF):
        name = [b"..jpg", b"-i.jpg", b"new\nline.jpg", b"caf\xe9.jpg", b"x" * 251 + b".jpg"][i]
        path = Path(os.fsdecode(os.path.join(os.fsencode(src), name)))
        images.jpeg(tmp_path / "t.jpg", (64 + i, 48), make=make.replace("\x00", ""),
                    model=model.replace("\x00", ""), lens=lens)
        (tmp_path / "t.jpg").rename(path)
        files.append(path)
    outside_before = _outside(tmp_path, media_root)
    env = {**os.environ, "MEDIAPIPE_STORAGE_TEMPLATE_ENABLED": "true",
           "MEDIAPIPE_STORAGE_TEMPLATE_TEMPLATE": "{{make}}/{{model}}/{{lensModel}}/{{filename}}"}
    proc = subprocess.run([sys.executable, "-m", "mediapipe", "import", *map(str, files),
                           "--media-root", str(media_root), "--json"], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert "Traceback" not in proc.stderr, proc.stderr
    report = json.loads(proc.stdout)
    assert proc.returncode == 0 and report["counts"]["failed"] == 0, report
    owner = (media_root / "library" / "admin").resolve()
    placed = [Path(p["target"]) for p in report["placed"]]
    assert len(placed) == len(files)
    for target in placed:
        assert target.resolve().is_relative_to(owner), target
        assert target.is_file()
    assert _outside(tmp_path, media_root) == outside_before, "written outside the root"
    assert all(f.exists() for f in files), "import copies; the sources stay"


def test_a_template_that_climbs_out_is_refused_before_any_work(tmp_path: Path,
                                                               media_root: Path) -> None:
    photo = images.jpeg(tmp_path / "a.jpg", (64, 48))
    env = {**os.environ, "MEDIAPIPE_STORAGE_TEMPLATE_ENABLED": "true",
           "MEDIAPIPE_STORAGE_TEMPLATE_TEMPLATE": "../../{{filename}}"}
    proc = subprocess.run([sys.executable, "-m", "mediapipe", "import", str(photo),
                           "--media-root", str(media_root)], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 3 and "Traceback" not in proc.stderr, proc.stderr
    assert not list((media_root / "library").rglob("*.jpg"))


@pytest.mark.parametrize("album", ["../../..", "/etc/passwd", "..", "a/../../../b", "\x00",
                                   "x" * 400, "{{filename}}", "..\\..\\win"],
                         ids=["dotdot", "absolute", "parent", "inner-dotdot", "nul", "long",
                              "mustache", "backslash"])
def test_album_values_never_leave_the_owner_folder(album: str) -> None:
    ctx = TemplateContext(filename="IMG_1.jpg", taken_at=datetime(2023, 6, 1, 12, 0),
                          asset_id="0123abcd-0000-0000-0000-000000000000", kind="image",
                          album=album)
    try:
        path = render_path("{{album}}/{{y}}/{{filename}}", ctx)
    except TemplateError:
        return  # refused: also fine
    assert not path.is_absolute() and ".." not in path.parts, path
    assert all(0 < len(part.encode()) <= 255 for part in path.parts), path
    assert os.path.normpath(PurePosixPath("/root/lib", path)).startswith("/root/lib/")

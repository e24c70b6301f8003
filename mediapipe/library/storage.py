"""The media root on disk: its folders, their ``.immich`` markers, and every write into them.

Owns: the layout (``library/ thumbs/ encoded-video/ profile/``, each guarded by a ``.immich``
marker), Immich's paths for derived files (``derived_path`` of a ``formats.Derived`` kind),
creating and verifying markers, the modes files and folders are written with (``Modes``; ``of``
a config: ``storage.fileMode``, ``storage.folderMode``), and atomic writes (temp file in the
same folder, fsync, rename) that refuse to write where the guarding marker is missing: an
unmounted disk must not fill its mount point. Does not own: what is written (stages make bytes)
or when (``pipeline``).

Writes stay below the real media root: no folder between a guarded folder (``thumbs/`` …) and a
file written there may be a symbolic link (``PathEscape``), and the marker is read in the folder
the guard resolves to. Files get ``Modes.file`` (0644) and the folders made for them
``Modes.folder`` (0755), whatever the umask. Temp files are named and swept by ``temps``; which
source an output was made from is ``stamps``'. The media root's own files (the lock, the
catalog, the import ledger, temp files) are opened by ``own``'s one rule (``open_own``,
``refuse_link``, named here too): never through a link.

Entry points: ``init_root``, ``verify_root``, ``require_root``, ``atomic_write``, ``atomic_output``,
``derived_path``, ``open_own``, ``refuse_link``. Placing originals in ``library/`` is
``placement``'s."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from mediapipe.errors import MediaError, PathEscape, StorageOffline, from_os_error
from mediapipe.formats import Derived
from mediapipe.library.own import FILE_MODE, open_own, refuse_link
from mediapipe.library.temps import sweep_folders, temp_path_for

if TYPE_CHECKING:
    from mediapipe.config import Config

__all__ = [
    "FOLDERS",
    "MARKER",
    "Derived",
    "FolderStatus",
    "Modes",
    "atomic_output",
    "atomic_write",
    "derived_path",
    "init_root",
    "inside",
    "make_folders",
    "marked",
    "open_own",
    "refuse_link",
    "require_marker",
    "require_root",
    "verify_root",
]

FOLDERS = ("library", "thumbs", "encoded-video", "profile")
MARKER = ".immich"


def marked(folder: str | Path) -> bool:
    """Whether ``folder`` carries its ``.immich`` marker (the one test: its disk is mounted)."""
    return (Path(folder) / MARKER).is_file()


def inside(real: str | Path, real_root: str | Path) -> bool:
    """Whether the resolved path ``real`` is ``real_root`` or below it: the one rule for what a
    write, a placed original or a library's link may lead to (both already resolved)."""
    real, real_root = os.fspath(real), os.fspath(real_root)
    return real == real_root or real.startswith(real_root.rstrip("/") + "/")


@dataclasses.dataclass(frozen=True)
class Modes:
    """The permission bits of what is written, set explicitly (the umask does not decide)."""

    file: int = FILE_MODE
    folder: int = 0o755

    @classmethod
    def of(cls, cfg: Config) -> Modes:
        """The modes ``storage.fileMode`` and ``storage.folderMode`` set: what every step writes
        into the media root with."""
        return cls(cfg.storage.file_bits, cfg.storage.folder_bits)


DEFAULT_MODES = Modes()


def derived_path(root: str | Path, owner: str, asset_id: str, kind: Derived, ext: str) -> Path:
    """Immich's path, e.g. ``thumbs/<owner>/<id[0:2]>/<id[2:4]>/<id>-preview.jpeg``."""
    folder, suffix = kind.value
    return Path(root, folder, owner, asset_id[0:2], asset_id[2:4], f"{asset_id}{suffix}.{ext}")


@dataclasses.dataclass(frozen=True)
class FolderStatus:
    folder: str
    path: Path
    ok: bool
    problem: str = ""
    exit_code: int = 0  # StorageOffline's (marker gone) or PermissionDenied's (not writable)


_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL  # a temp file: a new name, never an old one


def _write_marker(folder: Path, data: bytes | None = None) -> None:
    data = data if data is not None else str(int(time.time() * 1000)).encode()
    tmp = temp_path_for(folder / MARKER)
    with os.fdopen(open_own(tmp, _NEW), "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, folder / MARKER)


def _marker_content(marker: Path) -> bytes | None:
    """What a marker holds, to write it again as it was; None for none, or for a marker that
    is not the media root's own plain file (a link: its target is not copied into the root)."""
    try:
        with os.fdopen(open_own(marker, os.O_RDONLY), "rb") as fh:
            return fh.read(4096)
    except (OSError, PathEscape):
        return None


def init_root(root: str | Path) -> list[FolderStatus]:
    """Create the root's folders and their markers (idempotent); report each folder. A marker
    that is there is written again, so a root that cannot be written (read-only, immutable)
    reports its folders as failed, not ok (the marker's content stays as it was)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    out = []
    for name in FOLDERS:
        folder = root / name
        try:
            folder.mkdir(exist_ok=True)
            _write_marker(folder, _marker_content(folder / MARKER))
            out.append(FolderStatus(name, folder, True))
        except OSError as exc:
            error = from_os_error(folder, exc, writing=True)
            out.append(FolderStatus(name, folder, False, f"cannot create: {exc.strerror}",
                                    error.exit_code))
    return out


def verify_root(root: str | Path) -> list[FolderStatus]:
    """Read and rewrite every folder's marker, as Immich does at start-up; never creates one."""
    root = Path(root)
    out = []
    for name in FOLDERS:
        folder = root / name
        marker = folder / MARKER
        if not marked(folder):
            out.append(FolderStatus(name, folder, False,
                                    f"marker {marker} is missing (disk not mounted?)",
                                    StorageOffline.exit_code))
            continue
        try:
            with open(marker, "rb") as fh:  # readable (a link's target is not read whole)
                fh.read(4096)
            _write_marker(folder)
            out.append(FolderStatus(name, folder, True))
        except OSError as exc:
            error = from_os_error(folder, exc, writing=True)
            out.append(FolderStatus(name, folder, False, f"not writable: {exc.strerror}",
                                    error.exit_code))
    return out


def require_root(root: str | Path, folders: tuple[str, ...] = FOLDERS) -> Path:
    """``root`` when each of ``folders`` carries its marker; else ``StorageOffline`` naming the
    first folder without one and what to do (``mediapipe init``, or mount the disk)."""
    root = Path(root)
    for name in folders:
        if not marked(root / name):
            why = ("the media root does not exist" if not root.is_dir() else
                   f"{name}/ has no {MARKER} marker")
            raise StorageOffline(root / name, f"{why}: not an initialised media root, or its "
                                              f"disk is not mounted (mediapipe init {root})")
    return root


def require_marker(path: str | Path) -> Path:
    """The guarded folder above ``path``, or ``StorageOffline`` if its marker is missing.

    The guard is the nearest ancestor holding a ``.immich`` marker. A media-root folder name
    (``thumbs`` …) met on the way up without its marker means that disk is not mounted; no
    marker at all above ``path`` means it is not inside a media root.
    """
    path = Path(path).absolute()
    for folder in path.parents:
        if marked(folder):
            return folder
        if folder.name in FOLDERS:
            raise StorageOffline(path, f"{folder} has no {MARKER} marker (disk not mounted?); "
                                       "nothing written")
    raise StorageOffline(path, f"no {MARKER} marker above it: not inside a media root")


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _unwritable(target: Path, exc: OSError) -> MediaError:
    """``PermissionDenied`` for a folder that may not be written (no permission, read-only
    filesystem: mounted, not offline, and a retry cannot help); ``StorageOffline`` otherwise."""
    return from_os_error(target, exc, writing=True)


def _contained_folder(guard: Path, folder: Path, target: Path, mode: int) -> None:
    """Make ``folder`` below ``guard`` one level at a time (each new one ``mode``), refusing a
    symbolic link on the way (``PathEscape``): what is written under ``thumbs/`` stays there.
    The walk starts at the media-root folder above (``thumbs/`` itself may be a link to another
    disk), so a link below it carrying a marker of its own does not pass either."""
    guard = next((f for f in (guard, *guard.parents) if f.name in FOLDERS), guard)
    here = guard
    for part in folder.relative_to(guard).parts:
        here = here / part
        try:
            os.mkdir(here, mode)
            os.chmod(here, mode)
        except FileExistsError:
            pass
        if stat.S_ISLNK(os.lstat(here).st_mode):
            raise PathEscape(target, f"{here} is a symbolic link: writes stay below the media "
                                     "root; nothing written")
    real_guard = Path(os.path.realpath(guard))
    if not marked(real_guard) or not inside(os.path.realpath(folder), real_guard):
        raise PathEscape(target, f"{folder} resolves outside {real_guard}; nothing written")


def make_folders(folder: Path, mode: int) -> None:
    """Make ``folder`` and the folders above it that are missing, each given ``mode`` whatever
    the umask (``Modes.folder``)."""
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    for path in reversed(missing):
        with contextlib.suppress(FileExistsError):
            os.mkdir(path, mode)
            os.chmod(path, mode)


@contextlib.contextmanager
def atomic_output(target: str | Path, *, guarded: bool = True,
                  modes: Modes = DEFAULT_MODES) -> Iterator[Path]:
    """Yield a temp path beside ``target`` to write into (an ffmpeg output, say): made here,
    empty, as the media root's own file (``open_own``), so nothing planted there is written
    through.

    On success the temp file is fsynced, given ``modes.file`` and renamed over ``target``; on
    any exception, or if nothing non-empty was written, it is removed and ``target`` is left as
    it was. The marker is checked before the folder is made (every folder of the way below the
    guarded one a real folder, not a link out) and again just before the rename;
    ``guarded=False`` is for a file the user asked for outside any media root (a CLI ``--out``).
    """
    target = Path(target).absolute()
    try:
        if guarded:
            _contained_folder(require_marker(target), target.parent, target, modes.folder)
        else:
            make_folders(target.parent, modes.folder)
    except OSError as exc:
        raise _unwritable(target, exc) from exc
    sweep_folders([target])
    tmp = temp_path_for(target)
    try:
        try:
            os.close(open_own(tmp, _NEW, modes.file))  # made here, empty: nothing planted
            yield tmp
        except OSError as exc:  # the disk is full, read-only or failing: nothing placed
            raise _unwritable(target, exc) from exc
        if not tmp.is_file() or tmp.stat().st_size == 0:
            raise OSError(f"nothing was written to {tmp}")
        try:
            with open(tmp, "rb") as fh:
                os.fchmod(fh.fileno(), modes.file)
                os.fsync(fh.fileno())
            if guarded:
                require_marker(target)
            os.replace(tmp, target)
            fsync_dir(target.parent)
        except OSError as exc:
            raise _unwritable(target, exc) from exc
    finally:
        # A temp that cannot be removed (a read-only disk) must not hide why the write failed;
        # sweep_temp removes it once its writer is gone.
        with contextlib.suppress(OSError):
            tmp.unlink()


def atomic_write(path: str | Path, data: bytes, *, guarded: bool = True,
                 modes: Modes = DEFAULT_MODES) -> Path:
    """Write ``data`` to ``path`` all at once: readers see the old file or the new, never half.
    (``atomic_output`` fsyncs the temp before the rename: an fsync is the file's, whichever
    descriptor wrote it.)"""
    with atomic_output(path, guarded=guarded, modes=modes) as tmp, \
            os.fdopen(open_own(tmp, os.O_WRONLY | os.O_TRUNC), "wb") as fh:
        fh.write(data)
    return Path(path)



"""The media root on disk: its folders, their ``.immich`` markers, and every write into them.

Owns: the layout (``library/ thumbs/ encoded-video/ profile/``, each guarded by a ``.immich``
marker), Immich's paths for derived files, creating and verifying markers, and atomic writes
(temp file in the same folder, fsync, rename) that refuse to write where the guarding marker is
missing: an unmounted disk must not fill its mount point. Does not own: what is written (stages
make bytes) or when (``pipeline``).

Entry points: ``init_root``, ``verify_root``, ``atomic_write``, ``atomic_output``,
``derived_path``, ``sweep_temp``; for originals in ``library/``: ``place_file`` (verified move or
copy, ``+N`` on collision, never overwriting) and ``file_sha1``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import errno
import hashlib
import itertools
import os
import re
import secrets
import socket
import time
from collections.abc import Collection, Iterator
from pathlib import Path, PurePosixPath

from mediapipe.errors import MediaError, StorageOffline

__all__ = [
    "FOLDERS",
    "MARKER",
    "Derived",
    "FolderStatus",
    "PlaceAction",
    "Placement",
    "atomic_output",
    "atomic_write",
    "derived_path",
    "file_sha1",
    "init_root",
    "place_file",
    "require_marker",
    "sweep_temp",
    "verify_root",
]

FOLDERS = ("library", "thumbs", "encoded-video", "profile")
MARKER = ".immich"
TEMP_SUFFIX = ".mptmp"
STALE_AFTER_S = 3600.0


class Derived(enum.Enum):
    """The files mediapipe derives from an asset: (top folder, name suffix)."""

    PREVIEW = ("thumbs", "_preview")
    THUMBNAIL = ("thumbs", "_thumbnail")
    FULLSIZE = ("thumbs", "_fullsize")
    ENCODED_VIDEO = ("encoded-video", "")


def derived_path(root: str | Path, owner: str, asset_id: str, kind: Derived, ext: str) -> Path:
    """Immich's path, e.g. ``thumbs/<owner>/<id[0:2]>/<id[2:4]>/<id>_preview.jpeg``."""
    folder, suffix = kind.value
    return Path(root, folder, owner, asset_id[0:2], asset_id[2:4], f"{asset_id}{suffix}.{ext}")


@dataclasses.dataclass(frozen=True)
class FolderStatus:
    folder: str
    path: Path
    ok: bool
    problem: str = ""


def _write_marker(folder: Path) -> None:
    data = str(int(time.time() * 1000)).encode()
    tmp = _temp_name(folder / MARKER)
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, folder / MARKER)


def init_root(root: str | Path) -> list[FolderStatus]:
    """Create the root's folders and their markers (idempotent); report each folder."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    out = []
    for name in FOLDERS:
        folder = root / name
        try:
            folder.mkdir(exist_ok=True)
            if not (folder / MARKER).exists():
                _write_marker(folder)
            out.append(FolderStatus(name, folder, True))
        except OSError as exc:
            out.append(FolderStatus(name, folder, False, f"cannot create: {exc.strerror}"))
    return out


def verify_root(root: str | Path) -> list[FolderStatus]:
    """Read and rewrite every folder's marker, as Immich does at start-up; never creates one."""
    root = Path(root)
    out = []
    for name in FOLDERS:
        folder = root / name
        marker = folder / MARKER
        if not marker.is_file():
            out.append(FolderStatus(name, folder, False,
                                    f"marker {marker} is missing (disk not mounted?)"))
            continue
        try:
            marker.read_bytes()
            _write_marker(folder)
            out.append(FolderStatus(name, folder, True))
        except OSError as exc:
            out.append(FolderStatus(name, folder, False, f"not writable: {exc.strerror}"))
    return out


def require_marker(path: str | Path) -> Path:
    """The guarded folder above ``path``, or ``StorageOffline`` if its marker is missing.

    The guard is the nearest ancestor holding a ``.immich`` marker. A media-root folder name
    (``thumbs`` …) met on the way up without its marker means that disk is not mounted; no
    marker at all above ``path`` means it is not inside a media root.
    """
    path = Path(path).absolute()
    for folder in path.parents:
        if (folder / MARKER).is_file():
            return folder
        if folder.name in FOLDERS:
            raise StorageOffline(path, f"{folder} has no {MARKER} marker (disk not mounted?); "
                                       "nothing written")
    raise StorageOffline(path, f"no {MARKER} marker above it: not inside a media root")


_HOST = socket.gethostname().replace(".", "_")


def _temp_name(target: Path) -> Path:
    """``.<name>.<host>.<pid>.<random>.mptmp``: hidden, and it names the process writing it."""
    tag = f"{_HOST}.{os.getpid()}.{secrets.token_hex(4)}"
    return target.with_name(f".{target.name}.{tag}{TEMP_SUFFIX}")


def _writer_dead(temp_name: str) -> bool:
    """True when the temp file's writer was a process on this host that no longer exists."""
    parts = temp_name[: -len(TEMP_SUFFIX)].rsplit(".", 3)
    if len(parts) != 4 or parts[1] != _HOST or not parts[2].isdigit():
        return False
    try:
        os.kill(int(parts[2]), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _unwritable(target: Path, exc: OSError) -> StorageOffline:
    return StorageOffline(target, f"cannot write: {exc.strerror or exc}; nothing placed")


@contextlib.contextmanager
def atomic_output(target: str | Path) -> Iterator[Path]:
    """Yield a temp path beside ``target`` to write into (an ffmpeg output, say).

    On success the temp file is fsynced and renamed over ``target``; on any exception, or if
    nothing non-empty was written, it is removed and ``target`` is left as it was. The marker is
    checked before the folder is made and again just before the rename.
    """
    target = Path(target).absolute()
    require_marker(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _unwritable(target, exc) from exc
    sweep_temp(target.parent, name=target.name)
    tmp = _temp_name(target)
    try:
        try:
            yield tmp
        except OSError as exc:  # the disk is full, read-only or failing: nothing placed
            raise _unwritable(target, exc) from exc
        if not tmp.is_file() or tmp.stat().st_size == 0:
            raise OSError(f"nothing was written to {tmp}")
        try:
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            require_marker(target)
            os.replace(tmp, target)
            _fsync_dir(target.parent)
        except OSError as exc:
            raise _unwritable(target, exc) from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def atomic_write(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` all at once: readers see the old file or the new, never half."""
    with atomic_output(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    return Path(path)


def sweep_temp(folder: str | Path, *, name: str | None = None,
               older_than: float = STALE_AFTER_S, recursive: bool = False) -> int:
    """Remove temp files that crashed writers left; returns how many were removed.

    A temp file goes when its writer (named in it) was on this host and is gone, or when it
    has not changed for ``older_than`` seconds (writers on other hosts sharing the disk).
    ``name`` limits the sweep to the temps of one target.
    """
    folder = Path(folder)
    now = time.time()
    prefix = f".{name}." if name else "."
    removed = 0
    walker = os.walk(folder) if recursive else [(str(folder), [], None)]
    for dirpath, _dirs, _files in walker:
        try:
            entries = list(os.scandir(dirpath))
        except OSError:
            continue
        for entry in entries:
            if not (entry.name.startswith(prefix) and entry.name.endswith(TEMP_SUFFIX)):
                continue
            try:
                if _writer_dead(entry.name) or now - entry.stat().st_mtime > older_than:
                    os.unlink(entry.path)
                    removed += 1
            except OSError:
                continue
    return removed


# --- originals in library/: verified move or copy, +N on collision, never overwrite -----------

class PlaceAction(enum.StrEnum):
    MOVED = "moved"
    COPIED = "copied"
    ALREADY_PLACED = "already-placed"


@dataclasses.dataclass(frozen=True)
class Placement:
    """Where one file went (or, in a dry run, would go) and how; ``sidecar_*`` None when none."""

    source: Path
    target: Path
    action: PlaceAction
    sidecar_source: Path | None = None
    sidecar_target: Path | None = None


def file_sha1(path: str | Path) -> str:
    """The hex sha1 of a file's content, read in 1 MiB chunks."""
    h = hashlib.sha1()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def sidecar_target(media: Path) -> Path:
    """Where a media file's XMP sidecar lives beside it: ``IMG_1.jpg.xmp`` (Immich's choice)."""
    return media.with_name(media.name + ".xmp")


def _variant_name(target: Path) -> re.Pattern[str]:
    dot = target.name.rfind(".")
    stem, suffix = (target.name[:dot], target.name[dot:]) if dot > 0 else (target.name, "")
    return re.compile(re.escape(stem) + r"(\+[1-9][0-9]*)?" + re.escape(suffix))


def _same_content(a: Path, b: Path, b_sha1: str | None = None) -> bool:
    try:
        if os.path.samefile(a, b):
            return True
        if a.stat().st_size != b.stat().st_size:
            return False
        return file_sha1(a) == (b_sha1 or file_sha1(b))
    except FileNotFoundError:
        return False


def _numbered(target: Path, n: int) -> Path:
    from mediapipe.template import numbered

    return target.with_name(numbered(PurePosixPath(target.name), n).name)


def _choose_slot(source: Path, target: Path, sha1: str | None, sidecar: Path | None,
                 reserved: Collection[Path]) -> tuple[Path, bool]:
    """The first ``+N`` place that is free or already holds this file: ``(path, already)``.

    A place whose sidecar slot holds a different sidecar counts as taken; a source that already
    sits at one of the target's ``+N`` places (a migrate re-run) stays where it is.
    """
    if source.parent == target.parent and _variant_name(target).fullmatch(source.name):
        return source, True
    for n in itertools.count():
        cand = _numbered(target, n)
        if cand in reserved:
            continue
        if not cand.exists() and not cand.is_symlink():
            side = sidecar_target(cand)
            if sidecar is None or not side.exists() or _same_content(side, sidecar):
                return cand, False
        elif cand.is_file() and _same_content(cand, source, sha1):
            return cand, True
    raise AssertionError("unreachable")  # pragma: no cover


def _temp_beside(target: Path) -> Path:
    """A temp name beside ``target`` that the sweeper recognises and fits in 255 bytes."""
    tag = f"{_HOST}.{os.getpid()}.{secrets.token_hex(4)}"
    room = 255 - len(f"..{tag}{TEMP_SUFFIX}".encode())
    name = target.name.encode()[:room].decode("utf-8", "ignore")
    return target.with_name(f".{name}.{tag}{TEMP_SUFFIX}")


def _link_into(src: Path, dst: Path) -> None:
    """Give ``src`` the name ``dst`` and drop the old name; ``FileExistsError`` if ``dst`` is taken.

    A hard link cannot replace an existing file, so nothing is ever overwritten; filesystems
    without hard links fall back to a rename after an existence check.
    """
    try:
        os.link(src, dst)
    except FileExistsError:
        raise
    except OSError as exc:  # no hard links here (FAT, some network shares)
        if dst.exists() or dst.is_symlink():
            raise FileExistsError(errno.EEXIST, "exists", str(dst)) from exc
        os.rename(src, dst)
        return
    os.unlink(src)


def _copy_verified(source: Path, final: Path, sha1: str | None, verify: bool) -> None:
    """Copy into a temp beside ``final``, fsync, check size (and sha1), keep mtime, link it in."""
    st = source.stat()
    tmp = _temp_beside(final)
    try:
        with open(source, "rb") as src, open(tmp, "xb") as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
            dst.flush()
            os.fsync(dst.fileno())
        if tmp.stat().st_size != st.st_size:
            raise StorageOffline(final, f"copy of {source} has {tmp.stat().st_size} bytes, "
                                        f"the source {st.st_size}; nothing placed")
        if verify and file_sha1(tmp) != (sha1 or file_sha1(source)):
            raise StorageOffline(final, f"copy of {source} differs from it (sha1); nothing placed")
        os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
        require_marker(final)
        _link_into(tmp, final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _put(source: Path, final: Path, *, move: bool, sha1: str | None, verify: bool) -> bool:
    """Link (a move on one filesystem) or copy ``source`` to ``final``; True when linked."""
    if move and source.stat().st_dev == final.parent.stat().st_dev:
        require_marker(final)
        try:
            os.link(source, final)
            return True
        except FileExistsError:
            raise
        except OSError:
            pass  # a bind mount or a filesystem without hard links: copy instead
    _copy_verified(source, final, sha1, verify)
    return False


def place_file(source: str | Path, target: str | Path, *, inside: str | Path, move: bool,
               sha1: str | None = None, sidecar: str | Path | None = None, verify: bool = True,
               dry_run: bool = False, reserved: Collection[Path] = ()) -> Placement:
    """Put ``source`` at ``target`` (or its first free ``+N``) inside the folder ``inside``.

    Never overwrites, never leaves a half file, and is safe to repeat after a crash: a file
    already at one of its ``+N`` places (same sha1) counts as placed. On one filesystem a move
    is a hard link then an unlink; otherwise the bytes are copied to a temp file beside the
    target, fsynced, checked (size, and sha1 when ``verify``), given the source's mtime and
    linked in. The sidecar is placed first (as ``<target>.xmp``) and removed last, so a crash
    never separates them. ``reserved`` places count as taken (a dry run's earlier plans).
    ``StorageOffline`` (nothing written) when the marker is missing or ``target`` resolves
    outside ``inside``.
    """
    source, target, inside = Path(source), Path(target).absolute(), Path(inside).absolute()
    side_src = Path(sidecar) if sidecar else None
    require_marker(target)
    real_inside = os.path.realpath(inside)
    if not Path(os.path.realpath(target)).is_relative_to(real_inside):
        raise StorageOffline(target, f"resolves outside {inside}; refused")
    try:
        while True:
            final, already = _choose_slot(source, target, sha1, side_src, reserved)
            side_dst = sidecar_target(final) if side_src else None
            action = (PlaceAction.ALREADY_PLACED if already
                      else PlaceAction.MOVED if move else PlaceAction.COPIED)
            if dry_run:
                return Placement(source, final, action, side_src, side_dst)
            final.parent.mkdir(parents=True, exist_ok=True)
            if not Path(os.path.realpath(final.parent)).is_relative_to(real_inside):
                raise StorageOffline(final, f"resolves outside {inside}; refused")
            try:
                if side_src and side_dst and not side_dst.exists():
                    _put(side_src, side_dst, move=False, sha1=None, verify=verify)
                linked = not already and _put(source, final, move=move, sha1=sha1,
                                              verify=verify)
            except FileExistsError:
                continue  # another writer took this place a moment ago: look again
            break
        if move and not linked:
            # The copy's name must survive a power cut before the source goes. (A link and
            # the unlink after it are ordered by the filesystem's own journal.)
            _fsync_dir(final.parent)
        if move:
            if side_src and side_dst and _same_content(side_dst, side_src):
                _unlink_if_other(side_src, side_dst)
            _unlink_if_other(source, final)
    except OSError as exc:
        raise StorageOffline(target, f"cannot place {source}: {exc.strerror or exc}") from exc
    return Placement(source, final, action, side_src, side_dst)


def _unlink_if_other(source: Path, placed: Path) -> None:
    """Remove the source once its copy is in place (never the placed file itself)."""
    if source.absolute() == placed.absolute():
        return
    try:
        source.unlink()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise MediaError(source, f"placed at {placed} but the source could not be removed: "
                                 f"{exc.strerror}") from exc

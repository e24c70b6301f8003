"""Originals into ``library/<owner>/``: verified move or copy, ``+N`` on collision, no overwrite.

Owns: ``place_file`` (rename on the same filesystem; across filesystems copy to a temp file
beside the target, fsync, verify size and sha1, keep the mtime, link into place, then remove the
source when moving), the ``+1``, ``+2`` … names for taken places (a place already holding the
same bytes counts as placed), XMP sidecars travelling with their file, and ``file_sha1``. Every
write is checked against the ``.immich`` marker first (``storage.require_marker``). Does not own:
where a file should go (``template``) or which files to place (``importer``).
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
import stat
from collections.abc import Collection
from pathlib import Path, PurePosixPath

from mediapipe.errors import IntegrityError, MediaError, PathEscape, StorageOffline
from mediapipe.library import storage, temps

__all__ = ["PlaceAction", "Placement", "file_sha1", "place_file", "sidecar_target"]


class PlaceAction(enum.StrEnum):
    MOVED = "moved"
    COPIED = "copied"
    ALREADY_PLACED = "already-placed"


@dataclasses.dataclass(frozen=True)
class Placement:
    """Where one file went (or, in a dry run, would go) and how; ``sidecar_target`` None when
    it has no sidecar."""

    source: Path
    target: Path
    action: PlaceAction
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
    """Copy into a temp beside ``final``, fsync, check size (and sha1), keep mode and mtime, link
    it in."""
    st = source.stat()
    tmp = temps.temp_path_for(final)
    try:
        with open(source, "rb") as src, open(tmp, "xb") as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
            dst.flush()
            os.fsync(dst.fileno())
        if tmp.stat().st_size != st.st_size:
            raise IntegrityError(final, f"copy of {source} has {tmp.stat().st_size} bytes, "
                                        f"the source {st.st_size}; nothing placed")
        if verify and file_sha1(tmp) != (sha1 or file_sha1(source)):
            raise IntegrityError(final, f"copy of {source} differs from it (sha1); nothing placed")
        os.chmod(tmp, stat.S_IMODE(st.st_mode))  # the original's mode, not the umask's
        os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
        storage.require_marker(final)
        _link_into(tmp, final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _put(source: Path, final: Path, *, move: bool, sha1: str | None, verify: bool) -> bool:
    """Link (a move on one filesystem) or copy ``source`` to ``final``; True when linked."""
    if move and source.stat().st_dev == final.parent.stat().st_dev:
        storage.require_marker(final)
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
               dry_run: bool = False, reserved: Collection[Path] = (),
               modes: storage.Modes = storage.DEFAULT_MODES) -> Placement:
    """Put ``source`` at ``target`` (or its first free ``+N``) inside the folder ``inside``.

    Never overwrites, never leaves a half file, and is safe to repeat after a crash: a file
    already at one of its ``+N`` places (same sha1) counts as placed. On one filesystem a move
    is a hard link then an unlink; otherwise the bytes are copied to a temp file beside the
    target, fsynced, checked (size, and sha1 when ``verify``), given the source's mtime and
    linked in. The sidecar is placed first (as ``<target>.xmp``) and removed last, so a crash
    never separates them. ``reserved`` places count as taken (a dry run's earlier plans). The
    folders made for it get ``modes.folder``; the file keeps its own mode.
    Nothing is written when it raises ``StorageOffline`` (the marker is missing, the disk
    fails), ``PathEscape`` (``target`` resolves outside ``inside``) or ``IntegrityError`` (the
    copy differs from the source).
    """
    source, target, inside = Path(source), Path(target).absolute(), Path(inside).absolute()
    side_src = Path(sidecar) if sidecar else None
    storage.require_marker(target)
    real_inside = os.path.realpath(inside)
    if not storage.inside(os.path.realpath(target), real_inside):
        raise PathEscape(target, f"resolves outside {inside}; refused")
    try:
        while True:
            final, already = _choose_slot(source, target, sha1, side_src, reserved)
            side_dst = sidecar_target(final) if side_src else None
            action = (PlaceAction.ALREADY_PLACED if already
                      else PlaceAction.MOVED if move else PlaceAction.COPIED)
            if dry_run:
                return Placement(source, final, action, side_dst)
            storage.make_folders(final.parent, modes.folder)
            if not storage.inside(os.path.realpath(final.parent), real_inside):
                raise PathEscape(final, f"resolves outside {inside}; refused")
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
            storage.fsync_dir(final.parent)
        if move:
            if side_src and side_dst and _same_content(side_dst, side_src):
                _unlink_if_other(side_src, side_dst)
            _unlink_if_other(source, final)
    except OSError as exc:
        raise StorageOffline(target, f"cannot place {source}: {exc.strerror or exc}") from exc
    return Placement(source, final, action, side_dst)


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

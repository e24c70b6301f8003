"""Walking an external library: which files under a root are sources, streamed.

Owns: the walk of a library root with ``os.scandir`` (a generator: memory grows with the widest
folder and the number of folders, never with the number of files), the filters Immich applies to
external libraries (supported extensions, case-insensitive, from ``mediapipe.formats``; exclusion
globs such as ``**/@eaDir/**`` matched on the path relative to the root; hidden files and folders
skipped), a media root's own folders never entered (a folder holding an ``.immich`` marker is
``thumbs/``, ``library/``… of some media root: its files are outputs, not sources), the
symlink policy, XMP sidecar detection (the rule is ``formats.sidecar_among``'s), and
reporting folders it could not read. Does not own: what changed since the last scan
(``catalog.diff``), reading the files (the stages).

Symlinks are followed only when their target (resolved) stays inside the root. Symlinked folders
are walked after the whole real tree, and a folder already walked (same device and inode) is never
walked again: loops end, and a folder reachable by its real path is listed under that path only.

Paths are ``str`` as ``os.scandir`` gives them: bytes that are not valid UTF-8 arrive as
surrogate escapes (``os.fsencode`` turns them back into the exact bytes).

Entry points: ``LibraryScan`` (iterate it for ``SourceFile``s; read ``problems`` afterwards),
``compile_exclusions``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import stat
from collections.abc import Iterable, Iterator

from mediapipe import formats, sources
from mediapipe.errors import StorageOffline
from mediapipe.library.storage import MARKER, inside

__all__ = ["LibraryScan", "ScanProblem", "SourceFile", "compile_exclusions"]


@dataclasses.dataclass(frozen=True, slots=True)
class SourceFile:
    """One source file found by a scan. ``path`` is absolute (the root joined with the names)."""

    path: str
    size: int
    mtime_ns: int
    kind: formats.Kind
    sidecar: str | None = None  # ``photo.jpg.xmp`` (preferred) or ``photo.xmp`` beside it
    inode: int | None = None  # the file's identity at the scan (of a contained link's target)
    device: int | None = None
    ctime_ns: int | None = None  # changed by every write, replacement, cp -p or rsync
    fingerprint: bytes | None = None  # of its first and last 64 KiB, when the scan takes them


@dataclasses.dataclass(frozen=True, slots=True)
class ScanProblem:
    """A folder or file the scan had to skip, and why (it is not a reason to stop)."""

    path: str
    reason: str


_NEVER = re.compile(r"(?!)")
# Lower-cased extension -> kind, looked up once per name (the walk's hottest line).
_KIND_BY_EXT: dict[str, formats.Kind] = {
    ext: kind for ext in (*formats.MEDIA_EXTENSIONS, ".xmp")
    if (kind := formats.kind_of("x" + ext)) is not None}


def _glob_to_regex(pattern: str) -> str:
    """One glob as a regex body: ``**`` spans folders, ``*``/``?`` stay inside one name."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if pattern.startswith("**", i):
            at_start = i == 0 or pattern[i - 1] == "/"
            after = pattern[i + 2:i + 3]
            if at_start and after == "/":  # "**/" : zero or more whole folders
                out.append("(?:.*/)?")
                i += 3
                continue
            if at_start and after == "" and out and out[-1] == "/":  # trailing "/**"
                out[-1] = "(?:/.*)?"
                i += 2
                continue
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[" and (end := pattern.find("]", i + 2)) != -1:
            body = pattern[i + 1:end]
            if body[0] in "!^":
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = end + 1
        elif c == "{" and (end := pattern.find("}", i)) != -1:
            options = pattern[i + 1:end].split(",")
            out.append("(?:" + "|".join(_glob_to_regex(o) for o in options) + ")")
            i = end + 1
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


def compile_exclusions(patterns: Iterable[str]) -> re.Pattern[str]:
    """One regex for all globs; ``fullmatch`` it on a root-relative path (``a/@eaDir/x.jpg``).

    Syntax as Immich's (picomatch) globs: ``**`` any number of folders, ``*`` and ``?`` within a
    name, ``[abc]``/``[!abc]`` classes, ``{a,b}`` alternatives. A leading ``/`` is ignored (paths
    are relative to the library root). A folder matching a pattern is skipped with all it holds.
    """
    bodies = [_glob_to_regex(p.strip().lstrip("/")) for p in patterns if p.strip()]
    if not bodies:
        return _NEVER
    return re.compile("|".join(f"(?:{b})" for b in bodies), re.DOTALL)


class LibraryScan:
    """Iterate for every source file under ``root``; ``problems`` lists what was skipped and why.

    ``exclusions`` are globs (``cfg.library.exclusion_patterns``) or a compiled pattern;
    ``fingerprint`` reads each file's first and last 64 KiB too (``library.scan.fingerprint``).
    The root must be an existing folder, else ``StorageOffline`` is raised when iteration starts
    (an unmounted library must not look empty). Counters (``folders``, ``files``) are filled as the
    walk goes. Iterate once.
    """

    def __init__(self, root: str | os.PathLike[str],
                 exclusions: Iterable[str] | re.Pattern[str] = (), *,
                 fingerprint: bool = False) -> None:
        self.root = os.path.abspath(os.fspath(root))
        self.exclude = (exclusions if isinstance(exclusions, re.Pattern)
                        else compile_exclusions(exclusions))
        self.fingerprint = fingerprint
        self.problems: list[ScanProblem] = []
        self.folders = 0
        self.files = 0

    def __iter__(self) -> Iterator[SourceFile]:
        try:
            st = os.stat(self.root)
        except OSError as exc:
            raise StorageOffline(self.root, f"library root unreachable: {exc.strerror}") from exc
        if not stat.S_ISDIR(st.st_mode):
            raise StorageOffline(self.root, "library root is not a folder")
        real_root = os.path.realpath(self.root)
        seen: set[tuple[int, int]] = {(st.st_dev, st.st_ino)}
        stack: list[tuple[str, str]] = [(self.root, "")]
        linked: list[tuple[str, str]] = []  # symlinked folders, walked after the real tree
        while stack or linked:
            if not stack:
                path, rel = linked.pop()
                real = os.path.realpath(path)
                if not inside(real, real_root):
                    continue
                try:
                    dst = os.stat(path)
                except OSError:
                    continue  # broken or a loop the kernel refuses (ELOOP)
                key = (dst.st_dev, dst.st_ino)
                if key in seen:
                    continue
                seen.add(key)
                stack.append((path, rel))
            path, rel = stack.pop()
            yield from self._folder(path, rel, real_root, seen, stack, linked)

    def _folder(self, path: str, rel: str, real_root: str, seen: set[tuple[int, int]],
                stack: list[tuple[str, str]], linked: list[tuple[str, str]],
                ) -> Iterator[SourceFile]:
        prefix = rel + "/" if rel else ""
        media: list[tuple[os.DirEntry[str], formats.Kind]] = []
        sidecars: dict[str, str] = {}
        try:
            with os.scandir(path) as it:
                entries = list(it)
        except OSError as exc:
            self.problems.append(ScanProblem(path, f"cannot read folder: {exc.strerror}"))
            return
        if any(entry.name == MARKER for entry in entries):  # a media root's own folder
            return
        self.folders += 1
        exclude = self.exclude.fullmatch
        for entry in entries:
            name = entry.name
            if name[0] == ".":
                continue
            try:
                is_link = entry.is_symlink()
                is_dir = entry.is_dir()  # follows a symlink
            except OSError:
                continue
            if is_dir:
                if exclude(prefix + name):
                    continue
                if is_link:
                    linked.append((entry.path, prefix + name))
                    continue
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError as exc:
                    self.problems.append(ScanProblem(entry.path, f"cannot stat: {exc.strerror}"))
                    continue
                key = (st.st_dev, st.st_ino)
                if key not in seen:
                    seen.add(key)
                    stack.append((entry.path, prefix + name))
                continue
            dot = name.rfind(".")
            kind = _KIND_BY_EXT.get(name[dot:].lower()) if dot > 0 else None
            if kind is None or exclude(prefix + name):
                continue
            if is_link and not inside(os.path.realpath(entry.path), real_root):
                continue
            if kind is formats.Kind.SIDECAR:
                with contextlib.suppress(OSError):
                    if entry.is_file():  # a regular file (or a link to one), as on disk
                        sidecars[name] = entry.path
            else:
                media.append((entry, kind))
        for entry, kind in media:
            try:
                st = entry.stat()  # the target's size and mtime for a (contained) symlink
            except FileNotFoundError:
                continue  # deleted while we were walking: the next scan sees it missing
            except OSError as exc:
                self.problems.append(ScanProblem(entry.path, f"cannot stat: {exc.strerror}"))
                continue
            if not stat.S_ISREG(st.st_mode):
                continue
            try:
                fingerprint = (sources.fingerprint(entry.path, st.st_size) if self.fingerprint
                               else None)
            except OSError as exc:
                self.problems.append(ScanProblem(entry.path, f"cannot read: {exc.strerror}"))
                continue
            side = formats.sidecar_among(entry.name, sidecars) if sidecars else None
            self.files += 1
            yield SourceFile(entry.path, st.st_size, st.st_mtime_ns, kind,
                             sidecars[side] if side else None, st.st_ino, st.st_dev,
                             st.st_ctime_ns, fingerprint)

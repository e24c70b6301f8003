"""Immich storage templates: compile once, render one asset's path inside ``library/<owner>/``.

Owns: every Immich variable and date token (rendered in the asset's local time), sanitising
each value, legalising each path component (illegal and control characters, trailing dots and
spaces, Windows reserved names, 255 bytes cut on a UTF-8 boundary) and refusing any path that
would leave the owner's folder. Does not own: the ``{{…}}`` syntax (``template_syntax``), reading
metadata (``metadata``) or putting files there (``library.placement``, ``library.imports``).

Entry points: ``render_path(template, ctx)``, ``compile_template(template)`` (cached; what the
config check calls), ``TemplateContext``, ``TemplateError``, ``numbered(path, n)`` (``+N``).

Where Immich would write a hidden or empty name (a filename that sanitises to nothing, a template
ending in ``/``), the asset id stands in for the file name.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import PurePosixPath
from typing import Literal

from mediapipe.formats import canonical_extension
from mediapipe.template_syntax import Nodes, TemplateError, fill, parse

__all__ = [
    "DATE_TOKENS",
    "VARIABLES",
    "CompiledTemplate",
    "TemplateContext",
    "TemplateError",
    "compile_template",
    "legal_component",
    "numbered",
    "render_path",
]

MAX_COMPONENT_BYTES = 255

DATE_TOKENS = ("y", "yy", "M", "MM", "MMM", "MMMM", "W", "WW", "d", "dd", "h", "hh", "H", "HH",
               "m", "mm", "s", "ss", "SSS")
_PLAIN = ("filename", "ext", "filetype", "filetypefull", "assetId", "assetIdShort", "album",
          "make", "model", "lensModel")
VARIABLES = frozenset(
    _PLAIN + DATE_TOKENS
    + tuple(f"album-startDate-{t}" for t in DATE_TOKENS)
    + tuple(f"album-endDate-{t}" for t in DATE_TOKENS))

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")
# Lone surrogates are bytes of a file name that were not UTF-8 (``os.fsdecode``): they cannot
# be written as UTF-8, so they go like any other illegal character.
_ILLEGAL = re.compile(r'[/\\:*?"<>|\x00-\x1f\x7f-\x9f\ud800-\udfff]')
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class TemplateContext:
    """What a template can use about one asset. ``filename`` is the original name, with extension.

    ``taken_at`` should be aware (its offset is the asset's local time); a naive one is taken as
    local wall time already.
    """

    filename: str
    taken_at: datetime
    asset_id: str
    kind: Literal["image", "video"]
    album: str | None = None
    album_start: datetime | None = None
    album_end: datetime | None = None
    make: str | None = None
    model: str | None = None
    lens_model: str | None = None


def _date_token(token: str, dt: datetime) -> str:
    """One Luxon format token, as Immich renders it (English month names)."""
    h12 = dt.hour % 12 or 12
    table: dict[str, Callable[[], str]] = {
        "y": lambda: str(dt.year), "yy": lambda: f"{dt.year % 100:02d}",
        "M": lambda: str(dt.month), "MM": lambda: f"{dt.month:02d}",
        "MMM": lambda: _MONTHS[dt.month - 1][:3], "MMMM": lambda: _MONTHS[dt.month - 1],
        "W": lambda: str(dt.isocalendar().week), "WW": lambda: f"{dt.isocalendar().week:02d}",
        "d": lambda: str(dt.day), "dd": lambda: f"{dt.day:02d}",
        "h": lambda: str(h12), "hh": lambda: f"{h12:02d}",
        "H": lambda: str(dt.hour), "HH": lambda: f"{dt.hour:02d}",
        "m": lambda: str(dt.minute), "mm": lambda: f"{dt.minute:02d}",
        "s": lambda: str(dt.second), "ss": lambda: f"{dt.second:02d}",
        "SSS": lambda: f"{dt.microsecond // 1000:03d}",
    }
    return table[token]()


def split_name(filename: str) -> tuple[str, str]:
    """``(stem, normalised extension)``: ``IMG_1.JPEG`` → ``("IMG_1", "jpg")``."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    dot = name.rfind(".")
    if dot <= 0 or dot == len(name) - 1:
        return name, ""
    return name[:dot], canonical_extension(PurePosixPath("f" + name[dot:]))


def _cut_utf8(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` of UTF-8, never inside a character."""
    return text.encode("utf-8")[:max(max_bytes, 0)].decode("utf-8", "ignore")


def _sanitise(value: str | None) -> str:
    """A value made safe to sit inside one component: no separators, controls or dot names."""
    text = _ILLEGAL.sub("", value or "").strip(" ").rstrip(". ")
    return "" if set(text) <= {"."} else _cut_utf8(text, MAX_COMPONENT_BYTES)


def legal_component(text: str, max_bytes: int = MAX_COMPONENT_BYTES) -> str:
    """One path component as it may be written: legal on Linux, macOS and Windows, never hidden.

    Removes illegal and control characters, leading dots, leading/trailing spaces and trailing
    dots; prefixes Windows reserved names (``CON`` → ``_CON``); cuts to ``max_bytes`` of UTF-8.
    """
    text = _ILLEGAL.sub("", text).strip(" ").lstrip(".").rstrip(". ")
    if _RESERVED.match(text):
        text = "_" + text
    return _cut_utf8(text, max_bytes).rstrip(". ")


def _lookup(ctx: TemplateContext, stem: str, ext: str) -> Callable[[str], str]:
    """A lookup from variable name to its sanitised (not yet escaped) value."""
    local = ctx.taken_at

    def value(name: str) -> str:
        if name in DATE_TOKENS:
            return _date_token(name, local)
        if name.startswith("album-"):
            when = ctx.album_start if name.startswith("album-startDate-") else ctx.album_end
            if not ctx.album or when is None:
                return ""
            return _date_token(name.rsplit("-", 1)[1], when)
        plain = {
            "filename": stem, "ext": ext,
            "filetype": "IMG" if ctx.kind == "image" else "VID",
            "filetypefull": "IMAGE" if ctx.kind == "image" else "VIDEO",
            "assetId": ctx.asset_id, "assetIdShort": ctx.asset_id[-12:],
            "album": (ctx.album or "").replace(".", ""),
            "make": ctx.make, "model": ctx.model, "lensModel": ctx.lens_model,
        }[name]
        return _sanitise(plain)

    return value


@dataclasses.dataclass(frozen=True)
class CompiledTemplate:
    """A parsed template; ``render(ctx)`` gives the path relative to ``library/<owner>/``."""

    source: str
    nodes: Nodes

    def render(self, ctx: TemplateContext) -> PurePosixPath:
        stem, ext = split_name(ctx.filename)
        lookup = _lookup(ctx, _sanitise(stem), ext)
        text = fill(self.nodes, functools.cache(lookup))
        return _legalise(text, ext, ctx.asset_id)


def _legalise(text: str, ext: str, asset_id: str) -> PurePosixPath:
    """Rendered text to a relative path whose every component is legal and stays inside."""
    raw = text.split("/")
    for part in raw:
        if _ILLEGAL.sub("", part).strip(" ") == "..":
            raise TemplateError("..", "a template may not climb out of the owner's folder")
    folders = [c for c in (legal_component(p) for p in raw[:-1]) if c]
    suffix = f".{ext}" if ext else ""
    stem = legal_component(raw[-1], MAX_COMPONENT_BYTES - len(suffix.encode()))
    if not stem:
        stem = legal_component(asset_id, MAX_COMPONENT_BYTES - len(suffix.encode()))
    path = PurePosixPath(*folders, stem + suffix)
    if path.is_absolute() or any(p in ("", ".", "..") for p in path.parts):
        raise TemplateError(str(path), "not a path inside the owner's folder")  # pragma: no cover
    return path


def numbered(path: PurePosixPath, n: int) -> PurePosixPath:
    """The ``+N`` variant of a rendered path (``a.jpg`` → ``a+2.jpg``); ``n == 0`` is the path."""
    if n == 0:
        return path
    name = path.name
    dot = name.rfind(".")
    stem, suffix = (name[:dot], name[dot:]) if dot > 0 else (name, "")
    tag = f"+{n}"
    stem = _cut_utf8(stem, MAX_COMPONENT_BYTES - len((tag + suffix).encode()))
    return path.with_name(stem + tag + suffix)


_PROBE_DATE = datetime(2024, 3, 9, 7, 5, 3)


@functools.lru_cache(maxsize=64)
def compile_template(template: str) -> CompiledTemplate:
    """Parse and check ``template`` once (cached); ``TemplateError`` names the offending token."""
    if not template.strip():
        raise TemplateError(template, "the template is empty")
    if template.lstrip().startswith(("/", "\\")) or re.match(r"^[A-Za-z]:[\\/]", template):
        raise TemplateError(template[:20], "must be relative to the owner's folder, not absolute")
    compiled = CompiledTemplate(template, parse(template, VARIABLES))
    for filled in (True, False):  # both sides of every {{#if}}: catches a literal '..' early
        v = "x" if filled else None
        compiled.render(TemplateContext(
            "x.jpg", _PROBE_DATE, "00000000-0000-0000-0000-000000000000", "image", album=v,
            album_start=_PROBE_DATE if filled else None, album_end=_PROBE_DATE if filled else None,
            make=v, model=v, lens_model=v))
    return compiled


def render_path(template: str, ctx: TemplateContext) -> PurePosixPath:
    """The path of ``ctx``'s asset relative to ``library/<owner>/``, extension included."""
    return compile_template(template).render(ctx)

"""Which files mediapipe handles, and as what.

Owns: the supported extensions (Immich's list), their kind (image, video, sidecar, raw: camera
sensor data, which libraw decodes; a PSD is an image with a composite, not a RAW) and MIME type,
the canonical spelling of an extension, and the one rule for which XMP sidecar belongs to a
media file (``sidecar_names``; ``find_sidecar`` on disk, ``sidecar_among`` in a listing); the
kinds of file derived from an asset (``Derived``: Immich's top folder and name suffix of each,
which the stages name their outputs by and ``library.storage`` makes paths of). Does not own:
sniffing content (the metadata stage decides whether the bytes match the name).
"""

from __future__ import annotations

import enum
import os
from collections.abc import Container
from pathlib import Path, PurePath

__all__ = ["Derived", "Kind", "canonical_extension", "find_sidecar", "is_raw", "kind_of",
           "mime_type", "sidecar_among", "sidecar_names", "supported"]


class Kind(enum.StrEnum):
    IMAGE = "image"
    VIDEO = "video"
    SIDECAR = "sidecar"


class Derived(enum.Enum):
    """The files mediapipe derives from an asset: (top folder, name suffix), Immich's names
    (``StorageCore.getImagePath``, ``getEncodedVideoPath``, the motion part's ``-MP``)."""

    PREVIEW = ("thumbs", "-preview")
    THUMBNAIL = ("thumbs", "-thumbnail")
    FULLSIZE = ("thumbs", "-fullsize")
    ENCODED_VIDEO = ("encoded-video", "")
    MOTION_PART = ("encoded-video", "-MP")


_RAW = {
    ".3fr": "image/x-hasselblad-3fr", ".ari": "image/x-arriflex-ari", ".arw": "image/x-sony-arw",
    ".cap": "image/x-phaseone-cap", ".cin": "image/x-phantom-cin", ".cr2": "image/x-canon-cr2",
    ".cr3": "image/x-canon-cr3", ".crw": "image/x-canon-crw", ".dcr": "image/x-kodak-dcr",
    ".dng": "image/x-adobe-dng", ".erf": "image/x-epson-erf", ".fff": "image/x-hasselblad-fff",
    ".iiq": "image/x-phaseone-iiq", ".k25": "image/x-kodak-k25", ".kdc": "image/x-kodak-kdc",
    ".mrw": "image/x-minolta-mrw", ".nef": "image/x-nikon-nef", ".nrw": "image/x-nikon-nrw",
    ".orf": "image/x-olympus-orf", ".ori": "image/x-olympus-ori", ".pef": "image/x-pentax-pef",
    ".raf": "image/x-fuji-raf",
    ".raw": "image/x-panasonic-raw",
    ".rw2": "image/x-panasonic-rw2", ".rwl": "image/x-leica-rwl", ".sr2": "image/x-sony-sr2",
    ".srf": "image/x-sony-srf", ".srw": "image/x-samsung-srw", ".x3f": "image/x-sigma-x3f",
}
_IMAGE = {
    ".avif": "image/avif", ".bmp": "image/bmp", ".gif": "image/gif", ".heic": "image/heic",
    ".heif": "image/heif", ".hif": "image/heif", ".insp": "image/jpeg", ".jp2": "image/jp2",
    ".jpe": "image/jpeg", ".jpeg": "image/jpeg", ".jpg": "image/jpeg", ".jxl": "image/jxl",
    ".png": "image/png", ".psd": "image/vnd.adobe.photoshop", ".svg": "image/svg+xml",
    ".tif": "image/tiff", ".tiff": "image/tiff",
    ".webp": "image/webp",
    **_RAW,
}
_VIDEO = {
    ".3gp": "video/3gpp", ".3gpp": "video/3gpp", ".avi": "video/x-msvideo", ".flv": "video/x-flv",
    ".insv": "video/mp4", ".m2t": "video/mp2t", ".m2ts": "video/mp2t", ".m4v": "video/x-m4v",
    ".mkv": "video/x-matroska", ".mov": "video/quicktime", ".mp4": "video/mp4",
    ".mpe": "video/mpeg", ".mpeg": "video/mpeg", ".mpg": "video/mpeg", ".mts": "video/mp2t",
    ".vob": "video/mpeg", ".webm": "video/webm", ".wmv": "video/x-ms-wmv",
}
_SIDECAR = {".xmp": "application/xml"}

_KINDS: dict[str, Kind] = {
    **dict.fromkeys(_IMAGE, Kind.IMAGE),
    **dict.fromkeys(_VIDEO, Kind.VIDEO),
    **dict.fromkeys(_SIDECAR, Kind.SIDECAR),
}
_MIME = {**_IMAGE, **_VIDEO, **_SIDECAR}

# Spellings that name the same format, as Immich's storage template normalises them.
_CANONICAL = {
    ".jpeg": ".jpg", ".jpe": ".jpg", ".tif": ".tiff", ".3gpp": ".3gp", ".mpeg": ".mpg",
    ".mpe": ".mpg", ".m2ts": ".mts", ".m2t": ".mts",
}

RAW_EXTENSIONS = frozenset(_RAW)
MEDIA_EXTENSIONS = frozenset(_IMAGE) | frozenset(_VIDEO)


def _ext(path: str | PurePath) -> str:
    name = path.name if isinstance(path, PurePath) else str(path).rsplit("/", 1)[-1]
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


def kind_of(path: str | PurePath) -> Kind | None:
    """The kind a file is by its extension (case-insensitive), or None when unsupported."""
    return _KINDS.get(_ext(path))


def supported(path: str | PurePath) -> bool:
    """True for images and videos mediapipe processes (sidecars travel with their media)."""
    return _ext(path) in MEDIA_EXTENSIONS


def is_raw(path: str | PurePath) -> bool:
    return _ext(path) in RAW_EXTENSIONS


def mime_type(path: str | PurePath) -> str:
    return _MIME.get(_ext(path), "application/octet-stream")


def canonical_extension(path: str | PurePath) -> str:
    """The lower-cased extension without its dot, normalised (``JPEG`` → ``jpg``)."""
    ext = _ext(path)
    return _CANONICAL.get(ext, ext).lstrip(".")


# The spellings of a sidecar's extension that are looked for, in this order.
SIDECAR_SUFFIXES = (".xmp", ".XMP")


def sidecar_names(media_name: str) -> tuple[str, ...]:
    """The names an XMP sidecar of ``media_name`` may have, the one to use first.

    Immich's order: ``IMG.jpg.xmp`` before ``IMG.xmp``; the extension written ``.xmp`` or
    ``.XMP``; the media name itself matched exactly (on a case-sensitive disk ``img.JPG.xmp``
    belongs to ``img.JPG`` only). A name without an extension has just ``IMG.xmp``.
    """
    dot = media_name.rfind(".")
    bases = (media_name, media_name[:dot]) if dot > 0 else (media_name,)
    names = (base + suffix for base in bases for suffix in SIDECAR_SUFFIXES)
    return tuple(n for n in dict.fromkeys(names) if n != media_name)


def find_sidecar(media: Path) -> Path | None:
    """The XMP sidecar beside ``media`` by ``sidecar_names``: the first that is a regular file.

    ``os.path.isfile`` (which follows a link to its target), not ``Path.is_file``: beside a
    255-byte name ``IMG.jpg.xmp`` is too long to exist, and ``Path.is_file`` raises
    ENAMETOOLONG where this answers False.
    """
    for name in sidecar_names(media.name):
        candidate = media.with_name(name)
        if os.path.isfile(candidate):
            return candidate
    return None


def sidecar_among(media_name: str, names: Container[str]) -> str | None:
    """The first of ``sidecar_names(media_name)`` in ``names`` (the sidecars of a folder listing
    already known to be regular files), or None."""
    return next((n for n in sidecar_names(media_name) if n in names), None)

"""IPTC-IIM records (Photoshop's IPTC-NAA resource) to tags named as exiftool names them.

Owns: listing Photoshop image resources (a JPEG's APP13 ``Photoshop 3.0`` segment) and finding
the IPTC resource (``0x0404``) among them (a TIFF's is its tag 33723), walking its datasets with
bounds checks, the character set (UTF-8 when record 1 says ``ESC % G``, else Latin-1, as exiftool
assumes) and the tags the metadata rules use (``tags.VOCABULARY``'s IPTC places):
``DateTimeCreated`` (exiftool's composite of DateCreated, TimeCreated and its offset),
``Caption-Abstract``, ``Keywords``; ``ExiftoolOnly`` names a date and time it could not join
(exiftool's composite may still read them). Does not own: finding the segment in a file
(``blocks``) or precedence (``read``). Malformed input never raises: it becomes a warning.

Entry points: ``photoshop_resources(data) -> (resources, whole)`` (the IPTC block is
``resources.get(IPTC_RESOURCE)``), ``read_iptc(data) -> (tags, warnings)``.
"""

from __future__ import annotations

import re
import struct

from mediapipe.metadata.tags import LISTS, iptc_table

__all__ = ["IPTC_RESOURCE", "photoshop_resources", "read_iptc"]

IPTC_RESOURCE = 0x0404  # the IPTC-NAA block among Photoshop resources
_UTF8 = b"\x1b%G"
# (record, dataset) -> exiftool's tag name, or the part of one (``tags.VOCABULARY``).
_NAMES = iptc_table()
_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_TIME = re.compile(r"^(\d{2})(\d{2})(\d{2})([+-]\d{2})?(\d{2})?$")

Value = str | tuple[str, ...]


def photoshop_resources(data: bytes) -> tuple[dict[int, bytes], bool]:
    """Photoshop image resources (``8BIM`` records) by id, the first of each, and whether
    they are whole: the records run to the end of ``data``, none cut short."""
    found: dict[int, bytes] = {}
    pos = 0
    while pos + 12 <= len(data) and data[pos:pos + 4] == b"8BIM":
        (rid,) = struct.unpack_from(">H", data, pos + 4)
        name_len = data[pos + 6]
        pos += 6 + ((name_len + 2) & ~1)  # Pascal name padded to an even length
        if pos + 4 > len(data):
            return found, False
        (size,) = struct.unpack_from(">I", data, pos)
        pos += 4
        found.setdefault(rid, data[pos:pos + size])
        pos += size + (size & 1)
    return found, pos >= len(data)


def read_iptc(data: bytes) -> tuple[dict[str, Value], list[str]]:
    """Tags of one IPTC-IIM block (see the module docstring)."""
    raw: dict[str, list[bytes]] = {}
    warnings: list[str] = []
    utf8 = False
    pos = 0
    while pos + 5 <= len(data):
        if data[pos] != 0x1C:
            warnings.append(f"IPTC: no tag marker at {pos}; rest ignored")
            break
        record, dataset = data[pos + 1], data[pos + 2]
        (size,) = struct.unpack_from(">H", data, pos + 3)
        pos += 5
        if size & 0x8000:  # extended length: the next (size & 0x7FFF) bytes hold it
            n = size & 0x7FFF
            size = int.from_bytes(data[pos:pos + n], "big") if 0 < n <= 4 else -1
            pos += n
        if size < 0 or pos + size > len(data):
            warnings.append(f"IPTC: dataset {record}:{dataset} runs past the block")
            break
        value = data[pos:pos + size]
        pos += size
        if (record, dataset) == (1, 90):
            utf8 = value == _UTF8
        elif (name := _NAMES.get((record, dataset))) is not None:
            raw.setdefault(name, []).append(value)
    return _typed(raw, "utf-8" if utf8 else "latin-1"), warnings


def _typed(raw: dict[str, list[bytes]], charset: str) -> dict[str, Value]:
    texts = {k: [v.decode(charset, "replace").strip("\0 ") for v in vs] for k, vs in raw.items()}
    tags: dict[str, Value] = {}
    for name, values in texts.items():
        values = [v for v in values if v]
        if values:
            tags[name] = tuple(values) if name in LISTS else values[0]
    date, time = tags.pop("DateCreated", None), tags.pop("TimeCreated", None)
    joined = _date_time(date, time)
    if joined:
        tags["DateTimeCreated"] = joined
    elif date is not None and time is not None:
        tags["ExiftoolOnly"] = ("DateTimeCreated",)
    return tags


def _date_time(date: object, time: object) -> str | None:
    """``20230601`` + ``143015+0200`` as exiftool's ``2023:06:01 14:30:15+02:00``; None without
    a date or a time (a date alone is no moment)."""
    d = _DATE.match(date) if isinstance(date, str) else None
    t = _TIME.match(time) if isinstance(time, str) else None
    if d is None or t is None:
        return None
    zone = f"{t[4]}:{t[5] or '00'}" if t[4] else ""
    return f"{d[1]}:{d[2]}:{d[3]} {t[1]}:{t[2]}:{t[3]}{zone}"

"""EXIF blocks (TIFF structure) to tag values named as exiftool names them.

Owns: walking IFD0, the Exif and GPS sub-IFDs and the maker notes of Apple, Panasonic and
Olympus inside one EXIF byte block, with bounds checks (an entry that points outside the block
is dropped with a warning, an IFD is never visited twice, entry counts are capped), and decoding
the tags the metadata rules use (the EXIF places ``tags.VOCABULARY`` names, no other) into
plain values (``"DateTimeOriginal": "2023:06:01 14:30:15"``, ``"GPSLatitude": -33.85``), and
naming under ``ExiftoolOnly`` what the block holds that may carry a date only exiftool reads: a
maker note, XMP, Photoshop resources or SubIFDs inside it, a date in IFD0 or not stored as text,
a GPS date and time not joined. Does not own: finding the block in a file (``blocks``), or
deciding which tag wins (``metadata``). Malformed input never raises: what cannot be read
becomes a warning.

Entry point: ``read_exif(data) -> tuple[dict[str, object], list[str]]``.
"""

from __future__ import annotations

import struct

from mediapipe.metadata.tags import exif_table

__all__ = ["read_exif"]

_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
_FMT = {1: "B", 3: "H", 4: "I", 6: "b", 8: "h", 9: "i", 11: "f", 12: "d", 13: "I"}
_MAX_ENTRIES = 1000

# IFD0 tags exiftool reads a date from that ours do not: blocks inside the EXIF, and dates
# some writers put in IFD0 rather than the Exif IFD.
_IFD0_EXIFTOOL_ONLY = {0x02BC: "IFD0:XMP", 0x8649: "IFD0:Photoshop", 0x014A: "IFD0:SubIFDs",
                       0x9003: "IFD0:DateTimeOriginal", 0x9004: "IFD0:CreateDate"}
# The tags the rules read (``tags.VOCABULARY``), and the structure they are found through: the
# file's IPTC (a TIFF's), the maker note, Olympus's Equipment directory.
_IFD0 = {**exif_table("IFD0"), 0x83BB: "IPTC-NAA", **_IFD0_EXIFTOOL_ONLY}
_NOTED = frozenset(_IFD0_EXIFTOOL_ONLY.values())
_EXIF = {**exif_table("ExifIFD"), 0x927C: "MakerNote"}
_GPS = exif_table("GPS")
_APPLE = exif_table("Apple")
_PANASONIC = exif_table("Panasonic")
_OLYMPUS = {0x2010: "Equipment"}
_OLYMPUS_EQUIPMENT = exif_table("OlympusEquipment")

Value = str | int | float | bytes | tuple[float | int | None, ...] | tuple[str, ...] | None


class _Block:
    """One TIFF-structured byte block; offsets are relative to its start."""

    def __init__(self, data: bytes, endian: str, warnings: list[str], what: str) -> None:
        self.data = data
        self.e = endian
        self.warnings = warnings
        self.what = what
        self.seen: set[int] = set()
        self.makernote_at = -1

    def ifd(self, offset: int, names: dict[int, str]) -> tuple[dict[str, Value], int]:
        """Decode the named tags of the IFD at ``offset``; returns them and the next IFD offset."""
        data: bytes = self.data
        out: dict[str, Value] = {}
        if offset in self.seen or offset < 0 or offset + 2 > len(data):
            if offset not in self.seen:
                self.warnings.append(f"{self.what}: IFD offset {offset} outside the block")
            return {}, 0
        self.seen.add(offset)
        (count,) = struct.unpack_from(self.e + "H", data, offset)
        fits = (len(data) - offset - 2) // 12
        if count > min(fits, _MAX_ENTRIES):
            self.warnings.append(f"{self.what}: IFD at {offset} claims {count} entries; "
                                 f"read {min(fits, _MAX_ENTRIES)}")
            count = min(fits, _MAX_ENTRIES)
        for i in range(count):
            pos = offset + 2 + 12 * i
            tag, typ, n = struct.unpack_from(self.e + "HHI", data, pos)
            name = names.get(tag)
            if name is None and tag not in (0x8769, 0x8825):
                continue
            if name in _NOTED:  # only that it is there matters: not decoded
                out[name] = True
                continue
            value = self._value(typ, n, pos + 8, tag)
            out[name or str(tag)] = value
        nxt_pos = offset + 2 + 12 * count
        nxt = struct.unpack_from(self.e + "I", data, nxt_pos)[0] if nxt_pos + 4 <= len(data) else 0
        return out, nxt

    def _value(self, typ: int, n: int, pos: int, tag: int) -> Value:
        size = _SIZES.get(typ)
        if size is None:
            self.warnings.append(f"{self.what}: tag 0x{tag:04x} has unknown type {typ}")
            return None
        length = size * n
        if length > 4:
            (pos,) = struct.unpack_from(self.e + "I", self.data, pos)
        if pos + length > len(self.data):
            self.warnings.append(f"{self.what}: tag 0x{tag:04x} points outside the block")
            return None
        raw = self.data[pos:pos + length]
        if tag == 0x927C:
            self.makernote_at = pos
        if typ == 2:
            return raw.split(b"\0", 1)[0].decode("utf-8", "replace").strip()
        if typ == 7 or (typ == 1 and tag == 0x9C9E) or tag == 0x83BB:
            return bytes(raw)
        if typ in (5, 10):
            nums = struct.unpack(self.e + ("I" if typ == 5 else "i") * (2 * n), raw)
            vals = tuple(nums[i] / nums[i + 1] if nums[i + 1] else None
                         for i in range(0, 2 * n, 2))
            return vals[0] if n == 1 else vals
        ints = struct.unpack(self.e + _FMT[typ] * n, raw)
        return ints[0] if n == 1 else ints


def _open(data: bytes, start: int, warnings: list[str], what: str) -> _Block | None:
    order = data[start:start + 2]
    endian = {b"II": "<", b"MM": ">"}.get(order)
    if endian is None:
        warnings.append(f"{what}: no TIFF byte-order mark")
        return None
    return _Block(data, endian, warnings, what)


def read_exif(data: bytes) -> tuple[dict[str, Value], list[str]]:
    """Tags of an EXIF block (TIFF header first; a leading ``Exif\\0\\0`` is skipped)."""
    warnings: list[str] = []
    if data[:6] == b"Exif\0\0":
        data = data[6:]
    block = _open(data, 0, warnings, "EXIF")
    if block is None or len(data) < 8:
        return {}, warnings or ["EXIF: block too short"]
    try:
        tags = _walk(block)
    except struct.error as exc:  # a read past the end the bounds checks did not foresee
        warnings.append(f"EXIF: {exc}")
        tags = {}
    return tags, warnings


def _walk(block: _Block) -> dict[str, Value]:
    (first,) = struct.unpack_from(block.e + "I", block.data, 4)
    tags, _ = block.ifd(first, _IFD0)
    unread = [name for name in _IFD0_EXIFTOOL_ONLY.values() if tags.pop(name, None) is not None]
    exif_at, gps_at = tags.pop("34665", None), tags.pop("34853", None)
    if isinstance(exif_at, int):
        sub, _ = block.ifd(exif_at, _EXIF)
        sub.pop("34665", None)
        sub.pop("34853", None)
        tags.update(sub)
    if isinstance(gps_at, int):
        gps, _ = block.ifd(gps_at, _GPS)
        tags.update(_gps(gps, block.warnings))
        if "GPSDateTime" not in tags and gps.get("GPSTimeStamp") and gps.get("GPSDateStamp"):
            unread.append("GPSDateTime")  # exiftool's composite may still join them
    unread += [name for name in ("DateTimeOriginal", "CreateDate")
               if tags.get(name) is not None and not isinstance(tags[name], str)]
    note = tags.pop("MakerNote", None)
    if isinstance(note, bytes | str | tuple) and note:  # any type: exiftool reads them all
        unread.append("MakerNote")  # what only exiftool reads may be in there (dates)
    if isinstance(note, bytes):
        tags.update(_maker_note(note, block))
    keywords = tags.pop("XPKeywords", None)
    if isinstance(keywords, bytes | tuple):
        raw = bytes(keywords) if isinstance(keywords, bytes) else bytes(int(b or 0)
                                                                       for b in keywords)
        text = raw.decode("utf-16-le", "replace").rstrip("\0")
        tags["XPKeywords"] = tuple(k.strip() for k in text.split(";") if k.strip())
    for key in ("ISO", "Orientation", "ColorSpace", "Rating", "BitsPerSample"):
        if isinstance(value := tags.get(key), tuple):
            tags[key] = value[0]
    if unread:
        tags["ExiftoolOnly"] = tuple(unread)
    return tags


def _maker_note(note: bytes, parent: _Block) -> dict[str, Value]:
    """The few maker-note tags we use: Apple's ContentIdentifier (the live-photo id), and the
    lens names Panasonic and Olympus keep only there."""
    if note.startswith(b"Apple iOS\0"):  # version, byte order, IFD at 14; offsets from note
        block = _open(note, 12, parent.warnings, "Apple maker note")
        tags = block.ifd(14, _APPLE)[0] if block else {}
    elif note.startswith(b"Panasonic\0\0\0") and parent.makernote_at >= 0:
        # IFD right after the header; offsets count from the EXIF block's TIFF header
        block = _Block(parent.data, parent.e, parent.warnings, "Panasonic maker note")
        tags = block.ifd(parent.makernote_at + 12, _PANASONIC)[0]
    elif note.startswith(b"OLYMPUS\0"):  # byte order at 8, IFD at 12; offsets from note
        block = _open(note, 8, parent.warnings, "Olympus maker note")
        equipment = block.ifd(12, _OLYMPUS)[0].get("Equipment") if block else None
        tags = block.ifd(equipment, _OLYMPUS_EQUIPMENT)[0] \
            if block and isinstance(equipment, int) else {}
    else:
        return {}
    return {k: v for k, v in tags.items() if not k.isdigit()}


def _dms(value: Value) -> float | None:
    if isinstance(value, float):
        return value
    if isinstance(value, tuple) and value:
        parts = [v for v in value if isinstance(v, float)]
        if len(parts) == len(value):  # degrees, minutes, seconds: all rationals
            deg, minutes, seconds = [*parts, 0.0, 0.0][:3]
            return deg + minutes / 60 + seconds / 3600
    return None


def _gps(gps: dict[str, Value], warnings: list[str]) -> dict[str, Value]:
    out: dict[str, Value] = {}
    for axis, neg, limit in (("Latitude", "S", 90.0), ("Longitude", "W", 180.0)):
        deg = _dms(gps.get(f"GPS{axis}"))
        if deg is None:
            continue
        if not 0 <= deg <= limit:
            warnings.append(f"EXIF: GPS{axis} {deg} out of range, ignored")
            continue
        ref = gps.get(f"GPS{axis}Ref")
        out[f"GPS{axis}"] = -deg if isinstance(ref, str) and ref.upper().startswith(neg) else deg
    alt = gps.get("GPSAltitude")
    if isinstance(alt, float):
        out["GPSAltitude"] = -alt if gps.get("GPSAltitudeRef") in (1, b"\x01") else alt
    stamp, day = gps.get("GPSTimeStamp"), gps.get("GPSDateStamp")
    if isinstance(stamp, tuple) and len(stamp) == 3 and isinstance(day, str) and \
            all(isinstance(v, float) for v in stamp):
        h, m, s = (float(v) for v in stamp)  # type: ignore[arg-type]
        out["GPSDateTime"] = f"{day} {int(h):02d}:{int(m):02d}:{s:06.3f}Z"
    return out

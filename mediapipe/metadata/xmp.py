"""XMP packets (embedded or a sidecar file) to tag values named as exiftool names them.

Owns: parsing one XMP packet (RDF/XML; properties as attributes or elements, Bag/Seq/Alt as
lists) and naming the properties the metadata rules use (``tags.VOCABULARY``'s XMP places):
dates, GPS (``"48,51.5N"`` forms to signed degrees), description, rating, keywords
(``dc:subject``, ``lr:hierarchicalSubject``), lens, Google motion-photo markers (MicroVideo,
MotionPhoto and its Container directory) and Apple's ContentIdentifier; ``ExiftoolOnly`` names
the properties it does not read that exiftool would take for a date (exiftool reads every
namespace and names a property by its own name). Does not own: finding packets in files
(``blocks``) or precedence (``read``). Malformed XML never raises: it becomes a warning.

Entry point: ``read_xmp(data) -> tuple[dict[str, object], list[str]]``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from mediapipe.metadata.dates import PRIORITY
from mediapipe.metadata.tags import LISTS, xmp_table

__all__ = ["read_xmp"]

_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_NS = {
    "http://purl.org/dc/elements/1.1/": "dc", "http://ns.adobe.com/xap/1.0/": "xmp",
    "http://ns.adobe.com/exif/1.0/": "exif", "http://cipa.jp/exif/1.0/": "exifEX",
    "http://ns.adobe.com/exif/1.0/aux/": "aux",
    "http://ns.adobe.com/lightroom/1.0/": "lr", "http://ns.adobe.com/tiff/1.0/": "tiff",
    "http://ns.google.com/photos/1.0/camera/": "GCamera",
    "http://ns.google.com/photos/1.0/container/": "Container",
    "http://ns.google.com/photos/1.0/container/item/": "Item",
    "http://ns.adobe.com/pdf/1.3/": "pdf", "http://ns.google.com/photos/1.0/panorama/": "GPano",
}
# (prefix, property) -> exiftool tag name (``tags.VOCABULARY``'s XMP places); ``*`` matches any
# namespace. Container:Directory's ``Item`` properties are read in its MotionPhoto item only.
_NAMES = {key: name for key, name in xmp_table().items() if key[0] != "Item"}
_ITEM = {prop: name for (_, prop), name in xmp_table("Item").items()}
_COORD = re.compile(r"^\s*(\d+(?:\.\d+)?),(\d+(?:\.\d+)?)(?:,(\d+(?:\.\d+)?))?\s*([NSEW])\s*$",
                    re.IGNORECASE)

Value = str | float | int | tuple[str, ...] | None


def _split(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        uri, _, local = tag[1:].partition("}")
        return _NS.get(uri, uri), local
    return "", tag


def _name(tag: str) -> str | None:
    prefix, local = _split(tag)
    return _NAMES.get((prefix, local)) or _NAMES.get(("*", local))


def _items(el: ET.Element) -> list[str] | None:
    for container in ("Bag", "Seq", "Alt"):
        box = el.find(f"{{{_RDF}}}{container}")
        if box is not None:
            lis = box.findall(f"{{{_RDF}}}li")
            if container == "Alt":  # language alternatives: x-default first
                lis.sort(key=lambda li: li.get("{http://www.w3.org/XML/1998/namespace}lang")
                         != "x-default")
            return [(li.text or "").strip() for li in lis if (li.text or "").strip()]
    return None


def coordinate(text: str) -> float | None:
    """XMP GPS coordinate (``"48,51.504N"``, ``"48,51,30.2N"`` or a signed decimal) to degrees."""
    m = _COORD.match(text)
    if m:
        deg = float(m[1]) + float(m[2]) / 60 + float(m[3] or 0) / 3600
        return -deg if m[4].upper() in "SW" else deg
    try:
        return float(text)
    except ValueError:
        return None


def _as_utf8(data: bytes) -> bytes:
    """A packet in UTF-16 or UTF-32 (the XMP spec allows them; some Windows tools write
    UTF-16) re-encoded as UTF-8; UTF-8 packets unchanged."""
    if b"<x:xmpmeta" in data or b"<rdf:RDF" in data:
        return data
    for codec in ("utf-16-be", "utf-16-le", "utf-32-be", "utf-32-le"):
        text = data.decode(codec, "ignore")
        if "<x:xmpmeta" in text or "<rdf:RDF" in text:
            return text.lstrip("\ufeff").encode("utf-8")
    return data


def read_xmp(data: bytes) -> tuple[dict[str, Value], list[str]]:
    """Tags of one XMP packet (an ``<x:xmpmeta>`` or bare RDF document, any padding around it;
    UTF-8, UTF-16 or UTF-32)."""
    data = _as_utf8(data)
    start, end = data.find(b"<x:xmpmeta"), data.rfind(b"</x:xmpmeta>")
    if start < 0 or end < 0:
        start, end = data.find(b"<rdf:RDF"), data.rfind(b"</rdf:RDF>")
        end = end + len(b"</rdf:RDF>") if end >= 0 else end
    else:
        end += len(b"</x:xmpmeta>")
    if start < 0 or end < 0:
        return {}, ["XMP: no xmpmeta/RDF element"]
    try:
        root = ET.fromstring(data[start:end])
    except ET.ParseError as exc:
        return {}, [f"XMP: {exc}"]
    tags: dict[str, Value] = {}
    for desc in root.iter(f"{{{_RDF}}}Description"):
        for key, text in desc.attrib.items():
            name = _name(key)
            if name and name not in tags:
                tags[name] = text.strip()
        for child in desc:
            name = _name(child.tag)
            if name is None:
                if _split(child.tag) == ("Container", "Directory"):
                    tags.update(_directory(child))
                continue
            items = _items(child)
            if name in LISTS:
                tags[name] = tuple(items if items is not None else
                                   [(child.text or "").strip()] if (child.text or "").strip()
                                   else [])
            elif name not in tags:
                tags[name] = (items[0] if items else None) if items is not None else \
                    (child.text or "").strip()
    unread = _unread_dates(root)
    if unread:
        tags["ExiftoolOnly"] = unread
    return _typed(tags), []


def _unread_dates(root: ET.Element) -> tuple[str, ...]:
    """The properties anywhere in the packet that ours do not name and exiftool would name as
    a date tag (``foo:createDate`` is its ``CreateDate``, ``prism:creationDate`` its
    ``CreationDate``)."""
    found: list[str] = []
    for el in root.iter():
        for key in (el.tag, *el.attrib):
            local = _split(key)[1]
            if local[:1].upper() + local[1:] in PRIORITY and _name(key) is None:
                found.append(local)
    return tuple(dict.fromkeys(found))


def _directory(el: ET.Element) -> dict[str, Value]:
    """Google's Container:Directory: the MotionPhoto item's ``Length`` and ``Padding`` (its
    bytes end that far before the end of the file), as integers where they are, else as
    written (``read`` says what is wrong with them)."""
    for item in el.iter("{http://ns.google.com/photos/1.0/container/}Item"):
        attrs = {_split(k)[1]: v for k, v in item.attrib.items()}
        for child in item:  # properties may also be elements
            attrs.setdefault(_split(child.tag)[1], (child.text or "").strip())
        if attrs.get("Semantic") == "MotionPhoto":
            return {_ITEM["Length"]: _integer(attrs.get("Length", "")),
                    _ITEM["Padding"]: _integer(attrs.get("Padding") or "0")}
    return {}


def _integer(text: str) -> Value:
    try:
        return int(text.strip())
    except ValueError:
        return text


def _typed(tags: dict[str, Value]) -> dict[str, Value]:
    for key in ("GPSLatitude", "GPSLongitude"):
        if isinstance(tags.get(key), str):
            tags[key] = coordinate(tags[key])  # type: ignore[arg-type]
    for key in ("GPSAltitude",):
        if isinstance(tags.get(key), str):
            num, _, den = str(tags[key]).partition("/")
            try:
                alt = float(num) / float(den or 1)
            except (ValueError, ZeroDivisionError):
                alt = None
            tags[key] = -alt if alt is not None and tags.get("GPSAltitudeRef") == "1" else alt
    tags.pop("GPSAltitudeRef", None)  # a part of GPSAltitude, no tag of its own
    for key in ("Rating", "MicroVideo", "MicroVideoOffset", "MotionPhoto", "Orientation"):
        if isinstance(tags.get(key), str):
            try:
                tags[key] = int(float(str(tags[key])))
            except ValueError:
                tags[key] = None
    return tags

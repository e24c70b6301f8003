"""Names as the CLI shows them: one line of text per name, and JSON that says which bytes.

Owns: ``shown(text)``, the one escaping every text output that prints a path goes through (a
file name may hold a newline, a carriage return, an ANSI escape such as ``ESC[31m``, bidi
overrides or bytes that are not UTF-8: printed as is, one asset would take two lines, a line
could be forged, the terminal recoloured), and ``json_names(data)``, the form ``--json`` gives a
name that is not UTF-8. Does not own: what is printed (the commands).

Text: ``\\`` is ``\\\\``; ``\\n``, ``\\r``, ``\\t`` are themselves; any other control
character (C0, DEL, C1), line or paragraph separator and bidi control is ``\\xNN`` or
``\\uNNNN``; a byte that is not UTF-8 (a surrogate escape, as ``os.fsdecode`` gives it) is
``\\xNN``. Everything else, accents and emoji included, is printed as is.

JSON: a UTF-8 name is the string itself (JSON escapes its control characters). A string that is
not valid Unicode (a name that is not UTF-8, which Python holds as lone surrogates) is given with
each such byte as ``\\xNN`` (backslash-escaped, as in text), and where it is the value of a key
(``path``, ``source`` …) the object also carries ``<key>_bytes``: the name's exact bytes in
base64. A string never carries a lone surrogate (``\\udcff``), which strict parsers refuse.
"""

from __future__ import annotations

import base64
import os
import unicodedata
from typing import Any

__all__ = ["json_names", "shown"]

_NAMED = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _escaped(ch: str) -> str:
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that is not UTF-8, as os.fsdecode keeps it
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def _plain(ch: str) -> bool:
    return ch not in _NAMED and ch not in _BIDI and \
        unicodedata.category(ch) not in ("Cc", "Cs", "Zl", "Zp")


def shown(text: str) -> str:
    """``text`` (a path, or a message naming one) on one line, nothing hidden: control
    characters, separators, bidi controls and bytes that are not UTF-8 backslash-escaped."""
    if text.isprintable() and "\\" not in text:  # the common case: nothing to escape
        return text
    return "".join(ch if _plain(ch) else _escaped(ch) for ch in text)


def _valid(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _raw(text: str) -> bytes:
    """The bytes ``text`` stands for (a name's, as ``os.fsencode`` gives them back)."""
    try:
        return os.fsencode(text)
    except UnicodeEncodeError:  # a lone surrogate that is no byte's escape
        return text.encode("utf-8", "surrogatepass")


def _text(text: str) -> str:
    """A string that is valid Unicode: each byte that is not UTF-8 as ``\\xNN``."""
    return text if _valid(text) else _raw(text).decode("utf-8", "backslashreplace")


def json_names(data: Any) -> Any:
    """``data`` (dicts, lists, strings, paths …) with every string valid Unicode, and
    ``<key>_bytes`` (base64) beside each value that was not: the exact bytes of a name that is
    not UTF-8."""
    if isinstance(data, os.PathLike):
        data = os.fspath(data)
    if isinstance(data, str):
        return _text(data)
    if isinstance(data, dict):
        out: dict[Any, Any] = {}
        for key, value in data.items():
            out[key] = json_names(value)
            text = os.fspath(value) if isinstance(value, os.PathLike) else value
            if isinstance(text, str) and not _valid(text):
                out[f"{key}_bytes"] = base64.b64encode(_raw(text)).decode("ascii")
        return out
    if isinstance(data, list | tuple):
        return [json_names(v) for v in data]
    return data

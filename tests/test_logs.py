"""Log lines: one record is one line, whatever the names it carries."""

from __future__ import annotations

import logging

from mediapipe.logs import TextFormatter


def _record(msg: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("mediapipe.asset", logging.WARNING, __file__, 1, msg, args, None)
    record.__dict__.update(extra)
    return record


def test_a_name_with_a_newline_or_an_escape_cannot_forge_or_colour_a_text_line() -> None:
    hostile = "/lib/a.jpg\nWARNING forged line \x1b[31mred"
    line = TextFormatter("%(levelname)s %(message)s").format(
        _record("metadata failed %s", hostile, path=hostile))
    assert "\n" not in line and "\x1b" not in line
    assert line.startswith("WARNING metadata failed /lib/a.jpg\\nWARNING forged line \\x1b[31mred")
    assert "path=/lib/a.jpg\\n" in line


def test_a_traceback_still_follows_its_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = _record("internal error")
        record.exc_info = sys.exc_info()
    text = TextFormatter("%(message)s").format(record)
    first, *rest = text.splitlines()
    assert first == "internal error" and rest[-1] == "ValueError: boom"

"""Dates in file names: what a camera, a phone or a messenger wrote into the name it gave.

Owns: the name patterns and the plausibility rule. Each pattern is a shape seen in the wild,
and where it comes from is named beside it (PhotoPrism's ``pkg/txt/datetime_filepath.go`` and
its tests, LibrePhotos' ``api/date_time_extractor.py``, immich-go's file-name date guessing):

- ``IMG_20190412_123456.jpg``, ``VID_20190412_123456.mp4`` (Android's camera),
  ``20190412_123456.jpg`` (Samsung), ``PXL_20230105_101112345.jpg`` (Pixel, milliseconds
  after the seconds), ``Screenshot_20190412-123456.png``: a compact date, a time;
- ``Screenshot_2019-04-12-12-34-56.png`` (Android screenshots),
  ``2019-04-12 12.34.56.jpg`` (Dropbox's camera uploads), ``signal-2019-04-12-123456.jpg``:
  a date and a time with separators;
- ``IMG-20190412-WA0001.jpg`` (WhatsApp), ``2019-04-12.jpg``: a day only, at local midnight,
  marked as such (``Found.date_only``).

A number is taken only when it is a real calendar date and time in 1970-2099 and stands alone
(no digit touches it on either side): ``DSC_20191301`` (month 13), ``1555072496123.jpg`` (a
Unix time), ``IMG_1234.jpg`` give nothing. The time is the wall time where the photo was taken
(naive); the caller places it in the position's zone when there is one. Does not own: whether
this rule runs, or its place among the others (``daterules``).

Entry point: ``date_in_name(name) -> Found | None``.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime

__all__ = ["Found", "date_in_name"]

_Y = r"(?P<y>(?:19|20)\d\d)"
_M = r"(?P<mo>[01]\d)"
_D = r"(?P<d>[0-3]\d)"
_H = r"(?P<h>[0-2]\d)"
_MI = r"(?P<mi>[0-5]\d)"
_S = r"(?P<s>[0-5]\d)"
_SEP = r"[-_.]"
# Tried in order; the first that gives a plausible date wins.
_PATTERNS = (
    # compact date, a separator, compact time, optional milliseconds (Android, Pixel, Samsung)
    (re.compile(rf"(?<!\d){_Y}{_M}{_D}[_-]{_H}{_MI}{_S}(?P<ms>\d{{3}})?(?!\d)"), False),
    # separated date, a space/_/T/-, time separated by - . _ : or not at all
    (re.compile(rf"(?<!\d){_Y}-{_M}-{_D}[ _T-]{_H}[-.:_]?{_MI}[-.:_]?{_S}(?!\d)"), False),
    # a day only: compact (WhatsApp's IMG-20190412-WA0001) or separated (2019-04-12); never
    # the day of a date-time whose time is impossible (IMG_20190412_253456: no date at all)
    (re.compile(rf"(?<!\d){_Y}{_M}{_D}(?!\d|[_-]\d{{6}})"), True),
    (re.compile(rf"(?<!\d){_Y}{_SEP}{_M}{_SEP}{_D}(?!\d|[ _T-]\d\d[-.:_]?\d\d[-.:_]?\d\d)"),
     True),
)
_YEARS = range(1970, 2100)


@dataclasses.dataclass(frozen=True)
class Found:
    """A date read from a name: the local wall time (midnight when ``date_only``)."""

    when: datetime
    date_only: bool


def date_in_name(name: str) -> Found | None:
    """The date the file name ``name`` (no folder) carries, by the first pattern that gives a
    plausible one; None when none does."""
    for pattern, date_only in _PATTERNS:
        for m in pattern.finditer(name):
            found = _plausible(m, date_only)
            if found is not None:
                return found
    return None


def _plausible(m: re.Match[str], date_only: bool) -> Found | None:
    year = int(m["y"])
    if year not in _YEARS:
        return None
    parts = m.groupdict()
    try:
        when = datetime(year, int(m["mo"]), int(m["d"]),
                        int(parts.get("h") or 0), int(parts.get("mi") or 0),
                        int(parts.get("s") or 0), int(parts.get("ms") or 0) * 1000)
    except ValueError:
        return None
    return Found(when, date_only)

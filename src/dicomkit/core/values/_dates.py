"""DA, TM and DT values <-> ``datetime`` objects, and query ranges (PS3.5 6.2, PS3.4 C.2.2.2.5).

Decoded data sets keep DA/TM/DT as ``str`` (the text may be partial or a range); convert with
these functions:

* ``parse_da("20200131")`` -> ``date``; the ACR-NEMA form ``"2020.01.31"`` is accepted.
* ``parse_tm("1230")`` -> ``time(12, 30)``; ``HH``, ``HHMM``, ``HHMMSS``, ``HHMMSS.F{1,6}``, and
  leniently ``HH:MM:SS``. ``60`` seconds (leap second) is read as 59.
* ``parse_dt("20200131123000.5+0100")`` -> ``datetime`` with a ``timezone`` when an offset is
  given; any trailing component may be omitted (missing month/day default to 1).
* ``format_da/format_tm/format_dt`` do the reverse.
* ``parse_range("20200101-20201231", "DA")`` -> ``(date, date)``; an open end is ``None``.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from dicomkit.errors import InvalidValueError

_TM_RE = re.compile(r"^(\d{2})(?::?(\d{2})(?::?(\d{2})(?:\.(\d{1,6})\d*)?)?)?$")
_DT_RE = re.compile(
    r"^(\d{4})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:\.(\d{1,6})\d*)?)?)?)?)?)?"
    r"([+-]\d{4})?$"
)


def parse_da(text: str) -> date:
    """``YYYYMMDD`` (or leniently ``YYYY.MM.DD``) -> ``date``."""
    s = text.strip()
    if len(s) == 10 and s[4] == "." and s[7] == ".":
        s = s[:4] + s[5:7] + s[8:]
    if len(s) != 8 or not s.isdigit():
        raise InvalidValueError(f"not a DICOM date (DA, YYYYMMDD): {text!r}")
    try:
        return date(int(s[:4]), int(s[4:6]), int(s[6:]))
    except ValueError as exc:
        raise InvalidValueError(f"invalid date {text!r}: {exc}") from None


def parse_tm(text: str) -> time:
    """``HH[MM[SS[.F{1,6}]]]`` -> ``time``; missing components are 0."""
    s = text.strip()
    m = _TM_RE.match(s)
    if m is None:
        raise InvalidValueError(f"not a DICOM time (TM, HHMMSS.FFFFFF): {text!r}")
    hh, mm, ss, frac = m.groups()
    second = int(ss or 0)
    try:
        return time(int(hh), int(mm or 0), min(second, 59), _micro(frac))
    except ValueError as exc:
        raise InvalidValueError(f"invalid time {text!r}: {exc}") from None


def parse_dt(text: str) -> datetime:
    """``YYYY[MM[DD[HH[MM[SS[.F{1,6}]]]]]][&ZZXX]`` -> ``datetime`` (aware if an offset is given)."""
    s = text.strip()
    m = _DT_RE.match(s)
    if m is None:
        raise InvalidValueError(f"not a DICOM date time (DT): {text!r}")
    yy, mo, dd, hh, mi, ss, frac, offset = m.groups()
    tz = None
    if offset:
        sign = -1 if offset[0] == "-" else 1
        if int(offset[3:5]) > 59 or int(offset[1:5]) > (1200 if sign < 0 else 1400):
            raise InvalidValueError(f"UTC offset out of range (-1200..+1400) in {text!r}")
        delta = timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5]))
        try:
            tz = timezone(sign * delta)
        except ValueError:
            raise InvalidValueError(f"invalid UTC offset in {text!r}") from None
    try:
        return datetime(
            int(yy),
            int(mo or 1),
            int(dd or 1),
            int(hh or 0),
            int(mi or 0),
            min(int(ss or 0), 59),
            _micro(frac),
            tzinfo=tz,
        )
    except ValueError as exc:
        raise InvalidValueError(f"invalid date time {text!r}: {exc}") from None


def _micro(frac: str | None) -> int:
    return int(frac.ljust(6, "0")) if frac else 0


def format_da(value: date) -> str:
    """``date`` -> ``YYYYMMDD``."""
    return f"{value.year:04d}{value.month:02d}{value.day:02d}"


def format_tm(value: time) -> str:
    """``time`` -> ``HHMMSS`` (``.FFFFFF`` when there are microseconds)."""
    text = f"{value.hour:02d}{value.minute:02d}{value.second:02d}"
    if value.microsecond:
        text += f".{value.microsecond:06d}"
    return text


def format_dt(value: datetime) -> str:
    """``datetime`` -> ``YYYYMMDDHHMMSS[.FFFFFF][&ZZXX]`` (offset only for aware values)."""
    text = format_da(value) + format_tm(value.time())
    offset = value.utcoffset()
    if offset is not None:
        minutes = int(offset.total_seconds()) // 60
        sign = "-" if minutes < 0 else "+"
        minutes = abs(minutes)
        text += f"{sign}{minutes // 60:02d}{minutes % 60:02d}"
    return text


_PARSERS: dict[str, Any] = {"DA": parse_da, "TM": parse_tm, "DT": parse_dt}


def parse_range(text: str, vr: str = "DA") -> tuple[Any, Any]:
    """A query range ``"A-B"``, ``"A-"`` or ``"-B"`` -> ``(lower, upper)`` parsed for ``vr``
    (DA, TM or DT); an open end is ``None``. A single value gives ``(v, v)``.

    For DT, a hyphen may also start a UTC offset (``2020...-0500``): the split point is the
    hyphen at which both sides parse.
    """
    parse = _PARSERS.get(vr)
    if parse is None:
        raise InvalidValueError(f"ranges apply to DA, TM and DT, not {vr}")
    s = text.strip()
    if "-" not in s or vr == "DT":
        try:
            v = parse(s)
            return v, v
        except InvalidValueError:
            if "-" not in s:
                raise
    for i in [i for i, c in enumerate(s) if c == "-"]:
        left, right = s[:i].strip(), s[i + 1 :].strip()
        try:
            lo = parse(left) if left else None
            hi = parse(right) if right else None
        except InvalidValueError:
            continue
        if lo is None and hi is None:
            break
        return lo, hi
    raise InvalidValueError(f"not a {vr} range: {text!r}")


def is_range(text: str, vr: str) -> bool:
    """Whether a DA/TM/DT query value is a range (contains the range hyphen)."""
    if vr != "DT":
        return "-" in text
    try:
        lo, hi = parse_range(text, "DT")
    except InvalidValueError:
        return "-" in text
    return lo is not hi


def to_python(value: Any, vr: str) -> Any:
    """Convert a DA/TM/DT text value to ``date``/``time``/``datetime`` (``None`` if empty)."""
    if value is None or value == "":
        return None
    parse = _PARSERS[vr]
    if isinstance(value, str):
        return parse(value)
    return [parse(v) if v else None for v in value]


__all__ = [
    "format_da",
    "format_dt",
    "format_tm",
    "is_range",
    "parse_da",
    "parse_dt",
    "parse_range",
    "parse_tm",
    "to_python",
]

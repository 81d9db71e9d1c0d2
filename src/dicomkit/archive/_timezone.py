"""Timezone query adjustment for C-FIND (PS3.4 C.4.1.1.3.x, extended negotiation byte 4).

When the SCU asked for it and its identifier carries Timezone Offset From UTC (0008,0201), the
query's date and time keys are in the SCU's timezone. The node moves the ranges into the
timezone of the stored instances before matching: the node's own offset from UTC (the index
does not keep a per-instance offset; instances are stored as they arrive, in the node's local
time). A date key and the time key of the same pair (Study Date / Study Time, Series Date /
Series Time, Content ..., Acquisition ...) are matched together as one date-time range, since
a shift of a few hours moves the day boundaries; a date-time (DT) key's bounds move with it. An
instance that has a date but no time matches when its date lies in the moved range's dates.
"""

from __future__ import annotations

import calendar
import datetime as _dt
import re
import time
from typing import Any

from dicomkit.archive import _normalize as nz
from dicomkit.archive._matching import ALIAS
from dicomkit.archive._schema import BY_KEYWORD

#: (date key, time key) pairs matched as one date-time range when the query is moved
PAIRS: tuple[tuple[str, str], ...] = (
    ("StudyDate", "StudyTime"),
    ("SeriesDate", "SeriesTime"),
    ("ContentDate", "ContentTime"),
    ("AcquisitionDate", "AcquisitionTime"),
)

_OFFSET = re.compile(r"^([+-])(\d{2})(\d{2})$")
_FMT = "%Y%m%d%H%M%S.%f"


def parse_offset(text: Any) -> int | None:
    """Minutes east of UTC from a Timezone Offset From UTC value (``+hhmm`` / ``-hhmm``);
    ``None`` when absent or not of that form."""
    m = _OFFSET.match(str(text or "").strip())
    if not m:
        return None
    minutes = int(m.group(2)) * 60 + int(m.group(3))
    return -minutes if m.group(1) == "-" else minutes


def node_offset() -> int:
    """The node's own offset from UTC in minutes (its local time, now)."""
    return (time.localtime().tm_gmtoff or 0) // 60


def _parse(norm: str) -> _dt.datetime:
    """A normalised ``YYYYMMDDHHMMSS.ffffff`` (whose day may be past the month's end, as an
    upper bound ``202402`` fills it to the 31st) as a datetime."""
    year, month, day = int(norm[0:4]), int(norm[4:6]), int(norm[6:8])
    day = min(day, calendar.monthrange(year, month)[1])
    fixed = f"{norm[0:4]}{norm[4:6]}{day:02d}{norm[8:]}"
    return _dt.datetime.strptime(fixed, _FMT)


def shift(norm: str, minutes: int) -> str:
    """A normalised date-time moved by ``minutes`` (``""`` stays ``""``)."""
    if not norm:
        return ""
    return (_parse(norm) + _dt.timedelta(minutes=minutes)).strftime(_FMT)


def _bounds(date_cond: Any, time_cond: Any) -> tuple[str, str]:
    """The (lo, hi) normalised date-times of a date condition and its time condition."""
    if date_cond.kind == "single":
        d_lo = d_hi = nz.norm_da(date_cond.values[0])
    else:
        d_lo, d_hi = (nz.norm_da(v) for v in date_cond.values)
    t_lo, t_hi = time_cond.values if time_cond is not None else ("", "")
    lo = d_lo + (nz.norm_tm(t_lo) if t_lo else "000000.000000") if d_lo else ""
    hi = d_hi + (nz.norm_tm(t_hi, upper=True) if t_hi else "235959.999999") if d_hi else ""
    return lo, hi


def _range(expr: str, lo: str, hi: str) -> tuple[str, list[Any]]:
    parts, params = [], []
    if lo:
        parts.append(f"{expr} >= ?")
        params.append(lo)
    if hi:
        parts.append(f"{expr} <= ?")
        params.append(hi)
    return " AND ".join(parts) or "1=1", params


def adjusted(conds: list[Any], minutes: int) -> tuple[list[str], list[Any], list[Any]]:
    """SQL parts and parameters for the date / time conditions of ``conds`` moved by
    ``minutes`` (the stored timezone's offset minus the query's), and the conditions left."""
    parts: list[str] = []
    params: list[Any] = []
    left = list(conds)
    by_kw = {c.keyword: c for c in left}
    for date_kw, time_kw in PAIRS:
        d, t = by_kw.get(date_kw), by_kw.get(time_kw)
        if d is None or d.kind not in ("single", "range"):
            continue
        if t is not None and t.kind != "range":
            continue  # an empty-value time key: leave both to the plain matching
        left.remove(d)
        if t is not None:
            left.remove(t)
        lo, hi = (shift(v, minutes) for v in _bounds(d, t))
        d_attr, t_attr = BY_KEYWORD[date_kw], BY_KEYWORD[time_kw]
        dcol = f"{ALIAS[d_attr.level]}.{d_attr.col}"
        tcol = f"{ALIAS[t_attr.level]}.{t_attr.col}_n"
        timed, p1 = _range(f"({dcol} || {tcol})", lo, hi)
        untimed, p2 = _range(dcol, lo[:8], hi[:8])
        parts.append(
            f"({dcol} <> '' AND (({tcol} <> '' AND {timed}) OR ({tcol} = '' AND {untimed})))"
        )
        params += p1 + p2
    for c in list(left):
        if c.vr != "DT" or c.kind != "range" or c.keyword not in BY_KEYWORD:
            continue
        lo_raw, hi_raw = c.values
        if any(_OFFSET.search(v[-5:]) for v in (lo_raw, hi_raw) if len(v) > 8):
            continue  # a bound with its own offset is left as it is
        left.remove(c)
        attr = BY_KEYWORD[c.keyword]
        col = f"{ALIAS[attr.level]}.{attr.col}_n"
        lo = shift(nz.norm_dt(lo_raw), minutes) if lo_raw else ""
        hi = shift(nz.norm_dt(hi_raw, upper=True), minutes) if hi_raw else ""
        text, ps = _range(col, lo, hi)
        parts.append(f"({col} <> '' AND {text})")
        params += ps
    return parts, params, left

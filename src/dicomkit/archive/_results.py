"""C-FIND responses from index rows (PS3.4 C.4.1.1.3.2, C.2.2.3).

:func:`select_columns` chooses what the SELECT reads for a query; :func:`make_result` turns one
row into the response identifier's elements -- every requested key, with its stored value or
zero length, plus Query/Retrieve Level, Retrieve AE Title, Instance Availability and Specific
Character Set. Conditions SQL cannot decide exactly (sequence matching, wildcards on
multi-valued attributes) are applied here in Python with :func:`match_text`, the same rules as
the SQL.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from dicomkit.archive import _normalize as nz
from dicomkit.archive._matching import ALIAS, Condition, Kind, Query, ReturnKey
from dicomkit.archive._schema import BY_KEYWORD, LEVELS, SEQUENCES
from dicomkit.dictionary import tags

ResultElement = tuple[int, str, str, Any]  # tag, keyword, VR, value (str, list[str] or items)


@dataclass(frozen=True, slots=True)
class Result:
    """One match: the response identifier's elements in tag order."""

    elements: tuple[ResultElement, ...]

    def as_dict(self) -> dict[str, Any]:
        """The result's attributes as ``{keyword: value}``."""
        return {kw: value for _tag, kw, _vr, value in self.elements}


def select_columns(query: Query) -> list[str]:
    cols = []
    for key in query.return_keys:
        if key.level is None or key.keyword in SEQUENCES:
            continue
        attr = BY_KEYWORD[key.keyword]
        cols.append(f"{ALIAS[attr.level]}.{attr.col}")
    for level in LEVELS[: query.level.depth + 1]:
        cols.append(f"{ALIAS[level]}.extra")
    return cols


def _wildcard_regex(pattern: str, fold: bool) -> re.Pattern[str]:
    parts = ["*" if ch == "*" else "?" if ch == "?" else re.escape(ch) for ch in pattern]
    rx = "".join(".*" if p == "*" else "." if p == "?" else p for p in parts)
    return re.compile(rx, re.DOTALL | (re.IGNORECASE if fold else 0))


def match_text(cond: Condition, stored: str, *, fold_pn: bool = True) -> bool:
    """Does the stored text (possibly ``\\``-joined values) satisfy a non-sequence condition?"""
    fold = cond.vr == "PN" and fold_pn
    vals = stored.split("\\") if stored else []
    if cond.kind is Kind.EMPTY:
        return not stored
    if not vals:
        return False
    if cond.kind is Kind.UID_LIST:
        return any(v in cond.values for v in vals)
    if cond.kind is Kind.SINGLE:
        target = cond.values[0]
        if fold:
            return any(v.upper() == target.upper() for v in vals)
        return target in vals
    if cond.kind is Kind.WILDCARD:
        rx = _wildcard_regex(cond.values[0], fold)
        return any(rx.fullmatch(v) for v in vals)
    if cond.kind is Kind.RANGE:
        lo, hi = cond.values
        for v in vals:
            if cond.vr == "DA":
                n, lo_n, hi_n = nz.norm_da(v), nz.norm_da(lo), nz.norm_da(hi)
            elif cond.vr == "TM":
                n, lo_n, hi_n = nz.norm_tm(v), nz.norm_tm(lo), nz.norm_tm(hi, upper=True)
            else:
                n, lo_n, hi_n = nz.norm_dt(v), nz.norm_dt(lo), nz.norm_dt(hi, upper=True)
            if n and (not lo_n or n >= lo_n) and (not hi_n or n <= hi_n):
                return True
        return False
    return False


def _match_items(cond: Condition, items: list[dict[str, str]], fold: bool) -> list[int]:
    hits = []
    for i, item in enumerate(items):
        if all(match_text(sub, item.get(sub.keyword, ""), fold_pn=fold) for sub in cond.items):
            hits.append(i)
    return hits


def make_result(
    query: Query,
    columns: list[str],
    row: tuple[Any, ...],
    post: list[Condition],
    *,
    retrieve_aet: str = "",
    availability: str = "ONLINE",
) -> Result | None:
    """The response for one row, or ``None`` when a Python-side condition rejects it."""
    by_col = dict(zip(columns, row, strict=True))
    extras: dict[str, list[dict[str, str]]] = {}
    for level in LEVELS[: query.level.depth + 1]:
        blob = by_col.get(f"{ALIAS[level]}.extra") or ""
        if blob:
            extras.update(json.loads(blob))
    fold = query.options.pn_case_insensitive
    seq_hits: dict[str, list[int]] = {}
    for cond in post:
        if cond.kind is Kind.SEQUENCE:
            hits = _match_items(cond, extras.get(cond.keyword, []), fold)
            if not hits:
                return None
            seq_hits[cond.keyword] = hits
        else:
            attr = BY_KEYWORD[cond.keyword]
            if not match_text(cond, str(by_col[f"{ALIAS[attr.level]}.{attr.col}"]), fold_pn=fold):
                return None
    out: list[ResultElement] = [
        (tags.QueryRetrieveLevel, "QueryRetrieveLevel", "CS", query.level.value)
    ]
    non_ascii = False
    for key in query.return_keys:
        value: Any
        if key.keyword == "RetrieveAETitle":
            value = retrieve_aet
        elif key.keyword == "InstanceAvailability":
            value = availability
        elif key.level is None:
            value = [] if key.vr == "SQ" else ""
        elif key.keyword in SEQUENCES:
            value = _sequence_value(key, extras.get(key.keyword, []), seq_hits.get(key.keyword))
        else:
            attr = BY_KEYWORD[key.keyword]
            raw = by_col[f"{ALIAS[attr.level]}.{attr.col}"]
            text = str(raw) if raw is not None else ""
            if attr.computed and attr.vr == "IS":
                text = str(int(raw or 0))
            value = text.split("\\") if attr.multi and "\\" in text else text
        if (
            (isinstance(value, str) and not value.isascii())
            or (
                isinstance(value, list)
                and any(isinstance(v, str) and not v.isascii() for v in value)
            )
            or (key.keyword in SEQUENCES and not json.dumps(value).isascii())
        ):
            non_ascii = True
        out.append((key.tag, key.keyword, key.vr, value))
    if non_ascii or query.charset_requested:
        out.append(
            (
                tags.SpecificCharacterSet,
                "SpecificCharacterSet",
                "CS",
                "ISO_IR 192" if non_ascii else "",
            )
        )
    out.sort(key=lambda e: e[0])
    return Result(tuple(out))


def _sequence_value(
    key: ReturnKey, items: list[dict[str, str]], hits: list[int] | None
) -> list[dict[str, str]]:
    chosen = [items[i] for i in hits] if hits is not None else items
    if not key.sub_keys:
        return [dict(item) for item in chosen]
    wanted = [k.keyword for k in key.sub_keys]
    return [{kw: item.get(kw, "") for kw in wanted} for item in chosen]

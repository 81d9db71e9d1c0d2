"""C-FIND / C-MOVE / C-GET identifiers to parametrised SQL (PS3.4 C.2.2, C.4, C.6).

:func:`parse_query` turns a request identifier into a :class:`Query`: the level, one
:class:`Condition` per matching key and the return keys. It enforces the rules for the
information model (hierarchical or relational, unique keys at the levels above, no wildcards in
UIDs ...) and raises :class:`QueryError`, which carries the DIMSE status the SCP answers with.
:func:`build_sql` compiles a query into one SELECT with ``?`` parameters -- user values are never
formatted into SQL text. Matching kinds (PS3.4 C.2.2.2):

- universal (zero length, or ``*`` alone): no condition, the key is only returned;
- single value: equality; person names case-insensitive unless configured otherwise;
- wildcard ``*`` / ``?``: GLOB (SQLite) or LIKE with escapes (PostgreSQL), case-sensitive;
- range ``A-B``, ``-B``, ``A-`` for DA / TM / DT, and combined Study Date + Time ranges;
- list of UIDs ``uid1\\uid2``: ``IN (...)``;
- empty value ``""``: matches attributes with no value (PS3.4 C.2.2.2.1.1);
- sequence matching with one item: applied in Python on the stored items
  (:mod:`dicomkit.archive._results`).

A value matches a multi-valued attribute when it matches any one of its values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from dicomkit.archive import _normalize as nz
from dicomkit.archive._schema import (
    BY_KEYWORD,
    BY_TAG,
    LEVELS,
    PARENT_FK,
    SEQ_BY_TAG,
    SEQUENCES,
    SPECIAL_TAGS,
    TABLES,
    Attr,
    KeyType,
    Level,
    unique_key,
)
from dicomkit.core._vr import WILDCARD_VRS
from dicomkit.dictionary import status_codes, tags
from dicomkit.errors import ArchiveError
from dicomkit.services._query_retrieve import Model

__all__ = [
    "Condition",
    "Kind",
    "Model",
    "Query",
    "QueryError",
    "QueryOptions",
    "ReturnKey",
    "build_sql",
    "classify",
    "parse_query",
]

# DIMSE statuses (PS3.4 C.4.1.1.4, C.4.2.1.5, C.4.3.1.4)


class QueryError(ArchiveError):
    """An identifier the SCP refuses; ``status`` is the DIMSE status to answer with."""

    def __init__(
        self, message: str, status: int = status_codes.IdentifierDoesNotMatchSOPClass
    ) -> None:
        super().__init__(message)
        self.status = status


class Kind(StrEnum):
    SINGLE = "single"
    WILDCARD = "wildcard"
    RANGE = "range"
    UID_LIST = "uid-list"
    EMPTY = "empty"
    SEQUENCE = "sequence"


@dataclass(frozen=True, slots=True)
class QueryOptions:
    """How the SCP matches; frozen, passed per call."""

    relational: bool = False  # relational queries/retrievals (extended negotiation)
    combined_datetime: bool = False  # combine Study Date and Time ranges (ext. negotiation)
    pn_case_insensitive: bool = True  # PS3.4 C.2.2.2.1 allows it for PN
    max_uid_list: int = 1000  # longer UID lists -> C000 unable to process
    strict_hierarchy: bool = True  # refuse missing unique keys above the level
    #: timezone query adjustment (ext. negotiation byte 4): minutes to move the query's date
    #: and time ranges by (stored offset minus the query's; archive._timezone); None: off
    timezone_shift: int | None = None


@dataclass(frozen=True, slots=True)
class Condition:
    keyword: str
    level: Level
    vr: str
    kind: Kind
    values: tuple[str, ...] = ()  # single/wildcard: 1 value; range: (lo, hi); UIDs: n
    items: tuple[Condition, ...] = ()  # sequence sub-conditions


@dataclass(frozen=True, slots=True)
class ReturnKey:
    tag: int
    keyword: str
    vr: str
    level: Level | None  # None: not indexed -> returned with no value
    sub_keys: tuple[ReturnKey, ...] = ()  # sequence: the item's requested keys


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed C-FIND / C-MOVE / C-GET identifier (:func:`parse_query`): the model and level, one
    condition per matching key, the return keys and the matching options."""

    model: Model
    level: Level
    conditions: tuple[Condition, ...]
    return_keys: tuple[ReturnKey, ...]
    options: QueryOptions = field(default_factory=QueryOptions)
    unsupported_matching: bool = False  # a non-empty key we cannot match on (status FF01)
    charset_requested: bool = False


# -- reading identifiers ----------------------------------------------------------------------

Elem = tuple[int, str, str, Any]  # tag, keyword, vr, value


def _vr_for(tag: int) -> str:
    attr = BY_TAG.get(tag)
    if attr is not None:
        return attr.vr
    if tag in SEQ_BY_TAG:
        return "SQ"
    try:
        from dicomkit.dictionary import vr_for_tag
    except ImportError:  # pragma: no cover
        return "LO"
    return str(vr_for_tag(tag))


def _tag_for(keyword: str) -> int:
    if keyword in BY_KEYWORD:
        return BY_KEYWORD[keyword].tag
    if keyword in SEQUENCES:
        return SEQUENCES[keyword][0]
    for tag, kw in SPECIAL_TAGS.items():
        if kw == keyword:
            return tag
    from dicomkit.dictionary import tag_for_keyword

    found = tag_for_keyword(keyword)
    if found is None:
        raise QueryError(f"unknown attribute keyword {keyword!r}")
    return int(found)


def elements(identifier: Any) -> list[Elem]:
    """``(tag, keyword, vr, value)`` for each top-level element of a Dataset or of a plain
    ``{keyword: value}`` mapping (sequence values: lists of such mappings)."""
    out: list[Elem] = []
    if isinstance(identifier, Mapping) and all(isinstance(k, str) for k in identifier):
        for kw, value in identifier.items():
            tag = _tag_for(kw)
            out.append((tag, kw, _vr_for(tag), value))
        return sorted(out)
    for tag in identifier:
        el = identifier[tag]
        out.append((int(tag), str(getattr(el, "keyword", "") or ""), str(el.vr), el.value))
    return sorted(out)


# -- classifying one key ----------------------------------------------------------------------

RANGE_VRS = frozenset({"DA", "TM", "DT"})


def classify(keyword: str, level: Level, vr: str, value: Any) -> Condition | None:
    """The condition for one non-sequence key, or ``None`` for universal matching."""
    raw = nz.values(value)
    if not raw or raw == [""]:
        return None
    if len(raw) == 1 and raw[0] == '""':
        if vr == "UI":
            raise QueryError(f"empty value matching is not allowed for UID {keyword}")
        return Condition(keyword, level, vr, Kind.EMPTY)
    if vr == "UI":
        if any(("*" in u or "?" in u) for u in raw):
            if raw == ["*"]:
                return None
            raise QueryError(f"wildcards are not allowed in UID key {keyword} (PS3.4 C.2.2.2.4)")
        uids = tuple(u.strip() for u in raw if u.strip())
        if len(uids) == 1:
            return Condition(keyword, level, vr, Kind.SINGLE, uids)
        return Condition(keyword, level, vr, Kind.UID_LIST, uids)
    if len(raw) > 1:
        # several values in a non-UID key: PS3.4 C.2.2.2 defines no such matching
        raise QueryError(f"key {keyword} has several values; only UIDs may be listed")
    s = raw[0].strip(" \0") if vr != "PN" else raw[0].strip()
    if vr in RANGE_VRS:
        bounds = nz.split_range(vr, s)
        if bounds is not None:
            return Condition(keyword, level, vr, Kind.RANGE, bounds)
        if "*" in s or "?" in s:
            if s.strip("*") == "":
                return None
            raise QueryError(f"wildcards are not allowed in {vr} key {keyword}")
        if vr != "DA":
            # a time or date-time matches at the precision given: "1430" is 14:30:00-14:30:59
            return Condition(keyword, level, vr, Kind.RANGE, (s, s))
        return Condition(keyword, level, vr, Kind.SINGLE, (nz.norm_value(vr, s),))
    if vr in WILDCARD_VRS and ("*" in s or "?" in s):
        if s.strip("*") == "":
            return None  # "*" alone is universal matching (C.2.2.2.4)
        if vr == "PN":
            s = s.rstrip("^=") if not s.endswith("*") else s
        return Condition(keyword, level, vr, Kind.WILDCARD, (s,))
    value = nz.norm_value(vr, s)
    if not value:
        return None  # e.g. a person name of empty components only ("^^"): universal
    return Condition(keyword, level, vr, Kind.SINGLE, (value,))


def _sequence_condition(
    keyword: str, level: Level, value: Any
) -> tuple[Condition | None, tuple[ReturnKey, ...]]:
    items = list(value or [])
    if len(items) > 1:
        raise QueryError(f"sequence key {keyword} must have a single item (PS3.4 C.2.2.2.6)")
    if not items:
        return None, ()
    subs: list[Condition] = []
    keys: list[ReturnKey] = []
    for tag, kw, vr, v in elements(items[0]):
        if vr == "SQ":
            continue  # nested sequence matching is not supported; the key is ignored
        keys.append(ReturnKey(tag, kw, vr, level))
        cond = classify(kw, level, vr, v)
        if cond is not None:
            subs.append(cond)
    cond = Condition(keyword, level, "SQ", Kind.SEQUENCE, items=tuple(subs)) if subs else None
    return cond, tuple(keys)


# -- whole identifiers ------------------------------------------------------------------------


def _level_of_request(elems: list[Elem], model: Model) -> Level:
    for tag, _kw, _vr, value in elems:
        if tag == tags.QueryRetrieveLevel:
            name = nz.text(value).upper()
            try:
                level = Level(name)
            except ValueError:
                raise QueryError(f"unknown Query/Retrieve Level {name!r}") from None
            if level not in _levels(model):
                raise QueryError(f"level {name} is not part of the {model.name} model")
            return level
    raise QueryError("the identifier has no Query/Retrieve Level (0008,0052)")


def parse_query(
    identifier: Any, model: Model, options: QueryOptions = QueryOptions(), *, retrieve: bool = False
) -> Query:
    """Validate an identifier against ``model`` and turn it into a :class:`Query`.

    ``retrieve`` applies the C-MOVE / C-GET rules (PS3.4 C.4.2.2.1): only unique keys, a single
    value at each level above the retrieve level, one or a list at the retrieve level.
    """
    elems = elements(identifier)
    level = _level_of_request(elems, model)
    conds: list[Condition] = []
    keys: list[ReturnKey] = []
    unsupported = False
    charset = False
    present: dict[Level, Condition | None] = {}
    for tag, kw, vr, value in elems:
        if tag in SPECIAL_TAGS:
            if tag == tags.SpecificCharacterSet:
                charset = True
            elif tag != tags.QueryRetrieveLevel:
                keys.append(ReturnKey(tag, SPECIAL_TAGS[tag], vr, None))
            continue
        if (tag & 0xFFFF) == 0 or (tag >> 16) & 1:
            continue  # group lengths and private elements are neither matched nor returned
        attr = BY_TAG.get(tag)
        if tag in SEQ_BY_TAG:
            kw = SEQ_BY_TAG[tag]
            slevel = SEQUENCES[kw][1]
            if _below(slevel, level, model) or retrieve:
                continue
            cond, sub_keys = _sequence_condition(kw, slevel, value)
            keys.append(ReturnKey(tag, kw, "SQ", slevel, sub_keys))
            if cond is not None:
                conds.append(cond)
            continue
        if attr is None:
            has_value = bool(nz.values(value)) if vr != "SQ" else bool(value)
            unsupported = unsupported or has_value
            if not retrieve:
                keys.append(ReturnKey(tag, kw, vr, None))
            continue
        alevel = _effective_level(attr, model)
        if _below(alevel, level, model):
            continue  # keys below the query level are ignored (PS3.4 C.4.1.2.1)
        cond = classify(attr.keyword, alevel, attr.vr, value)
        if attr.key is KeyType.UNIQUE:
            present[attr.level] = cond
        keys.append(ReturnKey(tag, attr.keyword, attr.vr, alevel))
        if cond is None:
            continue
        if retrieve and attr.key is not KeyType.UNIQUE:
            continue  # C-MOVE / C-GET identifiers carry unique keys only; others are ignored
        if cond.kind is Kind.UID_LIST and len(cond.values) > options.max_uid_list:
            raise QueryError(
                f"{attr.keyword} lists {len(cond.values)} UIDs; the limit is "
                f"{options.max_uid_list}",
                status_codes.UnableToProcess,
            )
        conds.append(cond)
    _check_hierarchy(model, level, present, options, retrieve)
    return Query(model, level, tuple(conds), tuple(keys), options, unsupported, charset)


def _effective_level(attr: Attr, model: Model) -> Level:
    # In the Study Root model, patient attributes are attributes of the study (C.6.2.1).
    if model is not Model.PATIENT_ROOT and attr.level is Level.PATIENT:
        return Level.STUDY
    return attr.level


def _below(attr_level: Level, query_level: Level, model: Model) -> bool:
    if model is not Model.PATIENT_ROOT and attr_level is Level.PATIENT:
        return False
    return attr_level.depth > query_level.depth


def _levels(model: Model) -> tuple[Level, ...]:
    return LEVELS if model is Model.PATIENT_ROOT else LEVELS[1:]


def _check_hierarchy(
    model: Model,
    level: Level,
    present: dict[Level, Condition | None],
    options: QueryOptions,
    retrieve: bool,
) -> None:
    for lvl in _levels(model):
        if lvl.depth > level.depth:
            break
        at_level = lvl is level
        if at_level and not retrieve:
            continue  # the unique key at the query level may be universal or anything
        cond = present.get(lvl)
        name = unique_key(lvl).keyword
        if at_level:  # retrieve level: one UID or a list (C.4.2.2.1)
            if cond is None and not (options.relational and lvl is not _levels(model)[0]):
                raise QueryError(f"the retrieve identifier needs {name} at the {lvl} level")
            continue
        if options.relational and not retrieve:
            continue
        if cond is None:
            if options.strict_hierarchy:
                raise QueryError(
                    f"a hierarchical {level} query needs {name} (unique key of the "
                    f"{lvl} level) with a single value (PS3.4 C.4.1.2.1)"
                )
            continue
        if cond.kind is not Kind.SINGLE and not options.relational:
            raise QueryError(f"{name} above the query level must be a single value")


# -- SQL --------------------------------------------------------------------------------------

ALIAS: dict[Level, str] = {
    Level.PATIENT: "p",
    Level.STUDY: "st",
    Level.SERIES: "se",
    Level.IMAGE: "i",
}


def from_clause(level: Level) -> str:
    parts = [f"{TABLES[Level.PATIENT]} {ALIAS[Level.PATIENT]}"]
    for lvl in LEVELS[1 : level.depth + 1]:
        parent = LEVELS[lvl.depth - 1]
        parts.append(
            f"JOIN {TABLES[lvl]} {ALIAS[lvl]} ON {ALIAS[lvl]}.{PARENT_FK[lvl]} = {ALIAS[parent]}.id"
        )
    return " ".join(parts)


def column_ref(keyword: str) -> str:
    attr = BY_KEYWORD[keyword]
    return f"{ALIAS[attr.level]}.{attr.col}"


def condition_sql(cond: Condition, db: Any, options: QueryOptions) -> tuple[str, list[Any]]:
    """SQL text and parameters for one condition (``db`` supplies the dialect)."""
    attr = BY_KEYWORD[cond.keyword]
    col = f"{ALIAS[attr.level]}.{attr.col}"
    fold = attr.has_ci and options.pn_case_insensitive
    if cond.kind is Kind.EMPTY:
        return f"{col} = ''", []
    if cond.kind is Kind.UID_LIST:
        marks = ", ".join("?" for _ in cond.values)
        return f"{col} IN ({marks})", list(cond.values)
    if cond.kind is Kind.RANGE:
        return _range_sql(attr, col, cond.values[0], cond.values[1])
    value = cond.values[0]
    target = f"{col}_ci" if fold else col
    if fold:
        value = value.upper()
    if cond.kind is Kind.SINGLE:
        if attr.multi:
            sql, param = db.wildcard(f"('\\' || {target} || '\\')", "*\\" + value + "\\*")
            return sql, [param]
        return f"{target} = ?", [value]
    if attr.multi:  # any one value matches: pre-filter loosely, results.py re-checks exactly
        sql, param = db.wildcard(f"('\\' || {target} || '\\')", "*" + value + "*")
        return sql, [param]
    sql, param = db.wildcard(target, value)
    return sql, [param]


def _range_sql(attr: Attr, col: str, lo: str, hi: str) -> tuple[str, list[Any]]:
    if attr.vr == "DA":
        target, lo_n, hi_n = col, nz.norm_da(lo), nz.norm_da(hi)
    elif attr.vr == "TM":
        target, lo_n, hi_n = f"{col}_n", nz.norm_tm(lo), nz.norm_tm(hi, upper=True)
    else:
        target, lo_n, hi_n = f"{col}_n", nz.norm_dt(lo), nz.norm_dt(hi, upper=True)
    if (lo and not lo_n) or (hi and not hi_n):
        raise QueryError(f"malformed {attr.vr} range for {attr.keyword}: {lo}-{hi}")
    parts, params = [f"{target} <> ''"], []
    if lo_n:
        parts.append(f"{target} >= ?")
        params.append(lo_n)
    if hi_n:
        parts.append(f"{target} <= ?")
        params.append(hi_n)
    return " AND ".join(parts), params


def _combined_datetime(conds: list[Condition]) -> tuple[str, list[Any]] | None:
    """Study Date + Study Time ranges matched as one date-time range (PS3.4 C.2.2.2.5.1)."""
    d = next((c for c in conds if c.keyword == "StudyDate" and c.kind is Kind.RANGE), None)
    t = next((c for c in conds if c.keyword == "StudyTime" and c.kind is Kind.RANGE), None)
    if d is None or t is None:
        return None
    conds.remove(d)
    conds.remove(t)
    d_lo, d_hi = (nz.norm_da(v) for v in d.values)
    t_lo, t_hi = t.values
    lo = d_lo + (nz.norm_tm(t_lo) if t_lo else "") if d_lo else ""
    hi = d_hi + (nz.norm_tm(t_hi, upper=True) if t_hi else "235959.999999") if d_hi else ""
    expr = "(st.study_date || st.study_time_n)"
    parts, params = ["st.study_date <> ''"], []
    if lo:
        parts.append(f"{expr} >= ?")
        params.append(lo)
    if hi:
        parts.append(f"{expr} <= ?")
        params.append(hi)
    return " AND ".join(parts), params


def build_where(query: Query, db: Any) -> tuple[str, list[Any], list[Condition]]:
    """The WHERE clause, its parameters, and the conditions left for Python (sequences,
    wildcards on multi-valued attributes)."""
    sql_parts: list[str] = []
    params: list[Any] = []
    post: list[Condition] = []
    conds = list(query.conditions)
    if query.options.timezone_shift:
        from dicomkit.archive._timezone import adjusted

        sql_parts, params, conds = adjusted(conds, query.options.timezone_shift)
    if query.options.combined_datetime:
        combined = _combined_datetime(conds)
        if combined is not None:
            sql_parts.append(combined[0])
            params += combined[1]
    for cond in conds:
        if cond.kind is Kind.SEQUENCE:
            post.append(cond)
            continue
        if BY_KEYWORD[cond.keyword].multi and cond.kind is Kind.WILDCARD:
            post.append(cond)
        text, ps = condition_sql(cond, db, query.options)
        sql_parts.append(f"({text})")
        params += ps
    return (" AND ".join(sql_parts) or "1=1"), params, post


def build_sql(query: Query, db: Any, columns: list[str]) -> tuple[str, list[Any], list[Condition]]:
    """``SELECT columns FROM ... WHERE ... ORDER BY`` for ``query``."""
    where, params, post = build_where(query, db)
    order = ", ".join(f"{ALIAS[lvl]}.id" for lvl in LEVELS[: query.level.depth + 1])
    sql = (
        f"SELECT {', '.join(columns)} FROM {from_clause(query.level)} WHERE {where} "
        f"ORDER BY {order}"
    )
    return sql, params, post

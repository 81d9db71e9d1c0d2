"""QIDO-RS answers as DICOM JSON text straight from index rows (PS3.18 F.2).

The plan of a search is made once: which column (or constant) feeds each returned
attribute, in tag order, and the JSON text in front of its value. Each row is then written
as one JSON object text, and the answer is one join of them -- no result tuples, no
dictionaries, no ``json.dumps`` over a thousand objects. A row this path is not sure to
write exactly as the general path does (non-ASCII text, a non-empty sequence, a number
that is not plain, a Python-side matching condition) is written by the general path
(:func:`dicomkit.archive._results.make_result` then
:func:`dicomkit.web._qido_json.result_to_json`), so the answer is the same text either
way (``tests/web/test_qido_rows.py`` compares them).
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from dicomkit.archive._matching import ALIAS, Query, ReturnKey
from dicomkit.archive._results import _sequence_value, make_result
from dicomkit.archive._schema import BY_KEYWORD, LEVELS, SEQUENCES, Level
from dicomkit.dictionary import tags
from dicomkit.web._qido_json import (
    _FLOATS,
    _INTS,
    _ONE_VALUE,
    _PN_GROUPS,
    _SLOW,
    _number,
    result_to_json,
)

__all__ = ["RowWriter"]

_enc: Callable[[str], str] = json.encoder.encode_basestring


#: values kept per slot in a search's element memo (unique values, UIDs, stop filling it)
_MEMO = 4096


class _Fallback(Exception):
    """This row goes through the general path."""


def _text_values(vr: str, text: str) -> str:
    """The ``Value`` array text of a non-empty ASCII index value (raises :class:`_Fallback`)."""
    parts = [text] if vr in _ONE_VALUE else text.split("\\")
    if vr == "PN":
        out = []
        for p in parts:
            groups = [
                f"{_enc(n)}: {_enc(g)}" for n, g in zip(_PN_GROUPS, p.split("="), strict=False) if g
            ]
            out.append("{" + ", ".join(groups) + "}" if groups else "null")
        return ", ".join(out)
    if vr in _INTS or vr in _FLOATS:
        nums = []
        for p in parts:
            v = _number(vr, p)
            if v is _SLOW:
                raise _Fallback
            nums.append("null" if v is None else repr(v))
        return ", ".join(nums)
    if vr == "AT":
        raise _Fallback
    return ", ".join(_enc(p) if p else "null" for p in parts)


@dataclass(frozen=True, slots=True)
class _Slot:
    head: str  # '"TTTTTTTT": {"vr": "XX"'
    vr: str
    source: int  # column index; -1: constant text; -2: sequence; -3: RetrieveURL
    const: str = ""
    computed_is: bool = False
    key: ReturnKey | None = None  # a sequence's return key
    upper: bool = False  # a column of a level above the query's (same for a parent's rows)


class RowWriter:
    """Writes the rows of one query as DICOM JSON object texts."""

    def __init__(
        self,
        query: Query,
        columns: list[str],
        *,
        level: Level,
        base_url: str,
        retrieve_aet: str,
    ) -> None:
        self.query = query
        self.columns = columns
        self.level = level
        self.base_url = base_url
        self.retrieve_aet = retrieve_aet
        col_index = {c: i for i, c in enumerate(columns)}
        slots: dict[int, _Slot] = {}
        self._uid_cols: dict[str, int] = {}
        self.fast = not query.charset_requested
        for key in sorted(query.return_keys, key=lambda k: k.tag):
            head = f'"{key.tag:08X}": {{"vr": "{key.vr}"'
            if key.tag in (tags.SpecificCharacterSet, tags.QueryRetrieveLevel):
                self.fast = False
                continue
            if key.keyword == "RetrieveAETitle":
                slot = _Slot(head, key.vr, -1, retrieve_aet)
            elif key.keyword == "InstanceAvailability":
                slot = _Slot(head, key.vr, -1, "ONLINE")
            elif key.level is None:
                slot = _Slot(head, key.vr, -1, "")
            elif key.keyword in SEQUENCES:
                slot = _Slot(head, key.vr, -2, key=key)
            else:
                attr = BY_KEYWORD[key.keyword]
                idx = col_index[f"{ALIAS[attr.level]}.{attr.col}"]
                slot = _Slot(
                    head,
                    key.vr,
                    idx,
                    computed_is=attr.computed and attr.vr == "IS",
                    upper=attr.level.depth < query.level.depth,
                )
                if key.keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
                    self._uid_cols[key.keyword] = idx
            if not isinstance(slot.const, str) or not slot.const.isascii():
                self.fast = False
            slots[key.tag] = slot
        if base_url:
            slots[tags.RetrieveURL] = _Slot(f'"{tags.RetrieveURL:08X}": {{"vr": "UR"', "UR", -3)
        self.slots = [slots[t] for t in sorted(slots)]
        # the element text of each value seen, per slot: the study and series columns of a
        # thousand instance rows repeat, so most elements are written once per search
        self._memos: list[dict[Any, str]] = [{} for _s in self.slots]
        for s, memo in zip(self.slots, self._memos, strict=True):
            if s.source == -1 and self.fast:
                memo[""] = self._element(s, s.const)
        # The slots above the query's level (a series' and its study's attributes in an
        # instance search) give the same text for every row under one series: a row is that
        # template with the slots of its own level filled in.
        self._upper_cols = [s.source for s in self.slots if s.source >= 0 and s.upper]
        cols = self._upper_cols
        getter: Callable[[tuple[Any, ...]], tuple[Any, ...]] = lambda row: ()
        if len(cols) == 1:  # itemgetter of one column gives the value, not a tuple
            getter = lambda row: (row[cols[0]],)
        elif cols:
            getter = operator.itemgetter(*cols)
        self._upper_of = getter
        self._lower = {
            i
            for i, s in enumerate(self.slots)
            if not (s.source == -1 or (s.source >= 0 and s.upper))
        }
        self._lower_slots = [(i, self.slots[i], self._memos[i]) for i in sorted(self._lower)]
        self._templates: dict[Any, list[str]] = {}
        self.extra_cols = [
            col_index[f"{ALIAS[lvl]}.extra"] for lvl in LEVELS[: query.level.depth + 1]
        ]
        self._seqs: dict[tuple[int, tuple[str, ...]], str] = {}
        keywords = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")
        self._url_parts = [
            (f"/{segment}/", self._uid_cols.get(kw))
            for segment, kw in zip(("studies", "series", "instances"), keywords, strict=True)
        ][: level.depth]

    def _url(self, row: tuple[Any, ...]) -> str:
        url = self.base_url
        for segment, i in self._url_parts:
            value = None if i is None else row[i]
            url += segment if value is None else f"{segment}{value}"
        return url

    def _sequence(self, row: tuple[Any, ...], slot: _Slot) -> str:
        """The element text of a sequence kept in the rows' ``extra`` blobs ("" when empty);
        raises :class:`_Fallback` for non-ASCII items."""
        key = slot.key
        assert key is not None
        blobs = tuple(row[i] or "" for i in self.extra_cols)
        cached = self._seqs.get((key.tag, blobs))
        if cached is not None:
            return cached
        items: list[dict[str, str]] = []
        for blob in blobs:
            if blob:
                extras = json.loads(blob)
                if key.keyword in extras:
                    items = extras[key.keyword]
        text = ""
        if items:
            value = _sequence_value(key, items, None)
            if not json.dumps(value).isascii():
                raise _Fallback
            obj = result_to_json([(key.tag, key.keyword, key.vr, value)])[f"{key.tag:08X}"]
            text = f'"{key.tag:08X}": ' + json.dumps(obj, ensure_ascii=False)
        self._seqs[key.tag, blobs] = text
        return text

    def _element(self, s: _Slot, raw: Any) -> str:
        """The element text of a column value (raises :class:`_Fallback`)."""
        text = str(int(raw or 0)) if s.computed_is else "" if raw is None else str(raw)
        if not text:
            return s.head + "}"
        if not text.isascii():
            raise _Fallback
        return f'{s.head}, "Value": [{_text_values(s.vr, text)}]}}'

    def _text(self, s: _Slot, memo: dict[Any, str], row: tuple[Any, ...]) -> str:
        """One slot's element text for ``row`` (raises :class:`_Fallback`)."""
        if s.source >= 0:
            raw = row[s.source]
            key = raw if type(raw) is str else (type(raw), raw)  # 1, 1.0 and True apart
            text = memo.get(key)
            if text is None:
                text = self._element(s, raw)
                if len(memo) < _MEMO:
                    memo[key] = text
            return text
        if s.source == -1:
            return memo[""]
        if s.source == -2:
            return self._sequence(row, s) or s.head + "}"
        return f'{s.head}, "Value": [{_enc(self._url(row))}]}}'

    def _fast(self, row: tuple[Any, ...]) -> str:
        upper = self._upper_of(row)
        key = (upper, tuple(map(type, upper)))
        template = self._templates.get(key)
        if template is None:  # the elements of the row's study (and series) levels
            template = [
                "" if i in self._lower else self._text(s, memo, row)
                for i, (s, memo) in enumerate(zip(self.slots, self._memos, strict=True))
            ]
            if len(self._templates) < _MEMO:
                self._templates[key] = template
        parts = template.copy()
        for i, s, memo in self._lower_slots:
            parts[i] = self._text(s, memo, row)
        return "{" + ", ".join(parts) + "}"

    def _general(self, row: tuple[Any, ...], post: list[Any]) -> str | None:
        from dicomkit.web._qido import _to_json

        res = make_result(self.query, self.columns, row, post, retrieve_aet=self.retrieve_aet)
        if res is None:
            return None
        return json.dumps(_to_json(self.level, res.elements, self.base_url), ensure_ascii=False)

    def texts(self, rows: Iterator[tuple[Any, ...]], post: list[Any]) -> Iterator[str]:
        """The JSON object text of each matching row, in row order."""
        fast = self.fast and not post
        for row in rows:
            if fast:
                try:
                    yield self._fast(row)
                    continue
                except _Fallback:
                    pass
            text = self._general(row, post)
            if text is not None:
                yield text

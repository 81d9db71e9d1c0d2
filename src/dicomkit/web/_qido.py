"""QIDO-RS (PS3.18 10.6): search query parameters to the archive's C-FIND matching.

A search is turned into the identifier a C-FIND request would carry (Study Root,
relational) and run through :meth:`dicomkit.archive._node.Archive.find`, so a QIDO-RS
search and a C-FIND on the same index give the same matches: wildcards, ranges, UID lists
(``uid1,uid2`` or ``uid1\\uid2``), empty-value matching, sequence keys
(``RequestAttributesSequence.RequestedProcedureID=X``).

Parameters (PS3.18 8.3.4): ``{attributeID}={value}`` (keyword or eight hex digits),
``includefield`` (repeatable or comma separated; ``all`` returns every attribute the index
keeps), ``limit``, ``offset``, ``fuzzymatching`` (person names: case-insensitive match of
the given text anywhere in the name).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from dicomkit.archive._matching import Model
from dicomkit.archive._node import Archive
from dicomkit.archive._schema import ATTRIBUTES, LEVELS, SEQUENCES, Level
from dicomkit.dictionary import keyword_for_tag, tag_for_keyword, tags, vr_for_tag
from dicomkit.errors import DicomError

__all__ = ["DEFAULT_KEYS", "QidoError", "Search", "parse_search", "run_search", "search_json"]

STUDY, SERIES, IMAGE = Level.STUDY, Level.SERIES, Level.IMAGE


class QidoError(DicomError):
    """A search the server refuses; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


#: The attributes returned by default at each level (PS3.18 Tables 10.6.3-3 to -5).
DEFAULT_KEYS: dict[Level, tuple[str, ...]] = {
    STUDY: (
        "StudyDate",
        "StudyTime",
        "AccessionNumber",
        "InstanceAvailability",
        "ModalitiesInStudy",
        "ReferringPhysicianName",
        "PatientName",
        "PatientID",
        "PatientBirthDate",
        "PatientSex",
        "StudyInstanceUID",
        "StudyID",
        "NumberOfStudyRelatedSeries",
        "NumberOfStudyRelatedInstances",
    ),
    SERIES: (
        "Modality",
        "SeriesDescription",
        "SeriesInstanceUID",
        "SeriesNumber",
        "NumberOfSeriesRelatedInstances",
        "PerformedProcedureStepStartDate",
        "PerformedProcedureStepStartTime",
        "RequestAttributesSequence",
    ),
    IMAGE: (
        "SOPClassUID",
        "SOPInstanceUID",
        "InstanceAvailability",
        "InstanceNumber",
        "Rows",
        "Columns",
        "BitsAllocated",
        "NumberOfFrames",
    ),
}

_RESERVED = frozenset({"includefield", "limit", "offset", "fuzzymatching"})
_PATH_UIDS = {STUDY: "StudyInstanceUID", SERIES: "SeriesInstanceUID", IMAGE: "SOPInstanceUID"}


@dataclass(frozen=True, slots=True)
class Search:
    """A parsed QIDO-RS request: the C-FIND identifier and the paging."""

    level: Level
    identifier: dict[str, Any]
    limit: int | None = None
    offset: int = 0
    fuzzy: bool = False


def _keyword(attribute_id: str) -> str:
    """A keyword from a keyword or eight hex digits; raises :class:`QidoError`."""
    if len(attribute_id) == 8 and all(c in "0123456789abcdefABCDEF" for c in attribute_id):
        kw = keyword_for_tag(int(attribute_id, 16))
        if kw:
            return str(kw)
    elif tag_for_keyword(attribute_id) is not None:
        return attribute_id
    raise QidoError(
        f"unknown attribute {attribute_id!r}: use a DICOM keyword (PatientName) or a tag "
        "as eight hex digits (00100010)"
    )


def _vr(keyword: str) -> str:
    tag = tag_for_keyword(keyword)
    return str(vr_for_tag(int(tag))) if tag is not None else ""


def _levels_up_to(level: Level) -> list[Level]:
    return [lvl for lvl in LEVELS[1:] if lvl.depth <= level.depth]


def _all_keys(level: Level) -> list[str]:
    """``includefield=all``: every attribute the index keeps at and above the level."""
    keys = [a.keyword for a in ATTRIBUTES if a.level.depth <= level.depth]
    keys += [kw for kw, (_tag, lvl) in SEQUENCES.items() if lvl.depth <= level.depth]
    return keys


def parse_search(
    level: Level,
    params: Iterable[tuple[str, str]],
    *,
    study: str | None = None,
    series: str | None = None,
) -> Search:
    """The :class:`Search` for a QIDO-RS request at ``level`` (``studies``, ``series`` or
    ``instances``), with its query parameters and the UIDs of the resource path."""
    ident: dict[str, Any] = {"QueryRetrieveLevel": level.value}
    include: list[str] = []
    limit: int | None = None
    offset = 0
    fuzzy = False
    seq_items: dict[str, dict[str, Any]] = {}
    for name, value in params:
        if name == "includefield":
            include += [v.strip() for v in value.split(",") if v.strip()]
        elif name in ("limit", "offset"):
            try:
                n = int(value)
            except ValueError:
                raise QidoError(f"{name}={value!r} is not a whole number") from None
            if n < 0:
                raise QidoError(f"{name} must not be negative, got {n}")
            if name == "limit":
                limit = n
            else:
                offset = n
        elif name == "fuzzymatching":
            if value.lower() not in ("true", "false"):
                raise QidoError(f"fuzzymatching must be true or false, got {value!r}")
            fuzzy = value.lower() == "true"
        elif "." in name:  # sequence matching: Sequence.Attribute=value (one level)
            seq_id, _, sub_id = name.partition(".")
            seq_kw, sub_kw = _keyword(seq_id), _keyword(sub_id)
            if seq_kw not in SEQUENCES:
                raise QidoError(f"sequence matching on {seq_kw} is not supported")
            seq_items.setdefault(seq_kw, {})[sub_kw] = value
        else:
            kw = _keyword(name)
            if kw in ident and kw != "QueryRetrieveLevel":
                raise QidoError(f"{kw} is given twice; list UIDs as uid1,uid2")
            ident[kw] = _match_value(kw, value)
    if fuzzy:
        for kw, value in list(ident.items()):
            if _vr(kw) == "PN" and value and "*" not in value and "?" not in value:
                ident[kw] = f"*{value}*"
    for kw, item in seq_items.items():
        ident[kw] = [item]
    for key, uid in ((STUDY, study), (SERIES, series)):
        if uid is not None:
            _check_uid(uid)
            ident[_PATH_UIDS[key]] = uid
    keys: list[str] = []
    for lvl in _levels_up_to(level):
        if lvl is level or (lvl is STUDY and study is None) or (lvl is SERIES and series is None):
            keys += DEFAULT_KEYS[lvl]
    for name in include:
        keys += _all_keys(level) if name == "all" else [_keyword(name)]
    for kw in keys:
        ident.setdefault(kw, [] if kw in SEQUENCES else "")
    return Search(level, ident, limit, offset, fuzzy)


def _check_uid(uid: str) -> None:
    if not uid or len(uid) > 64 or any(c not in "0123456789." for c in uid):
        raise QidoError(f"{uid!r} is not a UID (digits and dots, at most 64 characters)")


def _match_value(keyword: str, value: str) -> str:
    """A query parameter's value as C-FIND matching takes it; UID lists may be separated
    by commas or backslashes (PS3.18 8.3.4.1)."""
    if _vr(keyword) == "UI":
        return "\\".join(v.strip() for v in value.replace(",", "\\").split("\\") if v.strip())
    return value


def run_search(
    archive: Archive,
    search: Search,
    *,
    base_url: str = "",
    retrieve_aet: str = "",
) -> tuple[list[dict[str, Any]], bool]:
    """The DICOM JSON objects (PS3.18 F) of the matches, and whether more matches exist
    beyond ``limit``. Raises :class:`QidoError` for a query the matching refuses."""
    from dicomkit.archive._matching import QueryError

    options = dataclasses.replace(archive.options, relational=True)
    results = archive.find(
        search.identifier, Model.STUDY_ROOT, options=options, retrieve_aet=retrieve_aet
    )
    stop = None if search.limit is None else search.offset + search.limit
    try:
        window = list(itertools.islice(results, search.offset, stop))
        more = stop is not None and next(iter(results), None) is not None
    except QueryError as exc:
        raise QidoError(str(exc)) from exc
    return [_to_json(search.level, res.elements, base_url) for res in window], more


def search_json(
    archive: Archive,
    search: Search,
    *,
    base_url: str = "",
    retrieve_aet: str = "",
) -> tuple[bytes, int, bool]:
    """The JSON answer (UTF-8 text of the array :func:`run_search` gives, as
    ``json.dumps`` writes it), the number of matches in it, and whether more matches exist
    beyond ``limit``. Written from the index rows directly
    (:class:`~dicomkit.web._qido_rows.RowWriter`). Raises :class:`QidoError`."""
    from dicomkit.archive._matching import QueryError, parse_query
    from dicomkit.web._qido_rows import RowWriter

    options = dataclasses.replace(archive.options, relational=True)
    stop = None if search.limit is None else search.offset + search.limit
    try:
        query = parse_query(search.identifier, Model.STUDY_ROOT, options)
        columns, rows, post = archive.index.select(query)
        writer = RowWriter(
            query, columns, level=search.level, base_url=base_url, retrieve_aet=retrieve_aet
        )
        texts = writer.texts(rows, post)
        window = list(itertools.islice(texts, search.offset, stop))
        more = stop is not None and next(texts, None) is not None
    except QueryError as exc:
        raise QidoError(str(exc)) from exc
    return ("[" + ", ".join(window) + "]").encode(), len(window), more


def _to_json(level: Level, elements: Iterable[Any], base_url: str) -> dict[str, Any]:
    elems = [e for e in elements if e[0] != tags.QueryRetrieveLevel]
    values = {kw: value for _tag, kw, _vr, value in elems}
    if base_url:
        url = f"{base_url}/studies/{values.get('StudyInstanceUID', '')}"
        if level is not STUDY:
            url += f"/series/{values.get('SeriesInstanceUID', '')}"
        if level is IMAGE:
            url += f"/instances/{values.get('SOPInstanceUID', '')}"
        elems.append((tags.RetrieveURL, "RetrieveURL", "UR", url))
    from dicomkit.web._qido_json import result_to_json

    return result_to_json(elems)


def iter_json_array(objects: list[dict[str, Any]]) -> Iterator[bytes]:
    """A JSON array, one object at a time (UTF-8)."""
    import json

    yield b"["
    for i, obj in enumerate(objects):
        if i:
            yield b","
        yield json.dumps(obj, ensure_ascii=False).encode()
    yield b"]"

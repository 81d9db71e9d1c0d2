"""QIDO-RS JSON written straight from index rows is the same text as the general path's
(search results -> DICOM JSON objects -> ``json.dumps``), for every level and shape of
search, and the direct path is the one taken for plain rows."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dicomkit.archive._schema import Level
from dicomkit.web import _qido_rows
from dicomkit.web._qido import parse_search, run_search, search_json

BASE = "http://127.0.0.1:8042/dicom-web"

SEARCHES: list[tuple[Level, list[tuple[str, str]]]] = [
    (Level.STUDY, []),
    (Level.STUDY, [("includefield", "all")]),
    (Level.SERIES, [("includefield", "all")]),
    (Level.IMAGE, []),
    (Level.IMAGE, [("includefield", "all")]),
    (Level.IMAGE, [("limit", "3"), ("offset", "2")]),
    (Level.STUDY, [("PatientName", "*a*"), ("fuzzymatching", "true")]),
    (Level.STUDY, [("ModalitiesInStudy", "C*")]),
    (Level.SERIES, [("RequestAttributesSequence.RequestedProcedureID", "*")]),
    (Level.IMAGE, [("includefield", "SpecificCharacterSet")]),
    (Level.IMAGE, [("includefield", "RetrieveAETitle"), ("limit", "5")]),
]


@pytest.mark.parametrize(("level", "params"), SEARCHES)
def test_same_text_as_the_general_path(served: Any, level: Level, params: Any) -> None:
    search = parse_search(level, params)
    objects, more = run_search(served.archive, search, base_url=BASE, retrieve_aet="ARCH")
    body, count, more_direct = search_json(
        served.archive, search, base_url=BASE, retrieve_aet="ARCH"
    )
    assert body == json.dumps(objects, ensure_ascii=False).encode()
    assert (count, more_direct) == (len(objects), more)


def test_nested_search_and_no_base_url(served: Any) -> None:
    study = served.rows[0]["StudyInstanceUID"]
    search = parse_search(Level.IMAGE, [], study=study)
    objects, _ = run_search(served.archive, search)
    body, count, _ = search_json(served.archive, search)
    assert count == len(objects) > 0
    assert json.loads(body) == objects


def test_plain_rows_take_the_direct_path(served: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    general = _qido_rows.RowWriter._general

    def spy(self: Any, row: Any, post: Any) -> Any:
        calls.append(row)
        return general(self, row, post)

    monkeypatch.setattr(_qido_rows.RowWriter, "_general", spy)
    body, count, _ = search_json(served.archive, parse_search(Level.IMAGE, []), base_url=BASE)
    assert count > 0
    assert len(calls) < count  # some rows (non-ASCII names) may take the general path
    assert json.loads(body)[0]["00081190"]["Value"][0].startswith(BASE + "/studies/")


@pytest.mark.parametrize(
    ("level", "params", "nested"),
    [
        (Level.IMAGE, [], "study"),
        (Level.IMAGE, [("includefield", "all")], "study"),
        (Level.IMAGE, [("includefield", "all")], "series"),
        (Level.SERIES, [("includefield", "all")], "study"),
        (Level.IMAGE, [("limit", "2"), ("offset", "1")], "study"),
    ],
)
def test_nested_searches_same_text_as_the_general_path(
    served: Any, level: Level, params: Any, nested: str
) -> None:
    """Rows under one study or series share their upper levels' elements (written once per
    parent): the text is still the general path's, row for row."""
    seen = 0
    for row in served.rows:
        study = row["StudyInstanceUID"]
        series = row["SeriesInstanceUID"] if nested == "series" else None
        search = parse_search(level, params, study=study, series=series)
        objects, more = run_search(served.archive, search, base_url=BASE, retrieve_aet="ARCH")
        body, count, more_direct = search_json(
            served.archive, search, base_url=BASE, retrieve_aet="ARCH"
        )
        assert body == json.dumps(objects, ensure_ascii=False).encode()
        assert (count, more_direct) == (len(objects), more)
        seen += count
    assert seen > len(served.rows) // 2

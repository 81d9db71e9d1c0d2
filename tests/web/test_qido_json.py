"""The direct search-result-to-JSON path gives what the data set path gives, for every
match of every level with every attribute the index keeps (non-ASCII names, several values,
sequences, numbers)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from dicomkit.archive._schema import Level
from dicomkit.io import to_json
from dicomkit.services._query_retrieve import elements_to_dataset
from dicomkit.web._qido import parse_search
from dicomkit.web._qido_json import result_to_json


@pytest.mark.parametrize("level", [Level.STUDY, Level.SERIES, Level.IMAGE])
def test_same_json_as_through_a_dataset(served: Any, level: Level) -> None:
    archive = served.archive
    search = parse_search(level, [("includefield", "all")])
    options = dataclasses.replace(archive.options, relational=True)
    results = list(archive.find(search.identifier, options=options))
    assert len(results) > 3
    multi = 0
    for res in results:
        fast = result_to_json(res.elements)
        slow = to_json(elements_to_dataset(list(res.elements)))
        assert fast == slow
        multi += any(len(v.get("Value", ())) > 1 for v in fast.values())
    if level is Level.STUDY:
        assert multi  # ModalitiesInStudy with several values was compared too


def test_numbers_names_and_text() -> None:
    elements = [
        (0x00100010, "PatientName", "PN", "YAMADA^TARO=山田^太郎"),
        (0x00201208, "NumberOfStudyRelatedInstances", "IS", "12"),
        (0x00280030, "PixelSpacing", "DS", "0.5\\1"),
        (0x00280010, "Rows", "US", "512"),
        (0x00081030, "StudyDescription", "LO", "a\\b"),
        (0x00324000, "StudyComments", "LT", "back\\slash"),
    ]
    got = result_to_json(elements)
    assert got["00100010"]["Value"] == [{"Alphabetic": "YAMADA^TARO", "Ideographic": "山田^太郎"}]
    assert got["00201208"]["Value"] == [12]
    assert got["00280030"]["Value"] == [0.5, 1]
    assert got["00280010"]["Value"] == [512]
    assert got["00081030"]["Value"] == ["a", "b"]
    assert got["00324000"]["Value"] == ["back\\slash"]

"""Dummy / clean values, date shifts, UID replacement."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from dicomkit.core._uid import is_valid_uid
from dicomkit.deid import UIDMap, hashed_uid
from dicomkit.deid._actions import (
    DEFAULT_DUMMIES,
    clean_value,
    derive_shift,
    shift_days,
    shift_value,
)


def test_dummies_cover_every_non_sequence_vr() -> None:
    from dicomkit.core._vr import VR

    missing = {str(v) for v in VR} - set(DEFAULT_DUMMIES) - {"SQ", "UI"}
    assert not missing


def test_shift_da_dt_and_ranges() -> None:
    assert shift_value("DA", "20240301", -1) == "20240229"
    assert shift_value("DA", ["20240101", "20231231"], 1) == ["20240102", "20240101"]
    assert shift_value("DA", "20240101-20240201", -31) == "20231201-20240101"
    assert shift_value("DT", "20240101120000.5+0100", 10) == "20240111120000.5+0100"
    assert shift_value("DT", "2024", -1) == "2023"
    assert shift_value("TM", "101010", 5) == "101010"
    assert shift_value("DA", "", 5) is None
    assert shift_value("DA", "garbage!", 5) == "19000101"


def test_shift_days() -> None:
    assert shift_days(timedelta(days=-3)) == -3
    assert shift_days(7) == 7
    with pytest.raises(ValueError):
        shift_days(timedelta(hours=5))


def test_derived_shift_is_stable_and_negative() -> None:
    a = derive_shift("PAT1", b"k")
    assert a == derive_shift("PAT1", b"k")
    assert -3650 <= a <= -1
    assert {derive_shift(f"P{i}", b"k") for i in range(20)} != {a}


def test_clean_values() -> None:
    assert clean_value("LO", "Dr Smith's note") == "ANONYMIZED"
    assert clean_value("LO", "") is None
    assert clean_value("CS", "YES") == "YES"
    assert clean_value("OW", b"\x01\x02\x03\x04") == b"\x00" * 4


def test_hashed_uid_is_valid_and_keyed() -> None:
    uid = "1.2.840.113619.2.55.3.604688119.969.1268071029.320"
    new = hashed_uid(uid, b"salt")
    assert new.startswith("2.25.") and is_valid_uid(new) and len(new) <= 64
    assert new == hashed_uid(uid, b"salt")
    assert new != hashed_uid(uid, b"other")
    assert new != hashed_uid(uid + "1", b"salt")


def test_uid_map_consistent_and_json_round_trip(tmp_path: Path) -> None:
    m = UIDMap()
    a = m.replace("1.2.3")
    assert m.replace("1.2.3 ") == a and m["1.2.3"] == a and len(m) == 1
    path = tmp_path / "map.json"
    m.save(path)
    again = UIDMap.load(path)
    assert again.replace("1.2.3") == a
    assert again.replace("1.2.4") == m.replace("1.2.4")  # same salt: same new UIDs
    plain = UIDMap.from_json({"1.2.3": "2.25.5"})
    assert plain.replace("1.2.3") == "2.25.5"
    path.write_text("[1, 2]")
    with pytest.raises(ValueError):
        UIDMap.load(path)
    path.write_text("{not json")
    with pytest.raises(ValueError):
        UIDMap.load(path)
    assert json.loads(json.dumps(m.to_json()))["uids"]["1.2.3"] == a

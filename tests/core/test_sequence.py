"""Sequence: a list of Dataset items that know their parent (charset inheritance)."""

from __future__ import annotations

import pytest

from dicomkit import Dataset, Sequence


def _item(code: str) -> Dataset:
    ds = Dataset()
    ds.CodeValue = code
    return ds


def test_list_behaviour() -> None:
    seq = Sequence([_item("a"), _item("b")])
    seq.append(_item("c"))
    seq.insert(0, _item("z"))
    seq.extend([_item("d")])
    seq += [_item("e")]
    seq[1] = _item("A")
    seq[0:1] = [_item("Z")]
    assert [i.CodeValue for i in seq] == ["Z", "A", "b", "c", "d", "e"]
    assert repr(seq) == "<Sequence of 6 items>"


def test_items_must_be_datasets() -> None:
    seq = Sequence()
    with pytest.raises(TypeError):
        seq.append({"CodeValue": "1"})  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Sequence([1])  # type: ignore[list-item]


def test_parent_is_set_when_stored() -> None:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.ReferencedStudySequence = [_item("x")]
    seq = ds.ReferencedStudySequence
    assert seq.parent is ds
    assert seq[0].parent is ds
    seq.append(_item("y"))
    assert seq[1].parent is ds
    assert seq[1].charsets == ds.charsets


def test_copy_is_deep() -> None:
    seq = Sequence([_item("a")])
    dup = seq.copy()
    dup[0].CodeValue = "b"
    assert seq[0].CodeValue == "a"
    assert isinstance(dup, Sequence)

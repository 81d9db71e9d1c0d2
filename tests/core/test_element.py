"""DataElement: made from values, decoded lazily from raw bytes."""

from __future__ import annotations

import pytest

from dicomkit import DataElement, Dataset, Sequence, Tag
from dicomkit.core.values._charset import Charsets


def test_from_value() -> None:
    el = DataElement(0x00100010, "PN", "DOE^J")
    assert el.tag == Tag(0x0010, 0x0010)
    assert isinstance(el.tag, Tag)
    assert el.vr == "PN"
    assert el.value == "DOE^J"
    assert el.raw is None
    assert el.keyword == "PatientName"
    assert el.name == "Patient's Name"
    assert el.VM == 1
    assert not el.is_undefined_length


def test_tag_from_keyword_string() -> None:
    assert DataElement("PatientID", "LO", "X").tag == 0x00100020


def test_lazy_decode_from_raw() -> None:
    el = DataElement.from_raw(0x00280030, "DS", b"0.5\\0.25", True, None)
    assert el.raw == b"0.5\\0.25"
    assert el.value == [0.5, 0.25]
    assert el.VM == 2
    assert el.raw == b"0.5\\0.25"  # still kept for byte-exact writing


def test_decode_big_endian() -> None:
    el = DataElement.from_raw(0x00280010, "US", b"\x01\x00", False, None)
    assert el.value == 256
    assert not el.is_little_endian


def test_decode_with_charsets() -> None:
    cs = Charsets.from_value("ISO_IR 192")
    el = DataElement.from_raw(0x00100010, "PN", "Müller^Jürgen".encode(), True, cs)
    assert str(el.value) == "Müller^Jürgen"
    assert el.charsets == cs


def test_setting_value_drops_raw() -> None:
    el = DataElement.from_raw(0x00100020, "LO", b"ABC ", True, None)
    assert el.value == "ABC"
    el.value = "XYZ"
    assert el.raw is None
    assert el.value == "XYZ"


def test_list_becomes_multivalue() -> None:
    el = DataElement(0x00080008, "CS", ["ORIGINAL", "PRIMARY"])
    assert el.VM == 2
    assert list(el.value) == ["ORIGINAL", "PRIMARY"]


def test_empty_vm_zero() -> None:
    assert DataElement(0x00100010, "PN", "").VM == 0
    assert DataElement(0x00280010, "US", None).VM == 0
    assert DataElement(0x7FE00010, "OB", b"").VM == 0
    assert DataElement(0x7FE00010, "OB", b"\x00\x01").VM == 1


def test_sequence_value() -> None:
    item = Dataset()
    item.CodeValue = "123"
    el = DataElement(0x00081032, "SQ", [item])
    assert isinstance(el.value, Sequence)
    assert el.VM == 1
    assert el.value[0].CodeValue == "123"
    assert DataElement(0x00081032, "SQ", None).value == []


def test_equality_raw_and_value() -> None:
    a = DataElement.from_raw(0x00100020, "LO", b"ABC ", True, None)
    b = DataElement(0x00100020, "LO", "ABC")
    assert a == b
    assert a != DataElement(0x00100020, "SH", "ABC")
    assert a != DataElement(0x00100021, "LO", "ABC")
    assert (a == 3) is False


def test_unhashable() -> None:
    with pytest.raises(TypeError):
        hash(DataElement(0x00100020, "LO", "A"))


def test_repr_shortens() -> None:
    assert "DOE" in repr(DataElement(0x00100010, "PN", "DOE"))
    assert "<1000 bytes>" in repr(DataElement(0x7FE00010, "OB", b"\x00" * 1000))
    item = Dataset()
    assert "Sequence of 1 items" in repr(DataElement(0x00081032, "SQ", [item]))


def test_private_names() -> None:
    assert DataElement(0x00090010, "LO", "ACME").name == "Private Creator"
    assert DataElement(0x00091001, "UN", b"").name == "Private tag data"
    assert DataElement(0x00091001, "UN", b"").is_private
    assert DataElement(0x00091001, "UN", b"").keyword == ""


def test_copy_is_deep_for_sequences() -> None:
    item = Dataset()
    item.CodeValue = "1"
    el = DataElement(0x00081032, "SQ", [item])
    dup = el.copy()
    dup.value[0].CodeValue = "2"
    assert el.value[0].CodeValue == "1"
    assert dup == DataElement(0x00081032, "SQ", [dup.value[0]])


def test_length() -> None:
    assert DataElement.from_raw(0x00100020, "LO", b"AB", True, None).length == 2
    assert DataElement(0x00100020, "LO", "AB").length == -1

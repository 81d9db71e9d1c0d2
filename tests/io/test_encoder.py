"""Dataset -> bytes: every uncompressed encoding, byte swapping, raw reuse."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from builders import UNDEF, exp, imp, item, seq_delim, sq

from dicomkit import DataElement, Dataset
from dicomkit.errors import InvalidValueError
from dicomkit.io._decoder import decode_dataset
from dicomkit.io._encoder import encode_dataset, encode_element, swap_bytes, write_dataset

ENCODINGS = [(True, True), (False, True), (False, False)]


def _sample() -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientName = "Müller^Jürgen"
    ds.PatientID = "ID1"
    ds.Rows = 512
    ds.PixelSpacing = [0.5, 0.25]
    ds.InstanceNumber = 7
    ds.SOPInstanceUID = "1.2.3"
    ds.FrameIncrementPointer = 0x00181063
    ds.set("RealWorldValueSlope", 1.5)
    ds.ContentSequence = [
        Dataset({"CodeValue": "A", "CodeMeaning": "ä"}),
        Dataset({"ValueType": "TEXT"}),
    ]
    ds.set(0x7FE00010, b"\x01\x02\x03\x04", vr="OW")
    return ds


@pytest.mark.parametrize("implicit,little", ENCODINGS)
def test_roundtrip_each_encoding(implicit: bool, little: bool) -> None:
    ds = _sample()
    buf = encode_dataset(ds, implicit=implicit, little=little)
    back = decode_dataset(buf, implicit=implicit, little=little)
    assert str(back.PatientName) == "Müller^Jürgen"
    assert back.Rows == 512
    assert back.PixelSpacing == [0.5, 0.25]
    assert back.InstanceNumber == 7
    assert back.SOPInstanceUID == "1.2.3"
    assert back.FrameIncrementPointer == 0x00181063
    assert back.RealWorldValueSlope == 1.5
    assert back.ContentSequence[1].ValueType == "TEXT"
    assert back.ContentSequence[0].CodeMeaning == "ä"
    # re-encoding what was read is byte-identical
    assert encode_dataset(back, implicit=implicit, little=little) == buf


def test_byte_swapping_raw_values() -> None:
    le = (
        exp(0x00209165, "AT", b"\x18\x00\x63\x10")
        + exp(0x00280010, "US", b"\x00\x02")
        + exp(0x00281052, "DS", b"1.5 ")
        + exp(0x7FE00010, "OW", b"\x01\x02\x03\x04")
    )
    ds = decode_dataset(le, implicit=False, little=True)
    be = encode_dataset(ds, implicit=False, little=False)
    assert exp(0x00280010, "US", b"\x02\x00", little=False) in be
    assert exp(0x7FE00010, "OW", b"\x02\x01\x04\x03", little=False) in be
    assert exp(0x00281052, "DS", b"1.5 ", little=False) in be
    back = decode_dataset(be, implicit=False, little=False)
    assert back.Rows == 512
    assert back[0x00209165].value == 0x00181063
    assert encode_dataset(back, implicit=False, little=True) == le


def test_swap_bytes() -> None:
    assert swap_bytes(b"\x01\x02\x03\x04", 2) == b"\x02\x01\x04\x03"
    assert swap_bytes(b"\x01\x02\x03\x04\x05", 4) == b"\x04\x03\x02\x01\x05"
    assert swap_bytes(memoryview(b"\x01\x02\x03\x04\x05\x06\x07\x08"), 8) == bytes(range(8, 0, -1))


def test_long_short_vr_becomes_un() -> None:
    ds = Dataset()
    ds.set(0x00204000, "x" * 70000, vr="LT", validation="off")  # too long for LT on purpose
    buf = encode_dataset(ds, implicit=False, little=True)
    assert buf[4:6] == b"UN" and len(buf) == 12 + 70000


def test_odd_values_are_padded() -> None:
    ds = Dataset()
    ds.SOPInstanceUID = "1.2.345"
    ds.PatientID = "ABC"
    buf = encode_dataset(ds, implicit=False, little=True)
    assert exp(0x00080018, "UI", b"1.2.345\x00") in buf
    assert exp(0x00100020, "LO", b"ABC ") in buf
    ds.set(0x00091001, b"\x01", vr="OB")
    assert encode_element(ds[0x00091001], implicit=False, little=True).endswith(b"\x01\x00")


def test_group_length_kept_or_dropped() -> None:
    buf = imp(0x00080000, b"\x0c\x00\x00\x00") + imp(0x00080018, b"1.2.3\x00")
    ds = decode_dataset(buf, implicit=True, little=True)
    assert encode_dataset(ds, implicit=True, little=True) == buf
    explicit = encode_dataset(ds, implicit=False, little=True)
    assert explicit == exp(0x00080018, "UI", b"1.2.3\x00")


def test_unknown_vr_written_as_un() -> None:
    ds = Dataset()
    ds.add(DataElement(0x00091001, "US or SS", 5))
    ds.add(DataElement(0x00091002, "??", b"ab"))
    buf = encode_dataset(ds, implicit=False, little=True)
    assert buf[4:6] == b"US" and b"UN" in buf


def test_undefined_lengths_kept() -> None:
    leaf = exp(0x00080100, "SH", b"CODE")
    buf = sq(0x0040A730, [item(leaf, undefined=True)], undefined=True)
    ds = decode_dataset(buf, implicit=False, little=True)
    assert encode_dataset(ds, implicit=False, little=True) == buf
    ds.ContentSequence[0].is_undefined_length_item = False
    ds[0x0040A730].is_undefined_length = False
    assert encode_dataset(ds, implicit=False, little=True) == sq(0x0040A730, [item(leaf)])


def test_private_undefined_sequence_gets_a_length_in_implicit() -> None:
    leaf = exp(0x00080100, "SH", b"CODE")
    buf = exp(0x00190010, "LO", b"ACME") + sq(0x00191001, [item(leaf)], undefined=True)
    ds = decode_dataset(buf, implicit=False, little=True)
    out = encode_dataset(ds, implicit=True, little=True)
    assert imp(0x00191001, item(imp(0x00080100, b"CODE"))) in out  # defined length


def test_un_sequence_stays_un_with_le_items_in_big_endian() -> None:
    # PS3.5 6.2.2: a UN of undefined length holds implicit VR little endian items in every
    # explicit VR transfer syntax, big endian included
    leaf = imp(0x00080100, b"CODE")
    buf = exp(0x00081032, "UN", item(leaf) + seq_delim(), length=UNDEF)
    ds = decode_dataset(buf, implicit=False, little=True)
    be = encode_dataset(ds, implicit=False, little=False)
    assert be == exp(0x00081032, "UN", item(leaf) + seq_delim(), little=False, length=UNDEF)
    back = decode_dataset(be, implicit=False, little=False)
    assert back.ProcedureCodeSequence[0].CodeValue == "CODE"
    assert encode_dataset(back, implicit=False, little=False) == be


def test_un_sequence_written_as_sq_in_implicit_vr() -> None:
    leaf = imp(0x00080100, b"CODE")
    buf = exp(0x00081032, "UN", item(leaf) + seq_delim(), length=UNDEF)
    ds = decode_dataset(buf, implicit=False, little=True)
    out = encode_dataset(ds, implicit=True, little=True)
    back = decode_dataset(out, implicit=True, little=True)
    assert back[0x00081032].vr == "SQ" and back.ProcedureCodeSequence[0].CodeValue == "CODE"


def test_write_dataset_streams_same_bytes() -> None:
    ds = _sample()
    fp = io.BytesIO()
    write_dataset(ds, fp, implicit=False, little=True)
    assert fp.getvalue() == encode_dataset(ds, implicit=False, little=True)


def test_bad_value_is_invalid_value_error() -> None:
    ds = Dataset()
    ds.set("Rows", "not a number", validation="off")  # the check at set is skipped
    with pytest.raises(InvalidValueError, match=r"\(0028,0010\) Rows"):  # names the element
        encode_dataset(ds, implicit=False, little=True)


def test_encapsulated_written_with_delimiter() -> None:
    frags = item(b"") + item(b"\xff\xd8\xff\xd9")
    el = DataElement(0x7FE00010, "OB", frags, undefined_length=True)
    assert encode_element(el, implicit=False, little=True) == exp(
        0x7FE00010, "OB", frags + seq_delim(), length=UNDEF
    )

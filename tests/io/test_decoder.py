"""Bytes -> Dataset for each encoding, sequences, ambiguous VRs and bad input."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from builders import UNDEF, exp, imp, item, seq_delim, sq

from dicomkit import Dataset
from dicomkit.core.values._charset import Charsets
from dicomkit.errors import InvalidDicomError, TruncatedDataError
from dicomkit.io._decoder import MAX_DEPTH, decode_dataset, guess_encoding, implicit_vr
from dicomkit.io._encoder import encode_dataset

# every test here runs with the C element scan and with the pure-Python loops
pytestmark = pytest.mark.usefixtures("decoder_path")


def test_explicit_le() -> None:
    buf = exp(0x00100010, "PN", b"DOE^J ") + exp(0x00280010, "US", b"\x00\x02")
    ds = decode_dataset(buf, implicit=False, little=True)
    assert ds.PatientName == "DOE^J"
    assert ds.Rows == 512
    assert ds[0x00100010].raw == b"DOE^J "
    assert ds.is_little_endian and ds.is_implicit_vr is False


def test_explicit_be() -> None:
    buf = (
        exp(0x00280010, "US", b"\x02\x00", little=False)
        + exp(0x00280030, "DS", b"0.5\\0.5 ", little=False)
        + exp(0x00181310, "US", b"\x00\x01\x00\x02\x00\x03\x00\x04", little=False)
    )
    ds = decode_dataset(buf, implicit=False, little=False)
    assert ds.Rows == 512
    assert ds.PixelSpacing == [0.5, 0.5]
    assert list(ds.AcquisitionMatrix) == [1, 2, 3, 4]


def test_implicit_le_vr_from_dictionary() -> None:
    buf = (
        imp(0x00080000, b"\x10\x00\x00\x00")
        + imp(0x00100010, b"DOE^J ")
        + imp(0x00280010, b"\x00\x02")
    )
    ds = decode_dataset(buf, implicit=True, little=True)
    assert ds[0x00080000].vr == "UL" and ds[0x00080000].value == 16
    assert ds[0x00100010].vr == "PN"
    assert ds[0x00280010].vr == "US" and ds.Rows == 512


def test_implicit_private_tags() -> None:
    buf = (
        imp(0x00290010, b"SIEMENS CSA HEADER")
        + imp(0x00291010, b"\x01\x02")
        + imp(0x00291099, b"ab")
        + imp(0x00330010, b"UNKNOWN CREATOR ")
        + imp(0x00331001, b"xy")
        + imp(0x00351001, b"zz")
    )
    ds = decode_dataset(buf, implicit=True, little=True)
    assert ds[0x00290010].vr == "LO"
    assert ds[0x00291010].vr == "OB"  # known to the private dictionary
    assert ds[0x00331001].vr == "UN"
    assert ds[0x00351001].vr == "UN"  # no creator at all


def test_ambiguous_us_ss_by_pixel_representation() -> None:
    signed = imp(0x00280103, b"\x01\x00") + imp(0x00280106, b"\xff\xff")
    ds = decode_dataset(signed, implicit=True, little=True)
    assert ds[0x00280106].vr == "SS" and ds.SmallestImagePixelValue == -1
    unsigned = imp(0x00280103, b"\x00\x00") + imp(0x00280106, b"\xff\xff")
    ds = decode_dataset(unsigned, implicit=True, little=True)
    assert ds[0x00280106].vr == "US" and ds.SmallestImagePixelValue == 65535


def test_ambiguous_inherited_into_items() -> None:
    inner = imp(0x00283002, b"\x00\x01\x00\x00\x10\x00")  # LUT Descriptor, "US or SS"
    buf = imp(0x00280103, b"\x01\x00") + sq(0x00283010, [item(inner)], implicit=True)
    ds = decode_dataset(buf, implicit=True, little=True)
    assert ds.VOILUTSequence[0][0x00283002].vr in ("US", "SS")
    assert implicit_vr(0x7FE00010) == "OW"  # PS3.5 A.1


def test_sequences_defined_and_undefined() -> None:
    leaf = exp(0x00080100, "SH", b"CODE")
    nested = sq(0x0040A043, [item(leaf)])
    buf = sq(0x0040A730, [item(nested, undefined=True), item(leaf)], undefined=True)
    ds = decode_dataset(buf, implicit=False, little=True)
    seq = ds.ContentSequence
    assert len(seq) == 2
    assert seq[0].is_undefined_length_item and not seq[1].is_undefined_length_item
    assert ds[0x0040A730].is_undefined_length
    assert seq[0].ConceptNameCodeSequence[0].CodeValue == "CODE"
    assert seq[1].CodeValue == "CODE"
    assert seq.parent is ds and seq[0].parent is ds
    assert encode_dataset(ds, implicit=False, little=True) == buf


def test_implicit_sequences() -> None:
    leaf = imp(0x00080100, b"CODE")
    buf = sq(0x00081032, [item(leaf)], implicit=True) + sq(
        0x0040A730, [item(leaf, undefined=True)], undefined=True, implicit=True
    )
    ds = decode_dataset(buf, implicit=True, little=True)
    assert ds.ContentSequence[0].CodeValue == "CODE"
    assert ds.ProcedureCodeSequence[0].CodeValue == "CODE"
    assert encode_dataset(ds, implicit=True, little=True) == buf


def test_implicit_undefined_length_private_is_sequence() -> None:
    leaf = imp(0x00080100, b"CODE")
    buf = imp(0x00190010, b"ACME") + sq(0x00191001, [item(leaf)], undefined=True, implicit=True)
    ds = decode_dataset(buf, implicit=True, little=True)
    assert ds[0x00191001].vr == "SQ"
    assert ds[0x00191001].value[0].CodeValue == "CODE"


def test_explicit_un_undefined_length_is_implicit_sequence() -> None:
    """PS3.5 6.2.2: UN with undefined length holds an implicit VR LE sequence."""
    leaf = imp(0x00080100, b"CODE")
    body = item(leaf, undefined=True) + seq_delim()
    buf = exp(0x00081032, "UN", body, length=UNDEF) + exp(0x00100020, "LO", b"ID")
    ds = decode_dataset(buf, implicit=False, little=True)
    el = ds[0x00081032]
    assert el.vr == "SQ" and el.un_sequence
    assert el.value[0].CodeValue == "CODE"
    assert ds.PatientID == "ID"
    assert encode_dataset(ds, implicit=False, little=True) == buf  # kept byte for byte


def test_implicit_sq_holding_text_is_kept_as_un() -> None:
    buf = imp(0x0040A170, b"NAMED TYPE")  # once CS, now a sequence in the dictionary
    ds = decode_dataset(buf, implicit=True, little=True)
    assert ds[0x0040A170].vr == "UN"
    assert ds[0x0040A170].value == b"NAMED TYPE"


def test_encapsulated_pixel_data() -> None:
    frags = item(b"") + item(b"\x01\x02\x03\x04")
    buf = (
        exp(0x00280100, "US", b"\x08\x00")
        + exp(0x7FE00010, "OB", frags + seq_delim(), length=UNDEF)
        + exp(0xFFFCFFFC, "OB", b"")
    )
    ds = decode_dataset(buf, implicit=False, little=True)
    px = ds[0x7FE00010]
    assert px.is_undefined_length
    assert bytes(px.raw) == frags and bytes(px.value) == frags
    assert 0xFFFCFFFC in ds
    assert encode_dataset(ds, implicit=False, little=True) == buf


def test_large_values_are_views() -> None:
    big = b"\x00" * (70 * 1024)
    buf = exp(0x7FE00010, "OB", big)
    ds = decode_dataset(buf, implicit=False, little=True)
    assert isinstance(ds[0x7FE00010].raw, memoryview)
    assert bytes(ds[0x7FE00010].value) == big


def test_specific_tags_and_charsets_argument() -> None:
    buf = exp(0x00100010, "PN", "É^J".encode("latin-1") + b" ") + exp(0x00100020, "LO", b"ID")
    ds = decode_dataset(
        buf,
        implicit=False,
        little=True,
        specific_tags=[0x00100010],
        charsets=Charsets.from_value("ISO_IR 100"),
    )
    assert list(ds) == [0x00100010]
    assert str(ds.PatientName) == "É^J"


def test_guess_encoding() -> None:
    assert guess_encoding(exp(0x00080016, "UI", b"1.2")) == (False, True)
    assert guess_encoding(exp(0x00080016, "UI", b"1.2", little=False)) == (False, False)
    assert guess_encoding(imp(0x00080016, b"1.2\x00")) == (True, True)
    with pytest.raises(TruncatedDataError):
        guess_encoding(b"\x08\x00")


# -- bad input ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "buf",
    [
        exp(0x00100010, "PN", b"DOE^J ")[:-2],  # value cut short
        exp(0x00100010, "PN", b"DOE^J ") + b"\x10\x00\x20",  # header cut short
        exp(0x7FE00010, "OB", b"\x00" * 1000, length=0xFFFFFFF0),  # 4 GB claimed in 1 KB
        sq(0x0040A730, [item(exp(0x00080100, "SH", b"CODE"), undefined=True)])[:-8],
        sq(0x0040A730, [item(b"")], undefined=True)[:-8],  # no sequence delimiter
        exp(0x7FE00010, "OB", item(b"\x01\x02"), length=UNDEF)[:-2] + b"\x00\x00\x00\x00",
    ],
)
def test_truncated(buf: bytes) -> None:
    with pytest.raises(TruncatedDataError) as info:
        decode_dataset(buf + b"", implicit=False, little=True, end=len(buf) - 0)
    assert info.value.offset is not None


def test_error_names_tag_and_offset() -> None:
    buf = exp(0x00100020, "LO", b"ID") + exp(0x00100010, "PN", b"DOE", length=200)
    with pytest.raises(TruncatedDataError) as info:
        decode_dataset(buf, implicit=False, little=True)
    assert info.value.tag == 0x00100010
    assert info.value.offset == 10
    assert "(0010,0010)" in str(info.value) and "offset 10" in str(info.value)


def test_unknown_vr() -> None:
    buf = exp(0x00100020, "LO", b"ID") + b"\x10\x00\x10\x00zz\x02\x00ab"
    with pytest.raises(InvalidDicomError, match="unknown VR"):
        decode_dataset(buf, implicit=False, little=True)


def test_item_outside_sequence() -> None:
    with pytest.raises(InvalidDicomError, match="unexpected"):
        decode_dataset(item(b""), implicit=False, little=True)


def test_garbage_in_sequence() -> None:
    buf = sq(0x0040A730, [exp(0x00100020, "LO", b"ID")])
    with pytest.raises(InvalidDicomError, match="expected an item"):
        decode_dataset(buf, implicit=False, little=True)


def test_undefined_length_on_plain_vr() -> None:
    buf = exp(0x00100020, "UT", b"", length=UNDEF)
    with pytest.raises(InvalidDicomError, match="undefined length"):
        decode_dataset(buf, implicit=False, little=True)


def _nested(depth: int, undefined: bool) -> bytes:
    body = exp(0x00100020, "LO", b"ID")
    for _ in range(depth):
        body = sq(0x0040A730, [item(body, undefined=undefined)], undefined=undefined)
    return body


@pytest.mark.parametrize("undefined", [False, True])
def test_deep_nesting_is_a_typed_error(undefined: bool) -> None:
    ok = decode_dataset(_nested(MAX_DEPTH - 1, undefined), implicit=False, little=True)
    assert len(list(ok.walk_datasets())) == MAX_DEPTH
    with pytest.raises(InvalidDicomError, match="nested deeper"):
        decode_dataset(_nested(5000, undefined), implicit=False, little=True)
    lenient = decode_dataset(_nested(5000, undefined), implicit=False, little=True, lenient=True)
    assert lenient.read_errors


def test_deep_implicit_nesting_is_a_typed_error() -> None:
    body = imp(0x00100020, b"ID")
    for _ in range(3000):
        body = sq(0x0040A730, [item(body, undefined=True)], undefined=True, implicit=True)
    with pytest.raises(InvalidDicomError, match="nested deeper"):
        decode_dataset(body, implicit=True, little=True)


def test_lenient_keeps_what_it_can() -> None:
    buf = exp(0x00100020, "LO", b"ID") + exp(0x00100030, "DA", b"2020", length=300)
    ds = decode_dataset(buf, implicit=False, little=True, lenient=True)
    assert ds.PatientID == "ID"
    assert 0x00100030 not in ds
    assert len(ds.read_errors) == 1
    assert isinstance(ds.read_errors[0], TruncatedDataError)


def test_lenient_in_nested_item() -> None:
    inner = exp(0x00080100, "SH", b"CODE") + b"\x08\x00\x04\x01SH\x40\x00"
    buf = exp(0x00100020, "LO", b"ID") + sq(0x0040A730, [item(inner)])
    ds = decode_dataset(buf, implicit=False, little=True, lenient=True)
    assert ds.PatientID == "ID"
    assert ds.ContentSequence[0].CodeValue == "CODE"
    assert ds.read_errors


def test_decoder_never_raises_struct_error() -> None:
    for n in range(1, 12):
        with pytest.raises(InvalidDicomError):
            decode_dataset(
                struct.pack("<HH2sH", 0x10, 0x10, b"PN", 4)[:n]
                if n < 8
                else struct.pack("<HH2sH", 0x10, 0x10, b"OB", 0)[:n] + b"\x00" * 0,
                implicit=False,
                little=True,
            )


def test_empty_dataset() -> None:
    assert len(decode_dataset(b"", implicit=True, little=True)) == 0
    assert isinstance(decode_dataset(b"", implicit=True, little=True), Dataset)


def test_trailing_nul_padding_is_ignored() -> None:
    buf = exp(0x00100020, "LO", b"ID") + b"\x00" * 37
    ds = decode_dataset(buf, implicit=False, little=True)
    assert list(ds) == [0x00100020] and not ds.read_errors


def test_lenient_continues_after_damaged_defined_length_sequence() -> None:
    bad_item = exp(0x00080100, "SH", b"CODE") + b"\x08\x00\x04\x01zz\x02\x00ab"
    buf = sq(0x0040A730, [item(bad_item)]) + exp(0x7FE00010, "OB", b"\x01\x02")
    ds = decode_dataset(buf, implicit=False, little=True, lenient=True)
    assert ds.ContentSequence[0].CodeValue == "CODE"
    assert ds[0x7FE00010].value == b"\x01\x02"
    assert len(ds.read_errors) == 1
    with pytest.raises(InvalidDicomError):
        decode_dataset(buf, implicit=False, little=True)

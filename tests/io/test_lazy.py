"""Lazy sequences: checked (or, in memory-mapped files, only skipped) at read time, parsed on
first access, written back byte for byte."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from builders import exp, imp, item, sq

import dicomkit
from dicomkit import Dataset
from dicomkit.core._sequence import LazySequence, Sequence
from dicomkit.errors import InvalidDicomError
from dicomkit.io import _part10 as part10
from dicomkit.io._decoder import (
    MAX_DEPTH,
    DecodeOptions,
    decode_dataset,
    decode_into,
)
from dicomkit.io._encoder import encode_dataset
from dicomkit.io._scan import check_sequence

# every test here runs with the C element scan and with the pure-Python loops
pytestmark = pytest.mark.usefixtures("decoder_path")

CODE = exp(0x00080100, "SH", b"CODE") + exp(0x00080102, "SH", b"DCM ")


def _body(undefined: bool, implicit: bool = False) -> bytes:
    """PatientID, a two-level content tree, then PatientName."""
    if implicit:
        code = imp(0x00080100, b"CODE") + imp(0x00080102, b"DCM ")
        inner = sq(0x0040A043, [item(code, undefined)], undefined, implicit=True)
        outer = sq(
            0x0040A730,
            [item(imp(0x0040A010, b"CONTAINS") + inner, undefined), item(code, undefined)],
            undefined,
            implicit=True,
        )
        return imp(0x00100020, b"ID") + imp(0x00100010, b"DOE^J ") + outer
    inner = sq(0x0040A043, [item(CODE, undefined)], undefined)
    outer = sq(
        0x0040A730,
        [item(exp(0x0040A010, "CS", b"CONTAINS") + inner, undefined), item(CODE, undefined)],
        undefined,
    )
    return exp(0x00100010, "PN", b"DOE^J ") + exp(0x00100020, "LO", b"ID") + outer


def _file(body: bytes, ts: str = "1.2.840.10008.1.2.1") -> bytes:
    meta = part10.build_file_meta("1.2.840.10008.5.1.4.1.1.88.11", "1.2.3.4", ts)
    return b"\0" * 128 + b"DICM" + encode_dataset(meta, implicit=False, little=True) + body


@pytest.mark.parametrize("undefined", [False, True])
@pytest.mark.parametrize("implicit", [False, True])
def test_sequence_parsed_on_first_access(undefined: bool, implicit: bool) -> None:
    body = _body(undefined, implicit)
    ds = decode_dataset(body, implicit=implicit, little=True)
    el = ds._d[0x0040A730]
    assert type(el._value) is LazySequence
    assert el.is_undefined_length is undefined
    seq = ds.ContentSequence
    assert type(seq) is Sequence and len(seq) == 2
    assert type(el._value) is Sequence  # swapped in, parsed once
    assert seq[0].RelationshipType == "CONTAINS"
    assert seq[0].ConceptNameCodeSequence[0].CodeValue == "CODE"
    assert seq[1].CodingSchemeDesignator == "DCM"
    assert seq[0].parent is ds and seq.parent is ds
    assert seq[0].is_undefined_length_item is undefined
    assert ds.PatientID == "ID"


@pytest.mark.parametrize("undefined", [False, True])
def test_untouched_and_touched_round_trip(undefined: bool) -> None:
    data = _file(_body(undefined))
    for touch in (False, True):
        ds = dicomkit.read(data)
        if touch:
            assert ds.ContentSequence[1].CodeValue == "CODE"
        out = io.BytesIO()
        dicomkit.write(ds, out)
        assert out.getvalue() == data


def test_undefined_length_extent_found_by_scan() -> None:
    body = _body(True) + exp(0x00700080, "CS", b"LABEL ")
    ds = decode_dataset(body, implicit=False, little=True)
    assert type(ds._d[0x0040A730]._value) is LazySequence
    assert ds.ContentLabel == "LABEL"  # the element after the sequence was found


def test_explicit_un_holding_implicit_sequence_is_lazy() -> None:
    items = item(imp(0x00080100, b"CODE"), undefined=True)
    body = sq(0x0040A730, [items], undefined=True, vr="UN") + exp(0x00700080, "CS", b"LABEL ")
    ds = decode_dataset(body, implicit=False, little=True)
    el = ds._d[0x0040A730]
    assert type(el._value) is LazySequence and el.un_sequence
    assert ds.ContentLabel == "LABEL"
    assert el.value[0].CodeValue == "CODE"
    assert encode_dataset(ds, implicit=False, little=True) == body


@pytest.mark.parametrize(
    "bad",
    [
        sq(0x0040A730, [exp(0x00100020, "LO", b"ID")]),  # an element where an item belongs
        sq(0x0040A730, [item(CODE + b"\x08\x00")]),  # a stray half header in an item
        sq(0x0040A730, [item(exp(0x00080100, "SH", b"CODE", length=200))]),  # length past item
        sq(0x0040A730, [item(b"\x08\x00\x00\x01zz\x02\x00ab")]),  # unknown VR
        sq(0x0040A730, [item(CODE, undefined=True)[:-8]], undefined=True),  # no item delimiter
    ],
)
def test_malformed_sequence_fails_at_read_or_first_use(bad: bytes) -> None:
    with pytest.raises(InvalidDicomError):
        decode_dataset(exp(0x00100020, "LO", b"ID") + bad, implicit=False, little=True)
    # dicomkit.read parses sequences lazily: the error comes at read (when the structure
    # cannot even be skipped) or on first access, and names the tag either way.
    with pytest.raises(InvalidDicomError, match=r"\(0040,A730\)|offset"):
        ds = dicomkit.read(_file(exp(0x00100020, "LO", b"ID") + bad))
        assert ds.PatientID == "ID"
        _ = ds[0x0040A730].value
    ds = decode_dataset(
        exp(0x00100020, "LO", b"ID") + bad, implicit=False, little=True, lenient=True
    )
    assert ds.read_errors and ds.PatientID == "ID"


def test_check_agrees_with_the_parser_on_nesting_depth() -> None:
    body = exp(0x00100020, "LO", b"ID")
    for _ in range(MAX_DEPTH + 2):
        body = sq(0x0040A730, [item(body)])
    assert check_sequence(body, 12, len(body), False, False, 0) == -1
    with pytest.raises(InvalidDicomError, match="nested deeper"):
        decode_dataset(body, implicit=False, little=True)


def test_unchecked_read_defers_errors_to_first_access() -> None:
    """Memory-mapped files only skip sequences at read time (check_sequences=False)."""
    bad = sq(0x0040A730, [item(b"\x08\x00\x00\x01zz\x02\x00ab")])
    body = exp(0x00100020, "LO", b"ID") + bad + exp(0x00700080, "CS", b"LABEL ")
    ds = Dataset()
    decode_into(
        ds,
        body,
        0,
        len(body),
        implicit=False,
        little=True,
        opts=DecodeOptions(check_sequences=False),
    )
    assert ds.PatientID == "ID" and ds.ContentLabel == "LABEL"
    with pytest.raises(InvalidDicomError, match="unknown VR"):
        ds.ContentSequence  # noqa: B018


def test_large_file_is_memory_mapped_and_lazy(tmp_path: Path) -> None:
    pad = exp(0x00990010, "LO", b"DICOMKIT") + exp(0x00991010, "OB", b"\0" * part10.MMAP_MIN)
    path = tmp_path / "big.dcm"
    data = _file(_body(False) + pad)
    path.write_bytes(data)
    ds = dicomkit.read(path)
    assert type(ds._d[0x0040A730]._value) is LazySequence
    assert ds.ContentSequence[0].ConceptNameCodeSequence[0].CodeValue == "CODE"
    out = tmp_path / "copy.dcm"
    dicomkit.write(ds, out)
    assert out.read_bytes() == data


def test_copy_move_and_pickle_keep_lazy_sequences_working() -> None:
    ds = decode_dataset(_body(False), implicit=False, little=True)
    cp = ds.copy()
    assert type(cp._d[0x0040A730]._value) is LazySequence
    assert cp.ContentSequence[0].parent is cp
    other = Dataset()
    ds2 = decode_dataset(_body(True), implicit=False, little=True)
    other.add(ds2[0x0040A730])
    assert other.ContentSequence[1].parent is other
    # pickling stores the parsed items (a memory map cannot be pickled)
    ds3 = decode_dataset(_body(False), implicit=False, little=True)
    fn, args = ds3._d[0x0040A730]._value.__reduce__()[:2]
    assert fn is Sequence and len(args[0]) == 2


def test_specific_tags_and_charsets_in_lazy_items() -> None:
    latin = exp(0x00080005, "CS", b"ISO_IR 100")
    name = "M\u00fcller"
    body = latin + sq(0x0040A730, [item(exp(0x00100010, "PN", name.encode("latin-1") + b" "))])
    ds = decode_dataset(body, implicit=False, little=True)
    assert ds.ContentSequence[0].PatientName == name
    only = decode_dataset(body, implicit=False, little=True, specific_tags={0x0040A730, 0x00080005})
    assert list(only.ContentSequence[0]) == []  # the filter applies inside items too


def test_a_data_set_read_and_dropped_is_freed_without_the_cycle_collector() -> None:
    import gc
    import weakref

    data = exp(0x00080005, "CS", b"ISO_IR 100") + sq(0x00081110, [item(CODE)])
    gc.disable()
    try:
        ds = decode_dataset(data, implicit=False, little=True)
        assert type(ds.raw_elements[0x00081110]).__name__ == "DataElement"  # a lazy sequence
        gone = weakref.ref(ds)
        del ds
        assert gone() is None  # freed by reference counting: no cycle through the sequence
    finally:
        gc.enable()


def test_a_sequence_element_handed_out_keeps_its_data_set_for_its_items() -> None:
    import gc

    # (0008,0005) of the data set applies to the items (PS3.5 6.1.2.3), also when the
    # element is kept and the data set dropped before the items are parsed
    code = imp(0x00080100, "Grüß".encode("latin-1")) + imp(0x00080102, b"DCM ")
    data = imp(0x00080005, b"ISO_IR 100") + sq(0x00081110, [item(code)], implicit=True)
    ds = decode_dataset(data, implicit=True, little=True)
    el = ds[0x00081110]
    assert el.lazy_sequence is not None
    del ds
    gc.collect()
    (first,) = el.value
    assert first.get(0x00080100) == "Grüß"
    assert first.parent is not None and first.parent.get(0x00080005) == "ISO_IR 100"

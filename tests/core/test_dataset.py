"""Dataset: keyword / tag access, ordering, did-you-mean, private blocks, copy, walk."""

from __future__ import annotations

import pickle

import pytest

from dicomkit import DataElement, Dataset, Sequence, Tag
from dicomkit.core._private import PrivateBlock
from dicomkit.errors import DictionaryError, InvalidValueError


@pytest.fixture
def ds() -> Dataset:
    d = Dataset()
    d.PatientName = "DOE^JOHN"
    d.PatientID = "123"
    d.Rows = 512
    d.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    return d


def test_keyword_attribute_access(ds: Dataset) -> None:
    assert ds.PatientName == "DOE^JOHN"
    assert ds.Rows == 512
    assert ds[0x00280010].vr == "US"  # VR from the dictionary
    assert ds[0x00100010].vr == "PN"


def test_item_access_forms(ds: Dataset) -> None:
    el = ds[0x00100010]
    assert ds["PatientName"] is el
    assert ds["(0010,0010)"] is el
    assert ds["00100010"] is el
    assert ds[Tag(0x0010, 0x0010)] is el
    assert ds[(0x0010, 0x0010)] is el


def test_missing_element(ds: Dataset) -> None:
    with pytest.raises(KeyError):
        _ = ds[0x00100030]
    with pytest.raises(AttributeError, match="no element PatientBirthDate"):
        _ = ds.PatientBirthDate


def test_did_you_mean_on_attribute(ds: Dataset) -> None:
    with pytest.raises(AttributeError, match="did you mean PatientName"):
        _ = ds.PatientNme
    with pytest.raises(AttributeError, match="did you mean PatientName"):
        ds.PatientNme = "X"


def test_did_you_mean_on_item(ds: Dataset) -> None:
    with pytest.raises(DictionaryError, match="did you mean PatientName"):
        _ = ds["PatientNme"]


def test_lowercase_attributes_are_plain(ds: Dataset) -> None:
    ds.note = "mine"
    assert ds.note == "mine"
    with pytest.raises(AttributeError):
        _ = ds.missing_attr


def test_get_and_contains(ds: Dataset) -> None:
    assert ds.get("PatientID") == "123"
    assert ds.get(0x00100020) == "123"
    assert ds.get("PatientBirthDate", "none") == "none"
    assert ds.get("NotAKeyword", 5) == 5
    assert "PatientName" in ds
    assert 0x00100010 in ds
    assert Tag(0x00280010) in ds
    assert "PatientBirthDate" not in ds
    assert "NotAKeyword" not in ds
    assert 3.5 not in ds


def test_iteration_in_tag_order() -> None:
    d = Dataset()
    d.Rows = 1
    d.PatientID = "x"
    d.SOPInstanceUID = "1.2"
    assert list(d) == [0x00080018, 0x00100020, 0x00280010]
    assert [el.keyword for el in d.elements()] == ["SOPInstanceUID", "PatientID", "Rows"]
    assert len(d) == 3


def test_delete(ds: Dataset) -> None:
    del ds.PatientID
    assert "PatientID" not in ds
    del ds["Rows"]
    del ds[0x00100010]
    assert list(ds) == [0x00080016]
    with pytest.raises(AttributeError):
        del ds.PatientID
    with pytest.raises(KeyError):
        del ds[0x00100010]


def test_set_and_add() -> None:
    d = Dataset()
    el = d.set("PatientName", "A^B")
    assert el.vr == "PN"
    d.set(0x00091001, b"\x01\x02", vr="OB")
    assert d[0x00091001].vr == "OB"
    d.add(DataElement(0x00100020, "LO", "ID"))
    d[0x00100030] = DataElement(0x00100030, "DA", "20200101")
    d["PatientSex"] = "M"
    assert d.PatientSex == "M"
    with pytest.raises(DictionaryError):
        d[0x00100040] = DataElement(0x00100010, "PN", "x")
    d.set("PatientName", "C^D")  # existing element keeps its VR
    assert d[0x00100010].vr == "PN" and d.PatientName == "C^D"


def test_set_private_without_vr_is_un() -> None:
    d = Dataset()
    d.set(0x00091001, b"ab")
    assert d[0x00091001].vr == "UN"


def test_set_unknown_public_tag_needs_vr() -> None:
    with pytest.raises(DictionaryError):
        Dataset().set(0x00090002 - 1 + 0x10000, "x")  # (000A,0001): not in the dictionary


def test_init_from_mapping_and_elements() -> None:
    d = Dataset({"PatientID": "1", 0x00100010: "A^B"})
    assert d.PatientID == "1" and d.PatientName == "A^B"
    e = Dataset([DataElement(0x00100020, "LO", "1")])
    assert e.PatientID == "1"


def test_copy_and_equality(ds: Dataset) -> None:
    ds.ReferencedStudySequence = [Dataset({"ReferencedSOPInstanceUID": "1.2.3"})]
    dup = ds.copy()
    assert dup == ds
    assert dup is not ds
    dup.ReferencedStudySequence[0].ReferencedSOPInstanceUID = "9.9"
    assert ds.ReferencedStudySequence[0].ReferencedSOPInstanceUID == "1.2.3"
    assert dup != ds
    assert dup.ReferencedStudySequence.parent is dup
    import copy

    assert copy.deepcopy(ds) == ds
    assert copy.copy(ds) == ds
    assert (ds == 1) is False


def test_equality_ignores_encoding() -> None:
    a = Dataset()
    a.PatientID = "X"
    b = Dataset()
    b.PatientID = "X"
    assert a == b
    b.PatientID = "Y"
    assert a != b
    b.PatientID = "X"
    b.Rows = 1
    assert a != b


def test_walk_depth_first() -> None:
    inner = Dataset({"CodeValue": "in"})
    mid = Dataset({"ConceptNameCodeSequence": [inner], "ValueType": "CODE"})
    top = Dataset({"ContentSequence": [mid], "PatientID": "p"})
    tags = [el.tag for el in top.walk()]
    assert tags == [0x00100020, 0x0040A730, 0x0040A040, 0x0040A043, 0x00080100]
    assert [d is x for d, x in zip(top.walk_datasets(), [top, mid, inner], strict=True)] == [
        True
    ] * 3


def test_charsets_inherited_by_items() -> None:
    top = Dataset()
    top.SpecificCharacterSet = "ISO_IR 192"
    item = Dataset({"CodeMeaning": "x"})
    top.ContentSequence = [item]
    assert item.charsets == top.charsets
    assert str(top.charsets) != str(Dataset().charsets) or top.charsets != Dataset().charsets
    own = Dataset({"SpecificCharacterSet": "ISO_IR 100"})
    top.ContentSequence.append(own)
    assert own.charsets != top.charsets


def test_transfer_syntax_from_meta_or_set() -> None:
    d = Dataset()
    assert d.transfer_syntax is None
    d.transfer_syntax = "1.2.840.10008.1.2"
    assert d.transfer_syntax == "1.2.840.10008.1.2"
    meta = Dataset()
    meta.TransferSyntaxUID = "1.2.840.10008.1.2.1"
    d.file_meta = meta
    assert d.transfer_syntax == "1.2.840.10008.1.2.1"
    assert d.transfer_syntax.is_little_endian


def test_private_block() -> None:
    d = Dataset()
    with pytest.raises(DictionaryError):
        d.private_block(0x0009, "ACME 1.0")
    block = d.private_block(0x0009, "ACME 1.0", create=True)
    assert isinstance(block, PrivateBlock)
    assert d[0x00090010].value == "ACME 1.0"
    block.add(0x01, "LO", "hello")
    assert d[0x00091001].value == "hello"
    assert block[0x01].value == "hello"
    assert 0x01 in block and 0x02 not in block
    block[0x02] = b"\x00\x01"
    assert d[0x00091002].vr == "UN"
    block[0x01] = "again"
    assert block.get(0x01) == "again"
    assert list(block) == [0x01, 0x02] and len(block) == 2
    other = d.private_block(0x0009, "OTHER", create=True)
    assert other.block == 0x11
    other[0x05] = DataElement(other.tag(0x05), "LO", "x")
    assert d[0x00091105].value == "x"
    del block[0x02]
    assert 0x00091002 not in d
    assert d.private_block(0x0009, "ACME 1.0").block == 0x10
    assert "ACME" in repr(block)
    with pytest.raises(InvalidValueError):
        d.private_block(0x0008, "X", create=True)
    with pytest.raises(InvalidValueError):
        block.tag(0x100)


def test_private_block_full_group() -> None:
    d = Dataset()
    for b in range(0x10, 0x100):
        d.add(DataElement(0x00090000 | b, "LO", f"C{b}"))
    with pytest.raises(InvalidValueError):
        d.private_block(0x0009, "NEW", create=True)


def test_changing_charset_keeps_decoded_text() -> None:
    import dicomkit

    d = Dataset()
    d.SpecificCharacterSet = "ISO_IR 100"
    d.PatientName = "Müller"
    raw = dicomkit.io.encode_dataset(d, implicit=False, little=True)
    back = dicomkit.io.decode_dataset(raw, implicit=False, little=True)
    back.SpecificCharacterSet = "ISO_IR 192"
    assert str(back.PatientName) == "Müller"


def test_pickle_roundtrip(ds: Dataset) -> None:
    ds.ReferencedStudySequence = [Dataset({"ReferencedSOPInstanceUID": "1.2.3"})]
    back = pickle.loads(pickle.dumps(ds))
    assert back == ds


def test_str_and_repr(ds: Dataset) -> None:
    ds.ReferencedStudySequence = [Dataset({"ReferencedSOPInstanceUID": "1.2.3"})]
    text = str(ds)
    assert "(0010,0010) PN PatientName: 'DOE^JOHN'" in text
    assert "ReferencedStudySequence: 1 item(s)" in text
    assert repr(ds) == "<Dataset with 5 elements>"
    assert "PatientName" in dir(ds)


def test_sequence_assignment_makes_sequence() -> None:
    d = Dataset()
    d.ReferencedStudySequence = []
    assert isinstance(d.ReferencedStudySequence, Sequence)
    assert d[0x00081110].VM == 1


def test_ambiguous_vr_from_context() -> None:
    d = Dataset()
    d.BitsAllocated = 16
    d.PixelRepresentation = 1
    d.PixelData = b"\x00\x00"
    d.SmallestImagePixelValue = -5
    assert d[0x7FE00010].vr == "OW"
    assert d[0x00280106].vr == "SS"
    e = Dataset()
    e.BitsAllocated = 8
    e.PixelData = b"\x00\x00"
    e.SmallestImagePixelValue = 5
    assert e[0x7FE00010].vr == "OB"
    assert e[0x00280106].vr == "US"


def test_public_root() -> None:
    import dicomkit

    assert sorted(dicomkit.__all__) == sorted(
        [
            "DataElement",
            "Dataset",
            "Sequence",
            "Tag",
            "UID",
            "VR",
            "__version__",
            "errors",
            "read",
            "write",
        ]
    )
    for name in dicomkit.__all__:
        assert getattr(dicomkit, name) is not None
    from dicomkit.core._uid import UID

    assert dicomkit.UID is UID
    with pytest.raises(AttributeError):
        dicomkit.nothing_here  # noqa: B018

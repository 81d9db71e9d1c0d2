"""The condition evaluator over hand-made data sets."""

from __future__ import annotations

from dicomkit.core._dataset import Dataset
from dicomkit.core._element import DataElement
from dicomkit.core._sequence import Sequence
from dicomkit.iod import Context, evaluate
from dicomkit.iod._conditions import CONDITIONS


def _ctx(ds: Dataset) -> Context:
    return Context.for_root(ds)


def test_builtin_names() -> None:
    ds = Dataset()
    assert evaluate("Always", _ctx(ds)) is True
    assert evaluate("Never", _ctx(ds)) is False
    assert evaluate("", _ctx(ds)) is True
    assert evaluate("NoSuchCondition", _ctx(ds)) is None


def test_string_value_and_absence() -> None:
    ds = Dataset()
    name = "PatientIdentityRemovedAndNotDeidentificationMethod"
    assert evaluate(name, _ctx(ds)) is False
    ds.set(0x00120062, "YES")
    assert evaluate(name, _ctx(ds)) is True
    ds.set(0x00120063, "x")
    assert evaluate(name, _ctx(ds)) is False


def test_sop_class_constant_from_root() -> None:
    ds = Dataset()
    ds.set(0x00080016, "1.2.840.10008.5.1.4.1.1.2.1")  # Enhanced CT
    assert evaluate("EnhancedCTImageInstance", _ctx(ds)) is True
    assert evaluate("NotLegacyConvertedCT", _ctx(ds)) is True
    item = Dataset()
    # From a sequence item, "FromRootAttribute" still looks at the top level
    assert evaluate("EnhancedCTImageInstance", _ctx(ds).child(item)) is True


def test_binary_value_comparisons() -> None:
    ds = Dataset()
    ds.add(DataElement(0x00280101, "US", 8))  # Bits Stored
    assert evaluate("BitsStoredGreaterThan8", _ctx(ds)) is False
    assert evaluate("BitsStoredIs8", _ctx(ds)) is True
    ds.add(DataElement(0x00280101, "US", 12))
    assert evaluate("BitsStoredGreaterThan8", _ctx(ds)) is True
    # no value selector: any value (multi-valued Dimension Index Values)
    ds.add(DataElement(0x00209157, "UL", [3, 0, 2]))
    assert evaluate("DimensionIndexValuesContainsZero", _ctx(ds)) is True


def test_value_selector_and_groups() -> None:
    # ImageType value 1 ORIGINAL or MIXED, and not a legacy converted CT
    name = "ImageTypeValue1OriginalOrMixedAndNotLegacyConvertedCT"
    ds = Dataset()
    ds.set(0x00080016, "1.2.840.10008.5.1.4.1.1.2.1")
    ds.add(DataElement(0x00080008, "CS", ["DERIVED", "PRIMARY"]))
    assert evaluate(name, _ctx(ds)) is False
    ds.add(DataElement(0x00080008, "CS", ["ORIGINAL", "PRIMARY"]))
    assert evaluate(name, _ctx(ds)) is True
    ds.set(0x00080016, "1.2.840.10008.5.1.4.1.1.2.2")  # Legacy Converted Enhanced CT
    assert evaluate(name, _ctx(ds)) is False


def test_within_a_sequence_and_in_path_from_root() -> None:
    ds = Dataset()
    code = Dataset()
    code.set(0x00080100, "L-85B00")  # human
    code.set(0x00080102, "SRT")
    ds.set(0x00102202, Sequence([code]))  # Patient Species Code Sequence
    assert evaluate("IsHuman", _ctx(ds)) is True
    code.set(0x00080100, "L-80A00")
    assert evaluate("IsHuman", _ctx(ds)) is False
    # nested: Source Image Sequence inside Derivation Image Sequence of a per-frame item
    name = "ReferencedSeriesSequencePresentAndInstanceDoesNotReferencesInstances"
    ds = Dataset()
    ds.set(0x00081115, Sequence([Dataset()]))
    assert evaluate(name, _ctx(ds)) is True
    src = Dataset()
    src.set(0x00081155, "1.2.3")
    derivation = Dataset()
    derivation.set(0x00082112, Sequence([src]))
    frame = Dataset()
    frame.set(0x00089124, Sequence([derivation]))
    ds.set(0x52009230, Sequence([frame]))
    assert evaluate(name, _ctx(ds)) is False


def test_every_condition_evaluates_on_an_empty_data_set() -> None:
    ds = Dataset()
    ctx = _ctx(ds).child(Dataset())
    for name in CONDITIONS:
        assert evaluate(name, ctx) in (True, False)

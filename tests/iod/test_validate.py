"""Validation of real files and of deliberately broken copies."""

from __future__ import annotations

import pytest
from corpus import CORPUS, manifest

import dicomkit
from dicomkit.core._dataset import Dataset
from dicomkit.core._element import DataElement
from dicomkit.core._sequence import Sequence
from dicomkit.dictionary import entry_for_tag
from dicomkit.errors import DicomError
from dicomkit.iod import Finding, iod, validate

CT = CORPUS / "nema-wg04" / "RLE" / "CT1_RLE"  # a clean CT: no errors at all
PYDICOM_CT = CORPUS / "pydicom-data" / "693_UNCI.dcm"
CORE = {
    "Patient",
    "GeneralStudy",
    "GeneralSeries",
    "GeneralImage",
    "ImagePixel",
    "CTImage",
    "SOPCommon",
    "GeneralEquipment",
}

needs_corpus = pytest.mark.skipif(not CT.exists(), reason="shared corpus not present")


def _ct() -> Dataset:
    return dicomkit.read(CT)


def _at(findings: list[Finding], path: str, severity: str = "error") -> list[Finding]:
    return [f for f in findings if f.path == path and f.severity == severity]


@needs_corpus
def test_clean_ct_has_no_errors() -> None:
    findings = validate(_ct())
    assert [f for f in findings if f.severity == "error"] == []


@needs_corpus
def test_pydicom_ct_has_no_type1_errors_in_core_modules() -> None:
    findings = validate(dicomkit.read(PYDICOM_CT))
    bad = [
        f
        for f in findings
        if f.severity == "error" and f.module in CORE and "Type 1 " in f.message + " "
    ]
    assert bad == []
    # what is wrong with it is found: de-identified without saying how; no Frame of Reference
    assert _at(findings, "(0020,0052)")
    assert _at(findings, "(0012,0063)")


@needs_corpus
def test_missing_type1() -> None:
    ds = _ct()
    del ds[0x0020000D]
    found = _at(validate(ds), "(0020,000D)")
    assert len(found) == 1
    assert found[0].module == "GeneralStudy"
    assert "Type 1 required" in found[0].message
    assert str(found[0]).startswith("Error - (0020,000D) StudyInstanceUID: missing attribute")


@needs_corpus
def test_empty_type1() -> None:
    ds = _ct()
    ds.set(0x00080060, "")
    found = _at(validate(ds), "(0008,0060)")
    assert any("empty attribute" in f.message for f in found)


@needs_corpus
def test_missing_type2() -> None:
    ds = _ct()
    del ds[0x00100010]
    found = _at(validate(ds), "(0010,0010)")
    assert len(found) == 1 and "Type 2 required" in found[0].message
    assert found[0].module == "Patient"
    # an empty Type 2 is fine
    ds.set(0x00100010, "")
    assert not _at(validate(ds), "(0010,0010)")


@needs_corpus
def test_condition_becoming_true_yields_1c_finding() -> None:
    ds = _ct()
    assert not _at(validate(ds), "(0012,0063)")
    ds.set(0x00120062, "YES")  # Patient Identity Removed
    found = _at(validate(ds), "(0012,0063)")
    assert found and "Type 1C" in found[0].message
    assert "PatientIdentityRemovedAndNotDeidentificationMethodCodeSequence" in found[0].message
    ds.set(0x00120063, "by hand")  # De-identification Method
    assert not _at(validate(ds), "(0012,0063)")
    assert not _at(validate(ds), "(0012,0064)")


@needs_corpus
def test_enumerated_value() -> None:
    ds = _ct()
    ds.set(0x00100040, "X")  # Patient's Sex: M, F or O
    found = _at(validate(ds), "(0010,0040)")
    assert any("enumerated value 'X'" in f.message for f in found)


@needs_corpus
def test_sequence_item_contents() -> None:
    ds = _ct()
    item = Dataset()
    item.set(0x00081155, "1.2.3.4")  # Referenced SOP Instance UID, no Class UID
    ds.set(0x00081140, Sequence([item]))  # Referenced Image Sequence (General Image, Type 3)
    found = _at(validate(ds), "(0008,1140)[0]/(0008,1150)")
    assert found and "Type 1 required" in found[0].message


@needs_corpus
def test_vr_vm_and_unknown_attributes() -> None:
    ds = _ct()
    ds.add(DataElement(0x00200032, "DS", ["1", "2"]))  # Image Position (Patient): VM 3
    ds.add(DataElement(0x00100020, "US", 7))  # Patient ID is LO
    unknown = 0x00081999
    assert entry_for_tag(unknown) is None
    ds.add(DataElement(unknown, "LO", "what"))
    ds.add(DataElement(0x00104000, "LT", "note"))  # Patient Comments: fine
    ds.add(DataElement(0x00080001, "UL", 1))  # Length to End: retired
    findings = validate(ds)
    assert any("VM is 3" in f.message for f in _at(findings, "(0020,0032)"))
    assert any("VR US" in f.message for f in _at(findings, "(0010,0020)"))
    assert any(
        "unknown public attribute" in f.message for f in _at(findings, "(0008,1999)", "warning")
    )
    assert any("retired" in f.message for f in _at(findings, "(0008,0001)", "warning"))


@needs_corpus
def test_value_form() -> None:
    ds = _ct()
    ds.set(0x00080020, "2024-01-01", validation="off")  # Study Date: DA is YYYYMMDD
    ds.add(DataElement(0x00080018, "UI", "1.02.3"))
    findings = validate(ds)
    assert any("not a valid DA" in f.message for f in _at(findings, "(0008,0020)"))
    assert any("not a valid UID" in f.message for f in _at(findings, "(0008,0018)"))


@needs_corpus
def test_undecidable_condition_is_not_checked() -> None:
    findings = validate(_ct())
    nc = [f for f in findings if f.severity == "not-checked"]
    assert nc and all(f.message for f in nc)
    # e.g. Pixel Aspect Ratio (Image Pixel): "required if the aspect ratio is not 1:1"
    assert any(f.path == "(0028,0034)" for f in nc)


def test_unknown_sop_class_warns() -> None:
    ds = Dataset()
    ds.set(0x00080016, "1.2.3.4")
    ds.set(0x00100010, "DOE^J")
    findings = validate(ds)
    assert findings[0].severity == "warning" and "no IOD known" in findings[0].message


def test_explicit_iod() -> None:
    ds = Dataset()
    ds.set(0x00080016, "1.2.840.10008.5.1.4.1.1.2")
    findings = validate(ds, iod=iod("CTImage"))
    assert _at(findings, "(0020,000D)") and _at(findings, "(0010,0010)")


@needs_corpus
@pytest.mark.slow
def test_every_corpus_file_validates() -> None:
    """No crash on any readable file of the corpus; every one with a known IOD gets one."""
    checked = 0
    for row in manifest():
        if row.broken:
            continue
        try:
            ds = dicomkit.read(row.path)
        except DicomError:
            continue  # unreadable files are the reader's tests' business
        findings = validate(ds)
        assert all(isinstance(f, Finding) for f in findings)
        checked += 1
    assert checked > 100


@needs_corpus
def test_zero_not_permitted() -> None:
    ds = _ct()
    ds.add(DataElement(0x00280010, "US", 0))  # Rows
    found = _at(validate(ds), "(0028,0010)")
    assert any("value is zero" in f.message for f in found)


@needs_corpus
def test_present_when_condition_false_is_an_error() -> None:
    ds = dicomkit.read(CORPUS / "pydicom-data" / "MR2_UNCI.dcm")
    ds.set(0x00180020, "SE")  # Scanning Sequence: no inversion recovery
    ds.add(DataElement(0x00180082, "DS", "100"))  # Inversion Time: 2C on "IR"
    found = _at(validate(ds), "(0018,0082)")  # PS3.5 7.4.4: shall not be included
    assert any("condition MRIsInversionRecovery is not satisfied" in f.message for f in found)
    ds.set(0x00180020, ["SE", "IR"])
    assert not _at(validate(ds), "(0018,0082)")


@needs_corpus
def test_attribute_not_defined_in_items_or_iod() -> None:
    ds = _ct()
    item = Dataset()
    item.set(0x00081150, "1.2.840.10008.5.1.4.1.1.2")
    item.set(0x00081155, "1.2.3.4")
    item.set(0x00100010, "DOE^J")  # Patient's Name has no place in a reference item
    ds.set(0x00081140, Sequence([item]))
    ds.set(0x00400009, "x")  # Scheduled Procedure Step ID: not in the CT Image IOD
    findings = validate(ds)
    assert any(
        "not defined in ReferencedImageSequence items" in f.message
        for f in _at(findings, "(0008,1140)[0]/(0010,0010)", "warning")
    )
    assert not _at(findings, "(0008,1140)[0]/(0008,1150)")
    assert any(
        "not defined in the CTImage IOD" in f.message
        for f in _at(findings, "(0040,0009)", "warning")
    )

"""Record types by SOP Class and the keys of each record (PS3.3 F.4, F.5)."""

from __future__ import annotations

import logging

import pytest

from dicomkit.core._dataset import Dataset
from dicomkit.core._element import DataElement
from dicomkit.media._records import RECORD_KEYS, make_record, record_type_for


@pytest.mark.parametrize(
    "uid, expected",
    [
        ("1.2.840.10008.5.1.4.1.1.2", "IMAGE"),  # CT Image
        ("1.2.840.10008.5.1.4.1.1.4", "IMAGE"),  # MR Image
        ("1.2.840.10008.5.1.4.1.1.66.4", "IMAGE"),  # Segmentation
        ("1.2.840.10008.5.1.4.1.1.11.1", "PRESENTATION"),  # Grayscale Softcopy PS
        ("1.2.840.10008.5.1.4.1.1.11.8", "PRESENTATION"),  # Advanced Blending PS
        ("1.2.840.10008.5.1.4.1.1.88.11", "SR DOCUMENT"),  # Basic Text SR
        ("1.2.840.10008.5.1.4.1.1.88.67", "SR DOCUMENT"),  # X-Ray Radiation Dose SR
        ("1.2.840.10008.5.1.4.1.1.88.59", "KEY OBJECT DOC"),
        ("1.2.840.10008.5.1.4.1.1.481.2", "RT DOSE"),
        ("1.2.840.10008.5.1.4.1.1.481.3", "RT STRUCTURE SET"),
        ("1.2.840.10008.5.1.4.1.1.481.5", "RT PLAN"),
        ("1.2.840.10008.5.1.4.1.1.481.8", "RT PLAN"),  # RT Ion Plan
        ("1.2.840.10008.5.1.4.1.1.481.4", "RT TREAT RECORD"),
        ("1.2.840.10008.5.1.4.1.1.481.10", "RADIOTHERAPY"),  # RT Physician Intent
        ("1.2.840.10008.5.1.4.1.1.9.1.1", "WAVEFORM"),  # 12-lead ECG
        ("1.2.840.10008.5.1.4.1.1.4.2", "SPECTROSCOPY"),
        ("1.2.840.10008.5.1.4.1.1.66", "RAW DATA"),
        ("1.2.840.10008.5.1.4.1.1.66.1", "REGISTRATION"),
        ("1.2.840.10008.5.1.4.1.1.66.2", "FIDUCIAL"),
        ("1.2.840.10008.5.1.4.1.1.104.1", "ENCAP DOC"),  # Encapsulated PDF
        ("1.2.840.10008.5.1.4.1.1.67", "VALUE MAP"),
        ("1.2.840.10008.5.1.4.38.1", "HANGING PROTOCOL"),
        ("1.2.840.10008.5.1.4.39.1", "PALETTE"),
        ("1.2.840.10008.5.1.4.1.1.66.5", "SURFACE"),
        ("1.2.3.4.5", "IMAGE"),  # unknown: an image
    ],
)
def test_record_type_for(uid: str, expected: str) -> None:
    assert record_type_for(uid) == expected


def test_type_1_and_2_keys(caplog: pytest.LogCaptureFixture) -> None:
    src = Dataset()
    src.PatientName = "DOE^J"
    src.StudyInstanceUID = "1.2.3"
    src.StudyDate = "20240102"
    with caplog.at_level(logging.WARNING):
        study = make_record("STUDY", src, ordinal=4, label="x.dcm")
    assert study.DirectoryRecordType == "STUDY"
    assert study.RecordInUseFlag == 0xFFFF
    assert study.OffsetOfTheNextDirectoryRecord == 0
    assert study.StudyInstanceUID == "1.2.3"
    assert study.StudyDate == "20240102"
    assert study.StudyTime == "000000"  # invented (Type 1)
    assert study.StudyID == "4"  # invented from the ordinal
    assert "StudyDescription" in study and not study.StudyDescription  # Type 2: empty
    assert "AccessionNumber" in study
    assert "StudyTime missing from x.dcm" in caplog.text
    patient = make_record("PATIENT", src)
    assert patient.PatientName == "DOE^J"
    assert patient.PatientID.startswith("DK")  # invented, same for the same name
    assert make_record("PATIENT", src).PatientID == patient.PatientID
    assert "PatientBirthDate" not in patient  # Type 3, absent in the instance


def test_invented_uids_are_valid_and_stable() -> None:
    from dicomkit.core._uid import is_valid_uid

    src = Dataset()
    src.SOPInstanceUID = "1.2.3.4"
    a = make_record("SERIES", src).SeriesInstanceUID
    assert is_valid_uid(a) and a == make_record("SERIES", src).SeriesInstanceUID


def test_charset_only_when_not_default() -> None:
    src = Dataset()
    src.SpecificCharacterSet = "ISO_IR 192"
    src.PatientName = "Ölund^Åsa"
    src.PatientID = "1"
    rec = make_record("PATIENT", src)
    assert rec.SpecificCharacterSet == "ISO_IR 192"
    assert rec.PatientName == "Ölund^Åsa"
    src.SpecificCharacterSet = "ISO_IR 6"
    src.PatientName = "A^B"
    assert "SpecificCharacterSet" not in make_record("PATIENT", src)


def test_un_elements_get_their_vr_back() -> None:
    src = Dataset()
    src.add(DataElement.from_raw(0x00100020, "UN", b"ABC "))
    rec = make_record("PATIENT", src)
    assert rec[0x00100020].vr == "LO"
    assert rec.PatientID == "ABC"


def test_sr_document_keys() -> None:
    src = Dataset()
    src.InstanceNumber = "7"
    src.CompletionFlag = "COMPLETE"
    src.VerificationFlag = "VERIFIED"
    src.ContentDate = "20240101"
    src.ContentTime = "101010"
    code = Dataset()
    code.CodeValue = "18748-4"
    code.CodingSchemeDesignator = "LN"
    code.CodeMeaning = "Diagnostic Imaging Report"
    src.ConceptNameCodeSequence = [code]
    observer = Dataset()
    observer.VerificationDateTime = "20240102120000"
    src.VerifyingObserverSequence = [observer]
    mod = Dataset()
    mod.RelationshipType = "HAS CONCEPT MOD"
    other = Dataset()
    other.RelationshipType = "CONTAINS"
    src.ContentSequence = [mod, other]
    rec = make_record("SR DOCUMENT", src)
    assert rec.CompletionFlag == "COMPLETE"
    assert rec.VerificationDateTime == "20240102120000"
    assert rec.ConceptNameCodeSequence[0].CodeValue == "18748-4"
    assert [i.RelationshipType for i in rec.ContentSequence] == ["HAS CONCEPT MOD"]


def test_every_key_is_a_dictionary_keyword() -> None:
    from dicomkit.dictionary import tag_for_keyword

    for rtype, keys in RECORD_KEYS.items():
        for keyword, typ in keys:
            assert tag_for_keyword(keyword) is not None, (rtype, keyword)
            assert typ in ("1", "1C", "2", "3")

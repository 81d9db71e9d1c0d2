"""deidentify() on built data sets: every action, nesting, options, recording."""

from __future__ import annotations

from dicomkit.core._dataset import Dataset
from dicomkit.core._element import DataElement
from dicomkit.core._sequence import Sequence
from dicomkit.deid import Change, Option, UIDMap, deidentify

CT = "1.2.840.10008.5.1.4.1.1.2"
UNKNOWN = "1.2.3.999"


def _item(**kw: object) -> Dataset:
    ds = Dataset()
    for k, v in kw.items():
        ds.set(k, v)
    return ds


def make(sop_class: str = CT) -> Dataset:
    """A CT-like data set; with another (unknown) SOP class no IOD types are known, so
    combined codes take their last alternative (e.g. X/Z/U* keeps reference sequences)."""
    ds = Dataset()
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = "1.2.3.4.5.6"
    ds.StudyInstanceUID = "1.2.3.4"
    ds.SeriesInstanceUID = "1.2.3.4.5"
    ds.PatientName = "DOE^JOHN"
    ds.PatientID = "12345"
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "M"
    ds.PatientAge = "054Y"
    ds.StudyDate = "20240115"
    ds.AcquisitionDate = "20240115"
    ds.ContentDate = "20240115"
    ds.InstitutionName = "General Hospital"
    ds.StationName = "CT01"
    ds.DeviceSerialNumber = "SN-1"
    ds.StudyDescription = "CT HEAD for John Doe"
    ds.OtherPatientIDs = "999"
    ds.Modality = "CT"
    ds.set(0x00091010, b"secret", vr="OB")
    ds.set(0x00090010, "ACME", vr="LO")
    ds.set(0x60000010, 2, vr="US")
    ds.set(0x60003000, b"\xff\xff", vr="OW")
    ds.set(0x60004000, "burned name", vr="LT")
    ds.set(0x60001500, "JOHN DOE", vr="LO")  # Overlay Label
    ds.ReferencedImageSequence = Sequence(
        [
            _item(ReferencedSOPClassUID=CT, ReferencedSOPInstanceUID="1.2.3.4.5.7"),
        ]
    )
    nested = _item(PatientName="NESTED^NAME", OtherPatientIDs="X1")
    nested.set(0x00111010, "private", vr="LO")
    ds.ReferencedPatientSequence = Sequence([nested])
    ds.SourceImageSequence = Sequence(
        [
            _item(ReferencedSOPClassUID=CT, ReferencedSOPInstanceUID="1.2.3.4.5.6"),
        ]
    )
    return ds


def test_input_untouched_and_basic_actions() -> None:
    ds = make()
    before = ds.copy()
    out = deidentify(ds, salt=b"k")
    assert ds == before
    assert out.PatientName is None and "PatientName" in out  # Z
    assert out.get("PatientBirthDate") is None  # Z
    for gone in (
        "PatientAge",
        "AcquisitionDate",
        "InstitutionName",
        "StationName",
        "DeviceSerialNumber",
        "StudyDescription",
        "OtherPatientIDs",
    ):
        assert gone not in out, gone  # X (and Type 3)
    assert out.ContentDate is None and "ContentDate" in out  # Z/D, Type 2C in CT
    assert out.ReferencedImageSequence[0].ReferencedSOPClassUID == CT  # X/Z/U*: kept, U
    assert out.Modality == "CT"  # not listed: kept
    assert out.SOPClassUID == CT


def test_uids_replaced_consistently_and_references_follow() -> None:
    uids = UIDMap(b"k")
    out = deidentify(make(UNKNOWN), uid_map=uids)
    assert out.SOPInstanceUID.startswith("2.25.")
    assert out.SOPInstanceUID == uids["1.2.3.4.5.6"]
    assert out.SourceImageSequence[0].ReferencedSOPInstanceUID == out.SOPInstanceUID
    ref = out.ReferencedImageSequence[0]
    assert ref.ReferencedSOPInstanceUID == uids["1.2.3.4.5.7"]
    assert ref.ReferencedSOPClassUID == CT
    again = deidentify(make(UNKNOWN), uid_map=uids)
    assert again.StudyInstanceUID == out.StudyInstanceUID
    plain: dict[str, str] = {}
    a = deidentify(make(), uid_map=plain, salt="s")
    assert plain["1.2.3.4"] == a.StudyInstanceUID


def test_private_overlays_and_nested_items_removed() -> None:
    out = deidentify(make())
    tags = [int(e.tag) for e in out.walk()]
    assert not [t for t in tags if t >> 16 & 1]
    assert not [t for t in tags if 0x6000 <= t >> 16 <= 0x60FF]
    assert "ReferencedPatientSequence" not in out  # X
    ds = make()
    ds.ContentSequence = Sequence([_item(UID="1.2.3.77")])
    kept = deidentify(ds, options=[Option.RETAIN_UIDS])
    assert kept.SOPInstanceUID == "1.2.3.4.5.6"
    assert kept.ContentSequence[0].UID.startswith("2.25.")  # not under Retain UIDs


def test_sequences_with_k_are_cleaned_inside() -> None:
    ds = make(UNKNOWN)
    ds.ReferencedImageSequence[0].PatientName = "HIDDEN^NAME"
    out = deidentify(ds)
    assert "PatientName" in out.ReferencedImageSequence[0]
    assert out.ReferencedImageSequence[0].PatientName is None


def test_recording_elements() -> None:
    out = deidentify(make(), options=["retain-uids", "clean-descriptors"])
    assert out.PatientIdentityRemoved == "YES"
    codes = [
        (i.CodeValue, i.CodingSchemeDesignator) for i in out.DeidentificationMethodCodeSequence
    ]
    assert codes == [("113100", "DCM"), ("113105", "DCM"), ("113110", "DCM")]
    assert "Basic Application Confidentiality Profile" in list(out.DeidentificationMethod)
    assert out.LongitudinalTemporalInformationModified == "REMOVED"
    twice = deidentify(out)  # codes are merged, not repeated
    assert len(twice.DeidentificationMethodCodeSequence) == 3


def test_longitudinal_options() -> None:
    full = deidentify(make(), options=[Option.RETAIN_LONGITUDINAL_FULL_DATES])
    assert full.AcquisitionDate == "20240115" and full.StudyDate == "20240115"
    assert full.LongitudinalTemporalInformationModified == "UNMODIFIED"
    mod = deidentify(make(), options=[Option.RETAIN_LONGITUDINAL_MODIFIED_DATES], date_shift=-10)
    assert mod.AcquisitionDate == "20240105" and mod.StudyDate == "20240105"
    assert mod.LongitudinalTemporalInformationModified == "MODIFIED"
    a = deidentify(make(), options=["retain-modified-dates"], salt="s")
    b = deidentify(make(), options=["retain-modified-dates"], salt="s")
    assert a.StudyDate == b.StudyDate != "20240115"


def test_retain_and_clean_options() -> None:
    out = deidentify(
        make(),
        options=[
            Option.RETAIN_DEVICE_IDENTITY,
            Option.RETAIN_INSTITUTION_IDENTITY,
            Option.RETAIN_PATIENT_CHARACTERISTICS,
            Option.CLEAN_DESCRIPTORS,
            Option.RETAIN_SAFE_PRIVATE,
            Option.CLEAN_GRAPHICS,
        ],
    )
    assert out.StationName == "CT01" and out.DeviceSerialNumber == "SN-1"
    assert out.InstitutionName == "General Hospital"
    assert out.PatientAge == "054Y" and out.PatientSex == "M"
    assert out.StudyDescription == "ANONYMIZED"
    assert not [e for e in out.walk() if e.tag >> 16 & 1]  # no private kept as "safe"
    assert out[0x60003000].value == b"\x00\x00"  # overlay cleaned, kept
    assert out[0x60004000].value == "ANONYMIZED"
    assert out[0x60000010].value == 2  # overlay rows kept
    assert out[0x60001500].value == "ANONYMIZED"  # overlay label cleaned


def test_log_and_dummy_overrides() -> None:
    log: list[Change] = []
    dummies = {"PN": "ANON", 0x00100020: "SUBJECT-7"}
    ds = make(UNKNOWN)
    ds.PerformingPhysicianName = "DR^WHO"  # X
    ds.OperatorsName = "OP^ONE"  # X/Z/D
    out = deidentify(
        ds, log=log, dummy={**__import__("dicomkit.deid").deid.DEFAULT_DUMMIES, **dummies}
    )
    assert any(c.path == "(0010,0010)" and c.action == "Z" for c in log)
    assert any(c.path.startswith("(0008,1140)[0]") and c.action == "U" for c in log)
    assert all(isinstance(c.tag, int) for c in log)
    assert out.PatientID == "SUBJECT-7"  # Z/D -> D without IOD knowledge; tag override
    assert "PerformingPhysicianName" not in out
    assert out.OperatorsName == "ANON"  # X/Z/D -> D; the PN dummy given
    ct = deidentify(make(), salt="s")
    assert ct.PatientID is None  # Z/D -> Z: Patient ID is Type 2 in the CT IOD


def test_in_place() -> None:
    ds = make()
    out = deidentify(ds, in_place=True)
    assert out is ds and ds.PatientName is None


def test_content_sequence_text_is_replaced() -> None:
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.88.33"
    ds.SOPInstanceUID = "1.2.3"
    item = _item(ValueType="TEXT", TextValue="Patient John Doe said ...")
    item.ContentSequence = Sequence([_item(ValueType="PNAME", PersonName="DOE^J")])
    ds.ContentSequence = Sequence([item])
    out = deidentify(ds)
    first = out.ContentSequence[0]
    assert first.TextValue == "ANONYMIZED"
    assert first.ContentSequence[0].PersonName == "ANONYMIZED"


def test_empty_uid_for_d_gets_a_value() -> None:
    ds = make()
    ds.add(DataElement(0x0020000D, "UI", None))
    out = deidentify(ds)
    assert out.StudyInstanceUID.startswith("2.25.")


def test_file_meta_follows() -> None:
    ds = make()
    meta = Dataset()
    meta.set(0x00020002, CT, vr="UI")
    meta.set(0x00020003, "1.2.3.4.5.6", vr="UI")
    meta.set(0x00020016, "SCANNER_AE", vr="AE")
    ds.file_meta = meta
    out = deidentify(ds)
    assert out.file_meta is not None and out.file_meta is not meta
    assert out.file_meta.get(0x00020003) == out.SOPInstanceUID
    assert 0x00020016 not in out.file_meta
    assert meta.get(0x00020016) == "SCANNER_AE"
    kept = deidentify(ds, options=[Option.RETAIN_DEVICE_IDENTITY, Option.RETAIN_UIDS])
    assert kept.file_meta.get(0x00020016) == "SCANNER_AE"
    assert kept.file_meta.get(0x00020003) == "1.2.3.4.5.6"


def test_iod_taken_from_file_meta_when_the_data_set_has_no_sop_class() -> None:
    ds = Dataset()
    meta = Dataset()
    meta.set(0x00020002, "1.2.840.10008.1.3.10", vr="UI")  # Media Storage Directory
    meta.set(0x00020003, "1.2.3", vr="UI")
    ds.file_meta = meta
    rec = _item(
        DirectoryRecordType="STUDY",
        StudyDate="20240101",
        StudyTime="101010",
        StudyID="S1",
        AccessionNumber="A1",
    )
    ds.DirectoryRecordSequence = Sequence([rec])
    out = deidentify(ds)
    rec = out.DirectoryRecordSequence[0]
    assert rec.StudyID == "ANONYMIZED"  # Z on a Type 1 key: a dummy
    assert rec.StudyDate == "19000101"
    assert rec.AccessionNumber is None  # Z, Type 2

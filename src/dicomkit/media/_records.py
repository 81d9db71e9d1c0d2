"""Directory record types and their keys (PS3.3 F.4, F.5), and which record an instance gets.

Each record type lists its keys as ``(keyword, type)``: "1" must hold a value (invented, with a
warning, when the instance has none), "2" is present and may be empty, "1C"/"3" are copied
when the instance has them. The record type of an instance follows its SOP Class (PS3.3 F.4,
Table F.4-1): images get IMAGE, presentation states PRESENTATION, SR documents SR DOCUMENT ...
"""

from __future__ import annotations

import functools
import logging
import uuid
import zlib
from typing import Any

from dicomkit.core._dataset import Dataset
from dicomkit.core._element import DataElement
from dicomkit.dictionary import tags

__all__ = [
    "IMAGE",
    "IN_USE",
    "PATIENT",
    "RECORD_KEYS",
    "ROOT_LEVEL_TYPES",
    "SERIES",
    "STUDY",
    "make_record",
    "record_type_for",
]

log = logging.getLogger(__name__)

PATIENT, STUDY, SERIES, IMAGE = "PATIENT", "STUDY", "SERIES", "IMAGE"
IN_USE = 0xFFFF

_CONTENT_ID = (
    ("InstanceNumber", "1"),
    ("ContentLabel", "1"),
    ("ContentDescription", "2"),
    ("AlternateContentDescriptionSequence", "3"),
    ("ContentCreatorName", "2"),
    ("ContentCreatorIdentificationCodeSequence", "3"),
)
_DATED = (("ContentDate", "1"), ("ContentTime", "1"))

#: Keys per record type (PS3.3 F.5). Specific Character Set (1C) is handled separately.
RECORD_KEYS: dict[str, tuple[tuple[str, str], ...]] = {
    PATIENT: (
        ("PatientName", "2"),
        ("PatientID", "1"),
        ("PatientBirthDate", "3"),
        ("PatientSex", "3"),
    ),
    STUDY: (
        ("StudyDate", "1"),
        ("StudyTime", "1"),
        ("StudyDescription", "2"),
        ("StudyInstanceUID", "1"),
        ("StudyID", "1"),
        ("AccessionNumber", "2"),
    ),
    SERIES: (
        ("Modality", "1"),
        ("SeriesInstanceUID", "1"),
        ("SeriesNumber", "1"),
        ("SeriesDescription", "3"),
    ),
    IMAGE: (("InstanceNumber", "1"),),
    "RT DOSE": (("InstanceNumber", "1"), ("DoseSummationType", "1"), ("DoseComment", "3")),
    "RT STRUCTURE SET": (
        ("InstanceNumber", "1"),
        ("StructureSetLabel", "1"),
        ("StructureSetDate", "2"),
        ("StructureSetTime", "2"),
    ),
    "RT PLAN": (
        ("InstanceNumber", "1"),
        ("RTPlanLabel", "1"),
        ("RTPlanDate", "2"),
        ("RTPlanTime", "2"),
    ),
    "RT TREAT RECORD": (("InstanceNumber", "1"), ("TreatmentDate", "2"), ("TreatmentTime", "2")),
    "PRESENTATION": (
        ("PresentationCreationDate", "1"),
        ("PresentationCreationTime", "1"),
        *_CONTENT_ID,
        ("ReferencedSeriesSequence", "1C"),
        ("BlendingSequence", "1C"),
    ),
    "WAVEFORM": (("InstanceNumber", "1"), *_DATED),
    "SR DOCUMENT": (
        ("InstanceNumber", "1"),
        ("CompletionFlag", "1"),
        ("VerificationFlag", "1"),
        *_DATED,
        ("VerificationDateTime", "1C"),
        ("ConceptNameCodeSequence", "1"),
    ),
    "KEY OBJECT DOC": (("InstanceNumber", "1"), *_DATED, ("ConceptNameCodeSequence", "1")),
    "SPECTROSCOPY": (
        ("ImageType", "1"),
        *_DATED,
        ("InstanceNumber", "1"),
        ("ReferencedImageEvidenceSequence", "1C"),
        ("NumberOfFrames", "1"),
        ("Rows", "1"),
        ("Columns", "1"),
        ("DataPointRows", "1"),
        ("DataPointColumns", "1"),
    ),
    "RAW DATA": (*_DATED, ("InstanceNumber", "2")),
    "REGISTRATION": (*_DATED, *_CONTENT_ID),
    "FIDUCIAL": (*_DATED, *_CONTENT_ID),
    "HANGING PROTOCOL": (
        ("HangingProtocolName", "1"),
        ("HangingProtocolDescription", "1"),
        ("HangingProtocolLevel", "1"),
        ("HangingProtocolCreator", "1"),
        ("HangingProtocolCreationDateTime", "1"),
        ("HangingProtocolDefinitionSequence", "1"),
        ("NumberOfPriorsReferenced", "1"),
        ("HangingProtocolUserIdentificationCodeSequence", "2"),
    ),
    "ENCAP DOC": (
        ("ContentDate", "2"),
        ("ContentTime", "2"),
        ("InstanceNumber", "1"),
        ("DocumentTitle", "2"),
        ("HL7InstanceIdentifier", "1C"),
        ("ConceptNameCodeSequence", "2"),
        ("MIMETypeOfEncapsulatedDocument", "1"),
    ),
    "HL7 STRUC DOC": (
        ("HL7InstanceIdentifier", "1"),
        ("HL7DocumentEffectiveTime", "1"),
        ("HL7DocumentTypeCodeSequence", "1"),
    ),
    "VALUE MAP": (*_DATED, *_CONTENT_ID),
    "STEREOMETRIC": _CONTENT_ID,
    "SURFACE": (*_DATED, *_CONTENT_ID),
    # Newer record types: the keys are copied when present (not checked against F.5 here).
    "PALETTE": (("ContentLabel", "3"), ("ContentDescription", "3")),
    "IMPLANT": (
        ("Manufacturer", "3"),
        ("ImplantName", "3"),
        ("ImplantSize", "3"),
        ("ImplantPartNumber", "3"),
    ),
    "IMPLANT ASSY": (
        ("ImplantAssemblyTemplateName", "3"),
        ("Manufacturer", "3"),
        ("ProcedureTypeCodeSequence", "3"),
    ),
    "IMPLANT GROUP": (("ImplantTemplateGroupName", "3"), ("ImplantTemplateGroupIssuer", "3")),
    "MEASUREMENT": (
        ("ContentDate", "3"),
        ("ContentTime", "3"),
        ("InstanceNumber", "3"),
        ("ConceptNameCodeSequence", "3"),
    ),
    "RADIOTHERAPY": (
        ("InstanceNumber", "3"),
        ("ContentLabel", "3"),
        ("ContentDescription", "3"),
        ("ContentDate", "3"),
        ("ContentTime", "3"),
    ),
}
_GENERIC = (
    ("InstanceNumber", "3"),
    ("ContentDate", "3"),
    ("ContentTime", "3"),
    ("ContentLabel", "3"),
    ("ContentDescription", "3"),
)

#: Record types that stand at the root of the directory, outside any patient (PS3.3 F.4).
ROOT_LEVEL_TYPES = frozenset(
    {"HANGING PROTOCOL", "PALETTE", "IMPLANT", "IMPLANT ASSY", "IMPLANT GROUP"}
)

_BY_KEYWORD: dict[str, str] = {
    "RTDoseStorage": "RT DOSE",
    "RTStructureSetStorage": "RT STRUCTURE SET",
    "RTPlanStorage": "RT PLAN",
    "RTIonPlanStorage": "RT PLAN",
    "RTBeamsTreatmentRecordStorage": "RT TREAT RECORD",
    "RTBrachyTreatmentRecordStorage": "RT TREAT RECORD",
    "RTTreatmentSummaryRecordStorage": "RT TREAT RECORD",
    "RTIonBeamsTreatmentRecordStorage": "RT TREAT RECORD",
    "KeyObjectSelectionDocumentStorage": "KEY OBJECT DOC",
    "MRSpectroscopyStorage": "SPECTROSCOPY",
    "RawDataStorage": "RAW DATA",
    "SpatialRegistrationStorage": "REGISTRATION",
    "DeformableSpatialRegistrationStorage": "REGISTRATION",
    "SpatialFiducialsStorage": "FIDUCIAL",
    "HangingProtocolStorage": "HANGING PROTOCOL",
    "EncapsulatedPDFStorage": "ENCAP DOC",
    "EncapsulatedCDAStorage": "ENCAP DOC",
    "EncapsulatedSTLStorage": "ENCAP DOC",
    "EncapsulatedOBJStorage": "ENCAP DOC",
    "EncapsulatedMTLStorage": "ENCAP DOC",
    "RealWorldValueMappingStorage": "VALUE MAP",
    "StereometricRelationshipStorage": "STEREOMETRIC",
    "ColorPaletteStorage": "PALETTE",
    "GenericImplantTemplateStorage": "IMPLANT",
    "ImplantAssemblyTemplateStorage": "IMPLANT ASSY",
    "ImplantTemplateGroupStorage": "IMPLANT GROUP",
    "SurfaceSegmentationStorage": "SURFACE",
    "TractographyResultsStorage": "TRACT",
    "SurfaceScanMeshStorage": "SURFACE SCAN",
    "SurfaceScanPointCloudStorage": "SURFACE SCAN",
    "ContentAssessmentResultsStorage": "ASSESSMENT",
    "MicroscopyBulkSimpleAnnotationsStorage": "ANNOTATION",
    "InventoryStorage": "INVENTORY",
    "LensometryMeasurementsStorage": "MEASUREMENT",
    "AutorefractionMeasurementsStorage": "MEASUREMENT",
    "KeratometryMeasurementsStorage": "MEASUREMENT",
    "SubjectiveRefractionMeasurementsStorage": "MEASUREMENT",
    "VisualAcuityMeasurementsStorage": "MEASUREMENT",
    "OphthalmicAxialMeasurementsStorage": "MEASUREMENT",
    "IntraocularLensCalculationsStorage": "MEASUREMENT",
    "OphthalmicVisualFieldStaticPerimetryMeasurementsStorage": "MEASUREMENT",
    "SpectaclePrescriptionReportStorage": "SR DOCUMENT",
    "MacularGridThicknessAndVolumeReportStorage": "SR DOCUMENT",
    "ProcedureLogStorage": "SR DOCUMENT",
}


@functools.lru_cache(maxsize=512)
def record_type_for(sop_class_uid: str) -> str:
    """The directory record type for an instance of ``sop_class_uid`` (PS3.3 F.4-1)."""
    from dicomkit.dictionary import uid_info

    info = uid_info(str(sop_class_uid).strip("\x00 "))
    kw = str(info.keyword) if info is not None else ""
    if kw in _BY_KEYWORD:
        return _BY_KEYWORD[kw]
    if "PresentationState" in kw:
        return "PRESENTATION"
    if kw.endswith("WaveformStorage"):
        return "WAVEFORM"
    if kw.endswith(("SRStorage", "SRStorageTrial")):
        return "SR DOCUMENT"
    if kw.startswith("RT") or "Radiation" in kw or kw.endswith("DeliveryInstructionStorage"):
        return "RADIOTHERAPY"
    return IMAGE


def _present(ds: Dataset, tag: int) -> bool:
    if tag not in ds:
        return False
    el = ds[tag]
    raw = el.raw
    if raw is not None:
        return len(raw) > 0 if el.vr != "SQ" else bool(el.value)
    v = el.value
    return v is not None and v != "" and v != [] and v != b""


def _copy(el: DataElement) -> DataElement:
    """A copy of an instance's element; an explicit ``UN`` of a known tag gets its
    dictionary VR back (PS3.5 6.2.2), so the record holds text, not bytes."""
    if el.vr == "UN" and el.raw is not None:
        from dicomkit.dictionary import vr_for_tag

        vr = str(vr_for_tag(int(el.tag)))
        if vr not in ("UN", "SQ"):
            return DataElement.from_raw(
                int(el.tag), vr, bytes(el.raw), el.is_little_endian, el.charsets
            )
    return el.copy()


def _invent(keyword: str, src: Dataset, ordinal: int) -> Any:
    """A value for a missing Type 1 key (logged): what a reader can still sort and show."""
    if keyword.endswith("InstanceUID"):
        # Deterministic, so a group of instances lacking the UID shares one (PS3.5 B.2).
        seed = f"{keyword}:{src.get(tags.SOPInstanceUID) or ''}:{src.get('PatientID') or ''}"
        return f"2.25.{uuid.uuid5(uuid.NAMESPACE_OID, seed).int}"
    if keyword == "PatientID":
        name = str(src.get("PatientName") or "")
        return f"DK{zlib.crc32(name.encode('utf-8')):08X}"
    if keyword in ("StudyID", "SeriesNumber", "InstanceNumber"):
        return str(ordinal)
    if keyword.endswith("Date"):
        for alt in ("ContentDate", "InstanceCreationDate", "SeriesDate", "StudyDate"):
            if src.get(alt):
                return src.get(alt)
        return "19000101"
    if keyword.endswith("Time"):
        for alt in ("ContentTime", "InstanceCreationTime", "SeriesTime", "StudyTime"):
            if src.get(alt):
                return src.get(alt)
        return "000000"
    if keyword == "PresentationCreationDate":
        return src.get("ContentDate") or "19000101"
    if keyword == "Modality":
        return "OT"
    if keyword == "ContentLabel":
        return "UNNAMED"
    if keyword == "VerificationFlag":
        return "UNVERIFIED"
    if keyword == "CompletionFlag":
        return "PARTIAL"
    return None


def make_record(
    record_type: str,
    src: Dataset,
    *,
    ordinal: int = 1,
    keys: tuple[tuple[str, str], ...] | None = None,
    label: str = "",
) -> Dataset:
    """A directory record item of ``record_type`` with its keys taken from ``src`` (an
    instance's data set). The offsets (0004,1400)/(0004,1420) are left 0 for the writer."""
    from dicomkit.dictionary import tag_for_keyword

    rec = Dataset()
    rec.add(DataElement(tags.OffsetOfTheNextDirectoryRecord, "UL", 0))
    rec.add(DataElement(tags.RecordInUseFlag, "US", IN_USE))
    rec.add(DataElement(tags.OffsetOfReferencedLowerLevelDirectoryEntity, "UL", 0))
    rec.add(DataElement(tags.DirectoryRecordType, "CS", record_type))
    cs = src.get(tags.SpecificCharacterSet)
    if cs and str(cs).strip() not in ("", "ISO_IR 6"):
        rec.add(
            src[tags.SpecificCharacterSet].copy()
        )  # before the keys: their raw text is in this charset
    for keyword, typ in keys if keys is not None else RECORD_KEYS.get(record_type, _GENERIC):
        tag = tag_for_keyword(keyword)
        if tag is None:  # pragma: no cover - the table holds dictionary keywords
            continue
        if _present(src, tag):
            rec.add(_copy(src[tag]))
        elif typ == "1":
            value = _invent(keyword, src, ordinal)
            log.warning(
                "%s record: %s missing from %s; using %r",
                record_type,
                keyword,
                label or "an instance",
                value,
            )
            rec.set(tag, value)
        elif typ == "2":
            rec.set(tag, None)
    if (
        record_type == "SR DOCUMENT"
        and rec.get("VerificationFlag") == "VERIFIED"
        and tags.VerificationDateTime not in rec
    ):  # VerificationDateTime
        observers = src.get("VerifyingObserverSequence") or []
        if observers and observers[-1].get("VerificationDateTime"):
            rec.set("VerificationDateTime", observers[-1].get("VerificationDateTime"))
    if record_type in ("SR DOCUMENT", "KEY OBJECT DOC"):
        mods = [
            item.copy()
            for item in (src.get("ContentSequence") or [])
            if str(item.get("RelationshipType") or "") == "HAS CONCEPT MOD"
        ]
        if mods:
            rec.set("ContentSequence", mods)
    return rec

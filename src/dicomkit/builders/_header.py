"""The modules every object built here shares: Patient, General Study, a new series and
instance, General Equipment and SOP Common (PS3.3 C.7.1.1, C.7.2.1, C.7.3.1, C.7.5.1, C.12.1).

Patient and study come from a reference data set (``like``: one of the images the new object
is about) or are given; everything else is new.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any

from dicomkit.core._dataset import Dataset
from dicomkit.core._sequence import Sequence
from dicomkit.core._uid import generate_uid
from dicomkit.errors import InvalidValueError

__all__ = ["PATIENT_STUDY", "new_instance", "now", "referenced_series", "sop_ref"]

#: Patient and General Study attributes copied from the reference data set (PS3.3 C.7.1.1,
#: C.7.2.1); the Type 2 ones are written empty when there is no reference.
PATIENT_STUDY: tuple[tuple[str, str], ...] = (
    ("PatientName", "PN"),
    ("PatientID", "LO"),
    ("PatientBirthDate", "DA"),
    ("PatientSex", "CS"),
    ("StudyInstanceUID", "UI"),
    ("StudyDate", "DA"),
    ("StudyTime", "TM"),
    ("ReferringPhysicianName", "PN"),
    ("StudyID", "SH"),
    ("AccessionNumber", "SH"),
)
_OPTIONAL = ("PatientAge", "StudyDescription", "IssuerOfPatientID", "PatientWeight")


def now() -> tuple[str, str]:
    """Today's date and time as DA and TM values."""
    t = _dt.datetime.now()
    return t.strftime("%Y%m%d"), t.strftime("%H%M%S")


def new_instance(
    sop_class: str,
    modality: str,
    *,
    like: Dataset | None = None,
    patient: Mapping[str, Any] | None = None,
    series_number: int = 1,
    instance_number: int = 1,
    series_description: str | None = None,
    manufacturer: str = "dicomkit",
    same_series: bool = False,
    laterality: bool = True,
) -> Dataset:
    """A new data set with the common modules filled in.

    ``like`` gives patient and study (and, with ``same_series``, the series: for a Secondary
    Capture added to the reference's series); ``patient`` gives or overrides attributes by
    keyword (``{"PatientName": "Doe^Jane", "PatientID": "123"}``). A new Study Instance UID is
    made when neither has one.
    """
    ds = Dataset()
    if like is not None and like.get("SpecificCharacterSet"):
        ds.set("SpecificCharacterSet", like.get("SpecificCharacterSet"), "CS")
    ds.set("SOPClassUID", sop_class, "UI")
    ds.set("SOPInstanceUID", str(generate_uid()), "UI")
    for keyword, vr in PATIENT_STUDY:
        value = like.get(keyword) if like is not None else None
        ds.set(keyword, "" if value is None else value, vr, validation="off")
    for keyword in _OPTIONAL:
        if like is not None and like.get(keyword) not in (None, ""):
            ds.add(like[keyword].copy())
    for keyword, value in (patient or {}).items():
        try:
            ds.set(keyword, value)
        except Exception as exc:  # a mistyped keyword: say which
            raise InvalidValueError(f"patient/study attribute {keyword!r}: {exc}") from exc
    if not ds.get("StudyInstanceUID"):
        ds.set("StudyInstanceUID", str(generate_uid()), "UI")
    date, time = now()
    ds.set("Modality", modality, "CS")
    if same_series and like is not None and like.get("SeriesInstanceUID"):
        ds.set("SeriesInstanceUID", str(like.get("SeriesInstanceUID")), "UI")
        ds.set("SeriesNumber", like.get("SeriesNumber") or series_number, "IS")
    else:
        ds.set("SeriesInstanceUID", str(generate_uid()), "UI")
        ds.set("SeriesNumber", series_number, "IS")
    # Type 2C: paired body parts; unknown here, so present and empty (PS3.3 C.7.3.1); an
    # enhanced IOD (SEG) carries laterality per frame instead
    if laterality:
        ds.set("Laterality", (like.get("Laterality") if like is not None else None) or "", "CS")
    if series_description:
        ds.set("SeriesDescription", series_description, "LO")
    ds.set("SeriesDate", date, "DA")
    ds.set("SeriesTime", time, "TM")
    ds.set("Manufacturer", manufacturer, "LO")
    ds.set("InstanceNumber", instance_number, "IS")
    ds.set("ContentDate", date, "DA")
    ds.set("ContentTime", time, "TM")
    ds.set("InstanceCreationDate", date, "DA")
    ds.set("InstanceCreationTime", time, "TM")
    return ds


def sop_ref(ds: Dataset) -> Dataset:
    """A Referenced SOP Class / Instance UID item for ``ds`` (PS3.3 Table 10-11)."""
    cls, inst = ds.get("SOPClassUID"), ds.get("SOPInstanceUID")
    if not cls or not inst:
        raise InvalidValueError(
            "a referenced data set has no SOP Class UID or SOP Instance UID: pass the "
            "source images as read from their files"
        )
    item = Dataset()
    item.set("ReferencedSOPClassUID", str(cls), "UI")
    item.set("ReferencedSOPInstanceUID", str(inst), "UI")
    return item


def referenced_series(
    sources: list[Dataset], *, item_keyword: str = "ReferencedInstanceSequence"
) -> Sequence:
    """A Referenced Series Sequence: one item per series with the references of its instances
    in ``item_keyword`` (Referenced Instance Sequence for the Common Instance Reference module,
    PS3.3 C.12.2; Referenced Image Sequence for a presentation state, C.11.11)."""
    by_series: dict[str, list[Dataset]] = {}
    for src in sources:
        series = str(src.get("SeriesInstanceUID") or "")
        if not series:
            raise InvalidValueError(
                "a referenced data set has no Series Instance UID: pass the source images "
                "as read from their files"
            )
        by_series.setdefault(series, [])
        if all(s.get("SOPInstanceUID") != src.get("SOPInstanceUID") for s in by_series[series]):
            by_series[series].append(src)
    seq = Sequence()
    for series, items in by_series.items():
        se = Dataset()
        se.set("SeriesInstanceUID", series, "UI")
        se.set(item_keyword, Sequence([sop_ref(s) for s in items]), "SQ")
        seq.append(se)
    return seq

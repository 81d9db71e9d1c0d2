"""Relevant Patient Information Query (PS3.4 Annex Q), both sides.

A modality asks, for one patient, the information relevant to the examination -- history,
risk factors, prior findings -- as an SR content tree of the template its SOP class names:

=================================================  ========================================
SOP class                                          template (PS3.16)
=================================================  ========================================
General Relevant Patient Information Query          TID 9007 General Relevant Patient Info.
Breast Imaging Relevant Patient Information Query   TID 9000 Relevant Patient Information
                                                    for Breast Imaging (9001-9006 below it)
Cardiac Relevant Patient Information Query          TID 3802 Cardiovascular Patient History
=================================================  ========================================

The request identifier holds the patient keys (Patient ID, Patient's Name ...) and the
Content Template Sequence (0040,A504) naming the template; the response holds those keys and
the content tree (Value Type, Concept Name Code Sequence, Content Template Sequence, Content
Sequence) -- zero or one pending response (Q.2.1.1.3).

SCP: :class:`RelevantPatientSCP` over :class:`PatientRecords` (what the node holds:
:class:`FolderPatientRecords` reads a folder of instances; the archive node supplies its
own). The tree is the newest SR document of the patient made with the requested template
(its Content Template Sequence names it); when there is none, one is built from the patient
data: Subject Age (121033, DCM), Subject Sex (121032, DCM), Patient Height (8302-2, LN) and
Patient Weight (29463-7, LN) under the template's root (:data:`TEMPLATE_ROOTS`). Statuses
(Table Q.2-1): no Content Template Sequence or no patient key -> 0xA900 naming it; another
template than the SOP class's -> 0xC200; more than one patient matching -> 0xC100.

SCU: :func:`relevant_patient_query`, :func:`query_relevant_information`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

from dicomkit.core._dataset import Dataset
from dicomkit.core._sequence import Sequence
from dicomkit.dictionary import status_codes, tags, uids
from dicomkit.errors import DimseError
from dicomkit.net import Association, Incoming, response_for
from dicomkit.net.proto import _dimse as dimse
from dicomkit.services._n_common import install_handlers, text
from dicomkit.services._worklist import matches, response_for_item

log = logging.getLogger("dicomkit.services.relevant_patient")

GENERAL_RELEVANT_PATIENT = uids.GeneralRelevantPatientInformationQuery
BREAST_RELEVANT_PATIENT = uids.BreastImagingRelevantPatientInformationQuery
CARDIAC_RELEVANT_PATIENT = uids.CardiacRelevantPatientInformationQuery
#: SOP class -> the Template Identifier (DCMR) it answers with (PS3.4 Q.3)
TEMPLATES = {
    GENERAL_RELEVANT_PATIENT: "9007",
    BREAST_RELEVANT_PATIENT: "9000",
    CARDIAC_RELEVANT_PATIENT: "3802",
}
RELEVANT_PATIENT_CLASSES = tuple(TEMPLATES)
#: the root concept of a tree built from patient data when the node holds no report made
#: with the template: (code value, scheme, meaning); pass ``roots=`` to change it
TEMPLATE_ROOTS: dict[str, tuple[str, str, str]] = {
    "9007": ("11329-0", "LN", "History"),
    "9000": ("11329-0", "LN", "History"),
    "3802": ("11329-0", "LN", "History"),
}
#: the attributes of the content tree a response carries (Q.2.1.1.3.2)
CONTENT_TAGS = (
    tags.ValueType,
    tags.ConceptNameCodeSequence,
    tags.ContinuityOfContent,
    tags.ContentTemplateSequence,
    tags.ContentSequence,
)
_PATIENT_KEYS = (tags.PatientID, tags.PatientName)


class PatientRecords(Protocol):
    """What the SCP answers from."""

    def patients(self, query: Dataset) -> list[Dataset]:
        """Patient-level data sets (Patient's Name, ID, Birth Date, Sex, Age, Size, Weight)
        matching the patient keys of ``query``."""

    def reports(self, patient_id: str) -> list[Dataset]:
        """The SR documents held for the patient."""


class ListPatientRecords:
    """Patients and reports given as lists of data sets."""

    def __init__(self, patients: Iterable[Dataset] = (), reports: Iterable[Dataset] = ()):
        self._patients = list(patients)
        self._reports = list(reports)

    def patients(self, query: Dataset) -> list[Dataset]:
        """Distinct patients (by Patient ID) matching the query's patient keys."""
        keys = _patient_keys(query)
        out: dict[str, Dataset] = {}
        for ds in self._patients:
            if matches(keys, ds):
                out.setdefault(text(ds.get(tags.PatientID)), ds)
        return list(out.values())

    def reports(self, patient_id: str) -> list[Dataset]:
        """The SR documents whose Patient ID is ``patient_id``."""
        return [r for r in self._reports if text(r.get(tags.PatientID)) == patient_id]


class FolderPatientRecords(ListPatientRecords):
    """The instances in a folder (read again on each query): every instance names its
    patient; SR documents are the reports."""

    def __init__(self, folder: str | Path) -> None:
        super().__init__()
        self.folder = Path(folder)

    def _load(self) -> None:
        import dicomkit
        from dicomkit.errors import DicomError
        from dicomkit.sr import SR_SOP_CLASSES

        self._patients, self._reports = [], []
        for path in sorted(self.folder.rglob("*")):
            if not path.is_file() or path.name == "DICOMDIR":
                continue
            try:
                ds = dicomkit.read(path)
            except (DicomError, OSError):
                continue
            self._patients.append(ds)
            if text(ds.get(tags.SOPClassUID)) in SR_SOP_CLASSES:
                self._reports.append(ds)

    def patients(self, query: Dataset) -> list[Dataset]:
        """Distinct patients of the folder's instances matching the query."""
        self._load()
        return super().patients(query)


def _patient_keys(query: Dataset) -> Dataset:
    out = Dataset()
    for el in query.elements():
        if el.tag >> 16 == 0x0010:
            out.set(el.tag, el.value, vr=el.vr)
    return out


def _template_of(ds: Dataset) -> str:
    seq = ds.get(tags.ContentTemplateSequence)
    return text(seq[0].get(tags.TemplateIdentifier)) if seq else ""


def _date_of(ds: Dataset) -> str:
    return text(ds.get(tags.ContentDate)) + text(ds.get(tags.ContentTime))


def content_from_patient(patient: Dataset, template: str, root: tuple[str, str, str]) -> Dataset:
    """A content tree (root CONTAINER) built from patient attributes."""
    from dicomkit.sr import Code
    from dicomkit.sr import _items as items
    from dicomkit.sr._writer import write_content

    children = []
    age = text(patient.get(tags.PatientAge))
    if len(age) == 4 and age[:3].isdigit() and age[3] in "DWMY":
        age_units = {
            "D": ("d", "day"),
            "W": ("wk", "week"),
            "M": ("mo", "month"),
            "Y": ("a", "year"),
        }
        value, meaning = age_units[age[3]]
        children.append(
            items.num(
                Code("121033", "DCM", "Subject Age"), int(age[:3]), Code(value, "UCUM", meaning)
            )
        )
    sex = text(patient.get(tags.PatientSex)).upper()
    sexes = {
        "M": ("248153007", "SCT", "Male"),
        "F": ("248152002", "SCT", "Female"),
        "O": ("74964007", "SCT", "Other"),
    }
    if sex in sexes:
        children.append(items.code(Code("121032", "DCM", "Subject Sex"), Code(*sexes[sex])))
    for tag, code, unit in (
        (tags.PatientSize, ("8302-2", "LN", "Patient Height"), ("m", "UCUM", "meter")),
        (tags.PatientWeight, ("29463-7", "LN", "Patient Weight"), ("kg", "UCUM", "kilogram")),
    ):
        value = text(patient.get(tag))
        if value:
            children.append(items.num(Code(*code), float(value), Code(*unit)))
    root_item = items.container(Code(*root), *children, template=template)
    ds = Dataset()
    write_content(root_item, ds)
    return ds


class RelevantPatientSCP:
    """C-FIND handler of the three Relevant Patient Information Query SOP classes."""

    def __init__(
        self,
        records: PatientRecords,
        *,
        roots: dict[str, tuple[str, str, str]] | None = None,
    ) -> None:
        self.records = records
        self.roots = {**TEMPLATE_ROOTS, **(roots or {})}

    def handlers(self) -> dict[type[dimse.DimseRequest], Any]:
        """``{CFindRequest: self}``."""
        return {dimse.CFindRequest: self}

    def add_to(self, ae: Any) -> None:
        """Serve this SCP on ``ae`` (an AE or a SyncAE), offering its SOP classes."""
        install_handlers(ae, self.handlers(), RELEVANT_PATIENT_CLASSES)

    def __call__(self, incoming: Incoming) -> Iterator[Any]:
        msg = incoming.message
        assert isinstance(msg, dimse.CFindRequest)
        template = TEMPLATES.get(msg.affected_sop_class_uid)
        if template is None:
            yield response_for(msg, status_codes.SOPClassNotSupported)
            return
        query = incoming.dataset
        if query is None or not query.get(tags.ContentTemplateSequence):
            yield response_for(
                msg,
                status_codes.IdentifierDoesNotMatchSOPClass,
                offending_element=(tags.ContentTemplateSequence,),
                error_comment="the identifier must name the template: Content Template "
                "Sequence (0040,A504)",
            )
            return
        asked = _template_of(query)
        if asked != template:
            yield response_for(
                msg,
                status_codes.UnableToSupportRequestedTemplate,
                error_comment=f"this SOP class answers with TID {template}, not TID {asked}",
            )
            return
        if not any(text(query.get(t)) for t in _PATIENT_KEYS):
            yield response_for(
                msg,
                status_codes.IdentifierDoesNotMatchSOPClass,
                offending_element=(tags.PatientID,),
                error_comment="give the patient: Patient ID (0010,0020) or Patient's Name",
            )
            return
        try:
            found = self.records.patients(query)
            if len(found) > 1:
                yield response_for(
                    msg,
                    status_codes.MoreThanOneMatchFound,
                    error_comment=f"{len(found)} patients match: give the Patient ID",
                )
                return
            answer = self._answer(query, found[0], template) if found else None
        except Exception as exc:  # a broken source fails this query only
            log.exception("relevant patient query failed")
            yield response_for(msg, status_codes.UnableToProcess, error_comment=str(exc))
            return
        if answer is not None:
            yield status_codes.Pending, answer
        yield response_for(msg, status_codes.Success)

    def _answer(self, query: Dataset, patient: Dataset, template: str) -> Dataset:
        out = response_for_item(_patient_keys(query), patient)
        reports = [
            r
            for r in self.records.reports(text(patient.get(tags.PatientID)))
            if _template_of(r) == template
        ]
        if reports:
            content = max(reports, key=_date_of)
        else:
            content = content_from_patient(patient, template, self.roots[template])
        for tag in CONTENT_TAGS:
            if tag in content:
                el = content[tag]
                out.set(tag, el.value, vr=el.vr)
        if tags.SpecificCharacterSet in content:
            out.set(tags.SpecificCharacterSet, content[tags.SpecificCharacterSet].value, vr="CS")
        return out


# -- SCU -------------------------------------------------------------------------------------


def relevant_patient_query(
    sop_class: str = GENERAL_RELEVANT_PATIENT, *, patient_id: str = "", patient_name: str = ""
) -> Dataset:
    """A request identifier: the patient keys and the template of ``sop_class``."""
    ds = Dataset()
    ds.PatientName = patient_name
    ds.PatientID = patient_id
    ds.PatientBirthDate = None
    ds.PatientSex = None
    item = Dataset()
    item.MappingResource = "DCMR"
    item.TemplateIdentifier = TEMPLATES[sop_class]
    ds.ContentTemplateSequence = Sequence([item])
    return ds


async def query_relevant_information(
    assoc: Association,
    *,
    patient_id: str = "",
    patient_name: str = "",
    sop_class: str = GENERAL_RELEVANT_PATIENT,
) -> Dataset | None:
    """The relevant information of one patient (the response identifier with its content
    tree, read it with :func:`dicomkit.sr.read`'s tree reader), None when the SCP knows no
    such patient. 0xC100 (more than one patient) and the other failures raise
    :class:`~dicomkit.errors.DimseError`."""
    query = relevant_patient_query(sop_class, patient_id=patient_id, patient_name=patient_name)
    msg = dimse.CFindRequest(affected_sop_class_uid=sop_class)
    found: list[Dataset] = []
    async for rsp in assoc.request_iter(msg, query, context=assoc.context_for(sop_class)):
        if rsp.status == status_codes.Pending:
            if rsp.dataset is not None:
                found.append(rsp.dataset)
        elif rsp.status != status_codes.Success:
            raise DimseError.from_status(
                rsp.status,
                "relevant-patient",
                what="Relevant Patient Information C-FIND",
                error_comment=rsp.message.error_comment or "",
            )
    return found[0] if found else None


__all__ = [
    "BREAST_RELEVANT_PATIENT",
    "CARDIAC_RELEVANT_PATIENT",
    "GENERAL_RELEVANT_PATIENT",
    "RELEVANT_PATIENT_CLASSES",
    "TEMPLATES",
    "TEMPLATE_ROOTS",
    "FolderPatientRecords",
    "ListPatientRecords",
    "PatientRecords",
    "RelevantPatientSCP",
    "content_from_patient",
    "query_relevant_information",
    "relevant_patient_query",
]

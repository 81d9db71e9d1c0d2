"""SR documents: the content tree together with the data set that carries it.

:func:`read` / :meth:`Document.from_dataset` take an SR data set apart into its header (the
data set without the content tree) and the tree (:class:`~dicomkit.sr._model.ContentItem`);
:meth:`Document.to_dataset` puts them back together. :func:`new_document` makes a new SR
instance with the modules every SR IOD requires (PS3.3 A.35: Patient, General Study, SR
Document Series, General Equipment, SR Document General, SR Document Content, SOP Common).
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dicomkit.core._dataset import Dataset
from dicomkit.core._sequence import Sequence
from dicomkit.dictionary import tags, uids
from dicomkit.errors import InvalidValueError
from dicomkit.sr import _tags as T
from dicomkit.sr._reader import read_content
from dicomkit.sr._writer import write_content

if TYPE_CHECKING:
    from dicomkit.sr._model import ContentItem

__all__ = ["SR_SOP_CLASSES", "Document", "new_document", "read"]

#: SR storage SOP classes -> IOD name (PS3.4 B.5, PS3.3 A.35)
SR_SOP_CLASSES: dict[str, str] = {
    uids.BasicTextSRStorage: "Basic Text SR",
    uids.EnhancedSRStorage: "Enhanced SR",
    uids.ComprehensiveSRStorage: "Comprehensive SR",
    uids.Comprehensive3DSRStorage: "Comprehensive 3D SR",
    uids.ExtensibleSRStorage: "Extensible SR",
    uids.ProcedureLogStorage: "Procedure Log",
    uids.MammographyCADSRStorage: "Mammography CAD SR",
    uids.KeyObjectSelectionDocumentStorage: "Key Object Selection Document",
    uids.ChestCADSRStorage: "Chest CAD SR",
    uids.XRayRadiationDoseSRStorage: "X-Ray Radiation Dose SR",
    uids.RadiopharmaceuticalRadiationDoseSRStorage: "Radiopharmaceutical Radiation Dose SR",
    uids.ColonCADSRStorage: "Colon CAD SR",
    uids.ImplantationPlanSRStorage: "Implantation Plan SR Document",
    uids.AcquisitionContextSRStorage: "Acquisition Context SR",
    uids.SimplifiedAdultEchoSRStorage: "Simplified Adult Echo SR",
    uids.PatientRadiationDoseSRStorage: "Patient Radiation Dose SR",
    uids.PlannedImagingAgentAdministrationSRStorage: "Planned Imaging Agent Administration SR",
    uids.PerformedImagingAgentAdministrationSRStorage: "Performed Imaging Agent Administration SR",
    uids.EnhancedXRayRadiationDoseSRStorage: "Enhanced X-Ray Radiation Dose SR",
    uids.WaveformAnnotationSRStorage: "Waveform Annotation SR",
    uids.MacularGridThicknessAndVolumeReportStorage: "Macular Grid Thickness and Volume Report",
    uids.OphthalmicAxialMeasurementsStorage: "Spectacle Prescription Report",
    uids.TextSRStorageTrial: "Text SR (retired)",
    uids.AudioSRStorageTrial: "Audio SR (retired)",
    uids.DetailSRStorageTrial: "Detail SR (retired)",
    uids.ComprehensiveSRStorageTrial: "Comprehensive SR (retired)",
}

COMPREHENSIVE_3D_SR = uids.Comprehensive3DSRStorage
COMPREHENSIVE_SR = uids.ComprehensiveSRStorage
ENHANCED_SR = uids.EnhancedSRStorage
BASIC_TEXT_SR = uids.BasicTextSRStorage
KEY_OBJECT_SELECTION = uids.KeyObjectSelectionDocumentStorage

_CONTENT_TAGS = (
    T.VALUE_TYPE,
    T.CONCEPT_NAME,
    T.CONTINUITY,
    T.CONTENT_TEMPLATE,
    T.CONTENT_SEQUENCE,
)


class Document:
    """An SR document: ``root`` (the content tree) and ``dataset`` (everything else).

    ``doc.root.find("Finding")``, ``doc.root.path("Imaging Measurements/*")``; render with
    :func:`dicomkit.sr._render.text`; ``doc.to_dataset()`` gives the full data set back.
    """

    __slots__ = ("dataset", "root")

    def __init__(self, root: ContentItem, dataset: Dataset) -> None:
        self.root = root
        self.dataset = dataset

    @classmethod
    def from_dataset(cls, ds: Dataset) -> Document:
        """Split an SR data set into header and content tree (the data set is not changed;
        the header shares its elements)."""
        root = read_content(ds)
        header = Dataset()
        header.file_meta = ds.file_meta
        for tag in ds.raw_elements:
            if tag not in _CONTENT_TAGS:
                header.add(ds[tag])
        return cls(root, header)

    @property
    def sop_class(self) -> str:
        """The SOP Class UID of the document (empty when the data set has none)."""
        return str(self.dataset.get(tags.SOPClassUID) or "")

    @property
    def iod_name(self) -> str:
        """The SR IOD of the SOP class (``""`` when not an SR SOP class)."""
        return SR_SOP_CLASSES.get(self.sop_class, "")

    def to_dataset(self) -> Dataset:
        """The full data set: the header with the content tree written into it."""
        ds = Dataset()
        for el in self.dataset.elements():
            ds.add(el.copy())
        ds.file_meta = self.dataset.file_meta
        write_content(self.root, ds)
        return ds

    def save(self, path: str | Path) -> None:
        """Write the document as a Part 10 file (explicit VR little endian)."""
        import dicomkit

        ds = self.to_dataset()
        ds.file_meta = None
        dicomkit.write(ds, path, transfer_syntax=dicomkit.UID(uids.ExplicitVRLittleEndian))

    def check(self) -> list[str]:
        """The content-tree constraint problems of the document's IOD (see
        :func:`dicomkit.sr._constraints.check`) and of its root template where dicomkit
        knows the template's rules (TID 1500, 2010, 2000: see
        :mod:`dicomkit.sr.templates._conformance`)."""
        from dicomkit.sr._constraints import check
        from dicomkit.sr.templates._conformance import template_problems

        problems = check(self.root, self.sop_class) + template_problems(self.root)
        return [str(p) for p in problems]


def read(source: str | Path | Dataset) -> Document:
    """An SR document from a file (or a data set already read)."""
    if isinstance(source, Dataset):
        return Document.from_dataset(source)
    import dicomkit

    return Document.from_dataset(dicomkit.read(source))


def _now() -> tuple[str, str]:
    now = _dt.datetime.now()
    return now.strftime("%Y%m%d"), now.strftime("%H%M%S")


def _copy_from(ds: Dataset, source: Dataset | None, tags: tuple[int, ...]) -> None:
    if source is None:
        return
    for tag in tags:
        if tag in source:
            ds.add(source[tag].copy())


_PATIENT = (tags.PatientName, tags.PatientID, tags.PatientBirthDate, tags.PatientSex)
_STUDY = (
    tags.StudyInstanceUID,
    tags.StudyDate,
    tags.StudyTime,
    tags.ReferringPhysicianName,
    tags.StudyID,
    tags.AccessionNumber,
    tags.StudyDescription,
)


def new_document(
    root: ContentItem,
    *,
    sop_class: str = COMPREHENSIVE_3D_SR,
    evidence: list[Dataset] | None = None,
    like: Dataset | None = None,
    series_number: int = 1,
    instance_number: int = 1,
    manufacturer: str = "dicomkit",
    completion: str = "COMPLETE",
    verification: str = "UNVERIFIED",
    series_description: str | None = None,
) -> Document:
    """A new SR document around ``root`` with a complete header.

    Patient and study attributes come from ``like`` (e.g. one of the images reported on);
    ``evidence`` are the data sets (or just their headers) the report references: they go
    into Current Requested Procedure Evidence Sequence (PS3.3 C.17.2.3), grouped by study
    and series. Key Object Selection documents get the Key Object Document module instead
    (Current Requested Procedure Evidence Sequence is then its Type 1 evidence).
    """
    from dicomkit.core._uid import generate_uid

    if sop_class not in SR_SOP_CLASSES:
        raise InvalidValueError(
            f"{sop_class} is not an SR storage SOP class: use one of "
            f"{', '.join(sorted(SR_SOP_CLASSES))}"
        )
    if like is None and evidence:
        like = evidence[0]
    date, time = _now()
    ds = Dataset()
    ds.set(tags.SOPClassUID, sop_class, "UI")
    ds.set(tags.SOPInstanceUID, str(generate_uid()), "UI")
    ds.set(tags.Modality, "KO" if sop_class == KEY_OBJECT_SELECTION else "SR", "CS")
    for tag, vr in (
        (tags.PatientName, "PN"),
        (tags.PatientID, "LO"),
        (tags.PatientBirthDate, "DA"),
        (tags.PatientSex, "CS"),
    ):
        ds.set(tag, "", vr)
    for tag, vr in (
        (tags.StudyDate, "DA"),
        (tags.StudyTime, "TM"),
        (tags.ReferringPhysicianName, "PN"),
        (tags.StudyID, "SH"),
        (tags.AccessionNumber, "SH"),
    ):
        ds.set(tag, "", vr)
    ds.set(tags.StudyInstanceUID, str(generate_uid()), "UI")
    _copy_from(ds, like, _PATIENT + _STUDY)
    if tags.SpecificCharacterSet in (like or {}):
        ds.add(like[tags.SpecificCharacterSet].copy())  # type: ignore[index]
    ds.set(tags.SeriesInstanceUID, str(generate_uid()), "UI")
    ds.set(tags.SeriesNumber, str(series_number), "IS")
    ds.set(
        tags.ReferencedPerformedProcedureStepSequence, Sequence(), "SQ"
    )  # Referenced Performed Procedure Step Sequence
    if series_description:
        ds.set(tags.SeriesDescription, series_description, "LO")
    ds.set(tags.Manufacturer, manufacturer, "LO")
    # Enhanced General Equipment (PS3.3 C.7.5.2: Type 1 in the dose SR IODs, Type 3 in the
    # General Equipment module of the others)
    from dicomkit import __version__

    ds.set(tags.ManufacturerModelName, "dicomkit", "LO")
    ds.set(tags.DeviceSerialNumber, "0", "LO")
    ds.set(tags.SoftwareVersions, __version__, "LO")
    ds.set(tags.InstanceNumber, str(instance_number), "IS")
    ds.set(tags.ContentDate, date, "DA")
    ds.set(tags.ContentTime, time, "TM")
    if sop_class != KEY_OBJECT_SELECTION:
        ds.set(tags.CompletionFlag, completion, "CS")
        ds.set(tags.VerificationFlag, verification, "CS")
        ds.set(
            tags.PerformedProcedureCodeSequence, Sequence(), "SQ"
        )  # Performed Procedure Code Sequence (Type 2)
    evidence_seq = evidence_sequence(evidence or [])
    if evidence_seq or sop_class == KEY_OBJECT_SELECTION:
        # KOS: Type 1 in the Key Object Document module (PS3.3 C.17.6.2)
        ds.set(tags.CurrentRequestedProcedureEvidenceSequence, evidence_seq, "SQ")
    return Document(root, ds)


def evidence_sequence(datasets: list[Dataset]) -> Sequence:
    """A Hierarchical SOP Instance Reference sequence (PS3.3 Table C.17-3) for the
    instances ``datasets``: one item per study, series within, instances within."""
    studies: dict[str, dict[str, list[tuple[str, str]]]] = {}
    for d in datasets:
        study, series = (
            str(d.get(tags.StudyInstanceUID) or ""),
            str(d.get(tags.SeriesInstanceUID) or ""),
        )
        sop = (str(d.get(tags.SOPClassUID) or ""), str(d.get(tags.SOPInstanceUID) or ""))
        if not all((study, series, *sop)):
            raise InvalidValueError(
                "an evidence data set lacks Study/Series Instance UID or SOP Class/Instance "
                "UID: pass the referenced instances' headers"
            )
        refs = studies.setdefault(study, {}).setdefault(series, [])
        if sop not in refs:
            refs.append(sop)
    seq = Sequence()
    for study, series_map in studies.items():
        st = Dataset()
        st.set(tags.StudyInstanceUID, study, "UI")
        series_seq = Sequence()
        for series, sops in series_map.items():
            se = Dataset()
            se.set(tags.SeriesInstanceUID, series, "UI")
            sop_seq = Sequence()
            for cls_uid, inst in sops:
                r = Dataset()
                r.set(T.REF_SOP_CLASS, cls_uid, "UI")
                r.set(T.REF_SOP_INSTANCE, inst, "UI")
                sop_seq.append(r)
            se.set(tags.ReferencedSOPSequence, sop_seq, "SQ")
            series_seq.append(se)
        st.set(tags.ReferencedSeriesSequence, series_seq, "SQ")
        seq.append(st)
    return seq


def content_of(ds: Any) -> ContentItem:
    """The content tree of ``ds`` (a data set or a :class:`Document`)."""
    if isinstance(ds, Document):
        return ds.root
    return read_content(ds)

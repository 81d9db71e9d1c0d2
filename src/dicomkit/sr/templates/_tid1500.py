"""TID 1500 Measurement Report (PS3.16 A.35.? / TID 1500) with its measurement groups:
TID 1410 Planar ROI, TID 1411 Volumetric ROI, TID 1501 Measurement and Qualitative Evaluation
Group; TID 1419 ROI measurements (finding sites, method, derivation); TID 4108 tracking
identifiers; TID 1600 image library.

Build: :func:`measurement_report` (a tree) or :func:`measurement_report_document` (a full SR
instance). Read: :func:`read_measurement_report`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dicomkit.core._uid import generate_uid
from dicomkit.dictionary import tags, uids
from dicomkit.errors import InvalidValueError
from dicomkit.sr import _items as items
from dicomkit.sr._code import Code
from dicomkit.sr._codes import DCM, SCT, UMLS
from dicomkit.sr._document import COMPREHENSIVE_3D_SR, Document, new_document
from dicomkit.sr._model import ContentItem, Reference
from dicomkit.sr.templates._common import add_language, add_observer, image_of, instance_ref

if TYPE_CHECKING:
    from dicomkit.core._dataset import Dataset

__all__ = [
    "ImageRegion",
    "Measurement",
    "MeasurementGroup",
    "MeasurementReport",
    "ReferencedSegment",
    "VolumeSurface",
    "measurement_group",
    "measurement_report",
    "measurement_report_document",
    "read_measurement_report",
]


@dataclass(frozen=True)
class Measurement:
    """One NUM of a group (TID 1419 / TID 300): ``name`` (CID 7469 ...), value and units,
    optional derivation (CID 7464), method and qualifier (value ``None`` with a qualifier
    such as ``DCM.MeasurementFailure``)."""

    name: Code
    value: float | str | None
    units: Code | None
    derivation: Code | None = None
    method: Code | None = None
    qualifier: Code | None = None


@dataclass(frozen=True)
class ImageRegion:
    """TID 1410 row 7: a 2D region (SCOORD) on one image (``source`` its header)."""

    graphic_type: str
    points: tuple[float, ...]
    source: Dataset | Reference


@dataclass(frozen=True)
class VolumeSurface:
    """TID 1411 row 8: a 3D region (SCOORD3D) in a frame of reference."""

    graphic_type: str
    points: tuple[float, ...]
    frame_of_reference: str


@dataclass(frozen=True)
class ReferencedSegment:
    """TID 1411 row 10: segment ``number`` of a Segmentation instance."""

    segmentation: Dataset | Reference
    number: int
    source_series: str | None = None


@dataclass
class MeasurementGroup:
    """A measurement group as read back (or to build with :func:`measurement_group`)."""

    tracking_id: str
    tracking_uid: str | None = None
    template: str = "1501"
    finding: Code | None = None
    finding_sites: list[Code] = field(default_factory=list)
    method: Code | None = None
    measurements: list[Measurement] = field(default_factory=list)
    evaluations: list[tuple[Code, Code]] = field(default_factory=list)
    region: ContentItem | None = None
    segment: Reference | None = None
    source_series: str | None = None


@dataclass
class MeasurementReport:
    """A TID 1500 report as read back."""

    title: Code | None
    observer_person: str | None
    observer_device: str | None
    procedures: list[Code]
    images: list[Reference]
    groups: list[MeasurementGroup]


def _ref_of(source: Dataset | Reference) -> Reference:
    if isinstance(source, Reference):
        return source
    return Reference(*instance_ref(source))


def measurement_group(
    tracking_id: str,
    *,
    tracking_uid: str | None = None,
    finding: Code | None = None,
    finding_sites: Iterable[Code] = (),
    method: Code | None = None,
    measurements: Iterable[Measurement] = (),
    evaluations: Iterable[tuple[Code, Code]] = (),
    region: ImageRegion | VolumeSurface | ReferencedSegment | None = None,
) -> ContentItem:
    """A Measurement Group: TID 1410 with an :class:`ImageRegion`, TID 1411 with a
    :class:`VolumeSurface` or :class:`ReferencedSegment`, TID 1501 without a region."""
    group = items.container(DCM.MeasurementGroup)
    group.add("HAS OBS CONTEXT", items.text(DCM.TrackingIdentifier, tracking_id))
    group.add(
        "HAS OBS CONTEXT",
        items.uidref(DCM.TrackingUniqueIdentifier, tracking_uid or str(generate_uid())),
    )
    if finding is not None:
        group.add("CONTAINS", items.code(DCM.Finding, finding))
    if isinstance(region, ImageRegion):
        ref = _ref_of(region.source)
        scoord = group.add(
            "CONTAINS", items.scoord(DCM.ImageRegion, region.graphic_type, region.points)
        )
        scoord.add(
            "SELECTED FROM", items.image(None, ref.sop_class, ref.sop_instance, frames=ref.frames)
        )
    elif isinstance(region, VolumeSurface):
        group.add(
            "CONTAINS",
            items.scoord3d(
                DCM.VolumeSurface, region.graphic_type, region.points, region.frame_of_reference
            ),
        )
    elif isinstance(region, ReferencedSegment):
        ref = _ref_of(region.segmentation)
        group.add(
            "CONTAINS",
            items.image(
                DCM.ReferencedSegment, ref.sop_class, ref.sop_instance, segments=(region.number,)
            ),
        )
        if region.source_series:
            group.add(
                "CONTAINS", items.uidref(DCM.SourceSeriesForSegmentation, region.source_series)
            )
    elif region is not None:
        raise InvalidValueError(f"not a measurement group region: {region!r}")
    if method is not None:
        group.add("HAS CONCEPT MOD", items.code(SCT.MeasurementMethod, method))
    for site in finding_sites:
        group.add("HAS CONCEPT MOD", items.code(SCT.FindingSite, site))
    for m in measurements:
        num = group.add("CONTAINS", items.num(m.name, m.value, m.units, qualifier=m.qualifier))
        if m.method is not None:
            num.add("HAS CONCEPT MOD", items.code(SCT.MeasurementMethod, m.method))
        if m.derivation is not None:
            num.add("HAS CONCEPT MOD", items.code(DCM.Derivation, m.derivation))
    for name, value in evaluations:
        group.add("CONTAINS", items.code(name, value))
    return group


def measurement_report(
    groups: Sequence[ContentItem],
    *,
    images: Sequence[Dataset] = (),
    procedure_reported: Code | Sequence[Code] = (),
    observer_person: str | None = None,
    observer_device_uid: str | None = None,
    language: Code | None = None,
) -> ContentItem:
    """The TID 1500 content tree: language, observer, procedure(s) reported, the image
    library (TID 1600) of ``images`` and the groups under Imaging Measurements."""
    if not observer_person and not observer_device_uid:
        observer_device_uid = str(generate_uid())
    root = items.container(DCM.ImagingMeasurementReport, template="1500")
    add_language(root, language)
    add_observer(root, person=observer_person, device_uid=observer_device_uid)
    procs = (
        [procedure_reported] if isinstance(procedure_reported, Code) else list(procedure_reported)
    )
    if not procs:
        raise InvalidValueError(
            "TID 1500 requires the procedure reported (row 4): pass procedure_reported, e.g. "
            'Code("77477000", "SCT", "CT")'
        )
    for proc in procs:
        root.add("HAS CONCEPT MOD", items.code(DCM.ProcedureReported, proc))
    library = root.add("CONTAINS", items.container(DCM.ImageLibrary))
    if images:
        group = library.add("CONTAINS", items.container(DCM.ImageLibraryGroup))
        for ds in images:
            group.add("CONTAINS", image_of(None, ds))
    measurements = root.add("CONTAINS", items.container(DCM.ImagingMeasurements))
    for g in groups:
        if g.concept != DCM.MeasurementGroup:
            raise InvalidValueError("Imaging Measurements holds Measurement Group containers only")
        measurements.add("CONTAINS", g)
    return root


def measurement_report_document(
    groups: Sequence[ContentItem],
    *,
    evidence: Sequence[Dataset],
    procedure_reported: Code | Sequence[Code] = (),
    observer_person: str | None = None,
    observer_device_uid: str | None = None,
    sop_class: str = COMPREHENSIVE_3D_SR,
    series_description: str | None = "Measurement Report",
) -> Document:
    """A complete TID 1500 SR instance about ``evidence`` (the images and segmentations
    referenced: their headers suffice; images go into the image library)."""
    images = [
        ds
        for ds in evidence
        if tags.Rows in ds
        or str(ds.get(tags.SOPClassUID) or "").startswith("1.2.840.10008.5.1.4.1.1.")
    ]
    images = [
        ds
        for ds in images
        if str(ds.get(tags.Modality) or "") != "SEG"
        and str(ds.get(tags.SOPClassUID)) != uids.SegmentationStorage
    ]
    root = measurement_report(
        groups,
        images=images,
        procedure_reported=procedure_reported,
        observer_person=observer_person,
        observer_device_uid=observer_device_uid,
    )
    return new_document(
        root, sop_class=sop_class, evidence=list(evidence), series_description=series_description
    )


# -- reading ----------------------------------------------------------------------------------
def _read_group(g: ContentItem) -> MeasurementGroup:
    out = MeasurementGroup(tracking_id="")
    for c in g.children:
        concept = c.concept
        if concept == DCM.TrackingIdentifier:
            out.tracking_id = str(c.value)
        elif concept == DCM.TrackingUniqueIdentifier:
            out.tracking_uid = str(c.value)
        elif concept == DCM.Finding and c.value_type == "CODE":
            out.finding = c.value
        elif concept == SCT.FindingSite and c.value_type == "CODE":
            out.finding_sites.append(c.value)
        elif concept == SCT.MeasurementMethod and c.relationship == "HAS CONCEPT MOD":
            out.method = c.value
        elif concept == DCM.ImageRegion or concept == DCM.ReferencedSegmentationFrame:
            out.template, out.region = "1410", c
        elif concept == DCM.VolumeSurface:
            out.template, out.region = "1411", c
        elif concept == DCM.ReferencedSegment:
            out.template, out.segment = "1411", c.reference
        elif concept == DCM.SourceSeriesForSegmentation:
            out.source_series = str(c.value)
        elif c.value_type == "NUM" and c.relationship == "CONTAINS" and concept is not None:
            derivation = c.find(DCM.Derivation, recursive=False)
            method = c.find(SCT.MeasurementMethod, recursive=False)
            out.measurements.append(
                Measurement(
                    concept,
                    None if c.value is None else float(c.value),
                    c.units,
                    derivation.value if derivation is not None else None,
                    method.value if method is not None else None,
                    c.qualifier,
                )
            )
        elif c.value_type == "CODE" and c.relationship == "CONTAINS" and concept is not None:
            out.evaluations.append((concept, c.value))
    return out


def read_measurement_report(doc: Document | ContentItem) -> MeasurementReport:
    """The groups, measurements and context of a TID 1500 report (ours or anyone's)."""
    root = doc.root if isinstance(doc, Document) else doc
    if root.concept != DCM.ImagingMeasurementReport:
        raise InvalidValueError(
            f"not a TID 1500 Measurement Report: the document title is "
            f"{root.concept or 'missing'} (expected {DCM.ImagingMeasurementReport})"
        )
    person = root.find(DCM.PersonObserverName, recursive=False)
    device = root.find(DCM.DeviceObserverUID, recursive=False)
    procs = [c.value for c in root.find_all(DCM.ProcedureReported, recursive=False)]
    images = [
        i.reference for i in root.paths(f"{DCM.ImageLibrary.value}/*/*") if i.reference is not None
    ]
    groups = [
        _read_group(g)
        for g in root.paths(f"{DCM.ImagingMeasurements.value}/{DCM.MeasurementGroup.value}")
    ]
    return MeasurementReport(
        root.concept,
        None if person is None else str(person.value),
        None if device is None else str(device.value),
        procs,
        images,
        groups,
    )


#: the UMLS code of the "Qualitative Evaluations" section (TID 1500 row 12), for readers
QUALITATIVE_EVALUATIONS = UMLS.QualitativeEvaluations

"""TID 1500 interop with highdicom (test-only peer): highdicom reads the reports we build to
the same groups and measurements, and we read the reports highdicom builds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from dsrdump_tree import normalise, parse, rows_of
from peers import require_module, run_dcmtk
from test_templates import LUNG, NEOPLASM, tid1500_doc

from dicomkit.sr import Code, read
from dicomkit.sr._codes import SCT, UCUM
from dicomkit.sr.templates._tid1500 import read_measurement_report

pytestmark = pytest.mark.interop


def _hd() -> Any:
    return require_module("highdicom")


def test_highdicom_reads_our_tid1500(tmp_path: Path) -> None:
    hd = _hd()
    import pydicom

    path = tmp_path / "ours.dcm"
    # highdicom cannot read a NUM whose Measured Value Sequence is empty (a measurement that
    # failed, PS3.3 C.17.3.2.1 with a Numeric Value Qualifier): leave that one out
    doc = tid1500_doc(with_failed_measurement=False)
    doc.save(path)
    theirs = hd.sr.Comprehensive3DSR.from_dataset(pydicom.dcmread(path))
    planar = theirs.content.get_planar_roi_measurement_groups()
    assert [g.tracking_identifier for g in planar] == ["lesion 1"]
    g = planar[0]
    ours = read_measurement_report(doc).groups[0]
    assert g.tracking_uid == ours.tracking_uid
    got = [
        (m.name.value, m.value, m.unit.value) for m in g.get_measurements() if m.value is not None
    ]
    assert got == [("410668003", 12.5, "mm"), ("42798000", 3.25, "mm2")]
    assert g.roi is not None and str(g.roi.graphic_type.value) == "POLYLINE"
    assert [s.value.value for s in g.finding_sites] == [LUNG.value]
    assert g.finding_type.value == NEOPLASM.value
    volumetric = theirs.content.get_volumetric_roi_measurement_groups()
    assert [v.tracking_identifier for v in volumetric] == ["lesion 2", "lesion 3"]
    seg = volumetric[1].referenced_segment
    assert seg is not None
    observers = theirs.content.get_observer_contexts()
    assert observers and observers[0].observer_identifying_attributes.name == "Doe^John"


def _highdicom_report(hd: Any, path: Path) -> list[str]:
    import numpy as np
    from pydicom.dataset import Dataset
    from pydicom.sr.codedict import codes
    from pydicom.uid import generate_uid

    img = Dataset()
    img.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    img.SOPInstanceUID = generate_uid()
    img.StudyInstanceUID = generate_uid()
    img.SeriesInstanceUID = generate_uid()
    img.PatientName, img.PatientID, img.PatientBirthDate, img.PatientSex = "Doe^J", "P1", "", "F"
    img.StudyDate, img.StudyTime, img.StudyID, img.AccessionNumber = "20240101", "120000", "1", "A1"
    img.ReferringPhysicianName, img.Modality = "", "CT"
    img.Rows, img.Columns = 4, 4
    observer = hd.sr.ObserverContext(
        observer_type=codes.DCM.Person,
        observer_identifying_attributes=hd.sr.PersonObserverIdentifyingAttributes(name="Foo^Bar"),
    )
    groups, uids = [], []
    for i in range(3):
        region = hd.sr.ImageRegion(
            graphic_type=hd.sr.GraphicTypeValues.POLYLINE,
            graphic_data=np.array([[1, 1], [5, 1], [5, 5], [1, 1]], dtype=float),
            source_image=hd.sr.SourceImageForRegion.from_source_image(img),
        )
        uid = generate_uid()
        uids.append(uid)
        groups.append(
            hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
                tracking_identifier=hd.sr.TrackingIdentifier(uid=uid, identifier=f"lesion {i}"),
                referenced_region=region,
                finding_type=codes.SCT.Neoplasm,
                finding_sites=[hd.sr.FindingSite(codes.SCT.Lung)],
                measurements=[
                    hd.sr.Measurement(
                        name=codes.SCT.Area, value=10.0 + i, unit=codes.UCUM.SquareMillimeter
                    )
                ],
            )
        )
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(observer_person_context=observer),
        procedure_reported=codes.LN.CTUnspecifiedBodyRegion,
        imaging_measurements=groups,
    )
    sr = hd.sr.Comprehensive3DSR(
        evidence=[img],
        content=report,
        series_number=1,
        series_instance_uid=generate_uid(),
        sop_instance_uid=generate_uid(),
        instance_number=1,
    )
    sr.save_as(path)
    return uids


def test_we_read_highdicoms_tid1500(tmp_path: Path) -> None:
    hd = _hd()
    path = tmp_path / "theirs.dcm"
    uids = _highdicom_report(hd, path)
    doc = read(path)
    assert doc.check() == []
    report = read_measurement_report(doc)
    assert report.observer_person == "Foo^Bar"
    assert [g.tracking_id for g in report.groups] == ["lesion 0", "lesion 1", "lesion 2"]
    assert [g.tracking_uid for g in report.groups] == uids
    assert all(g.template == "1410" for g in report.groups)
    assert [g.measurements[0].value for g in report.groups] == [10.0, 11.0, 12.0]
    assert all(g.measurements[0].name == SCT.Area for g in report.groups)
    assert report.groups[0].measurements[0].units == UCUM.SquareMillimeter
    assert report.groups[0].finding_sites == [LUNG]
    assert report.groups[0].finding == Code("108369006", "SCT", "Neoplasm")
    # and our tree of highdicom's file is the one DCMTK sees
    proc = run_dcmtk("dsrdump", "+Pc", "+Pl", "+Pu", "-Ph", str(path))
    assert normalise(parse(proc.stdout)) == normalise(rows_of(doc.root))

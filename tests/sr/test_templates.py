"""Template builders and readers: TID 1500, TID 2000, TID 2010 (KOS, IOCM rejection), dose
SR; what they write is read by dsrdump without warnings and dciodvfy reports no error."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from allkinds import CT, ct_header
from dsrdump_tree import normalise, parse, rows_of
from peers import missing, run_dcmtk

from dicomkit.errors import InvalidValueError
from dicomkit.sr import Code, new_document, read
from dicomkit.sr import _items as items
from dicomkit.sr._codes import DCM, SCT, UCUM
from dicomkit.sr.templates._dose import ct_dose_summary, dose_events, format_table
from dicomkit.sr.templates._kos import key_object_selection, read_key_objects, rejection_note
from dicomkit.sr.templates._tid1500 import (
    ImageRegion,
    Measurement,
    ReferencedSegment,
    VolumeSurface,
    measurement_group,
    measurement_report_document,
    read_measurement_report,
)
from dicomkit.sr.templates._tid2000 import diagnostic_imaging_report, read_diagnostic_report

SEG = "1.2.840.10008.5.1.4.1.1.66.4"
DCIODVFY = Path("/usr/bin/dciodvfy")
NEOPLASM = Code("108369006", "SCT", "Neoplasm")
LUNG = Code("39607008", "SCT", "Lung")
SEVERITY = Code("246112005", "SCT", "Severity")
MILD = Code("255604002", "SCT", "Mild")
# DCMTK prints this for every Key Object Selection it reads (its template checker is not
# implemented): it is a notice about DCMTK, not about the file
DCMTK_KOS_NOTICE = "W: Check for template constraints not yet supported"


def image(n: int) -> object:
    ds = ct_header(n)
    ds.set(0x00080060, "CT", "CS")
    ds.set(0x00280010, 4, "US")
    return ds


def segmentation() -> object:
    ds = ct_header(99)
    ds.set(0x00080016, SEG, "UI")
    ds.set(0x00080060, "SEG", "CS")
    return ds


def tid1500_doc(with_failed_measurement: bool = True):  # type: ignore[no-untyped-def]
    ct, seg = image(1), segmentation()
    g1 = measurement_group(
        "lesion 1",
        finding=NEOPLASM,
        finding_sites=[LUNG],
        region=ImageRegion("POLYLINE", (1, 1, 10, 1, 10, 10, 1, 1), ct),  # type: ignore[arg-type]
        measurements=[
            Measurement(SCT.Length, 12.5, UCUM.Millimeter),
            Measurement(SCT.Area, 3.25, UCUM.SquareMillimeter, derivation=SCT.Mean),
        ]
        + (
            [Measurement(SCT.Diameter, None, None, qualifier=DCM.MeasurementFailure)]
            if with_failed_measurement
            else []
        ),
    )
    g2 = measurement_group(
        "lesion 2",
        region=VolumeSurface("POINT", (1, 2, 3), "1.2.826.0.1.3680043.2.1125.5"),
        measurements=[Measurement(SCT.Volume, 100, UCUM.CubicMillimeter)],
    )
    g3 = measurement_group(
        "lesion 3",
        region=ReferencedSegment(seg, 1, "1.2.826.0.1.3680043.2.1125.2"),  # type: ignore[arg-type]
        measurements=[Measurement(SCT.Volume, 7.5, UCUM.Milliliter)],
    )
    g4 = measurement_group("overall", evaluations=[(SEVERITY, MILD)])
    return measurement_report_document(
        [g1, g2, g3, g4],
        evidence=[ct, seg],  # type: ignore[list-item]
        procedure_reported=Code("77477000", "SCT", "CT"),
        observer_person="Doe^John",
    )


def ct_dose_doc():  # type: ignore[no-untyped-def]
    root = items.container(DCM.XRayRadiationDoseReport, template="10011")
    acc = root.add("CONTAINS", items.container(DCM.CTAccumulatedDoseData))
    acc.add("CONTAINS", items.num(DCM.TotalNumberOfIrradiationEvents, 2, UCUM.Events))
    acc.add("CONTAINS", items.num(DCM.CTDoseLengthProductTotal, 650.5, UCUM.MilliGrayCentimeter))
    for i, (protocol, ctdi, dlp) in enumerate((("Chest", 8.25, 300.5), ("Abdomen", 10, 350)), 1):
        ev = root.add("CONTAINS", items.container(DCM.CTAcquisition))
        ev.add("CONTAINS", items.text(DCM.AcquisitionProtocol, protocol))
        ev.add("CONTAINS", items.code(DCM.TargetRegion, Code("51185008", "SCT", "Chest")))
        ev.add(
            "CONTAINS",
            items.code(DCM.CTAcquisitionType, Code("P5-08001", "SRT", "Spiral Acquisition")),
        )
        ev.add(
            "CONTAINS", items.uidref(DCM.IrradiationEventUID, f"1.2.826.0.1.3680043.2.1125.6.{i}")
        )
        dose = ev.add("CONTAINS", items.container(DCM.CTDose))
        dose.add("CONTAINS", items.num(DCM.MeanCTDIvol, ctdi, UCUM.MilliGray))
        dose.add(
            "CONTAINS",
            items.code(DCM.CTDIwPhantomType, Code("113691", "DCM", "IEC Body Dosimetry Phantom")),
        )
        dose.add("CONTAINS", items.num(DCM.DLP, dlp, UCUM.MilliGrayCentimeter))
    return new_document(root, sop_class="1.2.840.10008.5.1.4.1.1.88.67")


def _dcmtk_clean(path: Path, allowed: tuple[str, ...] = ()) -> None:
    for tool, args in (("dsrdump", [str(path)]), ("dsr2html", [str(path), str(path) + ".html"])):
        proc = run_dcmtk(tool, *args, check=False)
        assert proc.returncode == 0, proc.stderr
        noise = [ln for ln in proc.stderr.splitlines() if ln.startswith(("W:", "E:", "F:"))]
        assert [n for n in noise if n not in allowed] == []


def _dciodvfy_errors(path: Path) -> list[str]:
    if not DCIODVFY.exists():
        missing("dciodvfy (apt-get install dicom3tools)")
    proc = subprocess.run(
        [str(DCIODVFY), str(path)], check=False, capture_output=True, text=True, timeout=60
    )
    return [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.startswith("Error")]


def test_tid1500_round_trip_and_read(tmp_path: Path) -> None:
    doc = tid1500_doc()
    assert doc.check() == []
    path = tmp_path / "tid1500.dcm"
    doc.save(path)
    report = read_measurement_report(read(path))
    assert report.observer_person == "Doe^John"
    assert [g.tracking_id for g in report.groups] == ["lesion 1", "lesion 2", "lesion 3", "overall"]
    assert [g.template for g in report.groups] == ["1410", "1411", "1411", "1501"]
    g1 = report.groups[0]
    assert g1.finding == NEOPLASM and g1.finding_sites == [LUNG]
    assert [(m.name, m.value, m.units) for m in g1.measurements[:2]] == [
        (SCT.Length, 12.5, UCUM.Millimeter),
        (SCT.Area, 3.25, UCUM.SquareMillimeter),
    ]
    assert g1.measurements[1].derivation == SCT.Mean
    assert (
        g1.measurements[2].value is None and g1.measurements[2].qualifier == DCM.MeasurementFailure
    )
    assert g1.region is not None and g1.region.value == (1, 1, 10, 1, 10, 10, 1, 1)
    assert report.groups[2].segment is not None and report.groups[2].segment.segments == (1,)
    assert report.groups[3].evaluations == [(SEVERITY, MILD)]
    assert [r.sop_instance for r in report.images] == [str(image(1).get(0x00080018))]  # type: ignore[attr-defined]


@pytest.mark.interop
def test_tid1500_is_clean_for_dcmtk_and_dciodvfy(tmp_path: Path) -> None:
    doc = tid1500_doc()
    path = tmp_path / "tid1500.dcm"
    doc.save(path)
    _dcmtk_clean(path)
    proc = run_dcmtk("dsrdump", "+Pc", "+Pl", "+Pu", "-Ph", str(path))
    assert normalise(parse(proc.stdout)) == normalise(rows_of(doc.root))
    assert _dciodvfy_errors(path) == []


def test_reading_a_non_1500_report_is_a_typed_error() -> None:
    with pytest.raises(InvalidValueError, match="not a TID 1500"):
        read_measurement_report(ct_dose_doc())


@pytest.mark.interop
def test_kos_and_rejection_note(tmp_path: Path) -> None:
    a, b = image(1), image(2)
    kos = key_object_selection([a, b], description="two of them")  # type: ignore[list-item]
    assert kos.check() == []
    path = tmp_path / "kos.dcm"
    kos.save(path)
    back = read_key_objects(read(path))
    assert back.title == DCM.OfInterest and back.description == "two of them"
    assert [r.sop_instance for r in back.references] == [
        str(a.get(0x00080018)),
        str(b.get(0x00080018)),
    ]  # type: ignore[attr-defined]
    assert not back.is_rejection
    _dcmtk_clean(path, (DCMTK_KOS_NOTICE,))
    assert _dciodvfy_errors(path) == []

    note = rejection_note([a], DCM.IncorrectModalityWorklistEntry)  # type: ignore[list-item]
    note.save(tmp_path / "rej.dcm")
    rej = read_key_objects(read(tmp_path / "rej.dcm"))
    assert rej.is_rejection and rej.title == DCM.IncorrectModalityWorklistEntry
    assert _dciodvfy_errors(tmp_path / "rej.dcm") == []
    with pytest.raises(InvalidValueError, match="not a rejection reason of CID 7011"):
        rejection_note([a], DCM.OfInterest)  # type: ignore[list-item]
    with pytest.raises(InvalidValueError, match="not a Key Object Selection document title"):
        key_object_selection([a], title=DCM.Finding)  # type: ignore[list-item]


@pytest.mark.interop
def test_tid2000(tmp_path: Path) -> None:
    ct = image(1)
    doc = diagnostic_imaging_report(
        {
            "Findings": ["No mass.", (DCM.Finding, Code("17621005", "SCT", "Normal"))],
            DCM.Impressions: ["Normal study."],
        },
        key_images=[ct],  # type: ignore[list-item]
        observer_person="Doe^J",
    )
    assert doc.check() == []
    path = tmp_path / "tid2000.dcm"
    doc.save(path)
    sections = read_diagnostic_report(read(path))
    assert sections == {
        "Findings": [("Finding", "No mass."), ("Finding", "Normal")],
        "Impressions": [("Impression", "Normal study.")],
    }
    _dcmtk_clean(path)
    assert _dciodvfy_errors(path) == []
    with pytest.raises(InvalidValueError, match="not a CID 7001 report heading"):
        diagnostic_imaging_report({"Gossip": ["x"]})


@pytest.mark.interop
def test_ct_dose_summary(tmp_path: Path) -> None:
    path = tmp_path / "dose.dcm"
    ct_dose_doc().save(path)
    summary = ct_dose_summary(read(path))
    assert summary.total_dlp == 650.5 and summary.events == 2
    assert summary.rows == [
        (
            "Chest",
            "Chest",
            "Spiral Acquisition",
            "8.25",
            "300.5",
            "IEC Body Dosimetry Phantom",
            "1.2.826.0.1.3680043.2.1125.6.1",
        ),
        (
            "Abdomen",
            "Chest",
            "Spiral Acquisition",
            "10",
            "350",
            "IEC Body Dosimetry Phantom",
            "1.2.826.0.1.3680043.2.1125.6.2",
        ),
    ]
    table = format_table(summary.table())
    assert table.splitlines()[0].startswith("Protocol") and "350" in table.splitlines()[3]
    events = dose_events(read(path))
    assert (
        events[0]["Mean CTDIvol"] == "8.25 mGy" and events[1]["Acquisition Protocol"] == "Abdomen"
    )
    proc = run_dcmtk("dsrdump", str(path), check=False)
    assert proc.returncode == 0, proc.stderr
    assert _dciodvfy_errors(path) == []


def test_image_region_on_a_ct() -> None:
    doc = tid1500_doc()
    region = doc.root.path("Imaging Measurements/Measurement Group/Image Region")
    assert region is not None and region.children[0].reference is not None
    assert region.children[0].reference.sop_class == CT


def test_tid1500_needs_a_procedure() -> None:
    with pytest.raises(InvalidValueError, match="requires the procedure reported"):
        measurement_report_document([], evidence=[image(1)])  # type: ignore[list-item]


def projection_dose_doc():  # type: ignore[no-untyped-def]
    root = items.container(DCM.XRayRadiationDoseReport, template="10001")
    acc = root.add("CONTAINS", items.container(DCM.AccumulatedXRayDoseData))
    acc.add("CONTAINS", items.num(DCM.DoseAreaProductTotal, 0.00125, UCUM.GrayMeterSquared))
    acc.add("CONTAINS", items.num(DCM.DoseRPTotal, 0.05, UCUM.Gray))
    for i, (kind, dap) in enumerate(
        ((("113611", "Stationary Acquisition"), 0.0005), (("P5-06000", "Fluoroscopy"), 0.00075)), 1
    ):
        ev = root.add("CONTAINS", items.container(DCM.IrradiationEventXRayData))
        ev.add("CONTAINS", items.code(DCM.AcquisitionPlane, Code("113622", "DCM", "Single Plane")))
        ev.add("CONTAINS", items.code(DCM.IrradiationEventType, Code(kind[0], "DCM", kind[1])))
        ev.add("CONTAINS", items.text(DCM.AcquisitionProtocol, f"protocol {i}"))
        ev.add(
            "CONTAINS", items.uidref(DCM.IrradiationEventUID, f"1.2.826.0.1.3680043.2.1125.8.{i}")
        )
        ev.add("CONTAINS", items.num(DCM.DoseAreaProduct, dap, UCUM.GrayMeterSquared))
        ev.add("CONTAINS", items.num(DCM.DoseRP, 0.025, UCUM.Gray))
    return new_document(root, sop_class="1.2.840.10008.5.1.4.1.1.88.67")


@pytest.mark.interop
def test_projection_dose_summary(tmp_path: Path) -> None:
    from dicomkit.sr.templates._dose import projection_dose_summary

    path = tmp_path / "xa-dose.dcm"
    doc = projection_dose_doc()
    assert doc.check() == []
    doc.save(path)
    summary = projection_dose_summary(read(path))
    assert summary.totals == {
        "Dose Area Product Total": "0.00125 Gy.m2",
        "Dose (RP) Total": "0.05 Gy",
    }
    assert summary.rows == [
        (
            "Stationary Acquisition",
            "protocol 1",
            "Single Plane",
            "0.0005",
            "0.025",
            "1.2.826.0.1.3680043.2.1125.8.1",
        ),
        (
            "Fluoroscopy",
            "protocol 2",
            "Single Plane",
            "0.00075",
            "0.025",
            "1.2.826.0.1.3680043.2.1125.8.2",
        ),
    ]
    _dcmtk_clean(path)
    assert _dciodvfy_errors(path) == []

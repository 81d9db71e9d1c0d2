"""SR templates of PS3.16: builders and readers.

* ``_tid1500`` -- TID 1500 Measurement Report (TID 1410/1411/1501 groups)
* ``_tid2000`` -- TID 2000 Basic Diagnostic Imaging Report
* ``_kos`` -- TID 2010 Key Object Selection, IOCM rejection notes (CID 7011)
* ``_dose`` -- TID 10001/10011 radiation dose reports (reader)
* ``_build_json`` -- any of these from a small JSON description (``dicomkit sr build``)
"""

from __future__ import annotations

from dicomkit.sr.templates._build_json import build_from_json, code_from_json
from dicomkit.sr.templates._common import add_language, add_observer, image_of, instance_ref
from dicomkit.sr.templates._conformance import template_of, template_problems
from dicomkit.sr.templates._dose import (
    CTDoseSummary,
    ProjectionDoseSummary,
    ct_dose_summary,
    dose_events,
    format_table,
    projection_dose_summary,
)
from dicomkit.sr.templates._kos import (
    KeyObjects,
    key_object_selection,
    read_key_objects,
    rejection_note,
)
from dicomkit.sr.templates._tid1500 import (
    ImageRegion,
    Measurement,
    MeasurementGroup,
    MeasurementReport,
    ReferencedSegment,
    VolumeSurface,
    measurement_group,
    measurement_report,
    measurement_report_document,
    read_measurement_report,
)
from dicomkit.sr.templates._tid2000 import diagnostic_imaging_report, read_diagnostic_report

__all__ = [
    "CTDoseSummary",
    "ImageRegion",
    "KeyObjects",
    "Measurement",
    "MeasurementGroup",
    "MeasurementReport",
    "ProjectionDoseSummary",
    "ReferencedSegment",
    "VolumeSurface",
    "add_language",
    "add_observer",
    "build_from_json",
    "code_from_json",
    "ct_dose_summary",
    "diagnostic_imaging_report",
    "dose_events",
    "format_table",
    "image_of",
    "instance_ref",
    "key_object_selection",
    "measurement_group",
    "measurement_report",
    "measurement_report_document",
    "projection_dose_summary",
    "read_diagnostic_report",
    "read_key_objects",
    "read_measurement_report",
    "rejection_note",
    "template_of",
    "template_problems",
]

"""dciodvfy (dicom3tools) and our validator on real files: we report every error it reports.

The files are chosen from the shared corpus so that together they cover the classes of error
dciodvfy finds (UID roots, a UID reused, File Meta against the data set, a conditional
attribute present when it shall not be, an IOD value rule, direction cosines, 16-bit Pixel
Data as OB, Pixel Aspect Ratio 1:1, a data set of UN elements). The comparison itself is
``benchmarks/validate_vs_dciodvfy.py`` (errors reduced to kind and attribute).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from corpus import CORPUS
from peers import missing

TOOL = Path(__file__).resolve().parents[2] / "benchmarks" / "validate_vs_dciodvfy.py"
DCIODVFY = Path("/usr/bin/dciodvfy")

FILES = [
    "dcm4che/US-PAL-8-10x-echo",  # illegal UID roots (999.x)
    "dcm4che/NM-MONO2-16-13x-heart",  # SOP Instance UID = Series Instance UID; bad DA/TM
    "pydicom-data/bad_sequence.dcm",  # Media Storage SOP Instance UID differs
    "nema-wg04/RLE/MR3_RLE",  # Inversion Time present without IR; MR Image Type value 3
    "pydicom-data/OT-PAL-8-face.dcm",  # Planar Configuration present with one sample
    "pydicom-data/emri_small.dcm",  # Velocity Encoding Direction 0\0\0
    "pydicom-data/SC_rgb_16bit.dcm",  # 16-bit Pixel Data as OB
    "dcm4che/MR-JPEGLosslessSV1.dcm",  # Pixel Aspect Ratio 1\1 with Pixel Spacing
    "pydicom-data/explicit_VR-UN.dcm",  # every element UN
]


def _tool() -> ModuleType:
    name = "validate_vs_dciodvfy"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("rel", FILES)
def test_we_report_every_error_dciodvfy_reports(rel: str) -> None:
    if not DCIODVFY.exists():
        missing("dciodvfy (apt-get install dicom3tools)")
    path = CORPUS / rel
    if not path.exists():
        pytest.skip("shared corpus not present")
    result = _tool().compare(path)
    assert result.both, "dciodvfy found errors in each of these files; so must we"
    assert result.only_dciodvfy == set(), (
        f"{rel}: only dciodvfy reports {sorted(result.only_dciodvfy)}"
    )


def test_parser_reads_dciodvfy_lines() -> None:
    tool = _tool()
    lines = (
        "Error - Missing attribute Type 2 Required Element=<PatientID> Module=<Patient>",
        'Error - Illegal root for UID - "999.1" in (0x0020,0x000d) Study Instance UID',
        "Error - Unrecognized enumerated value <0x2> for value 1 of attribute <Number of Frames>",
        "Error - SOPInstanceUID has same value as SeriesInstanceUID <1.2.3>",
        "Error - Dicom dataset contains invalid data values for Value Representations",
        "Warning - Retired attribute - (0x0008,0x0000) UL Group Length",
    )
    text = "\n".join(lines)
    assert tool.parse_dciodvfy(text) == {
        ("missing", "patientid"),
        ("uid-root", "studyinstanceuid"),
        ("enum", "numberofframes"),
        ("uid-reuse", "sopinstanceuid"),
    }

"""``dicomkit sr dump|html|xml|validate|dose|build``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from corpus import CORPUS

import dicomkit
from dicomkit.cli._main import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sr"))
from allkinds import all_kinds, ct_header
from test_templates import ct_dose_doc

SR = CORPUS / "dcmqi" / "sr-example" / "sr.dcm"


def test_dump(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sr", "dump", str(SR)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Comprehensive SR Document"
    assert '<CONTAINER:(126000,DCM,"Imaging Measurement Report")=SEPARATE>' in out
    assert any(
        line.startswith('      <contains NUM:(126401,DCM,"SUVbw")="6.01529"') for line in out
    )


def test_html_and_xml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "r.html"
    assert main(["sr", "html", str(SR), "-o", str(page)]) == 0
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "Imaging Measurement Report" in text
    assert main(["sr", "xml", str(SR)]) == 0
    xml = capsys.readouterr().out
    assert "NativeDicomModel" in xml and 'tag="0040A730"' in xml


def test_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sr", "validate", str(SR)]) == 0
    assert "Comprehensive SR: 0 problem(s)" in capsys.readouterr().out
    doc = all_kinds()
    doc.dataset.set(0x00080016, "1.2.840.10008.5.1.4.1.1.88.11", "UI")  # Basic Text SR
    bad = tmp_path / "bad.dcm"
    doc.save(bad)
    assert main(["sr", "validate", str(bad)]) == 1
    out = capsys.readouterr().out
    assert (
        "Error - content item 1.4.2: value type NUM is not allowed in the Basic Text SR IOD" in out
    )


def test_not_an_sr_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    ct = CORPUS / "nema-wg04" / "RLE" / "CT1_RLE"
    assert main(["sr", "dump", str(ct)]) == 2
    assert "not an SR document" in capsys.readouterr().err


def test_dose(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "dose.dcm"
    ct_dose_doc().save(path)
    assert main(["sr", "dose", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "CT Dose Length Product Total: 650.5 mGy.cm"
    assert out[2].split()[:2] == ["Protocol", "Target"]
    assert out[4].split()[:2] == ["Chest", "Chest"] and "300.5" in out[4]


def test_build_from_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ct = ct_header(1)
    ct.set(0x00280010, 4, "US")
    ct.set(0x00080060, "CT", "CS")
    dicomkit.write(ct, tmp_path / "ct.dcm")
    description = {
        "template": "1500",
        "evidence": ["ct.dcm"],
        "observer": "Doe^J",
        "procedure_reported": {"value": "77477000", "scheme": "SCT", "meaning": "CT"},
        "groups": [
            {
                "tracking_id": "lesion 1",
                "finding": {"value": "108369006", "scheme": "SCT", "meaning": "Neoplasm"},
                "finding_sites": [{"value": "39607008", "scheme": "SCT", "meaning": "Lung"}],
                "region": {"graphic_type": "POINT", "points": [5, 5], "image": "ct.dcm"},
                "measurements": [
                    {"name": "Length", "value": 12.5, "units": "mm", "derivation": "SCT.Maximum"}
                ],
            }
        ],
    }
    (tmp_path / "report.json").write_text(json.dumps(description))
    out = tmp_path / "out.dcm"
    assert main(["sr", "build", str(tmp_path / "report.json"), "-o", str(out)]) == 0
    from dicomkit.sr import read
    from dicomkit.sr.templates._tid1500 import read_measurement_report

    report = read_measurement_report(read(out))
    (group,) = report.groups
    assert group.tracking_id == "lesion 1" and group.finding_sites[0].meaning == "Lung"
    (m,) = group.measurements
    assert (m.name.meaning, m.value, m.units.value if m.units else None) == ("Length", 12.5, "mm")
    assert m.derivation is not None and m.derivation.meaning == "Maximum"

    (tmp_path / "kos.json").write_text(
        json.dumps({"template": "2010", "title": "ForTeaching", "instances": ["ct.dcm"]})
    )
    assert main(["sr", "build", str(tmp_path / "kos.json"), "-o", str(tmp_path / "kos.dcm")]) == 0
    assert dicomkit.read(tmp_path / "kos.dcm").Modality == "KO"

    (tmp_path / "bad.json").write_text(
        json.dumps(
            {
                "template": "1500",
                "groups": [{"measurements": [{"name": "NoSuchCode", "value": 1, "units": "mm"}]}],
            }
        )
    )
    assert main(["sr", "build", str(tmp_path / "bad.json"), "-o", str(tmp_path / "x.dcm")]) == 2
    assert "'NoSuchCode' is not a code keyword dicomkit knows" in capsys.readouterr().err
    (tmp_path / "broken.json").write_text("{")
    assert main(["sr", "build", str(tmp_path / "broken.json"), "-o", str(tmp_path / "x.dcm")]) == 2


def test_build_tree(tmp_path: Path) -> None:
    description = {
        "template": "tree",
        "sop_class": "1.2.840.10008.5.1.4.1.1.88.22",
        "root": {
            "type": "CONTAINER",
            "concept": {"value": "18748-4", "scheme": "LN", "meaning": "Diagnostic Imaging Report"},
            "children": [
                {"relationship": "CONTAINS", "type": "TEXT", "concept": "Finding", "value": "ok"},
                {
                    "relationship": "CONTAINS",
                    "type": "NUM",
                    "concept": "Length",
                    "value": 3,
                    "units": "mm",
                },
            ],
        },
    }
    (tmp_path / "t.json").write_text(json.dumps(description))
    assert main(["sr", "build", str(tmp_path / "t.json"), "-o", str(tmp_path / "t.dcm")]) == 0
    from dicomkit.sr import read

    doc = read(tmp_path / "t.dcm")
    assert [c.value for c in doc.root] == ["ok", "3"]
    assert doc.iod_name == "Enhanced SR"


def test_dose_projection(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from test_templates import projection_dose_doc

    path = tmp_path / "xa.dcm"
    projection_dose_doc().save(path)
    assert main(["sr", "dose", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Dose Area Product Total: 0.00125 Gy.m2"
    assert out[2].split()[:2] == ["Event", "Type"]
    assert "0.00075" in out[5]

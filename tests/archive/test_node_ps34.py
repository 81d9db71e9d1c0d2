"""The PS3.4 services ``dicomkit serve`` hosts when its config turns them on -- Procedural
Event Logging, Relevant Patient Information, Substance Administration Query, Display System,
Media Creation -- driven end to end by their ``dicomkit`` clients."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from archive_helpers import cli, serving
from peers import free_port

import dicomkit
from dicomkit.core._dataset import Dataset
from dicomkit.dictionary import uids
from dicomkit.sr import Code
from dicomkit.sr import _items as items
from dicomkit.sr._writer import write_content

CONFIG = """
[event_log]
enabled = true
known_studies_only = true

[relevant_patient]
enabled = true

[substance]
enabled = true
path = "catalogue.json"

[display]
enabled = true
path = "display.json"

[media_creation]
enabled = true
"""
STUDY = "1.2.826.0.1.3680043.10.7.1"


def _files(folder: Path) -> list[Path]:
    import sys

    sys.path.insert(0, str(Path(__file__).parents[1] / "services"))
    from test_media_creation import make_instances

    paths = list(make_instances(folder, 2).values())
    sr = Dataset()
    for kw in ("PatientName", "PatientID", "StudyInstanceUID", "StudyDate", "StudyTime"):
        sr.set(kw, dicomkit.read(paths[0]).get(kw))
    sr.PatientSex = "F"
    sr.SOPClassUID = uids.ComprehensiveSRStorage
    sr.SOPInstanceUID = STUDY + ".9.1"
    sr.SeriesInstanceUID = STUDY + ".9"
    sr.Modality = "SR"
    sr.ContentDate, sr.ContentTime = "20260102", "090000"
    root = items.container(
        Code("11329-0", "LN", "History"),
        items.text(Code("121106", "DCM", "Comment"), "asthma since 2010"),
        template="9007",
    )
    write_content(root, sr)
    dicomkit.write(sr, folder / "sr.dcm")
    return [*paths, folder / "sr.dcm"]


@pytest.mark.slow  # a `dicomkit serve` process
def test_serve_hosts_the_ps34_services(tmp_path: Path) -> None:
    (tmp_path / "node.toml").write_text(CONFIG)
    (tmp_path / "catalogue.json").write_text(
        json.dumps(
            [
                {"ProductPackageIdentifier": "0123", "ProductName": "Iopamidol 370"},
                {
                    "PatientID": "M1",
                    "ProductPackageIdentifier": "0123",
                    "SubstanceAdministrationApproval": "WARNING",
                    "ApprovalStatusFurtherDescription": "check eGFR",
                },
            ]
        )
    )
    (tmp_path / "display.json").write_text(
        json.dumps(
            {
                "Manufacturer": "ACME",
                "DisplaySubsystemSequence": [
                    {"DisplaySubsystemID": 1, "DisplaySubsystemName": "Left",
                     "DisplaySubsystemQAResultsSequence": [{"PerformedProcedureStepStartDateTime": "20260101"}]},
                ],
            }
        )
    )  # fmt: skip
    files = _files(tmp_path / "in")
    archive, port = tmp_path / "arch", free_port()
    with serving(archive, port, "--config", str(tmp_path / "node.toml")):
        hp = ("127.0.0.1", str(port), "--aec", "DICOMKIT")
        code, _, err = cli("store", *hp, *map(str, files))
        assert code == 0, err
        code, out, err = cli("event-log", "send", *hp, "--study", STUDY, "--patient-id", "M1",
                             "--note", "contrast started", "--at", "20260102100000")  # fmt: skip
        assert (code, out.strip()) == (0, "logged"), err
        code, out, err = cli("event-log", "send", *hp, "--study", "9.9.9", "--note", "x")
        assert code == 1 and "0xC101" in err
        code, out, err = cli("relevant-patient", *hp, "--patient-id", "M1")
        assert code == 0 and "asthma since 2010" in out and "M1" in out, (out, err)
        code, out, _ = cli("relevant-patient", *hp, "--patient-id", "NOBODY")
        assert code == 3
        code, out, err = cli("substance", "product", *hp, "0123")
        assert code == 0 and "Iopamidol 370" in out, err
        code, out, err = cli("substance", "approval", *hp, "0123", "--patient-id", "M1")
        assert (code, out.strip()) == (0, "WARNING: check eGFR"), err
        code, out, err = cli("display", *hp)
        assert code == 0 and "ACME" in out and "DisplaySubsystemQAResultsSequence x1" in out, err
        code, out, err = cli("media", "create", *hp, *map(str, files[:2]), "--fileset-id", "DISC1")
        assert code == 0 and "DONE (NORMAL)" in out, (out, err)
        request = out.split()[0]
        code, out, _ = cli("media", "status", *hp, request)
        assert code == 0 and out.startswith("DONE")
        code, out, err = cli("media", "cancel", *hp, request)
        assert code == 1 and "0xC201" in err
    listed = cli("event-log", "list", str(archive / "event-log"))
    assert listed[0] == 0 and "contrast started" not in listed[1]  # entries by concept name
    assert "Comment" in listed[1] and "1 record(s)" in listed[1]
    isos = list((archive / "media" / request).glob("*.iso"))
    assert [p.name for p in isos] == ["DISC1.iso"] and isos[0].stat().st_size > 0
    dd = dicomkit.media.read_dicomdir(archive / "media" / request / "fileset" / "DICOMDIR")
    assert len(list(dd.instances())) == 2

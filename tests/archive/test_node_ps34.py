"""The PS3.4 services ``dicomkit serve`` hosts when its config turns them on -- Procedural
Event Logging, Relevant Patient Information, Substance Administration Query, Display System,
Media Creation -- driven end to end by their ``dicomkit`` clients."""

from __future__ import annotations

import json
import re
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
    assert (archive / "media" / "requests" / f"{request}.json").is_file()
    with serving(archive, port, "--config", str(tmp_path / "node.toml")):  # a restart
        code, out, err = cli(
            "media", "status", "127.0.0.1", str(port), "--aec", "DICOMKIT", request
        )
        assert code == 0 and out.startswith("DONE (NORMAL)"), (out, err)
    listed = cli("event-log", "list", str(archive / "event-log"))
    assert listed[0] == 0 and "contrast started" not in listed[1]  # entries by concept name
    assert "Comment" in listed[1] and "1 record(s)" in listed[1]
    isos = list((archive / "media" / request).glob("*.iso"))
    assert [p.name for p in isos] == ["DISC1.iso"] and isos[0].stat().st_size > 0
    dd = dicomkit.media.read_dicomdir(archive / "media" / request / "fileset" / "DICOMDIR")
    assert len(list(dd.instances())) == 2


RT_CONFIG = """
[rt_verification]
enabled = true
required = ["SpecifiedPrimaryMeterset"]
[rt_verification.tolerances]
SpecifiedPrimaryMeterset = [0, 500]
"""
PLAN_UID = "1.2.826.0.1.3680043.10.7.2"


def rt_plan(
    path: Path, *, patient_id: str = "P1", metersets: tuple[float, ...] = (120, 640)
) -> Path:
    """An RT Plan with one beam per meterset (beams 1, 2 ...) in fraction group 1."""
    plan = Dataset()
    plan.SOPClassUID = uids.RTPlanStorage
    plan.SOPInstanceUID = PLAN_UID
    if patient_id:
        plan.PatientID = patient_id
    plan.Modality = "RTPLAN"
    beams, refs = [], []
    for n, mu in enumerate(metersets, 1):
        beam, ref = Dataset(), Dataset()
        beam.BeamNumber, beam.BeamName = n, f"B{n}"
        ref.ReferencedBeamNumber, ref.BeamMeterset = n, mu
        beams.append(beam)
        refs.append(ref)
    plan.BeamSequence = beams
    group = Dataset()
    group.FractionGroupNumber = 1
    group.ReferencedBeamSequence = refs
    plan.FractionGroupSequence = [group]
    path.parent.mkdir(parents=True, exist_ok=True)
    dicomkit.write(plan, path)
    return path


@pytest.mark.slow  # a `dicomkit serve` process
def test_serve_hosts_rt_machine_verification(tmp_path: Path) -> None:
    (tmp_path / "node.toml").write_text(RT_CONFIG)
    plan = rt_plan(tmp_path / "plan.dcm")
    nobody = rt_plan(tmp_path / "nobody.dcm", patient_id="")
    port = free_port()
    with serving(tmp_path / "arch", port, "--config", str(tmp_path / "node.toml")):
        hp = ("127.0.0.1", str(port), "--aec", "DICOMKIT")
        code, out, err = cli("rt-verify", *hp, str(plan))  # beam 1: 120 MU, in range
        assert (code, out.strip()) == (0, "VERIFIED"), err
        code, out, err = cli("rt-verify", *hp, str(plan), "--beam", "2")  # 640 MU
        assert code == 1 and out.splitlines()[0] == "NOT_VERIFIED", err
        assert "failed: (3008,0032) Specified Primary Meterset in (0074,1044)" in out
        code, out, err = cli("rt-verify", *hp, str(plan), "--beam", "2",
                             "--set", "SpecifiedPrimaryMeterset=480")  # fmt: skip
        assert (code, out.strip()) == (0, "VERIFIED"), err
        code, out, err = cli("rt-verify", *hp, str(nobody))  # N-CREATE without Patient ID
        assert code == 1 and out == ""
        assert "0x0120" in err and "(0010,0020) Patient ID" in err, err


@pytest.mark.parametrize(
    "section, says",
    [
        ({"tolerances": {"SpecifiedPrimaryMeterset": [5, 1]}}, "low <= high"),
        ({"tolerances": {"NoSuchKeyword": [0, 1]}}, "not a keyword"),
        ({"tolerances": [0, 1]}, "a table of KEYWORD = [low, high]"),
        ({"required": "SpecifiedPrimaryMeterset"}, "a list of keywords"),
        ({"verifier": "x"}, "unknown key 'verifier'"),
    ],
)
def test_rt_verification_config_errors(section: dict[str, object], says: str) -> None:
    from dicomkit.archive._config import ConfigError
    from dicomkit.archive._hosted import check_section

    with pytest.raises(ConfigError, match=re.escape(says)):
        check_section("rt_verification", section, Path("."))
    checked = check_section("rt_verification", {"tolerances": {"BeamMeterset": [0, 9]}}, Path("."))
    assert checked == {"tolerances": {"BeamMeterset": (0.0, 9.0)}}


def test_rt_verify_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from dicomkit.cli._main import main

    plan = rt_plan(tmp_path / "plan.dcm")
    (tmp_path / "ct.dcm").write_bytes(b"not dicom")
    cases = [
        ((str(plan), "--beam", "3"), "the plan has beams 1, 2"),
        ((str(plan), "--set", "Nope=1"), "give KEYWORD=VALUE with a DICOM keyword"),
        ((str(tmp_path / "ct.dcm"),), "cannot read it as a DICOM file"),
        ((), "HOST PORT PLAN"),
    ]
    for extra, says in cases:
        assert main(["rt-verify", "127.0.0.1", "104", *extra]) == 2
        err = capsys.readouterr().err
        assert says in err and err.count("\n") == 1, err

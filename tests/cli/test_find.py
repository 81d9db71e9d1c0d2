"""`dicomkit find` against `dicomkit serve`: table, JSON, matching keys, usage errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "archive"))
from archive_helpers import cli, serving, synthetic, write_files
from peers import free_port

ROWS = synthetic(5)


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    tmp = tmp_path_factory.mktemp("find")
    files = write_files(ROWS, tmp / "in")
    p = free_port()
    with serving(tmp / "arch", p):
        code, _o, err = cli(
            "store", "127.0.0.1", str(p), "--aec", "DICOMKIT", "-q", *map(str, files)
        )
        assert code == 0, err
        yield p


def test_default_study_table(port: int) -> None:
    code, out, err = cli("find", "127.0.0.1", str(port), "--aec", "DICOMKIT")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["PatientName", "PatientID"]
    studies = {r["StudyInstanceUID"] for r in ROWS}
    assert len(lines) == 1 + len(studies)
    assert f"{len(studies)} matches" in err


def test_json_with_wildcard_and_range(port: int) -> None:
    code, out, err = cli(
        "find",
        "127.0.0.1",
        str(port),
        "--aec",
        "DICOMKIT",
        "--json",
        "-k",
        "PatientName=DOE*",
        "-k",
        "StudyDate=20200101-20200630",
        "-k",
        "ModalitiesInStudy=",
    )
    assert code == 0, err
    got = json.loads(out)
    want = {
        r["StudyInstanceUID"]
        for r in ROWS
        if r["PatientName"].upper().startswith("DOE") and "20200101" <= r["StudyDate"] <= "20200630"
    }
    assert {g["StudyInstanceUID"] for g in got} == want
    assert all(
        set(g) == {"PatientName", "StudyDate", "ModalitiesInStudy", "StudyInstanceUID"} for g in got
    )


def test_patient_root_series_level_and_tag_keys(port: int) -> None:
    row = ROWS[-1]
    code, out, err = cli(
        "find",
        "127.0.0.1",
        str(port),
        "--aec",
        "DICOMKIT",
        "-P",
        "-L",
        "SERIES",
        "--json",
        "-k",
        f"PatientID={row['PatientID']}",
        "-k",
        f"(0020,000D)={row['StudyInstanceUID']}",
        "-k",
        "0008,0060=",
        "-k",
        "RequestAttributesSequence.RequestedProcedureID=",
    )
    assert code == 0, err
    got = json.loads(out)
    assert {g["SeriesInstanceUID"] for g in got} == {
        r["SeriesInstanceUID"] for r in ROWS if r["StudyInstanceUID"] == row["StudyInstanceUID"]
    }
    assert all(g["RequestAttributesSequence"][0]["RequestedProcedureID"] for g in got)


def test_refusal_and_usage_errors(port: int) -> None:
    code, _out, err = cli(
        "find",
        "127.0.0.1",
        str(port),
        "--aec",
        "DICOMKIT",
        "-L",
        "SERIES",
        "-k",
        "SeriesInstanceUID=",
    )
    assert code == 1 and "A900" in err
    code, _out, err = cli("find", "127.0.0.1", str(port), "--aec", "DICOMKIT", "-k", "PatientNam=X")
    assert code == 2 and "did you mean" in err and "PatientName" in err


def test_limit_cancels(port: int) -> None:
    code, out, err = cli(
        "find", "127.0.0.1", str(port), "--aec", "DICOMKIT", "--json", "--limit", "1"
    )
    assert code == 0, err
    assert len(json.loads(out)) == 1

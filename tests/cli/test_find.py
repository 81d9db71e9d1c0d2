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

# every test asks the one `dicomkit serve` process the module starts
pytestmark = pytest.mark.slow
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
        "keyword",
        "--only-keys",
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
        "keyword",
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


def test_default_columns_at_every_level_and_with_k(port: int) -> None:
    from dicomkit.cli._find import DEFAULT_KEYS

    row = ROWS[-1]
    for level, keys in (
        ("STUDY", [f"PatientID={row['PatientID']}"]),
        ("SERIES", [f"StudyInstanceUID={row['StudyInstanceUID']}"]),
        (
            "IMAGE",
            [
                f"StudyInstanceUID={row['StudyInstanceUID']}",
                f"SeriesInstanceUID={row['SeriesInstanceUID']}",
            ],
        ),
    ):
        args = [x for k in keys for x in ("-k", k)]
        code, out, err = cli(
            "find", "127.0.0.1", str(port), "--aec", "DICOMKIT", "-L", level, *args
        )
        assert code == 0, err
        header = out.splitlines()[0].split()
        assert header == list(DEFAULT_KEYS[level]), (level, header)
        assert len(DEFAULT_KEYS[level]) >= 5


def test_ps318_json_by_default(port: int) -> None:
    row = ROWS[-1]
    code, out, err = cli(
        "find",
        "127.0.0.1",
        str(port),
        "--aec",
        "DICOMKIT",
        "--json",
        "-k",
        f"StudyInstanceUID={row['StudyInstanceUID']}",
    )
    assert code == 0, err
    (match,) = json.loads(out)
    assert match["0020000D"] == {"vr": "UI", "Value": [row["StudyInstanceUID"]]}
    assert match["00100020"]["vr"] == "LO" and match["00100020"]["Value"] == [row["PatientID"]]


def test_query_retrieve_level_key(port: int) -> None:
    row = ROWS[-1]
    study = f"StudyInstanceUID={row['StudyInstanceUID']}"
    base = ("find", "127.0.0.1", str(port), "--aec", "DICOMKIT", "--json", "keyword")
    code, out, err = cli(*base, "-k", "QueryRetrieveLevel=SERIES", "-k", study)
    assert code == 0, err
    got = json.loads(out)
    assert got and all("SeriesInstanceUID" in g and "QueryRetrieveLevel" not in g for g in got)
    assert {g["SeriesInstanceUID"] for g in got} == {
        r["SeriesInstanceUID"] for r in ROWS if r["StudyInstanceUID"] == row["StudyInstanceUID"]
    }
    code, _out, err = cli(*base, "-k", "QueryRetrieveLevel=")
    assert code == 2 and "needs a level" in err
    code, _out, err = cli(*base, "-L", "STUDY", "-k", "QueryRetrieveLevel=SERIES")
    assert code == 2 and "disagree" in err

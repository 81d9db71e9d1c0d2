"""`dicomkit get` against `dicomkit serve`: instances come back on the same association."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "archive"))
from archive_helpers import cli, serving, synthetic, write_files
from peers import free_port

import dicomkit

ROWS = synthetic(3)


@pytest.mark.slow  # `dicomkit serve` as a process of its own
def test_get_study_and_series(tmp_path: Path) -> None:
    files = write_files(ROWS, tmp_path / "in")
    port = free_port()
    study = ROWS[-1]["StudyInstanceUID"]
    with serving(tmp_path / "arch", port):
        code, _o, err = cli(
            "store", "127.0.0.1", str(port), "--aec", "DICOMKIT", "-q", *map(str, files)
        )
        assert code == 0, err
        out_dir = tmp_path / "out"
        code, out, err = cli(
            "get",
            "127.0.0.1",
            str(port),
            "--aec",
            "DICOMKIT",
            "--out",
            str(out_dir),
            "-k",
            f"StudyInstanceUID={study}",
        )
        assert code == 0, err + out
        want = {r["SOPInstanceUID"] for r in ROWS if r["StudyInstanceUID"] == study}
        got = {dicomkit.read(p).SOPInstanceUID for p in out_dir.iterdir()}
        assert got == want
        series = ROWS[-1]["SeriesInstanceUID"]
        out2 = tmp_path / "out2"
        code, out, err = cli(
            "get",
            "127.0.0.1",
            str(port),
            "--aec",
            "DICOMKIT",
            "-L",
            "SERIES",
            "--out",
            str(out2),
            "-k",
            f"StudyInstanceUID={study}",
            "-k",
            f"SeriesInstanceUID={series}",
            "--sop-class",
            ROWS[-1]["SOPClassUID"],
        )
        assert code == 0, err + out
        assert {dicomkit.read(p).SeriesInstanceUID for p in out2.iterdir()} == {series}


#: a storage class not among get's common ones: found by the C-FIND the command sends first
UNCOMMON = "1.2.840.10008.5.1.4.1.1.88.71"  # Acquisition Context SR Storage


@pytest.mark.slow  # `dicomkit serve` as a process of its own
def test_get_finds_uncommon_sop_classes_first(tmp_path: Path) -> None:
    from dicomkit.cli._get import COMMON, _uid

    assert UNCOMMON not in {_uid(k, "SOP class") for k in COMMON}
    rows = [dict(r, SOPClassUID=UNCOMMON) for r in ROWS]
    files = write_files(rows, tmp_path / "in")
    port = free_port()
    study = rows[-1]["StudyInstanceUID"]
    want = {r["SOPInstanceUID"] for r in rows if r["StudyInstanceUID"] == study}
    args = ("127.0.0.1", str(port), "--aec", "DICOMKIT", "-k", f"StudyInstanceUID={study}")
    with serving(tmp_path / "arch", port):
        code, _o, err = cli(
            "store", "127.0.0.1", str(port), "--aec", "DICOMKIT", "-q", *map(str, files)
        )
        assert code == 0, err
        code, out, err = cli("get", *args, "--out", str(tmp_path / "found"))
        assert code == 0, err + out
        assert {dicomkit.read(p).SOPInstanceUID for p in (tmp_path / "found").iterdir()} == want
        # without the C-FIND the class is not proposed: the command says why nothing came
        code, out, err = cli("get", *args, "--no-find", "--out", str(tmp_path / "blind"))
        assert code == 1, out
        assert f"0 completed, {len(want)} failed" in out
        assert "--sop-class" in err
        # --sop-class adds to the common classes
        code, out, err = cli(
            "get", *args, "--no-find", "--sop-class", UNCOMMON, "--out", str(tmp_path / "sop")
        )
        assert code == 0, err + out
        assert len(list((tmp_path / "sop").iterdir())) == len(want)

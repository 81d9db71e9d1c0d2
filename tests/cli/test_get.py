"""`dicomkit get` against `dicomkit serve`: instances come back on the same association."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "archive"))
from archive_helpers import cli, serving, synthetic, write_files
from peers import free_port

import dicomkit

ROWS = synthetic(3)


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

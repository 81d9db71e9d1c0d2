"""`dicomkit move`: one archive node moves a study to another (both `dicomkit serve`)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "archive"))
from archive_helpers import cli, serving, synthetic, write_files
from peers import free_port

ROWS = synthetic(3)


@pytest.mark.slow  # two `dicomkit serve` processes
def test_move_between_two_nodes(tmp_path: Path) -> None:
    files = write_files(ROWS, tmp_path / "in")
    src_port, dst_port = free_port(), free_port()
    study = ROWS[-1]["StudyInstanceUID"]
    want = sorted(f"{r['SOPInstanceUID']}.dcm" for r in ROWS if r["StudyInstanceUID"] == study)
    with (
        serving(tmp_path / "dst", dst_port, aet="SECOND"),
        serving(tmp_path / "src", src_port, "--peer", f"SECOND=127.0.0.1:{dst_port}"),
    ):
        code, _o, err = cli(
            "store", "127.0.0.1", str(src_port), "--aec", "DICOMKIT", "-q", *map(str, files)
        )
        assert code == 0, err
        code, out, err = cli(
            "move",
            "127.0.0.1",
            str(src_port),
            "--aec",
            "DICOMKIT",
            "--dest",
            "SECOND",
            "-k",
            f"StudyInstanceUID={study}",
        )
        assert code == 0, err
        assert f"{len(want)} completed, 0 failed" in out
        code, out, err = cli(
            "move",
            "127.0.0.1",
            str(src_port),
            "--aec",
            "DICOMKIT",
            "--dest",
            "NOWHERE",
            "-k",
            f"StudyInstanceUID={study}",
        )
        assert code == 1 and "0 completed" in out, out
        code, out, err = cli(
            "move", "127.0.0.1", str(src_port), "--aec", "DICOMKIT", "--dest", "SECOND"
        )
        assert code == 2 and "-k" in err
    assert sorted(p.name for p in (tmp_path / "dst").rglob("*.dcm")) == want

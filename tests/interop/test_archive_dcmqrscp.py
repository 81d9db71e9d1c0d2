"""dicomkit find / move / get (the SCU side) against DCMTK's dcmqrscp."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "archive"))
from archive_helpers import cli, serving, synthetic, write_files
from peers import dcmtk, dcmtk_server, free_port, run_dcmtk

import dicomkit

pytestmark = pytest.mark.interop
ROWS = synthetic(4)


class QR:
    def __init__(self, port: int, dest_port: int, tmp: Path) -> None:
        self.port, self.dest_port, self.tmp = port, dest_port, tmp


@pytest.fixture(scope="module")
def qrscp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QR]:
    dcmtk("dcmqrscp")
    tmp = tmp_path_factory.mktemp("dcmqrscp")
    db = tmp / "db"
    db.mkdir()
    files = write_files(ROWS, tmp / "in")
    run_dcmtk("dcmqridx", str(db), *map(str, files))
    port, dest_port = free_port(), free_port()
    cfg = tmp / "qr.cfg"
    cfg.write_text(f"""NetworkTCPPort  = {port}
MaxPDUSize      = 16384
MaxAssociations = 16

HostTable BEGIN
dest = (DEST, 127.0.0.1, {dest_port})
HostTable END

VendorTable BEGIN
VendorTable END

AETable BEGIN
QRSCP   {db}   RW (200, 1024mb)   ANY
AETable END
""")
    with dcmtk_server("dcmqrscp", "-c", str(cfg), port=port):
        yield QR(port, dest_port, tmp)


def test_find_studies_and_images(qrscp: QR) -> None:
    code, out, err = cli(
        "find",
        "127.0.0.1",
        str(qrscp.port),
        "--aec",
        "QRSCP",
        "--json",
        "keyword",
        "-k",
        "PatientName=Doe*",
        "-k",
        "StudyDate=",
    )
    assert code == 0, err
    got = {r["StudyInstanceUID"]: r["StudyDate"] for r in json.loads(out)}
    assert got == {
        r["StudyInstanceUID"]: r["StudyDate"] for r in ROWS if r["PatientName"].startswith("Doe")
    }
    row = ROWS[-1]
    code, out, err = cli(
        "find",
        "127.0.0.1",
        str(qrscp.port),
        "--aec",
        "QRSCP",
        "--json",
        "keyword",
        "-P",
        "-L",
        "IMAGE",
        "-k",
        f"PatientID={row['PatientID']}",
        "-k",
        f"StudyInstanceUID={row['StudyInstanceUID']}",
        "-k",
        f"SeriesInstanceUID={row['SeriesInstanceUID']}",
        "-k",
        "SOPInstanceUID=",
    )
    assert code == 0, err
    assert {r["SOPInstanceUID"] for r in json.loads(out)} == {
        r["SOPInstanceUID"] for r in ROWS if r["SeriesInstanceUID"] == row["SeriesInstanceUID"]
    }


def test_get_from_dcmqrscp(qrscp: QR, tmp_path: Path) -> None:
    study = ROWS[-1]["StudyInstanceUID"]
    code, out, err = cli(
        "get",
        "127.0.0.1",
        str(qrscp.port),
        "--aec",
        "QRSCP",
        "--out",
        str(tmp_path),
        "-k",
        f"StudyInstanceUID={study}",
    )
    assert code == 0, err + out
    got = {dicomkit.read(p).SOPInstanceUID for p in tmp_path.iterdir()}
    assert got == {r["SOPInstanceUID"] for r in ROWS if r["StudyInstanceUID"] == study}


def test_move_from_dcmqrscp_into_dicomkit_serve(qrscp: QR, tmp_path: Path) -> None:
    study = ROWS[2]["StudyInstanceUID"]
    with serving(tmp_path / "arch", qrscp.dest_port, aet="DEST"):
        code, out, err = cli(
            "move",
            "127.0.0.1",
            str(qrscp.port),
            "--aec",
            "QRSCP",
            "--dest",
            "DEST",
            "-k",
            f"StudyInstanceUID={study}",
        )
        assert code == 0, err + out
        # and what arrived in the archive can be queried back
        code, out, err = cli(
            "find",
            "127.0.0.1",
            str(qrscp.dest_port),
            "--aec",
            "DEST",
            "--json",
            "keyword",
            "-k",
            "NumberOfStudyRelatedInstances=",
        )
        assert code == 0, err
    want = {r["SOPInstanceUID"] for r in ROWS if r["StudyInstanceUID"] == study}
    assert {p.stem for p in (tmp_path / "arch").rglob("*.dcm")} == want
    assert json.loads(out)[0]["NumberOfStudyRelatedInstances"] == str(len(want))

"""The retrieve-only Q/R models of `dicomkit serve` with pynetdicom as the SCU (and DCMTK
storescp as a C-MOVE destination, pynetdicom as the SCP of our client): Composite
Instance Root Retrieve (C-MOVE, C-GET) and Composite Instance Retrieve Without Bulk Data
(C-GET, PS3.4 C.6.3, C.6.4); and `dicomkit get/move --model` against the node."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "archive"))
from archive_helpers import CT, MR, SR, serving, synthetic, to_dataset
from peers import free_port, require_module

import dicomkit
from dicomkit.dictionary import uids

pytestmark = pytest.mark.interop
ROWS = synthetic(3, seed=11)
CI_MOVE = uids.CompositeInstanceRootRetrieveMove
CI_GET = uids.CompositeInstanceRootRetrieveGet
WBD_GET = uids.CompositeInstanceRetrieveWithoutBulkDataGet
DK = [sys.executable, "-m", "dicomkit"]


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int, Path]]:
    pynetdicom = require_module("pynetdicom")
    pydicom = require_module("pydicom")
    tmp = tmp_path_factory.mktemp("qrm")
    port, dest_port = free_port(), free_port()
    with serving(tmp / "arch", port, "--peer", f"PYDEST=127.0.0.1:{dest_port}"):
        ae = pynetdicom.AE(ae_title="PYSCU")
        for c in (CT, MR, SR):
            ae.add_requested_context(c)
        assoc = ae.associate("127.0.0.1", port, ae_title="DICOMKIT")
        assert assoc.is_established
        for row in ROWS:
            path = tmp / "x.dcm"
            dicomkit.write(to_dataset(row, pixels=True), path)
            assert assoc.send_c_store(pydicom.dcmread(path)).Status == 0
        assoc.release()
        yield port, dest_port, tmp


def _ident(level: str, **keys: Any) -> Any:
    from pydicom.dataset import Dataset

    ds = Dataset()
    ds.QueryRetrieveLevel = level
    for k, v in keys.items():
        setattr(ds, k, v)
    return ds


def _get(port: int, sop_class: str, ident: Any) -> tuple[list[int], list[Any]]:
    import pynetdicom
    from pynetdicom import build_role, evt

    received: list[Any] = []

    def on_store(event: Any) -> int:
        received.append(event.dataset)
        return 0

    ae = pynetdicom.AE(ae_title="PYSCU")
    ae.add_requested_context(sop_class)
    for c in (CT, MR, SR):
        ae.add_requested_context(c)
    roles = [build_role(c, scp_role=True) for c in (CT, MR, SR)]
    assoc = ae.associate(
        "127.0.0.1",
        port,
        ae_title="DICOMKIT",
        ext_neg=roles,
        evt_handlers=[(evt.EVT_C_STORE, on_store)],
    )
    assert assoc.is_established
    accepted = [c.abstract_syntax for c in assoc.accepted_contexts]
    assert sop_class in accepted
    statuses = [s.Status for s, _i in assoc.send_c_get(ident, sop_class)]
    assoc.release()
    return statuses, received


def _with_pixels() -> dict[str, Any]:
    return next(r for r in ROWS if r["SOPClassUID"] != SR)


def test_composite_instance_root_get_image_level(node: tuple[int, int, Path]) -> None:
    port, _d, _t = node
    row = _with_pixels()
    ident = _ident(
        "IMAGE",
        StudyInstanceUID=row["StudyInstanceUID"],
        SeriesInstanceUID=row["SeriesInstanceUID"],
        SOPInstanceUID=row["SOPInstanceUID"],
    )
    statuses, received = _get(port, CI_GET, ident)
    assert statuses[-1] == 0
    assert [d.SOPInstanceUID for d in received] == [row["SOPInstanceUID"]]
    assert "PixelData" in received[0]


def test_composite_instance_root_get_study_level(node: tuple[int, int, Path]) -> None:
    port, _d, _t = node
    study = ROWS[0]["StudyInstanceUID"]
    statuses, received = _get(port, CI_GET, _ident("STUDY", StudyInstanceUID=study))
    assert statuses[-1] == 0
    want = {r["SOPInstanceUID"] for r in ROWS if r["StudyInstanceUID"] == study}
    assert {d.SOPInstanceUID for d in received} == want


def test_without_bulk_data_get_leaves_out_pixel_data(node: tuple[int, int, Path]) -> None:
    port, _d, _t = node
    row = _with_pixels()
    ident = _ident(
        "IMAGE",
        StudyInstanceUID=row["StudyInstanceUID"],
        SeriesInstanceUID=row["SeriesInstanceUID"],
        SOPInstanceUID=row["SOPInstanceUID"],
    )
    statuses, received = _get(port, WBD_GET, ident)
    assert statuses[-1] == 0
    assert len(received) == 1
    got = received[0]
    assert got.SOPInstanceUID == row["SOPInstanceUID"]
    assert "PixelData" not in got
    assert int(got.Rows) > 0  # the pixel description stays


def test_composite_instance_root_move(node: tuple[int, int, Path]) -> None:
    import pynetdicom
    from pynetdicom import evt

    port, dest_port, _tmp = node
    received: list[str] = []

    def on_store(event: Any) -> int:
        received.append(event.dataset.SOPInstanceUID)
        return 0

    dest = pynetdicom.AE(ae_title="PYDEST")
    for c in (CT, MR, SR):
        dest.add_supported_context(c)
    server = dest.start_server(
        ("127.0.0.1", dest_port), block=False, evt_handlers=[(evt.EVT_C_STORE, on_store)]
    )
    try:
        ae = pynetdicom.AE(ae_title="PYSCU")
        ae.add_requested_context(CI_MOVE)
        assoc = ae.associate("127.0.0.1", port, ae_title="DICOMKIT")
        row = ROWS[-1]
        ident = _ident(
            "SERIES",
            StudyInstanceUID=row["StudyInstanceUID"],
            SeriesInstanceUID=row["SeriesInstanceUID"],
        )
        statuses = [s.Status for s, _i in assoc.send_c_move(ident, "PYDEST", CI_MOVE)]
        assoc.release()
    finally:
        server.shutdown()
    assert statuses[-1] == 0
    want = {r["SOPInstanceUID"] for r in ROWS if r["SeriesInstanceUID"] == row["SeriesInstanceUID"]}
    assert set(received) == want


def test_composite_instance_root_has_no_patient_level(node: tuple[int, int, Path]) -> None:
    port, _d, _t = node
    statuses, received = _get(port, CI_GET, _ident("PATIENT", PatientID=ROWS[0]["PatientID"]))
    assert received == []
    assert statuses[-1] not in (0, 0xFF00)


@pytest.mark.parametrize("model", ["composite-instance", "without-bulk-data"])
def test_cli_get_model(node: tuple[int, int, Path], tmp_path: Path, model: str) -> None:
    port, _d, _t = node
    row = _with_pixels()
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dicomkit",
            "get",
            "127.0.0.1",
            str(port),
            "--aec",
            "DICOMKIT",
            "--model",
            model,
            "-L",
            "IMAGE",
            "-k",
            f"StudyInstanceUID={row['StudyInstanceUID']}",
            "-k",
            f"SeriesInstanceUID={row['SeriesInstanceUID']}",
            "-k",
            f"SOPInstanceUID={row['SOPInstanceUID']}",
            "-o",
            str(out),
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) == 1
    ds = dicomkit.read(files[0])
    assert ds.SOPInstanceUID == row["SOPInstanceUID"]
    assert ("PixelData" in ds) == (model == "composite-instance")


def test_cli_find_refuses_retrieve_only_model(node: tuple[int, int, Path]) -> None:
    port, _d, _t = node
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dicomkit",
            "find",
            "127.0.0.1",
            str(port),
            "--aec",
            "DICOMKIT",
            "--model",
            "composite-instance",
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "C-FIND" in proc.stderr


def test_cli_move_composite_instance_to_dcmtk_storescp(tmp_path: Path) -> None:
    """`dicomkit move --model composite-instance` to the node, DCMTK storescp the destination."""
    import peers

    pynetdicom = require_module("pynetdicom")
    pydicom = require_module("pydicom")
    out = tmp_path / "dcmtk"
    out.mkdir()
    port, dest_port = free_port(), free_port()
    with (
        serving(tmp_path / "arch", port, "--peer", f"STORESCP=127.0.0.1:{dest_port}"),
        peers.dcmtk_server(
            "storescp", "-od", str(out), "-aet", "STORESCP", str(dest_port), port=dest_port
        ),
    ):
        ae = pynetdicom.AE(ae_title="PYSCU")
        for c in (CT, MR, SR):
            ae.add_requested_context(c)
        assoc = ae.associate("127.0.0.1", port, ae_title="DICOMKIT")
        for row in ROWS:
            dicomkit.write(to_dataset(row, pixels=True), tmp_path / "x.dcm")
            assert assoc.send_c_store(pydicom.dcmread(tmp_path / "x.dcm")).Status == 0
        assoc.release()
        study = ROWS[0]["StudyInstanceUID"]
        args = ["--model", "composite-instance", "-L", "STUDY", "-k", f"StudyInstanceUID={study}"]
        proc = subprocess.run(
            [*DK, "move", "127.0.0.1", str(port), "--aec", "DICOMKIT", "--dest", "STORESCP", *args],
            check=False,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert proc.returncode == 0, proc.stderr + proc.stdout
    got = {str(dicomkit.read(p).SOPInstanceUID) for p in out.iterdir()}
    assert got == {r["SOPInstanceUID"] for r in ROWS if r["StudyInstanceUID"] == study}


def test_cli_get_composite_instance_from_pynetdicom_scp(tmp_path: Path) -> None:
    """Our `dicomkit get --model composite-instance` against pynetdicom as the SCP."""
    pynetdicom = require_module("pynetdicom")
    from pynetdicom import evt

    row = _with_pixels()
    source = to_dataset(row, pixels=True)
    dicomkit.write(source, tmp_path / "src.dcm")
    pydicom = require_module("pydicom")
    stored = pydicom.dcmread(tmp_path / "src.dcm")
    seen: list[str] = []

    def on_get(event: Any) -> Any:
        ident = event.identifier
        seen.append(str(ident.QueryRetrieveLevel))
        yield 1
        yield 0xFF00, stored

    scp = pynetdicom.AE(ae_title="PYQR")
    scp.add_supported_context(CI_GET)
    for c in (CT, MR, SR):
        scp.add_supported_context(c, scp_role=True, scu_role=True)
    port = free_port()
    server = scp.start_server(
        ("127.0.0.1", port), block=False, evt_handlers=[(evt.EVT_C_GET, on_get)]
    )
    out = tmp_path / "out"
    args = ["--model", "composite-instance", "--no-find", "--sop-class", row["SOPClassUID"]]
    args += ["-L", "IMAGE", "-k", f"SOPInstanceUID={row['SOPInstanceUID']}", "-o", str(out)]
    try:
        proc = subprocess.run(
            [*DK, "get", "127.0.0.1", str(port), "--aec", "PYQR", *args],
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        server.shutdown()
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert seen == ["IMAGE"]
    [path] = [p for p in out.rglob("*") if p.is_file()]
    assert dicomkit.read(path).SOPInstanceUID == row["SOPInstanceUID"]

"""pynetdicom as the SCU of `dicomkit serve`: C-STORE, C-FIND, C-MOVE, C-GET."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "archive"))
from archive_helpers import CT, MR, SR, serving, synthetic, to_dataset
from peers import free_port, require_module

import dicomkit

pytestmark = pytest.mark.interop
ROWS = synthetic(4)
STUDY_FIND = "1.2.840.10008.5.1.4.1.2.2.1"
STUDY_MOVE = "1.2.840.10008.5.1.4.1.2.2.2"
STUDY_GET = "1.2.840.10008.5.1.4.1.2.2.3"


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int, Path]]:
    pynetdicom = require_module("pynetdicom")
    pydicom = require_module("pydicom")
    tmp = tmp_path_factory.mktemp("pnd")
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
            status = assoc.send_c_store(pydicom.dcmread(path))
            assert status.Status == 0
        assoc.release()
        yield port, dest_port, tmp


def _ident(level: str, **keys: Any) -> Any:
    from pydicom.dataset import Dataset

    ds = Dataset()
    ds.QueryRetrieveLevel = level
    for k, v in keys.items():
        setattr(ds, k, v)
    return ds


def test_pynetdicom_find(node: tuple[int, int, Path]) -> None:
    import pynetdicom

    port, _d, _t = node
    ae = pynetdicom.AE(ae_title="PYSCU")
    ae.add_requested_context(STUDY_FIND)
    assoc = ae.associate("127.0.0.1", port, ae_title="DICOMKIT")
    got = {}
    for status, ident in assoc.send_c_find(
        _ident("STUDY", StudyInstanceUID="", PatientName="*", ModalitiesInStudy=""), STUDY_FIND
    ):
        if status.Status in (0xFF00, 0xFF01):
            got[ident.StudyInstanceUID] = str(ident.PatientName)
    assoc.release()
    assert got == {r["StudyInstanceUID"]: r["PatientName"] for r in ROWS}


def test_pynetdicom_move(node: tuple[int, int, Path]) -> None:
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
        ae.add_requested_context(STUDY_MOVE)
        assoc = ae.associate("127.0.0.1", port, ae_title="DICOMKIT")
        study = ROWS[-1]["StudyInstanceUID"]
        statuses = [
            s.Status
            for s, _i in assoc.send_c_move(
                _ident("STUDY", StudyInstanceUID=study), "PYDEST", STUDY_MOVE
            )
        ]
        assoc.release()
    finally:
        server.shutdown()
    assert statuses[-1] == 0
    assert set(received) == {r["SOPInstanceUID"] for r in ROWS if r["StudyInstanceUID"] == study}


def test_pynetdicom_get(node: tuple[int, int, Path]) -> None:
    import pynetdicom
    from pynetdicom import build_role, evt

    port, _d, _t = node
    received: list[str] = []

    def on_store(event: Any) -> int:
        received.append(event.dataset.SOPInstanceUID)
        return 0

    ae = pynetdicom.AE(ae_title="PYSCU")
    ae.add_requested_context(STUDY_GET)
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
    study = ROWS[1]["StudyInstanceUID"]
    statuses = [
        s.Status for s, _i in assoc.send_c_get(_ident("STUDY", StudyInstanceUID=study), STUDY_GET)
    ]
    assoc.release()
    assert statuses[-1] == 0
    assert set(received) == {r["SOPInstanceUID"] for r in ROWS if r["StudyInstanceUID"] == study}


@pytest.mark.parametrize("relational", [True, False])
def test_pynetdicom_relational_query_needs_extended_negotiation(
    node: tuple[int, int, Path], relational: bool
) -> None:
    import pynetdicom
    from pynetdicom.pdu_primitives import SOPClassExtendedNegotiation

    port, _d, _t = node
    ae = pynetdicom.AE(ae_title="PYSCU")
    ae.add_requested_context(STUDY_FIND)
    ext = []
    if relational:
        item = SOPClassExtendedNegotiation()
        item.sop_class_uid = STUDY_FIND
        item.service_class_application_information = b"\x01\x01"
        ext.append(item)
    assoc = ae.associate("127.0.0.1", port, ae_title="DICOMKIT", ext_neg=ext)
    # an IMAGE-level query without the study and series UIDs: relational only
    results = list(
        assoc.send_c_find(_ident("IMAGE", SOPInstanceUID="", SOPClassUID=MR), STUDY_FIND)
    )
    assoc.release()
    if relational:
        got = {i.SOPInstanceUID for s, i in results if s.Status == 0xFF00}
        assert got == {r["SOPInstanceUID"] for r in ROWS if r["SOPClassUID"] == MR}
        assert results[-1][0].Status == 0
    else:
        assert [s.Status for s, _i in results] == [0xA900]

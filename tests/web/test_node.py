"""`dicomkit serve` with DICOMweb in the same process: C-STORE then QIDO-RS / WADO-RS,
STOW-RS then C-FIND, one store. Peers: pynetdicom (DIMSE) and dicomweb-client (DICOMweb)."""

from __future__ import annotations

import io
import socket
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "archive"))
sys.path.insert(0, str(Path(__file__).parent.parent))

from archive_helpers import ROOT, cli, cli_subprocess, serving, synthetic, to_dataset
from peers import free_port, require_module, stop, wait_for_port
from pnd_peer import find, store_rows

import dicomkit


def _client(port: int) -> Any:
    web = require_module("dicomweb_client")
    return web.DICOMwebClient(f"http://127.0.0.1:{port}/dicom-web")


def _rows(tag: str, n: int) -> list[dict[str, Any]]:
    rows = synthetic(n)
    for r in rows:
        for k in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
            r[k] = r[k].replace(ROOT, f"{ROOT}.8{tag}")
    return rows


@pytest.mark.slow  # `dicomkit serve` as a process, with a pynetdicom peer
def test_cstore_then_qido_wado_and_stow_then_cfind(tmp_path: Path) -> None:
    pydicom = require_module("pydicom")
    dimse, http = free_port(), free_port()
    dimse_rows, web_rows = _rows("1", 4), _rows("2", 3)
    for r in web_rows:  # patients of their own: the C-FIND below tells them apart
        r["PatientID"] = "WEB" + r["PatientID"]
    with serving(tmp_path / "archive", dimse, "--http-port", str(http)) as proc:
        wait_for_port(http, timeout=20)
        client = _client(http)
        # C-STORE (pynetdicom) ... then QIDO-RS finds them, as C-FIND does
        assert set(store_rows(dimse, dimse_rows, tmp_path)) == {0}
        qido = {
            s["0020000D"]["Value"][0]: s
            for s in client.search_for_studies(search_filters={"PatientName": "DOE*"})
        }
        cfind = {
            str(m.StudyInstanceUID): m
            for m in find(dimse, "STUDY", PatientName="DOE*", StudyInstanceUID="", PatientID="")
        }
        assert set(qido) == set(cfind)
        assert qido and set(qido) == {
            r["StudyInstanceUID"]
            for r in dimse_rows
            if r["PatientName"].upper().startswith("DOE")  # PN: case-insensitive
        }
        for uid, m in cfind.items():
            assert qido[uid]["00100020"]["Value"][0] == str(m.PatientID)
        # ... and WADO-RS returns them
        r0 = dimse_rows[0]
        got = client.retrieve_instance(
            r0["StudyInstanceUID"], r0["SeriesInstanceUID"], r0["SOPInstanceUID"]
        )
        assert str(got.PatientName) == r0["PatientName"]
        assert got.PixelData == b"\x01\x00\x02\x00\x03\x00\x04\x00"
        series = client.retrieve_series(r0["StudyInstanceUID"], r0["SeriesInstanceUID"])
        assert {str(d.SOPInstanceUID) for d in series} == {
            r["SOPInstanceUID"]
            for r in dimse_rows
            if r["SeriesInstanceUID"] == r0["SeriesInstanceUID"]
        }
        meta = client.retrieve_instance_metadata(
            r0["StudyInstanceUID"], r0["SeriesInstanceUID"], r0["SOPInstanceUID"]
        )
        # built from the Host header as sent (dicomweb-client 0.61 leaves the port out of it;
        # tests/web/test_wado.py checks that a port in Host is kept)
        assert meta["7FE00010"]["BulkDataURI"].endswith(
            f"/dicom-web/studies/{r0['StudyInstanceUID']}/series/{r0['SeriesInstanceUID']}"
            f"/instances/{r0['SOPInstanceUID']}/bulkdata/7FE00010"
        )
        frames = client.retrieve_instance_frames(
            r0["StudyInstanceUID"], r0["SeriesInstanceUID"], r0["SOPInstanceUID"], [1]
        )
        assert frames == [b"\x01\x00\x02\x00\x03\x00\x04\x00"]
        # STOW-RS (dicomweb-client) ... then C-FIND finds them
        datasets = []
        for r in web_rows:
            buf = io.BytesIO()
            dicomkit.write(to_dataset(r, pixels=True), buf)
            datasets.append(pydicom.dcmread(io.BytesIO(buf.getvalue())))
        answer = client.store_instances(datasets)
        assert len(answer.ReferencedSOPSequence) == len(web_rows)
        found = find(dimse, "STUDY", PatientID="WEB*", StudyInstanceUID="")
        assert {str(m.StudyInstanceUID) for m in found} == {r["StudyInstanceUID"] for r in web_rows}
        r1 = web_rows[-1]
        found = find(
            dimse,
            "IMAGE",
            StudyInstanceUID=r1["StudyInstanceUID"],
            SeriesInstanceUID=r1["SeriesInstanceUID"],
            SOPInstanceUID="",
        )
        assert {str(m.SOPInstanceUID) for m in found} == {
            r["SOPInstanceUID"]
            for r in web_rows
            if r["SeriesInstanceUID"] == r1["SeriesInstanceUID"]
        }
        # and QIDO-RS on all instances sees both kinds
        every = client.search_for_instances()
        assert {i["00080018"]["Value"][0] for i in every} == {
            r["SOPInstanceUID"] for r in dimse_rows + web_rows
        }
    _out, err = stop(proc)
    assert f"DICOMweb at http://127.0.0.1:{http}/dicom-web" in err


def test_busy_http_port_is_refused_with_reason(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, _out, err = cli_subprocess(
            "serve", str(tmp_path / "a"), "--port", str(free_port()), "--http-port", str(port)
        )
    assert code == 2
    assert "--http-port" in err and str(port) in err
    assert not (tmp_path / "a").exists()  # nothing was created


def test_http_port_zero_turns_dicomweb_off(tmp_path: Path) -> None:
    dimse = free_port()
    with serving(tmp_path / "a", dimse, "--http-port", "0") as proc:
        # answered only once the event loop runs, so after the start-up lines are printed
        # (a SIGINT between the bind and that print would end it before saying anything)
        code, _out, err = cli("echo", "127.0.0.1", str(dimse), "--aec", "DICOMKIT")
        assert code == 0, err
    _out, err = stop(proc)
    assert f"listening on 127.0.0.1:{dimse}" in err
    assert "DICOMweb" not in err

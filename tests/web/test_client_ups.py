"""WebClient's UPS-RS calls, STOW-RS with DICOM JSON, and `dicomkit web ups ...` /
`dicomkit web store --json` against our node; against Orthanc (no UPS-RS, and STOW-RS with
JSON refused with 415) the client says so in words."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from web_helpers import serve_archive

import dicomkit
from dicomkit.archive._node import Archive
from dicomkit.services import UPSSCP
from dicomkit.web import WebClient
from dicomkit.web._client import WebClientError

sys.path.insert(0, str(Path(__file__).parent.parent / "archive"))
from archive_helpers import ROOT, cli, synthetic, to_dataset

UID = "1.2.826.0.1.3680043.10.543.79.1"


@pytest.fixture
def node(tmp_path: Path) -> Iterator[tuple[str, UPSSCP, Archive]]:
    archive = Archive(tmp_path / "a")
    scp = UPSSCP()
    with serve_archive(archive, ups=scp) as port:
        yield f"http://127.0.0.1:{port}/dicom-web", scp, archive
    archive.close()


def test_cli_ups_life_cycle_and_watch(node: Any) -> None:
    url, scp, _archive = node
    code, out, err = cli(
        "web", "ups", "create", url, "--label", "CT head", "--uid", UID, "-k", "PatientID=P9"
    )
    assert code == 0, err
    assert out.strip() == UID and str(scp.store[UID].PatientID) == "P9"
    # a WebSocket subscriber that is not connected yet: its events wait for the channel
    code, out, err = cli("web", "ups", "subscribe", url, UID, "--receiver", "CLIWATCH")
    assert code == 0, err
    assert "CLIWATCH subscribed" in out
    code, out, err = cli("web", "ups", "find", url, "-k", "PatientID=P9")
    assert code == 0, err
    assert UID in out and "SCHEDULED" in out and "CT head" in out and "1 workitem(s)" in out
    code, out, err = cli("web", "ups", "get", url, UID)
    assert code == 0, err
    assert json.loads(out)["00741204"]["Value"] == ["CT head"]
    code, out, err = cli("web", "ups", "claim", url, UID)
    assert code == 0, err
    txn = out.strip()
    assert str(scp.store[UID].ProcedureStepState) == "IN PROGRESS"
    code, _out, err = cli("web", "ups", "claim", url, UID)
    assert code == 1 and "409" in err and "IN PROGRESS" in err
    code, out, err = cli("web", "ups", "complete", url, UID, "--txn", txn)
    assert code == 0, err
    assert str(scp.store[UID].ProcedureStepState) == "COMPLETED"
    code, out, err = cli(
        "web", "ups", "watch", url, UID, "--receiver", "CLIWATCH", "--no-subscribe", "--count", "3"
    )
    assert code == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    assert [e["00741000"]["Value"][0] for e in events] == ["SCHEDULED", "IN PROGRESS", "COMPLETED"]
    assert {e["00001000"]["Value"][0] for e in events} == {UID}
    assert "3 event(s)" in err and "state report (COMPLETED)" in err


def test_client_ups_calls_and_events(node: Any) -> None:
    url, scp, _archive = node
    client = WebClient(url)
    from dicomkit.services import scheduled

    made = client.create_workitem(scheduled(label="MR knee", patient_name="ROE^R"))
    assert made in scp.store
    client.subscribe("APIWATCH")  # global: every workitem
    client.request_cancel(made, "patient left")  # SCHEDULED: canceled at once
    assert str(client.get_workitem(made).ProcedureStepState) == "CANCELED"
    assert [str(d.SOPInstanceUID) for d in client.search_workitems({"PatientName": "ROE*"})] == [
        made
    ]
    events = client.events("APIWATCH", timeout=20)
    got = [next(events)]
    while str(got[-1].ProcedureStepState) != "CANCELED":
        got.append(next(events))
    events.close()
    # the initial report, then the SCP's way to CANCELED (through IN PROGRESS, CC.2.2.3)
    assert [(e.EventTypeID, str(e.ProcedureStepState)) for e in got] == [
        (1, "SCHEDULED"),
        (1, "IN PROGRESS"),
        (1, "CANCELED"),
    ]
    assert {str(e.AffectedSOPInstanceUID) for e in got} == {made}
    client.unsubscribe("APIWATCH")
    assert "APIWATCH" not in scp.subscriptions
    with pytest.raises(WebClientError, match="no such workitem") as info:
        client.get_workitem("1.2.3.4.5")
    assert info.value.status == 404


def test_cli_errors_say_what_to_do(node: Any, tmp_path: Path) -> None:
    url, _scp, archive = node
    code, _out, err = cli("web", "ups", "complete", url, UID)
    assert code == 2 and "--txn" in err  # argparse: the Transaction UID is required
    code, _out, err = cli("web", "ups", "watch", url, "--receiver", "W", "--count", "0")
    assert code == 2 and "--count" in err
    # a server without UPS-RS: its event channel is not there
    with serve_archive(archive) as port:
        plain = f"http://127.0.0.1:{port}/dicom-web"
        code, _out, err = cli("web", "ups", "find", plain)
        assert code == 1 and "offers no UPS-RS" in err
        with pytest.raises(WebClientError, match="no UPS-RS event channel"):
            next(WebClient(plain).events("W", timeout=5))


def _part10(tmp_path: Path) -> Path:
    row = synthetic(1)[0]
    for k in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
        row[k] = row[k].replace(ROOT, f"{ROOT}.79")
    ds = to_dataset(row, pixels=True)
    ds.Rows = ds.Columns = 64  # Pixel Data over 1 KiB: sent as a bulk data part
    ds.PixelData = bytes(range(256)) * 32
    buf = io.BytesIO()
    dicomkit.write(ds, buf)
    path = tmp_path / "one.dcm"
    path.write_bytes(buf.getvalue())
    return path


def test_cli_store_json_with_bulk_data(node: Any, tmp_path: Path) -> None:
    url, _scp, archive = node
    path = _part10(tmp_path)
    sent = dicomkit.read(path)
    code, _out, err = cli("web", "store", url, "--json", str(path))
    assert code == 0, err
    assert "1 stored" in err
    (inst,) = archive.retrieve(
        {
            "QueryRetrieveLevel": "IMAGE",
            "StudyInstanceUID": str(sent.StudyInstanceUID),
            "SeriesInstanceUID": str(sent.SeriesInstanceUID),
            "SOPInstanceUID": str(sent.SOPInstanceUID),
        }
    )
    got = dicomkit.read(archive.path_of(inst))
    assert bytes(got.PixelData) == bytes(sent.PixelData) and len(bytes(got.PixelData)) > 1024
    assert str(got.PatientName) == str(sent.PatientName)


@pytest.mark.interop
@pytest.mark.slow  # Orthanc as a process in its own network namespace
def test_orthanc_refuses_stow_json_and_has_no_ups_rs(tmp_path: Path) -> None:
    import orthanc_peer
    from peers import missing

    why = orthanc_peer.available()
    if why:
        missing(why)
    path = _part10(tmp_path)
    with orthanc_peer.orthanc(tmp_path / "orthanc") as peer:
        url = peer + "/dicom-web"
        code, _out, err = cli("web", "store", url, "--json", str(path))
        assert code == 1
        assert "415" in err and "does not accept STOW-RS with DICOM JSON" in err
        assert "without --json" in err
        code, _out, err = cli("web", "store", url, str(path))  # Part 10 is fine
        assert code == 0 and "1 stored" in err, err
        code, _out, err = cli("web", "ups", "find", url)
        assert code == 1 and "offers no UPS-RS" in err

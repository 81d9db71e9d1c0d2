"""UPS-RS (PS3.18 11) over the UPS SCP: create, search, retrieve, update, claim (state
change), complete, cancel request, subscribe -- with the SCP's state machine answering
409/404/400 in words; and on `dicomkit serve`, a workitem made over HTTP is found by a
DIMSE C-FIND (our SCU) on the same node."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

sys.path.insert(0, str(Path(__file__).parent.parent / "archive"))
sys.path.insert(0, str(Path(__file__).parent.parent))

from dicomkit.io import to_json
from dicomkit.services import scheduled

JSON = {"Content-Type": "application/dicom+json", "Accept": "application/dicom+json"}
UID = "1.2.826.0.1.3680043.10.543.77.1"
TXN = "1.2.826.0.1.3680043.10.543.77.999"


def _workitem(label: str, patient: str) -> str:
    return json.dumps([to_json(scheduled(label=label, patient_name=patient, patient_id="P1"))])


def test_workitem_life_cycle(ups_url: Any) -> None:
    url, scp = ups_url
    made = requests.post(
        f"{url}/workitems?workitem={UID}",
        data=_workitem("CT head", "DOE^J"),
        headers=JSON,
        timeout=30,
    )
    assert made.status_code == 201, made.text
    assert made.headers["location"] == f"{url}/workitems/{UID}"
    assert UID in scp.store
    again = requests.post(
        f"{url}/workitems?workitem={UID}", data=_workitem("x", "y"), headers=JSON, timeout=30
    )
    assert again.status_code == 409
    other = requests.post(
        f"{url}/workitems", data=_workitem("MR knee", "ROE^R"), headers=JSON, timeout=30
    )
    assert other.status_code == 201
    found = requests.get(f"{url}/workitems", params={"PatientName": "DOE*"}, timeout=30).json()
    assert [f["00080018"]["Value"][0] for f in found] == [UID]
    assert found[0]["00741000"]["Value"] == ["SCHEDULED"]
    assert (
        requests.get(f"{url}/workitems", params={"PatientName": "NOBODY"}, timeout=30).status_code
        == 204
    )
    one = requests.get(f"{url}/workitems/{UID}", timeout=30).json()[0]
    assert one["00741204"]["Value"] == ["CT head"]
    assert requests.get(f"{url}/workitems/1.2.3.4", timeout=30).status_code == 404
    # update while SCHEDULED, then claim with a transaction UID
    upd = requests.post(
        f"{url}/workitems/{UID}",
        data=json.dumps([{"00741204": {"vr": "LO", "Value": ["CT head (contrast)"]}}]),
        headers=JSON,
        timeout=30,
    )
    assert upd.status_code == 200, upd.text
    claim = {
        "00741000": {"vr": "CS", "Value": ["IN PROGRESS"]},
        "00081195": {"vr": "UI", "Value": [TXN]},
    }
    assert (
        requests.put(
            f"{url}/workitems/{UID}/state", data=json.dumps([claim]), headers=JSON, timeout=30
        ).status_code
        == 200
    )
    twice = requests.put(
        f"{url}/workitems/{UID}/state", data=json.dumps([claim]), headers=JSON, timeout=30
    )
    assert twice.status_code == 409 and "IN PROGRESS" in twice.text
    hidden = requests.get(f"{url}/workitems/{UID}", timeout=30).json()[0]
    assert "00081195" not in hidden and hidden["00741204"]["Value"] == ["CT head (contrast)"]
    # an update without the transaction UID is refused, with it accepted
    mods = json.dumps([{"00741202": {"vr": "LO", "Value": ["note"]}}])
    assert (
        requests.post(f"{url}/workitems/{UID}", data=mods, headers=JSON, timeout=30).status_code
        == 409
    )
    assert (
        requests.post(
            f"{url}/workitems/{UID}?transaction={TXN}", data=mods, headers=JSON, timeout=30
        ).status_code
        == 200
    )
    # cancel request of the other (SCHEDULED: canceled at once), then complete ours
    other_uid = other.headers["location"].rsplit("/", 1)[1]
    assert (
        requests.post(f"{url}/workitems/{other_uid}/cancelrequest", timeout=30).status_code == 200
    )
    assert str(scp.store[other_uid].ProcedureStepState) == "CANCELED"
    done = dict(claim, **{"00741000": {"vr": "CS", "Value": ["COMPLETED"]}})
    assert (
        requests.put(
            f"{url}/workitems/{UID}/state", data=json.dumps([done]), headers=JSON, timeout=30
        ).status_code
        == 200
    )
    assert str(scp.store[UID].ProcedureStepState) == "COMPLETED"
    late = requests.post(f"{url}/workitems/{UID}/cancelrequest", timeout=30)
    assert late.status_code == 409 and "COMPLETED" in late.text


def test_bad_requests_say_why(ups_url: Any) -> None:
    url, _scp = ups_url
    r = requests.post(f"{url}/workitems", data=b"not json", headers=JSON, timeout=30)
    assert r.status_code == 400 and "not DICOM JSON" in r.text
    r = requests.put(f"{url}/workitems/{UID}/state", data=b"[{}]", headers=JSON, timeout=30)
    assert r.status_code == 400 and "ProcedureStepState" in r.text
    r = requests.get(f"{url}/workitems", params={"NoSuchKeyword": "x"}, timeout=30)
    assert r.status_code == 400 and "unknown attribute" in r.text
    r = requests.post(f"{url}/workitems/{UID}/subscribers/NOBODY", timeout=30)
    assert r.status_code == 404


@pytest.mark.slow  # `dicomkit serve` as a process
def test_node_workitem_found_by_dimse(tmp_path: Path) -> None:
    from archive_helpers import serving
    from peers import free_port, wait_for_port

    from dicomkit.dictionary import uids
    from dicomkit.net import SyncAE
    from dicomkit.services import _ups as ups_scu

    dimse, http = free_port(), free_port()
    with serving(tmp_path / "archive", dimse, "--http-port", str(http)):
        wait_for_port(http, timeout=20)
        url = f"http://127.0.0.1:{http}/dicom-web"
        r = requests.post(
            f"{url}/workitems?workitem={UID}",
            data=_workitem("Web made", "WEB^ITEM"),
            headers=JSON,
            timeout=30,
        )
        assert r.status_code == 201, r.text
        query = scheduled(label="", patient_name="WEB*")
        del query.ProcedureStepState
        query.SOPInstanceUID = ""
        with (
            SyncAE("FINDER") as ae,
            ae.associate(
                "127.0.0.1",
                dimse,
                ae_title="DICOMKIT",
                contexts=[(uids.UnifiedProcedureStepPull, [uids.ExplicitVRLittleEndian])],
            ) as assoc,
        ):
            found = assoc.call(ups_scu.find, query)
    assert [str(d.SOPInstanceUID) for d in found] == [UID]
    assert str(found[0].ProcedureStepLabel) == "Web made"

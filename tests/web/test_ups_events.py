"""UPS-RS event channel (PS3.18 8.10.4 / 8.10.5): a WebSocket client (the `websockets`
library) opens ``/dicom-web/subscribers/{aet}``, subscribes over UPS-RS, and receives the
event reports of PS3.4 CC.2.4 as DICOM JSON when the workitem changes -- whether the change
came over UPS-RS or from a DIMSE performer (pynetdicom) on the same node; and a DIMSE
subscriber is told of changes made over UPS-RS."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import requests
from web_helpers import serve_archive

sys.path.insert(0, str(Path(__file__).parent.parent / "archive"))
sys.path.insert(0, str(Path(__file__).parent.parent))

from dicomkit.archive._node import Archive
from dicomkit.io import to_json
from dicomkit.services import UPSSCP, scheduled

JSON = {"Content-Type": "application/dicom+json", "Accept": "application/dicom+json"}
UID = "1.2.826.0.1.3680043.10.543.78.1"
TXN = "1.2.826.0.1.3680043.10.543.78.999"
UPS_PUSH = "1.2.840.10008.5.1.4.34.6.1"
UPS_GLOBAL = "1.2.840.10008.5.1.4.34.5"
STATE_REPORT, CANCEL_REQUESTED = 1, 2


def _ws() -> Any:
    return pytest.importorskip("websockets.sync.client")


def _value(event: dict[str, Any], tag: str) -> Any:
    return event[tag]["Value"][0]


def _summary(event: dict[str, Any]) -> tuple[str, int, str]:
    """(workitem, Event Type ID, Procedure Step State or '')."""
    state = event.get("00741000", {}).get("Value", [""])[0]
    return _value(event, "00001000"), _value(event, "00001002"), state


def _create(url: str, uid: str, label: str = "CT head") -> None:
    body = json.dumps([to_json(scheduled(label=label, patient_name="DOE^J", patient_id="P1"))])
    r = requests.post(f"{url}/workitems?workitem={uid}", data=body, headers=JSON, timeout=30)
    assert r.status_code == 201, r.text


def _state(url: str, uid: str, state: str) -> None:
    body = json.dumps(
        [
            {
                "00741000": {"vr": "CS", "Value": [state]},
                "00081195": {"vr": "UI", "Value": [TXN]},
            }
        ]
    )
    r = requests.put(f"{url}/workitems/{uid}/state", data=body, headers=JSON, timeout=30)
    assert r.status_code == 200, r.text


def test_event_channel_delivers_state_and_cancel_reports(ups_url: Any) -> None:
    url, scp = ups_url
    client = _ws()
    ws_url = url.replace("http://", "ws://") + "/subscribers/WEBWATCH"
    _create(url, UID)
    # subscribed before the channel is open: the initial report waits for it
    r = requests.post(f"{url}/workitems/{UID}/subscribers/WEBWATCH", timeout=30)
    assert r.status_code == 200, r.text
    assert "WEBWATCH" in scp.subscriptions and UID in scp.subscriptions["WEBWATCH"]
    with client.connect(ws_url, open_timeout=20) as ws:
        first = json.loads(ws.recv(timeout=20))
        assert _summary(first) == (UID, STATE_REPORT, "SCHEDULED")
        assert _value(first, "00000002") == UPS_PUSH  # Affected SOP Class UID
        assert _value(first, "00000100") == 0x0100  # N-EVENT-REPORT-RQ
        assert first["00404041"]["Value"] == ["READY"]  # Input Readiness State
        _state(url, UID, "IN PROGRESS")
        assert _summary(json.loads(ws.recv(timeout=20))) == (UID, STATE_REPORT, "IN PROGRESS")
        r = requests.post(
            f"{url}/workitems/{UID}/cancelrequest",
            data=json.dumps([{"00741238": {"vr": "LT", "Value": ["patient left"]}}]),
            headers=JSON,
            timeout=30,
        )
        assert r.status_code == 200, r.text
        cancel = json.loads(ws.recv(timeout=20))
        assert _summary(cancel)[:2] == (UID, CANCEL_REQUESTED)
        # unsubscribed: the next change is not reported, the global subscription's is
        r = requests.delete(f"{url}/workitems/{UID}/subscribers/WEBWATCH", timeout=30)
        assert r.status_code == 200, r.text
        r = requests.post(f"{url}/workitems/{UPS_GLOBAL}/subscribers/WEBWATCH", timeout=30)
        assert r.status_code == 200, r.text
        again = json.loads(ws.recv(timeout=20))  # the initial report of the global one
        assert _summary(again) == (UID, STATE_REPORT, "IN PROGRESS")
        other = UID + ".2"
        _create(url, other, "MR knee")  # global subscribers follow new workitems
        assert _summary(json.loads(ws.recv(timeout=20))) == (other, STATE_REPORT, "SCHEDULED")


def test_events_from_another_thread_reach_the_channel(ups_url: Any) -> None:
    """An SCP whose events are raised outside the channels' loop (here: this thread) hands
    them over thread-safely."""
    url, scp = ups_url
    client = _ws()
    _create(url, UID)
    with client.connect(url.replace("http://", "ws://") + "/subscribers/XTHREAD") as ws:
        r = requests.post(f"{url}/workitems/{UID}/subscribers/XTHREAD", timeout=30)
        assert r.status_code == 200, r.text
        assert _summary(json.loads(ws.recv(timeout=20))) == (UID, STATE_REPORT, "SCHEDULED")
        scp.store[UID].ProcedureStepState = "IN PROGRESS"
        scp._state_report(UID)  # no event loop runs in this thread
        assert _summary(json.loads(ws.recv(timeout=20))) == (UID, STATE_REPORT, "IN PROGRESS")


def test_event_channel_refuses_bad_ae_titles(ups_url: Any) -> None:
    url, _scp = ups_url
    client = _ws()
    r = requests.post(f"{url}/workitems/{UID}/subscribers/{'X' * 17}", timeout=30)
    assert r.status_code == 400 and "16 characters" in r.text
    ws_url = url.replace("http://", "ws://") + "/subscribers/" + "X" * 17
    from websockets.exceptions import InvalidStatus

    with pytest.raises(InvalidStatus) as info, client.connect(ws_url, open_timeout=20) as ws:
        ws.recv(timeout=20)
    assert info.value.response.status_code == 403  # closed before the handshake


@pytest.mark.interop
@pytest.mark.slow  # `dicomkit serve` as a process, pynetdicom both roles
def test_dimse_and_web_subscribers_share_the_subscriptions(tmp_path: Path) -> None:
    """pynetdicom claims a workitem by N-ACTION: the WebSocket subscriber is told; a state
    change over UPS-RS reaches pynetdicom's N-EVENT-REPORT listener (subscribed by
    N-ACTION) and the WebSocket alike."""
    from archive_helpers import serving
    from peers import free_port, require_module, wait_for_port

    pynetdicom = require_module("pynetdicom")
    from pydicom.dataset import Dataset as PyDataset

    client = _ws()
    dimse, http, watch_port = free_port(), free_port(), free_port()
    cfg = tmp_path / "node.toml"
    cfg.write_text(f'[peers.PYWATCH]\nhost = "127.0.0.1"\nport = {watch_port}\n', encoding="utf-8")
    dimse_reports: list[tuple[str, int, str]] = []
    lock = threading.Condition()

    def on_report(event: Any) -> Any:
        with lock:
            dimse_reports.append(
                (
                    str(event.request.AffectedSOPInstanceUID),
                    int(event.event_type),
                    str(event.event_information.get("ProcedureStepState", "")),
                )
            )
            lock.notify_all()
        return 0x0000, None

    watcher = pynetdicom.AE(ae_title="PYWATCH")
    watcher.add_supported_context("1.2.840.10008.5.1.4.34.6.4")
    listener = watcher.start_server(
        ("127.0.0.1", watch_port),
        block=False,
        evt_handlers=[(pynetdicom.evt.EVT_N_EVENT_REPORT, on_report)],
    )

    def ds(**kw: str) -> Any:
        out = PyDataset()
        for k, v in kw.items():
            setattr(out, k, v)
        return out

    def dimse_session(body: Any) -> Any:
        ae = pynetdicom.AE(ae_title="PYSCU")
        for uid in (UPS_PUSH, "1.2.840.10008.5.1.4.34.6.3", "1.2.840.10008.5.1.4.34.6.2"):
            ae.add_requested_context(uid)
        assoc = ae.associate("127.0.0.1", dimse, ae_title="DICOMKIT")
        assert assoc.is_established
        try:
            return body(assoc)
        finally:
            assoc.release()

    try:
        with serving(tmp_path / "archive", dimse, "--http-port", str(http), "--config", str(cfg)):
            wait_for_port(http, timeout=20)
            url = f"http://127.0.0.1:{http}/dicom-web"
            _create(url, UID)
            with client.connect(
                url.replace("http://", "ws://") + "/subscribers/WEBWATCH", open_timeout=20
            ) as ws:
                r = requests.post(f"{url}/workitems/{UID}/subscribers/WEBWATCH", timeout=30)
                assert r.status_code == 200, r.text
                assert _summary(json.loads(ws.recv(timeout=20))) == (
                    UID,
                    STATE_REPORT,
                    "SCHEDULED",
                )

                def subscribe_and_claim(assoc: Any) -> list[int]:
                    sub, _ = assoc.send_n_action(
                        ds(ReceivingAE="PYWATCH", DeletionLock="FALSE"),
                        3,
                        "1.2.840.10008.5.1.4.34.6.2",
                        UID,
                    )
                    claim, _ = assoc.send_n_action(
                        ds(ProcedureStepState="IN PROGRESS", TransactionUID=TXN),
                        1,
                        "1.2.840.10008.5.1.4.34.6.3",
                        UID,
                    )
                    return [int(sub.Status), int(claim.Status)]

                assert dimse_session(subscribe_and_claim) == [0, 0]
                assert _summary(json.loads(ws.recv(timeout=20))) == (
                    UID,
                    STATE_REPORT,
                    "IN PROGRESS",
                )
                _state(url, UID, "COMPLETED")  # over UPS-RS
                assert _summary(json.loads(ws.recv(timeout=20))) == (
                    UID,
                    STATE_REPORT,
                    "COMPLETED",
                )
                with lock:
                    assert lock.wait_for(
                        lambda: (UID, STATE_REPORT, "COMPLETED") in dimse_reports, 20
                    ), dimse_reports
    finally:
        listener.shutdown()
    # the DIMSE subscriber saw its initial report, the claim and the completion, in order
    assert [r[2] for r in dimse_reports] == ["SCHEDULED", "IN PROGRESS", "COMPLETED"]


def test_event_channel_needs_read_permission(tmp_path: Path) -> None:
    """With users configured, the channel (like a search) needs `read`: no credentials is
    401 with the reason in words, a wrong token 401, a known token opens it."""
    import hashlib

    from websockets.exceptions import InvalidStatus

    from dicomkit.archive._web_settings import check_web
    from dicomkit.web import WebClient
    from dicomkit.web._client import WebClientError

    client = _ws()
    token = "a-token-for-the-event-channel-0123"
    web = {
        "users": {
            "alice": {
                "password_sha256": hashlib.sha256(b"wonderland").hexdigest(),
                "permissions": ["read"],
            },
            "robot": {"token": token, "permissions": ["read", "store"]},
        }
    }
    archive = Archive(tmp_path / "a")
    with serve_archive(archive, ups=UPSSCP(), settings=check_web(web)) as port:
        url = f"http://127.0.0.1:{port}/dicom-web"
        ws_url = f"ws://127.0.0.1:{port}/dicom-web/subscribers/GUARDED"
        with pytest.raises(InvalidStatus) as info, client.connect(ws_url, open_timeout=20):
            pass
        assert info.value.response.status_code == 401
        assert b"'read' permission" in (info.value.response.body or b"")
        with pytest.raises(WebClientError, match="HTTP 401"):
            next(WebClient(url, token="not-the-token").events("GUARDED", timeout=5))
        robot = WebClient(url, token=token)
        robot.create_workitem(scheduled(label="guarded"), uid=UID)
        robot.subscribe("GUARDED", UID)
        (event,) = [e for _, e in zip(range(1), robot.events("GUARDED", timeout=20), strict=False)]
        assert (event.EventTypeID, str(event.ProcedureStepState)) == (1, "SCHEDULED")
        alice = WebClient(url, user="alice", password="wonderland")
        with pytest.raises(WebClientError, match="HTTP 403"):
            alice.create_workitem(scheduled(label="not hers"))
    archive.close()


def test_kept_web_subscriptions_wait_for_their_channel(tmp_path: Path) -> None:
    """After a restart, a kept subscription whose AE title has no DIMSE address is a
    WebSocket subscriber's: its events wait for the channel instead of being dropped."""
    client = _ws()
    scp = UPSSCP()
    scp.store[UID] = scheduled(label="kept", patient_name="DOE^J", patient_id="P1")
    scp.store[UID].SOPInstanceUID = UID
    scp.subscriptions["KEPTWEB"] = {UID}  # as the node reloads them from its index
    archive = Archive(tmp_path / "a")
    with serve_archive(archive, ups=scp) as port:
        url = f"http://127.0.0.1:{port}/dicom-web"
        _state(url, UID, "IN PROGRESS")  # the channel is not open yet
        with client.connect(url.replace("http://", "ws://") + "/subscribers/KEPTWEB") as ws:
            assert _summary(json.loads(ws.recv(timeout=20))) == (UID, STATE_REPORT, "IN PROGRESS")
    archive.close()


def test_capabilities_list_the_event_channel(ups_url: Any) -> None:
    url, _scp = ups_url
    r = requests.options(f"{url}/subscribers/SUBSCRIBER", timeout=30)
    assert r.status_code == 200, r.text
    assert "GET" in r.headers["allow"].split(", ")
    caps = requests.options(url + "/", headers={"Accept": "application/json"}, timeout=30).json()
    by_path = {res["path"]: res for res in caps["resources"]}
    assert by_path["/subscribers/{aet}"].get("websocket") is True
    assert "/workitems" in by_path and not by_path["/workitems"].get("websocket")
    wadl = requests.options(url + "/", timeout=30).text
    assert 'path="subscribers/{aet}"' in wadl and 'fixed="websocket"' in wadl

"""Per-AE permissions (``[access]``) on `dicomkit serve`, from outside: pynetdicom as the
SCU under several AE titles, DCMTK's echoscu and storescp. Refused operations get 0124
"Refused: Not authorized" (a C-MOVE to a destination the caller may not use too), a calling
AE title with no permission gets A-ASSOCIATE-RJ, and each refusal is a Security Alert in the
audit trail."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from archive_helpers import CT, serving, synthetic, to_dataset
from peers import dcmtk_server, free_port, require_module, run_dcmtk

import dicomkit
from dicomkit.archive._access import AccessConfigError, parse_policy

pytestmark = [pytest.mark.interop, pytest.mark.slow]

STUDY_FIND = "1.2.840.10008.5.1.4.1.2.2.1"
STUDY_MOVE = "1.2.840.10008.5.1.4.1.2.2.2"
STUDY_GET = "1.2.840.10008.5.1.4.1.2.2.3"
WORKLIST = "1.2.840.10008.5.1.4.31"


def _config(tmp: Path, viewer_port: int) -> Path:
    path = tmp / "node.toml"
    path.write_text(
        f"""
[server]
http_port = 0
[peers.VIEWER]
host = "127.0.0.1"
port = {viewer_port}
[peers.MODALITY]
host = "127.0.0.1"
port = {viewer_port}
[audit]
file = "audit.log"
[access]
default = []
[access.MODALITY]
allow = ["store"]
hosts = ["127.0.0.0/8"]
[access.VIEWER]
allow = ["query", "retrieve"]
move_destinations = ["VIEWER"]
[access.FARAWAY]
allow = ["store", "query"]
hosts = ["10.9.9.0/24"]
""",
        encoding="utf-8",
    )
    return path


def _session(port: int, calling: str, tmp: Path) -> dict[str, Any]:
    """As ``calling``: store one instance, C-FIND, C-MOVE to MODALITY and to VIEWER, C-GET;
    the final statuses (or None when that operation could not be tried)."""
    pynetdicom = require_module("pynetdicom")
    pydicom = require_module("pydicom")
    row = synthetic(1)[0]
    path = tmp / f"{calling}.dcm"
    dicomkit.write(to_dataset(row, pixels=True), path)
    ae = pynetdicom.AE(ae_title=calling)
    for ctx in (CT, STUDY_FIND, STUDY_MOVE, STUDY_GET, WORKLIST):
        ae.add_requested_context(ctx)
    role = pynetdicom.build_role(CT, scu_role=True, scp_role=True)
    handlers = [(pynetdicom.evt.EVT_C_STORE, lambda event: 0x0000)]  # C-GET sub-operations
    assoc = ae.associate(
        "127.0.0.1", port, ae_title="DICOMKIT", ext_neg=[role], evt_handlers=handlers
    )
    if not assoc.is_established:
        return {"associated": False}
    out: dict[str, Any] = {"associated": True}
    try:
        out["store"] = int(assoc.send_c_store(pydicom.dcmread(path)).Status)
        query = pydicom.Dataset()
        query.QueryRetrieveLevel = "STUDY"
        query.StudyInstanceUID = row["StudyInstanceUID"]
        out["find"] = [int(s.Status) for s, _ in assoc.send_c_find(query, STUDY_FIND) if s][-1]
        for dest in ("MODALITY", "VIEWER"):
            out[f"move {dest}"] = [
                int(s.Status) for s, _ in assoc.send_c_move(query, dest, STUDY_MOVE) if s
            ][-1]
        out["get"] = [int(s.Status) for s, _ in assoc.send_c_get(query, STUDY_GET) if s][-1]
        mwl = pydicom.Dataset()
        mwl.PatientID = ""
        out["worklist"] = [int(s.Status) for s, _ in assoc.send_c_find(mwl, WORKLIST) if s][-1]
    finally:
        assoc.release()
    return out


def _alerts(audit: Path) -> list[tuple[str, str]]:
    """(EventTypeCode, performing UserID) of each Security Alert in the trail."""
    out = []
    for line in audit.read_text("utf-8").splitlines():
        root = ET.fromstring(line)
        if root.find("EventIdentification/EventID").get("csd-code") != "110113":  # type: ignore[union-attr]
            continue
        kind = root.find("EventIdentification/EventTypeCode").get("csd-code")  # type: ignore[union-attr]
        performer = [
            p for p in root.iter("ActiveParticipant") if p.get("UserIsRequestor") == "true"
        ]
        out.append((str(kind), str(performer[0].get("UserID"))))
    return out


def test_permissions_per_calling_ae_title(tmp_path: Path) -> None:
    port, viewer = free_port(), free_port()
    config = _config(tmp_path, viewer)
    with (
        dcmtk_server("storescp", "--output-directory", str(tmp_path), str(viewer), port=viewer),
        serving(tmp_path / "arch", port, "--config", str(config)),
    ):
        modality = _session(port, "MODALITY", tmp_path)
        viewer_s = _session(port, "VIEWER", tmp_path)
        faraway = _session(port, "FARAWAY", tmp_path)
        stranger = _session(port, "STRANGER", tmp_path)
        echo = run_dcmtk(
            "echoscu", "-aet", "STRANGER", "-aec", "DICOMKIT", "127.0.0.1", str(port), check=False
        )
    denied = 0x0124
    assert modality == {
        "associated": True,
        "store": 0,
        "find": denied,
        "move MODALITY": denied,
        "move VIEWER": denied,
        "get": denied,
        "worklist": denied,  # a hosted service's C-FIND is a query too
    }
    assert viewer_s["store"] == denied and viewer_s["find"] == 0
    assert viewer_s["move MODALITY"] == denied  # not one of its move_destinations
    assert viewer_s["move VIEWER"] == 0 and viewer_s["get"] == 0  # MODALITY stored one
    assert viewer_s["worklist"] == 0
    assert faraway["store"] == denied and faraway["find"] == denied  # wrong host
    assert stranger == {"associated": False}  # default = []: A-ASSOCIATE-RJ
    assert echo.returncode != 0 and "Rejected" in echo.stdout + echo.stderr
    alerts = _alerts(tmp_path / "audit.log")
    restricted = [who for kind, who in alerts if kind == "110132"]
    assert restricted.count("MODALITY") == 5 and restricted.count("VIEWER") == 2
    assert restricted.count("FARAWAY") >= 2
    assert ("110126", "STRANGER") in alerts  # the rejected association
    queried = [
        root.find("ParticipantObjectIdentification").get("ParticipantObjectID")  # type: ignore[union-attr]
        for root in map(ET.fromstring, (tmp_path / "audit.log").read_text("utf-8").splitlines())
        if root.find("EventIdentification/EventID").get("csd-code") == "110112"  # type: ignore[union-attr]
    ]
    assert sorted(queried) == sorted([STUDY_FIND, WORKLIST])  # the viewer's two C-FINDs


def test_policy_errors_say_what_to_fix() -> None:
    with pytest.raises(AccessConfigError, match="unknown permission"):
        parse_policy({"X": {"allow": ["write"]}})
    with pytest.raises(AccessConfigError, match="not an IP address"):
        parse_policy({"X": {"allow": ["store"], "hosts": ["somewhere"]}})
    with pytest.raises(AccessConfigError, match="unknown key"):
        parse_policy({"X": {"allow": [], "permit": 1}})
    policy = parse_policy({"default": ["query"], "A": {"allow": ["store"], "hosts": ["::1"]}})
    assert policy.refusal("B", "10.0.0.1", "query") is None
    assert policy.refusal("B", "10.0.0.1", "store") is not None
    assert policy.refusal("A", "::1", "store") is None
    assert "not allowed from" in (policy.refusal("A", "127.0.0.1", "store") or "")
    assert policy.known_titles() is None  # default allows something: no AE title filter

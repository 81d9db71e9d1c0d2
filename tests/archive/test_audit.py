"""Audit messages (PS3.15 A.5): every builder's XML is valid against the standard's schema
(A.5.1.1, Relax NG Compact, read with rnc2rng and checked with lxml), carries the event codes
of A.5.3, and is written one message per line; syslog frames follow RFC 5424 / 6587."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from dicomkit.archive import _audit as au
from dicomkit.archive._audit_trail import (
    AuditConfigError,
    AuditSettings,
    AuditTrail,
    SyslogTarget,
    parse_settings,
    syslog_frame,
)

SCHEMA = Path(__file__).parent / "data" / "audit-message.rnc"
CT = "1.2.840.10008.5.1.4.1.1.2"
FIND = "1.2.840.10008.5.1.4.1.2.2.1"
SOURCE = au.AuditSource("DICOMKIT", site_id="RADIOLOGY")


@pytest.fixture(scope="module")
def schema():  # type: ignore[no-untyped-def]
    import rnc2rng  # the test extra: a missing one fails (never skips)
    from lxml import etree

    rng = rnc2rng.dumps(rnc2rng.load(str(SCHEMA)))
    return etree.RelaxNG(etree.fromstring(rng.encode()))


def _valid(schema, xml: str) -> bool:  # type: ignore[no-untyped-def]
    from lxml import etree

    return bool(schema.validate(etree.fromstring(xml.encode("utf-8"))))


def _studies() -> list[au.StudyRef]:
    s = au.Studies()
    s.add("1.2.3.1", CT, patient_id="PID1", patient_name="DOE^JANE")
    s.add("1.2.3.1", CT, patient_id="PID1", patient_name="DOE^JANE")
    s.add("1.2.3.2", "1.2.840.10008.5.1.4.1.1.4", patient_id="PID1")
    return s.values()


SCU = au.Actor("STORESCU", "127.0.0.1")
NODE = au.Actor("DICOMKIT")
BUILT = {
    "110100": au.application_activity(NODE, started=True, launcher=au.Actor("root")),
    "110102": au.begin_transferring(NODE, au.Actor("VIEWER", "pacs.example"), _studies()),
    "110103": au.instances_accessed(au.Actor("admin"), _studies(), action="U"),
    "110104": au.instances_transferred(SCU, NODE, _studies(), action="C"),
    "110105": au.study_deleted(au.Actor("retention"), _studies(), description="older than 30 d"),
    "110112": au.query(SCU, NODE, FIND, b"\x08\x00\x52\x00\x06\x00STUDY ", "1.2.840.10008.1.2"),
    "110113": au.security_alert(
        NODE, SCU, au.NODE_AUTHENTICATION, subject="127.0.0.1", description="rejected <&>"
    ),
    "110114": au.user_authentication(au.Actor("SCU", "10.0.0.9", user_name="ann"), NODE),
}


@pytest.mark.parametrize("event_id", sorted(BUILT))
def test_each_message_is_valid_against_the_standards_schema(schema, event_id: str) -> None:  # type: ignore[no-untyped-def]
    msg = BUILT[event_id]
    xml = msg.to_xml(SOURCE)
    assert "\n" not in xml  # one line each in the file
    assert _valid(schema, xml), schema.error_log
    root = ET.fromstring(xml)
    assert root.find("EventIdentification/EventID").get("csd-code") == event_id  # type: ignore[union-attr]
    assert root.find("AuditSourceIdentification").get("AuditSourceID") == "DICOMKIT"  # type: ignore[union-attr]
    stamp = root.find("EventIdentification").get("EventDateTime")  # type: ignore[union-attr]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", stamp or "")


def test_the_schema_check_can_fail(schema) -> None:  # type: ignore[no-untyped-def]
    xml = BUILT["110104"].to_xml(SOURCE)
    assert not _valid(schema, xml.replace(' UserIsRequestor="true"', "", 1))
    assert not _valid(schema, xml.replace('EventOutcomeIndicator="0"', 'EventOutcomeIndicator="3"'))
    assert not _valid(schema, xml.replace("AuditSourceIdentification", "AuditSource"))


def test_instances_transferred_counts_instances_per_study_and_names_the_patient() -> None:
    root = ET.fromstring(BUILT["110104"].to_xml(SOURCE))
    assert root.find("EventIdentification").get("EventActionCode") == "C"  # type: ignore[union-attr]
    studies = {
        o.get("ParticipantObjectID"): o
        for o in root.iter("ParticipantObjectIdentification")
        if o.find("ParticipantObjectIDTypeCode").get("csd-code") == "110180"  # type: ignore[union-attr]
    }
    assert set(studies) == {"1.2.3.1", "1.2.3.2"}
    sop = studies["1.2.3.1"].find("ParticipantObjectDescription/SOPClass")
    assert sop is not None and sop.get("UID") == CT and sop.get("NumberOfInstances") == "2"
    patients = [
        o
        for o in root.iter("ParticipantObjectIdentification")
        if o.get("ParticipantObjectTypeCodeRole") == "1"
    ]
    assert [p.get("ParticipantObjectID") for p in patients] == ["PID1"]
    assert patients[0].findtext("ParticipantObjectName") == "DOE^JANE"
    roles = {
        p.get("UserID"): p.find("RoleIDCode").get("csd-code")  # type: ignore[union-attr]
        for p in root.iter("ActiveParticipant")
    }
    assert roles == {"STORESCU": "110153", "DICOMKIT": "110152"}  # source, destination


def test_query_keeps_the_identifier_base64() -> None:
    import base64

    root = ET.fromstring(BUILT["110112"].to_xml(SOURCE))
    obj = root.find("ParticipantObjectIdentification")
    assert obj is not None and obj.get("ParticipantObjectID") == FIND
    assert base64.b64decode(obj.findtext("ParticipantObjectQuery") or "").endswith(b"STUDY ")
    detail = obj.find("ParticipantObjectDetail")
    assert detail is not None and detail.get("type") == "TransferSyntax"
    assert base64.b64decode(detail.get("value") or "") == b"1.2.840.10008.1.2"


def test_syslog_frame_is_rfc5424_with_the_dicom_msgid() -> None:
    frame = syslog_frame("<AuditMessage/>", severity=5, app_name="dicomkit", hostname="node 1")
    head, _, msg = frame.partition(b" - ")
    pri_version, stamp, host, app, procid, msgid = head.decode().split(" ")
    assert (pri_version, host, app, msgid) == ("<85>1", "node1", "dicomkit", "DICOM+RFC3881")
    assert procid.isdigit() and stamp.endswith("Z")
    assert msg == b"\xef\xbb\xbf<AuditMessage/>"  # BOM, then the UTF-8 XML
    assert syslog_frame("<x/>", severity=4).startswith(b"<84>1 ")


def test_trail_writes_one_parsable_message_per_line(tmp_path: Path) -> None:
    trail = AuditTrail(AuditSettings(file=tmp_path / "audit" / "audit.log"), SOURCE)
    for msg in BUILT.values():
        trail.emit(msg)
    trail.close()
    lines = (tmp_path / "audit" / "audit.log").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(BUILT) and trail.written == len(BUILT) and trail.dropped == 0
    ids = [ET.fromstring(x).find("EventIdentification/EventID").get("csd-code") for x in lines]  # type: ignore[union-attr]
    assert ids == list(BUILT)


def test_unreachable_collector_drops_and_counts_never_raises(tmp_path: Path) -> None:
    from peers import free_port

    target = SyslogTarget("tcp", "127.0.0.1", free_port())  # nobody listens
    trail = AuditTrail(AuditSettings(file=tmp_path / "a.log", syslog=target), SOURCE)
    trail.emit(BUILT["110100"])
    trail.close()
    assert trail.dropped == 1  # not sent ...
    assert len((tmp_path / "a.log").read_text().splitlines()) == 1  # ... but in the file


def test_settings_errors_say_what_to_fix(tmp_path: Path) -> None:
    with pytest.raises(AuditConfigError, match="udp://HOST:PORT"):
        parse_settings({"syslog": "syslog.example:514"}, tmp_path)
    with pytest.raises(AuditConfigError, match="unknown key"):
        parse_settings({"files": "x"}, tmp_path)
    s = parse_settings({"file": "a.log", "syslog": "tls://collector:6514"}, tmp_path)
    assert s.file == tmp_path / "a.log" and s.syslog == SyslogTarget("tls", "collector", 6514)
    assert SyslogTarget.parse("udp://h").port == 514


def _failed_stores(tmp_path: Path, **cfg_kw: Any) -> tuple[list[int], list[str], dict[str, Any]]:
    """Store one instance twice through a node with an audit file: the statuses (or the
    DimseError's), the audit lines, the instance's study UID."""
    import asyncio

    from archive_helpers import synthetic, to_dataset

    from dicomkit.archive._app import ArchiveNode
    from dicomkit.archive._config import NodeConfig
    from dicomkit.errors import DimseError
    from dicomkit.net import AE
    from dicomkit.services._storage import store

    row = synthetic(1)[0]
    ds = to_dataset(row, pixels=True)
    audit = tmp_path / "audit.log"
    cfg = NodeConfig(
        archive=tmp_path / "a",
        host="127.0.0.1",
        port=0,
        audit=AuditSettings(file=audit),
        **cfg_kw,
    )
    statuses: list[int] = []

    async def main() -> None:
        node = ArchiveNode(cfg)
        server = await node.start()
        try:
            contexts = [(str(ds.SOPClassUID), ["1.2.840.10008.1.2.1"])]
            async with AE("MODALITY").associate(
                "127.0.0.1", server.port, ae_title="DICOMKIT", contexts=contexts
            ) as assoc:
                for _ in range(2):
                    try:
                        statuses.append((await store(assoc, ds)).status)
                    except DimseError as exc:
                        statuses.append(int(exc.status))
        finally:
            await server.close()
            node.watch.stopped()
            node.storage.close()
            node.archive.close()

    asyncio.run(asyncio.wait_for(main(), 60))
    return statuses, audit.read_text("utf-8").splitlines(), row


def _transfers(lines: list[str]) -> list[ET.Element]:
    return [
        root
        for root in map(ET.fromstring, lines)
        if root.find("EventIdentification/EventID").get("csd-code") == "110104"  # type: ignore[union-attr]
    ]


@pytest.mark.parametrize("case", ["duplicate", "disk"])
def test_a_failed_store_is_audited_naming_the_instance(schema, tmp_path: Path, case: str) -> None:  # type: ignore[no-untyped-def]
    from dicomkit.archive import DuplicatePolicy

    if case == "duplicate":  # the second store fails at ingest: the study is known
        statuses, lines, row = _failed_stores(tmp_path, duplicates=DuplicatePolicy.REJECT)
        assert statuses[0] == 0 and statuses[1] != 0
    else:  # refused before a byte is kept: the study is not known
        statuses, lines, row = _failed_stores(tmp_path, min_free_bytes=1 << 62)
        assert statuses == [0xA700, 0xA700]
    transfers = _transfers(lines)
    failed = [
        t
        for t in transfers
        if t.find("EventIdentification").get("EventOutcomeIndicator") == "4"  # type: ignore[union-attr]
    ]
    assert len(failed) == statuses.count(statuses[-1]) and len(failed) >= 1
    for root in failed:
        assert _valid(schema, ET.tostring(root, encoding="unicode")), schema.error_log
        event = root.find("EventIdentification")
        assert event.get("EventActionCode") == "C"  # type: ignore[union-attr]
        text = event.findtext("EventOutcomeDescription") or ""  # type: ignore[union-attr]
        assert (
            f"{statuses[-1]:04X}" in text.upper() or "duplicate" in text.lower() or "disk" in text
        )
        objects = {
            o.find("ParticipantObjectIDTypeCode").get("csd-code"): o  # type: ignore[union-attr]
            for o in root.iter("ParticipantObjectIdentification")
        }
        study_obj = objects["110180"]
        study = row["StudyInstanceUID"] if case == "duplicate" else "-"
        assert study_obj.get("ParticipantObjectID") == study
        named = [i.get("UID") for i in study_obj.iter("Instance")]
        sop = study_obj.find("ParticipantObjectDescription/SOPClass")
        assert sop is not None and sop.get("NumberOfInstances") == "1"
        requestor = [
            p for p in root.iter("ActiveParticipant") if p.get("UserIsRequestor") == "true"
        ]
        assert [p.get("UserID") for p in requestor] == ["MODALITY"]
        assert named == [row["SOPInstanceUID"]]
        assert sop.get("UID") == row["SOPClassUID"]
    if case == "duplicate":  # the first store's success is still one message of its own
        ok = [
            t
            for t in transfers
            if t.find("EventIdentification").get("EventOutcomeIndicator") == "0"
        ]  # type: ignore[union-attr]
        assert len(ok) == 1


def test_audit_file_rotates_by_size_and_keeps_every_message_whole(tmp_path: Path) -> None:
    file = tmp_path / "audit.log"
    trail = AuditTrail(AuditSettings(file=file, max_bytes=4000, backups=2), SOURCE)
    one = len(BUILT["110104"].to_xml(SOURCE).encode()) + 1
    for _ in range(12):
        trail.emit(BUILT["110104"])
    trail.close()
    names = sorted(p.name for p in tmp_path.glob("audit.log*"))
    assert names == ["audit.log", "audit.log.1", "audit.log.2"], names
    kept = 0
    for path in tmp_path.glob("audit.log*"):
        assert path.stat().st_size <= max(4000, one)
        for line in path.read_text("utf-8").splitlines():
            assert ET.fromstring(line).tag == "AuditMessage"  # never cut in the middle
            kept += 1
    assert 0 < kept < 12  # the oldest went with the third old file


def test_audit_rotation_settings_default_to_the_node_log_and_are_checked(tmp_path: Path) -> None:
    from dicomkit.archive._config import load

    config = tmp_path / "node.toml"
    config.write_text(
        '[server]\nlog_max_bytes = 5000\nlog_backups = 3\n[audit]\nfile = "a.log"\n'
        'rotate = "midnight"\n',
        encoding="utf-8",
    )
    cfg = load(config)
    got = cfg.audit.rotated_like(cfg.log_max_bytes, cfg.log_rotate, cfg.log_backups)
    assert (got.max_bytes, got.backups, got.rotate) == (5000, 3, "midnight")
    with pytest.raises(AuditConfigError, match="rotate = 'weekly'"):
        parse_settings({"file": "a.log", "rotate": "weekly"}, tmp_path)
    with pytest.raises(AuditConfigError, match="max_bytes = -1"):
        parse_settings({"file": "a.log", "max_bytes": -1}, tmp_path)


def test_node_audit_file_rotates_with_the_log_settings(tmp_path: Path) -> None:
    import asyncio

    from dicomkit.archive._app import ArchiveNode
    from dicomkit.archive._config import NodeConfig

    cfg = NodeConfig(
        archive=tmp_path / "a",
        host="127.0.0.1",
        port=0,
        audit=AuditSettings(file=tmp_path / "audit.log"),
        log_max_bytes=600,
        log_backups=1,
    )

    async def main() -> None:
        node = ArchiveNode(cfg)
        await node.start()
        for _ in range(4):  # start / stop messages are ~500 bytes each
            node.audit.emit(BUILT["110100"])
        node.watch.stopped()
        assert node.server is not None
        await node.server.close()
        node.storage.close()
        node.archive.close()

    asyncio.run(asyncio.wait_for(main(), 30))
    assert sorted(p.name for p in tmp_path.glob("audit.log*")) == ["audit.log", "audit.log.1"]


def test_user_authentication_login_at_establishment_logout_at_release(tmp_path: Path) -> None:
    import asyncio

    from dicomkit.archive._app import ArchiveNode
    from dicomkit.archive._config import NodeConfig
    from dicomkit.net import AE, UserIdentity

    audit = tmp_path / "audit.log"
    cfg = NodeConfig(
        archive=tmp_path / "a", host="127.0.0.1", port=0, audit=AuditSettings(file=audit)
    )

    def logins() -> list[tuple[str, str | None]]:
        out = []
        for root in map(ET.fromstring, audit.read_text("utf-8").splitlines()):
            event = root.find("EventIdentification")
            assert event is not None
            if event.find("EventID").get("csd-code") != "110114":  # type: ignore[union-attr]
                continue
            kind = event.find("EventTypeCode").get("csd-code")  # type: ignore[union-attr]
            users = [p.get("UserName") for p in root.iter("ActiveParticipant")]
            out.append((str(kind), next((u for u in users if u), None)))
        return out

    during: list[tuple[str, str | None]] = []

    async def main() -> None:
        node = ArchiveNode(cfg)
        server = await node.start()
        try:
            async with AE("VIEWER").associate(
                "127.0.0.1",
                server.port,
                ae_title="DICOMKIT",
                contexts=["1.2.840.10008.1.1"],
                user_identity=UserIdentity(UserIdentity.USERNAME, "ann"),
            ):
                for _ in range(100):  # the Login is written by a task once accepted
                    node.audit.flush()
                    during.extend(logins())
                    if during:
                        break
                    await asyncio.sleep(0.05)
            for _ in range(100):  # the server sees the release end the connection
                if not server.associations:
                    break
                await asyncio.sleep(0.05)
        finally:
            await server.close()
            node.watch.stopped()
            node.storage.close()
            node.archive.close()

    asyncio.run(asyncio.wait_for(main(), 30))
    assert during == [("110122", "ann")]  # Login while the association is open, no Logout
    assert logins() == [("110122", "ann"), ("110123", "ann")]


@pytest.mark.slow  # a PKI of its own
def test_refused_tls_handshake_is_a_security_alert_naming_the_peer(schema, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import asyncio
    import socket

    from archive_helpers import make_pki

    from dicomkit.archive._app import ArchiveNode
    from dicomkit.archive._config import NodeConfig

    pki = make_pki(tmp_path / "pki")
    audit = tmp_path / "audit.log"
    cfg = NodeConfig(
        archive=tmp_path / "a",
        host="127.0.0.1",
        port=0,
        audit=AuditSettings(file=audit),
        tls_cert=str(pki["server"]),
        tls_key=str(pki["server_key"]),
    )
    local: list[str] = []

    def plain_dicom(port: int) -> None:  # an A-ASSOCIATE-RQ's first bytes on a TLS port
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            host, lport = sock.getsockname()[:2]
            local.append(f"{host}:{lport}")
            sock.sendall(b"\x01\x00\x00\x00\x00\xcd\x00\x01\x00\x00" + b"DICOMKIT".ljust(16))
            sock.recv(100)  # the server closes

    async def main() -> None:
        node = ArchiveNode(cfg)
        server = await node.start()
        try:
            await asyncio.to_thread(plain_dicom, server.port)
            for _ in range(100):
                node.audit.flush()
                if "110113" in audit.read_text("utf-8"):
                    break
                await asyncio.sleep(0.05)
        finally:
            await server.close()
            node.watch.stopped()
            node.storage.close()
            node.archive.close()

    asyncio.run(asyncio.wait_for(main(), 30))
    alerts = [
        root
        for root in map(ET.fromstring, audit.read_text("utf-8").splitlines())
        if root.find("EventIdentification/EventID").get("csd-code") == "110113"  # type: ignore[union-attr]
    ]
    assert len(alerts) == 1
    root = alerts[0]
    assert _valid(schema, ET.tostring(root, encoding="unicode")), schema.error_log
    event = root.find("EventIdentification")
    assert event.find("EventTypeCode").get("csd-code") == "110126"  # type: ignore[union-attr]
    text = event.findtext("EventOutcomeDescription") or ""  # type: ignore[union-attr]
    assert f"TLS connection from {local[0]} refused" in text and "handshake" in text
    hosts = {p.get("NetworkAccessPointID") for p in root.iter("ActiveParticipant")}
    assert "127.0.0.1" in hosts

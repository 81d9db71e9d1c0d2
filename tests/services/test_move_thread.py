"""C-MOVE sub-operations from the node's worker thread (services._move_thread): what the
requestor sees when the destination is slow, picky or goes away, or the requestor cancels
or leaves mid-move. Node, destination and requestor in one process over loopback."""

from __future__ import annotations

import asyncio
import ssl
import sys
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "archive"))
from archive_helpers import CT, synthetic, to_dataset

from dicomkit.archive._app import ArchiveBackend, ArchiveNode
from dicomkit.archive._audit_trail import AuditSettings
from dicomkit.archive._config import NodeConfig, Peer
from dicomkit.net import AE, AEConfig, Incoming
from dicomkit.net.proto import _dimse as dimse
from dicomkit.services import _query_retrieve as qr

ROWS = synthetic(6)


class Dest:
    """A C-STORE handler recording what arrives; ``delay`` seconds per store, and an abort
    of the association after ``abort_after`` stores."""

    def __init__(self, delay: float = 0.0, abort_after: int | None = None) -> None:
        self.delay = delay
        self.abort_after = abort_after
        self.got: list[str] = []

    async def __call__(self, incoming: Incoming) -> int:
        msg = incoming.message
        assert isinstance(msg, dimse.CStoreRequest)
        if self.abort_after is not None and len(self.got) >= self.abort_after:
            await incoming.association.abort()
            return 0xA700
        if self.delay:
            await asyncio.sleep(self.delay)
        self.got.append(str(msg.affected_sop_instance_uid))
        assert msg.move_originator_aet == "SCU" and msg.move_originator_message_id
        return 0


def run(
    tmp: Path,
    dest: Dest,
    body: Callable[[ArchiveNode, int], Awaitable[None]],
    classes: list[str] | None = None,
    window: tuple[int, int] = (1, 1),
    audit: Path | None = None,
    tls: tuple[ssl.SSLContext, Path] | None = None,
) -> None:
    """``classes``: the SOP classes the destination accepts (default: all storage);
    ``window``: the asynchronous operations window it grants; ``audit``: the node's audit
    trail file (default: none); ``tls``: the destination's server context, and the CA file
    the node's ``[peers]`` entry names (TLS to the destination)."""

    async def main() -> None:
        ae = AE("DEST", config=AEConfig(ae_title="DEST", async_ops=window))
        ae.add_handler(dimse.CStoreRequest, dest, sop_classes=classes or ())
        server = await ae.serve(0, ssl_context=tls[0] if tls else None)
        cfg = NodeConfig(
            archive=tmp / "arch",
            host="127.0.0.1",
            port=0,
            peers={
                "DEST": Peer(
                    "DEST", "127.0.0.1", server.port, tls=tls is not None, ca=tls and str(tls[1])
                )
            },
            audit=AuditSettings(file=audit),
        )
        node = ArchiveNode(cfg)
        assert node.qr.connect_blocking is not None  # the path under test
        listening = await node.start()
        try:
            for row in ROWS:
                node.archive.store_dataset(to_dataset(row, pixels=True))
            await body(node, listening.port)
        finally:
            await listening.close()
            await server.close()
            node.archive.close()

    asyncio.run(asyncio.wait_for(main(), 60))


def patient() -> tuple[str, list[dict[str, Any]]]:
    pid = ROWS[-1]["PatientID"]
    return pid, [r for r in ROWS if r["PatientID"] == pid]


async def move(port: int, pid: str, **kw: Any) -> qr.RetrieveResult:
    """A C-MOVE of patient ``pid`` to DEST on an association of its own."""
    async with scu(port) as a:
        return await move_on(a, pid, **kw)


def scu(port: int) -> Any:
    return AE("SCU").associate(
        "127.0.0.1", port, contexts=[qr.MOVE[qr.Model.PATIENT_ROOT]], ae_title="DICOMKIT"
    )


async def move_on(a: Any, pid: str, **kw: Any) -> qr.RetrieveResult:
    query = qr.identifier("PATIENT", {"PatientID": pid})
    return await qr.move(a, query, "DEST", qr.Model.PATIENT_ROOT, **kw)


def move_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("dicomkit C-MOVE")]


async def no_move_threads() -> bool:
    for _ in range(100):
        if not move_threads():
            return True
        await asyncio.sleep(0.05)
    return False


def test_cancel_mid_move_counts_what_was_sent(tmp_path: Path) -> None:
    """A C-CANCEL after the first pending response: FE00 with the counts, and the
    destination holds exactly the instances counted as completed."""
    dest = Dest(delay=0.05)
    pid, rows = patient()
    assert len(rows) >= 4

    async def body(node: ArchiveNode, port: int) -> None:
        async with scu(port) as a:
            res = await move_on(a, pid, cancel_after=1)
            assert res.status == 0xFE00
            assert 1 <= res.completed < len(rows) and res.failed == 0
            assert res.completed == len(dest.got)
            # the association is still usable: the next C-MOVE goes through
            again = await move_on(a, pid)
            assert (again.status, again.completed) == (0, len(rows))
        assert await no_move_threads()

    run(tmp_path, dest, body)


def test_destination_taking_some_sop_classes_only(tmp_path: Path) -> None:
    """A destination that accepts CT only: the other instances fail (no accepted context),
    counted and listed; the CT ones arrive."""
    dest = Dest()
    pid, rows = patient()
    ct = {r["SOPInstanceUID"] for r in rows if r["SOPClassUID"] == CT}
    other = [r["SOPInstanceUID"] for r in rows if r["SOPClassUID"] != CT]
    assert ct and other

    async def body(node: ArchiveNode, port: int) -> None:
        res = await move(port, pid)
        assert res.status == 0xB000
        assert (res.completed, res.failed, res.warning) == (len(ct), len(other), 0)
        assert sorted(res.failed_uids) == sorted(other)

    run(tmp_path, dest, body, classes=[CT])
    assert set(dest.got) == ct


def test_destination_aborting_mid_move(tmp_path: Path) -> None:
    """The destination aborts after two stores: the rest count as failed (listed), the
    final status says sub-operations failed, and the worker thread ends."""
    dest = Dest(abort_after=2)
    pid, rows = patient()
    assert len(rows) >= 4

    async def body(node: ArchiveNode, port: int) -> None:
        res = await move(port, pid)
        assert res.status == 0xB000
        assert (res.completed, res.failed) == (2, len(rows) - 2)
        assert set(res.failed_uids) == {r["SOPInstanceUID"] for r in rows} - set(dest.got)
        assert await no_move_threads()

    run(tmp_path, dest, body)


def test_requestor_leaving_mid_move_stops_the_thread(tmp_path: Path) -> None:
    """The move SCU aborts its association after the first pending response: the worker
    thread stops after the sub-operation in hand and releases the destination."""
    dest = Dest(delay=0.05)
    pid, rows = patient()

    async def body(node: ArchiveNode, port: int) -> None:
        a = await scu(port)
        msg = dimse.CMoveRequest(
            message_id=a.next_message_id(),
            affected_sop_class_uid=qr.MOVE[qr.Model.PATIENT_ROOT],
            move_destination="DEST",
        )
        query = qr.identifier("PATIENT", {"PatientID": pid})
        async for rsp in a.request_iter(msg, query):
            assert rsp.message.is_pending
            break
        await a.abort()
        assert await no_move_threads()
        assert 1 <= len(dest.got) < len(rows)

    run(tmp_path, dest, body)


@pytest.mark.parametrize("granted", [(1, 1), (3, 3)])
def test_many_instances_arrive_once_each(tmp_path: Path, granted: tuple[int, int]) -> None:
    """Every matching instance reaches the destination exactly once, with one window or
    several sub-operations outstanding."""
    pid, rows = patient()
    dest = Dest()

    async def body(node: ArchiveNode, port: int) -> None:
        async with scu(port) as a:
            for _ in range(3):
                res = await move_on(a, pid)
                assert (res.status, res.completed, res.failed) == (0, len(rows), 0)

    run(tmp_path, dest, body, window=granted)
    assert sorted(dest.got) == sorted([r["SOPInstanceUID"] for r in rows] * 3)


@pytest.mark.parametrize("audited", [True, False])
def test_audit_names_the_patient_and_costs_nothing_without_a_trail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, audited: bool
) -> None:
    """With an audit trail, the C-MOVE's Instances Transferred message names the
    destination and the patient (looked up per study); without one, no look-up is made."""
    looked_up: list[set[str]] = []
    inner = ArchiveBackend._patients

    def counted(self: Any, studies: set[str], limit: int = 64) -> Any:
        looked_up.append(studies)
        return inner(self, studies, limit)

    monkeypatch.setattr(ArchiveBackend, "_patients", counted)
    pid, rows = patient()
    trail = tmp_path / "audit.log" if audited else None

    async def body(node: ArchiveNode, port: int) -> None:
        res = await move(port, pid)
        assert (res.status, res.completed) == (0, len(rows))
        await asyncio.sleep(0.2)  # the trail is written from its own queue

    run(tmp_path, Dest(), body, audit=trail)
    assert len(looked_up) == (1 if audited else 0)
    if trail is not None:
        text = trail.read_text("utf-8")
        assert "DEST" in text and pid in text and str(rows[0]["PatientName"]) in text


def test_store_commands_are_the_usual_encoding_byte_for_byte() -> None:
    """The C-STORE-RQ command sets made from templates equal encode_message's, for UIDs of
    odd and even length, any Message ID, several SOP classes, priorities and originators;
    what the template does not cover is encoded (or refused) the usual way."""
    from dicomkit.errors import InvalidValueError
    from dicomkit.services._move_thread import StoreCommands

    commands = StoreCommands()
    uids = ["1.2", "1.2.3", "1.2.840.10008.99." + "7" * 40, "9" * 64, "1.2.826.0.1.3"]
    count = 0
    for cls in (CT, "1.2.840.10008.5.1.4.1.1.4"):
        for priority, originator in ((0, ("SCU", 7)), (2, (None, None)), (0, ("OTHER", 65535))):
            for mid in (1, 2, 0xFF, 0x100, 0xFFFF):
                for uid in uids:
                    req = dimse.CStoreRequest(
                        message_id=mid,
                        affected_sop_class_uid=cls,
                        affected_sop_instance_uid=uid,
                        priority=priority,
                        move_originator_aet=originator[0],
                        move_originator_message_id=originator[1],
                        has_dataset=True,
                    )
                    assert commands.encode(req) == dimse.encode_message(req), (cls, mid, uid)
                    count += 1
    assert count == 2 * 3 * 5 * len(uids) and len(commands._cuts) == 6
    long = dimse.CStoreRequest(
        message_id=3, affected_sop_class_uid=CT, affected_sop_instance_uid="1" * 65
    ).replace(has_dataset=True)
    with pytest.raises(InvalidValueError):
        commands.encode(long)
    decoded = dimse.decode_message(commands.encode(long.replace(affected_sop_instance_uid="1.5")))
    assert isinstance(decoded, dimse.CStoreRequest)
    assert (decoded.message_id, decoded.affected_sop_instance_uid) == (3, "1.5")


@pytest.mark.parametrize("trusted", [True, False])
def test_tls_destination(tmp_path: Path, caplog: pytest.LogCaptureFixture, trusted: bool) -> None:
    """A ``[peers]`` entry with TLS: the sub-association is made over TLS (the destination
    accepts nothing else) and every instance arrives; a destination whose certificate the
    node does not trust gets nothing, and the requestor gets A702 saying why."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "net"))
    from test_tls import _write_pki

    from dicomkit.errors import DimseOutOfResources
    from dicomkit.net import _tls as dktls

    pki = _write_pki(tmp_path)
    (tmp_path / "other").mkdir()
    other = _write_pki(tmp_path / "other") if not trusted else pki
    server = dktls.server_context(cert=pki["server_cert"], key=pki["server_key"])
    pid, rows = patient()
    dest = Dest()

    async def body(node: ArchiveNode, port: int) -> None:
        if trusted:
            res = await move(port, pid)
            assert (res.status, res.completed) == (0, len(rows))
        else:
            with pytest.raises(DimseOutOfResources) as refused:
                await move(port, pid)
            assert refused.value.status == 0xA702
            # the Error Comment (64 characters at most) begins the reason; the log has it all
            assert "cannot connect" in str(refused.value) and "SSL" in str(refused.value)
            assert "certificate verify failed" in caplog.text

    run(tmp_path, dest, body, tls=(server, other["ca_cert"]))
    assert len(dest.got) == (len(rows) if trusted else 0)

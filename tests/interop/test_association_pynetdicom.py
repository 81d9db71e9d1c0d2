"""Association-level interop with pynetdicom, both directions (127.0.0.1 only).

pynetdicom SCU (in this process, its own threads) against our SCP (a :class:`SyncAE` on its
background loop): SCP/SCU role selection, user identity (username / passcode with a positive
response requested), SOP class extended negotiation, the asynchronous operations window,
rejection reasons (called / calling AE title, application context name, local limit),
release and abort from either side, maximum PDU lengths with large data sets. Our SCU
against a pynetdicom SCP: role selection, the peer's maximum PDU length with large data
(including 0, "no limit"). Each test checks what *both* sides observed.

pynetdicom is a test peer only; nothing from it is imported by ``src/``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import peers
import pytest

from dicomkit.errors import AssociationAborted
from dicomkit.net import AE, AEConfig, Association
from dicomkit.net._sync import SyncAE, SyncServer
from dicomkit.net.proto import _dimse as dimse
from dicomkit.net.proto._items import UserIdentityRQItem
from dicomkit.net.proto._negotiation import AcceptorConfig
from dicomkit.services._storage import StorageSCP, store

pytestmark = pytest.mark.interop

VERIFICATION = "1.2.840.10008.1.1"
CT = "1.2.840.10008.5.1.4.1.1.2"
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
WAIT = 15.0


@pytest.fixture(scope="module")
def pnd() -> Any:
    return peers.require_module("pynetdicom")


# -- our SCP, configurable through AE.acceptor_config --------------------------------------


class Configured(AE):
    """Our AE, with negotiation options the AE constructor does not take (yet) set on the
    negotiation layer's :class:`AcceptorConfig`."""

    def __init__(self, title: str, acceptor: dict[str, Any], **kw: Any) -> None:
        super().__init__(title, **kw)
        self.acceptor_options = acceptor

    def acceptor_config(self, handlers: Any) -> AcceptorConfig:
        return dataclasses.replace(super().acceptor_config(handlers), **self.acceptor_options)


@dataclasses.dataclass
class OurSCP:
    sync: SyncAE
    server: SyncServer
    seen: list[Association]

    @property
    def port(self) -> int:
        return self.server.port

    def run(self, coro: Any) -> Any:
        return self.sync.runner.run(coro, WAIT)

    def associations(self) -> list[Association]:
        async def get() -> list[Association]:
            return list(self.server.server.associations)

        return list(self.run(get()))

    def poll(self, predicate: Any, what: str) -> None:
        deadline = time.monotonic() + WAIT
        while not predicate():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            self.run(asyncio.sleep(0.01))

    def only_association(self) -> Association:
        self.poll(lambda: len(self.associations()) == 1, "exactly one association")
        return self.associations()[0]


@pytest.fixture
def make_scp(tmp_path: Path) -> Iterator[Any]:
    started: list[tuple[SyncAE, SyncServer]] = []

    def make(
        *,
        config: AEConfig | None = None,
        acceptor: dict[str, Any] | None = None,
        store: bool = False,
        supported: dict[str, list[str]] | None = None,
    ) -> OurSCP:
        cfg = config or AEConfig(ae_title="OURSCP")
        sync = SyncAE(cfg.ae_title, config=cfg)
        sync.ae = Configured(cfg.ae_title, acceptor or {}, config=cfg, supported=supported)
        seen: list[Association] = []

        async def on_echo(incoming: Any) -> int:
            seen.append(incoming.association)
            return 0

        handlers: dict[Any, Any] = {dimse.CEchoRequest: on_echo}
        if store:
            handlers[dimse.CStoreRequest] = StorageSCP(tmp_path / "out", fsync=False)
        server = sync.serve(0, handlers)
        started.append((sync, server))
        return OurSCP(sync, server, seen)

    try:
        yield make
    finally:
        for sync, server in reversed(started):
            server.close()
            sync.close()


def py_ae(pnd: Any, *contexts: str) -> Any:
    ae = pnd.AE(ae_title="PYSCU")
    for uid in contexts or (VERIFICATION,):
        ae.add_requested_context(uid, [EXPLICIT_LE, IMPLICIT_LE])
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = WAIT
    return ae


def ac_items(assoc: Any, cls: type) -> list[Any]:
    """The user-information sub-items of a given class in the A-ASSOCIATE-AC received."""
    return [i for i in assoc.acceptor.user_information if isinstance(i, cls)]


def wait_until(predicate: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)  # a bounded poll on a peer in another thread, not a fixed wait


# -- role selection --------------------------------------------------------------------------


def test_role_selection_not_configured_keeps_default_roles(pnd: Any, make_scp: Any) -> None:
    scp = make_scp(store=True)
    ae = py_ae(pnd, CT)
    assoc = ae.associate(
        "127.0.0.1",
        scp.port,
        ae_title="OURSCP",
        ext_neg=[pnd.build_role(CT, scu_role=True, scp_role=True)],
    )
    try:
        assert assoc.is_established
        (ctx,) = assoc.accepted_contexts
        # no role selection item came back: the default roles (requestor SCU only)
        assert ac_items(assoc, pnd.pdu_primitives.SCP_SCU_RoleSelectionNegotiation) == []
        assert (ctx.as_scu, ctx.as_scp) == (True, False)
        ours = scp.only_association().negotiated.find(CT)
        assert (ours.scu_role, ours.scp_role) == (True, False)
    finally:
        assoc.release()


@pytest.mark.parametrize(
    ("allowed", "expected"),
    [
        ((True, True), (True, True)),
        ((False, True), (False, True)),
        ((True, False), (True, False)),
    ],
)
def test_role_selection_answered(
    pnd: Any, make_scp: Any, allowed: tuple[bool, bool], expected: tuple[bool, bool]
) -> None:
    scp = make_scp(store=True, acceptor={"roles": {CT: allowed}})
    ae = py_ae(pnd, CT)
    assoc = ae.associate(
        "127.0.0.1",
        scp.port,
        ae_title="OURSCP",
        ext_neg=[pnd.build_role(CT, scu_role=True, scp_role=True)],
    )
    try:
        assert assoc.is_established
        (item,) = ac_items(assoc, pnd.pdu_primitives.SCP_SCU_RoleSelectionNegotiation)
        assert str(item.sop_class_uid) == CT
        assert (bool(item.scu_role), bool(item.scp_role)) == expected
        ours = scp.only_association().negotiated
        assert ours is not None
        ctx = ours.contexts[min(ours.contexts)]
        assert (ctx.scu_role, ctx.scp_role) == expected
        if expected[0]:
            (py_ctx,) = assoc.accepted_contexts
            assert (py_ctx.as_scu, py_ctx.as_scp) == expected
    finally:
        assoc.release()


def test_role_selection_through_the_ae_roles_option(pnd: Any) -> None:
    """The public option: ``SyncAE(..., roles={CT: (True, True)})`` grants both roles."""
    ours = SyncAE("OURSCP", roles={CT: (True, True)})
    with ours, ours.serve(0) as server:
        assoc = py_ae(pnd, CT).associate(
            "127.0.0.1",
            server.port,
            ae_title="OURSCP",
            ext_neg=[pnd.build_role(CT, scu_role=True, scp_role=True)],
        )
        try:
            assert assoc.is_established
            (item,) = ac_items(assoc, pnd.pdu_primitives.SCP_SCU_RoleSelectionNegotiation)
            assert (bool(item.scu_role), bool(item.scp_role)) == (True, True)
            (ctx,) = assoc.accepted_contexts
            assert (ctx.as_scu, ctx.as_scp) == (True, True)
        finally:
            assoc.release()


def test_our_scu_role_selection_with_pynetdicom_scp(pnd: Any) -> None:
    ae = pnd.AE(ae_title="PYSCP")
    ae.add_supported_context(CT, [EXPLICIT_LE], scu_role=True, scp_role=True)
    port = peers.free_port()
    server = ae.start_server(("127.0.0.1", port), block=False)
    try:
        ours = SyncAE("OURSCU")
        with (
            ours,
            ours.associate(
                "127.0.0.1",
                port,
                ae_title="PYSCP",
                contexts=[(CT, [EXPLICIT_LE])],
                roles={CT: (True, True)},
            ) as assoc,
        ):
            (ctx,) = assoc.accepted_contexts
            assert (ctx.scu_role, ctx.scp_role) == (True, True)
            (live,) = server.active_associations
            (theirs,) = live.accepted_contexts
            # pynetdicom records the roles from its own (acceptor's) point of view
            assert (theirs.as_scu, theirs.as_scp) == (True, True)
    finally:
        server.shutdown()


# -- user identity -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "primary", "secondary"),
    [
        (1, b"alice", b""),
        (2, b"alice", b"s3cret"),
    ],
)
def test_user_identity_reaches_our_scp(
    pnd: Any, make_scp: Any, kind: int, primary: bytes, secondary: bytes
) -> None:
    """The identity pynetdicom sends arrives intact on our side, where a handler can check it.
    Our SCP offers no user identity server response (see docs/dev/findings-net.md), so none is
    sent even though one was requested -- which PS3.7 D.3.3.7 allows: the requestor decides."""
    scp = make_scp()
    item = pnd.pdu_primitives.UserIdentityNegotiation()
    item.user_identity_type = kind
    item.primary_field = primary
    if secondary:
        item.secondary_field = secondary
    item.positive_response_requested = True
    assoc = py_ae(pnd).associate("127.0.0.1", scp.port, ae_title="OURSCP", ext_neg=[item])
    try:
        assert assoc.is_established
        assert assoc.send_c_echo().Status == 0
        (ours,) = scp.seen
        assert ours.negotiated is not None
        assert ours.negotiated.user_identity == UserIdentityRQItem(kind, primary, secondary, True)
        assert ours.negotiated.user_identity_response is None
        assert assoc.acceptor.user_identity is None
    finally:
        assoc.release()


# -- SOP class extended negotiation, asynchronous operations window ------------------------------


def ext_item(pnd: Any, uid: str, info: bytes) -> Any:
    item = pnd.pdu_primitives.SOPClassExtendedNegotiation()
    item.sop_class_uid = uid
    item.service_class_application_information = info
    return item


def test_extended_negotiation_not_supported_is_not_answered(pnd: Any, make_scp: Any) -> None:
    scp = make_scp(store=True)
    assoc = py_ae(pnd, CT).associate(
        "127.0.0.1", scp.port, ae_title="OURSCP", ext_neg=[ext_item(pnd, CT, b"\x01\x01\x01")]
    )
    try:
        assert assoc.is_established
        assert ac_items(assoc, pnd.pdu_primitives.SOPClassExtendedNegotiation) == []
        assert dict(scp.only_association().negotiated.extended) == {}
    finally:
        assoc.release()


def test_extended_negotiation_answered_with_what_both_support(pnd: Any, make_scp: Any) -> None:
    scp = make_scp(store=True, acceptor={"extended": {CT: b"\x01\x00\x01"}})
    assoc = py_ae(pnd, CT).associate(
        "127.0.0.1", scp.port, ae_title="OURSCP", ext_neg=[ext_item(pnd, CT, b"\x01\x01\x01")]
    )
    try:
        assert assoc.is_established
        (item,) = ac_items(assoc, pnd.pdu_primitives.SOPClassExtendedNegotiation)
        assert str(item.sop_class_uid) == CT
        assert bytes(item.service_class_application_information) == b"\x01\x00\x01"
        assert dict(scp.only_association().negotiated.extended) == {CT: b"\x01\x00\x01"}
    finally:
        assoc.release()


@pytest.mark.parametrize(("ours", "expected"), [(None, (1, 1)), ((4, 2), (4, 2)), ((0, 0), (5, 3))])
def test_async_operations_window(
    pnd: Any, make_scp: Any, ours: tuple[int, int] | None, expected: tuple[int, int]
) -> None:
    """pynetdicom asks for (5 invoked, 3 performed); we answer with at most what we allow
    (default 1, 1; 0 means unlimited, PS3.7 D.3.3.3)."""
    scp = make_scp(acceptor={"async_window": ours} if ours else {})
    item = pnd.pdu_primitives.AsynchronousOperationsWindowNegotiation()
    item.maximum_number_operations_invoked = 5
    item.maximum_number_operations_performed = 3
    assoc = py_ae(pnd).associate("127.0.0.1", scp.port, ae_title="OURSCP", ext_neg=[item])
    try:
        assert assoc.is_established
        (answer,) = ac_items(assoc, pnd.pdu_primitives.AsynchronousOperationsWindowNegotiation)
        got = (answer.maximum_number_operations_invoked, answer.maximum_number_operations_performed)
        assert got == expected
        neg = scp.only_association().negotiated
        assert (neg.max_operations_invoked, neg.max_operations_performed) == expected
        assert assoc.send_c_echo().Status == 0
    finally:
        assoc.release()


# -- rejections ----------------------------------------------------------------------------------


def associate_rejected(
    pnd: Any, port: int, called: str = "OURSCP", title: str = "PYSCU"
) -> tuple[int, int, int]:
    """Associate from pynetdicom expecting a rejection; the (result, source, reason) of the
    A-ASSOCIATE-RJ PDU it received. (Read from the PDU: pynetdicom's own ``is_rejected``
    races with its closing of the connection and sometimes says "aborted" instead.)"""
    got: list[Any] = []

    def on_pdu(event: Any) -> None:
        if isinstance(event.pdu, pnd.pdu.A_ASSOCIATE_RJ):
            got.append(event.pdu)

    ae = py_ae(pnd)
    ae.ae_title = title
    assoc = ae.associate(
        "127.0.0.1", port, ae_title=called, evt_handlers=[(pnd.evt.EVT_PDU_RECV, on_pdu)]
    )
    assert not assoc.is_established
    assert got, "pynetdicom received no A-ASSOCIATE-RJ"
    rj = got[0]
    return int(rj.result), int(rj.source), int(rj.reason_diagnostic)


def test_rejected_called_ae_not_recognised(pnd: Any, make_scp: Any) -> None:
    scp = make_scp(config=AEConfig(ae_title="OURSCP", require_called_aet=True))
    assert associate_rejected(pnd, scp.port, called="SOMEONE") == (1, 1, 7)
    assert scp.seen == []


def test_rejected_calling_ae_not_recognised(pnd: Any, make_scp: Any) -> None:
    scp = make_scp(acceptor={"calling_ae_titles": frozenset({"FRIEND"})})
    assert associate_rejected(pnd, scp.port, title="STRANGER") == (1, 1, 3)
    assert associate_rejected(pnd, scp.port) == (1, 1, 3)  # PYSCU is no friend either
    ae = py_ae(pnd)
    ae.ae_title = "FRIEND"
    friend = ae.associate("127.0.0.1", scp.port, ae_title="OURSCP")
    assert friend.is_established
    friend.release()


def test_rejected_application_context(
    pnd: Any, make_scp: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    scp = make_scp()
    monkeypatch.setattr(pnd.acse, "APPLICATION_CONTEXT_NAME", "1.2.826.0.1.3680043.9.9999")
    assert associate_rejected(pnd, scp.port) == (1, 1, 2)
    monkeypatch.undo()
    assoc = py_ae(pnd).associate("127.0.0.1", scp.port, ae_title="OURSCP")
    assert assoc.is_established
    assoc.release()


def test_rejected_local_limit_exceeded(pnd: Any, make_scp: Any) -> None:
    scp = make_scp(config=AEConfig(ae_title="OURSCP", max_associations=1))
    first = py_ae(pnd).associate("127.0.0.1", scp.port, ae_title="OURSCP")
    try:
        assert first.is_established
        assert associate_rejected(pnd, scp.port) == (2, 3, 2)
        assert first.send_c_echo().Status == 0
    finally:
        first.release()


# -- release and abort, from either side --------------------------------------------------------


def test_release_from_pynetdicom(pnd: Any, make_scp: Any) -> None:
    scp = make_scp()
    assoc = py_ae(pnd).associate("127.0.0.1", scp.port, ae_title="OURSCP")
    assert assoc.send_c_echo().Status == 0
    ours = scp.only_association()
    assoc.release()
    assert assoc.is_released and not assoc.is_aborted
    scp.run(ours.wait_closed())
    assert ours.error is None


def test_release_from_our_scp(pnd: Any, make_scp: Any) -> None:
    scp = make_scp()
    released = threading.Event()
    assoc = py_ae(pnd).associate(
        "127.0.0.1",
        scp.port,
        ae_title="OURSCP",
        evt_handlers=[(pnd.evt.EVT_RELEASED, lambda e: released.set())],
    )
    assert assoc.send_c_echo().Status == 0
    ours = scp.only_association()
    scp.run(ours.release())
    assert ours.is_closed and ours.error is None
    assert released.wait(WAIT)
    wait_until(lambda: not assoc.is_alive(), "pynetdicom's association to stop")
    assert assoc.is_released and not assoc.is_aborted


def test_abort_from_pynetdicom(pnd: Any, make_scp: Any) -> None:
    scp = make_scp()
    assoc = py_ae(pnd).associate("127.0.0.1", scp.port, ae_title="OURSCP")
    assert assoc.send_c_echo().Status == 0
    ours = scp.only_association()
    assoc.abort()
    scp.run(ours.wait_closed())
    assert isinstance(ours.error, AssociationAborted), ours.error
    assert ours.error.source == 0  # service-user abort
    scp.poll(lambda: not scp.associations(), "the server to drop the association")
    again = py_ae(pnd).associate("127.0.0.1", scp.port, ae_title="OURSCP")
    assert again.send_c_echo().Status == 0
    again.release()


def test_abort_from_our_scp(pnd: Any, make_scp: Any) -> None:
    scp = make_scp()
    aborted = threading.Event()
    assoc = py_ae(pnd).associate(
        "127.0.0.1",
        scp.port,
        ae_title="OURSCP",
        evt_handlers=[(pnd.evt.EVT_ABORTED, lambda e: aborted.set())],
    )
    assert assoc.send_c_echo().Status == 0
    ours = scp.only_association()
    scp.run(ours.abort())
    assert aborted.wait(WAIT)
    wait_until(lambda: not assoc.is_alive(), "pynetdicom's association to stop")
    assert assoc.is_aborted and not assoc.is_released


def test_our_scu_abort_seen_by_pynetdicom_scp(pnd: Any) -> None:
    aborted = threading.Event()
    ae = pnd.AE(ae_title="PYSCP")
    ae.add_supported_context(VERIFICATION)
    port = peers.free_port()
    server = ae.start_server(
        ("127.0.0.1", port),
        block=False,
        evt_handlers=[(pnd.evt.EVT_ABORTED, lambda e: aborted.set())],
    )
    try:
        ours = SyncAE("OURSCU")
        with ours:
            assoc = ours.associate("127.0.0.1", port, ae_title="PYSCP")
            assert assoc.echo().status == 0
            assoc.abort()
            assert assoc.association.is_closed
        assert aborted.wait(WAIT)
    finally:
        server.shutdown()


def test_pynetdicom_scp_release_seen_by_our_scu(pnd: Any) -> None:
    """Our SCU releases; pynetdicom's SCP answers; our side ends cleanly (no error)."""
    released = threading.Event()
    ae = pnd.AE(ae_title="PYSCP")
    ae.add_supported_context(VERIFICATION)
    port = peers.free_port()
    server = ae.start_server(
        ("127.0.0.1", port),
        block=False,
        evt_handlers=[(pnd.evt.EVT_RELEASED, lambda e: released.set())],
    )
    try:
        ours = SyncAE("OURSCU")
        with ours:
            assoc = ours.associate("127.0.0.1", port, ae_title="PYSCP")
            assert assoc.echo().status == 0
            assoc.release()
            assert assoc.association.is_closed and assoc.association.error is None
        assert released.wait(WAIT)
    finally:
        server.shutdown()


# -- maximum PDU length with large data ---------------------------------------------------------


def big_dataset(pnd: Any, uid: str, size: int) -> Any:
    pydicom = peers.require_module("pydicom")
    ds = pydicom.Dataset()
    ds.SOPClassUID = SECONDARY_CAPTURE
    ds.SOPInstanceUID = uid
    ds.PatientName = "PDU^SIZES"
    ds.add_new(0x7FE00010, "OB", bytes(range(256)) * (size // 256))
    ds.file_meta = pydicom.dataset.FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = EXPLICIT_LE
    return ds


@pytest.mark.parametrize("py_max", [8192, 16384, 0])
def test_pynetdicom_scu_large_store_with_small_pdus(
    pnd: Any, make_scp: Any, tmp_path: Path, py_max: int
) -> None:
    """pynetdicom advertises ``py_max`` (0 = no limit) and we advertise 16384: each side sees
    the other's limit, pynetdicom's P-DATA PDUs to us fit ours, and 3 MiB arrive intact."""
    pydicom = peers.require_module("pydicom")
    scp = make_scp(
        config=AEConfig(ae_title="OURSCP", max_pdu=16384),
        store=True,
        supported={SECONDARY_CAPTURE: [EXPLICIT_LE]},
    )
    sent: list[int] = []

    def on_sent(event: Any) -> None:
        if isinstance(event.pdu, pnd.pdu.P_DATA_TF):
            sent.append(event.pdu.pdu_length)

    ae = py_ae(pnd, SECONDARY_CAPTURE)
    assoc = ae.associate(
        "127.0.0.1",
        scp.port,
        ae_title="OURSCP",
        max_pdu=py_max,
        evt_handlers=[(pnd.evt.EVT_PDU_SENT, on_sent)],
    )
    try:
        assert assoc.acceptor.maximum_length == 16384
        ds = big_dataset(pnd, "1.2.3.4.1", 3 << 20)
        assert assoc.send_c_store(ds).Status == 0
        ours = scp.only_association()
        assert ours.negotiated.requestor_max_pdu_length == py_max
    finally:
        assoc.release()
    assert sent and max(sent) <= 16384 and len(sent) > (3 << 20) // 16384
    stored = pydicom.dcmread(tmp_path / "out" / "1.2.3.4.1.dcm")
    assert stored.PixelData == ds.PixelData
    assert stored.file_meta.TransferSyntaxUID == EXPLICIT_LE


@pytest.mark.parametrize("py_max", [4096, 8192, 0])
def test_our_scu_large_store_respects_pynetdicom_max_pdu(
    pnd: Any, tmp_path: Path, py_max: int
) -> None:
    pydicom = peers.require_module("pydicom")
    received: list[int] = []
    stored: list[Any] = []

    def on_recv(event: Any) -> None:
        if isinstance(event.pdu, pnd.pdu.P_DATA_TF):
            received.append(event.pdu.pdu_length)

    def on_store(event: Any) -> int:
        stored.append(event.dataset)
        return 0

    ae = pnd.AE(ae_title="PYSCP")
    ae.add_supported_context(SECONDARY_CAPTURE, [EXPLICIT_LE])
    ae.maximum_pdu_size = py_max
    port = peers.free_port()
    server = ae.start_server(
        ("127.0.0.1", port),
        block=False,
        evt_handlers=[(pnd.evt.EVT_PDU_RECV, on_recv), (pnd.evt.EVT_C_STORE, on_store)],
    )
    path = tmp_path / "big.dcm"
    ds = big_dataset(pnd, "1.2.3.4.2", 2 << 20)
    ds.save_as(path, enforce_file_format=True)
    try:
        ours = SyncAE("OURSCU")
        with (
            ours,
            ours.associate(
                "127.0.0.1", port, ae_title="PYSCP", contexts=[(SECONDARY_CAPTURE, [EXPLICIT_LE])]
            ) as assoc,
        ):
            assert assoc.association.peer_max_pdu == py_max
            assert assoc.call(store, path).status == 0
    finally:
        server.shutdown()
    assert received
    if py_max:
        assert max(received) <= py_max
        assert len(received) >= (2 << 20) // py_max
    (got,) = stored
    assert got.PixelData == pydicom.dcmread(path).PixelData

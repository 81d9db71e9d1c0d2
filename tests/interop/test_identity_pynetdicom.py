"""User identity, SOP class extended negotiation and the async window through the AE options,
against pynetdicom (both directions) and DCMTK's storescu (``--user``, ``--password``,
``--pos-response``; the Debian echoscu has no user identity options). 127.0.0.1 only.

pynetdicom and DCMTK are test peers only; nothing from them is imported by ``src/``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import peers
import pytest

from dicomkit.errors import AssociationRejected
from dicomkit.net import AEConfig, Association, Incoming
from dicomkit.net._config import UserIdentity
from dicomkit.net._sync import SyncAE
from dicomkit.net.proto import _dimse as dimse

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "archive"))
from archive_helpers import synthetic, write_files

pytestmark = pytest.mark.interop

VERIFICATION = "1.2.840.10008.1.1"
FIND = "1.2.840.10008.5.1.4.1.2.2.1"  # Study Root Q/R FIND
IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
WAIT = 15.0


@pytest.fixture(scope="module")
def pnd() -> Any:
    return peers.require_module("pynetdicom")


def check(ident: UserIdentity | None) -> bytes | bool:
    """Our SCP's identity check: alice/s3cret (answered with a token), or a JWT 'ok-jwt'."""
    if ident is None:
        return False
    if ident.type == UserIdentity.USERNAME_PASSCODE:
        return (
            b"welcome alice" if (ident.username, ident.passcode) == ("alice", "s3cret") else False
        )
    return ident.type == UserIdentity.JWT and ident.primary == b"ok-jwt"


def relational(sop_class: str, info: bytes) -> bytes | None:
    """Our SCP's extended negotiation: relational queries for FIND, nothing else."""
    return b"\x01" if sop_class == FIND and info[:1] == b"\x01" else None


@pytest.fixture
def our_scp() -> Iterator[tuple[int, list[Association]]]:
    seen: list[Association] = []

    async def on_echo(incoming: Incoming) -> int:
        seen.append(incoming.association)
        return 0

    async def on_find(incoming: Incoming) -> int:
        seen.append(incoming.association)
        return 0

    async def on_store(incoming: Incoming) -> int:
        seen.append(incoming.association)
        return 0

    cfg = AEConfig(ae_title="OURSCP", identity_check=check, extended=relational, async_ops=(4, 4))
    sync = SyncAE("OURSCP", config=cfg)
    handlers: dict[Any, Any] = {
        dimse.CEchoRequest: on_echo,
        (dimse.CFindRequest, FIND): on_find,
        dimse.CStoreRequest: on_store,
    }
    with sync, sync.serve(0, handlers) as server:
        yield server.port, seen


def py_ae(pnd: Any, *contexts: str) -> Any:
    ae = pnd.AE(ae_title="PYSCU")
    for uid in contexts or (VERIFICATION,):
        ae.add_requested_context(uid, [EXPLICIT_LE, IMPLICIT_LE])
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = WAIT
    return ae


def py_identity(pnd: Any, kind: int, primary: bytes, secondary: bytes = b"") -> Any:
    item = pnd.pdu_primitives.UserIdentityNegotiation()
    item.user_identity_type = kind
    item.primary_field = primary
    if secondary:
        item.secondary_field = secondary
    item.positive_response_requested = True
    return item


def rj_of(pnd: Any, assoc_args: dict[str, Any], port: int) -> tuple[int, int, int]:
    """The (result, source, reason) of the A-ASSOCIATE-RJ pynetdicom received (read from the
    PDU: its ``is_rejected`` races with its closing of the connection)."""
    got: list[Any] = []

    def on_pdu(event: Any) -> None:
        if isinstance(event.pdu, pnd.pdu.A_ASSOCIATE_RJ):
            got.append(event.pdu)

    assoc = py_ae(pnd).associate(
        "127.0.0.1",
        port,
        ae_title="OURSCP",
        evt_handlers=[(pnd.evt.EVT_PDU_RECV, on_pdu)],
        **assoc_args,
    )
    assert not assoc.is_established
    (rj,) = got
    return rj.result, rj.source, rj.reason_diagnostic


# -- pynetdicom SCU -> our SCP -------------------------------------------------------------------


def test_pynetdicom_gets_our_positive_response(pnd: Any, our_scp: Any) -> None:
    port, seen = our_scp
    assoc = py_ae(pnd).associate(
        "127.0.0.1", port, ae_title="OURSCP", ext_neg=[py_identity(pnd, 2, b"alice", b"s3cret")]
    )
    try:
        assert assoc.is_established
        assert assoc.acceptor.user_identity is not None
        assert bytes(assoc.acceptor.user_identity.server_response) == b"welcome alice"
        assert assoc.send_c_echo().Status == 0
        (ours,) = seen
        assert ours.user_identity == UserIdentity(2, "alice", "s3cret", True)
        assert ours.user_identity_response == b"welcome alice"
    finally:
        assoc.release()


def test_pynetdicom_jwt_accepted_without_response(pnd: Any, our_scp: Any) -> None:
    port, seen = our_scp
    assoc = py_ae(pnd).associate(
        "127.0.0.1", port, ae_title="OURSCP", ext_neg=[py_identity(pnd, 5, b"ok-jwt")]
    )
    try:
        assert assoc.is_established
        assert assoc.acceptor.user_identity is None  # the check said True: no server response
        assert assoc.send_c_echo().Status == 0
        assert seen[0].user_identity == UserIdentity(5, b"ok-jwt", b"", True)
    finally:
        assoc.release()


@pytest.mark.parametrize(
    "ext",
    [[("alice", b"wrong")], [("mallory", b"s3cret")], []],
    ids=["wrong-passcode", "unknown-user", "no-identity"],
)
def test_pynetdicom_rejected_1_1_1(pnd: Any, our_scp: Any, ext: list[Any]) -> None:
    port, seen = our_scp
    items = [py_identity(pnd, 2, user.encode(), pw) for user, pw in ext]
    assert rj_of(pnd, {"ext_neg": items} if items else {}, port) == (1, 1, 1)
    assert seen == []


def test_pynetdicom_extended_negotiation_and_window(pnd: Any, our_scp: Any) -> None:
    port, seen = our_scp
    ext = pnd.pdu_primitives.SOPClassExtendedNegotiation()
    ext.sop_class_uid = FIND
    ext.service_class_application_information = b"\x01\x01"
    window = pnd.pdu_primitives.AsynchronousOperationsWindowNegotiation()
    window.maximum_number_operations_invoked = 8
    window.maximum_number_operations_performed = 2
    assoc = py_ae(pnd, VERIFICATION, FIND).associate(
        "127.0.0.1", port, ae_title="OURSCP", ext_neg=[ext, window, py_identity(pnd, 5, b"ok-jwt")]
    )
    try:
        assert assoc.is_established
        items = assoc.acceptor.user_information
        (answer,) = [
            i for i in items if isinstance(i, pnd.pdu_primitives.SOPClassExtendedNegotiation)
        ]
        assert str(answer.sop_class_uid) == FIND
        assert bytes(answer.service_class_application_information) == b"\x01"
        (win,) = [
            i
            for i in items
            if isinstance(i, pnd.pdu_primitives.AsynchronousOperationsWindowNegotiation)
        ]
        assert (win.maximum_number_operations_invoked, win.maximum_number_operations_performed) == (
            4,
            2,
        )
        assert assoc.send_c_echo().Status == 0
        assert seen[0].extended == {FIND: b"\x01"}
        assert seen[0].async_ops == (4, 2)
    finally:
        assoc.release()


# -- our SCU -> pynetdicom SCP -------------------------------------------------------------------


@pytest.fixture
def py_scp(pnd: Any) -> Iterator[tuple[int, list[Any]]]:
    calls: list[Any] = []

    def on_user_id(event: Any) -> tuple[bool, bytes | None]:
        calls.append(("user", event.user_id_type, event.primary_field, event.secondary_field))
        return event.primary_field != b"bad", b"py-response"

    def on_extended(event: Any) -> dict[str, bytes]:
        calls.append(("ext", {str(k): bytes(v) for k, v in event.app_info.items()}))
        return dict.fromkeys(event.app_info, b"\x01")

    ae = pnd.AE(ae_title="PYSCP")
    ae.add_supported_context(VERIFICATION, [EXPLICIT_LE, IMPLICIT_LE])
    ae.add_supported_context(FIND, [EXPLICIT_LE, IMPLICIT_LE])
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = WAIT
    port = peers.free_port()
    server = ae.start_server(
        ("127.0.0.1", port),
        block=False,
        evt_handlers=[(pnd.evt.EVT_USER_ID, on_user_id), (pnd.evt.EVT_SOP_EXTENDED, on_extended)],
    )
    try:
        yield port, calls
    finally:
        server.shutdown()


def test_our_identity_and_extended_reach_pynetdicom(py_scp: Any) -> None:
    port, calls = py_scp
    ident = UserIdentity(UserIdentity.JWT, "header.payload.sig", positive_response_requested=True)
    with (
        SyncAE("OURSCU") as scu,
        scu.associate(
            "127.0.0.1",
            port,
            ae_title="PYSCP",
            contexts=[VERIFICATION, FIND],
            user_identity=ident,
            extended={FIND: b"\x01\x01"},
            async_ops=(3, 3),
        ) as assoc,
    ):
        assert assoc.echo().status == 0
        ours = assoc.association
        # pynetdicom answers a positive response for types 3, 4 and 5 only
        assert ours.user_identity_response == b"py-response"
        assert ours.extended == {FIND: b"\x01"}
        assert ours.async_ops == (1, 1)  # pynetdicom's default answer
    assert ("user", 5, b"header.payload.sig", None) in calls or (
        "user",
        5,
        b"header.payload.sig",
        b"",
    ) in calls
    assert ("ext", {FIND: b"\x01\x01"}) in calls


def test_our_username_passcode_reaches_pynetdicom(py_scp: Any) -> None:
    port, calls = py_scp
    with (
        SyncAE("OURSCU") as scu,
        scu.associate(
            "127.0.0.1",
            port,
            ae_title="PYSCP",
            user_identity=UserIdentity(2, "alice", "s3cret", True),
        ) as assoc,
    ):
        assert assoc.echo().status == 0
        assert assoc.association.user_identity_response is None  # type 2: pynetdicom sends none
    assert ("user", 2, b"alice", b"s3cret") in calls


def test_pynetdicom_rejects_our_identity(py_scp: Any) -> None:
    port, _calls = py_scp
    with SyncAE("OURSCU") as scu, pytest.raises(AssociationRejected) as info:
        scu.associate("127.0.0.1", port, ae_title="PYSCP", user_identity=UserIdentity(1, "bad"))
    # pynetdicom rejects transient, ACSE, no reason (we reject permanent, user, no reason)
    assert (info.value.result, info.value.source, info.value.reason) == (2, 2, 1)


# -- DCMTK storescu -> our SCP ------------------------------------------------------------------


@pytest.fixture(scope="module")
def dicom_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    (path,) = write_files(synthetic(1), tmp_path_factory.mktemp("identity"))
    return path


def storescu(port: int, path: Path, *args: str) -> Any:
    return peers.run_dcmtk(
        "storescu",
        "-aec",
        "OURSCP",
        "-aet",
        "DCMTKSCU",
        *args,
        "127.0.0.1",
        str(port),
        str(path),
        timeout=WAIT * 2,
        check=False,
    )


def test_storescu_user_password_positive_response(our_scp: Any, dicom_file: Path) -> None:
    port, seen = our_scp
    proc = storescu(port, dicom_file, "--user", "alice", "--password", "s3cret", "--pos-response")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (ours,) = seen
    assert ours.user_identity == UserIdentity(2, "alice", "s3cret", True)
    assert ours.user_identity_response == b"welcome alice"
    assert ours.calling_ae == "DCMTKSCU"


def test_storescu_wrong_password_is_rejected(our_scp: Any, dicom_file: Path) -> None:
    port, seen = our_scp
    proc = storescu(port, dicom_file, "--user", "alice", "--password", "nope")
    assert proc.returncode != 0
    text = proc.stdout + proc.stderr
    assert "Result: Rejected Permanent, Source: Service User" in text, text
    assert "Reason: No Reason" in text, text
    assert seen == []


def test_storescu_pos_response_needs_a_response(dicom_file: Path) -> None:
    """An identity check answering ``True`` sends no server response; storescu
    ``--pos-response`` then gives up ("Positive response requested but none received"), as
    PS3.7 D.3.3.7 lets a requestor do. Answering bytes (even b"") satisfies it."""
    cfg = AEConfig(
        ae_title="OURSCP",
        identity_check=lambda ident: (
            (ident is not None and ident.username == "t")
            or (b"" if ident is not None and ident.username == "b" else False)
        ),
    )
    sync = SyncAE("OURSCP", config=cfg)
    with sync, sync.serve(0, {dimse.CStoreRequest: lambda incoming: 0}) as server:
        bare = storescu(server.port, dicom_file, "--user", "t", "--pos-response")
        empty = storescu(server.port, dicom_file, "--user", "b", "--pos-response")
    assert bare.returncode != 0
    assert "positive response requested but none received" in (bare.stdout + bare.stderr).lower()
    assert empty.returncode == 0, empty.stdout + empty.stderr

"""The blocking-socket requestor (``dicomkit echo``'s driver) against our asyncio SCP: the
same answers, errors and protocol log as :class:`~dicomkit.net.Association`."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import peers
import pytest

from dicomkit.errors import (
    AssociationAborted,
    AssociationRejected,
    DimseError,
    NetworkTimeout,
    TransportError,
)
from dicomkit.net import AEConfig, CEchoRequest, CEchoResponse, Incoming, Timeouts
from dicomkit.net._blocking import BlockingAssociation, associate
from dicomkit.net._sync import SyncAE, SyncServer


class Counter:
    """A C-ECHO handler answering ``statuses`` in turn (then success), counting calls."""

    def __init__(self, *statuses: int, delay: float = 0.0) -> None:
        self.statuses = list(statuses)
        self.delay = delay
        self.calls = 0
        self.lock = threading.Lock()

    async def __call__(self, incoming: Incoming) -> int:
        with self.lock:
            self.calls += 1
            status = self.statuses.pop(0) if self.statuses else 0
        if self.delay:
            await asyncio.sleep(self.delay)
        return status


@pytest.fixture
def scp() -> Iterator[tuple[SyncServer, Counter]]:
    counter = Counter()
    with SyncAE("SCP") as ae, ae.serve(0, {CEchoRequest: counter}) as server:
        yield server, counter


def test_echoes_on_one_association_reach_the_scp(scp: tuple[SyncServer, Counter]) -> None:
    server, counter = scp
    with associate("127.0.0.1", server.port, AEConfig(), ae_title="SCP") as assoc:
        assert isinstance(assoc, BlockingAssociation) and assoc.is_established
        assert assoc.accepted_contexts[0].abstract_syntax == "1.2.840.10008.1.1"
        assert assoc.echo().status == 0
        assert [assoc.echo_status() for _ in range(40)] == [0] * 40
        assert assoc._echo  # the repeated ones took the byte path
    assert counter.calls == 41
    assert not assoc.is_established


def test_message_ids_wrap_like_the_async_association(scp: tuple[SyncServer, Counter]) -> None:
    server, _ = scp
    with associate("127.0.0.1", server.port, AEConfig()) as assoc:
        assoc._next_id = 0xFFFE
        assert [assoc.echo_status() for _ in range(4)] == [0] * 4
        assert assoc._next_id == 3  # 0xFFFF, then 1, 2, 3 (0 is not a message id)


@pytest.mark.parametrize("after", [0, 1, 5])
def test_a_failure_status_raises_also_after_cached_successes(after: int) -> None:
    counter = Counter(*([0] * after), 0x0110)
    with (
        SyncAE("SCP") as ae,
        ae.serve(0, {CEchoRequest: counter}) as server,
        associate("127.0.0.1", server.port, AEConfig()) as assoc,
    ):
        for _ in range(after):
            assert assoc.echo_status() == 0
        with pytest.raises(DimseError) as err:
            assoc.echo_status()
        assert err.value.status == 0x0110
        assert assoc.echo_status() == 0  # the association goes on
    assert counter.calls == after + 2


def _echo_answers(*answers: object) -> object:
    """A C-ECHO handler answering ``answers`` in turn (then success): a status, a whole
    response, or ``("sleep", seconds)`` before a success."""
    queue = list(answers)

    async def answer(incoming: Incoming) -> object:
        item = queue.pop(0) if queue else 0
        if isinstance(item, tuple):
            await asyncio.sleep(item[1])
            return 0
        return item

    return answer


def test_a_response_in_another_layout_still_decodes() -> None:
    """Once the byte path is set, a success with an Error Comment (bytes that differ from the
    kept response) goes to the full decoder; so does a failure with one, which raises."""
    comment = CEchoResponse(message_id_being_responded_to=0, error_comment="all fine anyway")
    failure = CEchoResponse(message_id_being_responded_to=0, status=0x0122, error_comment="no")
    handler = _echo_answers(0, 0, comment, 0, failure, 0)
    with (
        SyncAE("SCP") as ae,
        ae.serve(0, {CEchoRequest: handler}) as server,
        associate("127.0.0.1", server.port, AEConfig()) as assoc,
    ):
        assert [assoc.echo_status() for _ in range(4)] == [0] * 4
        assert assoc._echo  # kept after the first; the third was the other layout
        with pytest.raises(DimseError) as err:
            assoc.echo_status()
        assert err.value.status == 0x0122
        assert assoc.echo_status() == 0
        assert assoc._next_id == 6


def test_dimse_timeout_on_the_byte_path() -> None:
    config = AEConfig(timeouts=Timeouts(dimse=0.3))
    handler = _echo_answers(0, 0, ("sleep", 3.0))
    with SyncAE("SCP") as ae, ae.serve(0, {CEchoRequest: handler}) as server:
        assoc = associate("127.0.0.1", server.port, config)
        with (
            pytest.raises(NetworkTimeout, match=r"no response from .* to message 3 within 0\.3s"),
            assoc,
        ):
            assert [assoc.echo_status() for _ in range(2)] == [0, 0]
            assert assoc._echo
            assoc.echo_status()
        assert not assoc.is_established


def test_warning_status_is_returned_not_raised() -> None:
    counter = Counter(0, 0, 0xB000)
    with (
        SyncAE("SCP") as ae,
        ae.serve(0, {CEchoRequest: counter}) as server,
        associate("127.0.0.1", server.port, AEConfig()) as assoc,
    ):
        statuses = [assoc.echo_status() for _ in range(4)]
    assert statuses == [0, 0, 0xB000, 0]


def test_requests_pipelined_within_the_granted_window() -> None:
    """send_request / final_response: several requests out at once (the acceptor granted a
    window of 3), their answers taken in any order, each matched to its Message ID."""
    counter = Counter(0, 0xB000, 0, delay=0.02)
    with (
        SyncAE("SCP", config=AEConfig(ae_title="SCP", async_ops=(3, 3))) as ae,
        ae.serve(0, {CEchoRequest: counter}) as server,
        associate("127.0.0.1", server.port, AEConfig(), async_ops=(5, 1)) as assoc,
    ):
        assert assoc.async_ops == (3, 1)  # the acceptor's invoked, ours performed
        ids = [assoc.send_request(CEchoRequest()) for _ in range(3)]
        assert len(set(ids)) == 3
        statuses = {mid: assoc.final_response(mid).status for mid in reversed(ids)}
        assert sorted(statuses.values()) == [0, 0, 0xB000]
        assert not assoc.is_closed
    assert counter.calls == 3
    assert assoc.is_closed


def test_without_a_window_proposed_one_operation_at_a_time(
    scp: tuple[SyncServer, Counter],
) -> None:
    server, _ = scp
    with associate("127.0.0.1", server.port, AEConfig()) as assoc:
        assert assoc.async_ops == (1, 1)


def test_refused_connection_is_a_transport_error() -> None:
    port = peers.free_port()
    with pytest.raises(TransportError, match=f"cannot connect to 127.0.0.1:{port}"):
        associate("127.0.0.1", port, AEConfig())


def test_rejection_says_why() -> None:
    config = AEConfig(require_called_aet=True)
    with (
        SyncAE("REAL", config=config) as ae,
        ae.serve(0) as server,
        pytest.raises(AssociationRejected) as err,
    ):
        associate("127.0.0.1", server.port, AEConfig(), ae_title="WRONG")
    assert "called AE title not recognized" in str(err.value)
    assert (err.value.result, err.value.source, err.value.reason) == (1, 1, 7)


def test_dimse_timeout_then_abort() -> None:
    counter = Counter(delay=3.0)
    config = AEConfig(timeouts=Timeouts(dimse=0.3))
    with SyncAE("SCP") as ae, ae.serve(0, {CEchoRequest: counter}) as server:
        assoc = associate("127.0.0.1", server.port, config)
        with (
            pytest.raises(NetworkTimeout, match=r"no response from .* to message 1 within 0\.3s"),
            assoc,
        ):
            assoc.echo_status()
        assert not assoc.is_established  # a network error aborts on the way out


def test_peer_abort_ends_the_association_with_its_words() -> None:
    with SyncAE("SCP") as ae:
        server = ae.serve(0)
        assoc = associate("127.0.0.1", server.port, AEConfig())
        assert assoc.echo_status() == 0
        server.close(abort=True)
        with pytest.raises(AssociationAborted):
            for _ in range(50):  # the A-ABORT arrives at some point
                assoc.echo_status()
        assoc.abort()


def test_protocol_log_is_the_async_associations(
    scp: tuple[SyncServer, Counter], caplog: pytest.LogCaptureFixture
) -> None:
    server, _ = scp
    caplog.set_level(logging.INFO, logger="dicomkit.net")
    with SyncAE("DICOMKIT") as ae, ae.associate("127.0.0.1", server.port) as sync_assoc:
        sync_assoc.echo()
    ours = f"127.0.0.1:{server.port}: "  # the requestor's lines (not the SCP's)
    seen_async = [r.getMessage() for r in caplog.records if r.getMessage().startswith(ours)]
    caplog.clear()
    with associate("127.0.0.1", server.port, AEConfig()) as assoc:
        assoc.echo_status()
        assoc.echo_status()  # logged: no byte path while the DIMSE log is on
    seen = [r.getMessage() for r in caplog.records if r.getMessage().startswith(ours)]
    assert len(seen_async) > 10 and seen[: len(seen_async)] == seen_async
    assert "sent C-ECHO-RQ id 2" in seen[-2] and "response to 2" in seen[-1]


@pytest.mark.interop
def test_repeated_echo_to_dcmtk_storescp(tmp_path: Path) -> None:
    """DCMTK writes a PDU's header and its PDV apart: the byte path reads on to the whole
    response; every C-ECHO reaches storescp."""
    port = peers.free_port()
    with peers.dcmtk_server("storescp", "-v", "-od", str(tmp_path), str(port), port=port) as proc:
        with associate("127.0.0.1", port, AEConfig(), ae_title="STORESCP") as assoc:
            assert [assoc.echo_status() for _ in range(200)] == [0] * 200
            assert assoc._echo
        out = peers.stop_and_read(proc)
    assert out.count("Received Echo Request") == 200


def test_tls_handshake_failure_is_a_transport_error() -> None:
    """A peer that does not speak TLS: the handshake fails, as a TransportError."""
    import socket
    import ssl

    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

        def answer() -> None:
            conn, _ = listener.accept()
            with conn:
                conn.recv(4096)
                conn.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\n")

        thread = threading.Thread(target=answer, daemon=True)
        thread.start()
        with pytest.raises(TransportError, match=f"cannot connect to 127.0.0.1:{port}"):
            associate("127.0.0.1", port, AEConfig(), ssl_context=ssl.create_default_context())
        thread.join(10)


class _Dribbler:
    """A TCP relay to ``port`` that passes the peer's answers on in pieces of 3 and 5 bytes,
    then the rest, with pauses between: every read of the requestor meets part of a PDU."""

    def __init__(self, port: int) -> None:
        import socket

        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.target = port
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        import socket
        import time

        client, _ = self.listener.accept()
        server = socket.create_connection(("127.0.0.1", self.target))
        for s in (client, server):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def up() -> None:  # requestor -> SCP as it comes
            while data := client.recv(65536):
                server.sendall(data)
            server.shutdown(socket.SHUT_WR)

        threading.Thread(target=up, daemon=True).start()
        while data := server.recv(65536):
            for piece in (data[:3], data[3:8], data[8:]):
                if piece:
                    client.sendall(piece)
                    time.sleep(0.005)
        client.close()
        server.close()

    def close(self) -> None:
        self.listener.close()
        self.thread.join(10)


def test_answers_in_pieces(tmp_path: Path) -> None:
    """Responses cut anywhere (a PDU header in two reads, a body after a pause): echoes,
    repeated echoes and C-STOREs all get their answers."""
    from helpers import plain_part10_files

    from dicomkit.net.proto import _dimse as dimse
    from dicomkit.services._storage import StorageSCP
    from dicomkit.services._store_scu import contexts_for, read_instance, send_files

    instances = [read_instance(p) for p in plain_part10_files(2)]
    handlers = {CEchoRequest: Counter(), dimse.CStoreRequest: StorageSCP(tmp_path, fsync=False)}
    with SyncAE("SCP") as ae, ae.serve(0, handlers) as server:
        relay = _Dribbler(server.port)
        contexts = [*contexts_for(instances), ("1.2.840.10008.1.1", ["1.2.840.10008.1.2"])]
        try:
            with associate(
                "127.0.0.1", relay.port, AEConfig(), ae_title="SCP", contexts=contexts
            ) as assoc:
                assert assoc.echo().status == 0
                assert [assoc.echo_status() for _ in range(5)] == [0] * 5
                results = send_files(assoc, instances)
        finally:
            relay.close()
    assert [r.status for r in results] == [0, 0], results
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"{i.sop_instance}.dcm" for i in instances
    )

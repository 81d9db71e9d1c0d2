"""C-ECHO interop with real peers, both directions (127.0.0.1 only).

* DCMTK ``echoscu`` (absolute path, TCP_NODELAY=1) against our SCP: plain, ``--repeat``, small
  maximum PDU sizes, many proposed transfer syntaxes and presentation contexts, called /
  calling AE title checks and the association limit (each rejection with the reason echoscu
  prints), release and ``--abort`` (what our side observed).
* Our SCU against DCMTK ``storescp`` (which answers C-ECHO) and against a pynetdicom SCP.
* The ``dicomkit echo`` command against storescp: exit codes a script can trust.

Our SCP records, in its C-ECHO handler, what it negotiated; the tests compare that with what
the peer printed.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import peers
import pytest

from dicomkit.errors import AssociationAborted, AssociationRejected
from dicomkit.net import AE, AEConfig, Association, Incoming
from dicomkit.net._sync import SyncAE, SyncServer
from dicomkit.net.proto import _dimse as dimse
from dicomkit.net.proto._negotiation import AcceptorConfig

pytestmark = pytest.mark.interop

VERIFICATION = "1.2.840.10008.1.1"
IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
WAIT = 15.0


@dataclasses.dataclass
class Seen:
    """One C-ECHO as our SCP saw it."""

    association: Association
    message_id: int
    calling_ae: str
    called_ae: str
    transfer_syntax: str
    peer_max_pdu: int
    contexts: int
    accepted: int


class Recorder:
    """A C-ECHO handler that records what was negotiated (runs on the server's loop)."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self._lock = threading.Lock()

    async def __call__(self, incoming: Incoming) -> int:
        assoc = incoming.association
        assert assoc.negotiated is not None
        with self._lock:
            self.seen.append(
                Seen(
                    assoc,
                    incoming.message.message_id,
                    assoc.calling_ae,
                    assoc.called_ae,
                    incoming.context.transfer_syntax,
                    assoc.peer_max_pdu,
                    len(assoc.negotiated.contexts),
                    len(assoc.accepted_contexts),
                )
            )
        return 0


class CallingChecked(AE):
    """Our AE with the negotiation layer's calling AE title check switched on."""

    allowed = frozenset({"GOODSCU"})

    def acceptor_config(self, handlers: Any) -> AcceptorConfig:
        return dataclasses.replace(
            super().acceptor_config(handlers), calling_ae_titles=self.allowed
        )


@dataclasses.dataclass
class OurSCP:
    ae: SyncAE
    server: SyncServer
    recorder: Recorder

    @property
    def port(self) -> int:
        return self.server.port

    def on_loop(self, fn: Any) -> Any:
        """Evaluate ``fn()`` on the server's event loop (its state is not thread-safe)."""

        async def call() -> Any:
            return fn()

        return self.ae.runner.run(call(), WAIT)

    def wait_closed(self, assoc: Association) -> None:
        async def wait() -> None:
            await assoc.wait_closed()

        self.ae.runner.run(wait(), WAIT)

    def live(self) -> int:
        return int(self.on_loop(lambda: len(self.server.server.associations)))

    def poll_idle(self) -> None:
        """Bounded wait until the server holds no association."""
        import time

        deadline = time.monotonic() + WAIT
        while self.live():
            assert time.monotonic() < deadline, "the server still holds an association"
            self.ae.runner.run(_tick(), WAIT)


async def _tick() -> None:
    import asyncio

    await asyncio.sleep(0.01)


def our_scp(config: AEConfig | None = None, ae: AE | None = None) -> Any:
    recorder = Recorder()
    sync = SyncAE("OURSCP", config=config)
    if ae is not None:
        sync.ae = ae
    sync.ae.handlers[dimse.CEchoRequest] = recorder
    server = sync.serve(0)
    return sync, server, recorder


@pytest.fixture
def scp() -> Iterator[OurSCP]:
    sync, server, recorder = our_scp(AEConfig(ae_title="OURSCP", require_called_aet=True))
    with sync, server:
        yield OurSCP(sync, server, recorder)


def echoscu(
    port: int, *args: str, aec: str = "OURSCP", aet: str = "ECHOSCU", check: bool = True
) -> subprocess.CompletedProcess[str]:
    proc: subprocess.CompletedProcess[str] = peers.run_dcmtk(
        "echoscu", "-v", "-aet", aet, "-aec", aec, *args, "127.0.0.1", str(port), check=check
    )
    return proc


def output(proc: subprocess.CompletedProcess[str]) -> str:
    return proc.stdout + proc.stderr


# -- echoscu -> our SCP ----------------------------------------------------------------------


def test_echoscu_plain(scp: OurSCP) -> None:
    proc = echoscu(scp.port)
    assert "Received Echo Response (Success)" in output(proc)
    assert len(scp.recorder.seen) == 1
    seen = scp.recorder.seen[0]
    assert (seen.calling_ae, seen.called_ae) == ("ECHOSCU", "OURSCP")
    assert seen.peer_max_pdu == 16384  # echoscu's default receive limit
    assert seen.transfer_syntax == IMPLICIT_LE
    scp.wait_closed(seen.association)
    assert seen.association.error is None  # released, not aborted


def test_echoscu_repeat_on_one_association(scp: OurSCP) -> None:
    proc = echoscu(scp.port, "--repeat", "7")
    assert output(proc).count("Received Echo Response (Success)") == 7
    seen = scp.recorder.seen
    assert [s.message_id for s in seen] == list(range(1, 8))
    assert len({id(s.association) for s in seen}) == 1


@pytest.mark.parametrize("pdu", [4096, 16384, 131072])
def test_echoscu_max_pdu(scp: OurSCP, pdu: int) -> None:
    proc = echoscu(scp.port, "-pdu", str(pdu), "--repeat", "2")
    assert output(proc).count("Received Echo Response (Success)") == 2
    assert [s.peer_max_pdu for s in scp.recorder.seen] == [pdu, pdu]
    # and echoscu saw our limit (DCMTK caps what it reports at its own 128 KiB maximum)
    assert "Association Accepted (Max Send PDV: 131060)" in output(proc)


@pytest.mark.parametrize("count", [1, 2, 3, 10, 38])
def test_echoscu_proposing_many_transfer_syntaxes(scp: OurSCP, count: int) -> None:
    proc = peers.run_dcmtk(
        "echoscu", "-d", "-aec", "OURSCP", "-pts", str(count), "127.0.0.1", str(scp.port)
    )
    text = output(proc)
    assert "Received Echo Response (Success)" in text
    (seen,) = scp.recorder.seen
    assert seen.transfer_syntax in (IMPLICIT_LE, EXPLICIT_LE)
    # the requestor's order wins: echoscu proposes implicit VR little endian first
    assert seen.transfer_syntax == IMPLICIT_LE


@pytest.mark.parametrize("count", [1, 2, 64, 128])
def test_echoscu_proposing_many_presentation_contexts(scp: OurSCP, count: int) -> None:
    proc = echoscu(scp.port, "-ppc", str(count))
    assert "Received Echo Response (Success)" in output(proc)
    (seen,) = scp.recorder.seen
    assert (seen.contexts, seen.accepted) == (count, count)


def test_echoscu_wrong_called_ae_is_rejected(scp: OurSCP) -> None:
    proc = echoscu(scp.port, aec="NOT-US", check=False)
    text = output(proc)
    assert proc.returncode != 0
    assert "Association Rejected" in text
    assert "Result: Rejected Permanent, Source: Service User" in text
    assert "Reason: Called AE Title Not Recognized" in text
    assert scp.recorder.seen == []
    # and the right title still works
    assert "Success" in output(echoscu(scp.port))


def test_echoscu_wrong_calling_ae_is_rejected() -> None:
    sync, server, recorder = our_scp(ae=CallingChecked("OURSCP"))
    with sync, server:
        proc = echoscu(server.port, aet="BADSCU", check=False)
        text = output(proc)
        assert proc.returncode != 0
        assert "Result: Rejected Permanent, Source: Service User" in text
        assert "Reason: Calling AE Title Not Recognized" in text
        assert recorder.seen == []
        assert "Success" in output(echoscu(server.port, aet="GOODSCU"))
        assert [s.calling_ae for s in recorder.seen] == ["GOODSCU"]


def test_echoscu_over_the_association_limit_is_rejected_transiently() -> None:
    sync, server, recorder = our_scp(AEConfig(ae_title="OURSCP", max_associations=1))
    with sync, server:
        holder = SyncAE("HOLDER")
        with holder, holder.associate("127.0.0.1", server.port, ae_title="OURSCP") as held:
            proc = echoscu(server.port, check=False)
            text = output(proc)
            assert proc.returncode != 0
            assert (
                "Result: Rejected Transient, Source: Service Provider (Presentation Related)"
                in text
            )
            assert "Reason: Local Limit Exceeded" in text
            assert held.echo().status == 0
        our = OurSCP(sync, server, recorder)
        our.poll_idle()
        assert "Success" in output(echoscu(server.port))


def test_echoscu_abort_is_seen_by_our_scp(scp: OurSCP) -> None:
    proc = echoscu(scp.port, "--abort")
    assert "Aborting Association" in output(proc)
    (seen,) = scp.recorder.seen
    scp.wait_closed(seen.association)
    err = seen.association.error
    assert isinstance(err, AssociationAborted), err
    assert err.source == 0  # A-ABORT from the service-user, not a provider abort
    scp.poll_idle()
    assert "Success" in output(echoscu(scp.port))


# -- our SCU -> DCMTK storescp ---------------------------------------------------------------


@pytest.fixture
def storescp(tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = peers.free_port()
    with peers.dcmtk_server(
        "storescp",
        "-v",
        "-pdu",
        "4096",
        "-aet",
        "STORESCP",
        "-od",
        str(tmp_path),
        str(port),
        port=port,
    ) as proc:
        yield port, proc


def test_our_scu_echo_to_storescp(storescp: tuple[int, subprocess.Popen[bytes]]) -> None:
    port, proc = storescp
    ae = SyncAE("OURSCU")
    with (
        ae,
        ae.associate(
            "127.0.0.1",
            port,
            ae_title="STORESCP",
            contexts=[(VERIFICATION, [EXPLICIT_LE, IMPLICIT_LE])],
        ) as assoc,
    ):
        assert [assoc.echo().status for _ in range(5)] == [0] * 5
        assert assoc.association.peer_max_pdu == 4096
        (ctx,) = assoc.accepted_contexts
        assert ctx.abstract_syntax == VERIFICATION
        assert ctx.transfer_syntax in (EXPLICIT_LE, IMPLICIT_LE)
    log = peers.stop_and_read(proc)
    assert log.count("Received Echo Request") == 5
    assert "Association Release" in log


def test_our_scu_abort_seen_by_storescp(storescp: tuple[int, subprocess.Popen[bytes]]) -> None:
    port, proc = storescp
    ae = SyncAE("OURSCU")
    with ae:
        assoc = ae.associate("127.0.0.1", port, ae_title="STORESCP")
        assert assoc.echo().status == 0
        assoc.abort()
        assert assoc.association.is_closed
        # storescp serves one association at a time: once a second one is answered, the
        # abort has been handled (and logged) -- no race with stopping it
        with ae.associate("127.0.0.1", port, ae_title="STORESCP") as again:
            assert again.echo().status == 0
    log = peers.stop_and_read(proc)
    assert "Association Aborted" in log


def test_our_scu_rejected_by_refusing_storescp(tmp_path: Path) -> None:
    port = peers.free_port()
    with peers.dcmtk_server("storescp", "--refuse", str(port), port=port):
        ae = SyncAE("OURSCU")
        with ae, pytest.raises(AssociationRejected) as info:
            ae.associate("127.0.0.1", port, ae_title="STORESCP")
    # storescp --refuse: rejected-permanent, service-user, no-reason-given
    assert (info.value.result, info.value.source, info.value.reason) == (1, 1, 1)


def test_cli_echo_against_storescp(storescp: tuple[int, subprocess.Popen[bytes]]) -> None:
    port, proc = storescp
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "dicomkit.cli._main",
            "echo",
            "--aec",
            "STORESCP",
            "--repeat",
            "3",
            "127.0.0.1",
            str(port),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count("C-ECHO STORESCP@127.0.0.1") == 3
    assert peers.stop_and_read(proc).count("Received Echo Request") == 3


def test_cli_echo_rejected_exits_nonzero(tmp_path: Path) -> None:
    port = peers.free_port()
    with peers.dcmtk_server("storescp", "--refuse", str(port), port=port):
        run = subprocess.run(
            [sys.executable, "-m", "dicomkit.cli._main", "echo", "127.0.0.1", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert run.returncode != 0
    assert "reject" in (run.stdout + run.stderr).lower()
    assert "Traceback" not in run.stderr


# -- our SCU -> pynetdicom SCP ---------------------------------------------------------------


@pytest.fixture
def pynetdicom_scp() -> Iterator[tuple[int, list[Any]]]:
    pynetdicom = peers.require_module("pynetdicom")
    seen: list[Any] = []

    def on_echo(event: Any) -> int:
        seen.append(
            (
                event.assoc.requestor.ae_title,
                event.context.transfer_syntax,
                event.assoc.requestor.maximum_length,
            )
        )
        return 0x0000

    ae = pynetdicom.AE(ae_title="PYSCP")
    ae.add_supported_context(VERIFICATION, [EXPLICIT_LE, IMPLICIT_LE])
    port = peers.free_port()
    server = ae.start_server(
        ("127.0.0.1", port), block=False, evt_handlers=[(pynetdicom.evt.EVT_C_ECHO, on_echo)]
    )
    try:
        yield port, seen
    finally:
        server.shutdown()


def test_our_scu_echo_to_pynetdicom(pynetdicom_scp: tuple[int, list[Any]]) -> None:
    port, seen = pynetdicom_scp
    ae = SyncAE("OURSCU", config=AEConfig(ae_title="OURSCU", max_pdu=32768))
    with (
        ae,
        ae.associate(
            "127.0.0.1",
            port,
            ae_title="PYSCP",
            contexts=[(VERIFICATION, [IMPLICIT_LE, EXPLICIT_LE])],
        ) as assoc,
    ):
        assert [assoc.echo().status for _ in range(3)] == [0, 0, 0]
        (ctx,) = assoc.accepted_contexts
    assert [s[0] for s in seen] == ["OURSCU"] * 3
    assert {s[2] for s in seen} == {32768}
    assert {str(s[1]) for s in seen} == {ctx.transfer_syntax}

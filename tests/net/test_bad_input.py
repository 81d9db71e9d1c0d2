"""Bad input to our SCP over real sockets (127.0.0.1), issue #4 "Bad input".

Each hostile peer must lose its own association -- an A-ABORT (or an A-ASSOCIATE-RJ / a plain
close), then the connection closed by the server -- with a log line naming the cause, while
the server keeps serving: a client associated *before* the hostile one keeps working on its
association, and a new client's C-ECHO succeeds afterwards. A C-STORE cut off mid data set
leaves no file (partial or temporary) in the output folder.

Timeouts are the values an operator would set (``Timeouts(acse=30, ...)``, seconds), and the
server's clock is scaled (:class:`dicomkit.net._clock.Clock`, 1 protocol second = 10 ms), so a
silent peer is dropped in a fraction of a real second; nothing here sleeps or measures time:
every wait is a bounded poll or an ``asyncio.timeout`` that fails the test.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import poll, run

from dicomkit.errors import AssociationAborted
from dicomkit.net import AE, AEConfig, Association, Server, Timeouts
from dicomkit.net._clock import Clock
from dicomkit.net.proto import _dimse as dimse
from dicomkit.net.proto import _events as ev
from dicomkit.net.proto._negotiation import build_request
from dicomkit.net.proto._upper_layer import Role, UpperLayer
from dicomkit.services._storage import StorageSCP

VERIFICATION = "1.2.840.10008.1.1"
IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
LOGGER = "dicomkit.net"
#: Bounds for every wait: a hang fails the test instead of blocking the run.
WAIT = 15.0

#: The server's clock in these tests: each protocol second lasts 10 ms of real time.
CLOCK = Clock(scale=0.01)
FAST = AEConfig(timeouts=Timeouts(connect=5, acse=30, dimse=30, idle=200))


def rq_bytes(contexts: list[tuple[str, list[str]]] | None = None, called: str = "SCP") -> bytes:
    return build_request(called, "RAW", contexts or [(VERIFICATION, [IMPLICIT_LE])]).encode()


def pdu(pdu_type: int, body: bytes) -> bytes:
    return bytes([pdu_type, 0]) + struct.pack(">I", len(body)) + body


def pdv(context_id: int, control: int, data: bytes) -> bytes:
    return struct.pack(">I", len(data) + 2) + bytes([context_id, control]) + data


def echo_command(message_id: int = 1) -> bytes:
    return dimse.encode_message(dimse.CEchoRequest(message_id=message_id))


@contextlib.asynccontextmanager
async def serving(
    config: AEConfig = FAST, handlers: Any = None, clock: Clock = CLOCK
) -> AsyncIterator[Server]:
    server = await AE("SCP", config=config, clock=clock).serve(0, handlers)
    async with server:
        yield server


class Raw:
    """A raw TCP client: send exactly the bytes a test wants, read what the server says."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, port: int) -> Raw:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def read_pdu(self) -> bytes:
        """One whole PDU (b"" if the server closed first)."""
        async with asyncio.timeout(WAIT):
            try:
                head = await self.reader.readexactly(6)
            except asyncio.IncompleteReadError as exc:
                assert not exc.partial, f"server sent a truncated PDU header {exc.partial!r}"
                return b""
            (length,) = struct.unpack(">I", head[2:])
            return head + await self.reader.readexactly(length)

    async def until_closed(self) -> bytes:
        """Everything the server sends until it closes the connection (bounded)."""
        data = b""
        try:
            async with asyncio.timeout(WAIT):
                with contextlib.suppress(ConnectionError):
                    while chunk := await self.reader.read(65536):
                        data += chunk
        except TimeoutError:
            raise AssertionError(
                f"the server kept the connection open for {WAIT}s (received {data[:16]!r})"
            ) from None
        return data

    async def associate(self, contexts: list[tuple[str, list[str]]] | None = None) -> bytes:
        await self.send(rq_bytes(contexts))
        answer = await self.read_pdu()
        assert answer[:1] == b"\x02", f"expected an A-ASSOCIATE-AC, got {answer[:16]!r}"
        return answer

    def close(self) -> None:
        self.writer.close()


async def echo_ok(port: int) -> None:
    async with AE("CHECK").associate("127.0.0.1", port, ae_title="SCP") as assoc:
        assert (await assoc.echo()).status == 0


def assert_ended_by_abort(data: bytes) -> None:
    """The server answered with an A-ABORT PDU (type 07, length 4) and then closed."""
    assert data[:1] == b"\x07", f"expected an A-ABORT, got {data[:16]!r}"
    assert data[2:6] == b"\x00\x00\x00\x04"
    assert len(data) == 10, f"bytes after the A-ABORT: {data[10:]!r}"


def causes(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(r.getMessage() for r in caplog.records if r.name == LOGGER)


async def hostile_then_survive(
    server: Server, payload: bytes, *, associate_first: bool, bystander: bool = True
) -> bytes:
    """A bystander associates, the hostile peer sends ``payload``; the server drops only the
    hostile association: the bystander still echoes, a newcomer too. Returns what the hostile
    peer received before the server closed its connection. (No bystander when the idle
    timeout is what drops the hostile peer: it would idle out too.)"""
    other = (
        await AE("BYSTANDER").associate("127.0.0.1", server.port, ae_title="SCP")
        if bystander
        else None
    )
    try:
        raw = await Raw.connect(server.port)
        if associate_first:
            await raw.associate()
        await raw.send(payload)
        data = await raw.until_closed()
        raw.close()
        await poll(
            lambda: len(server.associations) == (1 if other else 0),
            "the hostile association to end",
        )
        if other is not None:
            assert other.is_established and not other.is_closed
            assert (await other.echo()).status == 0
        await echo_ok(server.port)
    finally:
        if other is not None:
            await other.release()
    return data


# -- before the association ------------------------------------------------------------------

RQ = rq_bytes()

BEFORE_ASSOCIATION = {
    # name: (payload, words the log line naming the cause must contain)
    "garbage": (b"\xde\xad\xbe\xef" * 64, ["unrecognized PDU type 0xDE"]),
    "unknown-pdu-type-09": (pdu(0x09, b"\x00" * 4), ["unrecognized PDU type 0x09"]),
    "unknown-pdu-type-ff": (pdu(0xFF, b"\x00" * 16), ["unrecognized PDU type 0xFF"]),
    "associate-rq-declaring-4gb": (
        b"\x01\x00\xff\xff\xff\xff" + RQ[6:],
        ["A-ASSOCIATE-RQ", "4294967295"],
    ),
    "associate-rq-length-too-short": (
        b"\x01\x00" + struct.pack(">I", 20) + RQ[6:26],
        ["A-ASSOCIATE-RQ", "length 20"],
    ),
    # the first item (application context, at offset 74) claims 65535 bytes
    "item-length-runs-past-pdu": (
        RQ[:74] + b"\x10\x00\xff\xff" + RQ[78:],
        ["A-ASSOCIATE-RQ", "65535"],
    ),
    "p-data-before-association": (pdu(0x04, pdv(1, 0x03, echo_command())), ["P-DATA-TF"]),
    "release-rq-before-association": (pdu(0x05, b"\x00" * 4), ["A-RELEASE-RQ"]),
    "release-rp-before-association": (pdu(0x06, b"\x00" * 4), ["A-RELEASE-RP"]),
    "associate-ac-to-an-acceptor": (b"\x02" + RQ[1:], ["A-ASSOCIATE-AC"]),
    "associate-rj-to-an-acceptor": (pdu(0x03, b"\x00\x01\x01\x01"), ["A-ASSOCIATE-RJ"]),
}


@pytest.mark.parametrize("name", list(BEFORE_ASSOCIATION))
def test_bad_input_before_association(name: str, caplog: pytest.LogCaptureFixture) -> None:
    payload, words = BEFORE_ASSOCIATION[name]

    async def main() -> bytes:
        async with serving() as server:
            with caplog.at_level(logging.INFO, logger=LOGGER):
                return await hostile_then_survive(server, payload, associate_first=False)

    data = run(main())
    assert_ended_by_abort(data)
    text = causes(caplog)
    line = next((ln for ln in text.splitlines() if all(w in ln for w in words)), None)
    assert line is not None, f"no log line naming the cause {words}:\n{text}"


def test_declared_4gb_associate_rq_is_refused_from_its_header(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Only the 6-byte header is sent: the server must refuse on the declared length alone
    rather than wait for (or allocate) 4 GB."""

    async def main() -> bytes:
        long = AEConfig(timeouts=Timeouts(acse=30, dimse=30, idle=30))
        async with serving(long, clock=Clock()) as server:
            with caplog.at_level(logging.INFO, logger=LOGGER):
                raw = await Raw.connect(server.port)
                await raw.send(b"\x01\x00\xff\xff\xff\xff")
                answer = await raw.read_pdu()  # no ARTIM expiry needed to get an answer
                raw.close()
                await poll(lambda: not server.associations, "the association to end")
                await echo_ok(server.port)
                return answer

    answer = run(main())
    assert answer[:1] == b"\x07"
    assert "4294967295" in causes(caplog)


def test_a_abort_before_association_just_closes() -> None:
    """A-ABORT in Sta2 (PS3.8 AA-2): the server closes the connection without answering."""

    async def main() -> bytes:
        async with serving() as server:
            return await hostile_then_survive(
                server, pdu(0x07, b"\x00\x00\x00\x00"), associate_first=False
            )

    assert run(main()) == b""


# -- after the association ---------------------------------------------------------------------

AFTER_ASSOCIATION = {
    "garbage": (b"\xde\xad\xbe\xef" * 64, ["unrecognized PDU type 0xDE"]),
    "unknown-pdu-type": (pdu(0x09, b"\x00" * 4), ["0x09"]),
    "second-associate-rq": (RQ, ["A-ASSOCIATE-RQ"]),
    "p-data-declaring-4gb": (b"\x04\x00\xff\xff\xff\xff" + pdv(1, 0x03, b"x" * 64), ["4294967295"]),
    # the PDV item claims more bytes than its PDU holds
    "pdv-length-runs-past-pdu": (
        pdu(0x04, struct.pack(">I", 1000) + b"\x01\x03" + b"x" * 10),
        ["P-DATA-TF"],
    ),
    # a PDV item too short to hold the context id and the message control header
    "pdv-length-too-short": (pdu(0x04, struct.pack(">I", 1) + b"\x01"), ["P-DATA-TF"]),
    "release-rp-unasked": (pdu(0x06, b"\x00" * 4), ["A-RELEASE-RP"]),
    "command-not-a-command-set": (pdu(0x04, pdv(1, 0x03, b"NOT A COMMAND")), ["DIMSE"]),
    "command-on-unproposed-context": (
        pdu(0x04, pdv(3, 0x03, echo_command())),
        ["presentation context", "3"],
    ),
    "data-set-without-command": (
        pdu(0x04, pdv(1, 0x02, b"\x08\x00\x16\x00\x00\x00\x00\x00")),
        ["no command"],
    ),
}


@pytest.mark.parametrize("name", list(AFTER_ASSOCIATION))
def test_bad_input_after_association(name: str, caplog: pytest.LogCaptureFixture) -> None:
    payload, words = AFTER_ASSOCIATION[name]

    async def main() -> bytes:
        async with serving() as server:
            with caplog.at_level(logging.INFO, logger=LOGGER):
                return await hostile_then_survive(server, payload, associate_first=True)

    data = run(main())
    assert_ended_by_abort(data)
    text = causes(caplog)
    line = next(
        (ln for ln in text.splitlines() if "abort" in ln.lower() and all(w in ln for w in words)),
        None,
    )
    assert line is not None, f"no log line naming the cause {words}:\n{text}"


# -- silent peers ------------------------------------------------------------------------------


def test_silent_mid_associate_rq_is_closed_by_artim(caplog: pytest.LogCaptureFixture) -> None:
    """Half an A-ASSOCIATE-RQ, then silence: the ARTIM timer (``Timeouts.acse``) ends it."""

    async def main() -> bytes:
        cfg = AEConfig(timeouts=Timeouts(acse=30, dimse=None, idle=None))
        async with serving(cfg) as server:
            with caplog.at_level(logging.INFO, logger=LOGGER):
                return await hostile_then_survive(server, RQ[:40], associate_first=False)

    data = run(main())
    assert data in (b"",) or data[:1] == b"\x07"
    assert "ARTIM" in causes(caplog)


def test_silent_mid_pdu_is_closed_by_idle_timeout(caplog: pytest.LogCaptureFixture) -> None:
    """Half a P-DATA-TF, then silence: ``Timeouts.idle`` ends the association (A-ABORT)."""

    async def main() -> bytes:
        # idle 60 s: short enough to wait for, long enough for the check-up echo after it
        cfg = AEConfig(timeouts=Timeouts(acse=30, dimse=None, idle=60))
        async with serving(cfg) as server:
            with caplog.at_level(logging.INFO, logger=LOGGER):
                half = pdu(0x04, pdv(1, 0x03, echo_command()))[:9]
                return await hostile_then_survive(
                    server, half, associate_first=True, bystander=False
                )

    data = run(main())
    assert_ended_by_abort(data)
    assert "idle" in causes(caplog)


SILENT_MID_MESSAGE = {
    # the first 9 bytes of a P-DATA-TF carrying a command: silent inside the PDU
    "mid-pdu": pdu(0x04, pdv(1, 0x03, echo_command()))[:9],
    # a whole command PDV that says "not last": silent between two PDUs of one message
    "mid-command": pdu(0x04, pdv(1, 0x01, echo_command()[:20])),
}


@pytest.mark.parametrize("name", list(SILENT_MID_MESSAGE))
def test_silent_mid_message_is_closed_by_dimse_timeout(
    name: str, caplog: pytest.LogCaptureFixture
) -> None:
    """``Timeouts.dimse`` is documented (net/config.py) as "how long ... an SCP [waits] for
    the rest of a message once it started": with the idle timeout off, a peer that stops
    mid-message must still be dropped once ``dimse`` seconds pass. (docs/dev/findings-net.md F1)"""

    async def main() -> bytes:
        cfg = AEConfig(timeouts=Timeouts(acse=30, dimse=30, idle=None))
        async with serving(cfg) as server:
            with caplog.at_level(logging.INFO, logger=LOGGER):
                return await hostile_then_survive(
                    server, SILENT_MID_MESSAGE[name], associate_first=True
                )

    data = run(main())
    assert data == b"" or data[:1] == b"\x07"
    assert "timeout" in causes(caplog).lower() or "timed out" in causes(caplog).lower()


# -- a C-STORE cut off mid data set --------------------------------------------------------------


def store_command(instance: str) -> bytes:
    return dimse.encode_message(
        dimse.CStoreRequest(
            message_id=7,
            affected_sop_class_uid=SECONDARY_CAPTURE,
            affected_sop_instance_uid=instance,
            has_dataset=True,
        )
    )


def dataset_head(instance: str, pixel_bytes: int) -> bytes:
    """Explicit VR LE: SOP Class, SOP Instance, then the header of a long OB Pixel Data."""

    def ui(tag: int, value: str) -> bytes:
        raw = value.encode() + (b"\x00" if len(value) % 2 else b"")
        return (
            struct.pack("<HH", tag >> 16, tag & 0xFFFF) + b"UI" + struct.pack("<H", len(raw)) + raw
        )

    return (
        ui(0x00080016, SECONDARY_CAPTURE)
        + ui(0x00080018, instance)
        + b"\xe0\x7f\x10\x00OB\x00\x00"
        + struct.pack("<I", pixel_bytes)
    )


def files_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


CUT_OFF = ["a-abort", "tcp-close", "garbage-pdu"]


@pytest.mark.parametrize("how", CUT_OFF)
def test_cstore_cut_off_mid_dataset_leaves_no_file(
    how: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "out"
    instance = "1.2.826.0.1.3680043.10.1393.99.1"

    async def main() -> None:
        scp = StorageSCP(out, fsync=False)
        async with serving(handlers={dimse.CStoreRequest: scp}) as server:
            engine = UpperLayer(Role.REQUESTOR)
            raw = await Raw.connect(server.port)
            engine.connection_made()
            rq = build_request("SCP", "RAW", [(SECONDARY_CAPTURE, [EXPLICIT_LE])])
            engine.send(ev.AssociateRequest(rq))
            await raw.send(b"".join(engine.data_to_send()))
            engine.receive_data(await raw.read_pdu())
            assert isinstance(engine.next_event(), ev.AssociateAccepted)
            cid = min(engine.accepted_context_ids)
            engine.send_data(cid, store_command(instance), is_command=True)
            for chunk in engine.data_to_send():
                await raw.send(chunk)
            head = dataset_head(instance, 8 << 20)
            engine.send_data(cid, head + b"\x55" * 300_000, is_command=False, last=False)
            for chunk in engine.data_to_send():
                await raw.send(chunk)
            # the server has started writing: a (temporary) file exists
            await poll(lambda: bool(files_in(out)), "the streamed data set to reach a file")
            with caplog.at_level(logging.INFO, logger=LOGGER):
                if how == "a-abort":
                    engine.send(ev.Abort())
                    await raw.send(b"".join(engine.data_to_send()))
                elif how == "garbage-pdu":
                    await raw.send(b"\xde\xad\xbe\xef" * 4)
                raw.close()
                await poll(lambda: not server.associations, "the cut-off association to end")
            assert files_in(out) == [], f"left behind: {files_in(out)}"
            # the server still stores a complete instance afterwards
            async with AE("SCU").associate(
                "127.0.0.1",
                server.port,
                ae_title="SCP",
                contexts=[(SECONDARY_CAPTURE, [EXPLICIT_LE])],
            ) as a:
                data = dataset_head("1.2.3.4.5", 1024) + bytes(1024)
                rsp = await a.request(
                    dimse.CStoreRequest(
                        affected_sop_class_uid=SECONDARY_CAPTURE,
                        affected_sop_instance_uid="1.2.3.4.5",
                    ),
                    data,
                )
                assert rsp.status == 0
            assert [p.name for p in files_in(out)] == ["1.2.3.4.5.dcm"]

    run(main())
    if how != "tcp-close":
        assert causes(caplog), "the cut-off association left no log line"


def test_cstore_scu_aborting_mid_stream_leaves_no_file(tmp_path: Path) -> None:
    """Our own SCU streams chunks from an iterator that fails half way; the SCU then aborts.
    The SCP sees an A-ABORT mid data set and removes its temporary file."""
    out = tmp_path / "out"

    def chunks() -> Iterator[bytes]:
        yield dataset_head("1.2.3.9", 16 << 20)
        for _ in range(3):
            yield bytes(256 * 1024)
        raise OSError("disk read failed half way")

    async def main() -> None:
        async with serving(handlers={dimse.CStoreRequest: StorageSCP(out, fsync=False)}) as server:
            assoc: Association = await AE("SCU").associate(
                "127.0.0.1",
                server.port,
                ae_title="SCP",
                contexts=[(SECONDARY_CAPTURE, [EXPLICIT_LE])],
            )
            with pytest.raises(OSError, match="half way"):
                await assoc.request(
                    dimse.CStoreRequest(
                        affected_sop_class_uid=SECONDARY_CAPTURE,
                        affected_sop_instance_uid="1.2.3.9",
                    ),
                    chunks(),
                )
            await assoc.abort()
            assert isinstance(assoc.error, AssociationAborted)
            await poll(lambda: not server.associations, "the SCP side to see the abort")
            assert files_in(out) == []
            await echo_ok(server.port)

    run(main())


# -- negotiation-level bad input ---------------------------------------------------------------


def test_pdv_on_a_rejected_context_aborts(caplog: pytest.LogCaptureFixture) -> None:
    """A context that was proposed but rejected (abstract syntax not supported) cannot carry
    messages: a C-ECHO on it aborts the association (provider, invalid parameter value)."""

    async def main() -> bytes:
        async with serving() as server:
            raw = await Raw.connect(server.port)
            await raw.associate(
                [(VERIFICATION, [IMPLICIT_LE]), ("1.2.826.0.1.3680043.10.1393.404", [IMPLICIT_LE])]
            )
            with caplog.at_level(logging.INFO, logger=LOGGER):
                await raw.send(pdu(0x04, pdv(3, 0x03, echo_command())))
                data = await raw.until_closed()
            raw.close()
            await poll(lambda: not server.associations, "the association to end")
            await echo_ok(server.port)
            return data

    data = run(main())
    assert_ended_by_abort(data)
    assert data[8:10] == b"\x02\x06"  # service-provider, invalid-PDU-parameter-value
    assert "presentation context 3" in causes(caplog)


@pytest.mark.parametrize("version", [0x0000, 0x0002, 0xFFFE])
def test_unsupported_protocol_version_is_rejected_and_logged(
    version: int, caplog: pytest.LogCaptureFixture
) -> None:
    """Bit 0 of the protocol version clear: A-ASSOCIATE-RJ rejected-permanent, service-
    provider (ACSE), protocol-version-not-supported (PS3.8 9.3.4) -- and, like every other
    rejection, a log line saying why. (docs/dev/findings-net.md F4)"""
    import dataclasses

    rq = build_request("SCP", "RAW", [(VERIFICATION, [IMPLICIT_LE])])

    async def main() -> bytes:
        async with serving() as server:
            raw = await Raw.connect(server.port)
            with caplog.at_level(logging.DEBUG, logger=LOGGER):
                await raw.send(dataclasses.replace(rq, protocol_version=version).encode())
                data = await raw.until_closed()
                raw.close()
                await poll(lambda: not server.associations, "the connection to end")
            await echo_ok(server.port)
            return data

    data = run(main())
    assert data == b"\x03\x00\x00\x00\x00\x04\x00\x01\x02\x02"
    assert "protocol version" in causes(caplog).lower(), causes(caplog)


@pytest.mark.parametrize("version", [0x0001, 0x0003, 0x8001])
def test_protocol_version_with_bit_0_set_is_accepted(version: int) -> None:
    """PS3.8 9.3.2: a version-1 acceptor tests only that bit 0 is set."""
    import dataclasses

    rq = build_request("SCP", "RAW", [(VERIFICATION, [IMPLICIT_LE])])

    async def main() -> None:
        async with serving() as server:
            raw = await Raw.connect(server.port)
            await raw.send(dataclasses.replace(rq, protocol_version=version).encode())
            answer = await raw.read_pdu()
            assert answer[:1] == b"\x02"
            await raw.send(pdu(0x04, pdv(1, 0x03, echo_command(5))))
            rsp = await raw.read_pdu()
            assert rsp[:1] == b"\x04"
            decoded = dimse.decode_message(rsp[12:])
            assert isinstance(decoded, dimse.CEchoResponse) and decoded.status == 0
            await raw.send(pdu(0x05, b"\x00" * 4))
            assert (await raw.read_pdu())[:1] == b"\x06"
            raw.close()

    run(main())


def test_oversized_command_set_aborts(caplog: pytest.LogCaptureFixture) -> None:
    """A command set is a few hundred bytes; a peer sending megabytes of "not last" command
    fragments must be stopped at the 1 MiB command limit, not buffered until the 65th
    fragment (which lets 64 fragments of ~1 MiB, 64 MiB, pile up). (docs/dev/findings-net.md F6)"""
    cfg = AEConfig(timeouts=Timeouts(acse=30, dimse=30, idle=30))
    fragment = pdu(0x04, pdv(1, 0x01, b"\x00" * ((1 << 20) - 64)))

    async def main() -> bytes:
        async with serving(cfg, clock=Clock()) as server:  # no timer may fire here
            raw = await Raw.connect(server.port)
            await raw.associate()
            with caplog.at_level(logging.INFO, logger=LOGGER):
                for _ in range(3):  # 3 MiB of one command set
                    await raw.send(fragment)
                data = await raw.until_closed()
            raw.close()
            await poll(lambda: not server.associations, "the association to end")
            await echo_ok(server.port)
            return data

    data = run(main())
    assert_ended_by_abort(data)
    assert "command set" in causes(caplog)


@pytest.mark.parametrize("max_length", [1, 6])
def test_peer_maximum_length_too_small_for_any_pdv(
    max_length: int, caplog: pytest.LogCaptureFixture
) -> None:
    """A requestor whose Maximum Length (PS3.8 D.1) cannot hold a PDV with one byte of data
    (< 7) can never receive anything: the server must end that association (reject it, or
    abort when the first answer cannot be sent) with a log line, not leave it hanging with an
    unanswered request until an idle timeout. (docs/dev/findings-net.md F7)"""
    cfg = AEConfig(timeouts=Timeouts(acse=30, dimse=None, idle=None))
    rq = build_request("SCP", "RAW", [(VERIFICATION, [IMPLICIT_LE])], max_pdu_length=max_length)

    async def main() -> bytes:
        async with serving(cfg) as server:
            raw = await Raw.connect(server.port)
            with caplog.at_level(logging.INFO, logger=LOGGER):
                await raw.send(rq.encode())
                first = await raw.read_pdu()
                if first[:1] == b"\x02":  # accepted: the first answer must fail cleanly
                    await raw.send(pdu(0x04, pdv(1, 0x03, echo_command())))
                    first = b""
                data = first + await raw.until_closed()
            raw.close()
            await poll(lambda: not server.associations, "the association to end")
            await echo_ok(server.port)
            return data

    data = run(main())
    assert data[:1] in (b"\x03", b"\x07"), data[:16]  # A-ASSOCIATE-RJ or A-ABORT
    text = causes(caplog).lower()
    assert "maximum" in text or "max pdu" in text, text


@pytest.mark.parametrize(
    "title",
    [b"EV\nFAKE: stored ", b"\x1b[2J\x1b[31mRED".ljust(16), b"A\rB\x00\x07C\x7f".ljust(16)],
    ids=["newline", "escape-sequences", "cr-nul-bel-del"],
)
def test_control_characters_in_ae_titles_never_reach_the_log_raw(
    title: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    """AE titles may not hold control characters (PS3.5 6.2, AE). A peer that sends some
    must not be able to forge log lines or drive the operator's terminal: whether the server
    rejects the association or accepts it, every log line it writes stays one line of
    printable text. (docs/dev/findings-net.md F8)"""
    assert len(title) == 16
    raw_rq = bytearray(RQ)
    raw_rq[26:42] = title  # calling AE title field of the A-ASSOCIATE-RQ

    async def main() -> None:
        async with serving() as server:
            with caplog.at_level(logging.DEBUG, logger=LOGGER):
                raw = await Raw.connect(server.port)
                await raw.send(bytes(raw_rq))
                answer = await raw.read_pdu()
                assert answer[:1] in (b"\x02", b"\x03", b"\x07")
                raw.close()
                await poll(lambda: not server.associations, "the association to end")
            await echo_ok(server.port)

    run(main())
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("dicomkit")]
    assert lines, "nothing was logged"
    bad = [ascii(ln) for ln in lines if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in ln)]
    assert not bad, "log lines with control characters:\n" + "\n".join(bad)


def test_server_close_mid_cstore_leaves_no_file(tmp_path: Path) -> None:
    """Closing the server (which aborts live associations) while a C-STORE is half received
    removes the temporary file; the peer gets an A-ABORT."""
    out = tmp_path / "out"

    async def main() -> bytes:
        server = await AE("SCP", config=FAST).serve(
            0, {dimse.CStoreRequest: StorageSCP(out, fsync=False)}
        )
        engine = UpperLayer(Role.REQUESTOR)
        raw = await Raw.connect(server.port)
        engine.connection_made()
        rq = build_request("SCP", "RAW", [(SECONDARY_CAPTURE, [EXPLICIT_LE])])
        engine.send(ev.AssociateRequest(rq))
        await raw.send(b"".join(engine.data_to_send()))
        engine.receive_data(await raw.read_pdu())
        cid = min(engine.accepted_context_ids)
        engine.send_data(cid, store_command("1.2.3.66"), is_command=True)
        for chunk in engine.data_to_send():
            await raw.send(chunk)
        engine.send_data(
            cid, dataset_head("1.2.3.66", 4 << 20) + bytes(200_000), is_command=False, last=False
        )
        for chunk in engine.data_to_send():
            await raw.send(chunk)
        await poll(lambda: bool(files_in(out)), "the streamed data set to reach a file")
        await server.close()
        data = await raw.until_closed()
        raw.close()
        return data

    data = run(main())
    assert data[:1] == b"\x07"
    assert files_in(out) == []


# -- DIMSE-level bad input to the Storage SCP ----------------------------------------------------

CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"


def raw_store(
    instance: str, *, sop_class: str = SECONDARY_CAPTURE, with_dataset: bool = True
) -> bytes:
    from dicomkit.net.proto import _commands as c

    return c.encode_command(
        {
            c.AFFECTED_SOP_CLASS_UID: sop_class,
            c.COMMAND_FIELD: 0x0001,
            c.MESSAGE_ID: 9,
            c.PRIORITY: 0,
            c.AFFECTED_SOP_INSTANCE_UID: instance,
            c.COMMAND_DATA_SET_TYPE: 0x0000 if with_dataset else 0x0101,
        }
    )


STORE_CASES = {
    # PS3.7 9.3.1.1: a C-STORE-RQ carries a data set; this one says none follows
    "c-store-without-data-set": (raw_store("1.2.3.101", with_dataset=False), None),
    # the command's SOP class is not the presentation context's abstract syntax (PS3.7 9.1.1.1)
    "c-store-sop-class-not-the-contexts": (
        raw_store("1.2.3.102", sop_class=CT_IMAGE),
        dataset_head("1.2.3.102", 0),
    ),
}


@pytest.mark.parametrize("name", list(STORE_CASES))
def test_storage_scp_refuses_inconsistent_cstore(name: str, tmp_path: Path) -> None:
    """Either a failure status (not success, not a warning) or an A-ABORT -- never a file
    stored with Success. (docs/dev/findings-net.md F9, F10)"""
    command, data = STORE_CASES[name]
    out = tmp_path / "out"

    async def main() -> bytes:
        async with serving(handlers={dimse.CStoreRequest: StorageSCP(out, fsync=False)}) as server:
            raw = await Raw.connect(server.port)
            await raw.associate([(VERIFICATION, [IMPLICIT_LE]), (SECONDARY_CAPTURE, [EXPLICIT_LE])])
            await raw.send(pdu(0x04, pdv(3, 0x03, command)))
            if data is not None:
                await raw.send(pdu(0x04, pdv(3, 0x02, data)))
            answer = await raw.read_pdu()
            raw.close()
            await poll(lambda: not server.associations, "the association to end")
            await echo_ok(server.port)
            return answer

    answer = run(main())
    if answer[:1] == b"\x04":
        rsp = dimse.decode_message(answer[12:])
        assert isinstance(rsp, dimse.CStoreResponse)
        assert rsp.status not in (0x0000, 0x0107, 0x0116) and not 0xB000 <= rsp.status <= 0xBFFF, (
            f"status {rsp.status:#06x}"
        )
    else:
        assert answer[:1] == b"\x07", answer[:16]
    assert files_in(out) == [], f"stored: {[p.name for p in files_in(out)]}"


# -- bad input to a TLS server -----------------------------------------------------------------


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A throw-away self-signed certificate for 127.0.0.1 (PEM certificate, PEM key)."""
    import datetime
    import ipaddress

    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bad-input test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return folder / "cert.pem", folder / "key.pem"


def tls_config(cert: Path, key: Path, timeouts: Timeouts) -> AEConfig:
    from dicomkit.net import TLSConfig
    from dicomkit.net import _tls as dktls

    return AEConfig(
        timeouts=timeouts,
        tls=TLSConfig(
            server=dktls.server_context(cert=cert, key=key),
            client=dktls.client_context(verify=False),
        ),
    )


async def tls_echo_ok(port: int, config: AEConfig) -> None:
    async with AE("CHECK", config=config).associate("127.0.0.1", port, ae_title="SCP") as a:
        assert (await a.echo()).status == 0


@pytest.mark.parametrize(
    "payload", [RQ, b"\xde\xad\xbe\xef" * 64], ids=["plain-associate-rq", "garbage"]
)
def test_tls_server_drops_plain_tcp_peer(payload: bytes, self_signed: tuple[Path, Path]) -> None:
    """Cleartext DICOM (or garbage) sent to a TLS port fails the handshake: that connection
    is closed, TLS clients are still served."""
    cfg = tls_config(*self_signed, FAST.timeouts)

    async def main() -> bytes:
        server = await AE("SCP", config=cfg).serve(0)
        async with server:
            raw = await Raw.connect(server.port)
            await raw.send(payload)
            data = await raw.until_closed()
            raw.close()
            await tls_echo_ok(server.port, cfg)
            return data

    data = run(main())
    assert not data.startswith((b"\x02", b"\x03"))  # no DICOM answer in clear text


def test_tls_server_closes_a_silent_handshake(self_signed: tuple[Path, Path]) -> None:
    """A TCP client that never starts the TLS handshake is dropped like a silent DICOM peer:
    within the configured timeouts (here 0.5 s), not asyncio's default 60 s TLS handshake
    timeout, which no dicomkit option controls. (docs/dev/findings-net.md F11)"""
    cfg = tls_config(*self_signed, Timeouts(connect=0.5, acse=0.5, dimse=0.5, idle=0.5))

    async def main() -> None:
        server = await AE("SCP", config=cfg).serve(0)
        async with server:
            raw = await Raw.connect(server.port)
            data = await raw.until_closed()  # bounded by WAIT (15 s)
            raw.close()
            assert data == b""
            await tls_echo_ok(server.port, cfg)

    run(main())


# -- bad input to our SCU (a hostile or broken SCP) ----------------------------------------------


def fake_ac(context_id: int, transfer_syntax: str) -> bytes:
    from dicomkit.net.proto._items import (
        MaximumLengthItem,
        PresentationContextACItem,
        UserInformationItem,
    )
    from dicomkit.net.proto._pdu import AAssociateAC

    return AAssociateAC(
        "SCP",
        "SCU",
        (PresentationContextACItem(context_id, 0, transfer_syntax),),
        UserInformationItem((MaximumLengthItem(16384),)),
    ).encode()


SCU_CASES = {
    # name: (what the fake SCP answers to our A-ASSOCIATE-RQ, words of the error)
    "garbage": (b"\xde\xad" * 40, ["0xDE"]),
    "associate-ac-declaring-4gb": (b"\x02\x00\xff\xff\xff\xff", ["4294967295"]),
    "ac-for-an-unproposed-context": (fake_ac(3, IMPLICIT_LE), ["context 3"]),
    "ac-with-an-unproposed-transfer-syntax": (
        fake_ac(1, "1.2.840.10008.1.2.4.50"),
        ["1.2.840.10008.1.2.4.50"],
    ),
    "release-rq-instead-of-ac": (pdu(0x05, b"\x00" * 4), ["A-RELEASE-RQ"]),
    "rj-with-invalid-values": (pdu(0x03, b"\x00\x09\x09\x09"), ["A-ASSOCIATE-RJ"]),
}


@pytest.mark.parametrize("name", list(SCU_CASES))
def test_scu_against_broken_scp(name: str, caplog: pytest.LogCaptureFixture) -> None:
    """Our SCU facing an SCP that answers the A-ASSOCIATE-RQ with nonsense: ``associate``
    raises AssociationAborted naming the cause (it does not hang), and logs it."""
    reply, words = SCU_CASES[name]

    async def main() -> AssociationAborted:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(65536)
            writer.write(reply)
            await writer.drain()
            with contextlib.suppress(ConnectionError, TimeoutError):
                async with asyncio.timeout(WAIT):
                    while await reader.read(65536):
                        pass
            writer.close()

        fake = await asyncio.start_server(handle, "127.0.0.1", 0)
        async with fake:
            port = fake.sockets[0].getsockname()[1]
            with (
                caplog.at_level(logging.INFO, logger=LOGGER),
                pytest.raises(AssociationAborted) as info,
            ):
                await AE("SCU", config=FAST).associate("127.0.0.1", port, ae_title="SCP")
            return info.value

    exc = run(main())
    assert all(w in str(exc) for w in words), str(exc)
    assert all(w in causes(caplog) for w in words), causes(caplog)


def test_scu_sees_provider_abort_source_and_reason() -> None:
    """An A-ABORT from the SCP's service provider (source 2, reason 1 unrecognized-PDU)
    reaches our SCU with its source and reason."""

    async def main() -> AssociationAborted:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(65536)
            writer.write(pdu(0x07, b"\x00\x00\x02\x01"))
            await writer.drain()
            writer.close()

        fake = await asyncio.start_server(handle, "127.0.0.1", 0)
        async with fake:
            port = fake.sockets[0].getsockname()[1]
            with pytest.raises(AssociationAborted) as info:
                await AE("SCU", config=FAST).associate("127.0.0.1", port, ae_title="SCP")
            return info.value

    exc = run(main())
    assert (exc.source, exc.reason) == (2, 1)

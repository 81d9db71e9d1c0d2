"""A blocking-socket requestor: the sans-IO engine driven from plain synchronous code.

One-shot commands (``dicomkit echo``) need no event loop: this driver feeds the same
:class:`~dicomkit.net.proto._upper_layer.UpperLayer` engine and
:class:`~dicomkit.net.proto._dimse.DimseAssembler` the asyncio driver uses from a blocking
socket, without importing ``asyncio`` (a third of a short command's start-up). It is a
requestor only, one request at a time: it sends, then reads until the answer is in. Requests
from the peer (none is expected on a verification association) are refused with 0x0211, as
an AE without handlers does. Errors, log lines and timeouts are those of
:class:`~dicomkit.net.Association`: ``connect`` bounds the TCP (and TLS) set-up, ``acse`` the
association request and release, ``dimse`` the wait for each response.

Repeated C-ECHOs (``echo --repeat``) reuse the request's encoded command set: only the
Message ID changes between two of them, patched in place.

Requests may carry a data set (``dicomkit store``): its bytes, or a binary file positioned
at the data set with the number of bytes to send. A file is read into one reused buffer about
1 MiB at a time and each piece goes out with the P-DATA headers in one gathering write
(``sendmsg``), the command and the first piece together: the data set is never copied in
Python. A response that comes as one P-DATA-TF PDU holding one whole command set is decoded
straight from the bytes read (the engine's state does not change for P-DATA in Sta6); anything
else goes through the engine as usual.
"""

from __future__ import annotations

import _socket
import contextlib
import os
import struct
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO, Literal, Self

from dicomkit._lazylog import INFO, LazyLogger
from dicomkit.dictionary import uids
from dicomkit.errors import (
    AssociationAborted,
    AssociationRejected,
    DicomError,
    InvalidDicomError,
    LocalProtocolError,
    NetworkError,
    NetworkTimeout,
    RemoteProtocolError,
    TransportError,
)
from dicomkit.net import _log as netlog
from dicomkit.net._config import AEConfig, UserIdentity
from dicomkit.net._loglimit import bad_input
from dicomkit.net._messages import Response, _abstract_syntax, _refusal, check_response
from dicomkit.net.proto import _dimse as dimse
from dicomkit.net.proto import _events as ev
from dicomkit.net.proto._negotiation import Negotiated, NegotiatedContext, build_request, negotiate
from dicomkit.net.proto._pdu import Buffer, pdata_pdus
from dicomkit.net.proto._upper_layer import Role, UpperLayer

if TYPE_CHECKING:
    import ssl
    from types import TracebackType

    from dicomkit.net.proto._pdu import AAssociateRQ

log = LazyLogger("dicomkit.net")  # logging loads on the first record

_READ_SIZE = 256 * 1024
#: the data set bytes read from a file and sent in one gathering write
_SEND_SIZE = 1 << 20
#: at most this many buffers per sendmsg (IOV_MAX on Linux)
_IOV_MAX = 1024
#: data sets of at least this size go out by os.sendfile, one call per PDU, when the peer's
#: PDUs take at least _SENDFILE_PDU bytes (smaller PDUs: one copy costs less than the calls)
_SENDFILE_MIN, _SENDFILE_PDU = 256 * 1024, 128 * 1024
_DEFAULT_SYNTAXES = [uids.ExplicitVRLittleEndian, uids.ImplicitVRLittleEndian]
#: a command element's header: group, element, value length (implicit VR little endian)
_ELEMENT = struct.Struct("<HHI")
_TIMEVAL = struct.Struct("@ll")  # struct timeval (seconds, microseconds)
#: the shortest PDU (A-RELEASE-RQ/RP, A-ABORT: PS3.8 9.3.6-9.3.8)
_MIN_PDU = 10


def associate(
    host: str,
    port: int,
    config: AEConfig,
    *,
    ae_title: str = "ANY-SCP",
    contexts: Sequence[tuple[str, Sequence[str]]] | None = None,
    user_identity: UserIdentity | None = None,
    ssl_context: ssl.SSLContext | None = None,
    async_ops: tuple[int, int] | None = None,
) -> BlockingAssociation:
    """Connect and associate (blocking), as :meth:`dicomkit.net.AE.associate` does;
    ``contexts``: ``[(abstract syntax UID, [transfer syntax UIDs])]`` (default: Verification
    in explicit/implicit VR little endian); ``async_ops``: the (invoked, performed) operations
    window proposed (PS3.7 D.3.3.3; the answer is :attr:`BlockingAssociation.async_ops`). Use
    the result as a context manager."""
    timeouts = config.timeouts
    tls = ssl_context or (config.tls.client if config.tls else None)
    try:
        sock: Any = _connect(host, port, timeouts.connect)
    except TimeoutError:
        raise NetworkTimeout(
            f"connecting to {host}:{port} timed out after {timeouts.connect}s"
        ) from None
    except OSError as exc:
        raise TransportError(f"cannot connect to {host}:{port}: {exc}") from exc
    try:
        sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
        if tls is not None:
            import socket  # what ssl wraps (ssl imports it anyway)

            hostname = (config.tls.server_hostname if config.tls else None) or host
            try:
                plain = socket.socket(fileno=sock.detach())
                plain.settimeout(timeouts.connect)  # the handshake's bound
                sock = plain  # closed below if the handshake fails
                sock = tls.wrap_socket(plain, server_hostname=hostname)
            except TimeoutError:
                raise NetworkTimeout(
                    f"connecting to {host}:{port} timed out after {timeouts.connect}s"
                ) from None
            except OSError as exc:  # ssl.SSLError is an OSError
                raise TransportError(f"cannot connect to {host}:{port}: {exc}") from exc
        peer = sock.getpeername()
    except BaseException:
        sock.close()
        raise
    assoc = BlockingAssociation(sock, _peer_name(peer), config)
    identity = user_identity or config.user_identity
    rq = build_request(
        ae_title,
        config.ae_title,
        [(a, list(t)) for a, t in contexts]
        if contexts
        else [(uids.Verification, list(_DEFAULT_SYNTAXES))],
        max_pdu_length=config.max_pdu,
        user_identity=identity.to_item() if identity is not None else None,
        async_window=async_ops,
    )
    try:
        assoc.request_association(rq)
    except BaseException:
        assoc.abort()
        raise
    return assoc


def _connect(host: str, port: int, timeout: float | None) -> Any:
    """A connected TCP socket (``socket.create_connection`` without the ``socket`` module,
    whose enums cost a short command's start-up: the C module's socket does all we need). An
    ASCII name goes to getaddrinfo as bytes, which then needs no IDNA codec either."""
    address: Any = host.encode("ascii") if host.isascii() else host
    error: OSError | None = None
    for family, kind, proto, _, where in _socket.getaddrinfo(address, port, 0, _socket.SOCK_STREAM):
        sock = _socket.socket(family, kind, proto)
        try:
            sock.settimeout(timeout)
            sock.connect(where)
        except OSError as exc:
            sock.close()
            error = exc
        else:
            return sock
    raise error or OSError(f"getaddrinfo found no address for {host}")


def _set_timeout(sock: Any, option: int, seconds: float) -> float:
    """Set SO_RCVTIMEO or SO_SNDTIMEO (0: wait forever); returns ``seconds``."""
    micro = 0 if seconds <= 0 else max(int(seconds * 1e6), 1000)
    sock.setsockopt(_socket.SOL_SOCKET, option, _TIMEVAL.pack(*divmod(micro, 1_000_000)))
    return seconds


def read_fully(fp: BinaryIO, view: memoryview) -> int:
    """Fill ``view`` from ``fp``; the byte count (less only when the file ended)."""
    got, size = 0, len(view)
    while got < size:
        n = fp.readinto(view[got:]) if got else fp.readinto(view)  # type: ignore[attr-defined]
        if not n:
            break
        got += n
    return got


def _peer_name(peer: object) -> str:
    return f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)


class BlockingAssociation:
    """One requestor association over a blocking socket (see the module docstring)."""

    def __init__(self, sock: Any, peer: str, config: AEConfig) -> None:
        self._sock = sock
        self.peer = peer
        self.config = config
        self.engine = UpperLayer(
            Role.REQUESTOR,
            max_pdu_size=max(config.max_pdu, 1 << 20) + 6,
            max_associate_size=config.max_request_bytes,
        )
        self._assembler = dimse.DimseAssembler(max_buffered=config.max_buffered)
        self._buffer = bytearray(_READ_SIZE)
        self._view = memoryview(self._buffer)
        self._responses: dict[int, Response] = {}
        self._next_id = 0
        self._closed = False
        self._rj_noted = False
        #: the agreed contexts, roles and limits (None until accepted)
        self.negotiated: Negotiated | None = None
        #: why the association ended, if it did not end normally
        self.error: BaseException | None = None
        #: C-ECHO-RQ and -RSP PDUs with their Message ID offsets (False: not in one PDU)
        self._echo: tuple[bytearray, int, bytearray, int] | Literal[False] | None = None
        self._received: list[bytes] | None = None  # what reads returned, while recorded
        self._echo_tries = 0
        #: a plain socket takes gathering writes (an SSL socket has no sendmsg) and stays in
        #: blocking mode, its waits bounded by the kernel (SO_RCVTIMEO / SO_SNDTIMEO): each
        #: read or write is then one system call, with no poll() before it
        self._gather = type(sock) is _socket.socket
        self._rcvtimeo = -1.0  # the SO_RCVTIMEO set (0: none; -1: not set yet)
        self._lowat = 1  # the SO_RCVLOWAT set
        if self._gather:
            sock.settimeout(None)
            _set_timeout(sock, _socket.SO_SNDTIMEO, config.timeouts.dimse or 0.0)
        self._out: bytearray | None = None  # the reused buffer of file data being sent

    # -- state ---------------------------------------------------------------------------

    @property
    def is_established(self) -> bool:
        """Data may be sent (PS3.8 Sta6)."""
        return self.engine.is_established and not self._closed

    @property
    def is_closed(self) -> bool:
        """The connection is gone (released, aborted or lost)."""
        return self._closed

    @property
    def async_ops(self) -> tuple[int, int]:
        """The negotiated (max invoked, max performed) operations window (PS3.7 D.3.3.3)."""
        neg = self.negotiated
        return (neg.max_operations_invoked, neg.max_operations_performed) if neg else (1, 1)

    @property
    def accepted_contexts(self) -> list[NegotiatedContext]:
        """The presentation contexts the acceptor accepted."""
        return self.negotiated.accepted if self.negotiated else []

    def next_message_id(self) -> int:
        """A fresh Message ID (1..65535, wrapping)."""
        self._next_id = self._next_id % 0xFFFF + 1
        return self._next_id

    def context_for(self, abstract_syntax: str) -> NegotiatedContext:
        """The accepted context for an abstract syntax."""
        found = self.negotiated.find(abstract_syntax, None) if self.negotiated else None
        if found is None:
            raise LocalProtocolError(f"no accepted presentation context for {abstract_syntax}")
        return found

    # -- association ---------------------------------------------------------------------

    def request_association(self, rq: AAssociateRQ) -> None:
        """Send the A-ASSOCIATE-RQ and read until the answer (raises when rejected)."""
        if netlog.pdu_log.isEnabledFor(INFO):
            netlog.log_lines(netlog.pdu_log, INFO, self.peer, "sending " + netlog.describe_rq(rq))
        engine = self.engine
        engine.connection_made()
        engine.send(ev.AssociateRequest(rq))
        self._flush()
        acse = self.config.timeouts.acse
        deadline = None if acse is None else time.monotonic() + acse
        while self.negotiated is None:
            if self._closed:
                raise self.error or TransportError(
                    f"connection to {self.peer} closed before the association"
                )
            if not self._read(deadline):
                self.abort()
                raise NetworkTimeout(f"no A-ASSOCIATE response from {self.peer} within {acse}s")

    def release(self) -> None:
        """A-RELEASE: ask the peer to release and wait until it has (or time out and abort)."""
        if self._closed or not self.engine.is_established:
            self._close()
            return
        try:
            self.engine.send(ev.ReleaseRequest())
            self._flush()
        except (LocalProtocolError, NetworkError):
            self._close()
            return
        acse = self.config.timeouts.acse
        deadline = None if acse is None else time.monotonic() + acse
        while not self._closed:
            if not self._read(deadline):
                log.warning("%s: no A-RELEASE-RP within %ss, aborting", self.peer, acse)
                self.abort()
        self._close()

    def abort(self, reason: int = 0) -> None:
        """A-ABORT (service-user): tell the peer and close the connection at once."""
        if not self._closed:
            try:
                self.engine.send(ev.Abort(0, reason))
                self._flush()
            except (LocalProtocolError, NetworkError):
                pass
            self._shutdown(AssociationAborted("association aborted locally"))
        self._close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # as Association: released unless the network failed (or a KeyboardInterrupt ...)
        if exc is None or (isinstance(exc, Exception) and not isinstance(exc, NetworkError)):
            self.release()
        else:
            self.abort()

    # -- DIMSE ---------------------------------------------------------------------------

    def request(
        self,
        message: dimse.DimseRequest,
        data: Buffer | BinaryIO | None = None,
        *,
        size: int = -1,
        context: NegotiatedContext | None = None,
        timeout: float | None = -1.0,
        then: Callable[[], object] | None = None,
    ) -> Response:
        """Send a request and return its final response (pending ones skipped).

        ``data``: the encoded data set, or a binary file positioned at it with ``size`` its
        byte count (read and sent a piece at a time; a file that ends early aborts the
        association: the peer has part of a data set). ``context``: the presentation context
        (default: the one accepted for the request's SOP class). ``timeout``: seconds for
        each response (-1: the DIMSE timeout). ``then``: called once the request is
        written, before the wait for its response (work that overlaps the peer's)."""
        if context is None:
            context = self.context_for(_abstract_syntax(message))
        mid = self.send_request(message, data, size=size, context=context)
        if then is not None:
            then()
        return self.final_response(mid, context, timeout=timeout)

    def send_request(
        self,
        message: dimse.DimseRequest,
        data: Buffer | BinaryIO | None = None,
        *,
        size: int = -1,
        context: NegotiatedContext | None = None,
        command: bytes | None = None,
    ) -> int:
        """Send a request without waiting for its response (``data``, ``size`` and
        ``context`` as in :meth:`request`); its Message ID, for :meth:`final_response`.
        Requests outstanding at once stay within the negotiated window (:attr:`async_ops`).
        ``command``: the message's command set already encoded, byte for byte what
        :func:`~dicomkit.net.proto._dimse.encode_message` makes of it (with its Message ID
        and Command Data Set Type), e.g. from a template of many alike."""
        if context is None:
            context = self.context_for(_abstract_syntax(message))
        if not message.message_id:
            message = message.replace(message_id=self.next_message_id())
        has = data is not None
        if message.has_dataset != has:
            message = message.replace(has_dataset=has)
        if netlog.dimse_log.isEnabledFor(INFO):
            self._log(message, context, sent=True)
        cmd = dimse.encode_message(message) if command is None else command
        engine, cid = self.engine, context.context_id
        try:
            if data is None:
                self._write(engine.data_to_send() + engine.data_vectors(cid, cmd, is_command=True))
            elif isinstance(data, (bytes, bytearray, memoryview)):
                out = engine.data_to_send() + engine.data_vectors(cid, cmd, is_command=True)
                self._write(out + engine.data_vectors(cid, data, is_command=False))
            else:
                self._send_file(cid, cmd, data, size)
        except LocalProtocolError as exc:
            raise self._gone(exc) from None
        if self._closed:
            raise self._gone(LocalProtocolError("association closed"))
        return message.message_id

    def final_response(
        self, mid: int, context: NegotiatedContext | None = None, *, timeout: float | None = -1.0
    ) -> Response:
        """The final response to the request ``mid`` sent by :meth:`send_request` (pending
        ones skipped; ``timeout`` as in :meth:`request`). With ``context`` (the request's), a
        response that comes alone in one PDU is decoded straight from the bytes read."""
        while True:
            rsp = self._wait(mid, timeout, context)
            if not rsp.message.is_pending:
                return rsp

    def _send_file(self, cid: int, cmd: bytes, fp: BinaryIO, size: int) -> None:
        """Send the command ``cmd``, then ``size`` bytes of ``fp`` as its data set."""
        engine = self.engine
        step = engine.peer_max_pdu_length - 6
        if self._gather and size >= _SENDFILE_MIN and (step <= 0 or step >= _SENDFILE_PDU):
            self._sendfile(cid, cmd, fp, size, step if step > 0 else _SEND_SIZE)
            return
        piece = _SEND_SIZE if step <= 0 else max(_SEND_SIZE // step, 1) * step
        piece = min(piece, size)
        if self._out is None or len(self._out) < piece:
            self._out = bytearray(piece)
        view = memoryview(self._out)
        left = size
        out: list[Buffer] | None = None
        while True:
            n = min(piece, left)
            got = read_fully(fp, view[:n])
            if got < n:
                if out is None:  # nothing of this message sent yet: the association lives on
                    raise InvalidDicomError(
                        f"the file is {left - got} bytes shorter than when it was scanned: "
                        "it changed meanwhile, send it again"
                    )
                self.abort()
                raise AssociationAborted(
                    f"the file ended {left - got} bytes early while its data set was being "
                    f"sent to {self.peer} (it changed meanwhile): the association was aborted"
                )
            left -= n
            if out is None:  # the command goes out with the first piece
                out = engine.data_to_send() + engine.data_vectors(cid, cmd, is_command=True)
            else:
                out = []
            out += engine.data_vectors(cid, view[:n], is_command=False, last=not left)
            self._write(out)
            if self._closed or not left:
                return

    def _sendfile(self, cid: int, cmd: bytes, fp: BinaryIO, size: int, step: int) -> None:
        """:meth:`_send_file` with ``os.sendfile``: each PDU's header is written (with
        MSG_MORE), then its value goes from the file to the socket in the kernel."""
        engine, sock = self.engine, self._sock
        fd, pos = fp.fileno(), fp.tell()
        out = engine.data_to_send() + engine.data_vectors(cid, cmd, is_command=True)
        left = size
        while left:
            n = min(step, left)
            left -= n
            out.append(engine.data_header(cid, n, last=not left))
            self._write(out, _socket.MSG_MORE)
            out = []
            while n and not self._closed:
                try:
                    sent = os.sendfile(sock.fileno(), fd, pos, n)
                except OSError as exc:
                    self._write_failed(exc)
                    break
                if not sent:  # the file ended: part of a data set is out, there is no way back
                    self.abort()
                    raise AssociationAborted(
                        f"the file ended {n + left} bytes early while its data set was being "
                        f"sent to {self.peer} (it changed meanwhile): the association was aborted"
                    )
                pos += sent
                n -= sent
            if self._closed:
                return

    def _write(self, pieces: list[Buffer], flags: int = 0) -> None:
        """Write all ``pieces`` (gathering writes on a plain socket; ``flags``: sendmsg's)."""
        if self._closed or not pieces:
            return
        sock = self._sock
        wait = self.config.timeouts.dimse
        try:
            if not self._gather:
                sock.settimeout(wait)
                sock.sendall(pieces[0] if len(pieces) == 1 else b"".join(pieces))
                return
            while pieces:
                batch = pieces[:_IOV_MAX] if len(pieces) > _IOV_MAX else pieces
                sent = sock.sendmsg(batch, (), flags)
                i = 0
                for item in batch:  # drop what went out; a partly sent piece keeps its tail
                    size = len(item)
                    if sent < size:
                        break
                    sent -= size
                    i += 1
                pieces = pieces[i:]
                if sent:
                    pieces[0] = memoryview(pieces[0])[sent:]
        except OSError as exc:
            self._write_failed(exc)

    def _write_failed(self, exc: OSError) -> None:
        """A write raised: the association is over (a timeout says so)."""
        if isinstance(exc, (TimeoutError, BlockingIOError)):  # socket / SO_SNDTIMEO timeout
            wait = self.config.timeouts.dimse
            self._shutdown(NetworkTimeout(f"writing to {self.peer} stalled for {wait}s"))
        else:
            self._shutdown(TransportError(f"write to {self.peer} failed: {exc}"))

    def echo(self, *, timeout: float | None = -1.0) -> dimse.CEchoResponse:
        """C-ECHO (PS3.4 A): the response (success); a failure status raises ``DimseError``."""
        rsp = self.request(dimse.CEchoRequest(message_id=self.next_message_id()), timeout=timeout)
        message = check_response(rsp).message
        assert isinstance(message, dimse.CEchoResponse)
        return message

    def echo_status(self) -> int:
        """One C-ECHO; its status (a failure raises ``DimseError``, as :meth:`echo`).

        The first goes the general way. When its request and response each fit in one PDU,
        both are kept as bytes: each further C-ECHO sends the request with its Message ID
        patched in, and a response equal, byte for byte, to the first one (with this Message
        ID Being Responded To) is that success; any other bytes go to the engine as usual.
        The DIMSE log (``-v``) takes the general way every time."""
        fast = self._echo
        if not fast or not self.is_established or netlog.dimse_log.isEnabledFor(INFO):
            self._received = [] if fast is None else None
            mid = self.next_message_id()
            try:
                rsp = self.request(dimse.CEchoRequest(message_id=mid))
                check_response(rsp)
                if fast is None and rsp.status == 0:
                    self._echo = self._echo_bytes(rsp.context.context_id, mid)
                    self._echo_tries += 1
                    if not self._echo and self._echo_tries < 3:
                        self._echo = None  # e.g. another PDU came along: try the next one
            finally:
                self._received = None
            return rsp.status
        request, at, response, rat = fast
        mid = self._next_id = self._next_id % 0xFFFF + 1
        request[at] = response[rat] = mid & 0xFF
        request[at + 1] = response[rat + 1] = mid >> 8
        sock = self._sock
        try:
            sock.sendall(request)
        except OSError as exc:
            self._write_failed(exc)
            raise self._gone(exc) from None
        wait = self.config.timeouts.dimse
        deadline = None if wait is None else time.monotonic() + wait
        view, size, got = self._view, len(response), 0
        if self._gather and (wait is None or wait > 0) and not self.engine.buffered:
            # the first read straight into the buffer, the kernel bounding it by the DIMSE
            # timeout (SO_RCVTIMEO, SO_RCVLOWAT as _recv sets them: set again only when a
            # read of the general way changed them): the whole answer, almost always
            if self._rcvtimeo != (wait or 0.0):
                self._rcvtimeo = _set_timeout(sock, _socket.SO_RCVTIMEO, wait or 0.0)
            if self._lowat != _MIN_PDU:
                sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_RCVLOWAT, _MIN_PDU)
                self._lowat = _MIN_PDU
            try:
                got = sock.recv_into(self._buffer)
            except (TimeoutError, BlockingIOError):  # the bound: the loop below says so
                got = 0
            except OSError as exc:
                self._shutdown(TransportError(f"read from {self.peer} failed: {exc}"))
                raise self._gone(exc) from None
            else:
                if got == size and self._buffer.startswith(response):
                    return 0  # DT-2 in Sta6: the engine's state stays as it is
                if not got:  # end of stream
                    self._on_data(b"")
                    raise self._gone(LocalProtocolError("association closed"))
        while got < size and view[:got] == response[:got]:  # the rest comes in pieces
            n = self._recv(deadline, got)
            if n is None:
                if not self._closed:
                    raise NetworkTimeout(
                        f"no response from {self.peer} to message {mid} within {wait}s"
                    )
                raise self._gone(LocalProtocolError("association closed"))
            if n == 0:
                break
            got += n
        if got == size and view[:got] == response:
            return 0
        if got or not self._closed:
            self._on_data(view[:got].tobytes())  # anything else: the general way
        rsp = self._wait(mid, -1.0)
        check_response(rsp)
        return rsp.status

    def _echo_bytes(
        self, context_id: int, mid: int
    ) -> tuple[bytearray, int, bytearray, int] | Literal[False]:
        """The C-ECHO-RQ PDU and the peer's C-ECHO-RSP PDU of the message ``mid`` just
        answered (all that was read since it was sent), with the offsets of their Message ID
        (Being Responded To) values; False when either is not one PDU of one PDV."""
        if self._received is None or self.engine.buffered:
            return False
        raw = b"".join(self._received)
        response = _command_pdu(raw, 0x0120, mid)
        cmd = dimse.encode_message(dimse.CEchoRequest(message_id=mid))
        pdus = pdata_pdus(
            context_id, cmd, is_command=True, max_pdu_length=self.engine.peer_max_pdu_length
        )
        request = _command_pdu(pdus[0], 0x0110, mid) if len(pdus) == 1 else None
        if request is None or response is None:
            return False
        return request[0], request[1], response[0], response[1]

    def _wait(
        self, mid: int, timeout: float | None, context: NegotiatedContext | None = None
    ) -> Response:
        """The response to message ``mid``; with ``context``, one that comes alone in one
        PDU is decoded directly (see :meth:`_direct`)."""
        wait = self.config.timeouts.dimse if timeout == -1.0 else timeout
        deadline = None if wait is None else time.monotonic() + wait
        responses = self._responses
        direct = (
            context is not None
            and not responses
            and not self.engine.buffered
            and not netlog.dimse_log.isEnabledFor(INFO)
        )
        while mid not in responses:
            if self._closed:
                raise self._gone(LocalProtocolError("association closed"))
            if direct:
                assert context is not None
                rsp = self._direct(mid, context, deadline)
                if rsp is not None:
                    return rsp
                direct = False
                continue
            if not self._read(deadline):
                raise NetworkTimeout(
                    f"no response from {self.peer} to message {mid} within {wait}s"
                )
        return responses.pop(mid)

    def _direct(
        self, mid: int, context: NegotiatedContext, deadline: float | None
    ) -> Response | None:
        """Read one P-DATA-TF PDU holding the whole command set of a response to ``mid``
        without a data set, on ``context``, and decode it without the engine: P-DATA in Sta6
        leaves the engine's state as it is. None when the bytes are anything else (they went
        to the engine) or nothing came before the deadline."""
        view, got, need = self._view, 0, 6
        while got < need:
            n = self._recv(deadline, got, need - got)
            if not n:  # end of stream, a failed read, or the deadline: the general way
                if got:
                    self._take(view[:got].tobytes())
                if n == 0:
                    self._take(b"")
                return None
            got += n
            if need == 6 and got >= 6:
                if view[0] != 0x04:
                    break
                need = 6 + int.from_bytes(view[2:6], "big")
                if need > len(view):
                    break
        # one PDV filling the PDU: a whole command set (message control header 0x03)
        if (
            got == need >= 12
            and view[11] == 0x03
            and view[10] == context.context_id
            and int.from_bytes(view[6:10], "big") == need - 10
        ):
            try:
                msg = dimse.decode_message(view[12:need].tobytes())
            except DicomError:
                msg = None
            if (
                isinstance(msg, dimse.DimseResponse)
                and msg.message_id_being_responded_to == mid
                and not msg.has_dataset
            ):
                if self._received is not None:
                    self._received.append(view[:need].tobytes())
                return Response(msg, context, None)
        self._take(view[:got].tobytes())
        return None

    def _gone(self, exc: Exception) -> NetworkError:
        if isinstance(self.error, NetworkError):
            return self.error
        return AssociationAborted(f"association with {self.peer} is no longer usable: {exc}")

    def _log(self, message: dimse.DimseMessage, context: NegotiatedContext, *, sent: bool) -> None:
        line = netlog.describe_message(message, sent=sent, context_id=context.context_id)
        netlog.dimse_log.info("%s: %s", self.peer, line)

    # -- the socket and the engine -------------------------------------------------------

    def _flush(self) -> None:
        pdus = self.engine.data_to_send()
        if not pdus or self._closed:
            return
        try:
            self._sock.sendall(pdus[0] if len(pdus) == 1 else b"".join(pdus))
        except OSError as exc:
            self._write_failed(exc)

    def _read(self, deadline: float | None) -> bool:
        """Read once and feed the engine; False when the deadline passed first."""
        n = self._recv(deadline)
        if n is None:
            return self._closed
        self._take(self._view[:n].tobytes())
        return True

    def _take(self, data: bytes) -> None:
        """Bytes read (b"": end of stream) to the engine (and the record, if one is kept)."""
        if self._received is not None:
            self._received.append(data)
        self._on_data(data)

    def _recv(self, deadline: float | None, at: int = 0, want: int = 1) -> int | None:
        """Read once into the buffer from ``at``: the byte count (0: end of stream); None
        when the deadline passed first or the read failed (then the association is closed).
        ``want``: how many more bytes the caller needs before it can go on (a PDU whose
        length it knows): from 10 up, the read wakes once 10 are in, as at a PDU's start."""
        sock = self._sock
        while True:
            if deadline is None:
                left = 0.0
            else:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
            if not self._gather:
                sock.settimeout(left or None)
            else:  # the kernel's bound: reset only when it would end far from the deadline
                set_to = self._rcvtimeo
                if not left:
                    if set_to:
                        self._rcvtimeo = _set_timeout(sock, _socket.SO_RCVTIMEO, 0.0)
                elif not 0.5 * left <= set_to <= 1.05 * left + 0.01:
                    self._rcvtimeo = _set_timeout(sock, _socket.SO_RCVTIMEO, left)
                # at the start of a PDU, wake only once 10 bytes are in (the shortest PDU):
                # a peer that writes a PDU's header and body apart then wakes us once
                # (and in the middle of one when at least that many bytes are still due)
                lowat = _MIN_PDU if want >= _MIN_PDU or not (at or self.engine.buffered) else 1
                if lowat != self._lowat:
                    sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_RCVLOWAT, lowat)
                    self._lowat = lowat
            try:
                n: int = sock.recv_into(self._view[at:]) if at else sock.recv_into(self._buffer)
            except (TimeoutError, BlockingIOError):  # socket timeout / SO_RCVTIMEO: look again
                continue
            except OSError as exc:
                self._shutdown(TransportError(f"read from {self.peer} failed: {exc}"))
                return None
            return n

    def _on_data(self, data: bytes) -> None:
        engine = self.engine
        try:
            engine.receive_data(data)
            self._flush()
            if engine.error is not None and self.error is None:
                err = engine.error
                bad_input(
                    log, "%s: aborting, the peer broke the upper-layer protocol: %s", self.peer, err
                )
                self.error = AssociationAborted(
                    f"peer {self.peer} broke the protocol: {err}", source=2
                )
            elif engine.associate_rj is not None and not self._rj_noted:
                self._rj_noted = True
                rj = engine.associate_rj
                log.info(
                    "%s: association %s",
                    self.peer,
                    netlog.reject_words(rj.result, rj.source, rj.reason),
                )
            self._process_events()
            if not data or engine.should_close:
                self._shutdown(None)
        except NetworkError as exc:
            self._shutdown(exc)
        except Exception as exc:  # a bug: never leave the peer hanging
            log.exception("%s: internal error, aborting the association", self.peer)
            try:
                engine.send(ev.Abort(2, 0))
                self._flush()
            except Exception:  # noqa: BLE001, S110 -- closing anyway
                pass
            self._shutdown(exc)

    def _process_events(self) -> None:
        engine = self.engine
        while (event := engine.next_event()) is not None:
            if isinstance(event, ev.PDVReceived):
                if not self._on_pdv(event):
                    return
            elif isinstance(event, ev.AssociateAccepted):
                rq = engine.associate_rq
                assert rq is not None
                if netlog.pdu_log.isEnabledFor(INFO):
                    text = netlog.describe_ac(event.pdu, rq)
                    netlog.log_lines(netlog.pdu_log, INFO, self.peer, "received " + text)
                try:
                    self.negotiated = negotiate(rq, event.pdu)
                except RemoteProtocolError as exc:
                    self._protocol_abort(exc)
                    return
            elif isinstance(event, ev.AssociateRejected):
                rj = event.pdu
                self.error = AssociationRejected(
                    f"association with {self.peer} "
                    + netlog.reject_words(rj.result, rj.source, rj.reason, hint=True),
                    result=rj.result,
                    source=rj.source,
                    reason=rj.reason,
                )
            elif isinstance(event, ev.ReleaseRequested):
                engine.send(ev.ReleaseResponse())  # the requestor answers a collision too
                self._flush()
            elif isinstance(event, ev.Aborted):
                self._on_aborted(event)
            elif isinstance(event, ev.Closed):
                self._shutdown(self.error)

    def _on_pdv(self, event: ev.PDVReceived) -> bool:
        try:
            out = self._assembler.feed(
                event.context_id, event.is_command, event.is_last, event.data
            )
        except RemoteProtocolError as exc:
            self._protocol_abort(exc)
            return False
        negotiated = self.negotiated
        for item in out:
            if not isinstance(item, dimse.MessageReceived):  # pragma: no cover - not streamed
                continue
            msg = item.message
            ctx = negotiated.contexts.get(item.context_id) if negotiated else None
            if ctx is None:
                self._protocol_abort(
                    RemoteProtocolError(
                        f"message on unknown presentation context {item.context_id}"
                    )
                )
                return False
            if netlog.dimse_log.isEnabledFor(INFO):
                self._log(msg, ctx, sent=False)
            if isinstance(msg, dimse.DimseResponse):
                self._responses[msg.message_id_being_responded_to] = Response(
                    msg, ctx, item.dataset
                )
            elif isinstance(msg, dimse.DimseRequest):  # nothing served here: refused
                refusal = _refusal(msg)
                if netlog.dimse_log.isEnabledFor(INFO):
                    self._log(refusal, ctx, sent=True)
                self.engine.send_data(
                    ctx.context_id, dimse.encode_message(refusal), is_command=True
                )
                self._flush()
        return True

    def _protocol_abort(self, exc: RemoteProtocolError) -> None:
        bad_input(log, "%s: aborting, the peer broke the DIMSE protocol: %s", self.peer, exc)
        self.error = exc
        try:
            self.engine.send(ev.Abort(0, 0))
            self._flush()
        except LocalProtocolError:
            pass
        self._shutdown(AssociationAborted(f"peer {self.peer} broke the protocol: {exc}"))

    def _on_aborted(self, event: ev.Aborted) -> None:
        exc = netlog.aborted_error(event, self.peer, self.error)
        if self.error is None:
            self.error = exc
        self._shutdown(exc)

    def _shutdown(self, exc: BaseException | None) -> None:
        if self._closed:
            return
        if exc is not None and self.error is None:
            self.error = exc
        self._closed = True
        if not self.engine.is_closed:
            with contextlib.suppress(Exception):  # closing anyway
                self.engine.connection_lost()
        self._close()

    def _close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._sock.close()


def _command_pdu(pdu: bytes, tag: int, mid: int) -> tuple[bytearray, int] | None:
    """``pdu`` (a copy) and the offset of the value of the command element (0000,``tag``)
    when ``pdu`` is one P-DATA-TF holding one whole command set (PS3.8 9.3.5, PS3.7 E.2:
    implicit VR little endian) whose US element ``tag`` is ``mid``; else None."""
    size = len(pdu)
    if size < 12 or pdu[0] != 0x04 or int.from_bytes(pdu[2:6], "big") != size - 6:
        return None
    if int.from_bytes(pdu[6:10], "big") != size - 10 or pdu[11] != 0x03:
        return None
    pos = 12
    while pos + 8 <= size:
        group, element, length = _ELEMENT.unpack_from(pdu, pos)
        if group != 0:
            return None
        if element == tag:
            value = pos + 8
            if length != 2 or pdu[value : value + 2] != mid.to_bytes(2, "little"):
                return None
            return bytearray(pdu), value
        pos += 8 + length
    return None


__all__ = ["BlockingAssociation", "associate"]

"""What handlers and requesters see of DIMSE messages: :class:`Incoming` requests,
:class:`Response` s, data-set codecs for a presentation context, and :func:`response_for`.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

from dicomkit.dictionary import status_codes
from dicomkit.errors import DimseError, LocalProtocolError
from dicomkit.net.proto import _dimse as dimse
from dicomkit.net.proto._negotiation import NegotiatedContext
from dicomkit.net.proto._status import is_failure, service_for

if TYPE_CHECKING:
    from dataclasses import dataclass
else:  # cheaper to import (see _dataclass)
    from dicomkit._dataclass import dataclass
from dicomkit._dataclass import field_names

if TYPE_CHECKING:
    import asyncio

    from dicomkit.net._association import Association
    from dicomkit.net._transport import Buffer

DataArg: TypeAlias = "bytes | bytearray | memoryview | Iterable[bytes] | Any | None"
#: What :meth:`Incoming.after_response` takes: a coroutine, or a callable returning one or None.
AfterResponse: TypeAlias = "Callable[[], Awaitable[Any] | Any] | Awaitable[Any]"


class DataSink(Protocol):
    """Where a streamed data set goes (e.g. a Part 10 file being written)."""

    def write(self, data: Buffer) -> None:
        """Take the next bytes of the data set as they arrive."""

    def discard(self) -> None:
        """Drop what was written: the data set will not complete (aborted, refused)."""


@dataclass(slots=True)
class Incoming:
    """A request from the peer as a handler sees it.

    ``data`` is the data set bytes in the context's transfer syntax (None when the message
    has none or it was streamed into ``sink``); :attr:`dataset` decodes them on first use.
    """

    association: Association
    context: NegotiatedContext
    message: dimse.DimseRequest
    data: bytes | None = None
    sink: DataSink | None = None
    cancelled: bool = False
    _dataset: Any = None
    _after: list[AfterResponse] | None = None
    _responded: asyncio.Future[None] | None = None

    @property
    def dataset(self) -> Any:
        """The request's data set, decoded on first use (``None`` when the message has none)."""
        if self._dataset is None and self.data is not None:
            self._dataset = decode_data(self.data, self.context.transfer_syntax)
        return self._dataset

    def after_response(self, action: AfterResponse) -> None:
        """Run ``action`` once the final response to this request has been written.

        ``action`` is a coroutine function or plain function taking no argument, or a
        coroutine; it runs in a task of its own (errors are logged), e.g. the N-EVENT-REPORT
        a Storage Commitment SCP sends after its N-ACTION-RSP (PS3.4 J.3.2.2). Actions are
        dropped when no final response could be sent.
        """
        if self._after is None:
            self._after = []
        self._after.append(action)

    @property
    def responded(self) -> asyncio.Future[None]:
        """Done when the final response has been written (cancelled when it never was)."""
        if self._responded is None:
            import asyncio  # a blocking client never serves: not loaded there

            self._responded = asyncio.get_running_loop().create_future()
        return self._responded

    def finish(self, sent: bool) -> None:
        """The dispatcher is done with this request: wake :attr:`responded`, run the
        after-response actions (``sent``: the final response went out)."""
        fut = self._responded
        if fut is not None and not fut.done():
            fut.set_result(None) if sent else fut.cancel()
        actions, self._after = self._after, None
        if not sent or not actions:
            return
        for action in actions:
            self.association.spawn(action)


@dataclass(slots=True)
class Response:
    """A response received by :meth:`Association.request`; ``dataset`` decodes ``data``.

    The client contract (every SCU call of :mod:`dicomkit.net` and :mod:`dicomkit.services`):
    success, warning, pending and cancel give the typed response; a failure (or a code no
    category of PS3.7 Annex C claims) raises :class:`~dicomkit.errors.DimseError` carrying
    the status -- :meth:`raise_for_status` applies it.
    """

    message: dimse.DimseResponse
    context: NegotiatedContext
    data: bytes | None = None
    _dataset: Any = None

    @property
    def status(self) -> int:
        """The DIMSE status of the response (0x0000 success, 0xFF00 pending ...)."""
        return self.message.status

    @property
    def dataset(self) -> Any:
        """The response's data set (a C-FIND match, a failed SOP instance list ...), decoded on
        first use; ``None`` when it has none."""
        if self._dataset is None and self.data is not None:
            self._dataset = decode_data(self.data, self.context.transfer_syntax)
        return self._dataset

    def raise_for_status(self, what: str = "") -> Response:
        """This response, unless its status is a failure: then :class:`DimseError` (with
        ``status``) naming ``what`` failed (default: the response type), the status's meaning
        and the peer's Error Comment."""
        return check_response(self, what)


def check_response(rsp: Response, what: str = "") -> Response:
    """``rsp`` unless its status is a failure (see :meth:`Response.raise_for_status`): then
    the typed :class:`~dicomkit.errors.DimseError` of :meth:`DimseError.from_status`, read in
    the status table of the message's service (B000 is a warning for C-STORE, A700 ...)."""
    message = rsp.message
    if message.status == status_codes.Success:  # success, the common case: no table look-up
        return rsp
    command = dimse.CommandField(message.COMMAND_FIELD).name.removesuffix("_RSP")
    command = command.replace("_", "-")
    sop_class = getattr(message, "affected_sop_class_uid", None) or rsp.context.abstract_syntax
    service = service_for(command, sop_class)
    if not is_failure(message.status, service):
        return rsp
    raise DimseError.from_status(
        message.status,
        service,
        what=what or command,
        error_comment=message.error_comment or "",
        offending=(
            *(message.offending_element or ()),
            *(getattr(message, "attribute_identifier_list", None) or ()),
        ),
    )


def decode_data(data: bytes, transfer_syntax: str) -> Any:
    """Decode data set bytes received on a context (deflated syntaxes inflated first)."""
    from dicomkit.dictionary.syntaxes import encoding as ts_encoding
    from dicomkit.io._decoder import decode_dataset  # not loaded for a C-ECHO
    from dicomkit.io._deflate import inflate

    implicit, little, deflated = ts_encoding(transfer_syntax)
    raw = inflate(data) if deflated else data
    ds = decode_dataset(raw, implicit=implicit, little=little)
    ds.transfer_syntax = transfer_syntax
    return ds


def encode_data(dataset: Any, transfer_syntax: str) -> bytes:
    """Encode a Dataset for a context's transfer syntax (deflated syntaxes deflated)."""
    from dicomkit.dictionary.syntaxes import encoding as ts_encoding
    from dicomkit.io._deflate import deflate
    from dicomkit.io._encoder import encode_dataset  # not loaded for a C-ECHO

    implicit, little, deflated = ts_encoding(transfer_syntax)
    raw = encode_dataset(dataset, implicit=implicit, little=little)
    return deflate(raw) if deflated else raw


#: Called for each request from the peer; set by the server module (handler dispatch).
Dispatcher: TypeAlias = Callable[["Incoming"], Any]
#: Decides whether a request's data set is streamed: returns a sink, or None to buffer it.
SinkFactory: TypeAlias = Callable[["Incoming"], "DataSink | None"]


class _NullSink:
    """Swallows a data set whose sink failed; ``error`` says why (the handler answers)."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error

    def write(self, data: Buffer) -> None:
        pass

    def discard(self) -> None:
        pass


def _is_dataset(obj: Any) -> bool:
    # no Dataset exists while the data set model was never imported (a C-ECHO)
    model = sys.modules.get("dicomkit.core._dataset")
    return model is not None and isinstance(obj, model.Dataset)


def _abstract_syntax(message: dimse.DimseMessage) -> str:
    for name in ("affected_sop_class_uid", "requested_sop_class_uid"):
        value = getattr(message, name, None)
        if value:
            return str(value)
    raise LocalProtocolError(f"{type(message).__name__} names no SOP class: give a context")


def response_for(
    request: dimse.DimseRequest, status: int = 0, **fields: Any
) -> dimse.DimseResponse:
    """The response message type for a request, with the identifying fields copied over."""
    cls = dimse.RESPONSE_FOR[type(request)]
    kw: dict[str, Any] = {"message_id_being_responded_to": request.message_id, "status": status}
    names = field_names(cls)
    affected_class = getattr(request, "affected_sop_class_uid", None) or getattr(
        request, "requested_sop_class_uid", None
    )
    affected_inst = getattr(request, "affected_sop_instance_uid", None) or getattr(
        request, "requested_sop_instance_uid", None
    )
    if "affected_sop_class_uid" in names:
        kw["affected_sop_class_uid"] = affected_class
    if "affected_sop_instance_uid" in names:
        kw["affected_sop_instance_uid"] = affected_inst
    for name in ("event_type_id", "action_type_id"):
        if name in names:
            kw[name] = getattr(request, name, None)
    kw.update(fields)
    return cls(**kw)


def _refusal(message: dimse.DimseRequest) -> dimse.DimseResponse:
    return response_for(message, status_codes.UnrecognizedOperation)  # unrecognized operation


__all__ = [
    "AfterResponse",
    "DataArg",
    "DataSink",
    "Dispatcher",
    "Incoming",
    "Response",
    "SinkFactory",
    "check_response",
    "decode_data",
    "encode_data",
    "response_for",
]

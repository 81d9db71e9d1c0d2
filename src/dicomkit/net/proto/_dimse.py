"""DIMSE messages as typed values, and their transport in P-DATA fragments (PS3.7 9, 10, E).

Each DIMSE-C and DIMSE-N request and response is a frozen dataclass whose fields are the
command elements of PS3.7 9.3 / 10.3 (keyword-only, so the order of a constructor call never
matters). :func:`encode_message` / :func:`decode_message` map them to and from command set
bytes (see :mod:`.commands`); the data set, when one follows, travels separately as bytes.

:class:`DimseAssembler` is fed the PDVs of P-DATA-TF PDUs and hands back whole messages; for
large data sets (C-STORE) it can stream the data fragments instead of buffering them.
:func:`fragment` splits a command and its data set into PDVs that fit the peer's maximum PDU
length. Neither touches a socket: they are part of the sans-IO engine.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from enum import IntEnum
from typing import TYPE_CHECKING, Any, ClassVar, Final, TypeAlias

from dicomkit.dictionary import uids
from dicomkit.errors import InvalidDicomError, RemoteProtocolError
from dicomkit.net.proto import _commands as c
from dicomkit.net.proto._status import Category, category

if TYPE_CHECKING:
    from dataclasses import dataclass, field
else:  # cheaper to import (see _dataclass)
    from dicomkit._dataclass import dataclass, field
from dicomkit._dataclass import field_names


class Priority(IntEnum):
    """(0000,0700) Priority (PS3.7 E.1)."""

    MEDIUM = 0x0000
    HIGH = 0x0001
    LOW = 0x0002


class CommandField(IntEnum):
    """(0000,0100) Command Field values (PS3.7 E.1)."""

    C_STORE_RQ = 0x0001
    C_STORE_RSP = 0x8001
    C_GET_RQ = 0x0010
    C_GET_RSP = 0x8010
    C_FIND_RQ = 0x0020
    C_FIND_RSP = 0x8020
    C_MOVE_RQ = 0x0021
    C_MOVE_RSP = 0x8021
    C_ECHO_RQ = 0x0030
    C_ECHO_RSP = 0x8030
    N_EVENT_REPORT_RQ = 0x0100
    N_EVENT_REPORT_RSP = 0x8100
    N_GET_RQ = 0x0110
    N_GET_RSP = 0x8110
    N_SET_RQ = 0x0120
    N_SET_RSP = 0x8120
    N_ACTION_RQ = 0x0130
    N_ACTION_RSP = 0x8130
    N_CREATE_RQ = 0x0140
    N_CREATE_RSP = 0x8140
    N_DELETE_RQ = 0x0150
    N_DELETE_RSP = 0x8150
    C_CANCEL_RQ = 0x0FFF


#: dataclass field name -> command element tag. One table for every message type.
FIELD_TAGS: Final[dict[str, int]] = {
    "message_id": c.MESSAGE_ID,
    "message_id_being_responded_to": c.MESSAGE_ID_BEING_RESPONDED_TO,
    "affected_sop_class_uid": c.AFFECTED_SOP_CLASS_UID,
    "affected_sop_instance_uid": c.AFFECTED_SOP_INSTANCE_UID,
    "requested_sop_class_uid": c.REQUESTED_SOP_CLASS_UID,
    "requested_sop_instance_uid": c.REQUESTED_SOP_INSTANCE_UID,
    "priority": c.PRIORITY,
    "status": c.STATUS,
    "move_destination": c.MOVE_DESTINATION,
    "move_originator_aet": c.MOVE_ORIGINATOR_AE_TITLE,
    "move_originator_message_id": c.MOVE_ORIGINATOR_MESSAGE_ID,
    "remaining": c.NUMBER_OF_REMAINING_SUBOPERATIONS,
    "completed": c.NUMBER_OF_COMPLETED_SUBOPERATIONS,
    "failed": c.NUMBER_OF_FAILED_SUBOPERATIONS,
    "warning": c.NUMBER_OF_WARNING_SUBOPERATIONS,
    "error_comment": c.ERROR_COMMENT,
    "error_id": c.ERROR_ID,
    "offending_element": c.OFFENDING_ELEMENT,
    "attribute_identifier_list": c.ATTRIBUTE_IDENTIFIER_LIST,
    "event_type_id": c.EVENT_TYPE_ID,
    "action_type_id": c.ACTION_TYPE_ID,
}
_TAG_FIELDS: Final = {tag: name for name, tag in FIELD_TAGS.items()}
_TUPLE_FIELDS: Final = frozenset({"offending_element", "attribute_identifier_list"})
_SKIP: Final = frozenset({"has_dataset", "extra"})


@dataclass(frozen=True, slots=True, kw_only=True)
class DimseMessage:
    """Base of every DIMSE message. ``has_dataset`` mirrors CommandDataSetType (0000,0800);
    ``extra`` keeps command elements this class has no field for (e.g. retired ones)."""

    COMMAND_FIELD: ClassVar[int] = -1
    has_dataset: bool = False
    extra: Mapping[int, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def command_field(self) -> int:
        """The Command Field (0000,0100) value of this message type (PS3.7 E.1-1)."""
        return self.COMMAND_FIELD

    @property
    def is_request(self) -> bool:
        """True for a request (-RQ), False for a response (-RSP)."""
        return not self.COMMAND_FIELD & 0x8000

    def replace(self, **changes: Any) -> Any:
        """A copy with some fields changed (``dataclasses.replace``)."""
        import dataclasses  # not loaded for messages that are never changed

        return dataclasses.replace(self, **changes)


@dataclass(frozen=True, slots=True, kw_only=True)
class DimseRequest(DimseMessage):
    """A request; ``message_id`` 0 asks the association to assign a fresh one on sending."""

    message_id: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class DimseResponse(DimseMessage):
    """A response; ``status`` (0000,0900) and the optional error elements of PS3.7 C."""

    message_id_being_responded_to: int
    status: int = 0x0000
    error_comment: str | None = None
    error_id: int | None = None
    offending_element: tuple[int, ...] | None = None

    @property
    def category(self) -> Category:
        """The status category (success, warning, failure, cancel, pending) of PS3.7 C."""
        return category(self.status)

    @property
    def is_pending(self) -> bool:
        """True for a pending status (0xFF00 or 0xFF01): more responses follow."""
        return self.status in (0xFF00, 0xFF01)


# --- DIMSE-C (PS3.7 9.3) -----------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class CEchoRequest(DimseRequest):
    """C-ECHO-RQ (PS3.7 9.3.5): the command fields as attributes."""

    COMMAND_FIELD = CommandField.C_ECHO_RQ
    affected_sop_class_uid: str = uids.Verification


@dataclass(frozen=True, slots=True, kw_only=True)
class CEchoResponse(DimseResponse):
    """C-ECHO-RSP (PS3.7 9.3.5): the command fields as attributes."""

    COMMAND_FIELD = CommandField.C_ECHO_RSP
    affected_sop_class_uid: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CStoreRequest(DimseRequest):
    """C-STORE-RQ (PS3.7 9.3.1): the command fields as attributes."""

    COMMAND_FIELD = CommandField.C_STORE_RQ
    affected_sop_class_uid: str
    affected_sop_instance_uid: str
    priority: int = Priority.MEDIUM
    move_originator_aet: str | None = None
    move_originator_message_id: int | None = None
    has_dataset: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class CStoreResponse(DimseResponse):
    """C-STORE-RSP (PS3.7 9.3.1): the command fields as attributes."""

    COMMAND_FIELD = CommandField.C_STORE_RSP
    affected_sop_class_uid: str | None = None
    affected_sop_instance_uid: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CFindRequest(DimseRequest):
    """C-FIND-RQ (PS3.7 9.3.2): the command fields as attributes."""

    COMMAND_FIELD = CommandField.C_FIND_RQ
    affected_sop_class_uid: str
    priority: int = Priority.MEDIUM
    has_dataset: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class CFindResponse(DimseResponse):
    """C-FIND-RSP (PS3.7 9.3.2): the command fields as attributes."""

    COMMAND_FIELD = CommandField.C_FIND_RSP
    affected_sop_class_uid: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class _SubOperations(DimseResponse):
    affected_sop_class_uid: str | None = None
    remaining: int | None = None
    completed: int | None = None
    failed: int | None = None
    warning: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CGetRequest(DimseRequest):
    """C-GET-RQ (PS3.7 9.3.3): the command fields as attributes."""

    COMMAND_FIELD = CommandField.C_GET_RQ
    affected_sop_class_uid: str
    priority: int = Priority.MEDIUM
    has_dataset: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class CGetResponse(_SubOperations):
    """C-GET-RSP (PS3.7 9.3.3): the command fields as attributes."""

    COMMAND_FIELD = CommandField.C_GET_RSP


@dataclass(frozen=True, slots=True, kw_only=True)
class CMoveRequest(DimseRequest):
    """C-MOVE-RQ (PS3.7 9.3.4): the command fields as attributes."""

    COMMAND_FIELD = CommandField.C_MOVE_RQ
    affected_sop_class_uid: str
    move_destination: str
    priority: int = Priority.MEDIUM
    has_dataset: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class CMoveResponse(_SubOperations):
    """C-MOVE-RSP (PS3.7 9.3.4): the command fields as attributes."""

    COMMAND_FIELD = CommandField.C_MOVE_RSP


@dataclass(frozen=True, slots=True, kw_only=True)
class CCancelRequest(DimseMessage):
    """C-CANCEL-RQ (PS3.7 9.3.2.3): no Message ID of its own."""

    COMMAND_FIELD = CommandField.C_CANCEL_RQ
    message_id_being_responded_to: int


# --- DIMSE-N (PS3.7 10.3) ----------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class NEventReportRequest(DimseRequest):
    """N-EVENT-REPORT-RQ (PS3.7 10.3.1): the command fields as attributes."""

    COMMAND_FIELD = CommandField.N_EVENT_REPORT_RQ
    affected_sop_class_uid: str
    affected_sop_instance_uid: str
    event_type_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class NEventReportResponse(DimseResponse):
    """N-EVENT-REPORT-RSP (PS3.7 10.3.1): the command fields as attributes."""

    COMMAND_FIELD = CommandField.N_EVENT_REPORT_RSP
    affected_sop_class_uid: str | None = None
    affected_sop_instance_uid: str | None = None
    event_type_id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NGetRequest(DimseRequest):
    """N-GET-RQ (PS3.7 10.3.2): the command fields as attributes."""

    COMMAND_FIELD = CommandField.N_GET_RQ
    requested_sop_class_uid: str
    requested_sop_instance_uid: str
    attribute_identifier_list: tuple[int, ...] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NGetResponse(DimseResponse):
    """N-GET-RSP (PS3.7 10.3.2): the command fields as attributes."""

    COMMAND_FIELD = CommandField.N_GET_RSP
    affected_sop_class_uid: str | None = None
    affected_sop_instance_uid: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NSetRequest(DimseRequest):
    """N-SET-RQ (PS3.7 10.3.3): the command fields as attributes."""

    COMMAND_FIELD = CommandField.N_SET_RQ
    requested_sop_class_uid: str
    requested_sop_instance_uid: str
    has_dataset: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class NSetResponse(DimseResponse):
    """N-SET-RSP (PS3.7 10.3.3): the command fields as attributes."""

    COMMAND_FIELD = CommandField.N_SET_RSP
    affected_sop_class_uid: str | None = None
    affected_sop_instance_uid: str | None = None
    attribute_identifier_list: tuple[int, ...] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NActionRequest(DimseRequest):
    """N-ACTION-RQ (PS3.7 10.3.4): the command fields as attributes."""

    COMMAND_FIELD = CommandField.N_ACTION_RQ
    requested_sop_class_uid: str
    requested_sop_instance_uid: str
    action_type_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class NActionResponse(DimseResponse):
    """N-ACTION-RSP (PS3.7 10.3.4): the command fields as attributes."""

    COMMAND_FIELD = CommandField.N_ACTION_RSP
    affected_sop_class_uid: str | None = None
    affected_sop_instance_uid: str | None = None
    action_type_id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NCreateRequest(DimseRequest):
    """N-CREATE-RQ (PS3.7 10.3.5): the command fields as attributes."""

    COMMAND_FIELD = CommandField.N_CREATE_RQ
    affected_sop_class_uid: str
    affected_sop_instance_uid: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NCreateResponse(DimseResponse):
    """N-CREATE-RSP (PS3.7 10.3.5): the command fields as attributes."""

    COMMAND_FIELD = CommandField.N_CREATE_RSP
    affected_sop_class_uid: str | None = None
    affected_sop_instance_uid: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NDeleteRequest(DimseRequest):
    """N-DELETE-RQ (PS3.7 10.3.6): the command fields as attributes."""

    COMMAND_FIELD = CommandField.N_DELETE_RQ
    requested_sop_class_uid: str
    requested_sop_instance_uid: str


@dataclass(frozen=True, slots=True, kw_only=True)
class NDeleteResponse(DimseResponse):
    """N-DELETE-RSP (PS3.7 10.3.6): the command fields as attributes."""

    COMMAND_FIELD = CommandField.N_DELETE_RSP
    affected_sop_class_uid: str | None = None
    affected_sop_instance_uid: str | None = None


#: Command Field value -> message class.
MESSAGE_TYPES: Final[dict[int, type[DimseMessage]]] = {
    cls.COMMAND_FIELD: cls
    for cls in (
        CEchoRequest,
        CEchoResponse,
        CStoreRequest,
        CStoreResponse,
        CFindRequest,
        CFindResponse,
        CGetRequest,
        CGetResponse,
        CMoveRequest,
        CMoveResponse,
        CCancelRequest,
        NEventReportRequest,
        NEventReportResponse,
        NGetRequest,
        NGetResponse,
        NSetRequest,
        NSetResponse,
        NActionRequest,
        NActionResponse,
        NCreateRequest,
        NCreateResponse,
        NDeleteRequest,
        NDeleteResponse,
    )
}

#: Which response class answers which request class.
RESPONSE_FOR: Final[dict[type[DimseMessage], type[DimseResponse]]] = {
    MESSAGE_TYPES[cf]: MESSAGE_TYPES[cf | 0x8000]  # type: ignore[misc]
    for cf in MESSAGE_TYPES
    if not cf & 0x8000 and cf != CommandField.C_CANCEL_RQ
}

_FIELDS_CACHE: dict[type[DimseMessage], tuple[tuple[str, int], ...]] = {}


def _message_fields(cls: type[DimseMessage]) -> tuple[tuple[str, int], ...]:
    found = _FIELDS_CACHE.get(cls)
    if found is None:
        found = tuple((name, FIELD_TAGS[name]) for name in field_names(cls) if name not in _SKIP)
        _FIELDS_CACHE[cls] = found
    return found


def message_elements(msg: DimseMessage) -> dict[int, Any]:
    """The command elements of a message as ``{tag: value}`` (None values left out)."""
    elements: dict[int, Any] = dict(msg.extra)
    for name, tag in _message_fields(type(msg)):
        value = getattr(msg, name)
        if value is not None:
            elements[tag] = value
    elements[c.COMMAND_FIELD] = msg.COMMAND_FIELD
    elements[c.COMMAND_DATA_SET_TYPE] = c.DATA_SET_PRESENT if msg.has_dataset else c.NO_DATA_SET
    return elements


# Per-class encoding plan (built once): the command element tags in tag order, a getter
# returning the field values in that order, and where Command Field and CommandDataSetType
# go. A message without ``extra`` elements is then encoded with no dict and no sort.
_PLANS: dict[type[DimseMessage], tuple[tuple[int, ...], Callable[[Any], Any], int, int, int]] = {}


def _encode_plan(
    cls: type[DimseMessage],
) -> tuple[tuple[int, ...], Callable[[Any], Any], int, int, int]:
    plan = _PLANS.get(cls)
    if plan is None:
        fields = sorted((tag, name) for name, tag in _message_fields(cls))
        names = [name for _, name in fields]
        tags = [tag for tag, _ in fields]
        cf_at = sum(1 for t in tags if t < c.COMMAND_FIELD)
        tags.insert(cf_at, c.COMMAND_FIELD)
        dst_at = sum(1 for t in tags if t < c.COMMAND_DATA_SET_TYPE)
        tags.insert(dst_at, c.COMMAND_DATA_SET_TYPE)
        getter = (
            operator.attrgetter(*names)
            if len(names) > 1
            else (lambda m, _n=names[0]: (getattr(m, _n),))
        )
        plan = (tuple(tags), getter, cf_at, dst_at, int(cls.COMMAND_FIELD))
        _PLANS[cls] = plan
    return plan


def encode_message(msg: DimseMessage) -> bytes:
    """The command set bytes of a message (implicit VR LE, group length first)."""
    if msg.extra:
        return c.encode_command(message_elements(msg))
    tags, getter, cf_at, dst_at, cf = _encode_plan(type(msg))
    values = list(getter(msg))
    values.insert(cf_at, cf)
    values.insert(dst_at, c.DATA_SET_PRESENT if msg.has_dataset else c.NO_DATA_SET)
    return c.encode_sorted(zip(tags, values, strict=True))


_TAG_NAMES: dict[type[DimseMessage], dict[int, str]] = {}
_NOT_EXTRA: Final = frozenset({c.COMMAND_FIELD, c.COMMAND_DATA_SET_TYPE, c.COMMAND_GROUP_LENGTH})


def message_from_elements(elements: Mapping[int, Any]) -> DimseMessage:
    """Build the typed message for decoded command elements; checks required fields."""
    cf = elements.get(c.COMMAND_FIELD)
    cls = MESSAGE_TYPES.get(cf) if isinstance(cf, int) else None
    if cls is None:
        raise InvalidDicomError(f"unknown DIMSE command field {cf!r}", tag=c.COMMAND_FIELD)
    names = _TAG_NAMES.get(cls)
    if names is None:
        names = _TAG_NAMES[cls] = {tag: name for name, tag in _message_fields(cls)}
    kwargs: dict[str, Any] = {}
    extra: dict[int, Any] = {}
    for tag, value in elements.items():
        name = names.get(tag)
        if name is not None:
            if name in _TUPLE_FIELDS and isinstance(value, int):
                value = (value,)
            kwargs[name] = value
        elif tag not in _NOT_EXTRA:
            extra[tag] = value
    dst = elements.get(c.COMMAND_DATA_SET_TYPE, c.NO_DATA_SET)
    kwargs["has_dataset"] = dst != c.NO_DATA_SET
    kwargs["extra"] = extra
    try:
        return cls(**kwargs)
    except TypeError as exc:
        missing = [n for n, _ in _message_fields(cls) if n not in kwargs]
        raise InvalidDicomError(
            f"{cls.__name__} is missing required command elements {missing}: {exc}"
        ) from None


def decode_message(data: bytes | bytearray | memoryview) -> DimseMessage:
    """Decode command set bytes into a typed message."""
    return message_from_elements(c.decode_command(data))


# --- assembling messages from PDVs -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MessageReceived:
    """A whole message; ``dataset`` is the data set bytes (None when there is none, or when
    the data set was streamed as :class:`DatasetFragment` values)."""

    context_id: int
    message: DimseMessage
    dataset: bytes | None = None


@dataclass(frozen=True, slots=True)
class DatasetFragment:
    """Part of a streamed data set; ``last`` marks the final fragment."""

    context_id: int
    data: bytes
    last: bool


AssemblerEvent: TypeAlias = MessageReceived | DatasetFragment
#: A command set is a few hundred bytes; more than this is an attack or a bug.
MAX_COMMAND_SIZE: Final = 64 * 1024
ShouldStream: TypeAlias = Callable[[int, DimseMessage], bool]


class DimseAssembler:
    """Collects PDV fragments into DIMSE messages (PS3.7 E.2; PS3.8 E.2).

    ``feed(context_id, is_command, is_last, data)`` returns the events completed by that
    fragment. A message whose command says a data set follows is returned when its last data
    fragment arrives - unless ``stream(context_id, message)`` returns True, in which case a
    :class:`MessageReceived` (dataset None) is returned as soon as the command is complete,
    then each data fragment as a :class:`DatasetFragment`. ``max_buffered`` bounds the bytes a
    buffered data set may reach (``RemoteProtocolError`` past it).
    """

    def __init__(
        self, *, stream: ShouldStream | None = None, max_buffered: int | None = None
    ) -> None:
        self._stream = stream
        self._max = max_buffered
        self._cmd: list[bytes] = []
        self._cmd_size = 0
        self._cmd_context: int | None = None
        self._data: list[bytes] = []
        self._data_size = 0
        self._pending: DimseMessage | None = None  # command done, data set expected
        self._pending_context = 0
        self._streaming = False

    @property
    def idle(self) -> bool:
        """True between messages (nothing partly received)."""
        return not self._cmd and self._pending is None

    def feed(
        self, context_id: int, is_command: bool, is_last: bool, data: bytes | bytearray | memoryview
    ) -> list[AssemblerEvent]:
        if is_command:
            if self._pending is not None:
                raise RemoteProtocolError("command fragment received while a data set was expected")
            raw: bytes | bytearray | memoryview
            if is_last and not self._cmd:
                # the usual case, a whole command in one PDV: decoded straight from the view
                if len(data) > MAX_COMMAND_SIZE:
                    raise RemoteProtocolError(
                        f"command set larger than {MAX_COMMAND_SIZE} bytes (fragments still coming)"
                    )
                raw = data
            else:
                if self._cmd_context is not None and context_id != self._cmd_context:
                    raise RemoteProtocolError(
                        "command fragments on different presentation contexts"
                    )
                self._cmd_size += len(data)
                if self._cmd_size > MAX_COMMAND_SIZE:
                    raise RemoteProtocolError(
                        f"command set larger than {MAX_COMMAND_SIZE} bytes (fragments still coming)"
                    )
                self._cmd.append(bytes(data))
                self._cmd_context = context_id
                if not is_last:
                    return []
                raw = b"".join(self._cmd)
                self._cmd.clear()
                self._cmd_size = 0
                self._cmd_context = None
            try:
                msg = decode_message(raw)
            except InvalidDicomError as exc:
                raise RemoteProtocolError(f"malformed DIMSE command: {exc}") from None
            if not msg.has_dataset:
                return [MessageReceived(context_id, msg)]
            self._pending = msg
            self._pending_context = context_id
            self._streaming = bool(self._stream and self._stream(context_id, msg))
            return [MessageReceived(context_id, msg)] if self._streaming else []
        # data fragment
        if self._pending is None:
            raise RemoteProtocolError("data set fragment received with no command expecting one")
        if context_id != self._pending_context:
            raise RemoteProtocolError(
                f"data set on presentation context {context_id}, command on {self._pending_context}"
            )
        if self._streaming:
            if is_last:
                self._pending = None
                self._streaming = False
            return [DatasetFragment(context_id, bytes(data), is_last)]
        self._data.append(bytes(data))
        self._data_size += len(data)
        if self._max is not None and self._data_size > self._max:
            raise RemoteProtocolError(f"data set exceeds the {self._max} byte buffer limit")
        if not is_last:
            return []
        msg = self._pending
        dataset = b"".join(self._data)
        self._data.clear()
        self._data_size = 0
        self._pending = None
        return [MessageReceived(context_id, msg, dataset)]


# --- fragmenting messages into PDVs ------------------------------------------------------

__all__ = [
    "FIELD_TAGS",
    "MAX_COMMAND_SIZE",
    "MESSAGE_TYPES",
    "RESPONSE_FOR",
    "AssemblerEvent",
    "CCancelRequest",
    "CEchoRequest",
    "CEchoResponse",
    "CFindRequest",
    "CFindResponse",
    "CGetRequest",
    "CGetResponse",
    "CMoveRequest",
    "CMoveResponse",
    "CStoreRequest",
    "CStoreResponse",
    "CommandField",
    "DatasetFragment",
    "DimseAssembler",
    "DimseMessage",
    "DimseRequest",
    "DimseResponse",
    "MessageReceived",
    "NActionRequest",
    "NActionResponse",
    "NCreateRequest",
    "NCreateResponse",
    "NDeleteRequest",
    "NDeleteResponse",
    "NEventReportRequest",
    "NEventReportResponse",
    "NGetRequest",
    "NGetResponse",
    "NSetRequest",
    "NSetResponse",
    "Priority",
    "decode_message",
    "encode_message",
    "message_elements",
]

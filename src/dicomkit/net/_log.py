"""Words for the network's logs and error messages.

PS3.8 gives the A-ASSOCIATE-RJ result/source/reason (Table 9-21) and the A-ABORT source/reason
(Table 9-26) as numbers; :func:`reject_words` and :func:`abort_words` say them in words, with
what to try. :func:`describe_rq` / :func:`describe_ac` write out an association request and
answer, :func:`describe_message` one DIMSE message on one line -- the `-v` view of DCMTK's
``-d``. They are pure functions: the driver calls them only when a logger is enabled for it.

Loggers: ``dicomkit.net.pdu`` (association requests and answers, INFO),
``dicomkit.net.dimse`` (one line per DIMSE message at INFO, its data set at DEBUG).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dicomkit._lazylog import LazyLogger
from dicomkit.errors import AssociationAborted

if TYPE_CHECKING:
    import logging

__all__ = [
    "abort_words",
    "describe_ac",
    "describe_dataset",
    "describe_message",
    "describe_rq",
    "dimse_log",
    "log_lines",
    "pdu_log",
    "reject_words",
    "uid_name",
]

#: ``logging`` is imported when one of them first logs (see dicomkit._lazylog)
pdu_log = LazyLogger("dicomkit.net.pdu")
dimse_log = LazyLogger("dicomkit.net.dimse")
_net_log = LazyLogger("dicomkit.net")

_RJ_RESULT = {1: "permanent", 2: "transient"}
_RJ_SOURCE = {
    1: "the service user",
    2: "the service provider (ACSE)",
    3: "the service provider (presentation)",
}
# (source, reason) -> meaning, PS3.8 Table 9-21; other values are reserved
_RJ_REASON = {
    (1, 1): "no reason given",
    (1, 2): "application context name not supported",
    (1, 3): "calling AE title not recognized",
    (1, 7): "called AE title not recognized",
    (2, 1): "no reason given",
    (2, 2): "protocol version not supported",
    (3, 1): "temporary congestion",
    (3, 2): "local limit exceeded",
}
_RJ_HINT = {
    (1, 3): "the peer does not know our AE title (--aet): add it to the peer's configuration",
    (1, 7): "the peer is not called that: check the called AE title (--aec)",
    (1, 2): "the peer does not speak the DICOM application context",
    (3, 1): "the peer is busy: try again later",
    (3, 2): "the peer has too many associations: try again later",
}
_ABORT_SOURCE = {0: "the service user", 1: "a reserved source (1)", 2: "the service provider"}
# PS3.8 Table 9-26 (significant only when the source is the service provider)
_ABORT_REASON = {
    0: "reason not specified",
    1: "unrecognized PDU",
    2: "unexpected PDU",
    4: "unrecognized PDU parameter",
    5: "unexpected PDU parameter",
    6: "invalid PDU parameter value",
}
_PC_RESULT = {
    0: "accepted",
    1: "rejected by the user",
    2: "rejected, no reason (provider)",
    3: "rejected: abstract syntax not supported",
    4: "rejected: transfer syntaxes not supported",
}
_IDENTITY_TYPES = {
    1: "username",
    2: "username and passcode",
    3: "Kerberos ticket",
    4: "SAML assertion",
    5: "JSON web token",
}


def reject_words(result: int, source: int, reason: int, *, hint: bool = False) -> str:
    """``reject_words(1, 1, 3)`` -> "rejected (permanent) by the service user: calling AE
    title not recognized" (PS3.8 9.3.4, Table 9-21); with ``hint`` what to try is appended."""
    kind = _RJ_RESULT.get(result, f"result {result}, reserved")
    who = _RJ_SOURCE.get(source, f"source {source} (reserved)")
    why = _RJ_REASON.get((source, reason), f"reason {reason} (reserved)")
    text = f"rejected ({kind}) by {who}: {why}"
    if hint and (advice := _RJ_HINT.get((source, reason))):
        text += f" ({advice})"
    return text


def abort_words(source: int, reason: int) -> str:
    """``abort_words(2, 2)`` -> "aborted by the service provider: unexpected PDU" (PS3.8
    9.3.8, Table 9-26). A service user's reason is not significant and is left out."""
    who = _ABORT_SOURCE.get(source, f"source {source} (reserved)")
    if source != 2:
        return f"aborted by {who}"
    return f"aborted by {who}: {_ABORT_REASON.get(reason, f'reason {reason} (reserved)')}"


def aborted_error(event: Any, peer: str, error: BaseException | None) -> Exception:
    """The error an association ends with on an ``Aborted`` engine event (PS3.8 7.3-7.4), in
    words: our own abort after a protocol error, the peer's A-ABORT (source/reason named), or
    the provider's A-P-ABORT (connection lost). Logs a peer's protocol violation once."""
    if event.error is not None and error is not None:
        return AssociationAborted(str(error), source=2)
    if event.error is not None:
        _net_log.warning(
            "%s: aborting, the peer broke the upper-layer protocol: %s", peer, event.error
        )
        return AssociationAborted(
            f"peer {peer} broke the protocol: {event.error}",
            source=event.source,
            reason=event.reason,
        )
    if event.provider:
        return AssociationAborted(
            f"connection to {peer} lost (A-P-ABORT)", source=event.source, reason=event.reason
        )
    return AssociationAborted(
        f"association with {peer} " + abort_words(event.source, event.reason),
        source=event.source,
        reason=event.reason,
    )


def log_lines(logger: logging.Logger | LazyLogger, level: int, peer: str, text: str) -> None:
    """Log a several-line description one record per line (each line prefixed with the peer),
    so that no record ever holds a control character, a newline included."""
    for line in text.splitlines():
        logger.log(level, "%s: %s", peer, line)


def uid_name(uid: str) -> str:
    """``"CT Image Storage (1.2.840.10008.5.1.4.1.1.2)"``; the bare UID when unregistered."""
    if not uid:
        return "(none)"
    from dicomkit.dictionary import uid_info  # the registry loads only when a log asks

    info = uid_info(uid)
    return f"{info.name} ({uid})" if info is not None else uid


def _printable(text: str) -> str:
    return text if text.isprintable() else ascii(text)


def _user_lines(user: Any, *, request: bool) -> list[str]:
    lines = [
        f"  implementation class UID: {user.implementation_class_uid or '(none)'}",
        f"  implementation version name: {_printable(user.implementation_version_name or '')}",
        f"  maximum PDU length: {user.max_length if user.max_length else 'unlimited'}",
    ]
    window = user.async_window
    if window is not None:
        lines.append(
            f"  asynchronous operations window: invoked {window.max_invoked}, "
            f"performed {window.max_performed}"
        )
    for role in user.role_selections:
        roles = "/".join(r for r, on in (("SCU", role.scu_role), ("SCP", role.scp_role)) if on)
        lines.append(f"  role selection: {uid_name(role.sop_class_uid)}: {roles or 'none'}")
    for item in user.extended_negotiations:
        lines.append(
            f"  extended negotiation: {uid_name(item.sop_class_uid)}: "
            f"{bytes(item.application_info).hex() or '(empty)'}"
        )
    if request:
        identity = user.user_identity
        if identity is not None:  # the secondary field (passcode) is never logged
            kind = _IDENTITY_TYPES.get(identity.identity_type, f"type {identity.identity_type}")
            shown = (
                f" {_printable(bytes(identity.primary).decode('utf-8', 'replace'))!r}"
                if identity.identity_type in (1, 2)
                else ""
            )
            lines.append(
                f"  user identity: {kind}{shown}"
                + (", positive response requested" if identity.positive_response_requested else "")
            )
    elif user.user_identity_response is not None:
        lines.append("  user identity: accepted (server response present)")
    return lines


def describe_rq(rq: Any) -> str:
    """An A-ASSOCIATE-RQ (PS3.8 9.3.2) over several lines, UIDs with their names."""
    lines = [
        f"A-ASSOCIATE-RQ {_printable(rq.calling_ae)} -> {_printable(rq.called_ae)}",
        f"  application context: {uid_name(rq.application_context)}",
        *_user_lines(rq.user_information, request=True),
    ]
    for pc in rq.presentation_contexts:
        lines.append(f"  context {pc.context_id}: {uid_name(pc.abstract_syntax)}")
        lines.extend(f"    transfer syntax {uid_name(ts)}" for ts in pc.transfer_syntaxes)
    return "\n".join(lines)


def describe_ac(ac: Any, rq: Any = None) -> str:
    """An A-ASSOCIATE-AC (PS3.8 9.3.3): each context accepted or rejected (with the reason),
    named after the abstract syntax the request proposed for it."""
    proposed = {pc.context_id: pc.abstract_syntax for pc in rq.presentation_contexts} if rq else {}
    lines = [
        f"A-ASSOCIATE-AC {_printable(ac.calling_ae)} -> {_printable(ac.called_ae)}",
        *_user_lines(ac.user_information, request=False),
    ]
    accepted = 0
    for pc in ac.presentation_contexts:
        what = uid_name(proposed[pc.context_id]) if pc.context_id in proposed else "?"
        result = _PC_RESULT.get(pc.result, f"result {pc.result}")
        if pc.result == 0:
            accepted += 1
            lines.append(
                f"  context {pc.context_id}: {what}: {result}, {uid_name(pc.transfer_syntax)}"
            )
        else:
            lines.append(f"  context {pc.context_id}: {what}: {result}")
    lines.insert(1, f"  {accepted} of {len(ac.presentation_contexts)} contexts accepted")
    return "\n".join(lines)


_SKIP = frozenset({"has_dataset", "extra"})
_UID_FIELDS = frozenset(
    {"affected_sop_class_uid", "requested_sop_class_uid"}
)  # instance UIDs are shown bare


def describe_message(message: Any, *, sent: bool, context_id: int | None = None) -> str:
    """One DIMSE message on one line: ``sent C-STORE-RQ id 3 on context 1: affected SOP class
    CT Image Storage (1.2...), affected SOP instance 1.2.3, priority MEDIUM, with data set``."""
    from dicomkit._dataclass import field_names
    from dicomkit.net.proto._dimse import CommandField, Priority
    from dicomkit.net.proto._status import describe, service_for

    try:
        name = CommandField(message.COMMAND_FIELD).name.replace("_", "-")
    except ValueError:
        name = f"command 0x{message.COMMAND_FIELD:04X}"
    parts: list[str] = []
    for key in field_names(message):
        value = getattr(message, key)
        if key in _SKIP or value is None or key in ("message_id", "message_id_being_responded_to"):
            continue
        label = key.replace("_", " ").replace("sop", "SOP").removesuffix(" uid")
        if key in _UID_FIELDS:
            parts.append(f"{label} {uid_name(value)}")
        elif key == "status":
            sop_class = getattr(message, "affected_sop_class_uid", None)
            parts.append(f"status {describe(value, service_for(name, sop_class))}")
        elif key == "priority":
            try:
                parts.append(f"priority {Priority(value).name}")
            except ValueError:
                parts.append(f"priority {value}")
        elif key == "error_comment":
            parts.append(f"error comment {_printable(value)!r}")
        elif key in ("offending_element", "attribute_identifier_list"):
            parts.append(f"{label} " + " ".join(f"({t >> 16:04X},{t & 0xFFFF:04X})" for t in value))
        else:
            parts.append(f"{label} {_printable(str(value))}")
    if message.has_dataset:
        parts.append("with data set")
    mid = getattr(message, "message_id", None)
    rsp_to = getattr(message, "message_id_being_responded_to", None)
    head = f"{'sent' if sent else 'received'} {name}"
    if mid is not None:
        head += f" id {mid}"
    if rsp_to is not None:
        head += f" (response to {rsp_to})"
    if context_id is not None:
        head += f" on context {context_id}"
    return head + (": " + ", ".join(parts) if parts else "")


def describe_dataset(data: Any, transfer_syntax: str) -> str:
    """A data set's elements, one per line (``-vv``): a :class:`Dataset` or its encoded bytes
    in ``transfer_syntax``. Undecodable bytes are said so, never raised."""
    from dicomkit.core._dataset import Dataset

    try:
        if not isinstance(data, Dataset):
            from dicomkit.net._messages import decode_data

            data = decode_data(bytes(data), transfer_syntax)
        text = str(data)
    except Exception as exc:  # noqa: BLE001 -- a log line must never fail the transfer
        return f"  (data set not shown: {type(exc).__name__}: {exc})"
    return "\n".join(f"  {line}" for line in text.splitlines())

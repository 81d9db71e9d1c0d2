"""Association negotiation as pure functions (PS3.8 7.1.1, 9.3; PS3.7 D.3.3).

* :func:`build_request` -- a requestor's A-ASSOCIATE-RQ from abstract / transfer syntaxes,
  with odd presentation context ids 1, 3, 5 ... (at most 128 contexts, PS3.8 9.3.2.2).
* :func:`accept` -- the acceptor's answer to an A-ASSOCIATE-RQ under an
  :class:`AcceptorConfig`: an A-ASSOCIATE-AC (each context accepted or rejected with its
  reason) or an A-ASSOCIATE-RJ.
* :func:`negotiate` -- what both sides agreed, from the RQ and the AC: contexts (id ->
  abstract syntax, transfer syntax, roles), each side's maximum PDU length, the asynchronous
  operations window, extended negotiation, user identity.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from dicomkit.core._uid import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME
from dicomkit.dictionary import uids
from dicomkit.errors import RemoteProtocolError
from dicomkit.net.proto._items import (
    AsyncOperationsWindowItem,
    ImplementationClassUIDItem,
    ImplementationVersionNameItem,
    MaximumLengthItem,
    PresentationContextACItem,
    PresentationContextRQItem,
    RoleSelectionItem,
    SOPClassCommonExtendedNegotiationItem,
    SOPClassExtendedNegotiationItem,
    UserIdentityACItem,
    UserIdentityRQItem,
    UserInformationItem,
    UserSubItem,
)
from dicomkit.net.proto._pdu import AAssociateAC, AAssociateRJ, AAssociateRQ

if TYPE_CHECKING:
    from dataclasses import dataclass, field
else:  # cheaper to import (see _dataclass)
    from dicomkit._dataclass import dataclass, field

__all__ = [
    "APPLICATION_CONTEXT",
    "DEFAULT_MAX_PDU_LENGTH",
    "IMPLEMENTATION_CLASS_UID",
    "IMPLEMENTATION_VERSION_NAME",
    "MAX_PRESENTATION_CONTEXTS",
    "AcceptorConfig",
    "Negotiated",
    "NegotiatedContext",
    "accept",
    "build_request",
    "negotiate",
]

APPLICATION_CONTEXT = uids.DICOMApplicationContext
"""The DICOM Application Context Name (PS3.7 A.2.1)."""
DEFAULT_MAX_PDU_LENGTH = 65536
MAX_PRESENTATION_CONTEXTS = 128

# A-ASSOCIATE-RJ values (PS3.8 Table 9-21)
RJ_PERMANENT, RJ_TRANSIENT = 1, 2
RJ_SOURCE_USER, RJ_SOURCE_ACSE, RJ_SOURCE_PRESENTATION = 1, 2, 3
RJ_NO_REASON = 1
RJ_APPLICATION_CONTEXT_NOT_SUPPORTED = 2
RJ_CALLING_AE_NOT_RECOGNIZED = 3
RJ_CALLED_AE_NOT_RECOGNIZED = 7
RJ_TEMPORARY_CONGESTION = 1
RJ_LOCAL_LIMIT_EXCEEDED = 2

# Presentation context results (PS3.8 Table 9-18)
PC_ACCEPTANCE = 0
PC_USER_REJECTION = 1
PC_NO_REASON = 2
PC_ABSTRACT_SYNTAX_NOT_SUPPORTED = 3
PC_TRANSFER_SYNTAXES_NOT_SUPPORTED = 4


def _implementation_items() -> list[UserSubItem]:
    return [
        ImplementationClassUIDItem(IMPLEMENTATION_CLASS_UID),
        ImplementationVersionNameItem(IMPLEMENTATION_VERSION_NAME),
    ]


def build_request(
    called_ae: str,
    calling_ae: str,
    contexts: Sequence[tuple[str, Sequence[str]]],
    *,
    max_pdu_length: int = DEFAULT_MAX_PDU_LENGTH,
    roles: Mapping[str, tuple[bool, bool]] | None = None,
    async_window: tuple[int, int] | None = None,
    extended: Mapping[str, bytes] | None = None,
    common_extended: Sequence[SOPClassCommonExtendedNegotiationItem] = (),
    user_identity: UserIdentityRQItem | None = None,
) -> AAssociateRQ:
    """An A-ASSOCIATE-RQ proposing ``contexts`` (abstract syntax, transfer syntaxes) in order.

    ``roles`` maps a SOP class to (SCU role, SCP role) proposed for this side (PS3.7 D.3.3.4);
    ``extended`` maps a SOP class to its service-class application information (D.3.3.5).
    """
    if not contexts:
        raise ValueError("at least one presentation context is needed")
    if len(contexts) > MAX_PRESENTATION_CONTEXTS:
        raise ValueError(f"{len(contexts)} presentation contexts; at most 128 are allowed")
    pcs = tuple(
        PresentationContextRQItem(2 * i + 1, abstract, tuple(ts))
        for i, (abstract, ts) in enumerate(contexts)
    )
    subs: list[UserSubItem] = [MaximumLengthItem(max_pdu_length), *_implementation_items()]
    if async_window is not None:
        subs.append(AsyncOperationsWindowItem(*async_window))
    subs += [RoleSelectionItem(uid, scu, scp) for uid, (scu, scp) in (roles or {}).items()]
    subs += [SOPClassExtendedNegotiationItem(uid, info) for uid, info in (extended or {}).items()]
    subs += list(common_extended)
    if user_identity is not None:
        subs.append(user_identity)
    return AAssociateRQ(called_ae, calling_ae, pcs, UserInformationItem(tuple(subs)))


@dataclass(frozen=True, slots=True)
class AcceptorConfig:
    """What an acceptor supports.

    ``supported``: abstract syntax -> accepted transfer syntaxes, in preference order.
    ``prefer_requestor_order``: choose the first of the *requestor's* transfer syntaxes that is
    supported instead of the acceptor's first. ``roles``: SOP class -> (requestor may be SCU,
    requestor may be SCP); classes not listed get no role selection reply, i.e. the default
    roles (PS3.7 D.3.3.4). ``user_rejected``: abstract syntaxes refused by the user (result 1).
    ``extended``: SOP class -> supported application-information flags; the reply is the
    byte-wise AND with the request (PS3.7 D.3.3.5). ``called_ae_titles`` /
    ``calling_ae_titles``: accepted titles, ``None`` = any. ``async_window``: the largest
    window (invoked, performed) accepted, 0 = unlimited.
    """

    supported: Mapping[str, Sequence[str]] = field(default_factory=dict)
    prefer_requestor_order: bool = False
    roles: Mapping[str, tuple[bool, bool]] = field(default_factory=dict)
    user_rejected: frozenset[str] = frozenset()
    extended: Mapping[str, bytes] = field(default_factory=dict)
    max_pdu_length: int = DEFAULT_MAX_PDU_LENGTH
    called_ae_titles: frozenset[str] | None = None
    calling_ae_titles: frozenset[str] | None = None
    async_window: tuple[int, int] = (1, 1)


def _window(requested: int, limit: int) -> int:
    if requested == 0:
        return limit
    if limit == 0:
        return requested
    return min(requested, limit)


def accept(
    rq: AAssociateRQ,
    config: AcceptorConfig,
    *,
    busy: bool = False,
    limit_exceeded: bool = False,
    user_identity_response: bytes | None = None,
) -> AAssociateAC | AAssociateRJ:
    """The acceptor's response to ``rq`` (PS3.8 7.1.1.7-7.1.1.14, 9.3.3, 9.3.4).

    ``busy`` rejects transiently with temporary-congestion, ``limit_exceeded`` with
    local-limit-exceeded (source: service-provider, presentation related). A positive user
    identity response (PS3.7 D.3.3.7.2) is sent when requested and ``user_identity_response``
    is given.
    """
    if rq.application_context != APPLICATION_CONTEXT:
        return AAssociateRJ(RJ_PERMANENT, RJ_SOURCE_USER, RJ_APPLICATION_CONTEXT_NOT_SUPPORTED)
    if config.called_ae_titles is not None and rq.called_ae not in config.called_ae_titles:
        return AAssociateRJ(RJ_PERMANENT, RJ_SOURCE_USER, RJ_CALLED_AE_NOT_RECOGNIZED)
    if config.calling_ae_titles is not None and rq.calling_ae not in config.calling_ae_titles:
        return AAssociateRJ(RJ_PERMANENT, RJ_SOURCE_USER, RJ_CALLING_AE_NOT_RECOGNIZED)
    if busy:
        return AAssociateRJ(RJ_TRANSIENT, RJ_SOURCE_PRESENTATION, RJ_TEMPORARY_CONGESTION)
    if limit_exceeded:
        return AAssociateRJ(RJ_TRANSIENT, RJ_SOURCE_PRESENTATION, RJ_LOCAL_LIMIT_EXCEEDED)
    if len(rq.presentation_contexts) > MAX_PRESENTATION_CONTEXTS:
        return AAssociateRJ(RJ_PERMANENT, RJ_SOURCE_USER, RJ_NO_REASON)

    results: list[PresentationContextACItem] = []
    seen: set[int] = set()
    for pc in rq.presentation_contexts:
        cid = pc.context_id
        if cid % 2 == 0 or cid in seen:
            # even or duplicate id: the provider cannot use it (PS3.8 9.3.2.2)
            results.append(PresentationContextACItem(cid, PC_NO_REASON, ""))
            seen.add(cid)
            continue
        seen.add(cid)
        if pc.abstract_syntax in config.user_rejected:
            results.append(PresentationContextACItem(cid, PC_USER_REJECTION, ""))
            continue
        ours = config.supported.get(pc.abstract_syntax)
        if ours is None:
            results.append(PresentationContextACItem(cid, PC_ABSTRACT_SYNTAX_NOT_SUPPORTED, ""))
            continue
        if config.prefer_requestor_order:
            chosen = next((ts for ts in pc.transfer_syntaxes if ts in ours), None)
        else:
            chosen = next((ts for ts in ours if ts in pc.transfer_syntaxes), None)
        if chosen is None:
            results.append(PresentationContextACItem(cid, PC_TRANSFER_SYNTAXES_NOT_SUPPORTED, ""))
        else:
            results.append(PresentationContextACItem(cid, PC_ACCEPTANCE, chosen))

    ui = rq.user_information
    subs: list[UserSubItem] = [MaximumLengthItem(config.max_pdu_length), *_implementation_items()]
    window = ui.async_window
    if window is not None:
        subs.append(
            AsyncOperationsWindowItem(
                _window(window.max_invoked, config.async_window[0]),
                _window(window.max_performed, config.async_window[1]),
            )
        )
    for role in ui.role_selections:
        allowed = config.roles.get(role.sop_class_uid)
        if allowed is not None:
            subs.append(
                RoleSelectionItem(
                    role.sop_class_uid, role.scu_role and allowed[0], role.scp_role and allowed[1]
                )
            )
    for ext in ui.extended_negotiations:
        supported = config.extended.get(ext.sop_class_uid)
        if supported is not None:
            # the peer's info may be longer or shorter than ours: only the bytes both know count
            info = bytes(a & b for a, b in zip(ext.application_info, supported, strict=False))
            subs.append(SOPClassExtendedNegotiationItem(ext.sop_class_uid, info))
    identity = ui.user_identity
    if (
        identity is not None
        and identity.positive_response_requested
        and user_identity_response is not None
    ):
        subs.append(UserIdentityACItem(user_identity_response))
    return AAssociateAC(
        rq.called_ae,
        rq.calling_ae,
        tuple(results),
        UserInformationItem(tuple(subs)),
        APPLICATION_CONTEXT,
    )


@dataclass(frozen=True, slots=True)
class NegotiatedContext:
    """One presentation context after negotiation.

    ``scu_role`` / ``scp_role`` are the roles of the *requestor* for this abstract syntax
    (PS3.7 D.3.3.4); the acceptor takes the complementary roles. Without role selection the
    requestor is SCU only.
    """

    context_id: int
    abstract_syntax: str
    transfer_syntax: str
    result: int
    scu_role: bool = True
    scp_role: bool = False

    @property
    def accepted(self) -> bool:
        return self.result == PC_ACCEPTANCE


@dataclass(frozen=True, slots=True)
class Negotiated:
    """What an association agreed on (both sides compute the same from the RQ and the AC)."""

    calling_ae: str
    called_ae: str
    contexts: Mapping[int, NegotiatedContext]
    requestor_max_pdu_length: int  # what the requestor receives; 0 = unlimited
    acceptor_max_pdu_length: int
    max_operations_invoked: int = 1
    max_operations_performed: int = 1
    extended: Mapping[str, bytes] = field(default_factory=dict)
    common_extended: tuple[SOPClassCommonExtendedNegotiationItem, ...] = ()
    user_identity: UserIdentityRQItem | None = None
    user_identity_response: bytes | None = None
    requestor_implementation: tuple[str | None, str | None] = (None, None)
    acceptor_implementation: tuple[str | None, str | None] = (None, None)

    @property
    def accepted(self) -> list[NegotiatedContext]:
        return [c for c in self.contexts.values() if c.accepted]

    def find(
        self, abstract_syntax: str, transfer_syntax: str | None = None
    ) -> NegotiatedContext | None:
        """The first accepted context for an abstract syntax (and transfer syntax, if given)."""
        for c in self.contexts.values():
            if (
                c.accepted
                and c.abstract_syntax == abstract_syntax
                and (transfer_syntax is None or c.transfer_syntax == transfer_syntax)
            ):
                return c
        return None


def negotiate(rq: AAssociateRQ, ac: AAssociateAC) -> Negotiated:
    """Combine an A-ASSOCIATE-RQ and its A-ASSOCIATE-AC (PS3.8 7.1.1.13-14, PS3.7 D.3.3).

    Raises ``RemoteProtocolError`` when the AC answers a context that was not proposed or
    accepts a transfer syntax that was not offered.
    """
    proposed = {pc.context_id: pc for pc in rq.presentation_contexts}
    rq_ui, ac_ui = rq.user_information, ac.user_information
    requested_roles = {r.sop_class_uid: r for r in rq_ui.role_selections}
    answered_roles = {r.sop_class_uid: r for r in ac_ui.role_selections}
    contexts: dict[int, NegotiatedContext] = {}
    for pc in ac.presentation_contexts:
        mine = proposed.get(pc.context_id)
        if mine is None:
            raise RemoteProtocolError(
                f"A-ASSOCIATE-AC answers presentation context {pc.context_id}, never proposed"
            )
        if pc.result == PC_ACCEPTANCE and pc.transfer_syntax not in mine.transfer_syntaxes:
            raise RemoteProtocolError(
                f"A-ASSOCIATE-AC accepts transfer syntax {pc.transfer_syntax} for context "
                f"{pc.context_id}, which was not proposed"
            )
        scu, scp = True, False
        asked = requested_roles.get(mine.abstract_syntax)
        answer = answered_roles.get(mine.abstract_syntax)
        if asked is not None and answer is not None:
            scu = asked.scu_role and answer.scu_role
            scp = asked.scp_role and answer.scp_role
        contexts[pc.context_id] = NegotiatedContext(
            pc.context_id,
            mine.abstract_syntax,
            pc.transfer_syntax if pc.result == PC_ACCEPTANCE else "",
            pc.result,
            scu,
            scp,
        )
    invoked = performed = 1
    if rq_ui.async_window is not None and ac_ui.async_window is not None:
        invoked = ac_ui.async_window.max_invoked
        performed = ac_ui.async_window.max_performed
    response = ac_ui.user_identity_response
    return Negotiated(
        calling_ae=rq.calling_ae,
        called_ae=rq.called_ae,
        contexts=contexts,
        requestor_max_pdu_length=rq_ui.max_length or 0,
        acceptor_max_pdu_length=ac_ui.max_length or 0,
        max_operations_invoked=invoked,
        max_operations_performed=performed,
        extended={e.sop_class_uid: e.application_info for e in ac_ui.extended_negotiations},
        common_extended=rq_ui.common_extended_negotiations,
        user_identity=rq_ui.user_identity,
        user_identity_response=response.server_response if response is not None else None,
        requestor_implementation=(
            rq_ui.implementation_class_uid,
            rq_ui.implementation_version_name,
        ),
        acceptor_implementation=(ac_ui.implementation_class_uid, ac_ui.implementation_version_name),
    )

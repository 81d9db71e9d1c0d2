"""Shared pieces of the DIMSE-N and worklist service classes (PS3.7 10; PS3.4 F, J, K, CC).

- :class:`ServiceAE`: an :class:`~dicomkit.net.AE` whose acceptor also answers SCP/SCU role
  selection (PS3.7 D.3.3.4) for chosen SOP classes -- Storage Commitment and UPS Event reports
  arrive on associations the *other* side opened.
- :class:`SopClassRouter`: one handler per request type for an AE, routing DIMSE-N requests
  to the service that owns their SOP class (MPPS and UPS both take N-CREATE / N-SET ...).
- :func:`n_request`: send a DIMSE-N request, raise :class:`~dicomkit.errors.DimseError` on a
  failure status, return the status and the decoded data set.
- :func:`send_event_report`: open an association to an AE and deliver N-EVENT-REPORTs on it.
- Data-set helpers: text of a value, N-SET modification semantics (PS3.4 F.7.2.2, CC.2.6),
  the attribute selection of N-GET (PS3.7 10.1.2).
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeAlias

from dicomkit.core._dataset import Dataset
from dicomkit.dictionary import status_codes, uids
from dicomkit.errors import DimseError
from dicomkit.net import Association, Incoming, Response, response_for
from dicomkit.net._config import AEConfig
from dicomkit.net._server import AE, Handler, Handlers
from dicomkit.net.proto import _dimse as dimse
from dicomkit.net.proto._negotiation import AcceptorConfig, NegotiatedContext
from dicomkit.net.proto._status import Category, category, service_for

log = logging.getLogger("dicomkit.services")

PLAIN_SYNTAXES = (uids.ExplicitVRLittleEndian, uids.ImplicitVRLittleEndian)

TRANSACTION_UID = 0x00081195
SPECIFIC_CHARACTER_SET = 0x00080005

#: Where an AE title lives: a mapping ``{AE title: (host, port)}`` or a function returning
#: the address or None when the AE is unknown.
AddressBook: TypeAlias = "Mapping[str, tuple[str, int]] | Callable[[str], tuple[str, int] | None]"


def lookup(book: AddressBook | None, ae_title: str) -> tuple[str, int] | None:
    """The (host, port) of ``ae_title`` in an address book (None when unknown)."""
    if book is None:
        return None
    if callable(book):
        return book(ae_title)
    return book.get(ae_title.strip())


class ServiceAE(AE):
    """An AE that, as acceptor, also grants role selection for ``roles``
    (``{sop_class: (requestor may be SCU, requestor may be SCP)}``).

    # The driver's AE.acceptor_config passes no roles to the negotiation, so a peer that opens
    # an association to send us N-EVENT-REPORTs as the SCP of Storage Commitment (PS3.4 J.3.3)
    # gets its role proposal refused. This subclass is the workaround (see findings-services).
    """

    def __init__(
        self,
        ae_title: str = "DICOMKIT",
        *,
        config: AEConfig | None = None,
        handlers: Handlers | None = None,
        supported: Mapping[str, Sequence[str]] | None = None,
        roles: Mapping[str, tuple[bool, bool]] | None = None,
    ) -> None:
        super().__init__(ae_title, config=config, handlers=handlers, supported=supported)
        self.roles = dict(roles or {})

    def acceptor_config(self, handlers: Handlers) -> AcceptorConfig:
        base = super().acceptor_config(handlers)
        if not self.roles:
            return base
        return dataclasses.replace(base, roles={**base.roles, **self.roles})


def supported_for(
    sop_classes: Iterable[str], syntaxes: Sequence[str] = PLAIN_SYNTAXES
) -> dict[str, list[str]]:
    """``supported`` for an AE: Verification plus each SOP class, in ``syntaxes``."""
    out = {uids.Verification: list(PLAIN_SYNTAXES)}
    out.update({uid: list(syntaxes) for uid in sop_classes})
    return out


class SopClassRouter:
    """Route requests by SOP class: ``router.add(sop_class, {NCreateRequest: h, ...})``;
    ``router.handlers()`` is the table for :class:`~dicomkit.net.AE`. A request for a SOP
    class nobody registered is answered 0x0122 (SOP class not supported)."""

    def __init__(self) -> None:
        self._routes: dict[type[dimse.DimseRequest], dict[str, Handler]] = {}

    def add(self, sop_class: str, handlers: Mapping[type[dimse.DimseRequest], Handler]) -> None:
        for kind, handler in handlers.items():
            self._routes.setdefault(kind, {})[sop_class] = handler

    def sop_classes(self) -> set[str]:
        return {uid for table in self._routes.values() for uid in table}

    def handlers(self) -> dict[type[dimse.DimseRequest], Handler]:
        return {kind: self._make(kind) for kind in self._routes}

    def _make(self, kind: type[dimse.DimseRequest]) -> Handler:
        table = self._routes[kind]

        async def route(incoming: Incoming) -> Any:
            msg = incoming.message
            uid = str(
                getattr(msg, "affected_sop_class_uid", None)
                or getattr(msg, "requested_sop_class_uid", None)
                or ""
            )
            handler = table.get(uid or incoming.context.abstract_syntax)
            if handler is None:
                return response_for(msg, status_codes.SOPClassNotSupported)
            result = handler(incoming)
            return await result if inspect.isawaitable(result) else result

        return route


# -- SCU side ----------------------------------------------------------------------------------


def check_status(rsp: Response, what: str) -> int:
    """The status of a response; raises :class:`DimseError` for failures."""
    status = rsp.status
    service = service_for(what, getattr(rsp.message, "affected_sop_class_uid", None))
    if category(status, service) in (Category.FAILURE, Category.UNKNOWN, Category.CANCEL):
        raise DimseError.from_status(
            status,
            service,
            what=what,
            error_comment=rsp.message.error_comment or "",
            offending=offending_tags(rsp.message),
        )
    return status


def offending_tags(message: dimse.DimseResponse) -> tuple[int, ...]:
    """The tags a response names: its Offending Element (0000,0901), then the Attribute
    Identifier List (0000,1005) of an N-SET / N-GET response."""
    found = [*(message.offending_element or ())]
    found += [
        t for t in getattr(message, "attribute_identifier_list", None) or () if t not in found
    ]
    return tuple(found)


async def n_request(
    assoc: Association,
    message: dimse.DimseRequest,
    data: Any = None,
    *,
    what: str,
    context: NegotiatedContext | None = None,
) -> tuple[Response, Dataset | None]:
    """Send one DIMSE-N request; return the response and its decoded data set (if any)."""
    rsp = await assoc.request(message, data, context=context)
    check_status(rsp, what)
    return rsp, rsp.dataset


async def send_event_report(
    ae: AE,
    address: tuple[str, int],
    called_ae: str,
    reports: Iterable[tuple[dimse.NEventReportRequest, Dataset | None]],
    *,
    abstract_syntax: str,
    as_scp: bool = False,
) -> list[dimse.NEventReportResponse]:
    """Open an association to ``called_ae`` at ``address``, send each N-EVENT-REPORT on the
    ``abstract_syntax`` context, release; return the responses (success or warning). Every
    report is sent; then the first failure status raises :class:`DimseError` (its
    ``status``). ``as_scp`` proposes the SCP role for us by role selection (the Storage
    Commitment SCP does, PS3.4 J.3.3)."""
    roles = {abstract_syntax: (False, True)} if as_scp else None
    responses: list[Response] = []
    async with ae.associate(
        address[0], address[1], contexts=[abstract_syntax], ae_title=called_ae, roles=roles
    ) as assoc:
        ctx = assoc.context_for(abstract_syntax)
        for msg, data in reports:
            responses.append(await assoc.request(msg, data, context=ctx))
    out: list[dimse.NEventReportResponse] = []
    for rsp in responses:
        check_status(rsp, "N-EVENT-REPORT")
        assert isinstance(rsp.message, dimse.NEventReportResponse)
        out.append(rsp.message)
    return out


# -- data sets ---------------------------------------------------------------------------------


def text(value: Any) -> str:
    """A value as stripped text ("" for None / empty)."""
    if value is None:
        return ""
    if isinstance(value, list):
        return "\\".join(text(v) for v in value)
    return str(value).strip(" \x00")


def apply_modifications(target: Dataset, mods: Dataset) -> None:
    """N-SET semantics: each element of ``mods`` replaces the target's (sequences as a whole;
    a zero-length value empties it) -- PS3.4 F.7.2.2, CC.2.6."""
    for el in mods.elements():
        if el.tag >> 16 in (0x0000, 0x0002):
            continue
        target.set(el.tag, _copy_value(el.value), vr=el.vr)


def _copy_value(value: Any) -> Any:
    from dicomkit.core._sequence import Sequence as DSequence

    if isinstance(value, DSequence):
        return DSequence([item.copy() for item in value])
    return value


def select(ds: Dataset, tags: Iterable[int] | None, *, exclude: Iterable[int] = ()) -> Dataset:
    """The attributes of ``ds`` an N-GET asks for (all when ``tags`` is empty or None); a tag
    asked for but absent is left out. ``exclude`` is never returned."""
    out = Dataset()
    skip = set(exclude)
    wanted = list(tags or [])
    for el in ds.elements():
        if el.tag in skip or el.tag >> 16 in (0x0000, 0x0002):
            continue
        if wanted and el.tag not in wanted and el.tag != SPECIFIC_CHARACTER_SET:
            continue
        out.set(el.tag, _copy_value(el.value), vr=el.vr)
    return out


def install_handlers(
    ae: Any, handlers: Mapping[type[dimse.DimseRequest], Handler], sop_classes: Iterable[str]
) -> None:
    """Serve ``handlers`` for ``sop_classes`` on ``ae`` (an :class:`~dicomkit.net.AE`, or a
    :class:`~dicomkit.net.SyncAE`'s) with :meth:`~dicomkit.net.AE.add_handler`: the SOP
    classes are offered in the negotiation, beside the AE's other services."""
    target = getattr(ae, "ae", ae)  # a SyncAE drives an AE
    classes = list(sop_classes)
    for kind, handler in handlers.items():
        target.add_handler(kind, handler, sop_classes=classes)


async def maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


__all__ = [
    "AddressBook",
    "ServiceAE",
    "SopClassRouter",
    "apply_modifications",
    "check_status",
    "install_handlers",
    "lookup",
    "maybe_await",
    "n_request",
    "select",
    "send_event_report",
    "supported_for",
    "text",
]

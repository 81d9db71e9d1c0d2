"""Unified Procedure Step (PS3.4 Annex CC): UPS-Push, -Pull, -Watch, -Event and -Query.

SCP (:class:`UPSSCP`): keeps UPS instances in a pluggable store and enforces the state
machine of CC.1.1 -- SCHEDULED -> IN PROGRESS -> COMPLETED / CANCELED, the performer holding
a Transaction UID (0008,1195) it must present to update or finish the step:

- N-CREATE (Push): the state must be SCHEDULED (else C309), the instance new (0111).
- N-SET (Pull): refused on a final UPS (C300), with a missing or wrong Transaction UID on an
  IN PROGRESS one (C301), with a Transaction UID on a SCHEDULED one (C310); an unknown UPS is
  C307 everywhere.
- N-GET: the stored attributes, never the Transaction UID (CC.2.7).
- N-ACTION 1 Change UPS State (CC.2.1): C302 already IN PROGRESS, C303 to SCHEDULED, C310 not
  IN PROGRESS, C301 wrong Transaction UID, C300 final; B304 / B306 already CANCELED /
  COMPLETED.
- N-ACTION 2 Request UPS Cancellation (CC.2.2): a SCHEDULED UPS is canceled at once, an IN
  PROGRESS one has its subscribers told (UPS Cancel Requested); B304 / C311.
- N-ACTION 3 / 4 / 5 Subscribe / Unsubscribe / Suspend Global Subscription (CC.2.3), on one
  UPS or the well-known global instance; an unknown Receiving AE is C308.
- N-EVENT-REPORT (CC.2.4): state reports, cancel requests and progress go to subscribers on
  associations the SCP opens to them (UPS Event SOP class; addresses from an address book),
  in order, one association per burst of events.
- C-FIND (Pull, Watch, Query): matching as the worklist does (:mod:`.worklist`).

SCU: :func:`create`, :func:`update`, :func:`get`, :func:`change_state`,
:func:`request_cancel`, :func:`subscribe`, :func:`unsubscribe`, :func:`suspend_global`,
:func:`find`; :class:`UPSEventListener` receives N-EVENT-REPORTs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any, Protocol

from dicomkit.core._dataset import Dataset
from dicomkit.core._uid import generate_uid
from dicomkit.dictionary import status_codes, tags, uids
from dicomkit.errors import DimseError, NetworkError
from dicomkit.net import Association, Incoming, response_for
from dicomkit.net._server import AE
from dicomkit.net.proto import _dimse as dimse
from dicomkit.services import _worklist as worklist
from dicomkit.services._n_common import (
    AddressBook,
    SopClassRouter,
    apply_modifications,
    lookup,
    n_request,
    select,
    send_event_report,
    text,
)

log = logging.getLogger("dicomkit.services._ups")

UPS_PUSH = uids.UnifiedProcedureStepPush
UPS_WATCH = uids.UnifiedProcedureStepWatch
UPS_PULL = uids.UnifiedProcedureStepPull
UPS_EVENT = uids.UnifiedProcedureStepEvent
UPS_QUERY = uids.UnifiedProcedureStepQuery
UPS_SOP_CLASSES = (UPS_PUSH, UPS_WATCH, UPS_PULL, UPS_EVENT, UPS_QUERY)
#: Well-known instances for global subscriptions (PS3.4 CC.3.1.4).
UPS_GLOBAL = uids.UPSGlobalSubscriptionInstance
UPS_FILTERED_GLOBAL = uids.UPSFilteredGlobalSubscriptionInstance

SCHEDULED, IN_PROGRESS, COMPLETED, CANCELED = "SCHEDULED", "IN PROGRESS", "COMPLETED", "CANCELED"
FINAL = frozenset({COMPLETED, CANCELED})

CHANGE_STATE, REQUEST_CANCEL, SUBSCRIBE, UNSUBSCRIBE, SUSPEND_GLOBAL = 1, 2, 3, 4, 5
STATE_REPORT, CANCEL_REQUESTED, PROGRESS_REPORT, SCP_STATUS_CHANGE, UPS_ASSIGNED = 1, 2, 3, 4, 5

PROCEDURE_STEP_STATE = 0x00741000
TRANSACTION_UID = 0x00081195
INPUT_READINESS_STATE = 0x00404041
RECEIVING_AE = 0x00741234
DELETION_LOCK = 0x00741230
PROGRESS_SEQUENCE = 0x00741002
SOP_CLASS_UID, SOP_INSTANCE_UID = tags.SOPClassUID, tags.SOPInstanceUID

UPSStore = MutableMapping[str, Dataset]


class EventChannel(Protocol):
    """A way to deliver UPS event reports other than a DIMSE association (PS3.18 UPS-RS
    WebSocket channels): ``accepts`` says whether an AE title is reached through it,
    ``deliver`` takes one event report (True: delivered or queued there)."""

    def accepts(self, ae_title: str) -> bool: ...

    def deliver(
        self, ae_title: str, message: dimse.NEventReportRequest, report: Dataset
    ) -> bool: ...


def _state(ds: Dataset) -> str:
    return text(ds.get(PROCEDURE_STEP_STATE)).upper()


def _rsp(incoming: Incoming, status: int, comment: str | None = None) -> dimse.DimseResponse:
    return response_for(incoming.message, status, error_comment=comment or None)


class UPSSCP:
    """The UPS SCP: ``handlers()`` for an AE (or :meth:`add_to` a :class:`SopClassRouter`
    shared with other services). ``addresses`` maps subscriber AE titles to (host, port);
    ``ae`` opens event associations (default: an AE titled ``ae_title``). :meth:`join` waits
    until every queued event report was delivered."""

    def __init__(
        self,
        store: UPSStore | None = None,
        *,
        addresses: AddressBook | None = None,
        ae: AE | None = None,
        ae_title: str = "UPSSCP",
    ) -> None:
        self.store: UPSStore = store if store is not None else {}
        self.addresses = addresses
        self.ae = ae or AE(ae_title)
        self.subscriptions: dict[str, set[str]] = {}  # AE title -> UPS instance UIDs
        self.global_subscribers: dict[str, bool] = {}  # AE title -> deletion lock
        #: other ways to reach subscribers than DIMSE (the UPS-RS WebSocket channel,
        #: :mod:`dicomkit.web._ups_events`): an AE title one of them accepts may subscribe
        #: without an address, and its events go there instead of an N-EVENT-REPORT
        self.channels: list[EventChannel] = []
        self._outbox: dict[str, list[tuple[dimse.NEventReportRequest, Dataset]]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}

    # -- wiring ----------------------------------------------------------------------------

    def add_to(self, router: SopClassRouter) -> None:
        """Register this SCP's handlers on a :class:`SopClassRouter` shared with other
        N-services."""
        table: dict[type[dimse.DimseRequest], Any] = {
            dimse.NCreateRequest: self.n_create,
            dimse.NSetRequest: self.n_set,
            dimse.NGetRequest: self.n_get,
            dimse.NActionRequest: self.n_action,
            dimse.CFindRequest: self.c_find,
        }
        for uid in (UPS_PUSH, UPS_WATCH, UPS_PULL, UPS_QUERY):
            router.add(uid, table)

    def handlers(self) -> dict[type[dimse.DimseRequest], Any]:
        """The handlers to give an AE: N-CREATE, N-SET, N-GET, N-ACTION and C-FIND of the UPS SOP
        classes."""
        router = SopClassRouter()
        self.add_to(router)
        return router.handlers()

    async def join(self) -> None:
        """Wait until the event reports queued so far went out (or failed)."""
        while self._workers:
            await asyncio.gather(*list(self._workers.values()), return_exceptions=True)

    # -- N-CREATE / N-SET / N-GET ------------------------------------------------------------

    async def n_create(self, incoming: Incoming) -> Any:
        """The N-CREATE handler: a new UPS, which must be SCHEDULED."""
        msg = incoming.message
        assert isinstance(msg, dimse.NCreateRequest)
        ds = incoming.dataset
        if ds is None:
            return _rsp(incoming, status_codes.MissingAttribute, "no attribute list")
        if _state(ds) != SCHEDULED:
            return _rsp(incoming, status_codes.UPSNotScheduled, "the UPS State must be SCHEDULED")
        uid = text(msg.affected_sop_instance_uid) or str(generate_uid())
        if uid in self.store:
            return response_for(
                msg, status_codes.DuplicateSOPInstance, affected_sop_instance_uid=uid
            )
        stored = ds.copy()
        stored.set(SOP_CLASS_UID, UPS_PUSH, vr="UI")
        stored.set(SOP_INSTANCE_UID, uid, vr="UI")
        if TRANSACTION_UID in stored:
            del stored[TRANSACTION_UID]
        if not text(stored.get(INPUT_READINESS_STATE)):
            stored.set(INPUT_READINESS_STATE, "READY", vr="CS")
        self.store[uid] = stored
        for ae_title in self.global_subscribers:  # global subscribers follow new UPSs
            self.subscriptions.setdefault(ae_title, set()).add(uid)
        self._state_report(uid)
        return response_for(msg, status_codes.Success, affected_sop_instance_uid=uid)

    async def n_set(self, incoming: Incoming) -> Any:
        """The N-SET handler: update a UPS (the performer needs its transaction UID once IN
        PROGRESS)."""
        msg = incoming.message
        assert isinstance(msg, dimse.NSetRequest)
        uid = text(msg.requested_sop_instance_uid)
        current, mods = self.store.get(uid), incoming.dataset
        if current is None:
            return _rsp(incoming, status_codes.UPSDoesNotExist, "no such UPS")
        if mods is None:
            return _rsp(incoming, status_codes.MissingAttribute, "no modification list")
        state, txn = _state(current), text(mods.get(TRANSACTION_UID))
        if state in FINAL:
            return _rsp(incoming, status_codes.UPSMayNoLongerBeUpdated, f"the UPS is {state}")
        if state == IN_PROGRESS and txn != text(current.get(TRANSACTION_UID)):
            return _rsp(
                incoming,
                status_codes.UPSTransactionUIDNotCorrect,
                "Transaction UID missing or wrong",
            )
        if state == SCHEDULED and txn:
            return _rsp(incoming, status_codes.UPSNotInProgress, "the UPS is not IN PROGRESS")
        if PROCEDURE_STEP_STATE in mods and _state(mods) != state:
            return response_for(
                msg,
                0x0106,
                offending_element=(PROCEDURE_STEP_STATE,),
                error_comment="change the state with N-ACTION",
            )
        updated = current.copy()
        apply_modifications(updated, mods)
        updated.set(PROCEDURE_STEP_STATE, state, vr="CS")
        if state == IN_PROGRESS:
            updated.set(TRANSACTION_UID, current.get(TRANSACTION_UID), vr="UI")
        elif TRANSACTION_UID in updated:
            del updated[TRANSACTION_UID]
        self.store[uid] = updated
        if PROGRESS_SEQUENCE in mods:
            report = Dataset()
            report.set(PROGRESS_SEQUENCE, updated[PROGRESS_SEQUENCE].value, vr="SQ")
            self._notify(uid, PROGRESS_REPORT, report)
        return response_for(msg, status_codes.Success)

    async def n_get(self, incoming: Incoming) -> Any:
        """The N-GET handler: the requested attributes of a stored UPS."""
        msg = incoming.message
        assert isinstance(msg, dimse.NGetRequest)
        current = self.store.get(text(msg.requested_sop_instance_uid))
        if current is None:
            return _rsp(incoming, status_codes.UPSDoesNotExist, "no such UPS")
        return response_for(msg, status_codes.Success), select(
            current, msg.attribute_identifier_list, exclude=(TRANSACTION_UID,)
        )

    # -- N-ACTION ----------------------------------------------------------------------------

    async def n_action(self, incoming: Incoming) -> Any:
        """The N-ACTION handler: change state, request cancellation, subscribe, unsubscribe or
        suspend global subscription."""
        msg = incoming.message
        assert isinstance(msg, dimse.NActionRequest)
        ds = incoming.dataset if incoming.data is not None else None
        action = msg.action_type_id
        if action == CHANGE_STATE:
            return self._change_state(incoming, ds or Dataset())
        if action == REQUEST_CANCEL:
            return self._request_cancel(incoming, ds or Dataset())
        if action in (SUBSCRIBE, UNSUBSCRIBE, SUSPEND_GLOBAL):
            return self._subscription(incoming, action, ds or Dataset())
        return _rsp(incoming, status_codes.NoSuchActionType, f"no such action type {action}")

    def _change_state(self, incoming: Incoming, ds: Dataset) -> dimse.DimseResponse:
        uid = text(getattr(incoming.message, "requested_sop_instance_uid", ""))
        current = self.store.get(uid)
        if current is None:
            return _rsp(incoming, status_codes.UPSDoesNotExist, "no such UPS")
        state, wanted, txn = _state(current), _state(ds), text(ds.get(TRANSACTION_UID))
        held = text(current.get(TRANSACTION_UID))
        if wanted not in (IN_PROGRESS, COMPLETED, CANCELED):
            if wanted == SCHEDULED:
                return _rsp(
                    incoming,
                    status_codes.UPSMayOnlyBecomeScheduledViaNCreate,
                    "only N-CREATE makes a UPS SCHEDULED",
                )
            return response_for(
                incoming.message,
                status_codes.InvalidAttributeValue,
                offending_element=(PROCEDURE_STEP_STATE,),
            )
        if not txn:
            return _rsp(
                incoming, status_codes.UPSTransactionUIDNotCorrect, "Transaction UID missing"
            )
        if state == wanted == CANCELED:
            return _rsp(incoming, status_codes.UPSAlreadyCanceled)
        if state == wanted == COMPLETED:
            return _rsp(incoming, status_codes.UPSAlreadyCompletedWarning)
        if state in FINAL:
            return _rsp(incoming, status_codes.UPSMayNoLongerBeUpdated, f"the UPS is {state}")
        if wanted == IN_PROGRESS:
            if state == IN_PROGRESS:
                return _rsp(
                    incoming, status_codes.UPSAlreadyInProgress, "the UPS is already IN PROGRESS"
                )
            current.set(TRANSACTION_UID, txn, vr="UI")
        else:
            if state != IN_PROGRESS:
                return _rsp(incoming, status_codes.UPSNotInProgress, "the UPS is not IN PROGRESS")
            if txn != held:
                return _rsp(
                    incoming, status_codes.UPSTransactionUIDNotCorrect, "wrong Transaction UID"
                )
            del current[TRANSACTION_UID]
        current.set(PROCEDURE_STEP_STATE, wanted, vr="CS")
        self._state_report(uid)
        return _rsp(incoming, status_codes.Success)

    def _request_cancel(self, incoming: Incoming, ds: Dataset) -> dimse.DimseResponse:
        uid = text(getattr(incoming.message, "requested_sop_instance_uid", ""))
        current = self.store.get(uid)
        if current is None:
            return _rsp(incoming, status_codes.UPSDoesNotExist, "no such UPS")
        state = _state(current)
        if state == CANCELED:
            return _rsp(incoming, status_codes.UPSAlreadyCanceled)
        if state == COMPLETED:
            return _rsp(incoming, status_codes.UPSAlreadyCompleted, "the UPS is already COMPLETED")
        if state == SCHEDULED:  # nobody performs it: cancel it ourselves (CC.2.2.3)
            for step in (IN_PROGRESS, CANCELED):
                current.set(PROCEDURE_STEP_STATE, step, vr="CS")
                self._state_report(uid)
            return _rsp(incoming, status_codes.Success)
        report = Dataset()
        report.RequestingAE = incoming.association.calling_ae.strip()
        # Reason For Cancellation, Contact URI / Display Name, Discontinuation Reason Codes
        for tag in (
            tags.ReasonForCancellation,
            tags.ContactURI,
            tags.ContactDisplayName,
            tags.ProcedureStepDiscontinuationReasonCodeSequence,
        ):
            if tag in ds:
                el = ds[tag]
                report.set(tag, el.value, vr=el.vr)
        self._notify(uid, CANCEL_REQUESTED, report)
        return _rsp(incoming, status_codes.Success)

    def _subscription(self, incoming: Incoming, action: int, ds: Dataset) -> dimse.DimseResponse:
        uid = text(getattr(incoming.message, "requested_sop_instance_uid", ""))
        ae_title = text(ds.get(RECEIVING_AE)) or incoming.association.calling_ae.strip()
        is_global = uid in (UPS_GLOBAL, UPS_FILTERED_GLOBAL)
        if not is_global and uid not in self.store:
            return _rsp(incoming, status_codes.UPSDoesNotExist, "no such UPS")
        if action == SUBSCRIBE:
            if lookup(self.addresses, ae_title) is None and not any(
                c.accepts(ae_title) for c in self.channels
            ):
                return _rsp(
                    incoming,
                    status_codes.UPSUnknownReceivingAET,
                    f"Receiving AE {ae_title} unknown",
                )
            lock = text(ds.get(DELETION_LOCK)).upper() == "TRUE"
            subs = self.subscriptions.setdefault(ae_title, set())
            targets = list(self.store) if is_global else [uid]
            if is_global:
                self.global_subscribers[ae_title] = lock
            for target in targets:  # an initial state report for each (CC.2.3.3)
                subs.add(target)
                self._state_report(target, only=ae_title)
        elif action == UNSUBSCRIBE:
            if is_global:
                self.global_subscribers.pop(ae_title, None)
                self.subscriptions.pop(ae_title, None)
            else:
                self.subscriptions.get(ae_title, set()).discard(uid)
        else:  # suspend global subscription: keep the per-UPS ones
            if not is_global:
                return _rsp(
                    incoming,
                    status_codes.InvalidSOPInstance,
                    "suspend applies to the global instance",
                )
            self.global_subscribers.pop(ae_title, None)
        return _rsp(incoming, status_codes.Success)

    # -- C-FIND ------------------------------------------------------------------------------

    async def c_find(self, incoming: Incoming) -> AsyncIterator[Any]:
        """The C-FIND handler: the stored UPS instances that match the identifier, as pending
        responses (a C-CANCEL stops them)."""
        query = incoming.dataset
        if query is None:
            yield _rsp(incoming, status_codes.IdentifierDoesNotMatchSOPClass, "no identifier")
            return
        for ds in list(self.store.values()):
            if incoming.cancelled:
                return
            if worklist.matches(query, ds):
                found = worklist.response_for_item(query, ds)
                if TRANSACTION_UID in found:
                    del found[TRANSACTION_UID]
                yield 0xFF00, found
        yield _rsp(incoming, status_codes.Success)

    # -- event reports -----------------------------------------------------------------------

    def _state_report(self, uid: str, only: str | None = None) -> None:
        current = self.store[uid]
        report = Dataset()
        report.set(PROCEDURE_STEP_STATE, _state(current), vr="CS")
        report.set(
            INPUT_READINESS_STATE, text(current.get(INPUT_READINESS_STATE)) or "READY", vr="CS"
        )
        self._notify(uid, STATE_REPORT, report, only=only)

    def _notify(self, uid: str, event: int, report: Dataset, only: str | None = None) -> None:
        msg = dimse.NEventReportRequest(
            affected_sop_class_uid=UPS_PUSH, affected_sop_instance_uid=uid, event_type_id=event
        )
        for ae_title, subscribed in self.subscriptions.items():
            if uid in subscribed and (only is None or ae_title == only):
                if any(c.deliver(ae_title, msg, report) for c in self.channels):
                    continue
                self._outbox.setdefault(ae_title, []).append((msg, report))
                if ae_title not in self._workers:
                    task = asyncio.get_running_loop().create_task(self._deliver(ae_title))
                    self._workers[ae_title] = task

    async def _deliver(self, ae_title: str) -> None:
        try:
            while batch := self._outbox.pop(ae_title, []):
                address = lookup(self.addresses, ae_title)
                if address is None:
                    log.warning("UPS events for %s dropped: address unknown", ae_title)
                    continue
                try:
                    await send_event_report(
                        self.ae, address, ae_title, batch, abstract_syntax=UPS_EVENT
                    )
                except (NetworkError, OSError) as exc:
                    log.warning("UPS event reports to %s failed: %s", ae_title, exc)
        finally:
            self._workers.pop(ae_title, None)


# -- SCU -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UPSEvent:
    """One N-EVENT-REPORT received: the UPS, the Event Type ID, its data set, the sender."""

    sop_instance_uid: str
    event_type: int
    dataset: Dataset
    calling_ae: str

    @property
    def state(self) -> str:
        """The Procedure Step State (0074,1000) the event reports."""
        return _state(self.dataset)


class UPSEventListener:
    """N-EVENT-REPORT handler for a subscriber's listening AE; ``events`` in arrival order;
    :meth:`wait_for` waits until ``count`` events (matching ``where``) have arrived."""

    def __init__(self) -> None:
        self.events: list[UPSEvent] = []
        self._changed: asyncio.Condition | None = None

    def handlers(self) -> dict[type[dimse.DimseRequest], Any]:
        """The handlers to give an AE: ``{NEventReportRequest: self}``."""
        return {dimse.NEventReportRequest: self}

    def _condition(self) -> asyncio.Condition:
        if self._changed is None:
            self._changed = asyncio.Condition()
        return self._changed

    async def __call__(self, incoming: Incoming) -> dimse.DimseResponse:
        msg = incoming.message
        assert isinstance(msg, dimse.NEventReportRequest)
        self.events.append(
            UPSEvent(
                text(msg.affected_sop_instance_uid),
                msg.event_type_id,
                incoming.dataset or Dataset(),
                incoming.association.calling_ae.strip(),
            )
        )
        cond = self._condition()
        async with cond:
            cond.notify_all()
        return response_for(msg, status_codes.Success)

    async def wait_for(
        self,
        count: int,
        where: Callable[[UPSEvent], bool] | None = None,
        timeout: float | None = 30.0,
    ) -> list[UPSEvent]:
        """Wait until ``count`` events (those ``where`` accepts) have arrived and return them;
        ``TimeoutError`` after ``timeout`` seconds."""

        def chosen() -> list[UPSEvent]:
            return [e for e in self.events if where is None or where(e)]

        cond = self._condition()
        async with asyncio.timeout(timeout), cond:
            await cond.wait_for(lambda: len(chosen()) >= count)
        return chosen()


def _ctx(assoc: Association, *choices: str) -> Any:
    for uid in choices:
        found = assoc.negotiated.find(uid) if assoc.negotiated else None
        if found is not None:
            return found
    return assoc.context_for(choices[0])


async def create(
    assoc: Association, dataset: Dataset, *, sop_instance_uid: str | None = None
) -> str:
    """N-CREATE a UPS (state SCHEDULED when absent; Transaction UID empty); returns its UID."""
    ds = dataset.copy()
    if not _state(ds):
        ds.set(PROCEDURE_STEP_STATE, SCHEDULED, vr="CS")
    ds.set(TRANSACTION_UID, "", vr="UI")
    uid = sop_instance_uid or str(generate_uid())
    msg = dimse.NCreateRequest(affected_sop_class_uid=UPS_PUSH, affected_sop_instance_uid=uid)
    rsp, _ = await n_request(assoc, msg, ds, what="UPS N-CREATE", context=_ctx(assoc, UPS_PUSH))
    return text(getattr(rsp.message, "affected_sop_instance_uid", None)) or uid


async def update(
    assoc: Association, uid: str, modifications: Dataset, transaction_uid: str | None = None
) -> dimse.NSetResponse:
    """N-SET a UPS (the Transaction UID is required while it is IN PROGRESS); returns the
    response (success or warning: check ``status``). A failure status raises ``DimseError``."""
    ds = modifications.copy()
    if transaction_uid:
        ds.set(TRANSACTION_UID, transaction_uid, vr="UI")
    msg = dimse.NSetRequest(requested_sop_class_uid=UPS_PUSH, requested_sop_instance_uid=uid)
    rsp, _ = await n_request(
        assoc, msg, ds, what="UPS N-SET", context=_ctx(assoc, UPS_PULL, UPS_PUSH)
    )
    assert isinstance(rsp.message, dimse.NSetResponse)
    return rsp.message


async def get(assoc: Association, uid: str, tags: Iterable[int] | None = None) -> Dataset:
    """N-GET attributes of a UPS (all when ``tags`` is None)."""
    msg = dimse.NGetRequest(
        requested_sop_class_uid=UPS_PUSH,
        requested_sop_instance_uid=uid,
        attribute_identifier_list=tuple(tags) if tags else None,
    )
    _, ds = await n_request(
        assoc, msg, what="UPS N-GET", context=_ctx(assoc, UPS_PUSH, UPS_PULL, UPS_WATCH)
    )
    return ds if ds is not None else Dataset()


async def _action(
    assoc: Association, uid: str, action: int, ds: Dataset, what: str, *contexts: str
) -> dimse.NActionResponse:
    msg = dimse.NActionRequest(
        requested_sop_class_uid=UPS_PUSH, requested_sop_instance_uid=uid, action_type_id=action
    )
    rsp, _ = await n_request(assoc, msg, ds, what=what, context=_ctx(assoc, *contexts))
    assert isinstance(rsp.message, dimse.NActionResponse)
    return rsp.message


async def change_state(
    assoc: Association, uid: str, state: str, transaction_uid: str
) -> dimse.NActionResponse:
    """N-ACTION Change UPS State (CC.2.1); returns the response (status 0000, or the
    warnings B304 / B306). A failure status raises ``DimseError``."""
    ds = Dataset()
    ds.set(PROCEDURE_STEP_STATE, state, vr="CS")
    ds.set(TRANSACTION_UID, transaction_uid, vr="UI")
    return await _action(assoc, uid, CHANGE_STATE, ds, "UPS change state", UPS_PULL, UPS_PUSH)


async def request_cancel(
    assoc: Association, uid: str, *, reason: str | None = None, contact_name: str | None = None
) -> dimse.NActionResponse:
    """N-ACTION Request UPS Cancellation (CC.2.2); returns the response (a failure raises)."""
    ds = Dataset()
    if reason:
        ds.ReasonForCancellation = reason
    if contact_name:
        ds.ContactDisplayName = contact_name
    return await _action(assoc, uid, REQUEST_CANCEL, ds, "UPS cancel request", UPS_PUSH, UPS_WATCH)


def _receiver(receiving_ae: str, lock: bool | None = None) -> Dataset:
    ds = Dataset()
    ds.set(RECEIVING_AE, receiving_ae, vr="AE")
    if lock is not None:
        ds.set(DELETION_LOCK, "TRUE" if lock else "FALSE", vr="LO")
    return ds


async def subscribe(
    assoc: Association, receiving_ae: str, uid: str = UPS_GLOBAL, *, deletion_lock: bool = False
) -> dimse.NActionResponse:
    """N-ACTION Subscribe to Receive UPS Event Reports (one UPS, or all: ``UPS_GLOBAL``);
    returns the response (a failure raises)."""
    return await _action(
        assoc,
        uid,
        SUBSCRIBE,
        _receiver(receiving_ae, deletion_lock),
        "UPS subscribe",
        UPS_WATCH,
        UPS_PUSH,
    )


async def unsubscribe(
    assoc: Association, receiving_ae: str, uid: str = UPS_GLOBAL
) -> dimse.NActionResponse:
    """N-ACTION Unsubscribe from UPS Event Reports; returns the response (a failure raises)."""
    return await _action(
        assoc, uid, UNSUBSCRIBE, _receiver(receiving_ae), "UPS unsubscribe", UPS_WATCH, UPS_PUSH
    )


async def suspend_global(assoc: Association, receiving_ae: str) -> dimse.NActionResponse:
    """N-ACTION Suspend Global Subscription (keeps the per-UPS subscriptions); returns the
    response (a failure raises)."""
    return await _action(
        assoc,
        UPS_GLOBAL,
        SUSPEND_GLOBAL,
        _receiver(receiving_ae),
        "UPS suspend global subscription",
        UPS_WATCH,
        UPS_PUSH,
    )


async def find(assoc: Association, query: Dataset, *, sop_class: str = UPS_PULL) -> list[Dataset]:
    """C-FIND UPS instances (Pull, Watch or Query SOP class)."""
    msg = dimse.CFindRequest(affected_sop_class_uid=sop_class)
    out: list[Dataset] = []
    async for rsp in assoc.request_iter(msg, query, context=assoc.context_for(sop_class)):
        if rsp.message.is_pending:
            if rsp.dataset is not None:
                out.append(rsp.dataset)
        elif rsp.status not in (status_codes.Success, status_codes.Cancel):
            raise DimseError.from_status(
                rsp.status, "find", what="UPS C-FIND", error_comment=rsp.message.error_comment or ""
            )
    return out


def scheduled(
    *,
    label: str,
    patient_name: str = "",
    patient_id: str = "",
    start: str = "",
    station: str = "",
    priority: str = "MEDIUM",
) -> Dataset:
    """A minimal UPS for N-CREATE (PS3.4 CC.2.5.1: the Type 1 keys and empty Type 2 ones)."""
    from dicomkit.core._sequence import Sequence

    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ProcedureStepLabel = label
    ds.ScheduledProcedureStepPriority = priority
    ds.WorklistLabel = ""
    ds.ScheduledProcedureStepStartDateTime = start or "20260101090000"
    ds.ExpectedCompletionDateTime = ""
    ds.InputReadinessState = "READY"
    ds.ProcedureStepState = SCHEDULED
    ds.PatientName = patient_name
    ds.PatientID = patient_id
    ds.PatientBirthDate = ""
    ds.PatientSex = ""
    ds.AdmissionID = ""
    ds.IssuerOfAdmissionIDSequence = Sequence()
    ds.ReferencedRequestSequence = Sequence()
    ds.ScheduledWorkitemCodeSequence = Sequence()
    ds.InputInformationSequence = Sequence()
    ds.ScheduledStationNameCodeSequence = Sequence()
    if station:
        ds.ScheduledStationNameCodeSequence = Sequence([_code(station)])
    return ds


def _code(value: str) -> Dataset:
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = "99DICOMKIT"
    item.CodeMeaning = value
    return item


__all__ = [
    "CANCELED",
    "COMPLETED",
    "IN_PROGRESS",
    "SCHEDULED",
    "UPSSCP",
    "UPS_EVENT",
    "UPS_GLOBAL",
    "UPS_PULL",
    "UPS_PUSH",
    "UPS_QUERY",
    "UPS_SOP_CLASSES",
    "UPS_WATCH",
    "UPSEvent",
    "UPSEventListener",
    "change_state",
    "create",
    "find",
    "get",
    "request_cancel",
    "scheduled",
    "subscribe",
    "suspend_global",
    "unsubscribe",
    "update",
]

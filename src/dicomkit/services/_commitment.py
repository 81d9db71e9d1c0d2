"""Storage Commitment Push Model (PS3.4 Annex J), both sides.

The SCU asks with an N-ACTION (Action Type ID 1, "Request Storage Commitment") on the
well-known instance 1.2.840.10008.1.20.1.1, carrying a Transaction UID (0008,1195) and the
Referenced SOP Sequence (0008,1199) of the instances it wants the SCP to keep. The SCP answers
the N-ACTION at once, checks each instance, and later reports with an N-EVENT-REPORT:
Event Type ID 1 when every instance is committed, 2 when some failed (Failed SOP Sequence
(0008,1198), each item with its Failure Reason (0008,1197)).

The report goes on the requesting association while it is open, otherwise on a new
association the SCP opens to the SCU's AE title; there the SCP proposes the SCP role by role
selection (PS3.4 J.3.3, PS3.7 D.3.3.4), so the SCU's listening AE must grant it
(:class:`~dicomkit.services._n_common.ServiceAE` with :data:`LISTENER_ROLES`).

SCP: :class:`StorageCommitmentSCP` over a pluggable ``holds(sop_class, sop_instance)`` check
(the archive plugs its index in). SCU: :func:`request_commitment` sends the N-ACTION;
:class:`CommitmentListener` is the N-EVENT-REPORT handler that collects the results;
:func:`commit` does both and waits.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from dicomkit.core._dataset import Dataset
from dicomkit.core._sequence import Sequence
from dicomkit.core._uid import generate_uid
from dicomkit.dictionary import status_codes, uids
from dicomkit.dictionary.statuses import describe
from dicomkit.errors import DimseError, NetworkError
from dicomkit.net import Association, Incoming, response_for
from dicomkit.net._server import AE
from dicomkit.net.proto import _dimse as dimse
from dicomkit.services._n_common import (
    AddressBook,
    ServiceAE,
    lookup,
    maybe_await,
    n_request,
    send_event_report,
    text,
)

log = logging.getLogger("dicomkit.services._commitment")

STORAGE_COMMITMENT = uids.StorageCommitmentPushModel
STORAGE_COMMITMENT_INSTANCE = uids.StorageCommitmentPushModelInstance
ACTION_REQUEST = 1
EVENT_SUCCESS = 1
EVENT_FAILURES = 2
#: Roles a listening SCU grants so the SCP can open an association to report (J.3.3).
LISTENER_ROLES = {STORAGE_COMMITMENT: (True, True)}

# Failure Reason (0008,1197) values (PS3.4 J.3.2.1.1.2 / C.14.1.1)

TRANSACTION_UID = 0x00081195
REFERENCED_SOP_SEQUENCE = 0x00081199
FAILED_SOP_SEQUENCE = 0x00081198
FAILURE_REASON = 0x00081197
RETRIEVE_AE_TITLE = 0x00080054

Reference: TypeAlias = tuple[str, str]
#: ``holds(sop_class, sop_instance)``: True (or 0) when committed, False for "no such object
#: instance", or a Failure Reason code; may be async.
HoldsInstance: TypeAlias = Callable[[str, str], "bool | int | Awaitable[bool | int]"]


def references_sequence(refs: Iterable[Reference]) -> Sequence:
    seq = Sequence()
    for sop_class, sop_instance in refs:
        item = Dataset()
        item.ReferencedSOPClassUID = sop_class
        item.ReferencedSOPInstanceUID = sop_instance
        seq.append(item)
    return seq


def action_information(transaction_uid: str, refs: Iterable[Reference]) -> Dataset:
    """The N-ACTION data set of Table J.3-1."""
    ds = Dataset()
    ds.TransactionUID = transaction_uid
    ds.ReferencedSOPSequence = references_sequence(refs)
    return ds


def _references(ds: Dataset | None, tag: int) -> list[Reference]:
    if ds is None or tag not in ds:
        return []
    return [
        (text(item.get("ReferencedSOPClassUID")), text(item.get("ReferencedSOPInstanceUID")))
        for item in (ds[tag].value or [])
    ]


@dataclass(slots=True)
class CommitmentResult:
    """What an N-EVENT-REPORT said about a transaction."""

    transaction_uid: str
    event_type: int
    committed: list[Reference] = field(default_factory=list)
    failed: list[tuple[str, str, int]] = field(default_factory=list)
    retrieve_ae_title: str = ""
    calling_ae: str = ""

    @property
    def ok(self) -> bool:
        """True when every instance was committed (event type 1, no failures)."""
        return self.event_type == EVENT_SUCCESS and not self.failed

    @classmethod
    def from_report(
        cls, event_type: int, ds: Dataset | None, calling_ae: str = ""
    ) -> CommitmentResult:
        """The result an N-EVENT-REPORT's event type and data set carry (PS3.4 J.3.3): the committed
        and failed instances."""
        failed = []
        if ds is not None and FAILED_SOP_SEQUENCE in ds:
            for item in ds[FAILED_SOP_SEQUENCE].value or []:
                reason = item.get("FailureReason")
                failed.append(
                    (
                        text(item.get("ReferencedSOPClassUID")),
                        text(item.get("ReferencedSOPInstanceUID")),
                        int(reason) if reason is not None else status_codes.ProcessingFailure,
                    )
                )
        return cls(
            text(ds.get("TransactionUID")) if ds is not None else "",
            event_type,
            _references(ds, REFERENCED_SOP_SEQUENCE),
            failed,
            text(ds.get("RetrieveAETitle")) if ds is not None else "",
            calling_ae,
        )


def event_information(
    transaction_uid: str,
    committed: Iterable[Reference],
    failed: Iterable[tuple[str, str, int]],
    retrieve_ae_title: str | None = None,
) -> tuple[int, Dataset]:
    """The Event Type ID and the N-EVENT-REPORT data set of Table J.3-2."""
    failed = list(failed)
    committed = list(committed)
    ds = Dataset()
    ds.TransactionUID = transaction_uid
    if retrieve_ae_title and committed:
        ds.RetrieveAETitle = retrieve_ae_title
    if committed or not failed:
        ds.ReferencedSOPSequence = references_sequence(committed)
    if failed:
        seq = Sequence()
        for sop_class, sop_instance, reason in failed:
            item = Dataset()
            item.ReferencedSOPClassUID = sop_class
            item.ReferencedSOPInstanceUID = sop_instance
            item.FailureReason = reason
            seq.append(item)
        ds.FailedSOPSequence = seq
        return EVENT_FAILURES, ds
    return EVENT_SUCCESS, ds


# -- SCP -------------------------------------------------------------------------------------

ReportOn: TypeAlias = Literal["auto", "same", "new"]


class StorageCommitmentSCP:
    """N-ACTION handler of the Storage Commitment Push Model SCP (PS3.4 J.3.2.2).

    ``holds`` decides per instance; ``report_on``: "same" reports on the requesting
    association, "new" always opens one to the requestor (address from ``addresses`` by its
    AE title), "auto" (default) uses the requesting association while it is open, else a new
    one. ``ae`` is the AE used to open report associations (default: one titled like the
    called AE). ``retrieve_ae_title`` is put in successful reports. ``results`` keeps every
    report sent as a :class:`CommitmentResult` (for tests and logs); :meth:`join` waits until
    all pending reports went out.
    """

    def __init__(
        self,
        holds: HoldsInstance,
        *,
        addresses: AddressBook | None = None,
        report_on: ReportOn = "auto",
        ae: AE | None = None,
        retrieve_ae_title: str | None = None,
    ) -> None:
        self.holds = holds
        self.addresses = addresses
        self.report_on = report_on
        self.ae = ae
        self.retrieve_ae_title = retrieve_ae_title
        self.results: list[CommitmentResult] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._transactions: set[str] = set()

    def handlers(self) -> dict[type[dimse.DimseRequest], Any]:
        """The handlers to give an AE: ``{NActionRequest: self}`` (commitment requests arrive as
        N-ACTION)."""
        return {dimse.NActionRequest: self}

    async def __call__(self, incoming: Incoming) -> dimse.DimseResponse:
        msg = incoming.message
        assert isinstance(msg, dimse.NActionRequest)
        if msg.requested_sop_class_uid != STORAGE_COMMITMENT:
            return response_for(msg, status_codes.NoSuchSOPClass)  # no such SOP class
        if msg.requested_sop_instance_uid != STORAGE_COMMITMENT_INSTANCE:
            return response_for(
                msg, status_codes.InvalidSOPInstance
            )  # invalid SOP instance (the well-known one only)
        if msg.action_type_id != ACTION_REQUEST:
            return response_for(msg, status_codes.NoSuchActionType)  # no such action type
        try:
            ds = incoming.dataset
        except Exception as exc:  # noqa: BLE001 -- an undecodable data set is the peer's
            return response_for(
                msg, status_codes.ProcessingFailure, error_comment=f"cannot decode: {exc}"
            )
        txn = text(ds.get("TransactionUID")) if ds is not None else ""
        if not txn:
            return response_for(
                msg,
                0x0120,
                offending_element=(TRANSACTION_UID,),
                error_comment="Transaction UID missing",
            )
        if ds is None or REFERENCED_SOP_SEQUENCE not in ds or not ds[REFERENCED_SOP_SEQUENCE].value:
            return response_for(
                msg,
                0x0120,
                offending_element=(REFERENCED_SOP_SEQUENCE,),
                error_comment="Referenced SOP Sequence missing",
            )
        refs = _references(ds, REFERENCED_SOP_SEQUENCE)
        if any(not c or not i for c, i in refs):
            return response_for(
                msg,
                0x0121,
                offending_element=(REFERENCED_SOP_SEQUENCE,),
                error_comment="incomplete Referenced SOP Sequence item",
            )
        # The report task runs after this handler returns; the dispatcher sends our response
        # first because it takes the association's send lock before this task can run.
        task = asyncio.get_running_loop().create_task(self._report(incoming, txn, refs))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return response_for(msg, status_codes.Success)

    async def join(self) -> None:
        """Wait until every report scheduled so far has been sent (or failed)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _check(
        self, refs: list[Reference]
    ) -> tuple[list[Reference], list[tuple[str, str, int]]]:
        # a plain ``holds`` (an index lookup) may block: run the whole check in a worker
        # thread; an async one runs on the loop
        if inspect.iscoroutinefunction(self.holds):
            answers = [await self._ask(c, i) for c, i in refs]
        else:
            answers = await asyncio.to_thread(lambda: [self._ask_sync(c, i) for c, i in refs])
        committed: list[Reference] = []
        failed: list[tuple[str, str, int]] = []
        for (sop_class, sop_instance), answer in zip(refs, answers, strict=True):
            if answer is True or (answer == 0 and answer is not False):
                committed.append((sop_class, sop_instance))
            else:
                reason = status_codes.NoSuchObjectInstance if answer is False else int(answer)
                failed.append((sop_class, sop_instance, reason))
        return committed, failed

    async def _ask(self, sop_class: str, sop_instance: str) -> bool | int:
        try:
            return await maybe_await(self.holds(sop_class, sop_instance))  # type: ignore[no-any-return]
        except Exception as exc:  # noqa: BLE001 -- one failing check fails one instance
            log.warning("commitment check of %s failed: %s", sop_instance, exc)
            return status_codes.ProcessingFailure

    def _ask_sync(self, sop_class: str, sop_instance: str) -> bool | int:
        try:
            answer = self.holds(sop_class, sop_instance)
        except Exception as exc:  # noqa: BLE001 -- one failing check fails one instance
            log.warning("commitment check of %s failed: %s", sop_instance, exc)
            return status_codes.ProcessingFailure
        if inspect.isawaitable(answer):  # a callable object with an async __call__
            close = getattr(answer, "close", None)
            if close is not None:
                close()
            log.warning("holds() returned an awaitable: make it an async def function")
            return status_codes.ProcessingFailure
        return answer

    async def _report(self, incoming: Incoming, txn: str, refs: list[Reference]) -> None:
        assoc = incoming.association
        committed, failed = await self._check(refs)
        event, ds = event_information(txn, committed, failed, self.retrieve_ae_title)
        result = CommitmentResult.from_report(event, ds, assoc.calling_ae)
        msg = dimse.NEventReportRequest(
            affected_sop_class_uid=STORAGE_COMMITMENT,
            affected_sop_instance_uid=STORAGE_COMMITMENT_INSTANCE,
            event_type_id=event,
        )
        same = self.report_on == "same" or (
            self.report_on == "auto" and not assoc.is_closed and assoc.is_established
        )
        try:
            if same:
                rsp = await assoc.request(msg, ds, context=incoming.context)
                rsp.raise_for_status("storage commitment report")
            else:
                await self._report_new(assoc.calling_ae, assoc.called_ae, msg, ds)
        except DimseError as exc:  # delivered, but the requester answered a failure
            status = exc.status if exc.status is not None else status_codes.ProcessingFailure
            log.warning(
                "storage commitment report for %s answered %s", txn, describe(status, "commitment")
            )
        except (NetworkError, OSError) as exc:
            log.warning(
                "storage commitment report for %s to %s failed: %s", txn, assoc.calling_ae, exc
            )
            return
        self.results.append(result)

    async def _report_new(
        self, peer_ae: str, our_ae: str, msg: dimse.NEventReportRequest, ds: Dataset
    ) -> dimse.NEventReportResponse:
        address = lookup(self.addresses, peer_ae)
        if address is None:
            raise NetworkError(f"no address known for AE {peer_ae!r} to report to")
        ae = self.ae or ServiceAE(our_ae.strip() or "DICOMKIT")
        responses = await send_event_report(
            ae,
            address,
            peer_ae.strip(),
            [(msg, ds)],
            abstract_syntax=STORAGE_COMMITMENT,
            as_scp=True,
        )
        return responses[0]


# -- SCU -------------------------------------------------------------------------------------


class CommitmentListener:
    """The SCU's N-EVENT-REPORT handler: answers each report and keeps its result by
    Transaction UID; :meth:`wait` returns it. Use the same listener on the requesting
    association (``handlers=listener.handlers()``) and on the AE that listens for reports
    on new associations."""

    def __init__(self) -> None:
        self.results: dict[str, CommitmentResult] = {}
        self._waiters: dict[str, asyncio.Future[CommitmentResult]] = {}

    def handlers(self) -> dict[type[dimse.DimseRequest], Any]:
        """The handlers to give an AE: ``{NEventReportRequest: self}`` (the reports arrive as
        N-EVENT-REPORT)."""
        return {dimse.NEventReportRequest: self}

    async def __call__(self, incoming: Incoming) -> dimse.DimseResponse:
        msg = incoming.message
        assert isinstance(msg, dimse.NEventReportRequest)
        if msg.affected_sop_class_uid != STORAGE_COMMITMENT:
            return response_for(msg, status_codes.NoSuchSOPClass)
        if msg.event_type_id not in (EVENT_SUCCESS, EVENT_FAILURES):
            return response_for(msg, status_codes.NoSuchEventType)  # no such event type
        result = CommitmentResult.from_report(
            msg.event_type_id, incoming.dataset, incoming.association.calling_ae
        )
        self.results[result.transaction_uid] = result
        waiter = self._waiters.pop(result.transaction_uid, None)
        if waiter is not None and not waiter.done():
            waiter.get_loop().call_soon_threadsafe(_settle, waiter, result)
        return response_for(msg, status_codes.Success)

    async def wait(self, transaction_uid: str, timeout: float | None = 60.0) -> CommitmentResult:
        """The result for a transaction, waiting for its report (``TimeoutError`` after
        ``timeout`` seconds)."""
        if transaction_uid in self.results:
            return self.results[transaction_uid]
        fut = self._waiters.get(transaction_uid)
        if fut is None:
            fut = asyncio.get_running_loop().create_future()
            self._waiters[transaction_uid] = fut
        async with asyncio.timeout(timeout):
            return await asyncio.shield(fut)


def _settle(fut: asyncio.Future[CommitmentResult], result: CommitmentResult) -> None:
    if not fut.done():
        fut.set_result(result)


async def request_commitment(
    assoc: Association, refs: Iterable[Reference], *, transaction_uid: str | None = None
) -> str:
    """Send the N-ACTION request (PS3.4 J.3.2.1); returns the Transaction UID. Raises
    :class:`~dicomkit.errors.DimseError` when the SCP refuses."""
    refs = list(refs)
    if not refs:
        raise ValueError("storage commitment needs at least one instance")
    txn = transaction_uid or str(generate_uid())
    msg = dimse.NActionRequest(
        requested_sop_class_uid=STORAGE_COMMITMENT,
        requested_sop_instance_uid=STORAGE_COMMITMENT_INSTANCE,
        action_type_id=ACTION_REQUEST,
    )
    await n_request(assoc, msg, action_information(txn, refs), what="storage commitment request")
    return txn


async def commit(
    assoc: Association,
    refs: Iterable[Reference],
    listener: CommitmentListener,
    *,
    timeout: float | None = 60.0,
) -> CommitmentResult:
    """Request commitment and wait for the report (on this association or, when the SCP
    opens a new one, on the AE where ``listener`` is installed)."""
    txn = await request_commitment(assoc, refs)
    try:
        return await listener.wait(txn, timeout)
    except TimeoutError:
        raise DimseError(f"no storage commitment report for {txn} within {timeout}s") from None


__all__ = [
    "EVENT_FAILURES",
    "EVENT_SUCCESS",
    "LISTENER_ROLES",
    "STORAGE_COMMITMENT",
    "STORAGE_COMMITMENT_INSTANCE",
    "CommitmentListener",
    "CommitmentResult",
    "StorageCommitmentSCP",
    "action_information",
    "commit",
    "event_information",
    "request_commitment",
]

"""Storage Commitment Push (PS3.4 Annex J) hosted by the archive node.

Every N-ACTION is written to the index (table ``commitment_pending``) *before* it is
answered, so a transaction accepted is never forgotten: not when the requestor releases right
after the N-ACTION response (the report then goes on a new association to its AE title, from
``[peers]``), not when the peer is down (retried with back-off), not across a restart of the
node (pending transactions are reported when it starts again). A row goes when its report has
been answered with success, or when ``give_up_after`` seconds have passed (logged as an error).

Each referenced instance is checked against the index *and* its file: not indexed is
0112 (no such object instance), indexed under another SOP class 0119 (class / instance
conflict), a file that is missing or cannot be read as Part 10 is 0110 (processing failure),
with the reason in the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dicomkit.core._dataset import Dataset
from dicomkit.dictionary import status_codes
from dicomkit.errors import DimseError, NetworkError
from dicomkit.net import Incoming
from dicomkit.net.proto import _dimse as dimse
from dicomkit.services._commitment import (
    ACTION_REQUEST,
    REFERENCED_SOP_SEQUENCE,
    STORAGE_COMMITMENT,
    STORAGE_COMMITMENT_INSTANCE,
    CommitmentResult,
    Reference,
    StorageCommitmentSCP,
    event_information,
)
from dicomkit.services._n_common import ServiceAE, send_event_report, text

if TYPE_CHECKING:
    from dicomkit.archive._app import ArchiveNode

log = logging.getLogger("dicomkit.archive.commitment")

CLASS_INSTANCE_CONFLICT = 0x0119


@dataclass(frozen=True, slots=True)
class CommitmentSettings:
    """``[commitment]`` of the node's config file."""

    enabled: bool = True
    #: seconds before the first retry of a report that could not be delivered; doubles
    retry_initial: float = 2.0
    #: longest wait between retries
    retry_max: float = 300.0
    #: pending transactions older than this (seconds) are dropped, with an error logged
    give_up_after: float = 7 * 24 * 3600.0


def ddl(dialect: str) -> list[str]:
    """The table of pending transactions (idempotent; SQLite or PostgreSQL)."""
    real = "REAL" if dialect == "sqlite" else "DOUBLE PRECISION"
    return [
        (
            "CREATE TABLE IF NOT EXISTS commitment_pending ("
            "transaction_uid TEXT PRIMARY KEY, calling_ae TEXT NOT NULL, "
            "refs TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, "
            f"created {real} NOT NULL, next_try {real} NOT NULL, "
            "last_error TEXT NOT NULL DEFAULT '')"
        )
    ]


class NodeCommitmentSCP(StorageCommitmentSCP):
    """The node's Storage Commitment SCP: persisted transactions, index + file checks,
    report on the same association or a new one, retries (see the module docstring)."""

    def __init__(self, node: ArchiveNode, settings: CommitmentSettings) -> None:
        super().__init__(
            self.check_instance,
            addresses=self._address,
            report_on="auto",
            retrieve_ae_title=node.config.ae_title,
        )
        self.node = node
        self.settings = settings
        self.db = node.archive.index.db
        with self.db.transaction():
            for stmt in ddl(self.db.dialect):
                self.db.execute(stmt)
        self._busy: set[str] = set()
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._stopping = False
        #: test hook: called with the Transaction UID before each report is sent
        self.before_report: Any = None

    # -- the check ------------------------------------------------------------------------

    def check_instance(self, sop_class: str, sop_instance: str) -> bool | int:
        """(worker thread) True when the instance is indexed under ``sop_class`` and its file
        reads as Part 10; else the Failure Reason (PS3.4 C.14.1.1)."""
        archive = self.node.archive
        inst = archive.index.lookup(sop_instance)
        if inst is None:
            return status_codes.NoSuchObjectInstance
        if inst.sop_class_uid != sop_class:
            log.warning(
                "commitment of %s refused: stored as SOP class %s, asked as %s",
                sop_instance,
                inst.sop_class_uid,
                sop_class,
            )
            return CLASS_INSTANCE_CONFLICT
        path = archive.path_of(inst)
        try:
            with open(path, "rb") as fp:
                head = fp.read(132)
        except OSError as exc:
            log.error("commitment of %s failed: file %s: %s", sop_instance, path, exc)
            return status_codes.ProcessingFailure
        if len(head) < 132 or head[128:132] != b"DICM":
            log.error(
                "commitment of %s failed: file %s is not a DICOM file (truncated or damaged)",
                sop_instance,
                path,
            )
            return status_codes.ProcessingFailure
        return True

    def _address(self, ae_title: str) -> tuple[str, int] | None:
        peer = self.node.config.peers.get(ae_title.strip())
        return (peer.host, peer.port) if peer is not None else None

    # -- requests -------------------------------------------------------------------------

    async def __call__(self, incoming: Incoming) -> dimse.DimseResponse:
        msg = incoming.message
        assert isinstance(msg, dimse.NActionRequest)
        txn = ""
        refs: list[Reference] = []
        with contextlib.suppress(Exception):  # undecodable: the base class answers it
            ds = incoming.dataset
            if ds is not None:
                txn = text(ds.get("TransactionUID"))
                refs = [
                    (
                        text(item.get("ReferencedSOPClassUID")),
                        text(item.get("ReferencedSOPInstanceUID")),
                    )
                    for item in (ds[REFERENCED_SOP_SEQUENCE].value or [])
                ]
        valid = (
            msg.requested_sop_class_uid == STORAGE_COMMITMENT
            and msg.requested_sop_instance_uid == STORAGE_COMMITMENT_INSTANCE
            and msg.action_type_id == ACTION_REQUEST
            and txn
            and refs
            and all(c and i for c, i in refs)
        )
        if valid:  # durable before the response: a restart cannot lose it
            await asyncio.to_thread(self._persist, txn, incoming.association.calling_ae, refs)
            self._busy.add(txn)  # the report task below owns it
        return await super().__call__(incoming)

    def _persist(self, txn: str, calling_ae: str, refs: list[Reference]) -> None:
        now = time.time()
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO commitment_pending (transaction_uid, calling_ae, refs, created, "
                "next_try) VALUES (?, ?, ?, ?, ?) ON CONFLICT (transaction_uid) DO NOTHING",
                (txn, calling_ae.strip(), json.dumps(refs), now, now),
            )

    # -- reports --------------------------------------------------------------------------

    async def _report(self, incoming: Incoming, txn: str, refs: list[Reference]) -> None:
        assoc = incoming.association
        try:
            event, ds = await self._event(txn, refs)
            if self.before_report is not None:
                await self.before_report(txn)
            if not assoc.is_closed and assoc.is_established:
                try:
                    rsp = await assoc.request(_event_message(event), ds, context=incoming.context)
                    self._delivered(txn, event, ds, assoc.calling_ae, rsp.status)
                    return
                except (NetworkError, OSError) as exc:
                    log.info(
                        "commitment report %s: the requesting association closed (%s); "
                        "reporting on a new one",
                        txn,
                        exc,
                    )
            await self._send_new(txn, assoc.calling_ae.strip(), event, ds)
        finally:
            self._busy.discard(txn)

    async def _event(self, txn: str, refs: list[Reference]) -> tuple[int, Dataset]:
        committed, failed = await self._check(refs)
        return event_information(txn, committed, failed, self.retrieve_ae_title)

    async def _send_new(self, txn: str, calling_ae: str, event: int, ds: Dataset) -> bool:
        """Report on a new association to ``calling_ae`` (from ``[peers]``); on failure the
        transaction is scheduled again. True when delivered."""
        address = self._address(calling_ae)
        try:
            if address is None:
                raise NetworkError(
                    f"no address for AE {calling_ae!r}: add [peers.{calling_ae}] with its host "
                    "and port to the node's config to receive commitment reports"
                )
            ae = ServiceAE(self.node.config.ae_title, config=self.node.ae_config)
            answer = await send_event_report(
                ae,
                address,
                calling_ae,
                [(_event_message(event), ds)],
                abstract_syntax=STORAGE_COMMITMENT,
                as_scp=True,
            )
            status = answer[0].status
        except DimseError as exc:  # delivered; the requester answered a failure status
            status = exc.status if exc.status is not None else status_codes.ProcessingFailure
        except (NetworkError, OSError) as exc:
            await asyncio.to_thread(self._reschedule, txn, str(exc))
            return False
        self._delivered(txn, event, ds, calling_ae, status)
        return True

    def _delivered(self, txn: str, event: int, ds: Dataset, calling_ae: str, status: int) -> None:
        if status != 0:
            log.warning("commitment report %s answered with status %04X", txn, status)
        with self.db.transaction():
            self.db.execute("DELETE FROM commitment_pending WHERE transaction_uid = ?", (txn,))
        self.results.append(CommitmentResult.from_report(event, ds, calling_ae))
        log.info("commitment report %s delivered to %s", txn, calling_ae)

    def _reschedule(self, txn: str, error: str) -> None:
        rows = self.db.query(
            "SELECT attempts, created FROM commitment_pending WHERE transaction_uid = ?", (txn,)
        )
        if not rows:
            return
        attempts, created = int(rows[0][0]) + 1, float(rows[0][1])
        now = time.time()
        s = self.settings
        with self.db.transaction():
            if now - created > s.give_up_after:
                log.error(
                    "commitment report %s not delivered after %d attempts, given up: %s",
                    txn,
                    attempts,
                    error,
                )
                self.db.execute("DELETE FROM commitment_pending WHERE transaction_uid = ?", (txn,))
                return
            delay = min(s.retry_max, s.retry_initial * 2 ** min(attempts - 1, 30))
            log.warning(
                "commitment report %s not delivered (attempt %d): %s; next try in %.0f s",
                txn,
                attempts,
                error,
                delay,
            )
            self.db.execute(
                "UPDATE commitment_pending SET attempts = ?, next_try = ?, last_error = ? "
                "WHERE transaction_uid = ?",
                (attempts, now + delay, error[:500], txn),
            )

    # -- the retry loop -------------------------------------------------------------------

    def pending(self) -> list[tuple[str, str, float]]:
        """(Transaction UID, calling AE, next try) of every transaction not yet reported."""
        rows = self.db.query(
            "SELECT transaction_uid, calling_ae, next_try FROM commitment_pending ORDER BY next_try"
        )
        return [(str(r[0]), str(r[1]), float(r[2])) for r in rows]

    async def start(self) -> None:
        """Start retrying pending transactions (those left by an earlier run at once)."""
        if self._loop_task is None:
            self._stopping = False
            await asyncio.to_thread(self._all_due)
            self._loop_task = asyncio.get_running_loop().create_task(self._retry_loop())

    def _all_due(self) -> None:
        with self.db.transaction():
            self.db.execute("UPDATE commitment_pending SET next_try = ?", (time.time(),))

    async def stop(self, grace: float = 10.0) -> None:
        """Stop retrying: a report being sent may finish (up to ``grace`` seconds), so that
        a delivered report is not sent again after the next start."""
        task, self._loop_task = self._loop_task, None
        if task is not None:
            self._stopping = True
            self._wake.set()
            try:
                async with asyncio.timeout(grace):
                    await asyncio.shield(task)
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                await self.join()

    async def _retry_loop(self) -> None:
        while not self._stopping:
            try:
                due = await asyncio.to_thread(self.pending)
            except Exception as exc:  # noqa: BLE001 -- the index may be closing
                log.warning("commitment retry: cannot read pending transactions: %s", exc)
                due = []
            now = time.time()
            wait = 5.0
            for txn, calling_ae, next_try in due:
                if self._stopping:
                    return
                if txn in self._busy:
                    continue
                if next_try > now:
                    wait = min(wait, next_try - now)
                    continue
                self._busy.add(txn)
                try:
                    await self._retry(txn, calling_ae)
                finally:
                    self._busy.discard(txn)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.05, wait)):
                    await self._wake.wait()
            self._wake.clear()

    async def _retry(self, txn: str, calling_ae: str) -> None:
        rows = await asyncio.to_thread(
            self.db.query,
            "SELECT refs FROM commitment_pending WHERE transaction_uid = ?",
            (txn,),
        )
        if not rows:
            return
        refs = [(str(c), str(i)) for c, i in json.loads(rows[0][0])]
        event, ds = await self._event(txn, refs)
        if self.before_report is not None:
            await self.before_report(txn)
        await self._send_new(txn, calling_ae, event, ds)


def _event_message(event: int) -> dimse.NEventReportRequest:
    return dimse.NEventReportRequest(
        affected_sop_class_uid=STORAGE_COMMITMENT,
        affected_sop_instance_uid=STORAGE_COMMITMENT_INSTANCE,
        event_type_id=event,
    )

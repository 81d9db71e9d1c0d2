"""Query/Retrieve SCP over a matching backend (PS3.4 C.4), e.g. the archive.

:class:`QueryRetrieveSCP` gives three handlers for :class:`dicomkit.net.AE`. Matching is the
backend's business (:class:`QRBackend`: ``dicomkit.archive._app.ArchiveBackend`` for the
archive node); this module is the service class: statuses, streaming, sub-operations, cancel.

- C-FIND: matches are computed in a worker thread, then streamed as pending responses (FF00,
  or FF01 when a key could not be matched); a C-CANCEL stops the stream with FE00.
- C-MOVE: opens its own association to the destination (a known AE title, else A801),
  proposing each SOP class in the stored transfer syntax plus the uncompressed
  ones; sends one C-STORE sub-operation per instance with Move Originator AE Title / Message
  ID, and pending responses as it goes (at most one per :data:`PENDING_INTERVAL`: they are
  optional, PS3.7 9.1.4) with the remaining / completed / failed / warning counts. A stored
  file of up to 1 MiB is read once: its checksum is verified on those bytes and its data set
  is sent as a slice of them, without parsing, when its transfer syntax is the one agreed.
  The final response carries the Failed SOP Instance UID List when something failed
  (status B000), FE00 when cancelled. Given ``connect_blocking`` (the archive node does),
  the sub-operations run in a worker thread over a blocking association instead
  (:mod:`dicomkit.services._move_thread`), with the same responses.
- C-GET: the same sub-operations on the requesting association, over contexts where the
  requestor took the SCP role (role selection, PS3.7 D.3.3.4).

Handlers send their pending responses themselves and return the final one, so the counts reach
the SCU in cancel responses too.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from dicomkit.core._dataset import Dataset
from dicomkit.dictionary import status_codes
from dicomkit.dictionary.statuses import describe
from dicomkit.dictionary.syntaxes import NATIVE
from dicomkit.dictionary.uids import (
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)
from dicomkit.errors import DicomError, InvalidDicomError, NetworkError
from dicomkit.net import Incoming, encode_data, response_for
from dicomkit.net.proto import _dimse as dimse
from dicomkit.net.proto._commands import fit_comment
from dicomkit.services import _convert as convert
from dicomkit.services import _frames as frames
from dicomkit.services import _query_retrieve as qr

log = logging.getLogger("dicomkit.services.qr")


@dataclass(frozen=True, slots=True)
class Negotiation:
    """What extended negotiation agreed for the context (PS3.4 C.5.1.1)."""

    relational: bool = False
    combined_datetime: bool = False
    #: fuzzy semantic matching of person names (byte 3)
    fuzzy: bool = False
    #: timezone query adjustment (byte 4, PS3.4 C.4.1.1.3.x)
    timezone: bool = False


@dataclass(frozen=True, slots=True)
class RetrieveItem:
    """One instance to send in a C-MOVE / C-GET sub-operation."""

    sop_class_uid: str
    sop_instance_uid: str
    transfer_syntax: str
    #: the stored file (a str spares making a Path per instance of a large retrieve)
    path: str | Path
    #: called in the worker thread before the file is read for sending: None when it may be
    #: sent, else why not (e.g. a damaged file): the sub-operation fails with that reason
    check: Callable[[], str | None] | None = None
    #: as ``check``, for a file read whole into memory to be sent (files up to 1 MiB): given
    #: its bytes, so it is read once (``check`` is then not called)
    verify: Callable[[bytes], str | None] | None = None
    #: makes the instance to send from the stored one (a frame level retrieve's new
    #: instance, :mod:`dicomkit.services._frames`); it is then sent in a native syntax
    transform: Callable[[Dataset], Dataset] | None = None


@dataclass(frozen=True, slots=True)
class FileSpan:
    """A stored data set too large to hold: ``size`` bytes of ``path`` from ``offset``,
    streamed from disk as it is sent."""

    path: str | Path
    offset: int
    size: int


class QRBackend(Protocol):
    """Where matches come from (e.g. the archive). Both methods may block (they run in a
    worker thread) and raise an exception with a ``status`` attribute to refuse a request."""

    def find(
        self, identifier: Dataset, model: qr.Model, negotiation: Negotiation
    ) -> tuple[Iterable[Dataset], bool]:
        """The response identifiers (built lazily, pulled in batches from a worker thread),
        and whether a key could not be matched (FF01)."""
        ...

    def retrieve(
        self, identifier: Dataset, model: qr.Model, negotiation: Negotiation
    ) -> list[RetrieveItem]: ...


#: Opens an association to a C-MOVE destination AE title proposing the given contexts.
Connector = Callable[[str, list[tuple[str, list[str]]]], Awaitable[Any]]


class QueryRetrieveSCP:
    """C-FIND / C-MOVE / C-GET handlers for Patient Root and Study Root over a backend."""

    def __init__(
        self,
        backend: QRBackend,
        *,
        connect: Connector | None = None,
        known: Callable[[str], bool] | None = None,
        connect_blocking: Callable[[str, list[tuple[str, list[str]]]], Any] | None = None,
    ) -> None:
        self.backend = backend
        self.connect = connect  # opens the C-MOVE sub-association
        #: opens it as a blocking association (:mod:`dicomkit.net._blocking`): then the
        #: sub-operations run in a worker thread (:mod:`dicomkit.services._move_thread`)
        self.connect_blocking = connect_blocking
        self.known = known  # is this AE title a configured C-MOVE destination?

    def handlers(self) -> dict[type[dimse.DimseRequest], Callable[[Incoming], Any]]:
        """The handlers to give an AE: ``{CFindRequest: on_find, CMoveRequest: on_move, CGetRequest:
        on_get}``."""
        return {
            dimse.CFindRequest: self.on_find,
            dimse.CMoveRequest: self.on_move,
            dimse.CGetRequest: self.on_get,
        }

    def _model(self, incoming: Incoming) -> qr.Model | None:
        return qr.MODEL_OF.get(incoming.context.abstract_syntax)

    @staticmethod
    def negotiation(incoming: Incoming) -> Negotiation:
        """What the association agreed for this request's SOP class by extended negotiation
        (relational queries, combined date-time matching, fuzzy person names, timezone
        query adjustment; PS3.4 C.5.1.1)."""
        neg = incoming.association.negotiated
        info = neg.extended.get(incoming.context.abstract_syntax, b"") if neg else b""
        return Negotiation(
            relational=len(info) > 0 and info[0] == 1,
            combined_datetime=len(info) > 1 and info[1] == 1,
            fuzzy=len(info) > 2 and info[2] == 1,
            timezone=len(info) > 3 and info[3] == 1,
        )

    # -- C-FIND ---------------------------------------------------------------------------

    async def on_find(self, incoming: Incoming) -> Any:
        """The C-FIND handler: matches from the backend, streamed as pending responses; a C-CANCEL
        ends them with FE00."""
        msg, assoc = incoming.message, incoming.association
        model = self._model(incoming)
        if model is None or not isinstance(msg, dimse.CFindRequest):
            return response_for(
                msg, status_codes.UnableToProcess, error_comment="unsupported model"
            )
        ident = incoming.dataset
        if ident is None:
            return response_for(
                msg, status_codes.IdentifierDoesNotMatchSOPClass, error_comment="no identifier"
            )
        neg = self.negotiation(incoming)

        def start() -> tuple[Iterator[Dataset], bool, list[Dataset]]:
            found, flag = self.backend.find(ident, model, neg)
            it = iter(found)
            return it, flag, _take(it, 64)  # the first batch in the same worker hop

        try:
            matches, unsupported, batch = await asyncio.to_thread(start)
        except DicomError as exc:
            status = int(getattr(exc, "status", None) or status_codes.UnableToProcess)
            log.info("%s: C-FIND refused (%s): %s", assoc.peer, describe(status, "find"), exc)
            return response_for(msg, status, error_comment=_comment(exc))
        # one pending response for every match (the same message: encoded once)
        pending = response_for(
            msg, status_codes.PendingWarning if unsupported else status_codes.Pending
        )
        sent = 0
        while batch:
            for ds in batch:
                if incoming.cancelled:
                    log.info("%s: C-FIND cancelled after %d matches", assoc.peer, sent)
                    return response_for(msg, status_codes.Cancel)
                await assoc.send_message(incoming.context, pending, ds)
                sent += 1
            batch = await asyncio.to_thread(_take, matches, 64) if len(batch) == 64 else []
        log.info(
            "%s: C-FIND %s level: %d matches", assoc.peer, ident.get("QueryRetrieveLevel", ""), sent
        )
        return response_for(
            msg, status_codes.Cancel if incoming.cancelled else status_codes.Success
        )

    # -- C-MOVE / C-GET -------------------------------------------------------------------

    async def _instances(self, incoming: Incoming) -> list[RetrieveItem]:
        model = self._model(incoming)
        ident = incoming.dataset
        if model is None or ident is None:
            raise _Refused("no identifier or unsupported model", 0xA900)
        level = str(ident.get("QueryRetrieveLevel", "") or "").strip().upper()
        if level == "FRAME" and model is qr.Model.COMPOSITE_INSTANCE_ROOT:
            return await self._frame_instances(ident, model, self.negotiation(incoming))
        try:
            return await asyncio.to_thread(
                self.backend.retrieve, ident, model, self.negotiation(incoming)
            )
        except DicomError as exc:
            raise _Refused(
                str(exc), int(getattr(exc, "status", None) or status_codes.UnableToProcess)
            ) from exc

    async def _frame_instances(
        self, ident: Dataset, model: qr.Model, neg: Negotiation
    ) -> list[RetrieveItem]:
        """Frame Level Retrieve (PS3.4 Y, Z): the one instance the identifier names, sent as a
        new instance holding the requested frames."""
        from dicomkit import read
        from dicomkit.core._uid import generate_uid

        def plan() -> list[RetrieveItem]:
            request = frames.frame_request(ident)
            image = ident.copy()
            for tag in frames.FRAME_KEYS:
                if tag in image:
                    del image[tag]
            image.QueryRetrieveLevel = "IMAGE"
            found = self.backend.retrieve(image, model, neg)
            if len(found) != 1:
                raise frames.FrameRetrieveError(
                    f"a FRAME level retrieve names one instance; the keys match {len(found)}",
                    frames.INVALID_REQUEST if found else frames.NO_SUCH_FRAMES,
                )
            item = found[0]
            wanted = frames.select_frames(request, read(item.path, stop_before_pixels=True))
            new_uid = str(generate_uid())

            def transform(ds: Dataset) -> Dataset:
                return frames.extract_frames(ds, wanted, request, new_uid)

            return [dataclasses.replace(item, sop_instance_uid=new_uid, transform=transform)]

        try:
            return await asyncio.to_thread(plan)
        except DicomError as exc:
            raise _Refused(
                str(exc), int(getattr(exc, "status", None) or status_codes.UnableToProcess)
            ) from exc

    async def on_move(self, incoming: Incoming) -> Any:
        """The C-MOVE handler: a C-STORE sub-operation per matching instance on a new association to
        the destination (A801 for an unknown one), pending responses as they progress."""
        msg, assoc = incoming.message, incoming.association
        assert isinstance(msg, dimse.CMoveRequest)
        dest = (msg.move_destination or "").strip()
        reachable = self.connect is not None or self.connect_blocking is not None
        if not reachable or self.known is None or not self.known(dest):
            log.info("%s: C-MOVE to unknown destination %r", assoc.peer, dest)
            return response_for(
                msg, status_codes.MoveDestinationUnknown, error_comment="unknown move destination"
            )
        try:
            instances = await self._instances(incoming)
        except _Refused as exc:
            return response_for(msg, exc.status, error_comment=_comment(exc))
        if not instances:
            return response_for(
                msg, status_codes.Success, remaining=0, completed=0, failed=0, warning=0
            )
        if self.connect_blocking is not None:  # sub-operations from a worker thread
            from dicomkit.services import _move_thread

            return await _move_thread.move(incoming, self.connect_blocking, dest, instances)
        assert self.connect is not None
        try:
            sub = await self.connect(dest, _contexts_for(instances))
        except (NetworkError, OSError) as exc:
            return unreachable(msg, dest, instances, exc)
        try:
            return await self._sub_operations(
                incoming, sub, instances, originator=(assoc.calling_ae, msg.message_id)
            )
        finally:
            try:
                await sub.release()
            except NetworkError:
                await sub.abort()

    async def on_get(self, incoming: Incoming) -> Any:
        """The C-GET handler: a C-STORE sub-operation per matching instance on the requesting
        association (where the requestor took the SCP role), pending responses as they progress."""
        msg = incoming.message
        try:
            instances = await self._instances(incoming)
        except _Refused as exc:
            return response_for(msg, exc.status, error_comment=_comment(exc))
        if not instances:
            return response_for(
                msg, status_codes.Success, remaining=0, completed=0, failed=0, warning=0
            )
        return await self._sub_operations(
            incoming,
            incoming.association,
            instances,
            originator=None,
            without_bulk=self._model(incoming) is qr.Model.WITHOUT_BULK_DATA,
        )

    async def _sub_operations(
        self,
        incoming: Incoming,
        target: Any,
        instances: list[RetrieveItem],
        originator: tuple[str, int] | None,
        *,
        without_bulk: bool = False,
    ) -> Any:
        msg, assoc = incoming.message, incoming.association
        total = len(instances)
        tally = _Tally()
        for_get = originator is None
        # C-MOVE: as many sub-operations outstanding as the destination's asynchronous
        # operations window allows (PS3.7 D.3.3.3); without one, one at a time
        window = 1 if for_get else _window(target)
        inflight: collections.deque[tuple[RetrieveItem, asyncio.Future[int]]] = collections.deque()
        # Pipelined: the next batch of instances is read (in one worker-thread hop) while
        # the current batch's C-STORE sub-operations are on the wire.
        ahead: asyncio.Task[list[tuple[Any, Any]]] | None = self._prepare(
            target, instances, 0, for_get=for_get, without_bulk=without_bulk
        )
        issued = 0
        lost = False
        next_pending = 0.0
        try:
            while ahead is not None and not lost:
                batch = await ahead
                following = issued + len(batch)
                ahead = (
                    self._prepare(
                        target, instances, following, for_get=for_get, without_bulk=without_bulk
                    )
                    if following < total
                    else None
                )
                for ctx, data in batch:
                    inst = instances[issued]
                    if incoming.cancelled:
                        while inflight:  # already sent: their answers still count
                            done_inst, fut = inflight.popleft()
                            tally.add(done_inst, await fut)
                        log.info(
                            "%s: %s cancelled with %d sub-operations left",
                            assoc.peer,
                            type(msg).__name__,
                            total - issued,
                        )
                        return tally.final(msg, status_codes.Cancel, total - issued)
                    issued += 1
                    if window == 1:
                        lost = tally.add(
                            inst, await self._send_one(target, inst, originator, ctx, data), target
                        )
                    else:
                        inflight.append(
                            (
                                inst,
                                asyncio.ensure_future(
                                    self._send_one(target, inst, originator, ctx, data)
                                ),
                            )
                        )
                        while inflight and (len(inflight) >= window or inflight[0][1].done()):
                            done_inst, fut = inflight.popleft()
                            lost = tally.add(done_inst, await fut, target) or lost
                    if lost:
                        break
                    if tally.done < total and (now := time.monotonic()) >= next_pending:
                        # Pending responses are optional (PS3.7 9.1.4): one per sub-operation
                        # would double the messages of a fast retrieve, so at most one per
                        # PENDING_INTERVAL (the first right after the first sub-operation)
                        next_pending = now + PENDING_INTERVAL
                        await assoc.send_message(
                            incoming.context, tally.response(msg, status_codes.Pending, total)
                        )
            while inflight:
                done_inst, fut = inflight.popleft()
                lost = tally.add(done_inst, await fut, target) or lost
            if lost:
                lost_sub_association(incoming, tally, instances[issued:])
        finally:
            if ahead is not None and not ahead.done():
                ahead.cancel()
            for _inst, fut in inflight:
                fut.cancel()
        return finished(incoming, tally)

    def _prepare(
        self,
        target: Any,
        instances: list[RetrieveItem],
        start: int,
        *,
        for_get: bool,
        without_bulk: bool = False,
    ) -> asyncio.Task[list[tuple[Any, Any]]]:
        """Start reading the instances from ``start`` for their sub-operations, in one worker
        thread hop: up to :data:`_BATCH` of them, or fewer once :data:`_BATCH_BYTES` are
        held. Each is ``(context, data)``, or ``(None, status)`` when it cannot be sent.
        ``without_bulk``: the bulk data is left out (Composite Instance Retrieve Without Bulk
        Data, PS3.4 C.6.4) and a native syntax preferred."""

        def read() -> list[tuple[Any, Any]]:
            out: list[tuple[Any, Any]] = []
            held = 0
            for inst in instances[start : start + _BATCH]:
                ctx, data = _prepare_one(target, inst, for_get=for_get, without_bulk=without_bulk)
                out.append((ctx, data))
                held += len(data) if isinstance(data, (bytes, bytearray, memoryview)) else 0
                if held >= _BATCH_BYTES:
                    break
            return out

        return asyncio.ensure_future(asyncio.to_thread(read))

    async def _send_one(
        self,
        target: Any,
        inst: RetrieveItem,
        originator: tuple[str, int] | None,
        ctx: Any,
        data: Any,
    ) -> int:
        if ctx is None:
            return int(data)
        if isinstance(data, FileSpan):
            data = qr.file_chunks(data.path, data.offset)
        try:
            req = dimse.CStoreRequest(
                message_id=target.next_message_id(),
                affected_sop_class_uid=inst.sop_class_uid,
                affected_sop_instance_uid=inst.sop_instance_uid,
                move_originator_aet=originator[0] if originator else None,
                move_originator_message_id=originator[1] if originator else None,
            )
            rsp = await target.request(req, data, context=ctx)
            return int(rsp.status)
        except (DicomError, OSError) as exc:
            log.warning("C-STORE sub-operation for %s failed: %s", inst.sop_instance_uid, exc)
            return status_codes.OutOfResourcesSubOperations


def _prepare_one(
    target: Any,
    inst: RetrieveItem,
    *,
    for_get: bool,
    without_bulk: bool = False,
    pick: Callable[[Any, RetrieveItem], Any] | None = None,
) -> tuple[Any, Any]:
    """Read one instance for its sub-operation (in a worker thread): ``(context, data)``,
    ``data`` the data set's bytes or a :class:`FileSpan` to stream; ``(None, status)`` when
    it cannot be sent. ``pick``: chooses the context (default :func:`_pick_context`)."""
    if pick is not None:
        ctx = pick(target, inst)
    else:
        ctx = _pick_context(
            target, inst, for_get=for_get, native_first=without_bulk or inst.transform is not None
        )
    if ctx is None:
        log.info("no accepted context for %s in %s", inst.sop_class_uid, inst.transfer_syntax)
        return None, status_codes.OutOfResourcesSubOperations
    try:
        whole = _read_small(inst) if inst.verify is not None else None
        if whole is not None:
            assert inst.verify is not None
            problem = inst.verify(whole)
        else:
            problem = inst.check() if inst.check is not None else None
        if problem is not None:
            log.warning(
                "C-STORE sub-operation for %s not attempted: %s", inst.sop_instance_uid, problem
            )
            return None, status_codes.OutOfResourcesSubOperations
        if inst.transform is not None:
            data: Any = _transformed(inst.path, inst.transform, ctx.transfer_syntax)
        elif without_bulk:
            data = _without_bulk(inst.path, ctx.transfer_syntax)
        elif whole is not None:
            data = _payload_of(whole, inst.path, ctx.transfer_syntax)
        else:
            data = _payload(inst.path, inst.transfer_syntax, ctx.transfer_syntax)
    except (DicomError, OSError) as exc:
        log.warning("C-STORE sub-operation for %s failed: %s", inst.sop_instance_uid, exc)
        return None, status_codes.OutOfResourcesSubOperations
    return ctx, data


def unreachable(
    msg: dimse.DimseRequest, dest: str, instances: list[RetrieveItem], exc: Exception
) -> Any:
    """The final response of a C-MOVE whose destination could not be associated with:
    A702, every sub-operation failed, the reason in words."""
    log.warning("C-MOVE: cannot associate with %s: %s", dest, exc)
    return response_for(
        msg,
        status_codes.OutOfResourcesSubOperations,
        failed=len(instances),
        completed=0,
        warning=0,
        error_comment=_comment(exc),
    )


def lost_sub_association(incoming: Incoming, tally: _Tally, undone: list[RetrieveItem]) -> None:
    """The sub-operation association is gone: the instances not attempted count as failed."""
    log.warning(
        "%s: sub-operation association lost, %d left undone",
        incoming.association.peer,
        len(undone),
    )
    tally.failed += len(undone)
    tally.failed_uids += [i.sop_instance_uid for i in undone]


def finished(incoming: Incoming, tally: _Tally) -> Any:
    """The final response of a C-MOVE / C-GET whose sub-operations all ran (or failed)."""
    msg = incoming.message
    status = (
        status_codes.Success
        if not (tally.failed or tally.warning)
        else status_codes.SubOperationsCompleteWithFailures
    )
    log.info(
        "%s: %s done: %d completed, %d failed, %d warning",
        incoming.association.peer,
        type(msg).__name__,
        tally.completed,
        tally.failed,
        tally.warning,
    )
    return tally.final(msg, status, None)


#: Seconds between two Pending C-MOVE / C-GET responses (progress for the requestor)
PENDING_INTERVAL = 0.1

#: The most C-MOVE sub-operations outstanding at once on a destination that grants an
#: asynchronous operations window (what the node proposes, too)
SUB_WINDOW = 16

#: Sub-operations read ahead per worker-thread hop: at most this many instances, and no more
#: once this many bytes are held (larger files are streamed from disk as they are sent).
_BATCH = 32
_BATCH_BYTES = 4 << 20


def _window(target: Any) -> int:
    """How many C-STORE sub-operations may be outstanding on ``target``: the operations it
    lets us invoke at once (PS3.7 D.3.3.3; 0 = unlimited, capped at :data:`SUB_WINDOW`)."""
    invoked = (getattr(target, "async_ops", None) or (1, 1))[0]
    return SUB_WINDOW if invoked == 0 else max(1, min(int(invoked), SUB_WINDOW))


class _Tally:
    """The sub-operation counts of one C-MOVE / C-GET."""

    __slots__ = ("completed", "failed", "failed_uids", "warning")

    def __init__(self) -> None:
        self.completed = self.failed = self.warning = 0
        self.failed_uids: list[str] = []

    @property
    def done(self) -> int:
        return self.completed + self.failed + self.warning

    def add(self, inst: RetrieveItem, status: int, target: Any = None) -> bool:
        """Count one answered sub-operation; True when it failed because the store
        association is gone (the rest cannot be attempted)."""
        if status == status_codes.Success:
            self.completed += 1
        elif (status & 0xF000) == 0xB000 or status in (0x0001, 0x0107, 0x0116):
            self.warning += 1
        else:
            self.failed += 1
            self.failed_uids.append(inst.sop_instance_uid)
            return bool(getattr(target, "is_closed", False))
        return False

    def response(self, msg: dimse.DimseRequest, status: int, total: int) -> Any:
        return response_for(
            msg,
            status,
            remaining=total - self.done,
            completed=self.completed,
            failed=self.failed,
            warning=self.warning,
        )

    def final(self, msg: dimse.DimseRequest, status: int, remaining: int | None) -> Any:
        return _final(
            msg,
            status,
            remaining,
            self.completed,
            self.failed,
            self.warning,
            self.failed_uids,
        )


def _final(
    msg: dimse.DimseRequest,
    status: int,
    remaining: int | None,
    completed: int,
    failed: int,
    warning: int,
    failed_uids: list[str],
) -> Any:
    rsp = response_for(
        msg, status, remaining=remaining, completed=completed, failed=failed, warning=warning
    )
    if failed_uids:
        ds = Dataset()
        ds.set(qr.FAILED_SOP_INSTANCE_UID_LIST, failed_uids, vr="UI")
        return rsp, ds
    return rsp


def _contexts_for(instances: list[RetrieveItem]) -> list[tuple[str, list[str]]]:
    """One presentation context per (SOP class, stored transfer syntax), plus one with the
    uncompressed syntaxes per SOP class for peers that do not take the stored one."""
    seen: dict[tuple[str, str], None] = {}
    classes: dict[str, None] = {}
    for inst in instances:
        ts = inst.transfer_syntax or ExplicitVRLittleEndian
        seen.setdefault((inst.sop_class_uid, ts), None)
        classes.setdefault(inst.sop_class_uid, None)
    out: list[tuple[str, list[str]]] = []
    for sop, ts in seen:
        if ts not in (ExplicitVRLittleEndian, ImplicitVRLittleEndian):
            out.append((sop, [ts]))
    for sop in classes:
        out.append((sop, [ExplicitVRLittleEndian, ImplicitVRLittleEndian]))
    return out[:128]


def _pick_context(
    assoc: Any, inst: RetrieveItem, *, for_get: bool, native_first: bool = False
) -> Any:
    stored = inst.transfer_syntax or ExplicitVRLittleEndian
    usable = [
        c
        for c in assoc.accepted_contexts
        if c.abstract_syntax == inst.sop_class_uid and (c.scp_role if for_get else True)
    ]
    if native_first:  # no pixel data left to keep compressed
        stored = next((c.transfer_syntax for c in usable if c.transfer_syntax in NATIVE), stored)
    # the stored syntax, else one it converts to (dicomkit.services._convert: native data sets
    # re-encoded, compressed pixel data decoded, exact data compressed losslessly)
    target = convert.pick([c.transfer_syntax for c in usable], stored)
    return next((c for c in usable if c.transfer_syntax == target), None)


#: Stored data sets up to this size are read whole when prepared for a sub-operation.
_READ_WHOLE = 1 << 20


def _payload(path: str | Path, stored_ts: str, ts: str) -> Any:
    """The data set of a stored file in ``ts``: read (or, when large, a :class:`FileSpan`
    to stream from disk) when the file already has that encoding, else decoded and
    re-encoded (compressed pixel data decompressed)."""
    file_ts, offset = qr.dataset_offset(path)
    if not file_ts:
        raise InvalidDicomError(f"{path} is not a Part 10 file (no transfer syntax in its meta)")
    if file_ts == ts:
        size = os.stat(path).st_size - offset
        if size <= _READ_WHOLE:  # read here, in the worker thread: no disk I/O in the loop
            with open(path, "rb") as fp:
                fp.seek(offset)
                return fp.read()
        return FileSpan(path, offset, size)
    from dicomkit import read

    return encode_data(convert.convert(read(path), ts), ts)


def _read_small(inst: RetrieveItem) -> bytes | None:
    """The whole stored file when it is small enough to hold (one read serves the check and
    the sending), else None (it is checked and streamed from disk)."""
    if inst.transform is not None:
        return None
    fd = os.open(inst.path, _O_READ)  # no buffered file object: one read of a small file
    try:
        size = os.fstat(fd).st_size
        if size > _READ_WHOLE:
            return None
        data = os.read(fd, size + 1)
        while len(data) <= size:  # a short read (or the file grew): read on to its end
            more = os.read(fd, _READ_WHOLE + 1 - len(data))
            if not more:
                break
            data += more
    finally:
        os.close(fd)
    return data if len(data) <= _READ_WHOLE else None


_O_READ = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
#: the usual start of a File Meta Information after the preamble: "DICM", then (0002,0000)
#: UL of length 4 (explicit VR little endian, PS3.10 7.1)
_META_HEAD = b"DICM\x02\x00\x00\x00UL\x04\x00"
#: the Transfer Syntax UID element's header up to its length: (0002,0010) UI
_SYNTAX_HEAD = b"\x02\x00\x10\x00UI"


def _meta_syntax(whole: bytes) -> tuple[str, int] | None:
    """(transfer syntax, data set offset) of a Part 10 file read whole, when its meta
    starts with its group length (the usual layout): found with a few byte searches, no
    element walk. None for any other layout (the caller takes the full reader)."""
    if whole[128:140] != _META_HEAD:
        return None
    end = 144 + int.from_bytes(whole[140:144], "little")
    at = whole.find(_SYNTAX_HEAD, 144, end)
    if at < 0 or at + 8 > end:
        return None
    stop = at + 8 + int.from_bytes(whole[at + 6 : at + 8], "little")
    if stop > end:
        return None
    try:
        return whole[at + 8 : stop].rstrip(b"\x00 ").decode("ascii"), end
    except UnicodeDecodeError:
        return None


def _payload_of(whole: bytes, path: str | Path, ts: str) -> Any:
    """The data set of a stored file read whole, in ``ts``: a slice of the file's bytes
    (no copy, no parse) when it is already encoded so, else decoded and re-encoded."""
    found = _meta_syntax(whole)  # the usual layout, found in place; else the full reader
    if found is not None:
        file_ts, offset = found
    else:
        from dicomkit.io._part10 import read_file_meta

        meta, offset = read_file_meta(whole)
        file_ts = str(meta.get("TransferSyntaxUID", "") or "")
    if not file_ts:
        raise InvalidDicomError(f"{path} is not a Part 10 file (no transfer syntax in its meta)")
    if file_ts == ts:
        return memoryview(whole)[offset:]
    from dicomkit import read

    return encode_data(convert.convert(read(whole), ts), ts)


def _without_bulk(path: str | Path, ts: str) -> bytes:
    """The data set of a stored file without its bulk data (PS3.4 C.6.4), encoded in ``ts``;
    the pixel description stays, so the receiver knows what it would have got."""
    from dicomkit import read

    ds = read(path, stop_before_pixels=True)  # Pixel Data: not read at all
    qr.strip_bulk_data(ds)
    return bytes(encode_data(ds, ts))


def _transformed(path: str | Path, transform: Callable[[Dataset], Dataset], ts: str) -> bytes:
    """The instance ``transform`` makes of a stored file, encoded in ``ts``."""
    from dicomkit import read

    ds = transform(read(path))
    return bytes(encode_data(convert.convert(ds, ts), ts))


def _take(it: Iterator[Dataset], n: int) -> list[Dataset]:
    out = []
    for ds in it:
        out.append(ds)
        if len(out) == n:
            break
    return out


class _Refused(Exception):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def _comment(exc: BaseException) -> str:
    return fit_comment(str(exc))

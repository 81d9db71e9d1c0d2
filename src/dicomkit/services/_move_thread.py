"""C-MOVE sub-operations from a worker thread over a blocking association (issue #17).

:meth:`dicomkit.services.QueryRetrieveSCP.on_move` hands its sub-operations here when it
was given a blocking connector (``connect_blocking``, as the archive node is): one thread
per C-MOVE opens the association to the destination with
:func:`dicomkit.net._blocking.associate` and sends each C-STORE sub-operation with
:meth:`~dicomkit.net._blocking.BlockingAssociation.send_request` -- the data set's bytes,
read and checked in this thread, go out with the P-DATA headers in one gathering write
(large files streamed from disk), and a response that comes alone in one PDU is decoded
straight from the bytes read. No event loop hop, future or timer per sub-operation: the
next instance is read while the destination stores the current one.

What the requestor sees is what the asyncio path gives it: pending responses at most one
per :data:`~dicomkit.services._qr_scp.PENDING_INTERVAL` (handed to the loop, which sends
them in order before the final one), a C-CANCEL honoured between two sub-operations (the
ones already sent still counted), failures counted with the Failed SOP Instance UID List,
as many sub-operations outstanding as the destination's asynchronous operations window
allows (at most :data:`~dicomkit.services._qr_scp.SUB_WINDOW`), A702 with the reason when
the destination cannot be reached, the rest counted as failed when it goes away. When the
requestor's own association ends, the thread stops after the sub-operation in hand.
"""

from __future__ import annotations

import asyncio
import collections
import struct
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dicomkit.dictionary import status_codes
from dicomkit.errors import DicomError, NetworkError
from dicomkit.net import Incoming
from dicomkit.net.proto import _dimse as dimse
from dicomkit.services import _qr_scp as scp
from dicomkit.services._qr_scp import (
    FileSpan,
    RetrieveItem,
    _contexts_for,
    _pick_context,
    _prepare_one,
    _Tally,
    _window,
    finished,
    log,
    lost_sub_association,
    unreachable,
)

if TYPE_CHECKING:
    from dicomkit.net._blocking import BlockingAssociation
    from dicomkit.net.proto._negotiation import NegotiatedContext

#: Opens a blocking association to a C-MOVE destination AE title proposing the contexts.
BlockingConnector = Callable[[str, list[tuple[str, list[str]]]], "BlockingAssociation"]


async def move(
    incoming: Incoming,
    connect: BlockingConnector,
    dest: str,
    instances: list[RetrieveItem],
) -> Any:
    """The C-MOVE of ``instances`` to ``dest`` in a worker thread; its final response.
    Pending responses the thread posts are sent from here, in order, before it returns."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[bool, Any]] = asyncio.Queue()
    stop = threading.Event()

    def post(final: bool, item: Any) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, (final, item))
        except RuntimeError:  # the loop closed meanwhile: nobody to tell
            stop.set()

    def work() -> None:
        try:
            result = _Mover(incoming, connect, dest, instances, post, stop).run()
        except BaseException as exc:  # noqa: BLE001 -- re-raised on the loop
            post(True, exc)
        else:
            post(True, result)

    threading.Thread(target=work, name=f"dicomkit C-MOVE to {dest}", daemon=True).start()
    try:
        while True:
            final, item = await queue.get()
            if final:
                if isinstance(item, BaseException):
                    raise item
                return item
            if stop.is_set():
                continue
            try:
                await incoming.association.send_message(incoming.context, item)
            except NetworkError:  # the requestor is gone: no use going on
                stop.set()
    finally:
        stop.set()  # e.g. this handler was cancelled: the thread ends after the one in hand


class _Mover:
    """One C-MOVE's sub-operations, run in its worker thread."""

    def __init__(
        self,
        incoming: Incoming,
        connect: BlockingConnector,
        dest: str,
        instances: list[RetrieveItem],
        post: Callable[[bool, Any], None],
        stop: threading.Event,
    ) -> None:
        self.incoming = incoming
        self.connect = connect
        self.dest = dest
        self.instances = instances
        self.post = post
        self.stop = stop
        msg = incoming.message
        assert isinstance(msg, dimse.CMoveRequest)
        self.msg = msg
        self.originator = (incoming.association.calling_ae, msg.message_id)
        #: (SOP class, stored syntax, native first) -> the context chosen for them
        self._contexts: dict[tuple[str, str, bool], Any] = {}
        self._commands = StoreCommands()

    def run(self) -> Any:
        msg, instances = self.msg, self.instances
        try:
            sub = self.connect(self.dest, _contexts_for(instances))
        except (NetworkError, OSError) as exc:
            return unreachable(msg, self.dest, instances, exc)
        try:
            return self._sub_operations(sub)
        finally:
            try:
                sub.release()
            except NetworkError:
                sub.abort()

    def _pick(self, sub: BlockingAssociation, inst: RetrieveItem) -> Any:
        native = inst.transform is not None
        key = (inst.sop_class_uid, inst.transfer_syntax, native)
        try:
            return self._contexts[key]
        except KeyError:
            ctx = self._contexts[key] = _pick_context(sub, inst, for_get=False, native_first=native)
            return ctx

    def _prepare(self, sub: BlockingAssociation, inst: RetrieveItem) -> tuple[Any, Any]:
        return _prepare_one(sub, inst, for_get=False, pick=self._pick)

    def _ended(self) -> bool:
        """The requestor cancelled, or its association (or this handler) is gone."""
        return self.incoming.cancelled or self.stop.is_set() or self.incoming.association.is_closed

    def _sub_operations(self, sub: BlockingAssociation) -> Any:
        msg, instances = self.msg, self.instances
        total = len(instances)
        tally = _Tally()
        window = _window(sub)
        inflight: collections.deque[tuple[RetrieveItem, int, NegotiatedContext]] = (
            collections.deque()
        )
        issued = 0
        lost = False
        next_pending = 0.0
        ready = self._prepare(sub, instances[0])
        for i, inst in enumerate(instances):
            if self._ended():
                while inflight:  # already sent: their answers still count
                    done_inst, mid, ctx = inflight.popleft()
                    tally.add(done_inst, self._answer(sub, done_inst, mid, ctx))
                log.info(
                    "%s: %s cancelled with %d sub-operations left",
                    self.incoming.association.peer,
                    type(msg).__name__,
                    total - issued,
                )
                return tally.final(msg, status_codes.Cancel, total - issued)
            issued += 1
            ctx, data = ready
            if ctx is None:
                lost = tally.add(inst, int(data), sub)
            else:
                try:
                    inflight.append((inst, self._send(sub, inst, ctx, data), ctx))
                except (DicomError, OSError) as exc:
                    log.warning(
                        "C-STORE sub-operation for %s failed: %s", inst.sop_instance_uid, exc
                    )
                    lost = tally.add(inst, status_codes.OutOfResourcesSubOperations, sub)
            # the next one is read while the destination stores this one
            ready = self._prepare(sub, instances[i + 1]) if i + 1 < total and not lost else ready
            while inflight and (len(inflight) >= window or lost or i + 1 == total):
                done_inst, mid, ctx = inflight.popleft()
                lost = tally.add(done_inst, self._answer(sub, done_inst, mid, ctx), sub) or lost
            if lost:
                break
            if tally.done < total and (now := time.monotonic()) >= next_pending:
                next_pending = now + scp.PENDING_INTERVAL  # as the asyncio path (PS3.7 9.1.4)
                self.post(False, tally.response(msg, status_codes.Pending, total))
        if lost:
            lost_sub_association(self.incoming, tally, instances[issued:])
        return finished(self.incoming, tally)

    def _send(
        self, sub: BlockingAssociation, inst: RetrieveItem, ctx: NegotiatedContext, data: Any
    ) -> int:
        req = dimse.CStoreRequest(
            message_id=sub.next_message_id(),
            affected_sop_class_uid=inst.sop_class_uid,
            affected_sop_instance_uid=inst.sop_instance_uid,
            move_originator_aet=self.originator[0],
            move_originator_message_id=self.originator[1],
            has_dataset=True,
        )
        cmd = self._commands.encode(req)
        if isinstance(data, FileSpan):
            with open(data.path, "rb", buffering=0) as fp:
                fp.seek(data.offset)
                return sub.send_request(req, fp, size=data.size, context=ctx, command=cmd)
        return sub.send_request(req, data, context=ctx, command=cmd)

    @staticmethod
    def _answer(
        sub: BlockingAssociation, inst: RetrieveItem, mid: int, ctx: NegotiatedContext
    ) -> int:
        try:
            return int(sub.final_response(mid, ctx).status)
        except (DicomError, OSError) as exc:
            log.warning("C-STORE sub-operation for %s failed: %s", inst.sop_instance_uid, exc)
            return status_codes.OutOfResourcesSubOperations


#: a command element's header (implicit VR little endian, PS3.7 6.3.1)
_ELEMENT = struct.Struct("<HHI")
_MESSAGE_ID, _INSTANCE_UID = 0x0110, 0x1000


class StoreCommands:
    """C-STORE-RQ command sets from templates: the first request of a SOP class (with a
    given priority and Move Originator) is encoded as usual and cut around its Message ID
    value and its Affected SOP Instance UID element; the next ones are those pieces with
    their own two put in -- the bytes :func:`~dicomkit.net.proto._dimse.encode_message`
    makes, without its element walk. Anything unusual (extra elements, a UID that is not
    plain ASCII of at most 64 characters) is encoded the usual way."""

    def __init__(self) -> None:
        self._cuts: dict[tuple[str, int, str | None, int | None], tuple[bytes, bytes, bytes]] = {}

    def encode(self, req: dimse.CStoreRequest) -> bytes:
        uid = req.affected_sop_instance_uid
        if req.extra or not req.has_dataset or len(uid) > 64 or not uid.isascii():
            return dimse.encode_message(req)
        key = (
            req.affected_sop_class_uid,
            req.priority,
            req.move_originator_aet,
            req.move_originator_message_id,
        )
        cut = self._cuts.get(key)
        if cut is None:
            cmd = dimse.encode_message(req)
            found = _cut(cmd)
            if found is not None:
                self._cuts[key] = found
            return cmd
        head, between, tail = cut
        raw = uid.encode("ascii")
        if len(raw) & 1:
            raw += b"\x00"
        body = b"".join(
            (
                head,
                req.message_id.to_bytes(2, "little"),
                between,
                _ELEMENT.pack(0, _INSTANCE_UID, len(raw)),
                raw,
                tail,
            )
        )
        return _GROUP_LENGTH + len(body).to_bytes(4, "little") + body


_GROUP_LENGTH = _ELEMENT.pack(0, 0, 4)


def _cut(cmd: bytes) -> tuple[bytes, bytes, bytes] | None:
    """(the elements before the Message ID value, those between it and the Affected SOP
    Instance UID element, those after that element) of an encoded command set whose
    group length comes first; None for any other shape."""
    if cmd[:8] != _GROUP_LENGTH:
        return None
    pos, size = 12, len(cmd)
    mid_at = uid_at = uid_end = -1
    while pos + 8 <= size:
        group, element, length = _ELEMENT.unpack_from(cmd, pos)
        if group != 0 or pos + 8 + length > size:
            return None
        if element == _MESSAGE_ID and length == 2:
            mid_at = pos + 8
        elif element == _INSTANCE_UID:
            uid_at, uid_end = pos, pos + 8 + length
        pos += 8 + length
    if pos != size or not 12 <= mid_at < uid_at:
        return None
    return cmd[12:mid_at], cmd[mid_at + 2 : uid_at], cmd[uid_end:]

"""UPS-RS (PS3.18 11): the node's Unified Procedure Step workitems over HTTP.

The resources call the node's own UPS SCP (:class:`~dicomkit.services.UPSSCP`; on
``dicomkit serve`` the one whose workitems and subscriptions persist in the index), so a
workitem created over HTTP is the one a DIMSE performer finds with C-FIND and claims with
N-ACTION, with the same state machine and the same checks (PS3.4 CC.1.1):

======================================================  =====================================
``POST /workitems[?workitem=UID]``                      create (N-CREATE); 201 + Location
``GET /workitems?...``                                  search (C-FIND matching; includefield,
                                                        limit, offset)
``GET /workitems/{uid}``                                retrieve (N-GET)
``POST /workitems/{uid}[?transaction=UID]``             update (N-SET)
``PUT /workitems/{uid}/state``                          change state (N-ACTION 1)
``POST /workitems/{uid}/cancelrequest``                 request cancellation (N-ACTION 2)
``POST /workitems/{uid}/subscribers/{aet}``             subscribe (N-ACTION 3; ``deletionlock``)
``DELETE /workitems/{uid}/subscribers/{aet}``           unsubscribe (N-ACTION 4)
``POST /workitems/1.2.840.10008.5.1.4.34.5/subscribers/{aet}/suspend``  suspend global
======================================================  =====================================

``GET /subscribers/{aet}`` (WebSocket)                 open event channel (PS3.18 8.10.4)
======================================================  =====================================

Event reports go to a subscriber's open WebSocket channel (:mod:`dicomkit.web._ups_events`;
an AE title subscribed here that is not a DIMSE peer is a WebSocket subscriber), else to its
AE title as DIMSE N-EVENT-REPORTs (its address from the node's ``[peers]``). DIMSE statuses
become HTTP statuses (PS3.18 Table 11.6.3-2 and the like): no such workitem 404, state or
transaction conflicts 409, bad attributes 400; warnings answer 200 with a ``Warning``
header; every refusal says why.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dicomkit.core import Dataset
from dicomkit.dictionary import keyword_for_tag, status_codes, tag_for_keyword, uids
from dicomkit.dictionary.statuses import describe as describe_status
from dicomkit.errors import DicomError
from dicomkit.io import from_json, to_json
from dicomkit.net.proto import _dimse as dimse
from dicomkit.web._ups_events import EventChannels, check_ae_title

__all__ = ["ups_routes"]

DICOM_JSON = "application/dicom+json"
_MESSAGE_IDS = itertools.count(1)
_DEFAULT_KEYS = (
    "SOPClassUID",
    "SOPInstanceUID",
    "ProcedureStepState",
    "ScheduledProcedureStepPriority",
    "ScheduledProcedureStepStartDateTime",
    "ProcedureStepLabel",
    "WorklistLabel",
    "InputReadinessState",
    "PatientName",
    "PatientID",
)
_TRANSACTION_UID = 0x00081195


@dataclass
class _Association:
    calling_ae: str


@dataclass
class _Incoming:
    """What a UPS SCP handler reads of a DIMSE request, made from an HTTP one."""

    message: dimse.DimseRequest
    dataset: Any = None
    association: _Association = field(default_factory=lambda: _Association("DICOMWEB"))
    cancelled: bool = False

    @property
    def data(self) -> bytes | None:
        return b"" if self.dataset is not None else None


def _has(ds: Any, keyword: str) -> bool:
    return keyword in ds


def _text(message: str, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(message + "\n", status, media_type="text/plain", headers=headers)


def _http(rsp: Any, created: str | None = None) -> Response:
    """An HTTP answer for a DIMSE response of the UPS SCP."""
    status = int(getattr(rsp, "status", 0))
    comment = str(getattr(rsp, "error_comment", "") or "")
    words = describe_status(status, "ups") + (f": {comment}" if comment else "")
    if status == status_codes.Success:
        if created:
            return Response(
                status_code=201, headers={"Location": created, "Content-Location": created}
            )
        return Response(status_code=200)
    if status >> 12 == 0xB:  # warning: done, with a remark
        return Response(status_code=200, headers={"Warning": f'299 dicomkit "{words}"'})
    if status == status_codes.UPSDoesNotExist:
        return _text(words, 404)
    if status in (
        status_codes.MissingAttribute,
        status_codes.InvalidAttributeValue,
        status_codes.NoSuchActionType,
        0x0106,
        0x0116,
        0x0120,
        0x0121,
    ):
        return _text(words, 400)
    return _text(words, 409)


async def _body(request: Request) -> Dataset | None:
    raw = await request.body()
    if not raw.strip():
        return None
    obj = json.loads(raw)
    if isinstance(obj, list):
        if len(obj) != 1:
            raise DicomError(f"send one workitem (a DICOM JSON object), not {len(obj)}")
        obj = obj[0]
    return from_json(obj)


def _json(objs: list[dict[str, Any]]) -> Response:
    return Response(json.dumps(objs, ensure_ascii=False).encode(), media_type=DICOM_JSON)


def _query(params: Iterable[tuple[str, str]]) -> tuple[Dataset, list[str], int | None, int]:
    """A worklist-style identifier from search parameters, the extra return keys, limit,
    offset."""
    query = Dataset()
    include: list[str] = []
    limit: int | None = None
    offset = 0
    for name, value in params:
        if name == "includefield":
            include += [v.strip() for v in value.split(",") if v.strip()]
        elif name in ("limit", "offset"):
            if not value.isdigit():
                raise DicomError(f"{name}={value!r} is not a whole number")
            if name == "limit":
                limit = int(value)
            else:
                offset = int(value)
        elif name == "fuzzymatching":
            continue
        else:
            kw: Any = name if tag_for_keyword(name) is not None else None
            if kw is None and len(name) == 8 and all(c in "0123456789abcdefABCDEF" for c in name):
                kw = keyword_for_tag(int(name, 16))
            if not kw:
                raise DicomError(
                    f"unknown attribute {name!r}: use a DICOM keyword or eight hex digits"
                )
            setattr(query, str(kw), value)
    return query, include, limit, offset


def ups_routes(ups: Any, base: Any, channels: EventChannels | None = None) -> list[Route]:
    """The UPS-RS routes over a UPS SCP (``ups``); ``base(request)`` gives the service's
    base URL for Location headers. ``channels``: the WebSocket event channels (added to the
    SCP's channels; :meth:`EventChannels.route` serves them)."""
    from dicomkit.services import matches, response_for_item
    from dicomkit.services._n_common import lookup

    if channels is not None and channels not in ups.channels:
        ups.channels.append(channels)
        # subscriptions kept from before a restart whose AE title has no DIMSE address could
        # only have been made for an event channel: their events keep waiting for it
        channels.web_subscribers |= {
            ae.strip() for ae in ups.subscriptions if lookup(ups.addresses, ae) is None
        }

    push = uids.UnifiedProcedureStepPush

    def caller(request: Request) -> str:
        user = getattr(request.state, "user", "") if hasattr(request, "state") else ""
        return (str(user) or "DICOMWEB")[:16]

    async def create(request: Request) -> Response:
        try:
            ds = await _body(request)
        except (DicomError, ValueError) as exc:
            return _text(f"the workitem is not DICOM JSON: {exc}", 400)
        if ds is None:
            return _text("POST /workitems needs the workitem as application/dicom+json", 400)
        uid = request.query_params.get("workitem") or str(ds.get("SOPInstanceUID", "") or "")
        msg = dimse.NCreateRequest(
            message_id=next(_MESSAGE_IDS),
            affected_sop_class_uid=push,
            affected_sop_instance_uid=uid or None,
        )
        rsp = await ups.n_create(_Incoming(msg, ds, _Association(caller(request))))
        made = str(getattr(rsp, "affected_sop_instance_uid", "") or uid)
        return _http(rsp, created=f"{base(request)}/workitems/{made}")

    async def retrieve(request: Request) -> Response:
        uid = request.path_params["uid"]
        current = ups.store.get(uid)
        if current is None:
            return _text(f"no workitem {uid}", 404)
        shown = current.copy()
        if _TRANSACTION_UID in shown:  # the performer's secret (PS3.4 CC.2.6)
            del shown[_TRANSACTION_UID]
        return _json([to_json(shown)])

    async def search(request: Request) -> Response:
        try:
            query, include, limit, offset = _query(request.query_params.multi_items())
        except (DicomError, ValueError) as exc:
            return _text(str(exc), 400)
        keys = [k for k in _DEFAULT_KEYS if not _has(query, k)]
        out: list[dict[str, Any]] = []
        skipped = 0
        for item in list(ups.store.values()):
            if not matches(query, item):
                continue
            if skipped < offset:
                skipped += 1
                continue
            if limit is not None and len(out) >= limit:
                break
            if "all" in include:
                found = item.copy()
            else:
                found = response_for_item(query, item)
                for kw in keys + [k for k in include if tag_for_keyword(k) is not None]:
                    if _has(item, kw) and not _has(found, kw):
                        el = item[kw]
                        found.set(kw, el.value, vr=el.vr)
            if _TRANSACTION_UID in found:
                del found[_TRANSACTION_UID]
            out.append(to_json(found))
        if not out:
            return Response(status_code=204)
        return _json(out)

    async def update(request: Request) -> Response:
        uid = request.path_params["uid"]
        try:
            mods = await _body(request)
        except (DicomError, ValueError) as exc:
            return _text(f"the changes are not DICOM JSON: {exc}", 400)
        if mods is None:
            return _text("send the attributes to change as application/dicom+json", 400)
        txn = request.query_params.get("transaction")
        if txn:
            mods.set(_TRANSACTION_UID, txn, vr="UI")
        msg = dimse.NSetRequest(
            message_id=next(_MESSAGE_IDS),
            requested_sop_class_uid=push,
            requested_sop_instance_uid=uid,
        )
        return _http(await ups.n_set(_Incoming(msg, mods, _Association(caller(request)))))

    async def action(request: Request, action_type: int, ds: Dataset, uid: str) -> Response:
        msg = dimse.NActionRequest(
            message_id=next(_MESSAGE_IDS),
            requested_sop_class_uid=push,
            requested_sop_instance_uid=uid,
            action_type_id=action_type,
        )
        return _http(await ups.n_action(_Incoming(msg, ds, _Association(caller(request)))))

    async def state(request: Request) -> Response:
        try:
            ds = await _body(request)
        except (DicomError, ValueError) as exc:
            return _text(f"the state change is not DICOM JSON: {exc}", 400)
        if ds is None or not _has(ds, "ProcedureStepState"):
            return _text(
                "send ProcedureStepState (IN PROGRESS, COMPLETED or CANCELED) and the "
                "TransactionUID as application/dicom+json",
                400,
            )
        return await action(request, 1, ds, request.path_params["uid"])

    async def cancel(request: Request) -> Response:
        try:
            ds = await _body(request) or Dataset()
        except (DicomError, ValueError) as exc:
            return _text(f"the cancellation request is not DICOM JSON: {exc}", 400)
        return await action(request, 2, ds, request.path_params["uid"])

    async def subscribe(request: Request) -> Response:
        aet = str(request.path_params["aet"])
        why = check_ae_title(aet)
        if why is not None:
            return _text(f"cannot subscribe {why}", 400)
        if (
            channels is not None and request.method == "POST" and lookup(ups.addresses, aet) is None
        ):  # not a DIMSE peer: its events go through its WebSocket channel
            channels.web_subscribers.add(aet.strip())
        ds = Dataset()
        ds.ReceivingAE = aet
        lock = request.query_params.get("deletionlock", "false").lower()
        ds.DeletionLock = "TRUE" if lock == "true" else "FALSE"
        kind = {"POST": 3, "DELETE": 4}[request.method]
        return await action(request, kind, ds, request.path_params["uid"])

    async def suspend(request: Request) -> Response:
        ds = Dataset()
        ds.ReceivingAE = request.path_params["aet"]
        return await action(request, 5, ds, request.path_params["uid"])

    w = "/workitems/{uid}"
    return [
        Route("/workitems", create, methods=["POST"]),
        Route("/workitems", search, methods=["GET"]),
        Route(w, retrieve, methods=["GET"]),
        Route(w, update, methods=["POST"]),
        Route(w + "/state", state, methods=["PUT"]),
        Route(w + "/cancelrequest", cancel, methods=["POST"]),
        Route(w + "/subscribers/{aet}", subscribe, methods=["POST", "DELETE"]),
        Route(w + "/subscribers/{aet}/suspend", suspend, methods=["POST"]),
    ]

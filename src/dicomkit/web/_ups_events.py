"""UPS-RS event channels: UPS event reports over WebSocket (PS3.18 8.10.4 / 8.10.5, the
UPS-RS Open Event Channel).

A subscriber opens ``ws[s]://HOST:PORT/dicom-web/subscribers/{aetitle}`` (the
``{+WSSERVICE}/subscribers/{aetitle}`` resource: the service's URL with a WebSocket scheme);
the node then sends every event report for that AE title's subscriptions as one text frame
holding a DICOM JSON data set: the N-EVENT-REPORT command attributes of PS3.7 Table 10.3-1
(Affected SOP Class UID, Command Field, Message ID, Command Data Set Type, Affected SOP
Instance UID, Event Type ID) and the event information of PS3.4 Table CC.2.4-1 (State Report:
Procedure Step State and Input Readiness State; UPS Cancel Requested: the requesting AE and
reason; Progress ...).

The subscriptions are the UPS SCP's own (:class:`dicomkit.services.UPSSCP`, persisted by
the node): a subscription made over UPS-RS for an AE title that is not a DIMSE peer makes it
a WebSocket subscriber, and a DIMSE subscription (N-ACTION Subscribe with a Receiving AE)
naming an AE title whose channel is open is served there too. A state change from either
side (UPS-RS, or N-ACTION / N-SET from a DIMSE performer) reaches every subscriber, by
WebSocket when its channel is open, else by N-EVENT-REPORT to its ``[peers]`` address.
Events for a WebSocket subscriber whose channel is closed wait (the newest
:data:`BACKLOG` of them) until it opens; waiting events are not kept across a restart of
the node, its subscriptions are (and an AE title without a DIMSE address among them is
again a WebSocket subscriber).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections import deque
from typing import Any

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from dicomkit.core._dataset import Dataset
from dicomkit.io._json import to_json
from dicomkit.net.proto import _dimse as dimse

__all__ = ["BACKLOG", "EventChannels", "event_json"]

log = logging.getLogger("dicomkit.web")

#: events kept for a WebSocket subscriber whose channel is closed (the oldest go first)
BACKLOG = 1000
_N_EVENT_REPORT_RQ = 0x0100
_DATA_SET_PRESENT = 0x0000
_MESSAGE_IDS = itertools.count(1)
#: largest AE title (PS3.5 Table 6.2-1, AE: 16 characters, no backslash or control codes)
_AE_MAX = 16


def event_json(message: dimse.NEventReportRequest, report: Dataset) -> dict[str, Any]:
    """The DICOM JSON of one event report (PS3.18 8.10.5.1.1): the N-EVENT-REPORT-RQ
    command attributes and the event information."""
    ds = Dataset()
    ds.AffectedSOPClassUID = message.affected_sop_class_uid
    ds.CommandField = _N_EVENT_REPORT_RQ
    ds.MessageID = next(_MESSAGE_IDS) & 0xFFFF
    ds.CommandDataSetType = _DATA_SET_PRESENT
    ds.AffectedSOPInstanceUID = message.affected_sop_instance_uid
    ds.EventTypeID = message.event_type_id
    for tag in report:
        ds.add(report[tag])
    return to_json(ds)


def check_ae_title(ae_title: str) -> str | None:
    """Why ``ae_title`` cannot name a subscriber, or None."""
    if not ae_title.strip() or len(ae_title) > _AE_MAX:
        return f"AE title {ae_title!r}: 1 to 16 characters"
    if "\\" in ae_title or any(ord(c) < 0x20 or ord(c) > 0x7E for c in ae_title):
        return f"AE title {ae_title!r}: printable ASCII without backslash"
    return None


class EventChannels:
    """The open WebSocket channels by AE title: an event channel of the UPS SCP
    (:class:`dicomkit.services._ups.EventChannel`). Served on the node's event loop; events
    from an SCP running on another loop are handed over thread-safely."""

    def __init__(self, backlog: int = BACKLOG) -> None:
        #: AE titles subscribed over UPS-RS (reached only through a channel)
        self.web_subscribers: set[str] = set()
        self._open: dict[str, list[asyncio.Queue[dict[str, Any]]]] = {}
        self._waiting: dict[str, deque[dict[str, Any]]] = {}
        self._backlog = backlog
        #: the loop the channels are served on (set by the first one)
        self._loop: asyncio.AbstractEventLoop | None = None

    def accepts(self, ae_title: str) -> bool:
        """Whether events for ``ae_title`` go through a channel of this node."""
        ae_title = ae_title.strip()
        return ae_title in self._open or ae_title in self.web_subscribers

    def deliver(self, ae_title: str, message: dimse.NEventReportRequest, report: Dataset) -> bool:
        """Send (or keep, when its channel is closed) one event for ``ae_title``; False when
        the AE title is not a WebSocket subscriber (the SCP then uses DIMSE)."""
        ae_title = ae_title.strip()
        if not self.accepts(ae_title):
            return False
        event = event_json(message, report)
        queues = self._open.get(ae_title)
        if queues:
            try:
                here = asyncio.get_running_loop()
            except RuntimeError:
                here = None
            for queue in queues:
                if self._loop is None or here is self._loop:
                    queue.put_nowait(event)
                else:  # an SCP on another thread's loop: hand it to the channel's loop
                    self._loop.call_soon_threadsafe(queue.put_nowait, event)
        else:
            self._waiting.setdefault(ae_title, deque(maxlen=self._backlog)).append(event)
        return True

    def is_open(self, ae_title: str) -> bool:
        """Whether a WebSocket channel for ``ae_title`` is open now."""
        return bool(self._open.get(ae_title.strip()))

    async def serve(self, websocket: WebSocket) -> None:
        """The Open Event Channel transaction: accept the WebSocket, send the events kept
        for its AE title, then each new one, until the client closes it."""
        ae_title = str(websocket.path_params["aet"]).strip()
        why = check_ae_title(ae_title)
        if why is not None:
            await websocket.close(code=1008, reason=why)
            return
        await websocket.accept()
        self._loop = asyncio.get_running_loop()
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        for event in self._waiting.pop(ae_title, ()):
            queue.put_nowait(event)
        self._open.setdefault(ae_title, []).append(queue)
        log.info("UPS-RS event channel open for %s", ae_title)
        closed = asyncio.ensure_future(self._until_closed(websocket))
        try:
            while True:
                getting = asyncio.ensure_future(queue.get())
                done, _pending = await asyncio.wait(
                    {getting, closed}, return_when=asyncio.FIRST_COMPLETED
                )
                if getting not in done:
                    getting.cancel()
                    break
                await websocket.send_text(json.dumps(getting.result(), ensure_ascii=False))
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass
        finally:
            closed.cancel()
            queues = self._open.get(ae_title, [])
            with contextlib.suppress(ValueError):
                queues.remove(queue)
            if not queues:
                self._open.pop(ae_title, None)
                if ae_title in self.web_subscribers and not queue.empty():
                    left = self._waiting.setdefault(ae_title, deque(maxlen=self._backlog))
                    while not queue.empty():
                        left.append(queue.get_nowait())
            log.info("UPS-RS event channel closed for %s", ae_title)

    @staticmethod
    async def _until_closed(websocket: WebSocket) -> None:
        """Read (and ignore) what the client sends, until it closes the channel."""
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return

    def route(self) -> WebSocketRoute:
        """The ``/subscribers/{aet}`` WebSocket route (under the service prefix)."""
        return WebSocketRoute("/subscribers/{aet}", self.serve)

"""The client contract on the DIMSE-N SCU calls of mpps, ups and the N-EVENT-REPORT sender:
success and warning give the typed response, a failure status raises DimseError with it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from dicomkit.core._dataset import Dataset
from dicomkit.errors import DimseError
from dicomkit.net import (
    AE,
    Association,
    DimseResponse,
    Incoming,
    NActionRequest,
    NActionResponse,
    NEventReportRequest,
    NEventReportResponse,
    NSetRequest,
    NSetResponse,
    response_for,
)
from dicomkit.net._memory import memory_pair
from dicomkit.services import _mpps as mpps
from dicomkit.services import _ups as ups
from dicomkit.services._n_common import send_event_report, supported_for

SOP_CLASSES = [mpps.MPPS, ups.UPS_PUSH, ups.UPS_PULL, ups.UPS_WATCH, ups.UPS_EVENT]


def _answering(status: int, seen: list[Any]) -> dict[Any, Any]:
    """Handlers answering every N-SET / N-ACTION / N-EVENT-REPORT with ``status``."""

    async def answer(incoming: Incoming) -> Any:
        seen.append(incoming.message)
        return response_for(incoming.message, status)

    return {NSetRequest: answer, NActionRequest: answer, NEventReportRequest: answer}


def _call(status: int, call: Callable[[Association], Awaitable[Any]]) -> tuple[Any, list[Any]]:
    seen: list[Any] = []

    async def main() -> Any:
        client, server = memory_pair()
        scp = AE("SCP", handlers=_answering(status, seen), supported=supported_for(SOP_CLASSES))
        await scp.serve_transport(server)
        async with AE("SCU").associate("", 0, transport=client, contexts=SOP_CLASSES) as assoc:
            return await call(assoc)

    return asyncio.run(main()), seen


def _mods() -> Dataset:
    ds = Dataset()
    ds.PerformedProcedureStepDescription = "Head"
    return ds


UID = "1.2.826.0.1.3680043.10.9.1"

#: (name, call, typed response it gives); the peer's status is applied to each.
CALLS: list[tuple[str, Callable[[Association], Awaitable[Any]], type[DimseResponse]]] = [
    ("mpps.update", lambda a: mpps.update(a, UID, _mods()), NSetResponse),
    ("mpps.complete", lambda a: mpps.complete(a, UID), NSetResponse),
    ("mpps.discontinue", lambda a: mpps.discontinue(a, UID), NSetResponse),
    ("ups.update", lambda a: ups.update(a, UID, _mods(), "1.2.3"), NSetResponse),
    (
        "ups.change_state",
        lambda a: ups.change_state(a, UID, ups.IN_PROGRESS, "1.2.3"),
        NActionResponse,
    ),
    ("ups.request_cancel", lambda a: ups.request_cancel(a, UID, reason="x"), NActionResponse),
    ("ups.subscribe", lambda a: ups.subscribe(a, "WATCHER", UID), NActionResponse),
    ("ups.unsubscribe", lambda a: ups.unsubscribe(a, "WATCHER", UID), NActionResponse),
    ("ups.suspend_global", lambda a: ups.suspend_global(a, "WATCHER"), NActionResponse),
]
IDS = [name for name, _, _ in CALLS]


@pytest.mark.parametrize(("name", "call", "kind"), CALLS, ids=IDS)
@pytest.mark.parametrize("status", [0x0000, 0xB304])
def test_success_and_warning_return_the_typed_response(
    name: str, call: Callable[[Association], Awaitable[Any]], kind: type[DimseResponse], status: int
) -> None:
    rsp, seen = _call(status, call)
    assert isinstance(rsp, kind), name
    assert rsp.status == status
    assert len(seen) == 1  # one request went out and its answer came back


@pytest.mark.parametrize(("name", "call", "kind"), CALLS, ids=IDS)
@pytest.mark.parametrize("status", [0x0110, 0xC307, 0x1234])
def test_failure_raises_dimse_error_with_the_status(
    name: str, call: Callable[[Association], Awaitable[Any]], kind: type[DimseResponse], status: int
) -> None:
    with pytest.raises(DimseError) as failed:
        _call(status, call)
    assert failed.value.status == status, name
    assert f"{status:04X}" in str(failed.value).upper()


def _report(event: int) -> tuple[NEventReportRequest, Dataset | None]:
    msg = NEventReportRequest(
        affected_sop_class_uid=ups.UPS_EVENT, affected_sop_instance_uid=UID, event_type_id=event
    )
    return msg, Dataset()


def _send_reports(status: int) -> tuple[list[NEventReportResponse] | DimseError, list[Any]]:
    seen: list[Any] = []

    async def main() -> list[NEventReportResponse] | DimseError:
        peer = AE("W", handlers=_answering(status, seen), supported=supported_for(SOP_CLASSES))
        async with await peer.serve(0) as listening:
            try:
                return await send_event_report(
                    AE("SCP"),
                    ("127.0.0.1", listening.port),
                    "W",
                    [_report(ups.STATE_REPORT), _report(ups.PROGRESS_REPORT)],
                    abstract_syntax=ups.UPS_EVENT,
                )
            except DimseError as exc:
                return exc

    return asyncio.run(main()), seen


def test_event_reports_give_the_typed_responses() -> None:
    got, seen = _send_reports(0x0000)
    assert isinstance(got, list) and all(isinstance(r, NEventReportResponse) for r in got)
    assert [r.status for r in got] == [0, 0]
    assert [m.event_type_id for m in seen] == [ups.STATE_REPORT, ups.PROGRESS_REPORT]


def test_event_report_failure_raises_after_every_report_is_sent() -> None:
    got, seen = _send_reports(0x0113)
    assert isinstance(got, DimseError) and got.status == 0x0113
    assert len(seen) == 2  # the refusal of the first did not stop the second

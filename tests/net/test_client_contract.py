"""One contract for client calls: success and warning give the typed response, a failure
status raises the typed error (DimseError with the status); both fronts, async and sync."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import run

from dicomkit.errors import DimseError
from dicomkit.net import (
    AE,
    CEchoRequest,
    CEchoResponse,
    Incoming,
    Response,
    SyncAE,
    memory_pair,
)


def _answering(status: int) -> dict[Any, Any]:
    async def echo(incoming: Incoming) -> int:
        return status

    return {CEchoRequest: echo}


async def _echo(status: int) -> CEchoResponse:
    client, server = memory_pair()
    await AE("SCP").serve_transport(server, _answering(status))
    async with AE("SCU").associate("", 0, transport=client) as assoc:
        return await assoc.echo()


@pytest.mark.parametrize("status", [0x0000, 0xB000])
def test_success_and_warning_return_the_typed_response(status: int) -> None:
    rsp = run(_echo(status))
    assert isinstance(rsp, CEchoResponse) and rsp.status == status


@pytest.mark.parametrize("status", [0xC000, 0xA700, 0x0211, 0x1234])
def test_failure_raises_dimse_error_with_the_status(status: int) -> None:
    with pytest.raises(DimseError) as failed:
        run(_echo(status))
    assert failed.value.status == status
    assert str(failed.value).startswith("C-ECHO failed")
    assert f"{status:04X}" in str(failed.value).upper()


def test_raise_for_status_on_a_raw_request() -> None:
    """``request`` is the DIMSE primitive (any status); ``raise_for_status`` applies the
    contract to what it returns."""

    async def main() -> tuple[Response, Response]:
        client, server = memory_pair()
        await AE("SCP").serve_transport(server, _answering(0xC001))
        async with AE("SCU").associate("", 0, transport=client) as assoc:
            rsp = await assoc.request(CEchoRequest())
            with pytest.raises(DimseError) as failed:
                rsp.raise_for_status("verification")
            assert failed.value.status == 0xC001 and "verification failed" in str(failed.value)
            ok = Response(CEchoResponse(message_id_being_responded_to=1, status=0), rsp.context)
            return rsp, ok.raise_for_status()

    rsp, ok = run(main())
    assert rsp.status == 0xC001 and ok.status == 0


def test_sync_front_follows_the_same_contract() -> None:
    with SyncAE("SCP") as scp_side, SyncAE("SCU") as scu_side:
        server = scp_side.serve(0, _answering(0xA700))
        try:
            with scu_side.associate("127.0.0.1", server.port) as assoc:
                with pytest.raises(DimseError) as failed:
                    assoc.echo()
                assert failed.value.status == 0xA700
        finally:
            server.close()
    with SyncAE("SCP") as scp_side, SyncAE("SCU") as scu_side:
        server = scp_side.serve(0)
        try:
            with scu_side.associate("127.0.0.1", server.port) as assoc:
                assert assoc.echo().status == 0
        finally:
            server.close()

"""``move`` / ``get`` print the SCP's Error Comment with the final status."""

from __future__ import annotations

import asyncio

import pytest

from dicomkit.cli._move import report
from dicomkit.errors import DimseError
from dicomkit.net import AE, Incoming
from dicomkit.net._memory import memory_pair
from dicomkit.net.proto import _dimse as dimse
from dicomkit.services import _query_retrieve as qr


def test_report_shows_the_comment(capsys: pytest.CaptureFixture[str]) -> None:
    result = qr.RetrieveResult(status=0xA801, error_comment="unknown move destination")
    assert report("C-MOVE to X", result) == 1
    out = capsys.readouterr().out
    assert "0xA801" in out and "the SCP says: unknown move destination" in out


def test_move_result_carries_the_final_comment() -> None:
    def refuse(incoming: Incoming) -> dimse.CMoveResponse:
        return dimse.CMoveResponse(
            message_id_being_responded_to=incoming.message.message_id,
            status=0xA801,
            error_comment="destination NOWHERE is not configured on this node",
        )

    async def main() -> tuple[int, str]:
        client, server = memory_pair()
        sop = qr.MOVE[qr.Model.STUDY_ROOT]
        scp = AE("SCP", supported={sop: ["1.2.840.10008.1.2"]})
        task = asyncio.ensure_future(scp.serve_transport(server, {dimse.CMoveRequest: refuse}))
        assoc = await AE("SCU").associate("", 0, transport=client, contexts=[sop])
        await task
        query = qr.identifier("STUDY", {"StudyInstanceUID": "1.2.3"})
        try:  # the final failure status: a result, or (the client contract) DimseError
            result = await qr.move(assoc, query, "NOWHERE")
            status, comment = result.status, result.error_comment
        except DimseError as exc:
            status, comment = exc.status or 0, exc.error_comment
        await assoc.release()
        return status, comment

    status, comment = asyncio.run(asyncio.wait_for(main(), 20))
    assert status == 0xA801
    assert comment == "destination NOWHERE is not configured on this node"

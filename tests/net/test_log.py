"""Rejections and aborts in words (PS3.8 Tables 9-21 and 9-26) and the protocol log."""

from __future__ import annotations

import asyncio
import logging

import pytest
from helpers import run

from dicomkit.core._dataset import Dataset
from dicomkit.errors import AssociationAborted, AssociationRejected
from dicomkit.net import AE, AEConfig, Incoming
from dicomkit.net import _log as netlog
from dicomkit.net._memory import memory_pair
from dicomkit.net.proto import _dimse as dimse

LE = ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2"]
PRINTER = "1.2.840.10008.5.1.1.16"


@pytest.mark.parametrize(
    ("rj", "words"),
    [
        ((1, 1, 3), "rejected (permanent) by the service user: calling AE title not recognized"),
        ((1, 1, 7), "rejected (permanent) by the service user: called AE title not recognized"),
        ((1, 1, 2), "by the service user: application context name not supported"),
        ((1, 2, 2), "by the service provider (ACSE): protocol version not supported"),
        ((2, 3, 1), "rejected (transient) by the service provider (presentation): temporary"),
        ((2, 3, 2), "(presentation): local limit exceeded"),
        ((1, 1, 5), "reason 5 (reserved)"),
    ],
)
def test_reject_words(rj: tuple[int, int, int], words: str) -> None:
    assert words in netlog.reject_words(*rj)


def test_reject_hint_says_what_to_change() -> None:
    assert "--aec" in netlog.reject_words(1, 1, 7, hint=True)
    assert "--aet" in netlog.reject_words(1, 1, 3, hint=True)
    assert "--aec" not in netlog.reject_words(1, 1, 7)


def test_abort_words() -> None:
    assert netlog.abort_words(0, 0) == "aborted by the service user"
    assert netlog.abort_words(2, 2) == "aborted by the service provider: unexpected PDU"
    assert netlog.abort_words(2, 6).endswith("invalid PDU parameter value")
    assert netlog.abort_words(0, 5) == "aborted by the service user"  # not significant


def test_rejection_exception_and_log_in_words(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        client, server = memory_pair()
        scp = AE("REAL", supported={PRINTER: LE}, config=AEConfig(require_called_aet=True))
        task = asyncio.ensure_future(scp.serve_transport(server))
        with pytest.raises(AssociationRejected) as info:
            await AE("SCU").associate("", 0, transport=client, contexts=[PRINTER], ae_title="WRONG")
        assert "rejected (permanent) by the service user: called AE title not recognized" in str(
            info.value
        )
        assert "result 1" not in str(info.value)
        assert (info.value.result, info.value.source, info.value.reason) == (1, 1, 7)
        await task

    with caplog.at_level(logging.INFO, logger="dicomkit"):
        run(main())
    scp_lines = [r.getMessage() for r in caplog.records if "SCU -> WRONG" in r.getMessage()]
    assert any("called AE title not recognized" in m for m in scp_lines), scp_lines
    # the requestor's log names the source the A-ASSOCIATE-RJ gives (the peer's user here)
    scu = [
        r
        for r in caplog.records
        if r.getMessage().endswith(
            "association rejected (permanent) by the service user: called AE title not recognized"
        )
    ]
    assert scu and scu[0].levelno == logging.INFO


def test_abort_from_peer_in_words() -> None:
    async def main() -> None:
        client, server = memory_pair()
        scp = AE("SCP", supported={PRINTER: LE})
        server_assoc_task = asyncio.ensure_future(scp.serve_transport(server))
        assoc = await AE("SCU").associate("", 0, transport=client, contexts=[PRINTER])
        server_assoc = await server_assoc_task
        await server_assoc.abort()
        await assoc.wait_closed()
        assert isinstance(assoc.error, AssociationAborted)
        assert "aborted by the service user" in str(assoc.error)
        assert "source 0" not in str(assoc.error)

    run(main())


def test_protocol_log_at_info_and_datasets_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    async def n_get(incoming: Incoming) -> tuple[int, Dataset]:
        ds = Dataset()
        ds.PatientName = "LOG^TEST"
        return 0, ds

    async def main() -> None:
        client, server = memory_pair()
        scp = AE("SCP", supported={PRINTER: LE})
        task = asyncio.ensure_future(scp.serve_transport(server, {dimse.NGetRequest: n_get}))
        assoc = await AE("SCU").associate("", 0, transport=client, contexts=[PRINTER])
        await task
        await assoc.request(
            dimse.NGetRequest(
                requested_sop_class_uid=PRINTER, requested_sop_instance_uid="1.2.840.10008.5.1.1.17"
            )
        )
        await assoc.release()

    with caplog.at_level(logging.DEBUG, logger="dicomkit.net"):
        run(main())
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "sending A-ASSOCIATE-RQ SCU -> ANY-SCP" in text
    assert "context 1: Printer SOP Class (1.2.840.10008.5.1.1.16)" in text
    assert "transfer syntax Implicit VR Little Endian (1.2.840.10008.1.2)" in text
    assert "1 of 1 contexts accepted" in text
    assert "sent N-GET-RQ id 1 on context 1: requested SOP class Printer SOP Class" in text
    assert "received N-GET-RSP (response to 1) on context 1: status 0x0000" in text
    dumps = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert any("PatientName: 'LOG^TEST'" in m for m in dumps), dumps
    pdu_records = [r for r in caplog.records if r.name == "dicomkit.net.pdu"]
    assert pdu_records and all(r.levelno == logging.INFO for r in pdu_records)


def test_nothing_formatted_when_the_log_is_off(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(netlog, "describe_message", lambda *a, **k: calls.append("m") or "")
    monkeypatch.setattr(netlog, "describe_rq", lambda *a, **k: calls.append("rq") or "")

    async def main() -> None:
        client, server = memory_pair()
        task = asyncio.ensure_future(AE("SCP", supported={PRINTER: LE}).serve_transport(server))
        assoc = await AE("SCU").associate("", 0, transport=client, contexts=[PRINTER])
        await task
        await assoc.release()

    logging.getLogger("dicomkit.net").setLevel(logging.WARNING)
    try:
        run(main())
    finally:
        logging.getLogger("dicomkit.net").setLevel(logging.NOTSET)
    assert calls == []


def test_user_identity_passcode_never_logged() -> None:
    from dicomkit.net.proto._items import UserIdentityRQItem, UserInformationItem
    from dicomkit.net.proto._pdu import AAssociateRQ

    rq = AAssociateRQ(
        "SCP",
        "SCU",
        (),
        UserInformationItem((UserIdentityRQItem(2, b"alice", b"s3cret", True),)),
    )
    text = netlog.describe_rq(rq)
    assert "username and passcode 'alice'" in text and "s3cret" not in text

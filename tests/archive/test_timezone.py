"""Timezone query adjustment (archive._timezone), offered by the node through extended
negotiation (PS3.4 C.5.1.1.1 byte 4): the date/time keys of a query that carries Timezone
Offset From UTC are moved into the node's timezone before matching; pynetdicom as the SCU,
and ``dicomkit find --timezone-adjust``."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from archive_helpers import cli, to_dataset
from peers import require_module

from dicomkit.archive import _timezone
from dicomkit.archive._app import ArchiveNode
from dicomkit.archive._config import NodeConfig

STUDY_FIND = "1.2.840.10008.5.1.4.1.2.2.1"
ROOT = "1.2.826.0.1.3680043.8.498.77"
NODE_OFFSET = 60  # minutes east of UTC: the node runs at +0100 in these tests

#: (StudyDate, StudyTime) of the stored studies, in the node's timezone
STUDIES = [
    ("20240310", "003000"),
    ("20240310", "090000"),
    ("20240309", "233000"),
    ("20240309", "043000"),
    ("20240310", "055959"),
    ("20240311", ""),
    ("20240308", "120000"),
]


def _rows() -> list[dict[str, Any]]:
    rows = []
    for i, (date, time) in enumerate(STUDIES):
        rows.append(
            {
                "PatientName": f"TZ^{i}",
                "PatientID": f"TZ{i}",
                "StudyInstanceUID": f"{ROOT}.{i}",
                "StudyDate": date,
                "StudyTime": time,
                "SeriesInstanceUID": f"{ROOT}.{i}.1",
                "Modality": "CT",
                "SOPClassUID": "1.2.840.10008.5.1.4.1.1.2",
                "SOPInstanceUID": f"{ROOT}.{i}.1.1",
            }
        )
    return rows


def _expected(day: str, query_offset: int) -> set[str]:
    """The studies whose moment lies in ``day`` of the query's timezone (the node stores local
    times at NODE_OFFSET); a study with no time matches on its date within the moved range."""
    start = dt.datetime.strptime(day, "%Y%m%d") + dt.timedelta(minutes=NODE_OFFSET - query_offset)
    end = start + dt.timedelta(days=1)
    out = set()
    for i, (date, time) in enumerate(STUDIES):
        if time:
            moment = dt.datetime.strptime(date + time, "%Y%m%d%H%M%S")
            if start <= moment < end:
                out.add(f"{ROOT}.{i}")
        elif start.strftime("%Y%m%d") <= date <= (end - dt.timedelta(seconds=1)).strftime("%Y%m%d"):
            out.add(f"{ROOT}.{i}")
    return out


def _run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: Any) -> Any:
    monkeypatch.setattr(_timezone, "node_offset", lambda: NODE_OFFSET)
    got: dict[str, Any] = {}

    async def main() -> None:
        node = ArchiveNode(NodeConfig(archive=tmp_path / "a", host="127.0.0.1", port=0))
        for row in _rows():
            node.archive.store_dataset(to_dataset(row))
        server = await node.start()
        try:
            got["value"] = await asyncio.to_thread(body, server.port)
        finally:
            await server.close()
            await node.hosted.stop()
            node.archive.close()

    asyncio.run(asyncio.wait_for(main(), 60))
    return got["value"]


def test_shift_crosses_month_and_fills_short_months() -> None:
    assert _timezone.shift("20240229230000.000000", 120) == "20240301010000.000000"
    # an upper bound "202402" is filled to the 31st: read as the month's last day
    assert _timezone.shift("20240231235959.999999", 0) == "20240229235959.999999"
    assert _timezone.parse_offset("-0530") == -330
    assert _timezone.parse_offset("+0100") == 60
    assert _timezone.parse_offset("0100") is None


@pytest.mark.interop
def test_pynetdicom_timezone_adjusted_study_date(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pynetdicom = require_module("pynetdicom")
    from pydicom.dataset import Dataset as PDataset
    from pynetdicom.pdu_primitives import SOPClassExtendedNegotiation

    def find(port: int, adjust: bool, offset: str) -> tuple[bytes, set[str]]:
        ae = pynetdicom.AE(ae_title="PYSCU")
        ae.add_requested_context(STUDY_FIND)
        ext = []
        if adjust:
            item = SOPClassExtendedNegotiation()
            item.sop_class_uid = STUDY_FIND
            item.service_class_application_information = b"\x00\x00\x00\x01"
            ext = [item]
        assoc = ae.associate("127.0.0.1", port, ae_title="DICOMKIT", ext_neg=ext)
        assert assoc.is_established
        try:
            agreed = b""
            for neg in assoc.acceptor.extended_negotiation or []:
                agreed = bytes(neg.service_class_application_information)
            q = PDataset()
            q.QueryRetrieveLevel = "STUDY"
            q.StudyDate = "20240309"
            q.StudyTime = ""
            q.TimezoneOffsetFromUTC = offset
            q.StudyInstanceUID = ""
            found = set()
            statuses = []
            for status, ds in assoc.send_c_find(q, STUDY_FIND):
                statuses.append(status.Status if status else None)
                if status and status.Status in (0xFF00, 0xFF01):
                    found.add(str(ds.StudyInstanceUID))
            assert statuses[-1] == 0x0000, statuses
            return agreed, found
        finally:
            assoc.release()

    def body(port: int) -> tuple[Any, ...]:
        return find(port, True, "-0500"), find(port, True, "+0900"), find(port, False, "-0500")

    (agreed, west), (_, east), (_, plain) = _run(tmp_path, monkeypatch, body)
    assert agreed[3:4] == b"\x01"  # the node accepted byte 4
    assert west == _expected("20240309", -300)
    assert east == _expected("20240309", 540)
    assert west != east
    # without the negotiation the date is matched as given, in the node's timezone
    assert plain == {f"{ROOT}.{i}" for i, (d, _) in enumerate(STUDIES) if d == "20240309"}


def test_find_cli_timezone_adjust(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def body(port: int) -> tuple[Any, Any]:
        base = ("find", "127.0.0.1", str(port), "--aec", "DICOMKIT", "-L", "STUDY")
        keys = ("-k", "StudyDate=20240309-20240309", "-k", "TimezoneOffsetFromUTC=-0500")
        adjusted = cli(*base, *keys, "--timezone-adjust")
        plain = cli(*base, *keys)
        return adjusted, plain

    (code, text, err), (code2, text2, err2) = _run(tmp_path, monkeypatch, body)
    assert code == 0 and code2 == 0, err + err2
    want = _expected("20240309", -300)
    assert want and _uids(text) == want
    plain_want = {f"{ROOT}.{i}" for i, (d, _) in enumerate(STUDIES) if d == "20240309"}
    assert plain_want != want
    assert _uids(text2) == plain_want


def _uids(text: str) -> set[str]:
    return {word for word in text.split() if word.startswith(ROOT + ".")}

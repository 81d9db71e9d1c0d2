"""Fuzzy semantic matching of person names (archive._fuzzy), offered by the node through
extended negotiation (PS3.4 C.5.1.1.1 byte 3): a pynetdicom SCU that asks for it gets the
names its words match, one that does not gets exact matching; ``dicomkit find --fuzzy``."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from archive_helpers import cli, synthetic, to_dataset
from peers import require_module

from dicomkit.archive._app import ArchiveNode
from dicomkit.archive._config import NodeConfig
from dicomkit.archive._fuzzy import fuzzy_pattern

STUDY_FIND = "1.2.840.10008.5.1.4.1.2.2.1"


def test_fuzzy_pattern() -> None:
    assert fuzzy_pattern("doe john") == "*doe*john*"
    assert fuzzy_pattern("DOE^JOHN") == "*DOE*JOHN*"
    assert fuzzy_pattern("Yamada=山田") == "*Yamada*山田*"
    assert fuzzy_pattern("DOE*") == "DOE*"  # wildcards keep their meaning
    assert fuzzy_pattern("^ ") == "^ "


def _run(tmp_path: Path, body: Any) -> Any:
    got: dict[str, Any] = {}

    async def main() -> None:
        node = ArchiveNode(NodeConfig(archive=tmp_path / "a", host="127.0.0.1", port=0))
        for row in synthetic(8):
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


def _want(words: list[str]) -> set[str]:
    out = set()
    for row in synthetic(8):
        name = row["PatientName"].upper()
        pos = 0
        for w in words:
            pos = name.find(w.upper(), pos)
            if pos < 0:
                break
            pos += len(w)
        else:
            out.add(row["StudyInstanceUID"])
    return out


@pytest.mark.interop
def test_pynetdicom_fuzzy_person_name_matching(tmp_path: Path) -> None:
    pynetdicom = require_module("pynetdicom")
    from pydicom.dataset import Dataset as PDataset
    from pynetdicom.pdu_primitives import SOPClassExtendedNegotiation

    def find(port: int, fuzzy: bool) -> tuple[bytes, set[str]]:
        ae = pynetdicom.AE(ae_title="PYSCU")
        ae.add_requested_context(STUDY_FIND)
        ext = []
        if fuzzy:
            item = SOPClassExtendedNegotiation()
            item.sop_class_uid = STUDY_FIND
            item.service_class_application_information = b"\x00\x00\x01"
            ext = [item]
        assoc = ae.associate("127.0.0.1", port, ae_title="DICOMKIT", ext_neg=ext)
        assert assoc.is_established
        try:
            agreed = b""
            for neg in assoc.acceptor.extended_negotiation or []:
                agreed = bytes(neg.service_class_application_information)
            q = PDataset()
            q.QueryRetrieveLevel = "STUDY"
            q.PatientName = "doe j"
            q.StudyInstanceUID = ""
            found = set()
            for status, ds in assoc.send_c_find(q, STUDY_FIND):
                if status and status.Status in (0xFF00, 0xFF01):
                    found.add(str(ds.StudyInstanceUID))
            return agreed, found
        finally:
            assoc.release()

    def body(port: int) -> tuple[Any, Any]:
        return find(port, True), find(port, False)

    (agreed, fuzzy_found), (_, exact_found) = _run(tmp_path, body)
    assert agreed[2:3] == b"\x01"  # the node accepted byte 3
    want = _want(["doe", "j"])
    assert want and fuzzy_found == want  # DOE^JOHN, DOE^JANE, Doe^Jim
    assert exact_found == set()  # "doe j" is no stored name


def test_find_cli_fuzzy(tmp_path: Path) -> None:
    def body(port: int) -> tuple[Any, Any]:
        base = ("find", "127.0.0.1", str(port), "--aec", "DICOMKIT", "-L", "STUDY")
        fuzzy = cli(*base, "-k", "PatientName=smith ann", "-k", "StudyInstanceUID=", "--fuzzy")
        exact = cli(*base, "-k", "PatientName=smith ann", "-k", "StudyInstanceUID=")
        return fuzzy, exact

    (code, text, err), (code2, text2, _) = _run(tmp_path, body)
    assert code == 0 and code2 == 0, err
    want = _want(["smith", "ann"])
    assert want
    assert all(uid in text for uid in want)
    assert not any(uid in text2 for uid in want)

"""DICOMweb requests are audited (PS3.15 A.5.3) with the web user as the requesting active
participant: QIDO-RS -> Query, WADO-RS -> Begin Transferring + Instances Transferred (R),
STOW-RS -> Instances Transferred (C), DELETE -> Study Deleted; every message valid against
the standard's schema."""

from __future__ import annotations

import base64
import io
import sys
import threading
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

import dicomkit
from dicomkit.archive._audit import AuditMessage, AuditSource
from dicomkit.archive._node import Archive
from dicomkit.archive._web_settings import check_web
from dicomkit.dictionary import uids

sys.path.insert(0, str(Path(__file__).parent.parent / "archive"))
from archive_helpers import ROOT, synthetic, to_dataset
from web_helpers import serve_archive

SCHEMA = Path(__file__).parent.parent / "archive" / "data" / "audit-message.rnc"
TOKEN = "audit-token-0123456789abcdef"
WEB = {
    "allow_delete": True,
    "users": {"pipeline": {"token": TOKEN, "permissions": ["read", "store", "delete"]}},
}


class Trail:
    """Collects messages as the node's AuditTrail would send them."""

    enabled = True

    def __init__(self) -> None:
        self.messages: list[AuditMessage] = []
        self.lock = threading.Lock()

    def emit(self, message: AuditMessage) -> None:
        with self.lock:
            self.messages.append(message)

    def take(self) -> list[ET.Element]:
        with self.lock:
            out, self.messages = self.messages, []
        return [ET.fromstring(m.to_xml(AuditSource("DICOMKIT"))) for m in out]


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Archive, Trail]]:
    archive = Archive(tmp_path_factory.mktemp("web-audit"))
    for row in synthetic(2):
        archive.store_dataset(to_dataset(row, pixels=True))
    trail = Trail()
    with serve_archive(archive, settings=check_web(WEB), audit=trail, retrieve_aet="ARCH") as port:
        yield f"http://127.0.0.1:{port}/dicom-web", archive, trail
    archive.close()


@pytest.fixture(scope="module")
def schema() -> Any:
    import rnc2rng
    from lxml import etree

    rng = rnc2rng.dumps(rnc2rng.load(str(SCHEMA)))
    return etree.RelaxNG(etree.fromstring(rng.encode()))


def _check(schema: Any, root: ET.Element, event_id: str) -> None:
    from lxml import etree

    assert schema.validate(etree.fromstring(ET.tostring(root))), schema.error_log
    assert root.find("EventIdentification/EventID").get("csd-code") == event_id  # type: ignore[union-attr]
    users = {p.get("UserID"): p.get("UserIsRequestor") for p in root.iter("ActiveParticipant")}
    assert users["pipeline"] == "true"  # the web user asked
    assert users["ARCH"] == "false"  # the node answered


def _studies(root: ET.Element) -> set[str]:
    return {
        str(o.get("ParticipantObjectID"))
        for o in root.iter("ParticipantObjectIdentification")
        if o.find("ParticipantObjectIDTypeCode").get("csd-code") == "110180"  # type: ignore[union-attr]
    }


HEADERS = {"Authorization": f"Bearer {TOKEN}"}


def test_qido_is_a_query_with_the_url(node: Any, schema: Any) -> None:
    url, _archive, trail = node
    trail.take()
    r = requests.get(f"{url}/studies?PatientID=PID000", headers=HEADERS, timeout=30)
    assert r.status_code == 200
    (msg,) = trail.take()
    _check(schema, msg, "110112")
    obj = msg.find("ParticipantObjectIdentification")
    assert obj is not None
    assert obj.get("ParticipantObjectID") == uids.StudyRootQueryRetrieveInformationModelFind
    query = base64.b64decode(obj.findtext("ParticipantObjectQuery") or "")
    assert query == b"/dicom-web/studies?PatientID=PID000"
    bad = requests.get(f"{url}/studies?limit=-1", headers=HEADERS, timeout=30)
    assert bad.status_code == 400
    (failed,) = trail.take()
    assert failed.find("EventIdentification").get("EventOutcomeIndicator") == "4"  # type: ignore[union-attr]


def test_wado_is_begin_transferring_then_transferred(node: Any, schema: Any) -> None:
    url, archive, trail = node
    study = next(iter(archive.find({"QueryRetrieveLevel": "STUDY", "StudyInstanceUID": ""})))
    uid = study.as_dict()["StudyInstanceUID"]
    trail.take()
    r = requests.get(
        f"{url}/studies/{uid}",
        headers={**HEADERS, "Accept": 'multipart/related; type="application/dicom"'},
        timeout=30,
    )
    assert r.status_code == 200
    begin, sent = trail.take()
    _check(schema, begin, "110102")
    _check(schema, sent, "110104")
    assert sent.find("EventIdentification").get("EventActionCode") == "R"  # type: ignore[union-attr]
    assert _studies(begin) == _studies(sent) == {uid}


def test_stow_then_delete(node: Any, schema: Any) -> None:
    url, _archive, trail = node
    row = synthetic(1)[0]
    for k in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
        row[k] = row[k].replace(ROOT, f"{ROOT}.77")
    buf = io.BytesIO()
    dicomkit.write(to_dataset(row, pixels=True), buf)
    boundary = uuid.uuid4().hex
    body = (
        f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode()
        + buf.getvalue()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    ctype = f'multipart/related; type="application/dicom"; boundary={boundary}'
    trail.take()
    r = requests.post(
        f"{url}/studies", data=body, headers={**HEADERS, "Content-Type": ctype}, timeout=30
    )
    assert r.status_code == 200, r.text
    (stored,) = trail.take()
    _check(schema, stored, "110104")
    assert stored.find("EventIdentification").get("EventActionCode") == "C"  # type: ignore[union-attr]
    assert _studies(stored) == {row["StudyInstanceUID"]}
    r = requests.delete(f"{url}/studies/{row['StudyInstanceUID']}", headers=HEADERS, timeout=30)
    assert r.status_code == 204
    (deleted,) = trail.take()
    from lxml import etree

    assert schema.validate(etree.fromstring(ET.tostring(deleted))), schema.error_log
    assert deleted.find("EventIdentification/EventID").get("csd-code") == "110105"  # type: ignore[union-attr]
    (who,) = deleted.iter("ActiveParticipant")
    assert who.get("UserID") == "pipeline" and who.get("UserIsRequestor") == "true"
    assert _studies(deleted) == {row["StudyInstanceUID"]}


def test_queries_off_and_no_trail_emit_nothing() -> None:
    from types import SimpleNamespace

    from dicomkit.web._audit import WebAudit

    request = SimpleNamespace(
        scope={}, client=None, url=SimpleNamespace(path="/dicom-web/studies", query="")
    )
    trail = Trail()
    WebAudit(trail, "ARCH", queries=False).query(request)
    assert trail.take() == []
    WebAudit(trail, "ARCH").query(request)
    (msg,) = trail.take()
    users = [p.get("UserID") for p in msg.iter("ActiveParticipant")]
    assert users == ["anonymous", "ARCH"]
    assert not WebAudit(None, "ARCH").enabled


def _wait_for(trail: Trail, count: int) -> list[ET.Element]:
    """The next ``count`` messages (metadata and thumbnails are audited in the background)."""
    import time

    got: list[ET.Element] = []
    deadline = time.monotonic() + 20
    while len(got) < count and time.monotonic() < deadline:
        got += trail.take()
        time.sleep(0.02)
    return got


def test_partial_retrieves_are_one_transferred_each(node: Any, schema: Any) -> None:
    """Metadata, frames, rendered, thumbnail, bulkdata and WADO-URI: one Instances
    Transferred (R) per request naming the study (WADO-URI application/dicom also a Begin
    Transferring), however many frames were asked for."""
    url, archive, trail = node
    from dicomkit.web._wado import find_instances

    row = next(iter(archive.find({"QueryRetrieveLevel": "STUDY", "StudyInstanceUID": ""})))
    (inst, *_rest) = find_instances(archive, row.as_dict()["StudyInstanceUID"])
    study, series, sop = inst.study_instance_uid, inst.series_instance_uid, inst.sop_instance_uid
    base = f"{url}/studies/{study}/series/{series}/instances/{sop}"
    host = url.removesuffix("/dicom-web")
    wado_uri = f"{host}/wado?requestType=WADO&studyUID={study}&seriesUID={series}&objectUID={sop}"
    asks = {
        "WADO-RS metadata": (f"{url}/studies/{study}/metadata", {}),
        "WADO-RS frames": (f"{base}/frames/1,1,1", {}),
        "WADO-RS rendered": (f"{base}/rendered", {"Accept": "image/png"}),
        "WADO-RS thumbnail": (f"{url}/studies/{study}/thumbnail", {}),
        "WADO-RS bulkdata": (f"{base}/bulkdata/7FE00010", {}),
        "WADO-URI rendered": (wado_uri, {}),
    }
    trail.take()
    for description, (target, headers) in asks.items():
        r = requests.get(target, headers={**HEADERS, **headers}, timeout=30)
        assert r.status_code == 200, (description, r.text)
        (msg,) = _wait_for(trail, 1)
        _check(schema, msg, "110104")
        assert msg.find("EventIdentification").get("EventActionCode") == "R"  # type: ignore[union-attr]
        assert msg.findtext("EventIdentification/EventOutcomeDescription") == description
        assert _studies(msg) == {study}
    r = requests.get(wado_uri + "&contentType=application/dicom", headers=HEADERS, timeout=30)
    assert r.status_code == 200
    begin, sent = _wait_for(trail, 2)
    _check(schema, begin, "110102")
    _check(schema, sent, "110104")
    assert _studies(sent) == {study}
    # a refused request is not a transfer
    r = requests.get(f"{base}/frames/99", headers=HEADERS, timeout=30)
    assert r.status_code == 404
    assert trail.take() == []

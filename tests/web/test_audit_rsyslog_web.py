"""The audit of partial DICOMweb retrieves reaches a real collector: `dicomkit serve` with
``[audit] syslog`` pointing at Debian's rsyslogd (UDP), a bearer-token web user, then one
request each for metadata, frames (three at once), rendered, thumbnail, bulkdata and WADO-URI
(a picture and the object): what rsyslog received is one DICOM Instances Transferred (R) per
request, naming the resource, the web user as requestor and the study."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "archive"))
from archive_helpers import serving, synthetic, to_dataset
from peers import free_ports, stop
from syslog_peer import event_ids, messages, received, rsyslog

import dicomkit
from dicomkit.web import WebClient

pytestmark = [pytest.mark.interop, pytest.mark.slow]

TOKEN = "rsyslog-web-token-0123456789"


def test_partial_retrieves_reach_rsyslog(tmp_path: Path) -> None:
    row = synthetic(1)[0]
    buf = io.BytesIO()
    dicomkit.write(to_dataset(row, pixels=True), buf)
    study, series, sop = row["StudyInstanceUID"], row["SeriesInstanceUID"], row["SOPInstanceUID"]
    with rsyslog(tmp_path / "syslog") as ports:
        config = tmp_path / "node.toml"
        config.write_text(
            f'[audit]\nsyslog = "udp://127.0.0.1:{ports["udp"]}"\nqueries = false\n'
            f'[web.users.robot]\ntoken = "{TOKEN}"\npermissions = ["read", "store"]\n',
            encoding="utf-8",
        )
        http, dimse = free_ports(2)
        # serving() returns once the node says it serves, DICOMweb included
        with serving(
            tmp_path / "arch", dimse, "--config", str(config), "--http-port", str(http)
        ) as proc:
            root = f"http://127.0.0.1:{http}"
            WebClient(root + "/dicom-web", token=TOKEN).store([buf.getvalue()])
            headers = {"Authorization": f"Bearer {TOKEN}"}
            base = f"{root}/dicom-web/studies/{study}/series/{series}/instances/{sop}"
            uri = (
                f"{root}/wado?requestType=WADO&studyUID={study}&seriesUID={series}&objectUID={sop}"
            )
            asks = [
                (f"{root}/dicom-web/studies/{study}/metadata", "WADO-RS metadata"),
                (f"{base}/frames/1,1,1", "WADO-RS frames"),
                (f"{base}/rendered", "WADO-RS rendered"),
                (
                    f"{root}/dicom-web/studies/{study}/series/{series}/thumbnail",
                    "WADO-RS thumbnail",
                ),
                (f"{base}/bulkdata/7FE00010", "WADO-RS bulkdata"),
                (uri, "WADO-URI rendered"),
                (uri + "&contentType=application/dicom", "WADO-URI"),
            ]
            for target, _what in asks:
                r = requests.get(target, headers=headers, timeout=30)
                assert r.status_code == 200, (target, r.text)
            _out, err = stop(proc, timeout=15)
        # start, the STOW, 6 partial retrieves, Begin + Transferred of WADO-URI, stop
        rows = received(tmp_path / "syslog", 11)
    assert "Traceback" not in err
    ids = event_ids(rows)
    assert ids[0] == ids[-1] == "110100" and ids.count("110102") == 1
    sent = [
        m
        for m in messages(rows)
        if m.find("EventIdentification/EventID").get("csd-code") == "110104"  # type: ignore[union-attr]
        and m.find("EventIdentification").get("EventActionCode") == "R"  # type: ignore[union-attr]
    ]
    described = sorted(str(m.findtext("EventIdentification/EventOutcomeDescription")) for m in sent)
    assert described == sorted(what for _t, what in asks)  # one message per request
    for m in sent:
        users = {p.get("UserID"): p.get("UserIsRequestor") for p in m.iter("ActiveParticipant")}
        assert users["robot"] == "true"
        studies = {
            o.get("ParticipantObjectID")
            for o in m.iter("ParticipantObjectIdentification")
            if o.find("ParticipantObjectIDTypeCode").get("csd-code") == "110180"  # type: ignore[union-attr]
        }
        assert studies == {study}

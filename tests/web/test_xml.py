"""QIDO-RS answers as XML (PS3.19 Native DICOM Model, multipart/related): the same
results as the JSON answer, read back with our own Native DICOM Model reader."""

from __future__ import annotations

import email.parser
import email.policy
from typing import Any

import requests

from dicomkit.io import from_json, from_xml
from dicomkit.web._xml import native_model

XML = 'multipart/related; type="application/dicom+xml"'


def _xml_parts(resp: requests.Response) -> list[bytes]:
    assert resp.status_code == 200, resp.text
    head = f"Content-Type: {resp.headers['content-type']}\r\n\r\n".encode()
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + resp.content)
    parts = list(msg.iter_parts())
    assert all(p.get_content_type() == "application/dicom+xml" for p in parts)
    return [bytes(p.get_payload(decode=True) or b"") for p in parts]


def test_xml_search_equals_json_search(served: Any) -> None:
    for path in ("/studies", "/series", "/instances"):
        params = {"PatientName": "DOE*", "includefield": "StudyDescription"}
        js = requests.get(served.url + path, params=params, timeout=30).json()
        xml = _xml_parts(
            requests.get(served.url + path, params=params, headers={"Accept": XML}, timeout=30)
        )
        assert len(xml) == len(js) > 0
        for x, j in zip(xml, js, strict=True):
            a, b = from_xml(x.decode()), from_json(j)
            assert [int(t) for t in a] == [int(t) for t in b]
            assert str(a.PatientName) == str(b.PatientName)
            assert str(a.StudyInstanceUID) == str(b.StudyInstanceUID)
            assert str(a.RetrieveURL) == str(b.RetrieveURL)


def test_xml_of_names_sequences_and_bulk_data() -> None:
    obj = {
        "00100010": {
            "vr": "PN",
            "Value": [{"Alphabetic": "YAMADA^TARO", "Ideographic": "山田^太郎"}],
        },
        "00081199": {
            "vr": "SQ",
            "Value": [{"00081155": {"vr": "UI", "Value": ["1.2.3"]}}],
        },
        "00280010": {"vr": "US", "Value": [512]},
        "7FE00010": {"vr": "OW", "BulkDataURI": "http://h:1/x/bulkdata/7FE00010"},
        "00091010": {"vr": "LO", "Value": ["private <&> text"]},
        "00090010": {"vr": "LO", "Value": ["ACME"]},
    }
    text = native_model(obj).decode()
    assert 'privateCreator="ACME"' in text and "&lt;&amp;&gt;" in text
    assert '<BulkData uri="http://h:1/x/bulkdata/7FE00010"/>' in text
    ds = from_xml(text)
    assert str(ds.PatientName) == "YAMADA^TARO=山田^太郎"
    assert str(ds.ReferencedSOPSequence[0].ReferencedSOPInstanceUID) == "1.2.3"
    assert int(ds.Rows) == 512

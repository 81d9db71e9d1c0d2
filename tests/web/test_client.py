"""dicomkit.web.WebClient and `dicomkit web find|get|store` against our server."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

import dicomkit
from dicomkit.web._client import WebClient, WebClientError

sys.path.insert(0, str(Path(__file__).parent.parent / "archive"))
from archive_helpers import ROOT, cli, synthetic, to_dataset


def test_search_matches_the_rows(served: Any) -> None:
    client = WebClient(served.url)
    got = client.search("studies", {"PatientName": "doe*"})
    want = {r["StudyInstanceUID"] for r in served.rows if r["PatientName"].upper()[:3] == "DOE"}
    assert {str(d.StudyInstanceUID) for d in got} == want and want
    r0 = served.rows[0]
    inst = client.search("instances", study=r0["StudyInstanceUID"], includefield=["all"])
    assert {str(d.SOPInstanceUID) for d in inst} == {
        r["SOPInstanceUID"] for r in served.rows if r["StudyInstanceUID"] == r0["StudyInstanceUID"]
    }
    assert len(client.search("instances", limit=3)) == 3


def test_retrieve_gives_the_stored_files(served: Any) -> None:
    r0 = served.rows[0]
    files = WebClient(served.url).retrieve(r0["StudyInstanceUID"], r0["SeriesInstanceUID"])
    stored = {
        served.archive.path_of(i).read_bytes()
        for i in served.archive.retrieve(
            {
                "QueryRetrieveLevel": "SERIES",
                "StudyInstanceUID": r0["StudyInstanceUID"],
                "SeriesInstanceUID": r0["SeriesInstanceUID"],
            }
        )
    }
    assert set(files) == stored and stored


def test_errors_say_what_happened(served: Any) -> None:
    with pytest.raises(WebClientError, match="HTTP 404") as info:
        WebClient(served.url).retrieve("1.2.3.4.5")
    assert info.value.status == 404
    with pytest.raises(WebClientError, match="unknown attribute"):
        WebClient(served.url).search("studies", {"NoSuchThing": "1"})
    with pytest.raises(WebClientError, match="cannot reach"):
        WebClient("http://127.0.0.1:9/dicom-web", timeout=5).search()


def test_cli_store_find_get(served: Any, tmp_path: Path) -> None:
    rows = synthetic(1)
    for r in rows:
        for k in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
            r[k] = r[k].replace(ROOT, f"{ROOT}.7")
        r["PatientID"] = "CLIWEB"
    src = tmp_path / "src"
    src.mkdir()
    for i, r in enumerate(rows):
        buf = io.BytesIO()
        dicomkit.write(to_dataset(r, pixels=True), buf)
        (src / f"{i}.dcm").write_bytes(buf.getvalue())
    code, _out, err = cli("web", "store", served.url, str(src))
    assert code == 0, err
    assert f"{len(rows)} stored" in err
    code, out, err = cli("web", "find", served.url, "-L", "instances", "-k", "PatientID=CLIWEB")
    assert code == 0, err
    found = [json.loads(line) for line in out.splitlines()]
    assert {o["00080018"]["Value"][0] for o in found} == {r["SOPInstanceUID"] for r in rows}
    study = rows[0]["StudyInstanceUID"]
    code, _out, err = cli("web", "get", served.url, "--study", study, "--out", str(tmp_path / "o"))
    assert code == 0, err
    got = {p.name for p in (tmp_path / "o").iterdir()}
    assert got == {f"{r['SOPInstanceUID']}.dcm" for r in rows}
    code, _out, err = cli("web", "get", served.url, "--study", "1.2.3.999")
    assert code != 0 and "404" in err

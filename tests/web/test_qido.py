"""QIDO-RS against a synthetic archive: matches computed from the instances themselves."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from dicomkit.io._json import from_json

JSON = {"Accept": "application/dicom+json"}


def _get(served: Any, path: str, **params: Any) -> requests.Response:
    return requests.get(served.url + path, params=params, headers=JSON, timeout=30)


def _uids(resp: requests.Response, tag: str) -> set[str]:
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/dicom+json")
    return {obj[tag]["Value"][0] for obj in resp.json()}


def _studies(rows: list[dict[str, Any]], pred: Any) -> set[str]:
    return {r["StudyInstanceUID"] for r in rows if pred(r)}


def test_all_studies_with_default_attributes(served: Any) -> None:
    resp = _get(served, "/studies")
    assert _uids(resp, "0020000D") == _studies(served.rows, lambda r: True)
    first = resp.json()[0]
    ds = from_json(first)
    uid = ds.StudyInstanceUID
    rows = [r for r in served.rows if r["StudyInstanceUID"] == uid]
    assert str(ds.PatientID) == rows[0]["PatientID"]
    assert int(ds.NumberOfStudyRelatedInstances) == len(rows)
    assert int(ds.NumberOfStudyRelatedSeries) == len({r["SeriesInstanceUID"] for r in rows})
    # RetrieveURL from the Host header, port included
    assert first["00081190"]["Value"][0] == f"{served.url}/studies/{uid}"
    assert "00080052" not in first  # no Query/Retrieve Level in QIDO answers


def test_wildcard_and_case_insensitive_names(served: Any) -> None:
    got = _uids(_get(served, "/studies", PatientName="doe*"), "0020000D")
    assert got == _studies(served.rows, lambda r: r["PatientName"].upper().startswith("DOE"))
    assert got


def test_date_range(served: Any) -> None:
    got = _uids(_get(served, "/studies", StudyDate="20200301-20200630"), "0020000D")
    want = _studies(served.rows, lambda r: "20200301" <= r["StudyDate"] <= "20200630")
    assert got == want and want


def test_tag_as_hex_digits(served: Any) -> None:
    pid = served.rows[3]["PatientID"]
    got = _uids(_get(served, "/studies", **{"00100020": pid}), "0020000D")
    assert got == _studies(served.rows, lambda r: r["PatientID"] == pid)


@pytest.mark.parametrize("sep", [",", "\\"])
def test_uid_list(served: Any, sep: str) -> None:
    wanted = sorted(_studies(served.rows, lambda r: True))[:3]
    got = _uids(_get(served, "/studies", StudyInstanceUID=sep.join(wanted)), "0020000D")
    assert got == set(wanted)


def test_series_of_study_and_all_series(served: Any) -> None:
    study = served.rows[-1]["StudyInstanceUID"]
    got = _uids(_get(served, f"/studies/{study}/series"), "0020000E")
    want = {r["SeriesInstanceUID"] for r in served.rows if r["StudyInstanceUID"] == study}
    assert got == want
    mods = _uids(_get(served, "/series", Modality="MR"), "0020000E")
    assert mods == {r["SeriesInstanceUID"] for r in served.rows if r["Modality"] == "MR"}
    # across studies, the study attributes come too (PS3.18 Table 10.6.3-4)
    obj = _get(served, "/series", Modality="MR").json()[0]
    assert "00100020" in obj and "0020000D" in obj


def test_instances_levels(served: Any) -> None:
    r0 = served.rows[0]
    nested = f"/studies/{r0['StudyInstanceUID']}/series/{r0['SeriesInstanceUID']}/instances"
    got = _uids(_get(served, nested), "00080018")
    assert got == {
        r["SOPInstanceUID"]
        for r in served.rows
        if r["SeriesInstanceUID"] == r0["SeriesInstanceUID"]
    }
    all_ = _uids(_get(served, "/instances"), "00080018")
    assert all_ == {r["SOPInstanceUID"] for r in served.rows}
    of_study = _uids(_get(served, f"/studies/{r0['StudyInstanceUID']}/instances"), "00080018")
    assert of_study == {
        r["SOPInstanceUID"] for r in served.rows if r["StudyInstanceUID"] == r0["StudyInstanceUID"]
    }


def test_includefield_all_and_named(served: Any) -> None:
    obj = _get(served, "/studies", includefield="StudyDescription").json()[0]
    assert "00081030" in obj
    assert "00081030" not in _get(served, "/studies").json()[0]
    full = _get(served, "/instances", includefield="all").json()[0]
    for tag in ("00081030", "0008103E", "00200013", "00280010", "00400275"):
        assert tag in full, tag


def test_limit_offset_pages(served: Any) -> None:
    every = [o["0020000D"]["Value"][0] for o in _get(served, "/studies").json()]
    pages: list[str] = []
    for off in range(0, len(every), 2):
        resp = _get(served, "/studies", limit=2, offset=off)
        pages += [o["0020000D"]["Value"][0] for o in resp.json()]
        more = off + 2 < len(every)
        assert ("Warning" in resp.headers) == more
    assert pages == every


def test_fuzzy_matching_names(served: Any) -> None:
    plain = _get(served, "/studies", PatientName="JOHN")
    assert _uids(plain, "0020000D") == set()
    got = _uids(_get(served, "/studies", PatientName="john", fuzzymatching="true"), "0020000D")
    assert got == _studies(served.rows, lambda r: "JOHN" in r["PatientName"].upper())
    assert got


def test_sequence_matching(served: Any) -> None:
    target = served.rows[2]["RequestAttributesSequence"][0]["RequestedProcedureID"]
    got = _uids(
        _get(served, "/series", **{"RequestAttributesSequence.RequestedProcedureID": target}),
        "0020000E",
    )
    want = {
        r["SeriesInstanceUID"]
        for r in served.rows
        if r["RequestAttributesSequence"][0]["RequestedProcedureID"] == target
    }
    assert got == want and want


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"NoSuchAttribute": "x"}, "unknown attribute"),
        ({"StudyInstanceUID": "1.2*"}, "wildcards"),
        ({"limit": "ten"}, "whole number"),
        ({"fuzzymatching": "maybe"}, "true or false"),
    ],
)
def test_bad_queries_are_400_with_reason(served: Any, params: dict[str, str], words: str) -> None:
    resp = _get(served, "/studies", **params)
    assert resp.status_code == 400
    assert words in resp.text


def test_accept_without_json_or_xml_is_406(served: Any) -> None:
    resp = requests.get(served.url + "/studies", headers={"Accept": "image/png"}, timeout=30)
    assert resp.status_code == 406
    assert "application/dicom+json" in resp.text and "application/dicom+xml" in resp.text
    ok = requests.get(
        served.url + "/studies",
        headers={"Accept": "image/png, application/json;q=0.5"},
        timeout=30,
    )
    assert ok.status_code == 200 and ok.json()

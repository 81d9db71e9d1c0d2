"""Orthanc with its DICOMweb plugin as a peer (its own loopback-only network namespace,
tests/web/orthanc_peer.py): the same studies stored in both by our WebClient over STOW-RS
give the same QIDO-RS answers and the same instances over WADO-RS."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import orthanc_peer
import pytest
import requests
from peers import missing
from viewer_data import Study, studies
from web_helpers import serve_archive

import dicomkit
from dicomkit.archive._node import Archive
from dicomkit.io._json import from_json, to_json
from dicomkit.web._client import WebClient

pytestmark = [pytest.mark.interop, pytest.mark.slow]


def _bytes(ds: Any) -> bytes:
    buf = io.BytesIO()
    dicomkit.write(ds, buf)
    return buf.getvalue()


@pytest.fixture(scope="module")
def both(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[WebClient, WebClient, list[Study]]]:
    why = orthanc_peer.available()
    if why:
        missing(why)
    data = studies()
    files = [_bytes(ds) for st in data for ds in st.instances]
    archive = Archive(tmp_path_factory.mktemp("ours"))
    with (
        serve_archive(archive) as port,
        orthanc_peer.orthanc(tmp_path_factory.mktemp("orthanc")) as peer,
    ):
        ours, theirs = (
            WebClient(f"http://127.0.0.1:{port}/dicom-web"),
            WebClient(peer + "/dicom-web"),
        )
        for client in (ours, theirs):
            answer = client.store(files)
            assert len(answer.get("ReferencedSOPSequence", [])) == len(files)
            assert not answer.get("FailedSOPSequence")
        yield ours, theirs, data
    archive.close()


STUDY_KEYS = (
    "StudyInstanceUID", "PatientName", "PatientID", "PatientBirthDate", "PatientSex",
    "StudyDate", "StudyTime", "AccessionNumber", "StudyID", "ModalitiesInStudy",
    "NumberOfStudyRelatedSeries", "NumberOfStudyRelatedInstances",
)  # fmt: skip
SERIES_KEYS = ("SeriesInstanceUID", "Modality", "SeriesNumber", "SeriesDescription",
               "NumberOfSeriesRelatedInstances")  # fmt: skip
INSTANCE_KEYS = ("SOPInstanceUID", "SOPClassUID", "InstanceNumber", "Rows", "Columns",
                 "NumberOfFrames")  # fmt: skip


def _table(found: list[Any], keys: tuple[str, ...]) -> list[tuple[str, ...]]:
    def text(ds: Any, k: str) -> str:
        v = ds.get(k)
        if v is None:
            return ""
        if isinstance(v, (list, tuple)):
            return "\\".join(sorted(str(x) for x in v))
        return str(v)

    return sorted(tuple(text(ds, k) for k in keys) for ds in found)


@pytest.mark.parametrize(
    "query",
    [
        "",
        "PatientName=DOE*",
        "PatientID=P002",
        "StudyDate=20240101-20241231",
        "ModalitiesInStudy=MR",
        "AccessionNumber=A100",
    ],
)
def test_study_searches_agree(both: Any, query: str) -> None:
    """Raw query strings: Orthanc's plugin does not percent-decode query values (``DOE%2A``
    or ``DOE%5EJANE`` match nothing there; ours decodes them, see below)."""
    ours, theirs, _data = both
    keys = (*STUDY_KEYS, "StudyDescription")

    def search(client: WebClient) -> list[Any]:
        url = f"{client.url}/studies?includefield=StudyDescription&{query}"
        r = requests.get(url, headers={"Accept": "application/dicom+json"}, timeout=30)
        assert r.status_code == 200, r.text
        return [from_json(obj) for obj in r.json()]

    a = search(ours)
    assert a, query  # every query here matches something
    assert _table(a, keys) == _table(search(theirs), keys)


def test_percent_encoded_values_match(both: Any) -> None:
    ours, _theirs, _data = both
    for filters in ({"PatientName": "DOE*"}, {"PatientName": "DOE^JANE"}):
        (found,) = ours.search("studies", filters)  # the client sends %2A, %5E
        assert found.PatientID == "P001"


def test_series_and_instance_searches_agree(both: Any) -> None:
    ours, theirs, data = both
    for st in data:
        assert _table(ours.search("series", study=st.uid), SERIES_KEYS) == _table(
            theirs.search("series", study=st.uid), SERIES_KEYS
        )
        for series in st.series:
            a = ours.search(
                "instances", study=st.uid, series=series, includefield=["NumberOfFrames"]
            )
            b = theirs.search(
                "instances", study=st.uid, series=series, includefield=["NumberOfFrames"]
            )
            assert len(a) == len(st.series[series])
            assert _table(a, INSTANCE_KEYS) == _table(b, INSTANCE_KEYS)
    modality = {"Modality": "CT"}
    assert _table(ours.search("series", modality), SERIES_KEYS) == _table(
        theirs.search("series", modality), SERIES_KEYS
    )


def _content(part10: bytes) -> dict[str, Any]:
    """The data set without its file meta: what both servers must keep as sent."""
    obj = to_json(dicomkit.read(part10), 0)
    return {tag: value for tag, value in obj.items() if not tag.startswith("0002")}


def test_same_instances_come_back(both: Any) -> None:
    ours, theirs, data = both
    for st in data:
        a = {_content(f)["00080018"]["Value"][0]: _content(f) for f in ours.retrieve(st.uid)}
        b = {_content(f)["00080018"]["Value"][0]: _content(f) for f in theirs.retrieve(st.uid)}
        assert set(a) == {ds.SOPInstanceUID for ds in st.instances}
        assert a == b
        sent = {ds.SOPInstanceUID: _content(_bytes(ds)) for ds in st.instances}
        assert a == sent

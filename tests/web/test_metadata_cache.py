"""The study metadata cache: made at ingest, assembled per request, right after replace
and delete, and equal to the metadata made from the files."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import requests
from dicomweb_client import DICOMwebClient
from web_helpers import serve_archive

sys.path.insert(0, str(Path(__file__).parent.parent / "archive"))
from archive_helpers import synthetic, to_dataset

from dicomkit.archive import DuplicatePolicy
from dicomkit.archive._node import Archive
from dicomkit.web._metadata_cache import MetadataCache
from dicomkit.web._wado import metadata_of


def test_made_at_ingest_and_equal_to_the_files(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "a")
    cache = MetadataCache(archive)
    rows = synthetic(2)
    for row in rows:
        archive.store_dataset(to_dataset(row, pixels=True))
    assert cache.wait_idle()
    assert cache.made_at_ingest == len(rows)
    study = rows[0]["StudyInstanceUID"]
    base = "http://example.org:8042/dicom-web"
    got = json.loads(cache.assemble(study, base) or b"[]")
    found = archive.retrieve({"QueryRetrieveLevel": "STUDY", "StudyInstanceUID": study})
    assert got == [metadata_of(archive, i, base) for i in found]
    assert got[0]["7FE00010"]["BulkDataURI"].startswith(base + "/studies/" + study)
    assert cache.assemble("1.2.3.4", base) is None
    cache.close()
    archive.close()


def test_replace_and_delete_are_seen(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "a", policy=DuplicatePolicy.REPLACE)
    rows = synthetic(1)
    for row in rows:
        archive.store_dataset(to_dataset(row))
    study = rows[0]["StudyInstanceUID"]
    with serve_archive(archive) as port:
        url = f"http://127.0.0.1:{port}/dicom-web"
        with requests.Session() as session:
            client = DICOMwebClient(url, session=session)
            before = client.retrieve_study_metadata(study)
            changed = dict(rows[0], PatientName="CHANGED^NAME")
            archive.store_dataset(to_dataset(changed))  # replace: new file, new stamp
            after = client.retrieve_study_metadata(study)
            names = {m["00100010"]["Value"][0]["Alphabetic"] for m in after}
            assert "CHANGED^NAME" in names and len(after) == len(before)
            archive.remove(rows[0]["SOPInstanceUID"])
            left = session.get(f"{url}/studies/{study}/metadata", timeout=30)
    n = sum(r["StudyInstanceUID"] == study for r in rows)
    if n == 1:
        assert left.status_code == 404
    else:
        assert len(left.json()) == n - 1
    archive.close()


def test_metadata_as_xml(served: object) -> None:
    from xml.etree import ElementTree as ET

    row = served.rows[0]  # type: ignore[attr-defined]
    url = served.url  # type: ignore[attr-defined]
    r = requests.get(
        f"{url}/studies/{row['StudyInstanceUID']}/metadata",
        headers={"Accept": 'multipart/related; type="application/dicom+xml"'},
        timeout=30,
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("multipart/related")
    first = r.content.split(b"\r\n\r\n", 1)[1].split(b"\r\n--", 1)[0]
    root = ET.fromstring(first)
    ns = "{http://dicom.nema.org/PS3.19/models/NativeDICOM}"
    assert root.tag == ns + "NativeDicomModel"
    sops = [
        v.text
        for a in root.iter(ns + "DicomAttribute")
        if a.get("keyword") == "SOPInstanceUID"
        for v in a.iter(ns + "Value")
    ]
    assert sops and sops[0] in {x["SOPInstanceUID"] for x in served.rows}  # type: ignore[attr-defined]


def _fresh(archive: Archive, study: str, base: str) -> list[Any]:
    """The study's metadata made from the files now, without any cache."""
    found = archive.retrieve({"QueryRetrieveLevel": "STUDY", "StudyInstanceUID": study})
    return [metadata_of(archive, i, base) for i in found]


def test_answer_sent_again_only_while_the_index_is_unchanged(tmp_path: Path) -> None:
    """The bytes last sent are sent again without an index query while nothing changed;
    a store, a replace or a delete -- by this node or by another connection to the index
    (another process, which tells the cache nothing) -- gives the freshly made metadata."""
    base = "http://example.org:8042/dicom-web"
    archive = Archive(tmp_path / "a", policy=DuplicatePolicy.REPLACE)
    cache = MetadataCache(archive)
    everything = synthetic(3)
    study = max(
        {r["StudyInstanceUID"] for r in everything},
        key=lambda s: sum(r["StudyInstanceUID"] == s for r in everything),
    )
    rows = [r for r in everything if r["StudyInstanceUID"] == study]
    assert len(rows) >= 3
    for row in rows[:-1]:
        archive.store_dataset(to_dataset(row))
    queries = []
    real = cache.instances

    def counted(*args: Any) -> Any:
        queries.append(args)
        return real(*args)

    cache.instances = counted  # type: ignore[method-assign]
    first = cache.assemble(study, base)
    assert first is not None and json.loads(first) == _fresh(archive, study, base)
    assert cache.assemble(study, base) == first
    assert len(queries) == 1  # the second answer came without asking the index
    other_base = "https://proxy.example/dicomweb"
    assert json.loads(cache.assemble(study, other_base) or b"") == _fresh(
        archive, study, other_base
    )

    other = Archive(tmp_path / "a", policy=DuplicatePolicy.REPLACE)  # another process's view
    other.store_dataset(to_dataset(rows[-1]))
    added = json.loads(cache.assemble(study, base) or b"")
    assert added == _fresh(archive, study, base) and len(added) == len(rows)
    other.store_dataset(to_dataset(dict(rows[0], PatientName="OTHER^NAME")))
    replaced = json.loads(cache.assemble(study, base) or b"")
    assert replaced == _fresh(archive, study, base)
    assert "OTHER^NAME" in json.dumps(replaced)
    other.remove(rows[1]["SOPInstanceUID"])
    left = json.loads(cache.assemble(study, base) or b"")
    assert left == _fresh(archive, study, base) and len(left) == len(rows) - 1
    other.close()

    archive.remove(rows[0]["SOPInstanceUID"])  # and by this node itself
    left = json.loads(cache.assemble(study, base) or b"")
    assert left == _fresh(archive, study, base) and len(left) == len(rows) - 2
    archive.store_dataset(to_dataset(rows[0]))
    assert json.loads(cache.assemble(study, base) or b"") == _fresh(archive, study, base)
    cache.close()
    archive.close()


def _ingest_parsed(archive: Archive, row: dict[str, Any], dataset: Any = None) -> Any:
    """Ingest ``row`` as a receiver does (record built from the data set it parsed), handing
    ``dataset`` (default: that parsed data set) to the listeners."""
    import dicomkit
    from dicomkit.archive._index import record_from_dataset
    from dicomkit.archive._store import file_checksum, sync_data

    temp = archive.incoming_path()
    dicomkit.write(to_dataset(row, pixels=True), temp)  # type: ignore[arg-type]
    sync_data(temp)
    parsed = dicomkit.read(temp.read_bytes())
    given = parsed if dataset is None else dataset
    size, crc = temp.stat().st_size, file_checksum(temp)
    (res,) = archive.ingest_records([(record_from_dataset(parsed), temp, size, crc, given)])
    assert not isinstance(res, BaseException)
    return parsed


def _count_reads(monkeypatch: Any, archive: Archive) -> list[object]:
    """The stored files of ``archive`` read from now on (``dicomkit.read`` of a path)."""
    import dicomkit

    reads: list[object] = []
    real = dicomkit.read
    root = str(archive.root)

    def read(source: Any, *a: Any, **kw: Any) -> Any:
        if isinstance(source, Path) and str(source).startswith(root):
            reads.append(source)
        return real(source, *a, **kw)

    monkeypatch.setattr(dicomkit, "read", read)
    return reads


def test_made_from_the_data_set_the_ingest_parsed(tmp_path: Path, monkeypatch: Any) -> None:
    archive = Archive(tmp_path / "a")
    cache = MetadataCache(archive)
    rows = synthetic(2)[1:4]  # one study
    reads = _count_reads(monkeypatch, archive)
    for row in rows:
        _ingest_parsed(archive, row)
    assert cache.wait_idle()
    assert cache.made_at_ingest == len(rows)
    assert reads == []  # no stored file read again
    study = rows[0]["StudyInstanceUID"]
    got = json.loads(cache.assemble(study, "http://h/w") or b"[]")
    found = archive.retrieve({"QueryRetrieveLevel": "STUDY", "StudyInstanceUID": study})
    assert got == [metadata_of(archive, i, "http://h/w") for i in found]  # as from the files
    assert cache._held_datasets == 0
    cache.close()
    archive.close()


def test_the_file_is_read_when_the_data_set_is_over_budget_or_not_the_stored_copy(
    tmp_path: Path, monkeypatch: Any
) -> None:
    import dicomkit

    archive = Archive(tmp_path / "a")
    cache = MetadataCache(archive)
    rows = synthetic(2)[:2]
    reads = _count_reads(monkeypatch, archive)
    cache.DATASET_BYTES = 0  # no room: every file is read again
    _ingest_parsed(archive, rows[0])
    assert cache.wait_idle()
    assert len(reads) == 1
    cache.DATASET_BYTES = 1 << 20
    # a data set that is not the stored copy (another checksum): never trusted
    dicomkit.write(to_dataset(dict(rows[1], PatientName="X^Y")), tmp_path / "other.dcm")  # type: ignore[arg-type]
    other = dicomkit.read(tmp_path / "other.dcm")
    note_checksum = "crc32:00000000"
    inner = cache._ingested

    def ingested(stored: list[Any]) -> None:
        inner([n._replace(checksum=note_checksum) for n in stored])

    archive.listeners[archive.listeners.index(inner)] = ingested
    _ingest_parsed(archive, rows[1], dataset=other)
    assert cache.wait_idle()
    assert len(reads) == 2
    study = rows[1]["StudyInstanceUID"]
    got = json.loads(cache.assemble(study, "http://h/w") or b"[]")
    assert all(m["00100010"]["Value"][0]["Alphabetic"] != "X^Y" for m in got)
    cache.close()
    archive.close()

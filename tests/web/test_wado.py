"""WADO-RS against a synthetic archive: instances, transfer syntaxes, metadata, frames,
bulk data."""

from __future__ import annotations

import email.parser
import email.policy
from typing import Any

import pytest
import requests
from web_helpers import serve_archive

import dicomkit
from dicomkit.archive._node import Archive
from dicomkit.dictionary import uids
from dicomkit.io._json import from_json
from dicomkit.web._file_parts import BLOCK, blocks, file_parts, read_block

DICOM = 'multipart/related; type="application/dicom"'


def _parts(resp: requests.Response) -> list[tuple[str, bytes]]:
    """(content type, body) of each part, read with the standard library's MIME parser."""
    assert resp.status_code == 200, resp.text
    head = f"Content-Type: {resp.headers['content-type']}\r\n\r\n".encode()
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + resp.content)
    assert msg.is_multipart()
    return [
        (str(p.get("content-type")), p.get_payload(decode=True) or b"") for p in msg.iter_parts()
    ]


def test_study_retrieve_is_each_stored_file(served: Any) -> None:
    study = served.rows[-1]["StudyInstanceUID"]
    resp = requests.get(
        f"{served.url}/studies/{study}",
        headers={"Accept": f"{DICOM}; transfer-syntax=*"},
        timeout=30,
    )
    parts = _parts(resp)
    inst = served.archive.retrieve({"QueryRetrieveLevel": "STUDY", "StudyInstanceUID": study})
    assert len(parts) == len(inst) == sum(r["StudyInstanceUID"] == study for r in served.rows)
    files = {served.archive.path_of(i).read_bytes() for i in inst}
    assert {body for _t, body in parts} == files
    assert all(t.startswith("application/dicom") for t, _b in parts)


def test_series_and_instance_retrieve(served: Any) -> None:
    r = served.rows[0]
    base = f"{served.url}/studies/{r['StudyInstanceUID']}/series/{r['SeriesInstanceUID']}"
    parts = _parts(requests.get(base, headers={"Accept": DICOM}, timeout=30))
    sops = {str(dicomkit.read(body).SOPInstanceUID) for _t, body in parts}
    assert sops == {
        x["SOPInstanceUID"] for x in served.rows if x["SeriesInstanceUID"] == r["SeriesInstanceUID"]
    }
    one = _parts(
        requests.get(
            f"{base}/instances/{r['SOPInstanceUID']}", headers={"Accept": DICOM}, timeout=30
        )
    )
    assert len(one) == 1
    ds = dicomkit.read(one[0][1])
    assert ds.PatientName == r["PatientName"]


def test_unknown_study_is_404_and_bad_accept_406(served: Any) -> None:
    assert requests.get(f"{served.url}/studies/1.2.3.999", timeout=30).status_code == 404
    study = served.rows[0]["StudyInstanceUID"]
    resp = requests.get(
        f"{served.url}/studies/{study}", headers={"Accept": "image/png"}, timeout=30
    )
    assert resp.status_code == 406
    assert "multipart/related" in resp.text


def test_transfer_syntax_negotiation(tmp_path: Any) -> None:
    """An instance stored Implicit VR: as stored with transfer-syntax=*, transcoded to
    Explicit VR Little Endian by default, refused (406) for a syntax we do not offer."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent.parent / "archive"))
    from archive_helpers import synthetic, to_dataset

    row = synthetic(1)[0]
    archive = Archive(tmp_path / "a")
    ds = to_dataset(row, pixels=True)
    temp = tmp_path / "in.dcm"
    dicomkit.write(ds, temp, transfer_syntax=uids.ImplicitVRLittleEndian)
    archive.ingest(temp)
    url = f"/dicom-web/studies/{row['StudyInstanceUID']}"
    with serve_archive(archive) as port:
        base = f"http://127.0.0.1:{port}{url}"
        stored = _parts(requests.get(base, headers={"Accept": f"{DICOM}; transfer-syntax=*"}))
        assert uids.ImplicitVRLittleEndian in stored[0][0]
        assert dicomkit.read(stored[0][1]).transfer_syntax == uids.ImplicitVRLittleEndian
        default = _parts(requests.get(base, headers={"Accept": DICOM}))
        assert uids.ExplicitVRLittleEndian in default[0][0]
        back = dicomkit.read(default[0][1])
        assert back.transfer_syntax == uids.ExplicitVRLittleEndian
        assert bytes(back.PixelData) == bytes(ds.PixelData)
        refused = requests.get(
            base, headers={"Accept": f"{DICOM}; transfer-syntax={uids.JPEGBaseline8Bit}"}
        )
        assert refused.status_code == 406
    archive.close()


def test_metadata_with_bulkdata_uri_from_host_header(served: Any) -> None:
    r = served.rows[1]
    url = f"{served.url}/studies/{r['StudyInstanceUID']}/metadata"
    objs = requests.get(url, timeout=30).json()
    assert len(objs) == sum(x["StudyInstanceUID"] == r["StudyInstanceUID"] for x in served.rows)
    obj = next(o for o in objs if o["00080018"]["Value"][0] == r["SOPInstanceUID"])
    assert from_json(obj).PatientID == r["PatientID"]
    uri = obj["7FE00010"]["BulkDataURI"]
    assert uri == (
        f"{served.url}/studies/{r['StudyInstanceUID']}/series/{r['SeriesInstanceUID']}"
        f"/instances/{r['SOPInstanceUID']}/bulkdata/7FE00010"
    )
    # a proxy's Host header (another port) is what the URIs are built from
    proxied = requests.get(url, headers={"Host": "viewer.example:8443"}, timeout=30).json()
    assert proxied[0]["7FE00010"]["BulkDataURI"].startswith(
        "http://viewer.example:8443/dicom-web/studies/"
    )
    bulk = _parts(requests.get(uri, timeout=30))
    stored = dicomkit.read(served.archive.path_of(served.archive.index.lookup(r["SOPInstanceUID"])))
    assert bulk[0][1] == bytes(stored.PixelData)


def test_frames(served: Any) -> None:
    r = served.rows[0]
    url = (
        f"{served.url}/studies/{r['StudyInstanceUID']}/series/{r['SeriesInstanceUID']}"
        f"/instances/{r['SOPInstanceUID']}/frames/1"
    )
    parts = _parts(requests.get(url, timeout=30))
    assert parts[0][0].startswith("application/octet-stream")
    stored = dicomkit.read(served.archive.path_of(served.archive.index.lookup(r["SOPInstanceUID"])))
    assert parts[0][1] == bytes(stored.PixelData)
    assert requests.get(url[:-1] + "2", timeout=30).status_code == 404
    assert requests.get(url[:-1] + "x", timeout=30).status_code == 400


def test_compressed_frames_are_decoded(tmp_path: Any) -> None:
    """A multi-frame RLE instance: each frame decoded by the pixels layer."""
    np = pytest.importorskip("numpy")
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent.parent / "archive"))
    from archive_helpers import synthetic, to_dataset

    from dicomkit.pixels._encode import compress

    row = synthetic(1)[0]
    ds = to_dataset(row, pixels=True)
    ds.Rows, ds.Columns, ds.NumberOfFrames = 4, 3, 3
    arr = np.arange(36, dtype="<u2").reshape(3, 4, 3) * 100
    ds.PixelData = arr.tobytes()
    compress(ds, uids.RLELossless)
    archive = Archive(tmp_path / "a")
    archive.store_dataset(ds)
    with serve_archive(archive) as port:
        url = (
            f"http://127.0.0.1:{port}/dicom-web/studies/{row['StudyInstanceUID']}/series/"
            f"{row['SeriesInstanceUID']}/instances/{row['SOPInstanceUID']}/frames/3,1"
        )
        parts = _parts(requests.get(url, timeout=30))
    assert [p[1] for p in parts] == [arr[2].tobytes(), arr[0].tobytes()]
    archive.close()


def test_rendered_png_with_window_and_jpeg(served: Any) -> None:
    imagecodecs = pytest.importorskip("imagecodecs")
    np = pytest.importorskip("numpy")
    r = served.rows[0]
    url = (
        f"{served.url}/studies/{r['StudyInstanceUID']}/series/{r['SeriesInstanceUID']}"
        f"/instances/{r['SOPInstanceUID']}"
    )
    # pixels 1, 2, 3, 4 through a linear window of center 3, width 4 (PS3.3 C.11.2.1.2.1):
    # ((x - 2.5) / 3 + 0.5) * 255 inside (1, 4]
    resp = requests.get(
        f"{url}/rendered", params={"window": "3,4,linear"}, headers={"Accept": "image/png"}
    )
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "image/png"
    got = imagecodecs.png_decode(resp.content)
    assert got.tolist() == np.array([[0, 85], [170, 255]]).tolist()
    frame = requests.get(f"{url}/frames/1/rendered", headers={"Accept": "image/jpeg"})
    assert frame.headers["content-type"] == "image/jpeg"
    assert imagecodecs.jpeg8_decode(frame.content).shape == (2, 2)
    assert requests.get(f"{url}/rendered", headers={"Accept": "image/gif"}).status_code == 406
    bad = requests.get(f"{url}/rendered", params={"window": "3"}, headers={"Accept": "image/png"})
    assert bad.status_code == 400 and "center,width" in bad.text
    assert requests.get(f"{url}/frames/2/rendered").status_code == 404


def test_large_instance_is_streamed_not_buffered(tmp_path: Any) -> None:
    """A 6 MB instance goes out in blocks of at most BLOCK bytes (never the whole body in
    memory), with the Content-Length of the files as stored, and arrives whole."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent.parent / "archive"))
    from archive_helpers import synthetic, to_dataset

    row = synthetic(1)[0]
    ds = to_dataset(row, pixels=True)
    ds.Rows, ds.Columns = 1500, 2000
    ds.PixelData = bytes(range(256)) * (1500 * 2000 * 2 // 256) + b"\x00" * (1500 * 2000 * 2 % 256)
    archive = Archive(tmp_path / "a")
    archive.store_dataset(ds)
    with serve_archive(archive) as port:
        url = f"http://127.0.0.1:{port}/dicom-web/studies/{row['StudyInstanceUID']}"
        resp = requests.get(
            url, headers={"Accept": f"{DICOM}; transfer-syntax=*"}, stream=True, timeout=60
        )
        assert "transfer-encoding" not in resp.headers
        (part,) = _parts(resp)
        assert int(resp.headers["content-length"]) == len(resp.content) > 6_000_000
        inst = archive.index.lookup(row["SOPInstanceUID"])
        assert inst is not None
        pieces, length = file_parts(archive, [inst], "b")
        sizes = [sum(len(read_block([p])) for p in block) for block in blocks(pieces)]
        assert len(sizes) > 1 and max(sizes) <= BLOCK and sum(sizes) == length
        for _ in range(3):  # clients that hang up mid-body leave the server answering
            cut = requests.get(
                url, headers={"Accept": f"{DICOM}; transfer-syntax=*"}, stream=True, timeout=60
            )
            assert len(cut.raw.read(65536)) == 65536
            cut.close()
        again = requests.get(url, headers={"Accept": f"{DICOM}; transfer-syntax=*"}, timeout=60)
        assert [body for _ctype, body in _parts(again)] == [part[1]]
    inst = archive.index.lookup(row["SOPInstanceUID"])
    assert inst is not None
    assert part[1] == archive.path_of(inst).read_bytes()
    archive.close()

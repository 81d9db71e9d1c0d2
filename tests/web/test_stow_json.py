"""STOW-RS of DICOM JSON metadata with bulk data parts (PS3.18 10.5.1.2.2): stored as
Part 10 files with the same checks as application/dicom, pixels in a compressed media
type kept encapsulated, missing bulk data refused in words; then found by C-FIND matching
and retrieved byte-equal in pixels."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import requests
from web_helpers import serve_archive

sys.path.insert(0, str(Path(__file__).parent.parent / "archive"))
from archive_helpers import synthetic, to_dataset

import dicomkit
from dicomkit.archive._node import Archive
from dicomkit.dictionary import uids
from dicomkit.io import to_json
from dicomkit.pixels import pixel_array
from dicomkit.web import WebClient

np = pytest.importorskip("numpy")
imagecodecs = pytest.importorskip("imagecodecs")


def _metadata(row: dict[str, Any], uri: str) -> dict[str, Any]:
    ds = to_dataset(row, pixels=True)
    ds.Rows, ds.Columns = 8, 6
    obj = to_json(ds)
    obj["7FE00010"] = {"vr": "OW", "BulkDataURI": uri}
    return obj


def test_json_and_bulk_data_are_stored(tmp_path: Path) -> None:
    rows = synthetic(2)
    a, b, c = rows[0], rows[1], rows[2]
    arr = (np.arange(48, dtype="<u2").reshape(8, 6) * 91) % 4096
    archive = Archive(tmp_path / "a")
    with serve_archive(archive) as port:
        client = WebClient(f"http://127.0.0.1:{port}/dicom-web")
        answer = client.store_json(
            [
                _metadata(a, "http://client.example/bulk/1"),
                _metadata(b, "cid-less-relative/2"),
                _metadata(c, "http://client.example/bulk/missing"),
            ],
            {
                "http://client.example/bulk/1": ("application/octet-stream", arr.tobytes()),
                "cid-less-relative/2": (
                    "image/jls",
                    bytes(imagecodecs.jpegls_encode(arr)),
                ),
            },
        )
        stored = {str(i.ReferencedSOPInstanceUID) for i in answer.ReferencedSOPSequence}
        assert stored == {a["SOPInstanceUID"], b["SOPInstanceUID"]}
        (failed,) = answer.FailedSOPSequence
        assert str(failed.ReferencedSOPInstanceUID) == c["SOPInstanceUID"]
        assert int(failed.FailureReason) == 0xC000
        raw = requests.post(
            f"http://127.0.0.1:{port}/dicom-web/studies",
            data=b'--b\r\nContent-Type: application/dicom+json\r\n\r\n[{"00080016": {"vr": "UI"'
            b', "Value": ["1.2"]}, "7FE00010": {"vr": "OW", "BulkDataURI": "x/1"}}]\r\n--b--\r\n',
            headers={
                "Content-Type": 'multipart/related; type="application/dicom+json"; boundary=b'
            },
            timeout=30,
        )
        assert raw.status_code == 409 and "Content-Location" in raw.headers["warning"]
    for row, ts in ((a, uids.ExplicitVRLittleEndian), (b, uids.JPEGLSLossless)):
        (inst,) = archive.retrieve(
            {
                "QueryRetrieveLevel": "IMAGE",
                "StudyInstanceUID": row["StudyInstanceUID"],
                "SeriesInstanceUID": row["SeriesInstanceUID"],
                "SOPInstanceUID": row["SOPInstanceUID"],
            }
        )
        assert inst.transfer_syntax == ts
        ds = dicomkit.read(archive.path_of(inst))
        assert str(ds.PatientName) == row["PatientName"]
        assert np.array_equal(pixel_array(ds), arr)
    found = list(
        archive.find(
            {
                "QueryRetrieveLevel": "IMAGE",
                "SOPInstanceUID": b["SOPInstanceUID"],
                "StudyInstanceUID": b["StudyInstanceUID"],
                "SeriesInstanceUID": b["SeriesInstanceUID"],
            }
        )
    )
    assert len(found) == 1
    archive.close()

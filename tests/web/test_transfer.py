"""WADO-RS transfer syntax negotiation: transcoding to a compressed syntax through the
pixel pipeline, frames in the compressed media types (stored fragments passed through,
or encoded), 406 in words, application/zip, and no gzip of pixel payloads -- read back
with dicomweb-client, pydicom-free decoders (imagecodecs) and our own reader."""

from __future__ import annotations

import email.parser
import email.policy
import io
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from dicomweb_client import DICOMwebClient
from web_helpers import serve_archive

sys.path.insert(0, str(Path(__file__).parent.parent / "archive"))
from archive_helpers import synthetic, to_dataset

import dicomkit
from dicomkit.archive._node import Archive
from dicomkit.dictionary import uids
from dicomkit.pixels import compress, pixel_array

np = pytest.importorskip("numpy")
imagecodecs = pytest.importorskip("imagecodecs")

DICOM = 'multipart/related; type="application/dicom"'


def _parts(resp: requests.Response) -> list[tuple[str, bytes]]:
    assert resp.status_code == 200, resp.text
    head = f"Content-Type: {resp.headers['content-type']}\r\n\r\n".encode()
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + resp.content)
    out = []
    for p in msg.iter_parts():
        ctype = str(p.get("content-type")).replace('"', "")
        out.append((ctype, bytes(p.get_payload(decode=True) or b"")))
    return out


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, Any], Any]]:
    """A native 3-frame 16-bit instance and a JPEG-LS one (same pixels), served."""
    rows = synthetic(1)
    arr = (np.arange(3 * 16 * 12, dtype="<u2").reshape(3, 16, 12) * 37) % 4000
    archive = Archive(tmp_path_factory.mktemp("transfer"))
    native = to_dataset(rows[0], pixels=True)
    native.Rows, native.Columns, native.NumberOfFrames = 16, 12, 3
    native.PixelData = arr.tobytes()
    archive.store_dataset(native)
    jls = to_dataset(dict(rows[0], SOPInstanceUID=rows[0]["SOPInstanceUID"] + ".9"), pixels=True)
    jls.Rows, jls.Columns, jls.NumberOfFrames = 16, 12, 3
    jls.PixelData = arr.tobytes()
    compress(jls, uids.JPEGLSLossless)
    archive.store_dataset(jls)
    with serve_archive(archive) as port:
        yield f"http://127.0.0.1:{port}/dicom-web", rows[0], arr
    archive.close()


def _instance_url(base: str, row: dict[str, Any], sop: str) -> str:
    return (
        f"{base}/studies/{row['StudyInstanceUID']}/series/{row['SeriesInstanceUID']}"
        f"/instances/{sop}"
    )


def test_instance_transcoded_to_jpeg_ls_and_back(two: Any) -> None:
    base, row, arr = two
    url = _instance_url(base, row, row["SOPInstanceUID"])
    got = _parts(
        requests.get(url, headers={"Accept": f"{DICOM}; transfer-syntax={uids.JPEGLSLossless}"})
    )
    assert got[0][0] == f"application/dicom; transfer-syntax={uids.JPEGLSLossless}"
    ds = dicomkit.read(got[0][1])
    assert ds.transfer_syntax == uids.JPEGLSLossless
    assert np.array_equal(pixel_array(ds), arr)
    # and a JPEG-LS instance decompressed on request
    url = _instance_url(base, row, row["SOPInstanceUID"] + ".9")
    plain = _parts(requests.get(url, headers={"Accept": DICOM}))
    back = dicomkit.read(plain[0][1])
    assert back.transfer_syntax == uids.ExplicitVRLittleEndian
    assert np.array_equal(pixel_array(back), arr)


def test_406_says_what_can_be_asked(two: Any) -> None:
    base, row, _arr = two
    url = _instance_url(base, row, row["SOPInstanceUID"])
    r = requests.get(url, headers={"Accept": f"{DICOM}; transfer-syntax={uids.JPEGBaseline8Bit}"})
    assert r.status_code == 406
    assert "transfer-syntax=*" in r.text and uids.JPEGLSLossless in r.text
    # a later, acceptable choice in the same header is taken
    ok = requests.get(
        url,
        headers={
            "Accept": f"{DICOM}; transfer-syntax={uids.JPEGBaseline8Bit}, "
            f"{DICOM}; transfer-syntax={uids.RLELossless}; q=0.5"
        },
    )
    assert _parts(ok)[0][0].endswith(uids.RLELossless)


def test_frames_in_compressed_media_types(two: Any) -> None:
    base, row, arr = two
    stored_url = _instance_url(base, row, row["SOPInstanceUID"] + ".9") + "/frames/2,3"
    parts = _parts(
        requests.get(stored_url, headers={"Accept": 'multipart/related; type="image/jls"'})
    )
    assert [t for t, _b in parts] == [f"image/jls; transfer-syntax={uids.JPEGLSLossless}"] * 2
    assert np.array_equal(imagecodecs.jpegls_decode(parts[0][1]), arr[1])
    assert np.array_equal(imagecodecs.jpegls_decode(parts[1][1]), arr[2])
    # the stored fragments, not encoded again
    archive_ds = dicomkit.read(
        _parts(
            requests.get(
                _instance_url(base, row, row["SOPInstanceUID"] + ".9"),
                headers={"Accept": f"{DICOM}; transfer-syntax=*"},
            )
        )[0][1]
    )
    from dicomkit.pixels._encapsulation import frames as encapsulated_frames

    stored = encapsulated_frames(archive_ds["PixelData"].raw, 3)
    assert [b for _t, b in parts] == stored[1:]
    # a native instance's frames encoded on request (JPEG 2000 lossless)
    native_url = _instance_url(base, row, row["SOPInstanceUID"]) + "/frames/1"
    (jp2,) = _parts(
        requests.get(native_url, headers={"Accept": 'multipart/related; type="image/jp2"'})
    )
    assert jp2[0] == f"image/jp2; transfer-syntax={uids.JPEG2000Lossless}"
    assert np.array_equal(imagecodecs.jpeg2k_decode(jp2[1]), arr[0])
    (jpeg,) = _parts(
        requests.get(native_url, headers={"Accept": 'multipart/related; type="image/jpeg"'})
    )
    assert jpeg[0] == f"image/jpeg; transfer-syntax={uids.JPEGLossless}"  # no baseline encoder
    assert np.array_equal(imagecodecs.ljpeg_decode(jpeg[1]), arr[0])
    bad = requests.get(
        native_url,
        headers={
            "Accept": f'multipart/related; type="image/jpeg"; transfer-syntax={uids.JPEGBaseline8Bit}'
        },
    )
    assert bad.status_code == 406 and "application/octet-stream" in bad.text


def test_frames_with_dicomweb_client(two: Any) -> None:
    base, row, arr = two
    with requests.Session() as session:
        client = DICOMwebClient(base, session=session)
        frames = client.retrieve_instance_frames(
            row["StudyInstanceUID"],
            row["SeriesInstanceUID"],
            row["SOPInstanceUID"] + ".9",
            frame_numbers=[1],
            media_types=(("image/jls", uids.JPEGLSLossless),),
        )
        raw = client.retrieve_instance_frames(
            row["StudyInstanceUID"],
            row["SeriesInstanceUID"],
            row["SOPInstanceUID"] + ".9",
            frame_numbers=[3],
            media_types=(("application/octet-stream", "*"),),
        )
    assert np.array_equal(imagecodecs.jpegls_decode(frames[0]), arr[0])
    assert np.array_equal(imagecodecs.jpegls_decode(raw[0]), arr[2])  # as stored


def test_zip_of_a_study(two: Any) -> None:
    base, row, _arr = two
    r = requests.get(
        f"{base}/studies/{row['StudyInstanceUID']}", headers={"Accept": "application/zip"}
    )
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        names = sorted(zf.namelist())
        assert names == sorted(
            f"{row['StudyInstanceUID']}/{row['SeriesInstanceUID']}/{sop}.dcm"
            for sop in (row["SOPInstanceUID"], row["SOPInstanceUID"] + ".9")
        )
        for name in names:
            ds = dicomkit.read(zf.read(name))
            assert name.endswith(f"/{ds.SOPInstanceUID}.dcm")


def test_no_gzip_of_pixel_payloads(two: Any) -> None:
    base, row, _arr = two
    url = _instance_url(base, row, row["SOPInstanceUID"])
    for path, accept in (
        ("", f"{DICOM}; transfer-syntax=*"),
        ("/frames/1", 'multipart/related; type="application/octet-stream"'),
    ):
        r = requests.get(url + path, headers={"Accept": accept, "Accept-Encoding": "gzip"})
        assert r.status_code == 200
        assert "content-encoding" not in r.headers

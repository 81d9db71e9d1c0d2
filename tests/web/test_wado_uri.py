"""WADO-URI (PS3.18 9) and the thumbnail resources over the viewer's small studies: the
pictures equal the pixel pipeline's frame (scaled by the same rule), JPEG is labelled and
encoded as JPEG, application/dicom is the stored file, and bad requests say what to fix."""

from __future__ import annotations

from collections.abc import Iterator

import imagecodecs
import numpy as np
import pytest
import requests
from viewer_data import Study, studies
from web_helpers import serve_archive

import dicomkit
from dicomkit.archive._node import Archive
from dicomkit.pixels._display import display_frame
from dicomkit.web._render import fit, resize
from dicomkit.web._wado import find_instances


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Archive, list[Study]]]:
    archive = Archive(tmp_path_factory.mktemp("wado-uri-archive"))
    data = studies()
    for st in data:
        for ds in st.instances:
            archive.store_dataset(ds)
    with serve_archive(archive) as port:
        yield f"http://127.0.0.1:{port}", archive, data
    archive.close()


def _uri(url: str, ds: dicomkit.Dataset, extra: str = "") -> str:
    return (
        f"{url}/wado?requestType=WADO&studyUID={ds.StudyInstanceUID}"
        f"&seriesUID={ds.SeriesInstanceUID}&objectUID={ds.SOPInstanceUID}{extra}"
    )


def test_png_equals_the_pixel_pipeline(site: tuple[str, Archive, list[Study]]) -> None:
    url, _archive, data = site
    ds = data[0].instances[1]
    r = requests.get(_uri(url, ds, "&contentType=image/png"), timeout=30)
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert np.array_equal(imagecodecs.png_decode(r.content), display_frame(ds))
    # window, frame number, size (aspect kept: 48x64 into 30 rows -> 30x40)
    mf = data[0].instances[-1]
    r = requests.get(
        _uri(url, mf, "&contentType=image/png&frameNumber=3&windowCenter=1000&windowWidth=500"),
        timeout=30,
    )
    assert np.array_equal(
        imagecodecs.png_decode(r.content), display_frame(mf, 2, center=1000, width=500)
    )
    r = requests.get(_uri(url, ds, "&contentType=image/png&rows=30"), timeout=30)
    got = imagecodecs.png_decode(r.content)
    assert got.shape == (30, 40)
    assert np.array_equal(got, resize(display_frame(ds), 30, 40))
    r = requests.get(_uri(url, ds, "&contentType=image/png&region=0,0,0.5,0.5"), timeout=30)
    assert np.array_equal(imagecodecs.png_decode(r.content), display_frame(ds)[:24, :32])


def test_jpeg_is_jpeg_with_its_quality(site: tuple[str, Archive, list[Study]]) -> None:
    url, _archive, data = site
    ds = data[0].instances[0]
    r = requests.get(_uri(url, ds), timeout=30)  # default for an image: JPEG
    assert r.headers["content-type"] == "image/jpeg"
    assert r.content[:3] == b"\xff\xd8\xff"
    got = imagecodecs.jpeg8_decode(r.content).astype(int)
    assert np.abs(got - display_frame(ds).astype(int)).mean() < 4
    low = requests.get(_uri(url, ds, "&contentType=image/jpeg&imageQuality=5"), timeout=30)
    assert low.headers["content-type"] == "image/jpeg" and len(low.content) < len(r.content)
    big = requests.get(_uri(url, ds, "&columns=128"), timeout=30)
    assert imagecodecs.jpeg8_decode(big.content).shape == (96, 128)


def test_application_dicom_is_the_stored_file(site: tuple[str, Archive, list[Study]]) -> None:
    url, archive, data = site
    ds = data[1].instances[0]
    r = requests.get(_uri(url, ds, "&contentType=application/dicom"), timeout=30)
    assert r.headers["content-type"] == "application/dicom"
    (inst,) = find_instances(archive, ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID)
    assert r.content == archive.path_of(inst).read_bytes()


@pytest.mark.parametrize(
    ("extra", "status", "words"),
    [
        ("&requestType=XYZ", 400, "requestType=WADO"),
        ("&contentType=application/dicom&rows=10", 400, "apply to image"),
        ("&windowCenter=10", 400, "give both"),
        ("&contentType=image/bmp", 406, "image/gif"),
        ("&imageQuality=0", 400, "1..100"),
        ("&contentType=image/png&imageQuality=50", 400, "image/jpeg"),
        ("&region=0.5,0,0.2,1", 400, "x1 < x2"),
        ("&frameNumber=9", 404, "out of range"),
        ("&rows=abc", 400, "whole number"),
    ],
)
def test_bad_requests_say_why(
    site: tuple[str, Archive, list[Study]], extra: str, status: int, words: str
) -> None:
    url, _archive, data = site
    ds = data[0].instances[0]
    target = _uri(url, ds, extra)
    if extra.startswith("&requestType"):
        target = target.replace("requestType=WADO&", "")
    r = requests.get(target, timeout=30)
    assert r.status_code == status, r.text
    assert words in r.text
    missing = requests.get(f"{url}/wado?requestType=WADO&studyUID=1.2.3", timeout=30)
    assert missing.status_code == 400 and "seriesUID, objectUID" in missing.text


def test_thumbnails_of_each_level(site: tuple[str, Archive, list[Study]]) -> None:
    url, _archive, data = site
    ct = data[0]
    series, instances = next(iter(ct.series.items()))
    middle = instances[len(instances) // 2]  # instance numbers 1..4: the 3rd
    base = f"{url}/dicom-web/studies/{ct.uid}"
    png = {"Accept": "image/png"}
    want = resize(display_frame(middle), *fit(48, 64, 128, 128))
    for path in ("/thumbnail", f"/series/{series}/thumbnail"):
        r = requests.get(base + path, headers=png, timeout=30)
        assert r.headers["content-type"] == "image/png"
        assert np.array_equal(imagecodecs.png_decode(r.content), want)
    first = instances[0]
    r = requests.get(
        f"{base}/series/{series}/instances/{first.SOPInstanceUID}/thumbnail?viewport=32,32",
        headers=png,
        timeout=30,
    )
    assert np.array_equal(imagecodecs.png_decode(r.content), resize(display_frame(first), 24, 32))
    mf_series, (mf,) = list(ct.series.items())[1]
    r = requests.get(
        f"{base}/series/{mf_series}/instances/{mf.SOPInstanceUID}/frames/3/thumbnail",
        timeout=30,
    )
    assert r.headers["content-type"] == "image/jpeg" and r.content[:2] == b"\xff\xd8"
    assert imagecodecs.jpeg8_decode(r.content).shape == (128, 128)
    bad = requests.get(base + "/thumbnail?viewport=0,10", timeout=30)
    assert bad.status_code == 400 and "1..4096" in bad.text
    assert requests.get(f"{url}/dicom-web/studies/1.2.3/thumbnail", timeout=30).status_code == 404


def test_resize_is_an_area_average() -> None:
    img = np.arange(16, dtype=np.uint8).reshape(4, 4) * 10
    half = resize(img, 2, 2)
    assert half.tolist() == [[25, 45], [105, 125]]
    assert resize(img, 8, 8)[::2, ::2].tolist() == img.tolist()
    assert fit(48, 64, 128, 128) == (96, 128) and fit(48, 64, None, 32) == (24, 32)


def test_rendered_viewport(site: tuple[str, Archive, list[Study]]) -> None:
    """WADO-RS rendered with ``viewport=vw,vh``: the pipeline's frame fitted inside it."""
    url, _archive, data = site
    ds = data[0].instances[0]
    target = (
        f"{url}/dicom-web/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}"
        f"/instances/{ds.SOPInstanceUID}/rendered"
    )
    png = {"Accept": "image/png"}
    r = requests.get(target + "?viewport=32,100&window=0,200", headers=png, timeout=30)
    assert r.status_code == 200, r.text
    want = resize(display_frame(ds, center=0, width=200), *fit(48, 64, 100, 32))
    assert np.array_equal(imagecodecs.png_decode(r.content), want)
    assert want.shape == (24, 32)
    full = requests.get(target, headers=png, timeout=30)
    assert imagecodecs.png_decode(full.content).shape == (48, 64)
    bad = requests.get(target + "?viewport=64,64,0,0,10,10", headers=png, timeout=30)
    assert bad.status_code == 400 and "source rectangle" in bad.text

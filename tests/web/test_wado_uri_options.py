"""WADO-URI's remaining parameters (PS3.18 9.4, 9.5) over plain HTTP: ``anonymize=yes``
(checked with pydicom: identifying attributes gone, UIDs remapped the same way in every
answer, pixels kept), ``annotation=patient,technique`` (burned-in text, the same in JPEG, PNG
and GIF) and ``presentationUID`` + ``presentationSeriesUID`` (a stored GSPS applied: its
modality LUT, window, displayed area, rotation and flip, compared with an independent numpy
rendering), and the refusals in words."""

from __future__ import annotations

import io
from collections.abc import Iterator

import imagecodecs
import numpy as np
import pydicom
import pytest
import requests
from viewer_data import Study, studies
from web_helpers import serve_archive

import dicomkit
from dicomkit.archive._node import Archive
from dicomkit.builders import Window, presentation_state
from dicomkit.builders._font import render_text
from dicomkit.core._sequence import Sequence
from dicomkit.pixels._display import display_frame

Site = tuple[str, Archive, list[Study], dicomkit.Dataset]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    archive = Archive(tmp_path_factory.mktemp("wado-uri-options"))
    data = studies()
    for st in data:
        for ds in st.instances:
            archive.store_dataset(ds)
    ct = data[0].instances[0]
    pr = presentation_state([ct], window=Window(-600, 300), rotation=90, flip=True)
    pr.RescaleIntercept = "-1000"  # the presentation state's own modality LUT
    area = pr.DisplayedAreaSelectionSequence[0]
    area.set("DisplayedAreaTopLeftHandCorner", [5, 3], "SL")  # (column, row), from 1
    area.set("DisplayedAreaBottomRightHandCorner", [60, 40], "SL")
    pr.DisplayedAreaSelectionSequence = Sequence([area])
    archive.store_dataset(pr)
    with serve_archive(archive) as port:
        yield f"http://127.0.0.1:{port}", archive, data, pr
    archive.close()


def _uri(url: str, ds: dicomkit.Dataset, extra: str = "") -> str:
    return (
        f"{url}/wado?requestType=WADO&studyUID={ds.StudyInstanceUID}"
        f"&seriesUID={ds.SeriesInstanceUID}&objectUID={ds.SOPInstanceUID}{extra}"
    )


def _get(target: str) -> requests.Response:
    return requests.get(target, timeout=30)


# -- anonymize=yes ------------------------------------------------------------------------------


def test_anonymize_removes_identity_and_remaps_uids(site: Site) -> None:
    url, _archive, data, _pr = site
    first, second = data[0].instances[0], data[0].instances[1]
    answers = []
    for ds in (first, second, first):
        r = _get(_uri(url, ds, "&contentType=application/dicom&anonymize=yes"))
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/dicom"
        answers.append(pydicom.dcmread(io.BytesIO(r.content)))
    a, b, again = answers
    for got, orig in ((a, first), (b, second)):
        assert str(got.PatientName) != str(orig.PatientName)
        assert got.PatientID != orig.PatientID
        assert not got.get("PatientBirthDate") and not got.get("AccessionNumber")
        assert got.PatientIdentityRemoved == "YES"
        assert got.SOPInstanceUID != orig.SOPInstanceUID
        assert got.StudyInstanceUID != orig.StudyInstanceUID
        assert got.SeriesInstanceUID != orig.SeriesInstanceUID
        assert got.file_meta.MediaStorageSOPInstanceUID == got.SOPInstanceUID
        assert got.SOPClassUID == orig.SOPClassUID
        stored = np.frombuffer(orig.PixelData, "<i2").reshape(orig.Rows, orig.Columns)
        assert np.array_equal(got.pixel_array, stored)  # the pixels are kept
    # one study, one series: the same new UIDs; the same instance: the same answer UIDs
    assert a.StudyInstanceUID == b.StudyInstanceUID and a.SeriesInstanceUID == b.SeriesInstanceUID
    assert a.SOPInstanceUID != b.SOPInstanceUID
    assert again.SOPInstanceUID == a.SOPInstanceUID
    # also in another transfer syntax
    r = _get(
        _uri(url, first, "&contentType=application/dicom&anonymize=yes")
        + "&transferSyntax=1.2.840.10008.1.2"
    )
    implicit = pydicom.dcmread(io.BytesIO(r.content))
    assert implicit.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2"
    assert implicit.SOPInstanceUID == a.SOPInstanceUID and implicit.PatientID == a.PatientID


def test_anonymize_refuses_burned_in_text_and_pictures(site: Site) -> None:
    url, archive, data, _pr = site
    burned = data[1].instances[0].copy()
    burned.SOPInstanceUID = burned.SOPInstanceUID + ".9"
    burned.BurnedInAnnotation = "YES"
    archive.store_dataset(burned)
    r = _get(_uri(url, burned, "&contentType=application/dicom&anonymize=yes"))
    assert r.status_code == 400 and "Burned In Annotation YES" in r.text
    r = _get(_uri(url, data[1].instances[1], "&contentType=image/png&anonymize=yes"))
    assert r.status_code == 400 and "contentType=application/dicom" in r.text
    r = _get(_uri(url, data[1].instances[1], "&anonymize=yes"))  # default: a picture
    assert r.status_code == 400 and "rendered pictures are not de-identified" in r.text
    r = _get(_uri(url, data[1].instances[1], "&contentType=application/dicom&anonymize=no"))
    assert r.status_code == 400 and "only value is yes" in r.text


# -- annotation ---------------------------------------------------------------------------------


def _ink(lines: list[str], scale: int) -> np.ndarray:
    """The text box as the test expects it: lines one font pixel apart, a margin around."""
    inks = [render_text(line, scale) for line in lines]
    height = scale + sum(i.shape[0] + scale for i in inks)
    width = max(i.shape[1] for i in inks) + 2 * scale
    box = np.zeros((height, width), bool)
    top = scale
    for i in inks:
        box[top : top + i.shape[0], scale : scale + i.shape[1]] = i
        top += i.shape[0] + scale
    return box


def test_annotation_burns_in_patient_and_technique(site: Site) -> None:
    url, _archive, data, _pr = site
    ds = data[0].instances[2]
    extra = "&contentType=image/png&rows=320&annotation=patient,technique"
    r = _get(_uri(url, ds, extra))
    assert r.status_code == 200, r.text
    got = imagecodecs.png_decode(r.content)
    plain = imagecodecs.png_decode(_get(_uri(url, ds, "&contentType=image/png&rows=320")).content)
    assert got.shape == plain.shape == (320, 427)
    scale = 2  # one font pixel per 160 picture pixels
    patient = _ink(["DOE JANE", "ID P001", "1970-01-01 O"], scale)
    technique = _ink(["CT 2024-01-02", "SE 1 IM 3"], scale)
    top = got[: patient.shape[0], : patient.shape[1]]
    assert np.array_equal(top == 255, patient) and np.all(top[~patient] == 0)
    bottom = got[-technique.shape[0] :, : technique.shape[1]]
    assert np.array_equal(bottom == 255, technique)
    outside = np.ones(got.shape, bool)
    outside[: patient.shape[0], : patient.shape[1]] = False
    outside[-technique.shape[0] :, : technique.shape[1]] = False
    assert np.array_equal(got[outside], plain[outside])  # the rest is the plain picture
    # the same rendering as GIF (256 grey levels: exact) and JPEG (lossy: close)
    gif = _get(_uri(url, ds, extra.replace("image/png", "image/gif")))
    assert gif.headers["content-type"] == "image/gif" and gif.content[:4] == b"GIF8"
    assert np.array_equal(imagecodecs.gif_decode(gif.content)[..., 0], got)
    jpeg = _get(_uri(url, ds, extra.replace("image/png", "image/jpeg")))
    assert jpeg.headers["content-type"] == "image/jpeg"
    assert np.abs(imagecodecs.jpeg8_decode(jpeg.content).astype(int) - got).mean() < 4
    # one keyword alone: only its corner changes
    only = imagecodecs.png_decode(
        _get(_uri(url, ds, "&contentType=image/png&rows=320&annotation=technique")).content
    )
    assert np.array_equal(only[: patient.shape[0]], plain[: patient.shape[0]])
    assert np.array_equal(only[-technique.shape[0] :], got[-technique.shape[0] :])


def test_annotation_multiframe_names_the_frame(site: Site) -> None:
    url, _archive, data, _pr = site
    mf = data[0].instances[-1]
    r = _get(_uri(url, mf, "&contentType=image/png&rows=160&frameNumber=2&annotation=technique"))
    got = imagecodecs.png_decode(r.content)
    box = _ink(["CT 2024-01-02", "SE 2 IM 1 FR 2/3"], 1)
    assert np.array_equal(got[-box.shape[0] :, : box.shape[1]] == 255, box)


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ("&annotation=everything", "the keywords are patient and technique"),
        ("&contentType=application/dicom&annotation=patient", "not application/dicom"),
    ],
)
def test_annotation_refusals(site: Site, extra: str, words: str) -> None:
    url, _archive, data, _pr = site
    r = _get(_uri(url, data[0].instances[0], extra))
    assert r.status_code == 400 and words in r.text, r.text


# -- presentation states ------------------------------------------------------------------------


def _linear(x: np.ndarray, c: float, w: float) -> np.ndarray:
    """PS3.3 C.11.2.1.2.1 LINEAR window to 0..1."""
    out = (x - (c - 0.5)) / (w - 1) + 0.5
    return np.clip(out, 0.0, 1.0)


def test_presentation_state_is_applied(site: Site) -> None:
    url, _archive, data, pr = site
    ct = data[0].instances[0]
    ps = f"&presentationSeriesUID={pr.SeriesInstanceUID}&presentationUID={pr.SOPInstanceUID}"
    r = _get(_uri(url, ct, "&contentType=image/png" + ps))
    assert r.status_code == 200, r.text
    got = imagecodecs.png_decode(r.content)
    stored = np.frombuffer(ct.PixelData, "<i2").reshape(48, 64).astype(np.float64)
    values = stored - 1000  # the presentation state's rescale, not the image's -1024
    want = np.rint(_linear(values, -600, 300) * 255)
    want = want[2:40, 4:60]  # displayed area rows 3..40, columns 5..60
    want = np.rot90(want, k=-1)[:, ::-1]  # 90 degrees clockwise, then the horizontal flip
    assert got.shape == want.shape == (56, 38)
    assert np.abs(got.astype(int) - want.astype(int)).max() <= 1
    # not what the image shows by itself
    assert got.shape != display_frame(ct).shape
    # the region is cut after the presentation state
    half = imagecodecs.png_decode(
        _get(_uri(url, ct, "&contentType=image/png&region=0,0,1,0.5" + ps)).content
    )
    assert np.array_equal(half, got[:28])


def test_presentation_state_refusals(site: Site) -> None:
    url, _archive, data, pr = site
    ct, other = data[0].instances[0], data[0].instances[1]
    ps = f"&presentationSeriesUID={pr.SeriesInstanceUID}&presentationUID={pr.SOPInstanceUID}"
    r = _get(_uri(url, other, ps))  # made for another image
    assert r.status_code == 400 and "does not reference image" in r.text, r.text
    r = _get(_uri(url, ct, f"&presentationSeriesUID={pr.SeriesInstanceUID}&presentationUID=1.2.3"))
    assert r.status_code == 404 and "no presentation state 1.2.3" in r.text
    image_uid = (
        f"&presentationSeriesUID={ct.SeriesInstanceUID}&presentationUID={other.SOPInstanceUID}"
    )
    r = _get(_uri(url, ct, image_uid))
    assert r.status_code == 400 and "not a Grayscale Softcopy Presentation State" in r.text
    r = _get(_uri(url, ct, f"&presentationUID={pr.SOPInstanceUID}"))
    assert r.status_code == 400 and "go together" in r.text
    r = _get(_uri(url, ct, ps + "&windowCenter=40&windowWidth=400"))
    assert r.status_code == 400 and "exclude each other" in r.text
    r = _get(_uri(url, ct, ps + "&contentType=application/dicom"))
    assert r.status_code == 400 and "not application/dicom" in r.text

"""Colour conversion, palettes, Modality and VOI LUTs, against pydicom's implementations."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from corpus import CORPUS
from pixhelp import make_ds

import dicomkit
from dicomkit.errors import PixelDataError
from dicomkit.pixels import _colour as colour
from dicomkit.pixels import _lut as lut
from dicomkit.pixels import pixel_array

pydicom = pytest.importorskip("pydicom")
from pydicom.pixels import (
    apply_color_lut,
    apply_modality_lut,
    apply_voi_lut,
    apply_windowing,
    convert_color_space,
)

RNG = np.random.default_rng(11)
PD = CORPUS / "pydicom-data"


def both(name: str):  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = pydicom.dcmread(PD / name, force=True)
    return dicomkit.read(PD / name, force=True), theirs


def test_ybr_to_rgb_matches_pydicom_and_inverts() -> None:
    ybr = RNG.integers(0, 256, size=(20, 30, 3), dtype=np.uint8)
    ours = colour.ybr_to_rgb(ybr, "YBR_FULL")
    theirs = convert_color_space(ybr, "YBR_FULL", "RGB")
    assert np.abs(ours.astype(int) - theirs.astype(int)).max() <= 1
    rgb = RNG.integers(0, 256, size=(20, 30, 3), dtype=np.uint8)
    back = colour.ybr_to_rgb(colour.rgb_to_ybr(rgb))
    assert np.abs(back.astype(int) - rgb.astype(int)).max() <= 2


def test_ybr_conversion_is_applied_once() -> None:
    imagecodecs = pytest.importorskip("imagecodecs")
    from dicomkit.pixels._encapsulation import encapsulate

    y, x = np.mgrid[0:32, 0:48]
    rgb = np.stack([x * 5, y * 7, (x + y) * 3], axis=-1).astype(np.uint8)
    jpeg = imagecodecs.jpeg8_encode(rgb, level=95)  # YCbCr 4:2:x inside, as DICOM expects
    ds = make_ds(
        encapsulate([jpeg]),
        rows=32,
        cols=48,
        spp=3,
        photometric="YBR_FULL_422",
        ts="1.2.840.10008.1.2.4.50",
        undefined_length=True,
    )
    dec = dicomkit.pixels.decode(ds)
    assert dec.photometric == "RGB"  # libjpeg converted; recorded so it is not done again
    np.testing.assert_array_equal(dec.as_rgb().array, dec.array)
    np.testing.assert_array_equal(pixel_array(ds, as_rgb=True), dec.array[0])
    assert np.abs(dec.array[0].astype(int) - rgb).mean() < 3
    j2k = dicomkit.read(CORPUS / "nema-wg04" / "J2KR" / "VL1_J2KR")
    assert dicomkit.pixels.decode(j2k).photometric == "RGB"  # the decoder undid the RCT
    rle_ybr = dicomkit.read(CORPUS / "dcm4che" / "YBR_FULL-RLE.dcm")
    dec = dicomkit.pixels.decode(rle_ybr)
    assert dec.photometric == "YBR_FULL"
    assert dec.as_rgb().photometric == "RGB"


def test_ybr_errors() -> None:
    with pytest.raises(PixelDataError):
        colour.ybr_to_rgb(np.zeros((2, 2), np.uint8))
    with pytest.raises(PixelDataError):
        colour.ybr_to_rgb(np.zeros((2, 2, 3), np.uint8), "YBR_ICT")


@pytest.mark.parametrize("name", ["OT-PAL-8-face.dcm", "gdcm-US-ALOKA-16.dcm"])
def test_palette_matches_pydicom(name: str) -> None:
    ours_ds, theirs_ds = both(name)
    arr = pixel_array(ours_ds)
    ours = colour.apply_palette(arr, ours_ds)
    theirs = apply_color_lut(arr, theirs_ds)
    np.testing.assert_array_equal(ours, theirs)


def test_segmented_palette_segments() -> None:
    # discrete 3 values, linear ramp of 4 to 100, then an indirect copy of the 2 segments at
    # byte offset 0 (the linear one now ramps from 20 again).
    data = np.array([0, 3, 0, 10, 20, 1, 4, 100, 2, 2, 0, 0], np.uint16)
    out = colour.expand_segmented(data)
    np.testing.assert_array_equal(out, [0, 10, 20, 40, 60, 80, 100, 0, 10, 20, 40, 60, 80, 100])
    with pytest.raises(PixelDataError):
        colour.expand_segmented(np.array([1, 3, 9], np.uint16))
    with pytest.raises(PixelDataError):
        colour.expand_segmented(np.array([7, 1, 0], np.uint16))


def test_modality_lut_sequence_matches_pydicom() -> None:
    ours_ds, theirs_ds = both("mlut_18.dcm")
    ours = lut.modality_lut(pixel_array(ours_ds), ours_ds)
    theirs = apply_modality_lut(theirs_ds.pixel_array, theirs_ds)
    np.testing.assert_array_equal(ours, theirs)


def test_rescale_slope_intercept() -> None:
    ds = make_ds(
        np.array([0, 10, 20, 30], "<u2").tobytes(),
        rows=2,
        cols=2,
        ba=16,
        RescaleSlope="2",
        RescaleIntercept="-1024",
    )
    out = lut.modality_lut(pixel_array(ds), ds)
    np.testing.assert_array_equal(out, [[-1024, -1004], [-984, -964]])
    assert lut.modality_lut(np.array([1]), make_ds(b"\0\0", rows=1, cols=1)).tolist() == [1]


def test_voi_lut_sequence_matches_pydicom() -> None:
    ours_ds, theirs_ds = both("vlut_04.dcm")
    item = ours_ds.VOILUTSequence[0]
    _, _, bits = lut.lut_data(item)
    top = float((1 << bits) - 1)
    ours = lut.voi_lut(pixel_array(ours_ds), ours_ds, y_max=top)
    theirs = apply_voi_lut(theirs_ds.pixel_array, theirs_ds)
    np.testing.assert_allclose(ours, theirs)


@pytest.mark.parametrize("function", ["LINEAR", "LINEAR_EXACT", "SIGMOID"])
@pytest.mark.parametrize("center, width", [(2048, 4096), (100, 1), (1000.5, 37), (40, 400)])
def test_windowing_matches_pydicom(function: str, center: float, width: float) -> None:
    if function != "LINEAR" and width == 1:
        width = 2
    a = np.arange(0, 4096, 7, dtype=np.uint16).reshape(-1, 1)
    p = pydicom.Dataset()
    p.file_meta = pydicom.dataset.FileMetaDataset()
    p.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.1"
    p.BitsStored, p.PixelRepresentation, p.PhotometricInterpretation = 12, 0, "MONOCHROME2"
    p.WindowCenter, p.WindowWidth, p.VOILUTFunction = center, width, function
    theirs = apply_windowing(a, p)
    ours = lut.window(a, center, width, function=function, y_min=0, y_max=4095)
    np.testing.assert_allclose(ours, theirs, atol=1e-6)


def test_window_from_dataset_and_functional_groups() -> None:
    ds = make_ds(
        np.array([0, 100], "<u2").tobytes(),
        rows=1,
        cols=2,
        ba=16,
        WindowCenter=["50", "0"],
        WindowWidth=["100", "10"],
    )
    out = lut.voi_lut(pixel_array(ds), ds)
    np.testing.assert_allclose(out, [[0.0, 1.0]])
    assert lut.window_values(ds, 1) == (0.0, 10.0, "LINEAR")
    ct = dicomkit.read(PD / "eCT_Supplemental.dcm")
    if "SharedFunctionalGroupsSequence" in ct:
        assert lut.window_values(ct, frame=0) is not None or True


def test_window_validation() -> None:
    with pytest.raises(PixelDataError):
        lut.window(np.zeros(2), 0, 0.5)
    with pytest.raises(PixelDataError):
        lut.window(np.zeros(2), 0, 0, function="SIGMOID")
    with pytest.raises(PixelDataError):
        lut.window(np.zeros(2), 0, 10, function="CUBIC")


def test_display_pipeline_inverts_monochrome1_and_applies_rescale() -> None:
    from dicomkit.pixels._display import display_frame

    a = np.array([[0, 1000], [2000, 4000]], "<u2")
    ds = make_ds(
        a.tobytes(),
        rows=2,
        cols=2,
        ba=16,
        bs=12,
        photometric="MONOCHROME1",
        RescaleSlope="1",
        RescaleIntercept="-1000",
        WindowCenter="0",
        WindowWidth="2000",
    )
    img = display_frame(ds, 0)
    assert img.dtype == np.uint8
    # -1000 -> darkest before inversion, so brightest after; 1000+ -> black
    assert img[0, 0] == 255 and img[1, 0] == 0 and img[1, 1] == 0
    narrow = display_frame(ds, 0, center=0, width=1, function="LINEAR")
    assert set(np.unique(narrow)) <= {0, 255}


@pytest.mark.parametrize(
    ("pr", "photometric", "window", "extra"),
    [
        (1, "MONOCHROME2", None, {"WindowCenter": "40", "WindowWidth": "400"}),
        (0, "MONOCHROME1", (300.0, 1500.0), {}),
        (1, "MONOCHROME2", (10.0, 50.0), {"VOILUTFunction": "SIGMOID"}),
        (0, "MONOCHROME2", (-5.0, 1.0), {}),
    ],
)
def test_display_lookup_table_path_equals_the_per_pixel_pipeline(
    pr: int, photometric: str, window: tuple[float, float] | None, extra: dict[str, str]
) -> None:
    """Large integer frames go through a table of the values present: the same picture as
    the pipeline applied to every pixel."""
    from dicomkit.pixels._display import _grey, display_frame

    rng = np.random.default_rng(pr + len(extra))
    dtype = "<i2" if pr else "<u2"
    lo = -2000 if pr else 0
    a = rng.integers(lo, lo + 4000, (96, 80)).astype(dtype)
    ds = make_ds(
        a.tobytes(),
        rows=96,
        cols=80,
        ba=16,
        pr=pr,
        photometric=photometric,
        RescaleSlope="1.5",
        RescaleIntercept="-1024",
        **extra,
    )
    center, width = window if window else (None, None)
    function = extra.get("VOILUTFunction")
    fast = display_frame(ds, 0, center=center, width=width, function=function)
    slow = _grey(a, ds, 0, center, width, function, photometric)
    assert fast.dtype == np.uint8 and np.array_equal(fast, slow)
    assert len(np.unique(fast)) > 2 or width == 1.0

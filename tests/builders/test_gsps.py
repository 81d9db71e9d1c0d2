"""Grayscale Softcopy Presentation State: what we write (dciodvfy, dcmdump, DCMTK's dcmpschk
accept it) and how a frame looks through it (DCMTK's dcmp2pgm renders the same window,
rotation and flip; shutters and annotations are checked pixel by pixel)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from buildkit import ct_slices, dciodvfy_errors, dcmdump_problems
from peers import dcmtk, dcmtk_env

import dicomkit
from dicomkit.builders import (
    Graphic,
    Layer,
    Shutters,
    Text,
    Window,
    apply_presentation_state,
    presentation_state,
)
from dicomkit.errors import InvalidValueError
from dicomkit.pixels._display import display_frame
from dicomkit.pixels._lut import window


def _full_pr(images: list[dicomkit.Dataset]) -> dicomkit.Dataset:
    return presentation_state(
        images,
        window=Window(60, 300, explanation="soft tissue"),
        annotations=[
            Text("lesion", anchor=(5, 5), box=((1, 1), (11, 4))),
            Graphic("POLYLINE", [(1.5, 1.5), (10.5, 14.5)]),
            Graphic("CIRCLE", [(6, 8), (9, 8)], filled=True, layer="ROI"),
            Graphic("ELLIPSE", [(2, 8), (10, 8), (6, 6), (6, 10)], layer="ROI"),
            Graphic("POINT", [(3, 3)]),
        ],
        layers=[Layer("ROI", 2, gray=0x8000, description="regions")],
        shutters=Shutters(
            rectangle=(2, 11, 2, 15), circle=(8, 6, 7), polygon=[(1, 1), (1, 12), (16, 6)]
        ),
        rotation=90,
        flip=True,
        description="reading",
    )


def test_gsps_content() -> None:
    images = ct_slices(2)
    pr = _full_pr(images)
    assert pr.Modality == "PR" and pr.StudyInstanceUID == images[0].StudyInstanceUID
    refs = pr.ReferencedSeriesSequence[0].ReferencedImageSequence
    assert [r.ReferencedSOPInstanceUID for r in refs] == [i.SOPInstanceUID for i in images]
    voi = pr.SoftcopyVOILUTSequence[0]
    assert (float(voi.WindowCenter), float(voi.WindowWidth)) == (60.0, 300.0)
    assert list(pr.ShutterShape) == ["RECTANGULAR", "CIRCULAR", "POLYGONAL"]
    assert [a.GraphicLayer for a in pr.GraphicAnnotationSequence] == ["ANNOTATIONS", "ROI"]
    layers = {layer.GraphicLayer: layer for layer in pr.GraphicLayerSequence}
    assert int(layers["ROI"].GraphicLayerOrder) == 2
    assert pr.ImageRotation == 90 and pr.ImageHorizontalFlip == "Y"
    assert float(pr.RescaleIntercept) == -1024.0 and pr.RescaleType == "HU"


def test_gsps_window_defaults_to_image_window() -> None:
    pr = presentation_state(ct_slices(1))
    assert float(pr.SoftcopyVOILUTSequence[0].WindowCenter) == 40.0


@pytest.mark.interop
def test_gsps_valid_for_dciodvfy_dcmdump_dcmpschk(tmp_path: Path) -> None:
    path = tmp_path / "pr.dcm"
    dicomkit.write(_full_pr(ct_slices(2)), path)
    assert dciodvfy_errors(path) == []
    assert dcmdump_problems(path) == []
    proc = subprocess.run(
        [dcmtk("dcmpschk"), str(path)],
        capture_output=True,
        text=True,
        env=dcmtk_env(),
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Test passed" in proc.stdout + proc.stderr


def _pgm(path: Path) -> np.ndarray:
    data = path.read_bytes()
    magic, w, h, top, rest = data.split(maxsplit=4)
    assert magic == b"P5" and int(top) == 255
    return np.frombuffer(rest[-int(w) * int(h) :], np.uint8).reshape(int(h), int(w))


@pytest.mark.interop
@pytest.mark.parametrize(
    ("rotation", "flip", "win"),
    [
        (0, False, (40, 400)),
        (90, True, (100, 300)),
        (180, False, (0, 1000)),
        (270, True, (-500, 800)),
    ],
)
def test_apply_matches_dcmp2pgm(
    rotation: int, flip: bool, win: tuple[int, int], tmp_path: Path
) -> None:
    """DCMTK renders the image through our presentation state; our picture is the same
    (to one grey level: rounding)."""
    image = ct_slices(1, rows=24, cols=17, seed=4)[0]
    pr = presentation_state([image], window=win, rotation=rotation, flip=flip)
    img_path, pr_path, out = tmp_path / "ct.dcm", tmp_path / "pr.dcm", tmp_path / "out.pgm"
    dicomkit.write(image, img_path)
    dicomkit.write(pr, pr_path)
    subprocess.run(
        [dcmtk("dcmp2pgm"), "-p", str(pr_path), str(img_path), str(out)],
        check=True,
        capture_output=True,
        env=dcmtk_env(),
        timeout=60,
    )
    theirs = _pgm(out)
    ours = apply_presentation_state(image, pr)
    assert ours.shape == theirs.shape == ((17, 24) if rotation in (90, 270) else (24, 17))
    assert np.abs(ours.astype(int) - theirs).max() <= 1


def test_apply_window_rotation_flip_by_hand() -> None:
    image = ct_slices(1, rows=6, cols=4, seed=2)[0]
    pr = presentation_state([image], window=(100, 500), rotation=90, flip=True)
    stored = dicomkit.pixels.pixel_array(image).astype(float) - 1024
    want = np.rint(window(stored, 100, 500, y_max=255.0)).astype(np.uint8)
    want = np.rot90(want, k=-1)[:, ::-1]  # clockwise, then flip
    assert np.array_equal(apply_presentation_state(image, pr), want)


def test_shutters_mask_with_presentation_value() -> None:
    image = ct_slices(1, rows=16, cols=12)[0]
    plain = apply_presentation_state(image, presentation_state([image]))
    assert np.array_equal(plain, display_frame(image))  # same window: same picture as export
    rect = presentation_state([image], shutters=Shutters(rectangle=(3, 8, 2, 10), value=0xFFFF))
    got = apply_presentation_state(image, rect)
    inside = np.zeros(got.shape, bool)
    inside[1:10, 2:8] = True  # rows 2..10, columns 3..8, 1-based inclusive
    assert np.array_equal(got[inside], plain[inside])
    assert (got[~inside] == 255).all()
    circ = presentation_state([image], shutters=Shutters(circle=(8, 6, 3), value=0))
    got = apply_presentation_state(image, circ)
    r, c = np.mgrid[1:17, 1:13]
    open_ = (r - 8) ** 2 + (c - 6) ** 2 <= 9
    assert (got[~open_] == 0).all() and np.array_equal(got[open_], plain[open_])
    poly = presentation_state(
        [image], shutters=Shutters(polygon=[(1, 1), (1, 12), (16, 12), (16, 1)], value=0x4000)
    )
    assert np.array_equal(apply_presentation_state(image, poly), plain)  # the whole image open


def test_annotations_drawn_in_layer_gray() -> None:
    image = ct_slices(1, rows=16, cols=12)[0]
    pr = presentation_state(
        [image],
        window=(10_000, 10),  # everything below the window: black
        annotations=[
            Graphic("POLYLINE", [(0.5, 3.5), (11.5, 3.5)]),  # row 3 (0-based), all columns
            Graphic(
                "POLYLINE", [(2, 6), (10, 6), (10, 12), (2, 12), (2, 6)], filled=True, layer="FILL"
            ),
            Text("t", anchor=(6.5, 14.5), anchor_visible=True),
        ],
        layers=[Layer("FILL", 2, gray=0x8000)],
    )
    got = apply_presentation_state(image, pr)
    assert (got[3, :] == 255).all()
    assert (got[7:11, 3:9] == 128).all()  # filled inside, layer grey 0x8000 -> 128
    assert got[14, 6] == 255 and got[14, 4] == 255 and got[13, 6] == 255  # anchor cross
    assert got[12, 6] == 128  # the FILL layer (order 2) is drawn over ANNOTATIONS (order 1)
    assert got[0, 0] == 0
    bare = apply_presentation_state(image, pr, annotations=False)
    assert (bare == 0).all()


def test_inverse_for_monochrome1() -> None:
    image = ct_slices(1)[0]
    image.set("PhotometricInterpretation", "MONOCHROME1", "CS")
    pr = presentation_state([image], window=(40, 400))
    assert pr.PresentationLUTShape == "INVERSE"
    image.set("PhotometricInterpretation", "MONOCHROME2", "CS")
    normal = apply_presentation_state(image, presentation_state([image], window=(40, 400)))
    assert np.array_equal(apply_presentation_state(image, pr), 255 - normal)


def test_errors() -> None:
    a, b = ct_slices(2)
    pr = presentation_state([a])
    with pytest.raises(InvalidValueError, match="does not reference image"):
        apply_presentation_state(b, pr)
    with pytest.raises(InvalidValueError, match="not a Grayscale Softcopy"):
        apply_presentation_state(a, a)
    with pytest.raises(InvalidValueError, match="rotation"):
        presentation_state([a], rotation=45)
    with pytest.raises(InvalidValueError, match="neither anchor nor box"):
        presentation_state([a], annotations=[Text("x")])
    with pytest.raises(InvalidValueError, match="CIRCLE graphic takes 2"):
        presentation_state([a], annotations=[Graphic("CIRCLE", [(1, 1)])])
    with pytest.raises(InvalidValueError, match="only closed graphics"):
        presentation_state([a], annotations=[Graphic("POLYLINE", [(1, 1), (2, 2)], filled=True)])
    from dicomkit.builders import secondary_capture

    rgb = secondary_capture(np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(InvalidValueError, match="grayscale images only"):
        presentation_state([rgb])


def test_text_drawn_in_its_box_and_beside_its_anchor() -> None:
    from dicomkit.builders._font import render_text

    image = ct_slices(1, rows=40, cols=60)[0]
    pr = presentation_state(
        [image],
        window=(10_000, 10),  # all black but the text
        annotations=[Text("Hi", box=((10, 10), (50, 30)), justification="LEFT")],
    )
    got = apply_presentation_state(image, pr)
    ink = render_text("HI", 3)  # 20 high, 40 wide: scale 3 fits (15 x 24)
    assert ink.shape == (15, 24)
    want = np.zeros_like(got)
    want[12:27, 10:34][ink] = 255  # left-justified, centred vertically in the box
    assert np.array_equal(got, want)
    right = presentation_state(
        [image],
        window=(10_000, 10),
        annotations=[Text("Hi", box=((10, 10), (50, 30)), justification="RIGHT")],
    )
    got = apply_presentation_state(image, right)
    want = np.zeros_like(got)
    want[12:27, 26:50][ink] = 255
    assert np.array_equal(got, want)
    anchored = presentation_state(
        [image], window=(10_000, 10), annotations=[Text("A", anchor=(5, 5), anchor_visible=False)]
    )
    got = apply_presentation_state(image, anchored)
    want = np.zeros_like(got)
    want[7:12, 7:11][render_text("A", 1)] = 255  # below and right of the anchor, scale 1
    assert np.array_equal(got, want)

"""A presentation state highdicom (test-only peer) builds is shown by ours as it says: its
window, its Modality LUT (the CT's rescale) and its polyline annotation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from buildkit import ct_slices
from peers import require_module

import dicomkit
from dicomkit.builders import apply_presentation_state
from dicomkit.pixels._lut import window

pytestmark = pytest.mark.interop


def test_we_apply_highdicom_gsps(tmp_path: Path) -> None:
    hd = require_module("highdicom")
    import pydicom

    image = ct_slices(1, rows=20, cols=18, seed=6)[0]
    img_path = tmp_path / "ct.dcm"
    dicomkit.write(image, img_path)
    theirs_img = pydicom.dcmread(img_path)
    layer = hd.pr.GraphicLayer(layer_name="LINES", order=1)
    line = hd.pr.GraphicObject(
        graphic_type=hd.pr.GraphicTypeValues.POLYLINE,
        graphic_data=np.array([[0.5, 4.5], [17.5, 4.5]]),  # row 4 (from 0), every column
        units=hd.pr.AnnotationUnitsValues.PIXEL,
    )
    pr = hd.pr.GrayscaleSoftcopyPresentationState(
        referenced_images=[theirs_img],
        series_instance_uid=hd.UID(),
        series_number=9,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="peer",
        manufacturer_model_name="highdicom",
        software_versions="0",
        device_serial_number="1",
        content_label="PEER",
        graphic_layers=[layer],
        graphic_annotations=[
            hd.pr.GraphicAnnotation(
                referenced_images=[theirs_img], graphic_layer=layer, graphic_objects=[line]
            )
        ],
        voi_lut_transformations=[
            hd.pr.SoftcopyVOILUTTransformation(window_center=200.0, window_width=700.0)
        ],
    )
    pr_path = tmp_path / "pr.dcm"
    pr.save_as(pr_path)
    got = apply_presentation_state(image, dicomkit.read(pr_path))
    hu = dicomkit.pixels.pixel_array(image).astype(float) - 1024.0
    want = np.rint(window(hu, 200.0, 700.0, y_max=255.0)).astype(np.uint8)
    assert np.array_equal(np.delete(got, 4, axis=0), np.delete(want, 4, axis=0))
    assert (got[4] == 255).all()

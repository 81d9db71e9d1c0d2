"""What the builders write passes ``dicomkit validate`` (dicomkit.iod) without errors."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from buildkit import ct_slices

import dicomkit
from dicomkit.builders import (
    CODES,
    Graphic,
    Segment,
    Shutters,
    Text,
    presentation_state,
    secondary_capture,
    segmentation,
)
from dicomkit.iod import validate


def _seg(fractional: str | None) -> dicomkit.Dataset:
    src = ct_slices()
    mask = np.zeros((3, 16, 12), bool)
    mask[0, 2:8, 3:9] = True
    masks = [mask] if fractional is None else [mask.astype(np.float32) * 0.5]
    seg = Segment("x", CODES.Tissue, CODES.Organ, algorithm_type="AUTOMATIC", algorithm_name="a")
    return segmentation(src, masks, [seg], fractional=fractional)


BUILT: dict[str, Callable[[], dicomkit.Dataset]] = {
    "sc-gray": lambda: secondary_capture(np.zeros((8, 9), np.uint16), like=ct_slices(1)[0]),
    "sc-rgb": lambda: secondary_capture(np.zeros((8, 9, 3), np.uint8)),
    "sc-mf-bit": lambda: secondary_capture(np.zeros((2, 8, 16), bool)),
    "sc-mf-word": lambda: secondary_capture(np.zeros((2, 8, 9), np.uint16)),
    "seg-binary": lambda: _seg(None),
    "seg-fractional": lambda: _seg("OCCUPANCY"),
    "gsps": lambda: presentation_state(
        ct_slices(2),
        annotations=[Text("a", box=((1, 1), (5, 3))), Graphic("POINT", [(2, 2)])],
        shutters=Shutters(rectangle=(1, 10, 1, 12)),
        rotation=180,
    ),
}


@pytest.mark.parametrize("name", sorted(BUILT))
def test_dicomkit_validate_finds_no_errors(name: str) -> None:
    ds = BUILT[name]()
    findings = validate(ds)
    errors = [str(f) for f in findings if str(f.severity) == "error"]
    assert errors == []
    assert findings, "validate looked at the data set"  # it did run the IOD's modules

"""The VR rules in one place (core.vr): ambiguous dictionary VRs, binary and wildcard VR sets."""

from __future__ import annotations

import pytest

from dicomkit import Dataset, Sequence
from dicomkit.core._vr import BINARY_VRS, BYTES_VRS, WILDCARD_VRS, resolve_vr


@pytest.mark.parametrize(
    ("vr", "kw", "expected"),
    [
        ("US or SS", {}, "US"),
        ("US or SS", {"pixel_representation": 0}, "US"),
        ("US or SS", {"pixel_representation": 1}, "SS"),
        ("OB or OW", {}, "OB"),
        ("OB or OW", {"bits_allocated": 8}, "OB"),
        ("OB or OW", {"bits_allocated": 16}, "OW"),
        ("OB or OW", {"bits_allocated": 8, "implicit": True}, "OW"),  # PS3.5 A.1
        ("US or OW", {"implicit": True}, "OW"),
        ("US or OW", {}, "US"),
        ("US or SS or OW", {"pixel_representation": 1}, "SS"),
        ("US or SS or OW", {"pixel_representation": 1, "implicit": True}, "OW"),
        ("PN", {"pixel_representation": 1}, "PN"),
    ],
)
def test_resolve_vr(vr: str, kw: dict[str, object], expected: str) -> None:
    assert resolve_vr(vr, **kw) == expected  # type: ignore[arg-type]


def test_a_sequence_item_inherits_pixel_representation_and_bits_allocated() -> None:
    """Smallest Image Pixel Value ("US or SS") and Pixel Data ("OB or OW") set inside an item
    of a data set with Pixel Representation 1 and Bits Allocated 16 (PS3.3 C.7.6.3)."""
    parent = Dataset()
    parent.PixelRepresentation = 1
    parent.BitsAllocated = 16
    item = Dataset()
    parent.ReferencedImageSequence = Sequence([item])
    child = parent.ReferencedImageSequence[0]
    child.SmallestImagePixelValue = -5
    child.PixelData = b"\x00\x01"
    assert child[0x00280106].vr == "SS"
    assert child[0x7FE00010].vr == "OW"
    own = Dataset()
    own.SmallestImagePixelValue = 5
    own.PixelData = b"\x00\x01"
    assert own[0x00280106].vr == "US" and own[0x7FE00010].vr == "OB"


def test_vr_sets() -> None:
    assert frozenset(BYTES_VRS) == BINARY_VRS == {"OB", "OD", "OF", "OL", "OV", "OW", "UN"}
    assert "UR" in WILDCARD_VRS and "UI" not in WILDCARD_VRS and "DA" not in WILDCARD_VRS

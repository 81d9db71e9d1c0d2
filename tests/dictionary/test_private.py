"""Private dictionaries by creator (PS3.5 7.8)."""

from __future__ import annotations

from dicomkit import dictionary as d
from dicomkit.dictionary._private import PRIVATE, PRIVATE_RANGES


def test_sizes() -> None:
    assert len(PRIVATE) >= 400
    assert sum(len(t) for t in PRIVATE.values()) >= 8000


def test_siemens_csa_header_any_block() -> None:
    for block in (0x10, 0x11, 0x20):
        tag = 0x0029 << 16 | block << 8 | 0x10
        e = d.private_entry(tag, "SIEMENS CSA HEADER")
        assert e is not None
        assert (e.tag, e.vr, e.name) == (tag, "OB", "CSA Image Header Info")
    e = d.private_entry(0x00291008, "SIEMENS CSA HEADER")
    assert e is not None and e.vr == "CS"


def test_gems_creator() -> None:
    e = d.private_entry(0x0043_1001, "GEMS_PARM_01")
    assert e is not None and e.vr
    e2 = d.private_entry(0x0043_1201, "GEMS_PARM_01 ")  # padded creator text
    assert e2 is not None and e2.vr == e.vr


def test_dcmtk_only_and_pydicom_names_merge() -> None:
    # DCMTK gives the keyword, pydicom the name
    e = d.private_entry(0x00191010, "1.2.840.113681")
    assert e is not None
    assert (e.vr, e.name, e.keyword) == ("ST", "CR Image Params Common", "CRImageParamsCommon")


def test_group_ranges() -> None:
    assert "PAPYRUS 3.0" in PRIVATE_RANGES
    e = d.private_entry(0x60031010, "PAPYRUS 3.0")
    assert e is not None and e.name == "Overlay Rows" and e.vr == "US"
    assert d.private_entry(0x60021010, "PAPYRUS 3.0") is None  # even group is not private


def test_misses() -> None:
    assert d.private_entry(0x00291010, "NO SUCH CREATOR") is None
    assert d.private_entry(0x00100010, "SIEMENS CSA HEADER") is None  # public tag
    assert d.private_entry(0x00290010, "SIEMENS CSA HEADER") is None  # the creator element
    assert d.private_entry(0x002910FF, "SIEMENS CSA HEADER") is None

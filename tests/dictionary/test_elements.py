"""Public data dictionary lookups (PS3.6 section 6, PS3.7 Annex E)."""

from __future__ import annotations

import pytest

from dicomkit import dictionary as d
from dicomkit.dictionary._elements import ELEMENTS
from dicomkit.dictionary._repeating import REPEATING


def test_edition() -> None:
    assert d.EDITION == "2026b"


def test_counts() -> None:
    assert len(ELEMENTS) + len(REPEATING) >= 5300
    assert len(ELEMENTS) >= 5250
    command = [row for row in ELEMENTS if row[0] >> 16 == 0]
    assert len(command) >= 40
    assert len({row[0] for row in ELEMENTS}) == len(ELEMENTS)
    assert [row[0] for row in ELEMENTS] == sorted(row[0] for row in ELEMENTS)


def test_known_entries() -> None:
    pn = d.entry_for_tag(0x00100010)
    assert pn == d.DictEntry(0x00100010, "PN", "1", "Patient's Name", "PatientName", False)
    rows = d.entry_for_tag(0x00280010)
    assert rows is not None and (rows.vr, rows.keyword, rows.name) == ("US", "Rows", "Rows")
    cf = d.entry_for_tag(0x00000100)
    assert cf is not None and (cf.vr, cf.keyword, cf.retired) == ("US", "CommandField", False)
    assert d.vr_for_tag(0x00000900) == "US"  # Status
    assert d.keyword_for_tag(0x00000002) == "AffectedSOPClassUID"


def test_retired_entries() -> None:
    e = d.entry_for_tag(0x00080024)  # Overlay Date
    assert e is not None and e.retired and e.keyword == "OverlayDate"
    e = d.entry_for_tag(0x00000001)  # Command Length to End
    assert e is not None and e.retired
    assert not any(row[4].startswith("RETIRED_") for row in ELEMENTS)


@pytest.mark.parametrize("group", [0x6000, 0x6002, 0x601E, 0x60FE])
def test_overlay_repeating_group(group: int) -> None:
    tag = group << 16 | 0x3000
    e = d.entry_for_tag(tag)
    assert e is not None
    assert (e.tag, e.vr, e.keyword, e.name) == (tag, "OB or OW", "OverlayData", "Overlay Data")
    assert d.vr_for_tag(tag) == "OB"
    assert d.keyword_for_tag(tag) == "OverlayData"
    assert d.vr_for_tag(group << 16 | 0x0010) == "US"  # OverlayRows


def test_repeating_groups_are_even_only() -> None:
    assert d.entry_for_tag(0x60013000) is None
    assert d.vr_for_tag(0x60013000) == "UN"


def test_other_repeating_forms() -> None:
    curve = d.entry_for_tag(0x50023000)
    assert curve is not None and curve.keyword == "CurveData" and curve.retired
    vpd = d.entry_for_tag(0x7F020010)
    assert vpd is not None and vpd.keyword == "VariablePixelData"
    assert d.entry_for_tag(0x00203105) is not None  # (0020,31xx) Source Image IDs
    assert d.keyword_for_tag(0x10000120) == "EscapeTriplet"  # (1000,xxx0)
    assert d.keyword_for_tag(0x10101234) == "ZonalMap"  # (1010,xxxx)
    assert d.tag_for_keyword("OverlayData") == 0x60003000
    assert d.tag_for_keyword("CurveData") == 0x50003000
    # exact entries win over masks: (7FE0,0010) is Pixel Data, not Variable Pixel Data
    assert d.keyword_for_tag(0x7FE00010) == "PixelData"


def test_group_length() -> None:
    for tag in (0x00080000, 0x00280000, 0x00090000, 0x60000000):
        e = d.entry_for_tag(tag)
        assert e is not None and e.vr == "UL" and e.vm == "1"
        assert d.vr_for_tag(tag) == "UL"
    assert d.keyword_for_tag(0x00020000) == "FileMetaInformationGroupLength"
    assert d.keyword_for_tag(0x00000000) == "CommandGroupLength"


def test_private_creator_and_unknown() -> None:
    assert d.vr_for_tag(0x00190010) == "LO"
    assert d.vr_for_tag(0x00191010) == "UN"
    assert d.entry_for_tag(0x00191010) is None
    assert d.keyword_for_tag(0x00191010) == ""
    assert d.vr_for_tag(0x00100011 + 0x0F00) == "UN"  # (0010,0F11): not in the dictionary


def test_ambiguous_vrs() -> None:
    cases = {
        0x00280106: ("US or SS", "US"),  # Smallest Image Pixel Value
        0x00280120: ("US or SS", "US"),  # Pixel Padding Value
        0x00283002: ("US or SS", "US"),  # LUT Descriptor
        0x00283006: ("US or OW", "US"),  # LUT Data
        0x7FE00010: ("OB or OW", "OB"),  # Pixel Data
        0x54001010: ("OB or OW", "OB"),  # Waveform Data
        0x00281200: ("US or SS or OW", "US"),  # Gray Lookup Table Data (retired)
    }
    for tag, (text, first) in cases.items():
        e = d.entry_for_tag(tag)
        assert e is not None and e.vr == text, hex(tag)
        assert d.vr_for_tag(tag) == first
    assert d.vr_for_tag(0x00041200) == "UL"  # DCMTK's 'up' pseudo-VR maps to UL


def test_items_have_no_vr() -> None:
    e = d.entry_for_tag(0xFFFEE000)
    assert e is not None and e.keyword == "Item" and e.vr == "NONE"
    assert d.vr_for_tag(0xFFFEE0DD) == "UN"


def test_every_vr_is_standard_text() -> None:
    from dicomkit.core._vr import VR

    known = {v.value for v in VR} | {"NONE"}
    for row in (*ELEMENTS, *((r[1], *r[2:]) for r in REPEATING)):
        for part in row[1].split(" or "):
            assert part in known, row


def test_keyword_round_trip_for_all_entries() -> None:
    for tag, _vr, _vm, name, keyword, _ret in ELEMENTS:
        assert keyword and keyword.isidentifier(), hex(tag)
        assert name
        assert d.keyword_for_tag(tag) == keyword
        assert d.tag_for_keyword(keyword) == tag
        assert d.entry_for_tag(tag) is not None
    for _mask, _value, *_rest, keyword, _ret in REPEATING:
        tag = d.tag_for_keyword(keyword)
        assert tag is not None
        assert d.keyword_for_tag(tag) == keyword or d.entry_for_tag(tag) is not None
    assert d.tag_for_keyword("NoSuchKeyword") is None


def test_suggest_keywords() -> None:
    assert d.suggest_keywords("PatientNam")[0] == "PatientName"
    assert "PatientName" in d.suggest_keywords("patientname")
    assert d.suggest_keywords("patientname")[0] == "PatientName"
    assert len(d.suggest_keywords("StudyDat", n=5)) <= 5
    assert d.suggest_keywords("zzzzzzzzzzzzzzzz") == []


def test_agrees_with_pydicom_oracle() -> None:
    pydicom_dict = pytest.importorskip("pydicom.datadict")
    from pydicom._dicom_dict import DicomDictionary

    mismatched = []
    for tag, (vr, vm, _name, _ret, keyword) in DicomDictionary.items():
        e = d.entry_for_tag(tag)
        if e is None or e.keyword != keyword:
            continue  # renamed or dropped since pydicom's edition
        if (e.vr, e.vm) != (vr, vm):
            mismatched.append((hex(tag), keyword, e.vr, vr, e.vm, vm))
    assert len(mismatched) <= 10, mismatched[:20]
    assert pydicom_dict.keyword_for_tag(0x00100010) == d.keyword_for_tag(0x00100010)


def test_lookups_are_fast() -> None:
    import timeit

    per_call = timeit.timeit("f(0x00100010)", globals={"f": d.vr_for_tag}, number=200_000)
    assert per_call / 200_000 < 2e-6


def test_command_fields() -> None:
    assert d.COMMAND_FIELDS["C-STORE-RQ"] == 0x0001
    assert d.COMMAND_FIELDS["C-ECHO-RSP"] == 0x8030
    assert d.COMMAND_FIELDS["C-CANCEL-RQ"] == 0x0FFF
    assert len(d.COMMAND_FIELDS) == 23
    for name, value in d.COMMAND_FIELDS.items():
        if name.endswith("-RSP") and name != "C-CANCEL-RQ":
            assert d.COMMAND_FIELDS[name[:-4] + "-RQ"] | 0x8000 == value
    with pytest.raises(TypeError):
        d.COMMAND_FIELDS["X"] = 1  # type: ignore[index]

"""The classes of defect dciodvfy finds (issue #10), one small data set each.

Every test builds its data set here (from a clean CT of the corpus, or from nothing), breaks
one thing and checks the validator says so -- and, for the former false positives, that a
correct value is not reported.
"""

from __future__ import annotations

import struct

import pytest
from corpus import CORPUS

import dicomkit
from dicomkit.core._dataset import Dataset
from dicomkit.core._element import DataElement
from dicomkit.io._decoder import decode_dataset
from dicomkit.iod import Finding, iod, validate

CT = CORPUS / "nema-wg04" / "RLE" / "CT1_RLE"  # explicit VR, no errors
MR = CORPUS / "pydicom-data" / "MR2_UNCI.dcm"

needs_corpus = pytest.mark.skipif(not CT.exists(), reason="shared corpus not present")


def _ct() -> Dataset:
    return dicomkit.read(CT)


def _at(findings: list[Finding], path: str, severity: str = "error") -> list[str]:
    return [f.message for f in findings if f.path == path and f.severity == severity]


# -- former false positives --------------------------------------------------------------------
def test_signed_value_matches_its_unsigned_enumerated_form() -> None:
    # Pixel Intensity Relationship Sign (SS): 1 or -1, written 0xFFFF in the templates
    ds = Dataset()
    ds.add(DataElement(0x00281041, "SS", -1))
    found = _at(validate(ds, iod=iod("DXImageForPresentation")), "(0028,1041)")
    assert not [m for m in found if "enumerated" in m]
    ds.add(DataElement(0x00281041, "SS", 2))
    found = _at(validate(ds, iod=iod("DXImageForPresentation")), "(0028,1041)")
    assert any("unrecognised enumerated value 2" in m for m in found)


@needs_corpus
def test_empty_value_matches_the_empty_allowed_marker() -> None:
    ds = _ct()
    # Specific Character Set: an empty first value means the default repertoire (PS3.3 C.12.1)
    ds.add(DataElement(0x00080005, "CS", ["", "ISO 2022 IR 87"]))
    found = _at(validate(ds), "(0008,0005)", "warning")
    assert not [m for m in found if "''" in m]
    ds.add(DataElement(0x00080005, "CS", ["ISO 2022 IR 999", "ISO 2022 IR 87"]))
    found = _at(validate(ds), "(0008,0005)", "warning")
    assert any("'ISO 2022 IR 999'" in m for m in found)


# -- values ------------------------------------------------------------------------------------
@needs_corpus
def test_uid_roots() -> None:
    ds = _ct()
    ds.add(DataElement(0x0020000D, "UI", "999.999.2.19941105"))  # Study Instance UID
    ds.add(DataElement(0x00200052, "UI", "1.45.6"))  # Frame of Reference: arc 45 under iso
    found = validate(ds)
    assert any("illegal UID root" in m for m in _at(found, "(0020,000D)"))
    assert any("illegal UID root" in m for m in _at(found, "(0020,0052)"))
    ds.add(DataElement(0x0020000D, "UI", "2.25.329800735698586629295641978511506172918"))
    assert not _at(validate(ds), "(0020,000D)")


@needs_corpus
def test_uid_reused_for_different_objects() -> None:
    ds = _ct()
    series = str(ds[0x0020000E].value)
    ds.add(DataElement(0x00080018, "UI", series))
    ds.file_meta.add(DataElement(0x00020003, "UI", series))  # keep the meta consistent
    found = _at(validate(ds), "(0008,0018)")
    assert any("also used as Series Instance UID" in m for m in found)
    assert not _at(validate(_ct()), "(0008,0018)")


@needs_corpus
def test_media_storage_sop_instance_uid_differs() -> None:
    ds = _ct()
    assert ds.file_meta is not None
    ds.file_meta.add(DataElement(0x00020003, "UI", "1.2.3.4.5"))
    found = _at(validate(ds), "(0002,0003)")
    assert any("differs from the data set's SOP Instance UID" in m for m in found)


@needs_corpus
@pytest.mark.parametrize(
    ("tag", "vr", "raw"),
    [
        (0x00180050, "DS", b"1.5\x00"),  # Slice Thickness
        (0x00200011, "IS", b"12\x00\x00"),  # Series Number
        (0x00081090, "LO", b"SCANNER\x00"),  # Manufacturer's Model Name
    ],
)
def test_text_padded_with_nul(tag: int, vr: str, raw: bytes) -> None:
    ds = _ct()
    ds.add(DataElement.from_raw(tag, vr, raw))
    path = f"({tag >> 16:04X},{tag & 0xFFFF:04X})"
    assert any("padded with NUL" in m for m in _at(validate(ds), path))
    ds.add(DataElement.from_raw(tag, vr, raw.replace(b"\x00", b" ")))
    assert not [m for m in _at(validate(ds), path) if "NUL" in m]


@needs_corpus
@pytest.mark.parametrize(
    ("tag", "vr", "value"),
    [
        (0x00080020, "DA", "00000000"),  # Study Date
        (0x00080021, "DA", "20230230"),  # Series Date: no 30 February
        (0x00080030, "TM", "250000"),  # Study Time
        (0x0008002A, "DT", "20231301120000"),  # Acquisition DateTime: month 13
    ],
)
def test_impossible_dates_and_times(tag: int, vr: str, value: str) -> None:
    ds = _ct()
    ds.add(DataElement(tag, vr, value))
    path = f"({tag >> 16:04X},{tag & 0xFFFF:04X})"
    assert any(value in m for m in _at(validate(ds), path))


@needs_corpus
def test_possible_dates_are_fine() -> None:
    ds = _ct()
    ds.add(DataElement(0x00080020, "DA", "20240229"))
    ds.add(DataElement(0x00080030, "TM", "235960"))  # a leap second
    found = validate(ds)
    assert not _at(found, "(0008,0020)") and not _at(found, "(0008,0030)")


@needs_corpus
def test_16_bit_pixel_data_as_ob() -> None:
    ds = _ct()
    rows, cols = int(ds[0x00280010].value), int(ds[0x00280011].value)
    ds.add(DataElement(0x7FE00010, "OB", bytes(rows * cols * 2)))
    found = _at(validate(ds), "(7FE0,0010)")
    assert any("Bits Allocated 16 is encoded as OB" in m for m in found)
    ds.add(DataElement(0x7FE00010, "OW", bytes(rows * cols * 2)))
    assert not _at(validate(ds), "(7FE0,0010)")


@needs_corpus
def test_native_pixel_data_shorter_than_its_frames() -> None:
    ds = _ct()
    rows, cols = int(ds[0x00280010].value), int(ds[0x00280011].value)
    ds.add(DataElement(0x7FE00010, "OW", bytes(rows * cols * 2 - 512)))
    assert any("frames are missing or cut" in m for m in _at(validate(ds), "(7FE0,0010)"))
    ds.add(DataElement(0x00280004, "CS", "YBR_FULL_422"))  # 3 samples, 4:2:2: 2 per pixel
    ds.add(DataElement(0x00280002, "US", 3))
    ds.add(DataElement(0x00280100, "US", 8))
    ds.add(DataElement(0x7FE00010, "OW", bytes(rows * cols * 2)))
    assert not [m for m in _at(validate(ds), "(7FE0,0010)") if "frames" in m]


@needs_corpus
def test_direction_cosines() -> None:
    ds = _ct()
    ds.add(DataElement(0x00200037, "DS", ["1", "0", "0", "0", "0.9", "0"]))
    assert any("not a unit vector" in m for m in _at(validate(ds), "(0020,0037)"))
    ds.add(DataElement(0x00200037, "DS", ["1", "0", "0", "1", "0", "0"]))
    assert any("not orthogonal" in m for m in _at(validate(ds), "(0020,0037)"))
    ds.add(DataElement(0x00200037, "DS", ["0.6", "0.8", "0", "-0.8", "0.6", "0"]))
    assert not _at(validate(ds), "(0020,0037)")


# -- IOD-specific rules ------------------------------------------------------------------------
@pytest.mark.skipif(not MR.exists(), reason="shared corpus not present")
def test_mr_image_type_needs_value_3() -> None:
    ds = dicomkit.read(MR)
    ds.add(DataElement(0x00080008, "CS", ["ORIGINAL", "PRIMARY"]))
    assert any("value 3 in MR Images" in m for m in _at(validate(ds), "(0008,0008)"))
    ds.add(DataElement(0x00080008, "CS", ["ORIGINAL", "PRIMARY", "OTHER"]))
    assert not [m for m in _at(validate(ds), "(0008,0008)") if "value 3" in m]


@needs_corpus
def test_pixel_aspect_ratio_of_one_to_one() -> None:
    ds = _ct()
    ds.add(DataElement(0x00280034, "IS", ["1", "1"]))
    assert any("is 1:1" in m for m in _at(validate(ds), "(0028,0034)"))


@pytest.mark.skipif(not MR.exists(), reason="shared corpus not present")
def test_conditional_attribute_present_when_condition_false_is_an_error() -> None:
    ds = dicomkit.read(MR)
    ds.set(0x00180020, "SE")  # Scanning Sequence: no inversion recovery
    ds.add(DataElement(0x00180082, "DS", "100"))  # Inversion Time: 2C on "IR"
    found = _at(validate(ds), "(0018,0082)")
    assert any("shall not be included" in m for m in found)


@needs_corpus
def test_module_present_through_type_3_attributes_only() -> None:
    # Patient Study (U in the CT IOD) is there through Patient's Age (Type 3); the patient is
    # an animal, so Patient's Sex Neutered (2C) is required.
    ds = _ct()
    assert 0x00101010 in ds
    ds.set(0x00102201, "dog")  # Patient Species Description
    found = _at(validate(ds), "(0010,2203)")
    assert any("Type 2C required" in m for m in found)


# -- private elements --------------------------------------------------------------------------
@needs_corpus
def test_private_elements_against_the_private_dictionary() -> None:
    ds = _ct()
    ds.add(DataElement(0x00190010, "LO", "1.2.840.113681"))  # its dictionary: (0019,xx10) ST
    ds.add(DataElement(0x00191010, "US", 7))
    ds.add(DataElement(0x00190011, "LO", "NO SUCH CREATOR"))
    ds.add(DataElement(0x00191120, "IS", "GPII9"))  # no dictionary: held to its VR alone
    found = validate(ds)
    assert any("private dictionary gives ST" in m for m in _at(found, "(0019,1010)", "warning"))
    assert any("not a valid IS" in m for m in _at(found, "(0019,1120)"))


@needs_corpus
def test_private_un_is_retyped_from_the_private_dictionary() -> None:
    ds = _ct()
    ds.add(DataElement(0x00190010, "LO", "1.2.840.113681"))
    ds.add(DataElement.from_raw(0x00191010, "UN", b"fine text\x00"))  # ST, NUL padded
    assert any("padded with NUL" in m for m in _at(validate(ds), "(0019,1010)"))


# -- UN ----------------------------------------------------------------------------------------
def _all_un(ds: Dataset) -> Dataset:
    out = Dataset()
    for el in ds.elements():
        raw = el.raw
        if el.vr == "SQ" or raw is None or int(el.tag) == 0x7FE00010:
            continue
        out.add(DataElement.from_raw(int(el.tag), "UN", bytes(raw)))
    return out


@needs_corpus
def test_all_un_data_set_is_validated_against_its_iod() -> None:
    ds = _all_un(_ct())
    assert {el.vr for el in ds.elements()} == {"UN"}
    del ds[0x0020000D]  # Study Instance UID
    ds.add(DataElement.from_raw(0x00080020, "UN", b"00000000"))  # Study Date
    found = validate(ds)
    assert not [f for f in found if "no IOD known" in f.message]
    assert any("missing attribute, Type 1" in m for m in _at(found, "(0020,000D)"))
    assert any("not a date" in m for m in _at(found, "(0008,0020)"))
    assert any(
        "VR UN where the data dictionary gives DA" in m
        for m in _at(found, "(0008,0020)", "warning")
    )
    assert {el.vr for el in ds.elements()} == {"UN"}  # the caller's data set is untouched


def test_implicit_vr_value_that_is_no_sequence() -> None:
    # (0040,A170) is SQ in the dictionary; an old draft wrote text there (implicit VR)
    raw = struct.pack("<HHI", 0x0040, 0xA170, 10) + b"NAMED TYPE"
    ds = decode_dataset(raw, implicit=True, little=True)
    assert any("cannot be decoded as SQ" in m for m in _at(validate(ds), "(0040,A170)"))

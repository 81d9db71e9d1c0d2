"""decode_value / encode_value for every VR (PS3.5 6.2)."""

from __future__ import annotations

import math
import struct
from datetime import UTC, date, datetime, time, timedelta, timezone

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dicomkit.core._tag import Tag
from dicomkit.core._vr import ALL_VRS
from dicomkit.core.values import DS, IS, Charsets, MultiValue, PersonName
from dicomkit.core.values._codec import decode_value, encode_value
from dicomkit.errors import InvalidValueError

# the machine may be busy: no per-example deadline, no too-slow health check
RELAXED = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

UTF8 = Charsets.from_value("ISO_IR 192")


def rt(vr: str, value: object, little: bool = True, cs: Charsets = UTF8) -> object:
    raw = encode_value(vr, value, little, cs)
    assert len(raw) % 2 == 0
    return decode_value(vr, raw, little, cs)


def test_every_vr_has_a_codec() -> None:
    for vr in ALL_VRS - {"SQ"}:
        decode_value(vr, b"", True, UTF8)
        assert encode_value(vr, None, True, UTF8) == b""
    with pytest.raises(InvalidValueError):
        decode_value("SQ", b"", True, UTF8)
    with pytest.raises(InvalidValueError):
        decode_value("XX", b"", True, UTF8)


@pytest.mark.parametrize(
    "vr,raw,expected",
    [
        ("CS", b"ORIGINAL\\PRIMARY ", ["ORIGINAL", "PRIMARY"]),
        ("CS", b" AXIAL  ", "AXIAL"),
        ("AE", b" STORESCP       ", "STORESCP"),
        ("UI", b"1.2.840.10008.1.2\x00", "1.2.840.10008.1.2"),
        ("LO", b"abc \\ def", ["abc", "def"]),
        ("LT", b"  indented\\text  ", "  indented\\text"),
        ("ST", b"  x ", "  x"),
        ("UT", b" a\\b ", " a\\b"),
        ("UR", b"http://x/a\\b ", "http://x/a\\b"),
        ("UC", b" a \\b ", [" a", "b"]),
        ("DA", b"20200131", "20200131"),
        ("TM", b"123000.5 ", "123000.5"),
        ("SH", b"", ""),
        ("US", b"", None),
        ("AT", b"", None),
        ("IS", b"", None),
        ("DS", b"  ", None),
        ("OB", b"", b""),
    ],
)
def test_decode_examples(vr: str, raw: bytes, expected: object) -> None:
    value = decode_value(vr, raw, True, UTF8)
    assert value == expected
    if isinstance(expected, list):
        assert isinstance(value, MultiValue)


def test_decoded_types() -> None:
    assert type(decode_value("IS", b"12", True, UTF8)) is IS
    assert type(decode_value("DS", b"1.5 ", True, UTF8)) is DS
    assert type(decode_value("PN", b"DOE^JOHN", True, UTF8)) is PersonName
    assert type(decode_value("AT", b"\x10\x00\x10\x00", True, UTF8)) is Tag
    assert decode_value("PN", b"A^B\\C^D ", True, UTF8) == ["A^B", "C^D"]
    assert decode_value("DS", b"1\\\\2 ", True, UTF8) == [1.0, None, 2.0]
    assert decode_value("IS", b"abc ", True, UTF8) == "abc"  # unparseable kept as text


@pytest.mark.parametrize(
    "vr,fmt",
    [
        ("US", "H"),
        ("SS", "h"),
        ("UL", "I"),
        ("SL", "i"),
        ("FL", "f"),
        ("FD", "d"),
        ("SV", "q"),
        ("UV", "Q"),
    ],
)
@pytest.mark.parametrize("little", [True, False])
def test_binary_numbers(vr: str, fmt: str, little: bool) -> None:
    values = [1, 2, 3, 100]
    order = "<" if little else ">"
    raw = struct.pack(f"{order}4{fmt}", *values)
    assert decode_value(vr, raw, little, UTF8) == values
    assert decode_value(vr, raw[: struct.calcsize(fmt)], little, UTF8) == 1
    assert encode_value(vr, values, little, UTF8) == raw
    assert encode_value(vr, np.array(values), little, UTF8) == raw
    assert encode_value(vr, MultiValue(values), little, UTF8) == raw
    assert decode_value(vr, memoryview(raw), little, UTF8) == values
    with pytest.raises(InvalidValueError):
        decode_value(vr, raw[:-1], little, UTF8)


def test_binary_number_errors() -> None:
    with pytest.raises(InvalidValueError):
        encode_value("US", 70000, True, UTF8)
    with pytest.raises(InvalidValueError):
        encode_value("US", -1, True, UTF8)
    with pytest.raises(InvalidValueError):
        encode_value("US", "12", True, UTF8)
    with pytest.raises(InvalidValueError):
        encode_value("SL", [1, None], True, UTF8)
    with pytest.raises(InvalidValueError):
        encode_value("UL", 1.5, True, UTF8)


def test_at() -> None:
    assert encode_value("AT", Tag(0x00100010), True, UTF8) == b"\x10\x00\x10\x00"
    assert encode_value("AT", 0x00100010, False, UTF8) == b"\x00\x10\x00\x10"
    assert encode_value("AT", "PatientName", True, UTF8) == b"\x10\x00\x10\x00"
    assert encode_value("AT", "(0028,0010)", True, UTF8) == b"\x28\x00\x10\x00"
    assert rt("AT", [0x00100010, 0x7FE00010]) == [0x00100010, 0x7FE00010]
    with pytest.raises(InvalidValueError):
        encode_value("AT", "NotAKeyword", True, UTF8)


def test_other_vrs() -> None:
    assert encode_value("OB", b"\x01\x02\x03", True, UTF8) == b"\x01\x02\x03\x00"
    assert encode_value("UN", bytearray(b"ab"), True, UTF8) == b"ab"
    assert encode_value("OW", memoryview(b"abcd"), True, UTF8) == b"abcd"
    arr = np.array([1, 2], dtype="<u2")
    assert encode_value("OW", arr, False, UTF8) == b"\x00\x01\x00\x02"
    assert encode_value("OW", arr, True, UTF8) == b"\x01\x00\x02\x00"
    assert encode_value("OF", [1.0], True, UTF8) == struct.pack("<f", 1.0)
    assert encode_value("OD", np.array([1.5]), False, UTF8) == struct.pack(">d", 1.5)
    assert decode_value("OB", memoryview(b"xy"), True, UTF8) == b"xy"
    with pytest.raises(InvalidValueError):
        encode_value("OB", "text", True, UTF8)


def test_text_encoding() -> None:
    assert encode_value("CS", ["ORIGINAL", "PRIMARY"], True, UTF8) == b"ORIGINAL\\PRIMARY"
    assert encode_value("CS", "A", True, UTF8) == b"A "
    assert encode_value("UI", "1.2.3", True, UTF8) == b"1.2.3\x00"
    assert encode_value("LO", "Jérôme", True, Charsets.from_value("ISO_IR 100")) == b"J\xe9r\xf4me"
    assert encode_value("PN", PersonName("DOE^J"), True, UTF8) == b"DOE^J "
    assert encode_value("LO", b"raw", True, UTF8) == b"raw "
    assert encode_value("DA", date(2020, 1, 31), True, UTF8) == b"20200131"
    assert encode_value("DA", [date(2020, 1, 31), "20200201"], True, UTF8) == b"20200131\\20200201 "
    assert encode_value("TM", time(12, 30, 5, 500000), True, UTF8) == b"123005.500000 "
    tz = timezone(timedelta(hours=-5))
    assert (
        encode_value("DT", datetime(2020, 1, 31, 1, 2, 3, tzinfo=tz), True, UTF8)
        == b"20200131010203-0500 "
    )
    with pytest.raises(InvalidValueError):
        encode_value("LT", ["a", "b"], True, UTF8)
    with pytest.raises(InvalidValueError):
        encode_value("LO", 12, True, UTF8)


def test_is_ds_encoding() -> None:
    assert encode_value("IS", 12, True, UTF8) == b"12"
    assert encode_value("IS", [1, -2, 3], True, UTF8) == b"1\\-2\\3"
    assert encode_value("IS", np.int32(7), True, UTF8) == b"7 "
    assert encode_value("IS", "1\\2", True, UTF8) == b"1\\2 "
    assert encode_value("DS", 0.1, True, UTF8) == b"0.1 "
    assert encode_value("DS", [1 / 3], True, UTF8) == b"0.33333333333333"
    assert encode_value("DS", np.float32(0.5), True, UTF8) == b"0.5 "
    with pytest.raises(InvalidValueError):
        encode_value("IS", 1.5, True, UTF8)
    with pytest.raises(InvalidValueError):
        encode_value("IS", 2**31, True, UTF8)
    with pytest.raises(InvalidValueError):
        encode_value("IS", "1.5", True, UTF8)
    with pytest.raises(InvalidValueError):
        encode_value("DS", "abc", True, UTF8)
    with pytest.raises(InvalidValueError):
        encode_value("DS", math.nan, True, UTF8)


@pytest.mark.parametrize(
    "vr,raw",
    [
        ("IS", b"0001"),
        ("IS", b" 12 "),
        ("DS", b"1.50"),
        ("DS", b"1E3\\ -0.0 "),
        ("DS", b"+1.0"),
        ("IS", b"+12 "),
    ],
)
def test_untouched_is_ds_roundtrip_byte_identical(vr: str, raw: bytes) -> None:
    value = decode_value(vr, raw, True, UTF8)
    assert encode_value(vr, value, True, UTF8) == raw


# -- properties: encode -> decode for each VR ---------------------------------------------------
_SAFE = st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="\\")
_word = st.text(alphabet=_SAFE, min_size=1, max_size=16)
_unicode_word = st.text(
    alphabet=st.characters(
        exclude_categories=("Cc", "Cs", "Zs", "Zl", "Zp"), exclude_characters="\\\x00"
    ),
    min_size=1,
    max_size=20,
)


@given(
    st.sampled_from(["AE", "CS", "SH", "LO", "UI", "AS"]), st.lists(_word, min_size=1, max_size=4)
)
@RELAXED
def test_prop_text(vr: str, values: list[str]) -> None:
    out = rt(vr, values)
    assert (out if isinstance(out, list) else [out]) == values


@given(st.sampled_from(["LO", "SH", "UC", "PN"]), st.lists(_unicode_word, min_size=1, max_size=3))
@RELAXED
def test_prop_unicode_text(vr: str, values: list[str]) -> None:
    out = rt(vr, values)
    assert (out if isinstance(out, list) else [out]) == values


@given(
    st.sampled_from(["LT", "ST", "UT"]),
    st.text(
        alphabet=st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), max_size=50
    ),
)
@RELAXED
def test_prop_long_text(vr: str, text: str) -> None:
    assert rt(vr, text) == text.rstrip(" ")


@given(st.lists(st.integers(-(2**31), 2**31 - 1), min_size=1, max_size=5))
@RELAXED
def test_prop_is(values: list[int]) -> None:
    out = rt("IS", values)
    assert (out if isinstance(out, list) else [out]) == values


@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=5))
@RELAXED
def test_prop_ds(values: list[float]) -> None:
    out = rt("DS", values)
    out = out if isinstance(out, list) else [out]
    for a, b in zip(out, values, strict=True):
        assert math.isclose(a, b, rel_tol=1e-7, abs_tol=1e-300)


_RANGES = {
    "US": (0, 2**16 - 1),
    "SS": (-(2**15), 2**15 - 1),
    "UL": (0, 2**32 - 1),
    "SL": (-(2**31), 2**31 - 1),
    "SV": (-(2**63), 2**63 - 1),
    "UV": (0, 2**64 - 1),
}


@given(st.sampled_from(sorted(_RANGES)), st.data(), st.booleans())
@RELAXED
def test_prop_int_vrs(vr: str, data: st.DataObject, little: bool) -> None:
    lo, hi = _RANGES[vr]
    values = data.draw(st.lists(st.integers(lo, hi), min_size=1, max_size=6))
    out = rt(vr, values, little)
    assert (out if isinstance(out, list) else [out]) == values


@given(st.lists(st.floats(allow_nan=False, width=32), min_size=1, max_size=5), st.booleans())
@RELAXED
def test_prop_fl(values: list[float], little: bool) -> None:
    out = rt("FL", values, little)
    assert (out if isinstance(out, list) else [out]) == values


@given(st.lists(st.floats(allow_nan=False), min_size=1, max_size=5), st.booleans())
@RELAXED
def test_prop_fd(values: list[float], little: bool) -> None:
    out = rt("FD", values, little)
    assert (out if isinstance(out, list) else [out]) == values


@given(st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=4), st.booleans())
@RELAXED
def test_prop_at(values: list[int], little: bool) -> None:
    out = rt("AT", values, little)
    assert (out if isinstance(out, list) else [out]) == values


@given(
    st.sampled_from(["OB", "UN", "OW", "OL", "OF", "OD", "OV"]),
    st.binary(max_size=64),
    st.booleans(),
)
@RELAXED
def test_prop_bytes(vr: str, data: bytes, little: bool) -> None:
    out = rt(vr, data, little)
    assert out[: len(data)] == data and len(out) == len(data) + (len(data) & 1)


@given(st.dates())
@RELAXED
def test_prop_da(d: date) -> None:
    from dicomkit.core.values._dates import parse_da

    assert parse_da(rt("DA", d)) == d  # type: ignore[arg-type]


@given(st.times())
@RELAXED
def test_prop_tm(t: time) -> None:
    from dicomkit.core.values._dates import parse_tm

    assert parse_tm(rt("TM", t)) == t.replace(tzinfo=None)  # type: ignore[arg-type]


@given(
    st.datetimes(timezones=st.sampled_from([None, UTC, timezone(timedelta(hours=-5, minutes=-30))]))
)
@RELAXED
def test_prop_dt(dt: datetime) -> None:
    from dicomkit.core.values._dates import parse_dt

    back = parse_dt(rt("DT", dt))  # type: ignore[arg-type]
    assert back == dt if dt.tzinfo else back.replace(tzinfo=None) == dt


def test_decode_matches_pydicom_on_values() -> None:
    pydicom = pytest.importorskip("pydicom")
    from pydicom.values import convert_value

    cases = [
        ("DS", b"1.5\\2.25 "),
        ("IS", b"12\\-3"),
        ("US", b"\x01\x00\x02\x00"),
        ("FD", struct.pack("<2d", 1.5, -2.0)),
        ("CS", b"A\\B "),
        ("PN", b"DOE^J"),
    ]
    for vr, raw in cases:
        theirs = convert_value(
            vr, pydicom.dataelem.RawDataElement(0x00100010, vr, len(raw), raw, 0, True, True)
        )
        ours = decode_value(vr, raw, True, UTF8)
        assert (list(ours) if isinstance(ours, list) else ours) == (
            list(theirs)
            if not isinstance(theirs, (str, bytes, int, float))
            and hasattr(theirs, "__len__")
            and vr != "PN"
            else (str(theirs) if vr == "PN" else theirs)
        ), vr


_CHARSETS = [
    Charsets.from_value(v)
    for v in (
        None,
        "ISO_IR 100",
        "ISO_IR 192",
        "GB18030",
        ["", "ISO 2022 IR 87", "ISO 2022 IR 159"],
        ["ISO 2022 IR 13", "ISO 2022 IR 87"],
        ["", "ISO 2022 IR 149"],
        ["", "ISO 2022 IR 58"],
    )
]


@given(
    st.sampled_from(sorted(ALL_VRS - {"SQ"})),
    st.binary(max_size=40),
    st.booleans(),
    st.sampled_from(_CHARSETS),
)
@RELAXED
def test_decoding_garbage_never_crashes(vr: str, raw: bytes, little: bool, cs: Charsets) -> None:
    # text never raises; binary raises only InvalidValueError for a length that does not fit
    try:
        decode_value(vr, raw, little, cs)
    except InvalidValueError:
        assert vr in ("US", "SS", "UL", "SL", "FL", "FD", "SV", "UV", "AT")

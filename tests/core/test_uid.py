"""UID values (PS3.5 9) and transfer syntax properties (PS3.5 10, Annex A)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dicomkit.core._uid import (
    DICOMKIT_ROOT,
    IMPLEMENTATION_CLASS_UID,
    IMPLEMENTATION_VERSION_NAME,
    UID,
    generate_uid,
    is_valid_uid,
)
from dicomkit.dictionary import transfer_syntaxes, uids
from dicomkit.errors import InvalidValueError

TS = "1.2.840.10008.1.2"
NATIVE = {TS, TS + ".1", TS + ".2", TS + ".1.99", "1.2.840.10008.1.20"}
NO_PIXEL_DATA = {
    TS + ".4.94",
    TS + ".4.95",
    TS + ".4.204",
    TS + ".4.205",
    TS + ".6.1",
    TS + ".6.2",
    TS + ".7.1",
    TS + ".7.2",
    TS + ".7.3",
}
LOSSLESS_ENCAPSULATED = {
    TS + ".1.98",
    TS + ".4.57",
    TS + ".4.58",
    TS + ".4.65",
    TS + ".4.66",
    TS + ".4.70",
    TS + ".4.80",
    TS + ".4.90",
    TS + ".4.92",
    TS + ".4.110",
    TS + ".4.201",
    TS + ".4.202",
    TS + ".5",
    TS + ".8.1",
}


def test_constants() -> None:
    assert IMPLEMENTATION_VERSION_NAME == "DICOMKIT_010"
    assert len(IMPLEMENTATION_VERSION_NAME) <= 16
    assert IMPLEMENTATION_CLASS_UID.startswith("2.25.")
    assert is_valid_uid(IMPLEMENTATION_CLASS_UID)


def test_uid_is_a_str() -> None:
    u = UID("1.2.840.10008.5.1.4.1.1.2")
    assert u == uids.CTImageStorage and isinstance(u, str)
    assert u.name == "CT Image Storage" and u.keyword == "CTImageStorage"
    assert u.type == "SOP Class" and not u.is_retired and not u.is_transfer_syntax
    assert UID("1.2.840.10008.1.2\x00") == TS
    assert UID(u) is u
    assert repr(u) == "UID('1.2.840.10008.5.1.4.1.1.2')"
    assert {u: 1}["1.2.840.10008.5.1.4.1.1.2"] == 1


def test_unknown_uid() -> None:
    u = UID("1.2.3.4")
    assert u.name == "1.2.3.4" and u.keyword == "" and u.type == "" and not u.is_retired
    with pytest.raises(InvalidValueError):
        _ = u.is_implicit_vr
    with pytest.raises(InvalidValueError):
        _ = UID(uids.CTImageStorage).is_encapsulated


@pytest.mark.parametrize("ts", transfer_syntaxes())
def test_every_transfer_syntax(ts: str) -> None:
    u = UID(ts)
    assert u.is_transfer_syntax
    assert u.is_implicit_vr == (ts in {TS, "1.2.840.10008.1.20"})
    assert u.is_little_endian == (ts != TS + ".2")
    assert u.is_deflated == (ts in {TS + ".1.99", TS + ".4.95", TS + ".4.205"})
    assert u.is_encapsulated == (ts not in NATIVE | NO_PIXEL_DATA)
    if u.is_lossy:
        assert u.is_encapsulated
    if ts in LOSSLESS_ENCAPSULATED:
        assert u.is_encapsulated and not u.is_lossy


def test_well_known_transfer_syntaxes() -> None:
    assert UID(uids.ExplicitVRBigEndian).is_retired
    assert not UID(uids.ExplicitVRBigEndian).is_little_endian
    assert UID(uids.JPEGBaseline8Bit).is_lossy
    assert UID(uids.JPEG2000).is_lossy and not UID(uids.JPEG2000Lossless).is_lossy
    assert UID(uids.HTJ2K).is_encapsulated
    assert UID(uids.JPEGXL).is_encapsulated
    assert UID(uids.RLELossless).is_encapsulated
    assert UID(uids.DeflatedImageFrameCompression).is_encapsulated
    assert not UID(uids.DeflatedImageFrameCompression).is_deflated
    assert UID(uids.HEVCMP51).is_lossy


@pytest.mark.parametrize(
    "s, ok",
    [
        ("1.2.840.10008.1.2", True),
        ("0", True),
        ("1.0.3", True),
        ("2.25." + "1" * 59, True),
        ("2.25." + "1" * 60, False),  # 65 characters
        ("1.02.3", False),  # leading zero
        ("1..2", False),
        (".1.2", False),
        ("1.2.", False),
        ("1.2a", False),
        ("1.2 ", False),
        ("", False),
    ],
)
def test_is_valid_uid(s: str, ok: bool) -> None:
    assert is_valid_uid(s) is ok


def test_generate_uid_default_root() -> None:
    u = generate_uid()
    assert isinstance(u, UID) and u.startswith(DICOMKIT_ROOT)
    assert is_valid_uid(u)
    assert generate_uid() != u
    assert generate_uid(None).startswith("2.25.")


def test_generate_uid_bad_prefix() -> None:
    for bad in ("1.2.3", "1.02.", "x.", "1." + "2" * 62 + "."):
        with pytest.raises(InvalidValueError):
            generate_uid(bad)


_components = st.lists(
    st.one_of(st.just("0"), st.from_regex(re.compile(r"[1-9][0-9]{0,5}"), fullmatch=True)),
    min_size=1,
    max_size=8,
)


@given(_components)
def test_generate_uid_with_any_valid_prefix_is_valid(parts: list[str]) -> None:
    prefix = ".".join(parts) + "."
    if len(prefix) > 60:
        return
    u = generate_uid(prefix)
    assert u.startswith(prefix)
    assert is_valid_uid(u), u
    assert len(u) <= 64


@given(st.text(alphabet="0123456789.", max_size=70))
def test_is_valid_uid_matches_the_rule(s: str) -> None:
    parts = s.split(".")
    expected = 0 < len(s) <= 64 and all(p and (p == "0" or p[0] != "0") for p in parts)
    assert is_valid_uid(s) == expected

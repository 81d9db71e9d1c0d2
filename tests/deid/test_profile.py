"""Table E.1-1 lookups, option precedence, combined codes, CID 7050 codes."""

from __future__ import annotations

import pytest

from dicomkit.deid import Option, check_options, rule_for
from dicomkit.deid._actions import resolve
from dicomkit.deid._options import BASIC_PROFILE_CODE, OPTION_CODES, method_codes


def test_known_rows() -> None:
    assert rule_for(0x00100010).basic == "Z"  # Patient's Name
    assert rule_for(0x00100020).basic == "Z/D"  # Patient ID
    assert rule_for(0x0020000D).basic == "U"  # Study Instance UID
    assert rule_for(0x00081140).basic == "X/Z/U*"  # Referenced Image Sequence
    assert rule_for(0x00080022).basic == "X/Z"  # Acquisition Date
    assert rule_for(0x00080060) is None  # Modality: not listed, kept


def test_private_and_repeating_groups() -> None:
    assert rule_for(0x00091010).name == "Private Attributes"
    assert rule_for(0x00290010).basic == "X"
    assert rule_for(0x60003000).name == "Overlay Data"
    assert rule_for(0x601E4000).name == "Overlay Comments"
    assert rule_for(0x60000010) is None  # Overlay Rows: not listed itself
    assert rule_for(0x50023000).name == "Curve Data"


def test_option_actions() -> None:
    date = rule_for(0x00080022)
    assert date.action(frozenset()) == "X/Z"
    assert date.action(frozenset({Option.RETAIN_LONGITUDINAL_FULL_DATES})) == "K"
    assert date.action(frozenset({Option.RETAIN_LONGITUDINAL_MODIFIED_DATES})) == "C"
    assert rule_for(0x0020000D).action(frozenset({Option.RETAIN_UIDS})) == "K"
    assert rule_for(0x00080080).action(frozenset({Option.RETAIN_INSTITUTION_IDENTITY})) == "K"
    # K wins over C when two chosen options name the same attribute
    hold = rule_for(0x300C0127)
    both = frozenset({Option.RETAIN_DEVICE_IDENTITY, Option.RETAIN_LONGITUDINAL_MODIFIED_DATES})
    assert hold.action(both) == "K"


@pytest.mark.parametrize(
    ("code", "attr_type", "expected"),
    [
        ("X/Z", "3", "X"),
        ("X/Z", "2", "Z"),
        ("X/Z", "1", "Z"),
        ("X/Z", "", "X"),
        ("X/Z", None, "Z"),
        ("X/D", "3", "X"),
        ("X/D", "2C", "D"),
        ("X/D", "1", "D"),
        ("X/Z/D", "3", "X"),
        ("X/Z/D", "2", "Z"),
        ("X/Z/D", "1C", "D"),
        ("X/Z/D", None, "D"),
        ("Z/D", "3", "Z"),
        ("Z/D", "1", "D"),
        ("X/Z/U*", "3", "U*"),
        ("X/Z/U*", "2", "U*"),
        ("X/Z/U*", "1", "U*"),
        ("X/Z/U*", None, "U*"),
        ("D", "3", "D"),
        ("X", "1", "X"),
        ("Z", "1", "D"),
        ("Z", "1C", "D"),
        ("Z", "2", "Z"),
        ("Z", None, "Z"),
        ("Z", "", "Z"),
    ],
)
def test_resolve_combined_codes(code: str, attr_type: str | None, expected: str) -> None:
    assert resolve(code, attr_type) == expected


def test_check_options() -> None:
    assert check_options(["retain-uids", "CLEAN_DESCRIPTORS", Option.CLEAN_GRAPHICS]) == {
        Option.RETAIN_UIDS,
        Option.CLEAN_DESCRIPTORS,
        Option.CLEAN_GRAPHICS,
    }
    with pytest.raises(ValueError, match="unknown"):
        check_options(["retain-everything"])
    with pytest.raises(ValueError, match="one of"):
        check_options(
            [Option.RETAIN_LONGITUDINAL_FULL_DATES, Option.RETAIN_LONGITUDINAL_MODIFIED_DATES]
        )


def test_cid_7050_codes() -> None:
    assert BASIC_PROFILE_CODE[0] == "113100"
    assert set(OPTION_CODES) == set(Option)
    values = {v for v, _ in OPTION_CODES.values()}
    assert {
        "113103",
        "113104",
        "113105",
        "113106",
        "113107",
        "113108",
        "113109",
        "113110",
        "113111",
        "113112",
    } == values
    codes = method_codes(frozenset({Option.RETAIN_UIDS, Option.CLEAN_DESCRIPTORS}))
    assert [c for c, _ in codes] == ["113100", "113105", "113110"]
    assert all(len(m) <= 64 for _, m in OPTION_CODES.values())  # LO

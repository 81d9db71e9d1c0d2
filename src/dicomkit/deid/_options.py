"""The Basic Application Level Confidentiality Profile and its options (PS3.15 E.2, E.3).

The action table itself is generated (:mod:`dicomkit.deid._profile`, from Table E.1-1); this
module names the options, resolves which action applies to an attribute once options are
chosen, and holds the CID 7050 codes that record what was done (PS3.16 CID 7050).

Action codes (PS3.15 E.1.1): ``D`` dummy value, ``Z`` zero length, ``X`` remove, ``K`` keep
(sequences are still cleaned), ``C`` clean, ``U`` replace UIDs consistently; combined codes
``Z/D``, ``X/Z``, ``X/D``, ``X/Z/D``, ``X/Z/U*`` pick the first one IOD conformance allows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from dicomkit.deid import _profile

__all__ = [
    "BASIC_PROFILE_CODE",
    "OPTION_CODES",
    "Option",
    "Rule",
    "check_options",
    "method_codes",
    "rule_for",
]


class Option(StrEnum):
    """The options of PS3.15 E.3 this implementation supports (Table E.1-1 columns).

    Clean Pixel Data and Clean Recognizable Visual Features (E.3.1, E.3.2) need image
    processing and are not offered.
    """

    RETAIN_SAFE_PRIVATE = "retain-safe-private"  # E.3.10
    RETAIN_UIDS = "retain-uids"  # E.3.9
    RETAIN_DEVICE_IDENTITY = "retain-device-identity"  # E.3.8
    RETAIN_INSTITUTION_IDENTITY = "retain-institution-identity"  # E.3.11
    RETAIN_PATIENT_CHARACTERISTICS = "retain-patient-characteristics"  # E.3.7
    RETAIN_LONGITUDINAL_FULL_DATES = "retain-full-dates"  # E.3.6
    RETAIN_LONGITUDINAL_MODIFIED_DATES = "retain-modified-dates"  # E.3.6
    CLEAN_DESCRIPTORS = "clean-descriptors"  # E.3.5
    CLEAN_STRUCTURED_CONTENT = "clean-structured-content"  # E.3.4
    CLEAN_GRAPHICS = "clean-graphics"  # E.3.3


#: (code value, code meaning) of the Basic Profile in CID 7050 (scheme DCM).
BASIC_PROFILE_CODE = ("113100", "Basic Application Confidentiality Profile")

#: CID 7050 code for each option (scheme DCM).
OPTION_CODES: dict[Option, tuple[str, str]] = {
    Option.CLEAN_GRAPHICS: ("113103", "Clean Graphics Option"),
    Option.CLEAN_STRUCTURED_CONTENT: ("113104", "Clean Structured Content Option"),
    Option.CLEAN_DESCRIPTORS: ("113105", "Clean Descriptors Option"),
    Option.RETAIN_LONGITUDINAL_FULL_DATES: (
        "113106",
        "Retain Longitudinal Temporal Information Full Dates Option",
    ),
    Option.RETAIN_LONGITUDINAL_MODIFIED_DATES: (
        "113107",
        "Retain Longitudinal Temporal Information Modified Dates Option",
    ),
    Option.RETAIN_PATIENT_CHARACTERISTICS: ("113108", "Retain Patient Characteristics Option"),
    Option.RETAIN_DEVICE_IDENTITY: ("113109", "Retain Device Identity Option"),
    Option.RETAIN_UIDS: ("113110", "Retain UIDs Option"),
    Option.RETAIN_SAFE_PRIVATE: ("113111", "Retain Safe Private Option"),
    Option.RETAIN_INSTITUTION_IDENTITY: ("113112", "Retain Institution Identity Option"),
}


@dataclass(frozen=True, slots=True)
class Rule:
    """One row of Table E.1-1: the Basic Profile action and what each option changes."""

    name: str
    basic: str
    options: tuple[tuple[Option, str], ...]  # (option, "K" | "C") for the options that apply

    def action(self, options: frozenset[Option]) -> str:
        """The action once ``options`` are chosen.

        Several chosen options may name the same attribute (e.g. Retain Device Identity K and
        Retain Longitudinal Modified Dates C on a device date-time). A retain option is an
        explicit request to keep, so ``K`` wins over ``C``, and either wins over the basic
        action.
        """
        chosen = [code for opt, code in self.options if opt in options]
        if "K" in chosen:
            return "K"
        if "C" in chosen:
            return "C"
        return self.basic


def _rule(row: _profile.Row) -> Rule:
    name, basic, cols = row
    opts = tuple(
        (Option[col], code) for col, code in zip(_profile.OPTION_COLUMNS, cols, strict=True) if code
    )
    return Rule(name, basic, opts)


_EXACT: dict[int, Rule] = {tag: _rule(row) for tag, row in _profile.ATTRIBUTES.items()}
_MASKED: tuple[tuple[int, int, Rule], ...] = tuple(
    (
        int(key.replace("x", "0"), 16),
        int("".join("0" if c == "x" else "F" for c in key), 16),
        _rule(row),
    )
    for key, row in sorted(_profile.MASKED.items())
)
PRIVATE_RULE: Rule = _rule(_profile.PRIVATE)


def rule_for(tag: int) -> Rule | None:
    """The Table E.1-1 rule for ``tag`` (private tags and repeating groups included), or
    ``None`` for an attribute the table does not list (kept as it is)."""
    rule = _EXACT.get(tag)
    if rule is not None:
        return rule
    group = tag >> 16
    if group & 1:
        return PRIVATE_RULE
    for value, mask, masked in _MASKED:
        if tag & mask == value:
            return masked
    return None


def check_options(options: Iterable[Option | str]) -> frozenset[Option]:
    """Options as a frozenset of :class:`Option` (names or values accepted); ``ValueError``
    for an unknown one or for both longitudinal options at once (E.3.6 offers one or the
    other)."""
    out: set[Option] = set()
    for opt in options:
        if isinstance(opt, Option):
            out.add(opt)
            continue
        text = str(opt).strip()
        try:
            out.add(Option(text.lower().replace("_", "-")))
        except ValueError:
            try:
                out.add(Option[text.upper().replace("-", "_")])
            except KeyError:
                known = ", ".join(o.value for o in Option)
                raise ValueError(
                    f"unknown de-identification option {text!r} (known: {known})"
                ) from None
    if {Option.RETAIN_LONGITUDINAL_FULL_DATES, Option.RETAIN_LONGITUDINAL_MODIFIED_DATES} <= out:
        raise ValueError("choose one of retain-full-dates and retain-modified-dates")
    return frozenset(out)


def method_codes(options: frozenset[Option]) -> list[tuple[str, str]]:
    """(code value, meaning) of the profile and each chosen option, in code order."""
    return [BASIC_PROFILE_CODE, *sorted(OPTION_CODES[o] for o in options)]

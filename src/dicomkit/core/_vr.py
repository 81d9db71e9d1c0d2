"""Value Representations (PS3.5 6.2): all 34 VRs and their encoding rules as data."""

from __future__ import annotations

from enum import StrEnum


class VR(StrEnum):
    """The value representations of PS3.5 Table 6.2-1 as a string enum (``VR.PN == "PN"``)."""

    AE = "AE"  # Application Entity, 16 bytes max
    AS = "AS"  # Age String, 4 bytes
    AT = "AT"  # Attribute Tag, 4 bytes
    CS = "CS"  # Code String, 16 bytes max
    DA = "DA"  # Date, 8 bytes
    DS = "DS"  # Decimal String, 16 bytes max
    DT = "DT"  # Date Time, 26 bytes max
    FD = "FD"  # Floating Point Double
    FL = "FL"  # Floating Point Single
    IS = "IS"  # Integer String, 12 bytes max
    LO = "LO"  # Long String, 64 chars max
    LT = "LT"  # Long Text, 10240 chars max
    OB = "OB"  # Other Byte
    OD = "OD"  # Other Double
    OF = "OF"  # Other Float
    OL = "OL"  # Other Long
    OV = "OV"  # Other 64-bit Very Long
    OW = "OW"  # Other Word
    PN = "PN"  # Person Name
    SH = "SH"  # Short String, 16 chars max
    SL = "SL"  # Signed Long
    SQ = "SQ"  # Sequence of Items
    SS = "SS"  # Signed Short
    ST = "ST"  # Short Text, 1024 chars max
    SV = "SV"  # Signed 64-bit Very Long
    TM = "TM"  # Time, 14 bytes max
    UC = "UC"  # Unlimited Characters
    UI = "UI"  # Unique Identifier, 64 bytes max
    UL = "UL"  # Unsigned Long
    UN = "UN"  # Unknown
    UR = "UR"  # URI/URL
    US = "US"  # Unsigned Short
    UT = "UT"  # Unlimited Text
    UV = "UV"  # Unsigned 64-bit Very Long


#: VRs whose explicit-VR encoding has 2 reserved bytes and a 32-bit length (PS3.5 7.1.2).
LONG_LENGTH_VRS: frozenset[str] = frozenset(
    {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UN", "UR", "UT", "SV", "UV"}
)

#: Character-string VRs (decoded with the Specific Character Set where applicable).
STRING_VRS: frozenset[str] = frozenset(
    {
        "AE",
        "AS",
        "CS",
        "DA",
        "DS",
        "DT",
        "IS",
        "LO",
        "LT",
        "PN",
        "SH",
        "ST",
        "TM",
        "UC",
        "UI",
        "UR",
        "UT",
    }
)

#: String VRs whose bytes are affected by Specific Character Set (PS3.5 6.1.2.3).
CHARSET_VRS: frozenset[str] = frozenset({"LO", "LT", "PN", "SH", "ST", "UC", "UT"})

#: String VRs in which backslash is NOT a value delimiter (VM is always 1).
SINGLE_VALUE_STRING_VRS: frozenset[str] = frozenset({"LT", "ST", "UT", "UR"})

#: Binary numeric VRs -> (struct format char, item size).
NUMERIC_VRS: dict[str, tuple[str, int]] = {
    "US": ("H", 2),
    "SS": ("h", 2),
    "UL": ("L", 4),
    "SL": ("l", 4),
    "FL": ("f", 4),
    "FD": ("d", 8),
    "SV": ("q", 8),
    "UV": ("Q", 8),
}

#: "Other" binary VRs -> item size for byte swapping (OB/UN: 1).
BYTES_VRS: dict[str, int] = {"OB": 1, "UN": 1, "OW": 2, "OF": 4, "OL": 4, "OD": 8, "OV": 8}

#: The same as a set: values that are bytes, not text or numbers (PS3.5 6.2).
BINARY_VRS: frozenset[str] = frozenset(BYTES_VRS)

#: VRs whose query keys match with the wildcards * and ? (PS3.4 C.2.2.2.4).
WILDCARD_VRS: frozenset[str] = frozenset(
    {"AE", "CS", "LO", "LT", "PN", "SH", "ST", "UC", "UR", "UT"}
)


def resolve_vr(
    vr: str,
    *,
    pixel_representation: int | None = None,
    bits_allocated: int | None = None,
    implicit: bool = False,
) -> str:
    """One VR for a dictionary VR with alternatives ("US or SS", "OB or OW", "US or OW",
    "US or SS or OW"), the one rule used by the reader, the writer and ``Dataset``:

    * US/SS by Pixel Representation: SS when it is 1 (PS3.3 C.7.6.3.1.2, C.11.1.1.1);
    * an OW alternative in implicit VR: OW (PS3.5 A.1: pixel, overlay and LUT data);
    * OB/OW in explicit VR: OW when Bits Allocated is above 8, else OB (PS3.5 8.1.2, 8.2);
    * otherwise the first alternative.

    ``pixel_representation`` and ``bits_allocated`` are the values in effect for the element:
    its own data set's, else the nearest enclosing one's (a sequence item inherits them)."""
    if " or " not in vr:
        return vr
    alts = vr.split(" or ")
    if implicit and "OW" in alts:
        return "OW"
    if "US" in alts and "SS" in alts:
        return "SS" if pixel_representation == 1 else "US"
    if "OB" in alts and "OW" in alts:
        return "OW" if bits_allocated is not None and bits_allocated > 8 else "OB"
    return alts[0]


#: Padding byte for an odd-length value (PS3.5 6.2): UI and binary pad with NUL, text with space.
def padding_for(vr: str) -> bytes:
    return b"\x00" if vr == "UI" or vr not in STRING_VRS else b" "


#: Maximum length of a single value in bytes/characters, where the standard fixes one.
MAX_LENGTH: dict[str, int] = {
    "AE": 16,
    "AS": 4,
    "CS": 16,
    "DA": 8,
    "DS": 16,
    "DT": 26,
    "IS": 12,
    "LO": 64,
    "LT": 10240,
    "PN": 64 * 5,
    "SH": 16,
    "ST": 1024,
    "TM": 14,
    "UI": 64,
}

ALL_VRS: frozenset[str] = frozenset(v.value for v in VR)

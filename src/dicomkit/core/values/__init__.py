"""Element values: text and character sets, numbers, person names, dates (PS3.5 6).

See :mod:`.codec` for the decoded form of each VR.
"""

from dicomkit.core.values._charset import DEFAULT_CHARSETS, Charsets
from dicomkit.core.values._codec import MultiValue, decode_value, encode_value
from dicomkit.core.values._dates import (
    format_da,
    format_dt,
    format_tm,
    parse_da,
    parse_dt,
    parse_range,
    parse_tm,
)
from dicomkit.core.values._numbers import DS, IS, format_ds
from dicomkit.core.values._person_name import PersonName

__all__ = [
    "DEFAULT_CHARSETS",
    "DS",
    "IS",
    "Charsets",
    "MultiValue",
    "PersonName",
    "decode_value",
    "encode_value",
    "format_da",
    "format_ds",
    "format_dt",
    "format_tm",
    "parse_da",
    "parse_dt",
    "parse_range",
    "parse_tm",
]

"""The DICOM JSON Model (PS3.18 Annex F) both ways.

``to_json(ds)`` gives a ``dict`` keyed by the eight uppercase hex digits of each tag, in tag
order, each ``{"vr": ..., "Value": [...]}`` (or ``"InlineBinary"`` / ``"BulkDataURI"``);
``dumps`` serialises it; ``from_json`` reads one back into a :class:`Dataset`.

Mapping (PS3.18 F.2.3-F.2.7):

* Group Length (gggg,0000) elements are left out (F.2.2); file meta is not part of a data set.
* An empty element has no ``"Value"``; an empty value among several is ``null`` (F.2.5).
* PN values are objects with the non-empty groups ``"Alphabetic"``, ``"Ideographic"``,
  ``"Phonetic"`` (F.2.2); AT values are ``"GGGGEEEE"`` strings.
* IS, DS, SV, UV are JSON numbers; text that does not parse, and SV/UV beyond 2^53, stay strings
  (allowed by Table F.2.3-1 to keep precision). DS numbers that are whole are written as ints.
* OB, OD, OF, OL, OV, OW, UN are ``"InlineBinary"`` (base64 of the little endian bytes, F.2.7),
  or ``"BulkDataURI"`` when a ``bulk_data_uri_handler`` returns a URI for the element (F.2.6).
* SQ values are arrays of nested objects; an empty item is ``{}``.
"""

from __future__ import annotations

import base64
import json as _json
import logging
import math
from collections.abc import Callable
from typing import Any

from dicomkit.core._dataset import Dataset
from dicomkit.core._element import DataElement
from dicomkit.core._sequence import Sequence
from dicomkit.core._tag import ITEM, PIXEL_DATA, Tag
from dicomkit.core._vr import ALL_VRS
from dicomkit.core._vr import BINARY_VRS as _BINARY_VRS
from dicomkit.core.values import DS, IS, PersonName
from dicomkit.errors import InvalidDicomError, InvalidValueError

log = logging.getLogger(__name__)

__all__ = ["dumps", "from_json", "loads", "to_json"]

#: Called with an element whose binary value exceeds the threshold; returns its URI, or None
#: to write the value inline.
BulkDataURIHandler = Callable[[DataElement], "str | None"]
#: Called by from_json with (tag, vr, uri); returns the value (bytes, or a Python value).
BulkDataLoader = Callable[[int, str, str], Any]

_SWAP = {"OW": 2, "OF": 4, "OL": 4, "OD": 8, "OV": 8}
_NUMBER_VRS = frozenset({"US", "SS", "UL", "SL", "FL", "FD", "SV", "UV"})
_TEXT_VRS = frozenset(
    {"AE", "AS", "CS", "DA", "DT", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI", "UR", "UT"}
)
_PN_GROUPS = ("Alphabetic", "Ideographic", "Phonetic")
_SAFE_INT = 2**53
DEFAULT_BULK_DATA_THRESHOLD = 1024


# -- to JSON -----------------------------------------------------------------------------------


def to_json(
    ds: Dataset,
    bulk_data_threshold: int | None = None,
    bulk_data_uri_handler: BulkDataURIHandler | None = None,
) -> dict[str, Any]:
    """The DICOM JSON Model object of ``ds`` (PS3.18 F.2).

    Binary values longer than ``bulk_data_threshold`` bytes (default 1024) are passed to
    ``bulk_data_uri_handler`` (if given), which returns the ``BulkDataURI`` to write, or
    ``None`` to write the value inline.
    """
    threshold = DEFAULT_BULK_DATA_THRESHOLD if bulk_data_threshold is None else bulk_data_threshold
    return _dataset_to_json(ds, threshold, bulk_data_uri_handler)


def _dataset_to_json(
    ds: Dataset, threshold: int, handler: BulkDataURIHandler | None
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for tag in ds:
        if tag & 0xFFFF == 0:
            continue  # Group Length: not included (F.2.2)
        el = ds[tag]
        out[f"{tag:08X}"] = _element_to_json(el, threshold, handler)
    return out


def _known_vr(el: DataElement) -> str | None:
    """The dictionary VR of a standard element read as UN (PS3.5 6.2.2), if it is safe to use:
    not private, not a sequence, and with raw bytes to decode (UN values are little endian)."""
    tag = int(el.tag)
    if el.raw is None or not el.is_little_endian or el.is_undefined_length:
        return None
    if tag >> 16 & 1:
        return "LO" if 0x10 <= tag & 0xFFFF <= 0xFF else None  # private creator (PS3.5 7.8.1)
    from dicomkit import dictionary

    if dictionary.entry_for_tag(tag) is None:
        return None
    vr = str(dictionary.vr_for_tag(tag))
    return vr if vr in ALL_VRS and vr not in ("UN", "SQ") else None


def _resolve_un(el: DataElement) -> DataElement | None:
    """A UN element re-read with its dictionary VR (see :func:`_known_vr`), or None."""
    known = _known_vr(el)
    raw = el.raw
    if known is None or raw is None:
        return None
    converted = DataElement.from_raw(el.tag, known, raw, True, el.charsets)
    try:
        _ = converted.value
    except InvalidValueError:
        return None
    return converted


def _element_to_json(
    el: DataElement, threshold: int, handler: BulkDataURIHandler | None
) -> dict[str, Any]:
    vr = el.vr if el.vr in ALL_VRS else "UN"
    if vr == "UN":
        resolved = _resolve_un(el)
        if resolved is not None:
            return _element_to_json(resolved, threshold, handler)
    obj: dict[str, Any] = {"vr": vr}
    if vr == "SQ":
        items = el.value
        if items:
            obj["Value"] = [_dataset_to_json(item, threshold, handler) for item in items]
        return obj
    if vr in _BINARY_VRS:
        data = _binary_bytes(el)
        if not data:
            return obj
        if handler is not None and len(data) > threshold:
            uri = handler(el)
            if uri is not None:
                obj["BulkDataURI"] = uri
                return obj
        obj["InlineBinary"] = base64.b64encode(data).decode("ascii")
        return obj
    value = el.value
    if value is None or value == "" or (isinstance(value, list) and not value):
        return obj
    values = value if isinstance(value, list) else [value]
    obj["Value"] = [_value_to_json(vr, v) for v in values]
    return obj


def _binary_bytes(el: DataElement) -> bytes:
    """O* / UN value bytes in little endian order (PS3.18 F.2.7)."""
    raw = el.raw
    value: Any = raw if raw is not None else el.value
    if value is None:
        return b""
    if hasattr(value, "dtype") and hasattr(value, "tobytes"):
        return bytes(value.astype(value.dtype.newbyteorder("<")).tobytes())
    data = bytes(value)
    if (
        raw is not None
        and not el.is_little_endian
        and el.vr in _SWAP
        and not el.is_undefined_length
    ):
        from dicomkit.io._encoder import swap_bytes

        data = swap_bytes(data, _SWAP[el.vr])
    return data


def _value_to_json(vr: str, v: Any) -> Any:
    if v is None:
        return None
    if vr == "PN":
        pn = PersonName(v)
        if pn == "":
            return None
        groups = pn.groups
        return {name: g for name, g in zip(_PN_GROUPS, groups, strict=True) if g}
    if vr == "AT":
        return f"{int(v):08X}"
    if vr == "IS":
        return int(v) if isinstance(v, int) else str(v)
    if vr == "DS":
        if isinstance(v, (float, int)):
            f = float(v)
            if not math.isfinite(f):
                return str(v)
            return int(f) if f.is_integer() and abs(f) < _SAFE_INT else f
        return str(v)
    if vr in _NUMBER_VRS:
        if vr in ("SV", "UV") and abs(int(v)) >= _SAFE_INT:
            return str(int(v))
        if isinstance(v, float) and not math.isfinite(v):
            return str(v)  # NaN / Infinity have no JSON number
        return v
    if isinstance(v, bytes):
        return v.decode("latin_1")
    s = str(v)
    return s if s != "" else None


def dumps(
    ds: Dataset,
    *,
    bulk_data_threshold: int | None = None,
    bulk_data_uri_handler: BulkDataURIHandler | None = None,
    indent: int | None = None,
    **kwargs: Any,
) -> str:
    """:func:`to_json` serialised as JSON text (UTF-8 safe, ``ensure_ascii=False``)."""
    obj = to_json(ds, bulk_data_threshold, bulk_data_uri_handler)
    kwargs.setdefault("ensure_ascii", False)
    return _json.dumps(obj, indent=indent, **kwargs)


# -- from JSON ---------------------------------------------------------------------------------


def from_json(
    obj: dict[str, Any] | str | bytes, bulk_data_uri_handler: BulkDataLoader | None = None
) -> Dataset:
    """A :class:`Dataset` from a DICOM JSON Model object (a ``dict``, or JSON text).

    ``bulk_data_uri_handler(tag, vr, uri)`` returns the value of a ``BulkDataURI`` element;
    without one such elements are kept empty (and logged).
    Raises :class:`InvalidDicomError` for JSON that is not a DICOM JSON Model object.
    """
    if isinstance(obj, (str, bytes, bytearray)):
        try:
            obj = _json.loads(obj)
        except ValueError as exc:
            raise InvalidDicomError(f"not JSON: {exc}") from None
    if isinstance(obj, list) and len(obj) == 1:
        obj = obj[0]  # QIDO-RS / WADO-RS metadata responses are arrays of objects
    if not isinstance(obj, dict):
        raise InvalidDicomError(f"a DICOM JSON object must be an object, not {type(obj).__name__}")
    return _dataset_from_json(obj, bulk_data_uri_handler)


loads = from_json


def _dataset_from_json(obj: dict[str, Any], loader: BulkDataLoader | None) -> Dataset:
    ds = Dataset()
    elements: list[DataElement] = []
    for key, attr in obj.items():
        try:
            tag = int(key, 16)
        except (TypeError, ValueError):
            raise InvalidDicomError(f"DICOM JSON key {key!r} is not 8 hex digits") from None
        if len(key) != 8:
            raise InvalidDicomError(f"DICOM JSON key {key!r} is not 8 hex digits")
        if not isinstance(attr, dict):
            raise InvalidDicomError(f"attribute {key} must be an object", tag=tag)
        elements.append(_element_from_json(tag, attr, loader))
    # (0008,0005) first, so that text values of the data set see its character set
    elements.sort(key=lambda e: e.tag)
    for el in elements:
        ds.add(el)
    return ds


def _vr_of(tag: int, attr: dict[str, Any]) -> str:
    vr = attr.get("vr")
    if isinstance(vr, str) and vr in ALL_VRS:
        return vr
    from dicomkit import dictionary

    guess = str(dictionary.vr_for_tag(tag))
    log.warning("attribute %s has no valid vr (%r): using %s", Tag(tag), vr, guess)
    return guess


def _element_from_json(
    tag: int, attr: dict[str, Any], loader: BulkDataLoader | None
) -> DataElement:
    vr = _vr_of(tag, attr)
    if "Value" in attr:
        values = attr["Value"]
        if not isinstance(values, list):
            values = [values]
        if vr == "SQ":
            items = [_dataset_from_json(item or {}, loader) for item in values]
            return DataElement(tag, vr, Sequence(items))
        try:
            converted = [_value_from_json(vr, v) for v in values]
        except (TypeError, ValueError, KeyError, InvalidValueError) as exc:
            raise InvalidDicomError(f"invalid {vr} value in DICOM JSON: {exc}", tag=tag) from None
        if vr in _BINARY_VRS:  # lenient: numbers given for an O* VR
            from dicomkit.core.values import encode_value

            return DataElement(tag, vr, encode_value(vr, converted, True))
        if vr in _TEXT_VRS:
            converted = [("" if v is None else v) for v in converted]
        if not converted:
            value: Any = "" if vr in _TEXT_VRS else None
        elif len(converted) == 1:
            value = converted[0]
        else:
            value = converted
        return DataElement(tag, vr, value)
    if "InlineBinary" in attr:
        try:
            data = base64.b64decode(attr["InlineBinary"], validate=False)
        except (ValueError, TypeError) as exc:
            raise InvalidDicomError(f"bad InlineBinary base64: {exc}", tag=tag) from None
        return _binary_element(tag, vr, data)
    if "BulkDataURI" in attr:
        uri = attr["BulkDataURI"]
        if loader is None:
            log.warning(
                "attribute %s: BulkDataURI %r not loaded (no bulk_data_uri_handler)", Tag(tag), uri
            )
            return DataElement(tag, vr, b"" if vr in _BINARY_VRS else None)
        value = loader(tag, vr, uri)
        if isinstance(value, (bytes, bytearray, memoryview)):
            return _binary_element(tag, vr, bytes(value))
        return DataElement(tag, vr, value)
    if vr == "SQ":
        return DataElement(tag, vr, Sequence())
    return DataElement(
        tag,
        vr,
        b""
        if vr in _BINARY_VRS
        else (None if vr in _NUMBER_VRS or vr in ("AT", "IS", "DS") else ""),
    )


def _binary_element(tag: int, vr: str, data: bytes) -> DataElement:
    if vr in _BINARY_VRS:
        undefined = (
            tag == PIXEL_DATA
            and len(data) >= 8
            and int.from_bytes(data[:4], "little") == (ITEM >> 16 | (ITEM & 0xFFFF) << 16)
        )
        # kept as raw little endian bytes (F.2.7), so a writer to big endian swaps them
        return DataElement.from_raw(tag, vr, data, True, None, undefined_length=undefined)
    # a non-binary VR given as bytes (e.g. a bulk data text): decode as little endian
    from dicomkit.core.values import decode_value

    return DataElement(tag, vr, decode_value(vr, data, True))


def _value_from_json(vr: str, v: Any) -> Any:
    if v is None:
        return None
    if vr == "PN":
        if isinstance(v, str):
            return PersonName(v)
        if not isinstance(v, dict):
            raise InvalidValueError(f"PN value must be an object, got {v!r}")
        groups = [str(v.get(name) or "") for name in _PN_GROUPS]
        while groups and not groups[-1]:
            groups.pop()
        return PersonName("=".join(groups))
    if vr == "AT":
        return Tag(int(v, 16)) if isinstance(v, str) else Tag(int(v))
    if vr == "IS":
        if isinstance(v, bool):
            raise InvalidValueError(f"IS value {v!r}")
        return IS(v if isinstance(v, str) else int(v))
    if vr == "DS":
        if isinstance(v, bool):
            raise InvalidValueError(f"DS value {v!r}")
        return DS(v)
    if vr in _NUMBER_VRS:
        if isinstance(v, str):
            return float(v) if vr in ("FL", "FD") else int(v)
        if vr in ("FL", "FD"):
            return float(v)
        if isinstance(v, float):
            if not v.is_integer():
                raise InvalidValueError(f"{vr} value must be an integer, got {v!r}")
            return int(v)
        return v
    if vr in _BINARY_VRS:
        return v
    if not isinstance(v, str):
        raise InvalidValueError(f"{vr} value must be a string, got {v!r}")
    return v

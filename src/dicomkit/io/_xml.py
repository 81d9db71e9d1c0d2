"""The Native DICOM Model (PS3.19 Annex A) both ways, with :mod:`xml.etree.ElementTree`.

``to_xml(ds)`` gives the XML text of a ``NativeDicomModel`` element; ``from_xml(text)`` reads
one back into a :class:`Dataset`. Structure (PS3.19 A.1, Table A.1.5-2):

* ``<DicomAttribute tag="GGGGEEEE" vr=".." keyword="..">`` per element in tag order, with
  ``privateCreator=".."`` for private data elements; Group Length elements are left out;
* ``<Value number="n">`` per value (an empty ``<Value/>`` for an empty value among several),
  AT values as ``GGGGEEEE``;
* ``<PersonName number="n">`` with ``<Alphabetic>``, ``<Ideographic>``, ``<Phonetic>`` groups of
  ``<FamilyName>``, ``<GivenName>``, ``<MiddleName>``, ``<NamePrefix>``, ``<NameSuffix>``
  (components up to the last ``^`` present are written, empty ones as empty elements, so the
  name text round-trips exactly);
* ``<Item number="n">`` per sequence item; ``<InlineBinary>`` (base64, little endian) or
  ``<BulkData uri=".."/>`` for OB, OD, OF, OL, OV, OW, UN.
"""

from __future__ import annotations

import base64
import logging
import re
import xml.etree.ElementTree as ET
from typing import Any

from dicomkit.core._dataset import Dataset
from dicomkit.core._element import DataElement
from dicomkit.core._sequence import Sequence
from dicomkit.core._tag import Tag
from dicomkit.core._vr import ALL_VRS
from dicomkit.core._vr import BINARY_VRS as _BINARY_VRS
from dicomkit.core.values import DS, IS, PersonName
from dicomkit.errors import InvalidDicomError, InvalidValueError
from dicomkit.io._json import (
    DEFAULT_BULK_DATA_THRESHOLD,
    BulkDataLoader,
    BulkDataURIHandler,
    _binary_bytes,
    _binary_element,
    _resolve_un,
)

log = logging.getLogger(__name__)

__all__ = ["NAMESPACE", "from_xml", "to_xml", "to_xml_element"]

NAMESPACE = "http://dicom.nema.org/PS3.19/models/NativeDICOM"
_XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
_TEXT_VRS = frozenset(
    {"AE", "AS", "CS", "DA", "DT", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI", "UR", "UT"}
)
_GROUPS = ("Alphabetic", "Ideographic", "Phonetic")
_COMPONENTS = ("FamilyName", "GivenName", "MiddleName", "NamePrefix", "NameSuffix")
# Characters XML 1.0 cannot carry (C0 controls other than TAB, LF, CR; lone surrogates; FFFE/F)
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


# -- to XML ------------------------------------------------------------------------------------


def to_xml(
    ds: Dataset,
    *,
    bulk_data_threshold: int | None = None,
    bulk_data_uri_handler: BulkDataURIHandler | None = None,
    indent: bool = False,
    xml_declaration: bool = True,
) -> str:
    """The Native DICOM Model XML text of ``ds`` (PS3.19 A.1).

    Binary values longer than ``bulk_data_threshold`` bytes (default 1024) are passed to
    ``bulk_data_uri_handler`` (if given), which returns the ``BulkData`` URI or ``None`` to
    write the value inline.
    """
    root = to_xml_element(
        ds, bulk_data_threshold=bulk_data_threshold, bulk_data_uri_handler=bulk_data_uri_handler
    )
    if indent:
        ET.indent(root)
    ET.register_namespace("", NAMESPACE)
    # a literal CR would be read back as LF (XML 1.0 2.11): write it as a character reference
    text = ET.tostring(root, encoding="unicode").replace("\r", "&#13;")
    if xml_declaration:
        text = '<?xml version="1.0" encoding="UTF-8"?>\n' + text
    return text


def to_xml_element(
    ds: Dataset,
    *,
    bulk_data_threshold: int | None = None,
    bulk_data_uri_handler: BulkDataURIHandler | None = None,
) -> ET.Element:
    """The ``NativeDicomModel`` element of ``ds`` (for embedding in other XML)."""
    threshold = DEFAULT_BULK_DATA_THRESHOLD if bulk_data_threshold is None else bulk_data_threshold
    root = ET.Element(f"{{{NAMESPACE}}}NativeDicomModel", {_XML_SPACE: "preserve"})
    _dataset_to_xml(ds, root, threshold, bulk_data_uri_handler)
    return root


def _q(name: str) -> str:
    return f"{{{NAMESPACE}}}{name}"


def _dataset_to_xml(
    ds: Dataset, parent: ET.Element, threshold: int, handler: BulkDataURIHandler | None
) -> None:
    from dicomkit import dictionary

    for tag in ds:
        if tag & 0xFFFF == 0:
            continue  # Group Length
        el = ds[tag]
        attrib: dict[str, str] = {}
        tag_text = f"{tag:08X}"
        if tag >> 16 & 1:
            if (tag & 0xFFFF) >= 0x1000:
                # PS3.19 A.1.5: a private data element is "gggg00ee" plus its creator
                creator = ds.get((tag & 0xFFFF0000) | (tag >> 8 & 0xFF))
                if isinstance(creator, str) and creator.strip():
                    tag_text = f"{tag >> 16:04X}00{tag & 0xFF:02X}"
                    attrib["privateCreator"] = creator.strip()
        else:
            keyword = dictionary.keyword_for_tag(tag)
            if keyword:
                attrib["keyword"] = str(keyword)
        attrib["tag"] = tag_text
        node = ET.SubElement(parent, _q("DicomAttribute"), attrib)
        _element_to_xml(el, node, threshold, handler)


def _element_to_xml(
    el: DataElement, node: ET.Element, threshold: int, handler: BulkDataURIHandler | None
) -> None:
    vr = el.vr if el.vr in ALL_VRS else "UN"
    if vr == "UN":
        resolved = _resolve_un(el)
        if resolved is not None:
            _element_to_xml(resolved, node, threshold, handler)
            return
    node.set("vr", vr)
    if vr == "SQ":
        for i, item in enumerate(el.value or (), 1):
            item_node = ET.SubElement(node, _q("Item"), {"number": str(i)})
            _dataset_to_xml(item, item_node, threshold, handler)
        return
    if vr in _BINARY_VRS:
        data = _binary_bytes(el)
        if not data:
            return
        if handler is not None and len(data) > threshold:
            uri = handler(el)
            if uri is not None:
                ET.SubElement(node, _q("BulkData"), {"uri": uri})
                return
        ET.SubElement(node, _q("InlineBinary")).text = base64.b64encode(data).decode("ascii")
        return
    value = el.value
    if value is None or value == "" or (isinstance(value, list) and not value):
        return
    values = value if isinstance(value, list) else [value]
    for i, v in enumerate(values, 1):
        if vr == "PN":
            _person_name(node, i, v)
        else:
            ET.SubElement(node, _q("Value"), {"number": str(i)}).text = _text(vr, v)


def _clean(text: str) -> str:
    if _INVALID_XML.search(text):
        log.warning("characters not allowed in XML replaced in %r", text[:40])
        return _INVALID_XML.sub("\ufffd", text)
    return text


def _text(vr: str, v: Any) -> str | None:
    if v is None or v == "":
        return None
    if vr == "AT":
        return f"{int(v):08X}"
    if isinstance(v, bytes):
        return _clean(v.decode("latin_1"))
    if isinstance(v, float) and not isinstance(v, DS):
        return repr(v)
    return _clean(str(v))


def _person_name(node: ET.Element, number: int, v: Any) -> None:
    pn_node = ET.SubElement(node, _q("PersonName"), {"number": str(number)})
    pn = PersonName(v)
    for name, group in zip(_GROUPS, pn.groups, strict=True):
        if not group:
            continue
        group_node = ET.SubElement(pn_node, _q(name))
        parts = group.split("^", 4)
        for comp, part in zip(_COMPONENTS, parts, strict=False):
            ET.SubElement(group_node, _q(comp)).text = _clean(part) if part else None


# -- from XML ----------------------------------------------------------------------------------


def from_xml(
    text: str | bytes | ET.Element, bulk_data_uri_handler: BulkDataLoader | None = None
) -> Dataset:
    """A :class:`Dataset` from Native DICOM Model XML (text, bytes or a parsed element).

    ``bulk_data_uri_handler(tag, vr, uri)`` returns the value of a ``BulkData`` element;
    without one such elements are kept empty (and logged). Raises :class:`InvalidDicomError`
    for XML that is not a Native DICOM Model.
    """
    if isinstance(text, ET.Element):
        root = text
    else:
        try:
            root = ET.fromstring(text)
        except ET.ParseError as exc:
            raise InvalidDicomError(f"not well-formed XML: {exc}") from None
    if _local(root.tag) != "NativeDicomModel":
        raise InvalidDicomError(f"root element is {_local(root.tag)!r}, not NativeDicomModel")
    return _dataset_from_xml(root, bulk_data_uri_handler)


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1]


def _dataset_from_xml(node: ET.Element, loader: BulkDataLoader | None) -> Dataset:
    ds = Dataset()
    elements: dict[int, DataElement] = {}
    private: list[tuple[str, DataElement]] = []
    for child in node:
        if _local(child.tag) != "DicomAttribute":
            continue
        el = _element_from_xml(child, loader)
        creator = child.get("privateCreator")
        tag = int(el.tag)
        if creator and tag >> 16 & 1 and (tag & 0xFFFF) < 0x100:
            private.append((creator, el))
        else:
            elements[tag] = el
    for creator, el in private:
        el = _place_private(elements, creator, el)
        elements[int(el.tag)] = el
    for tag in sorted(elements):
        ds.add(elements[tag])
    return ds


def _place_private(elements: dict[int, DataElement], creator: str, el: DataElement) -> DataElement:
    """Give a private data element read as "gggg00ee" its block (PS3.5 7.8.1, PS3.19 A.1.5):
    the one whose (gggg,00xx) creator matches, else the first free one (creator added)."""
    group = int(el.tag) >> 16
    block = None
    for slot in range(0x10, 0x100):
        existing = elements.get(group << 16 | slot)
        if existing is not None and str(existing.value or "").strip() == creator:
            block = slot
            break
    if block is None:
        block = next(
            (slot for slot in range(0x10, 0x100) if group << 16 | slot not in elements), None
        )
        if block is None:
            raise InvalidDicomError(f"no free private block in group {group:04X} for {creator!r}")
        elements[group << 16 | block] = DataElement(group << 16 | block, "LO", creator)
    new = (
        DataElement.from_raw(group << 16 | block << 8 | (int(el.tag) & 0xFF), el.vr, el.raw, True)
        if el.raw is not None
        else None
    )
    if new is None:
        new = DataElement(
            group << 16 | block << 8 | (int(el.tag) & 0xFF),
            el.vr,
            el.value,
            undefined_length=el.is_undefined_length,
        )
    return new


def _element_from_xml(node: ET.Element, loader: BulkDataLoader | None) -> DataElement:
    tag_text = node.get("tag", "")
    try:
        if len(tag_text) != 8:
            raise ValueError
        tag = int(tag_text, 16)
    except ValueError:
        raise InvalidDicomError(f"DicomAttribute tag {tag_text!r} is not 8 hex digits") from None
    vr = node.get("vr", "")
    if vr not in ALL_VRS:
        from dicomkit import dictionary

        guess = str(dictionary.vr_for_tag(tag))
        log.warning("DicomAttribute %s has no valid vr (%r): using %s", Tag(tag), vr, guess)
        vr = guess
    children = list(node)
    kinds = {_local(c.tag) for c in children}
    if vr == "SQ":
        items = [_dataset_from_xml(c, loader) for c in _numbered(children, "Item")]
        return DataElement(tag, vr, Sequence(items))
    if "InlineBinary" in kinds:
        inline = next(c for c in children if _local(c.tag) == "InlineBinary")
        try:
            data = base64.b64decode((inline.text or "").strip())
        except ValueError as exc:
            raise InvalidDicomError(f"bad InlineBinary base64: {exc}", tag=tag) from None
        return _binary_element(tag, vr, data)
    if "BulkData" in kinds:
        bulk = next(c for c in children if _local(c.tag) == "BulkData")
        uri = bulk.get("uri", "")
        if loader is None:
            log.warning(
                "DicomAttribute %s: BulkData %r not loaded (no bulk_data_uri_handler)",
                Tag(tag),
                uri,
            )
            return DataElement(tag, vr, b"" if vr in _BINARY_VRS else None)
        value = loader(tag, vr, uri)
        if isinstance(value, (bytes, bytearray, memoryview)):
            return _binary_element(tag, vr, bytes(value))
        return DataElement(tag, vr, value)
    if vr == "PN":
        values: list[Any] = [_person_name_from_xml(c) for c in _numbered(children, "PersonName")]
    else:
        try:
            values = [_value_from_text(vr, c.text) for c in _numbered(children, "Value")]
        except (ValueError, InvalidValueError) as exc:
            raise InvalidDicomError(f"invalid {vr} value in XML: {exc}", tag=tag) from None
    if vr in _BINARY_VRS:
        if values:
            from dicomkit.core.values import encode_value

            return _binary_element(tag, vr, encode_value(vr, values, True))
        return DataElement(tag, vr, b"")
    if not values:
        return DataElement(tag, vr, "" if vr in _TEXT_VRS else None)
    return DataElement(tag, vr, values[0] if len(values) == 1 else values)


def _numbered(children: list[ET.Element], name: str) -> list[ET.Element]:
    found = [c for c in children if _local(c.tag) == name]
    try:
        return sorted(found, key=lambda c: int(c.get("number") or 0))
    except ValueError:
        return found


def _value_from_text(vr: str, text: str | None) -> Any:
    if text is None or text == "":
        return "" if vr in _TEXT_VRS else None
    if vr in _TEXT_VRS:
        return text
    if vr == "AT":
        return Tag(int(text.strip(), 16))
    if vr == "IS":
        return IS(text)
    if vr == "DS":
        return DS(text)
    if vr in ("FL", "FD", "OF", "OD"):
        return float(text)
    return int(text)


def _person_name_from_xml(node: ET.Element) -> PersonName:
    groups: dict[str, str] = {}
    for group in node:
        name = _local(group.tag)
        if name not in _GROUPS:
            continue
        comps = {_local(c.tag): (c.text or "") for c in group}
        present = [i for i, comp in enumerate(_COMPONENTS) if comp in comps]
        if not present:
            groups[name] = ""
            continue
        parts = [comps.get(comp, "") for comp in _COMPONENTS[: present[-1] + 1]]
        groups[name] = "^".join(parts)
    ordered = [groups.get(name, "") for name in _GROUPS]
    while ordered and not ordered[-1]:
        ordered.pop()
    return PersonName("=".join(ordered))

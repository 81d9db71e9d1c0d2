"""XML answers (PS3.18 8.7.3.3.1, PS3.19 A.1): search results and metadata as
``multipart/related; type="application/dicom+xml"``, one ``NativeDicomModel`` per part.

The server makes DICOM JSON objects (PS3.18 F) first -- the search results and the cached
metadata are JSON -- and this module writes each as the Native DICOM Model: the two models
carry the same information (``Value`` / ``PersonName`` / ``Item`` / ``InlineBinary`` /
``BulkData``), so the conversion is direct and keeps BulkDataURIs as ``<BulkData uri>``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any
from xml.sax.saxutils import quoteattr

from starlette.responses import Response

from dicomkit.dictionary import keyword_for_tag

__all__ = ["DICOM_XML", "multipart_response", "native_model", "wants_xml"]

DICOM_XML = "application/dicom+xml"
_NS = "http://dicom.nema.org/PS3.19/models/NativeDICOM"
_PN_GROUPS = ("Alphabetic", "Ideographic", "Phonetic")
_PN_PARTS = ("FamilyName", "GivenName", "MiddleName", "NamePrefix", "NameSuffix")


def wants_xml(accept: str) -> bool:
    """True when an Accept header prefers the XML answer (``application/dicom+xml``, alone or
    as the type of ``multipart/related``) to JSON; ``*/*`` and no header mean JSON."""
    from dicomkit.web._wado import parse_accept

    for m in parse_accept(accept or ""):
        if m.q <= 0:
            continue
        if m.type == DICOM_XML or (
            m.type == "multipart/related" and m.params.get("type", "").lower() == DICOM_XML
        ):
            return True
        if m.type in ("application/dicom+json", "application/json", "*/*", "application/*"):
            return False
    return False


def _escape(text: str) -> str:
    out = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # characters XML 1.0 cannot carry at all are dropped (PS3.19 keeps the DICOM text)
    return "".join(c for c in out if c in "\t\n\r" or c >= " ")


def _attribute(tag: str, obj: dict[str, Any], parent: dict[str, Any], out: list[str]) -> None:
    vr = str(obj.get("vr", "UN"))
    attrs = f"tag={quoteattr(tag)} vr={quoteattr(vr)}"
    number = int(tag, 16)
    keyword = keyword_for_tag(number) if not number >> 16 & 1 else None
    if keyword:
        attrs += f" keyword={quoteattr(str(keyword))}"
    elif number >> 16 & 1 and number & 0xFFFF >= 0x1000:  # private: name its creator
        creator = parent.get(f"{number >> 16:04X}00{number >> 8 & 0xFF:02X}", {}).get("Value")
        if creator:
            attrs += f" privateCreator={quoteattr(str(creator[0]))}"
    out.append(f"<DicomAttribute {attrs}>")
    if "BulkDataURI" in obj:
        out.append(f"<BulkData uri={quoteattr(str(obj['BulkDataURI']))}/>")
    elif "InlineBinary" in obj:
        out.append(f"<InlineBinary>{obj['InlineBinary']}</InlineBinary>")
    else:
        for n, value in enumerate(obj.get("Value", ()), 1):
            if vr == "SQ":
                out.append(f'<Item number="{n}">')
                _dataset(value or {}, out)
                out.append("</Item>")
            elif vr == "PN":
                _person_name(n, value or {}, out)
            elif value is None:
                out.append(f'<Value number="{n}"/>')
            else:
                text = value if isinstance(value, str) else _number(value)
                out.append(f'<Value number="{n}">{_escape(text)}</Value>')
    out.append("</DicomAttribute>")


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return str(value)


def _person_name(n: int, value: dict[str, Any], out: list[str]) -> None:
    out.append(f'<PersonName number="{n}">')
    for group in _PN_GROUPS:
        text = value.get(group)
        if not text:
            continue
        out.append(f"<{group}>")
        for name, part in zip(_PN_PARTS, str(text).split("^"), strict=False):
            out.append(f"<{name}>{_escape(part)}</{name}>" if part else f"<{name}/>")
        out.append(f"</{group}>")
    out.append("</PersonName>")


def _dataset(obj: dict[str, Any], out: list[str]) -> None:
    for tag in sorted(obj):
        _attribute(tag, obj[tag], obj, out)


def native_model(obj: dict[str, Any]) -> bytes:
    """One DICOM JSON object (PS3.18 F.2) as a ``NativeDicomModel`` document (UTF-8)."""
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<NativeDicomModel xmlns="{_NS}" xml:space="preserve">',
    ]
    _dataset(obj, out)
    out.append("</NativeDicomModel>\n")
    return "".join(out).encode()


def multipart_body(objects: Iterable[dict[str, Any]], boundary: str) -> bytes:
    """``multipart/related`` parts of ``application/dicom+xml``, one per object."""
    chunks: list[bytes] = []
    for obj in objects:
        chunks.append(f"--{boundary}\r\nContent-Type: {DICOM_XML}\r\n\r\n".encode())
        chunks.append(native_model(obj))
        chunks.append(b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks)


def multipart_response(
    objects: Iterable[dict[str, Any]], headers: dict[str, str] | None = None
) -> Response:
    """The XML answer to a search or a metadata request (PS3.18 8.7.3.3.1)."""
    boundary = uuid.uuid4().hex
    return Response(
        multipart_body(objects, boundary),
        media_type=f'multipart/related; type="{DICOM_XML}"; boundary={boundary}',
        headers=headers or None,
    )

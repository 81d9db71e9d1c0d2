"""Render an SR document: indented text (in the manner of DCMTK's ``dsrdump``), HTML (a
readable, self-contained page, every value escaped) and the PS3.19 Native DICOM Model XML.

Text lines have the shape ``<relationship VALUETYPE:(code,scheme,"meaning")=value>`` with two
spaces of indent per level; a by-reference relationship prints as ``<relationship 1.2.3>``.
"""

from __future__ import annotations

import html as _html
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from dicomkit.dictionary import tags
from dicomkit.sr._code import Code

if TYPE_CHECKING:
    from dicomkit.sr._document import Document
    from dicomkit.sr._model import ContentItem, Reference

__all__ = ["html", "text", "value_text", "xml"]


@lru_cache(maxsize=256)
def _sop_name(uid: str) -> str:
    try:
        from dicomkit.dictionary import uid_info

        info = uid_info(uid)
    except Exception:  # noqa: BLE001 - an unknown UID prints as itself
        info = None
    name = getattr(info, "name", None)
    return str(name) if name else uid


def _code(c: Code | None) -> str:
    if c is None:
        return ""
    scheme = f"{c.scheme}[{c.version}]" if c.version else c.scheme
    return f'({c.value},{scheme},"{c.meaning}")'


def _ref(r: Reference | None) -> str:
    if r is None:
        return "()"
    s = f'({_sop_name(r.sop_class)},"{r.sop_instance}")'
    if r.frames:
        s += "[frames " + ",".join(map(str, r.frames)) + "]"
    if r.segments:
        s += "[segments " + ",".join(map(str, r.segments)) + "]"
    if r.channels:
        s += "[channels " + ",".join(map(str, r.channels)) + "]"
    return s


def _num(v: float) -> str:
    return repr(v) if v != int(v) else str(int(v))


def value_text(item: ContentItem) -> str:
    """The value of ``item`` as one line of text (what follows ``=`` in :func:`text`)."""
    vt = item.value_type
    v = item.value
    if vt == "CONTAINER":
        return str(v)
    if vt == "CODE":
        return _code(v)
    if vt == "NUM":
        if v is None:
            return "empty" + (f" {_code(item.qualifier)}" if item.qualifier else "")
        return f'"{v}" {_code(item.units)}'
    if vt in ("IMAGE", "COMPOSITE", "WAVEFORM"):
        return _ref(item.reference)
    if vt in ("SCOORD", "SCOORD3D"):
        pts = list(v or ())
        n = 3 if vt == "SCOORD3D" else 2
        coords = ",".join("/".join(_num(x) for x in pts[i : i + n]) for i in range(0, len(pts), n))
        where = f',"{item.frame_of_reference}"' if vt == "SCOORD3D" else ""
        return f"({item.graphic_type}{where},{coords})"
    if vt == "TCOORD":
        return f"({item.graphic_type},{','.join(map(str, v or ()))})"
    if vt == "TABLE":
        if v is None:
            return "TABLE"
        return f"{v.get(tags.NumberOfTableRows)} rows x {v.get(tags.NumberOfTableColumns)} columns"
    return '"' + str(v).replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n") + '"'


_REL_TEXT = {
    "CONTAINS": "contains",
    "HAS PROPERTIES": "has properties",
    "INFERRED FROM": "inferred from",
    "HAS OBS CONTEXT": "has obs context",
    "HAS ACQ CONTEXT": "has acq context",
    "HAS CONCEPT MOD": "has concept mod",
    "SELECTED FROM": "selected from",
}


def _header(doc: Document) -> list[str]:
    ds = doc.dataset
    g = ds.get
    lines = [f"{doc.iod_name or 'SR'} Document", ""]
    rows = (
        (
            "Patient",
            f"{g(tags.PatientName) or ''} ({g(tags.PatientSex) or ''}, #{g(0x00100020) or ''})",
        ),
        ("Study", str(g(tags.StudyDescription) or g(tags.StudyInstanceUID) or "")),
        ("Series", f"{g(tags.SeriesDescription) or ''} (#{g(0x00200011) or ''})"),
        ("Completion Flag", str(g(tags.CompletionFlag) or "")),
        ("Verification Flag", str(g(tags.VerificationFlag) or "")),
        ("Content Date/Time", f"{g(tags.ContentDate) or ''} {g(tags.ContentTime) or ''}"),
    )
    for name, value in rows:
        if value.strip(" (#,)"):
            lines.append(f"{name:<20}: {value}")
    lines.append("")
    return lines


def text(doc: Document | ContentItem, *, header: bool = True) -> str:
    """The content tree as indented text, one line per content item (like ``dsrdump +Pc``)."""
    from dicomkit.sr._document import Document

    out: list[str] = []
    if isinstance(doc, Document):
        if header:
            out.extend(_header(doc))
        root = doc.root
    else:
        root = doc
    append = out.append
    rel_text = _REL_TEXT
    stack: list[tuple[int, ContentItem]] = [(0, root)]
    while stack:
        depth, item = stack.pop()
        pad = "  " * depth
        rel = item.relationship
        r = f"{rel_text.get(rel, rel.lower())} " if rel else ""
        if item.ref is not None:
            append(f"{pad}<{r}{'.'.join(map(str, item.ref))}>")
        else:
            append(f"{pad}<{r}{item.value_type}:{_code(item.concept)}={value_text(item)}>")
        kids = item.children
        for i in range(len(kids) - 1, -1, -1):
            stack.append((depth + 1, kids[i]))
    out.append("")
    return "\n".join(out)


_CSS = """body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4}
table.hdr td{padding:0 1em 0 0} ul{list-style:none;padding-left:1.4em;border-left:1px solid #ddd}
.rel{color:#777;font-size:90%} .vt{color:#369;font-size:80%} .code{color:#555;font-size:85%}
h2{margin-bottom:.3em}"""


def _inline(item: ContentItem) -> str:
    """One item of a CONTINUOUS container as running text (escaped)."""
    v = item.value
    if isinstance(v, Code):
        text = v.meaning
    elif item.value_type == "NUM" and v is not None:
        text = f"{v} {item.units.value if item.units else ''}".strip()
    elif isinstance(v, str):
        text = v
    else:
        text = value_text(item)
    return _html.escape(text).replace("\n", "<br>")


def html(doc: Document) -> str:
    """The document as a self-contained HTML page (every value escaped)."""
    e = _html.escape
    ds = doc.dataset
    title = doc.root.concept.meaning if doc.root.concept else "Structured Report"
    parts = [
        "<!DOCTYPE html>",
        '<html><head><meta charset="utf-8">',
        f"<title>{e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{e(title)}</h1>",
        '<table class="hdr">',
    ]
    for name, tag in (
        ("Patient", tags.PatientName),
        ("Patient ID", tags.PatientID),
        ("Study", tags.StudyDescription),
        ("Content Date", tags.ContentDate),
        ("Completion", tags.CompletionFlag),
        ("Verification", tags.VerificationFlag),
        ("Document type", 0),
    ):
        value = doc.iod_name if tag == 0 else ds.get(tag)
        if value:
            parts.append(f"<tr><td><b>{e(name)}</b></td><td>{e(str(value))}</td></tr>")
    parts.append("</table><ul>")

    def emit(item: ContentItem, pos: str) -> None:
        rel = e(item.relationship.lower()) if item.relationship else ""
        parts.append(f'<li id="item{e(pos)}"><span class="rel">{rel}</span> ')
        if item.ref is not None:
            target = ".".join(map(str, item.ref))
            parts.append(f'<a href="#item{e(target)}">see item {e(target)}</a></li>')
            return
        name = e(item.concept.meaning) if item.concept else ""
        code = f' <span class="code">{e(_code(item.concept))}</span>' if item.concept else ""
        vt = f'<span class="vt">{e(item.value_type)}</span>'
        if item.value_type == "CONTAINER" and item.value == "CONTINUOUS":
            # continuity of content (PS3.3 C.18.8.1.1): the items read as one text
            parts.append(f'<b>{name}</b>{code} {vt}<p class="continuous">')
            parts.append(
                " ".join(_inline(c) for c in item.children if c.relationship == "CONTAINS")
            )
            parts.append("</p>")
        elif item.value_type == "CONTAINER":
            parts.append(f"<b>{name}</b>{code} {vt}")
        else:
            shown = e(str(item.value)) if item.value_type == "TEXT" else e(value_text(item))
            shown = shown.replace("\n", "<br>")
            parts.append(f"<b>{name}</b>{code} {vt}: {shown}")
        inline = item.value_type == "CONTAINER" and item.value == "CONTINUOUS"
        listed = [
            (i, c)
            for i, c in enumerate(item.children, 1)
            if not (inline and c.relationship == "CONTAINS" and not c.children)
        ]
        if listed:
            parts.append("<ul>")
            for i, child in listed:
                emit(child, f"{pos}.{i}")
            parts.append("</ul>")
        parts.append("</li>")

    emit(doc.root, "1")
    parts.append("</ul></body></html>\n")
    return "".join(parts)


def xml(doc: Document | Any, *, indent: bool = True) -> str:
    """The whole SR data set (header and content tree) as PS3.19 Native DICOM Model XML."""
    from dicomkit.io._xml import to_xml
    from dicomkit.sr._document import Document

    ds = doc.to_dataset() if isinstance(doc, Document) else doc
    return to_xml(ds, indent=indent)

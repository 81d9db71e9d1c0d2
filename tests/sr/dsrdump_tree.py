"""Parse ``dsrdump +Pc +Pl +Pu -Ph`` output (and our text rendering) into comparable tuples:
(depth, relationship, value type, concept (value, scheme), value key)."""

from __future__ import annotations

import re

from dicomkit.sr._model import ContentItem

_LINE = re.compile(
    r"^(?P<pad> *)<(?P<rel>[a-z ]+ )?(?P<vt>[A-Z0-9]+):"
    r'(?:\((?P<code>[^,]*),(?P<scheme>[^,\[]*)(?:\[[^\]]*\])?,".*?"\))?=(?P<value>.*)>$'
)
_BYREF = re.compile(r"^(?P<pad> *)<(?P<rel>[a-z ]+) (?P<ref>\d+(?:\.\d+)*)>$")
_CODE = re.compile(r"^\((?P<code>[^,]*),(?P<scheme>[^,\[]*)(?:\[[^\]]*\])?,")
_QUOTED = re.compile(r'"([^"]*)"')

Row = tuple[int, str, str, tuple[str, str] | None, str]


def _value_key(vt: str, value: str) -> str:
    if vt == "CONTAINER":
        return value
    if vt == "CODE":
        m = _CODE.match(value)
        return f"{m['code']}|{m['scheme']}" if m else value
    if vt == "NUM":
        q = _QUOTED.match(value)
        if not q:
            return "empty"
        units = _CODE.match(value[q.end() :].strip())
        return f"{q.group(1)}|{units['code'] if units else ''}"
    if vt in ("IMAGE", "COMPOSITE", "WAVEFORM"):
        uids = _QUOTED.findall(value)
        return uids[-1] if uids else ""
    if vt in ("TEXT", "PNAME", "DATE", "TIME", "DATETIME", "UIDREF"):
        return value[1:-1] if value.startswith('"') else value
    if vt in ("SCOORD", "SCOORD3D", "TCOORD") and value.startswith("("):
        parts = value[1:-1].split(",")
        numbers = [float(x) for p in parts[1:] if not p.startswith('"') for x in p.split("/")]
        return _coords(parts[0], numbers)
    return ""


def _coords(kind: str, numbers: list[float]) -> str:
    return kind + "|" + ",".join(f"{x:g}" for x in numbers)


def parse(text: str) -> list[Row]:
    """The content item lines of a dsrdump-style rendering."""
    rows: list[Row] = []
    for line in text.splitlines():
        m = _LINE.match(line)
        if not m:
            b = _BYREF.match(line)
            if b:
                rows.append((len(b["pad"]) // 2, b["rel"].upper(), "", None, b["ref"]))
            continue
        concept = (m["code"], m["scheme"]) if m["code"] is not None else None
        rows.append(
            (
                len(m["pad"]) // 2,
                (m["rel"] or "").strip().upper(),
                m["vt"],
                concept,
                _value_key(m["vt"], m["value"]),
            )
        )
    return rows


def _text(v: str) -> str:
    return v.replace("\r", "").replace("\n", "\\n").rstrip()


def rows_of(root: ContentItem) -> list[Row]:
    """The same tuples straight from our tree (not through our text rendering)."""
    rows: list[Row] = []

    def visit(item: ContentItem, depth: int) -> None:
        vt = item.value_type
        v = item.value
        if item.ref is not None:
            rows.append((depth, item.relationship or "", "", None, ".".join(map(str, item.ref))))
            return
        if vt == "CODE":
            key = f"{v.value}|{v.scheme}"
        elif vt == "NUM":
            units = item.units.value if item.units else ""
            key = "empty" if v is None else f"{v}|{units}"
        elif vt in ("IMAGE", "COMPOSITE", "WAVEFORM"):
            key = item.reference.sop_instance if item.reference else ""
        elif vt in ("SCOORD", "SCOORD3D", "TCOORD"):
            key = _coords(item.graphic_type or "", [float(x) for x in v or ()])
        elif vt in ("CONTAINER",):
            key = str(v)
        elif vt in ("TEXT", "PNAME", "DATE", "TIME", "DATETIME", "UIDREF"):
            key = _text(str(v))
        else:
            key = ""
        concept = (item.concept.value, item.concept.scheme) if item.concept else None
        rows.append((depth, item.relationship or "", vt, concept, key))
        for c in item.children:
            visit(c, depth + 1)

    visit(root, 0)
    return rows


def normalise(rows: list[Row]) -> list[Row]:
    return [(d, r, vt, c, _text(v) if vt not in ("CODE",) else v) for d, r, vt, c, v in rows]

"""Build an SR from a small JSON description (what ``dicomkit sr build`` reads).

Codes are written ``{"value": "...", "scheme": "...", "meaning": "..."}``, or as the keyword
of a code dicomkit knows (``"Length"``, ``"DCM.Finding"``, ``"SCT.FindingSite"``); units as
a UCUM string (``"mm"``). Referenced instances are file paths (relative to the JSON file).
Four shapes, chosen by ``"template"``::

    {"template": "1500", "evidence": ["ct.dcm"], "observer": "Doe^J",
     "procedure_reported": {...code...},
     "groups": [{"tracking_id": "lesion 1", "finding": ..., "finding_sites": [...],
                 "region": {"graphic_type": "POLYLINE", "points": [...], "image": "ct.dcm"},
                 "measurements": [{"name": "Length", "value": 12.5, "units": "mm"}],
                 "evaluations": [[code, code]]}]}
    {"template": "2000", "sections": {"Findings": ["text", ...]}, "evidence": [...]}
    {"template": "2010", "title": "OfInterest", "description": "...", "instances": [...]}
    {"template": "tree", "sop_class": "...", "root": {"type": "CONTAINER", "concept": ...,
     "children": [{"relationship": "CONTAINS", "type": "TEXT", "concept": ..., "value": "..."}]}}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dicomkit.errors import InvalidValueError
from dicomkit.sr import _codes
from dicomkit.sr import _items as items
from dicomkit.sr._code import Code
from dicomkit.sr._document import COMPREHENSIVE_3D_SR, Document, new_document
from dicomkit.sr._model import ContentItem

__all__ = ["build_from_json", "code_from_json"]

_SCHEMES = ("DCM", "SCT", "UCUM", "LN", "UMLS", "RFC5646")


def code_from_json(spec: Any, what: str = "code") -> Code:
    """A :class:`Code` from a dict or a known keyword (``"Length"``, ``"DCM.Finding"``)."""
    if isinstance(spec, dict):
        try:
            return Code(
                str(spec["value"]), str(spec["scheme"]), str(spec["meaning"]), spec.get("version")
            )
        except KeyError as exc:
            raise InvalidValueError(
                f"{what}: a code needs value, scheme and meaning ({exc} missing)"
            ) from None
    if isinstance(spec, str):
        scheme, _, name = spec.rpartition(".")
        for s in [scheme] if scheme else _SCHEMES:
            found = getattr(getattr(_codes, s, None), name, None)
            if isinstance(found, Code):
                return found
        raise InvalidValueError(
            f"{what}: {spec!r} is not a code keyword dicomkit knows; write the code as "
            '{"value": ..., "scheme": ..., "meaning": ...}'
        )
    raise InvalidValueError(f"{what}: expected a code (an object or a keyword), got {spec!r}")


def _units(spec: Any) -> Code:
    if isinstance(spec, str):
        for code in vars(_codes.UCUM).values():
            if isinstance(code, Code) and code.value == spec:
                return code
        return Code(spec, "UCUM", spec)
    return code_from_json(spec, "units")


class _Files:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.cache: dict[str, Any] = {}

    def __call__(self, name: str) -> Any:
        import dicomkit

        if name not in self.cache:
            path = (self.base / name) if not Path(name).is_absolute() else Path(name)
            try:
                self.cache[name] = dicomkit.read(path, stop_before_pixels=True)
            except OSError as exc:
                raise InvalidValueError(f"cannot read referenced file {path}: {exc}") from None
        return self.cache[name]


def _tid1500(d: dict[str, Any], files: _Files) -> Document:
    from dicomkit.sr.templates import _tid1500 as t

    groups = []
    for i, g in enumerate(d.get("groups", []), 1):
        region: Any = None
        r = g.get("region")
        if r is not None:
            if "image" in r:
                region = t.ImageRegion(r["graphic_type"], tuple(r["points"]), files(r["image"]))
            elif "segmentation" in r:
                region = t.ReferencedSegment(
                    files(r["segmentation"]), int(r["segment"]), r.get("source_series")
                )
            else:
                region = t.VolumeSurface(
                    r["graphic_type"], tuple(r["points"]), r["frame_of_reference"]
                )
        measurements = [
            t.Measurement(
                code_from_json(m["name"], f"group {i} measurement name"),
                m.get("value"),
                _units(m["units"]) if m.get("units") is not None else None,
                code_from_json(m["derivation"]) if m.get("derivation") else None,
                code_from_json(m["method"]) if m.get("method") else None,
                code_from_json(m["qualifier"]) if m.get("qualifier") else None,
            )
            for m in g.get("measurements", [])
        ]
        groups.append(
            t.measurement_group(
                str(g.get("tracking_id") or f"group {i}"),
                tracking_uid=g.get("tracking_uid"),
                finding=code_from_json(g["finding"]) if g.get("finding") else None,
                finding_sites=[code_from_json(s) for s in g.get("finding_sites", [])],
                measurements=measurements,
                evaluations=[
                    (code_from_json(a), code_from_json(b)) for a, b in g.get("evaluations", [])
                ],
                region=region,
            )
        )
    proc = d.get("procedure_reported")
    return t.measurement_report_document(
        groups,
        evidence=[files(f) for f in d.get("evidence", [])],
        procedure_reported=code_from_json(proc) if proc else (),
        observer_person=d.get("observer"),
    )


def _tree(spec: dict[str, Any], where: str) -> ContentItem:
    vt = str(spec.get("type", "")).upper()
    concept = code_from_json(spec["concept"], where) if spec.get("concept") else None
    v = spec.get("value")
    item: ContentItem
    if vt == "CONTAINER":
        item = items.container(concept, continuous=bool(spec.get("continuous")))
    elif vt == "CODE":
        item = ContentItem("CODE", concept, code_from_json(v, where))
    elif vt == "NUM":
        item = items.num(
            concept or Code("", "", ""), v, _units(spec["units"]) if spec.get("units") else None
        )
        item.concept = concept
    elif vt in ("TEXT", "DATETIME", "DATE", "TIME", "UIDREF", "PNAME"):
        item = ContentItem(vt, concept, str(v))
    elif vt in ("IMAGE", "COMPOSITE", "WAVEFORM"):
        item = items.image(
            concept, spec["sop_class"], spec["sop_instance"], frames=spec.get("frames", ())
        )
        item.value_type = vt
    elif vt in ("SCOORD", "SCOORD3D"):
        v = [float(x) for x in v or ()]
        item = (
            items.scoord3d(concept, spec["graphic_type"], v, spec.get("frame_of_reference", ""))
            if vt == "SCOORD3D"
            else items.scoord(concept, spec["graphic_type"], v)
        )
    else:
        raise InvalidValueError(f"{where}: value type {vt!r} cannot be built from JSON")
    for n, child in enumerate(spec.get("children", []), 1):
        item.add(str(child.get("relationship", "CONTAINS")), _tree(child, f"{where}.{n}"))
    return item


def build_from_json(description: Any, *, base: Path | str = ".") -> Document:
    """The SR document a JSON description asks for (see the module docstring)."""
    if not isinstance(description, dict):
        raise InvalidValueError('the description must be a JSON object with a "template"')
    files = _Files(Path(base))
    template = str(description.get("template", ""))
    if template == "1500":
        return _tid1500(description, files)
    if template == "2000":
        from dicomkit.sr.templates._tid2000 import diagnostic_imaging_report

        return diagnostic_imaging_report(
            {k: list(v) for k, v in description.get("sections", {}).items()},
            observer_person=description.get("observer"),
            evidence=[files(f) for f in description.get("evidence", [])],
        )
    if template == "2010":
        from dicomkit.sr.templates._kos import key_object_selection

        title = description.get("title", "OfInterest")
        return key_object_selection(
            [files(f) for f in description.get("instances", [])],
            title=code_from_json(title, "title"),
            description=description.get("description"),
        )
    if template == "tree":
        root = _tree(description["root"], "1")
        return new_document(
            root,
            sop_class=str(description.get("sop_class", COMPREHENSIVE_3D_SR)),
            evidence=[files(f) for f in description.get("evidence", [])],
        )
    raise InvalidValueError(f'unknown template {template!r}: use "1500", "2000", "2010" or "tree"')

"""Content-tree constraints of the SR IODs (PS3.3 A.35: the "Relationship Content Constraints"
table of each SR IOD, and C.17.3.2 for the content item rules every IOD shares).

Each IOD's table is data: ``{(source value type, relationship): allowed target value types}``
plus whether by-reference relationships are allowed. :func:`check` walks a tree and returns
one :class:`Problem` per broken rule, with the item's position.
"""

from __future__ import annotations

from dataclasses import dataclass

from dicomkit.dictionary import uids
from dicomkit.sr._model import ContentItem, Relationship, ValueType

__all__ = ["IODConstraints", "Problem", "check", "constraints_for"]

_V = ValueType
_R = Relationship

_BASIC_VALUES = frozenset({"TEXT", "CODE", "DATETIME", "DATE", "TIME", "UIDREF", "PNAME"})
_REFS = frozenset({"COMPOSITE", "IMAGE", "WAVEFORM"})


@dataclass(frozen=True)
class IODConstraints:
    """The relationship content constraints of one SR IOD."""

    name: str
    #: ``None``: the IOD's relationships are constrained by its templates only (checked
    #: here: value types and the generic rules)
    table: dict[tuple[str, str], frozenset[str]] | None
    by_reference: bool
    value_types: frozenset[str]

    def allows(self, source: str, relationship: str, target: str) -> bool:
        """Whether ``source`` may have ``relationship`` to ``target`` in this IOD."""
        if self.table is None:
            return True
        if self.table is _EXTENSIBLE_RULE:
            # PS3.3 Table A.35.15-2: CONTAINER CONTAINS any type; any type has any other
            # relationship with any type
            return relationship != "CONTAINS" or source == "CONTAINER"
        allowed = self.table.get((source, relationship))
        if allowed is None:
            allowed = self.table.get(("*", relationship), frozenset())
        return target in allowed


def _table(
    values: frozenset[str], spatial: frozenset[str], extra_container: frozenset[str] = frozenset()
) -> dict[tuple[str, str], frozenset[str]]:
    """The shape shared by Basic Text / Enhanced / Comprehensive (PS3.3 Tables A.35.1-2,
    A.35.2-2, A.35.3-2, A.35.13-2): ``values`` are the non-reference value types allowed,
    ``spatial`` the coordinate types."""
    content = values | _REFS | spatial | {"CONTAINER"} | extra_container
    observation = values | _REFS
    props = values | _REFS | spatial
    t: dict[tuple[str, str], frozenset[str]] = {
        ("CONTAINER", "CONTAINS"): frozenset(content),
        ("CONTAINER", "HAS OBS CONTEXT"): frozenset(observation),
        ("CONTAINER", "HAS ACQ CONTEXT"): frozenset(observation),
        ("*", "HAS CONCEPT MOD"): frozenset({"TEXT", "CODE"}),
    }
    for src in values:
        t[(src, "HAS OBS CONTEXT")] = frozenset(observation)
        t[(src, "HAS ACQ CONTEXT")] = frozenset(observation)
        t[(src, "HAS PROPERTIES")] = frozenset(props)
        t[(src, "INFERRED FROM")] = frozenset(props | {"CONTAINER"} if spatial else props)
    for src in _REFS:
        t[(src, "HAS ACQ CONTEXT")] = frozenset(observation)
    if "SCOORD" in spatial:
        t[("SCOORD", "SELECTED FROM")] = frozenset({"IMAGE"})
        t[("TCOORD", "SELECTED FROM")] = frozenset(
            {"SCOORD", "IMAGE", "WAVEFORM"} | (spatial & {"SCOORD3D"})
        )
    return t


_ENHANCED_VALUES = _BASIC_VALUES | {"NUM"}
_SPATIAL = frozenset({"SCOORD", "TCOORD"})
_SPATIAL_3D = _SPATIAL | {"SCOORD3D"}
_ALL = frozenset(v.value for v in ValueType)

BASIC_TEXT = IODConstraints(
    "Basic Text SR",
    _table(_BASIC_VALUES, frozenset()),
    False,
    _BASIC_VALUES | _REFS | {"CONTAINER"},
)
ENHANCED = IODConstraints(
    "Enhanced SR", _table(_ENHANCED_VALUES, _SPATIAL), False, _ALL - {"SCOORD3D", "TABLE"}
)
COMPREHENSIVE = IODConstraints(
    "Comprehensive SR", _table(_ENHANCED_VALUES, _SPATIAL), True, _ALL - {"SCOORD3D", "TABLE"}
)
COMPREHENSIVE_3D = IODConstraints(
    "Comprehensive 3D SR", _table(_ENHANCED_VALUES, _SPATIAL_3D), True, _ALL - {"TABLE"}
)
_EXTENSIBLE_RULE: dict[tuple[str, str], frozenset[str]] = {}
EXTENSIBLE = IODConstraints("Extensible SR", _EXTENSIBLE_RULE, True, _ALL)
#: PS3.3 Table A.35.4-2: a KOS is a flat list of references under a titled container
KEY_OBJECT_SELECTION = IODConstraints(
    "Key Object Selection Document",
    {
        ("CONTAINER", "CONTAINS"): frozenset({"TEXT", "IMAGE", "WAVEFORM", "COMPOSITE"}),
        ("CONTAINER", "HAS OBS CONTEXT"): frozenset({"TEXT", "CODE", "UIDREF", "PNAME"}),
        ("CONTAINER", "HAS CONCEPT MOD"): frozenset({"CODE"}),
    },
    False,
    frozenset({"CONTAINER", "TEXT", "CODE", "UIDREF", "PNAME", "IMAGE", "WAVEFORM", "COMPOSITE"}),
)


def _template_driven(name: str, *value_types: str) -> IODConstraints:
    return IODConstraints(name, None, True, frozenset(value_types))


# The value types of the SR IODs whose relationships are left to their templates (PS3.3
# A.35.5 ff.; the same sets as dicom3tools' strval/sr.tpl)
MAMMOGRAPHY_CAD = _template_driven(
    "Mammography CAD SR", "TEXT", "CODE", "NUM", "DATE", "TIME", "UIDREF", "PNAME", "SCOORD",
    "COMPOSITE", "IMAGE", "CONTAINER",
)  # fmt: skip
CHEST_CAD = _template_driven(
    "Chest CAD SR", "TEXT", "CODE", "NUM", "DATE", "TIME", "PNAME", "SCOORD", "TCOORD",
    "COMPOSITE", "IMAGE", "CONTAINER", "UIDREF", "WAVEFORM",
)  # fmt: skip
PROCEDURE_LOG = _template_driven(
    "Procedure Log", "CODE", "CONTAINER", "COMPOSITE", "DATETIME", "DATE", "IMAGE", "NUM",
    "PNAME", "TEXT", "TIME", "UIDREF", "WAVEFORM",
)  # fmt: skip
XRAY_RADIATION_DOSE = _template_driven(
    "X-Ray Radiation Dose SR", "TEXT", "CODE", "NUM", "DATETIME", "UIDREF", "PNAME",
    "COMPOSITE", "IMAGE", "CONTAINER",
)  # fmt: skip

_BY_SOP_CLASS = {
    uids.BasicTextSRStorage: BASIC_TEXT,
    uids.EnhancedSRStorage: ENHANCED,
    uids.ComprehensiveSRStorage: COMPREHENSIVE,
    uids.Comprehensive3DSRStorage: COMPREHENSIVE_3D,
    uids.ExtensibleSRStorage: EXTENSIBLE,
    uids.KeyObjectSelectionDocumentStorage: KEY_OBJECT_SELECTION,
    uids.ProcedureLogStorage: PROCEDURE_LOG,
    uids.MammographyCADSRStorage: MAMMOGRAPHY_CAD,
    uids.ChestCADSRStorage: CHEST_CAD,
    uids.XRayRadiationDoseSRStorage: XRAY_RADIATION_DOSE,
}


def constraints_for(sop_class: str) -> IODConstraints | None:
    """The constraints of the SR IOD of ``sop_class``; ``None`` for the SR IODs not tabled
    here (they get the generic checks only)."""
    return _BY_SOP_CLASS.get(sop_class)


@dataclass(frozen=True)
class Problem:
    """One broken content-tree rule at ``position`` (Referenced Content Item Identifier)."""

    position: tuple[int, ...]
    message: str

    def __str__(self) -> str:
        return f"content item {'.'.join(map(str, self.position))}: {self.message}"


_RELATIONSHIPS = frozenset(r.value for r in Relationship)
_CONTINUITY = frozenset({"SEPARATE", "CONTINUOUS"})
_GRAPHIC_TYPES = {
    "SCOORD": frozenset({"POINT", "MULTIPOINT", "POLYLINE", "CIRCLE", "ELLIPSE"}),
    "SCOORD3D": frozenset({"POINT", "MULTIPOINT", "POLYLINE", "POLYGON", "ELLIPSE", "ELLIPSOID"}),
}
_NEEDS_CONCEPT = frozenset(
    {"TEXT", "NUM", "CODE", "DATETIME", "DATE", "TIME", "UIDREF", "PNAME", "TABLE"}
)


def check(root: ContentItem, sop_class: str = "") -> list[Problem]:
    """The content-tree problems of ``root`` for the IOD of ``sop_class`` (PS3.3 A.35,
    C.17.3.2): value types and relationships the IOD allows, by-reference targets that
    exist (and are not the item's own ancestors), concept names where required, graphic
    types, continuity of content."""
    iod = constraints_for(sop_class)
    problems: list[Problem] = []
    add = problems.append
    if root.value_type != "CONTAINER":
        add(Problem((1,), f"the root content item is {root.value_type}, it must be a CONTAINER"))
    if root.concept is None:
        add(Problem((1,), "the root CONTAINER has no Concept Name (the document title)"))
    positions = {pos for pos, _ in root.walk()}
    for pos, item in root.walk():
        vt = item.value_type
        if item.ref is not None:
            if iod is not None and not iod.by_reference:
                add(
                    Problem(
                        pos, f"by-reference relationships are not allowed in the {iod.name} IOD"
                    )
                )
            if item.ref not in positions:
                add(
                    Problem(
                        pos, f"by-reference target {'.'.join(map(str, item.ref))} does not exist"
                    )
                )
            elif pos[: len(item.ref)] == item.ref:
                add(Problem(pos, "by-reference target is an ancestor of the item (a loop)"))
            continue
        if vt not in _ALL:
            add(Problem(pos, f"unknown value type {vt!r}"))
            continue
        if iod is not None and vt not in iod.value_types:
            add(Problem(pos, f"value type {vt} is not allowed in the {iod.name} IOD"))
        if vt in _NEEDS_CONCEPT and item.concept is None:
            add(Problem(pos, f"{vt} content item without a Concept Name (Type 1C, PS3.3 C.17.3.3)"))
        if vt == "CONTAINER" and item.value not in _CONTINUITY:
            add(Problem(pos, f"Continuity Of Content {item.value!r} is not SEPARATE or CONTINUOUS"))
        if vt == "CODE" and item.value is None:
            add(Problem(pos, "CODE content item without a Concept Code Sequence"))
        if vt == "NUM" and item.value is not None and item.units is None:
            add(Problem(pos, "NUM content item without Measurement Units Code Sequence"))
        if vt in _GRAPHIC_TYPES and item.graphic_type not in _GRAPHIC_TYPES[vt]:
            add(
                Problem(
                    pos,
                    f"{vt} Graphic Type {item.graphic_type!r} is not one of {sorted(_GRAPHIC_TYPES[vt])}",
                )
            )
        if vt in ("IMAGE", "COMPOSITE", "WAVEFORM") and item.reference is None:
            add(Problem(pos, f"{vt} content item without a Referenced SOP Sequence"))
        for i, child in enumerate(item.children, 1):
            rel = child.relationship or ""
            cpos = (*pos, i)
            if rel not in _RELATIONSHIPS:
                add(Problem(cpos, f"unknown relationship type {rel!r}"))
                continue
            if iod is None or child.ref is not None:
                if child.ref is not None and iod is not None:
                    target = root.item_at(child.ref) if child.ref in positions else None
                    if target is not None and not iod.allows(vt, rel, target.value_type):
                        add(
                            Problem(
                                cpos,
                                f"{vt} {rel} {target.value_type} (by reference) is not allowed in the {iod.name} IOD",
                            )
                        )
                continue
            if not iod.allows(vt, rel, child.value_type):
                add(
                    Problem(
                        cpos, f"{vt} {rel} {child.value_type} is not allowed in the {iod.name} IOD"
                    )
                )
    return problems

"""The SR content tree (PS3.3 C.17.3): :class:`ContentItem` nodes joined by relationships.

A document's content is a tree of content items (the root is a CONTAINER); each child carries
the relationship from its parent (source) to itself (target). A child may instead point at an
item elsewhere in the tree by its position (by-reference relationship, PS3.3 C.17.3.2.5:
``ref`` is the Referenced Content Item Identifier, ``(1, 3, 2)`` = root, 3rd child, 2nd child).

Design: one small slotted class for every value type, with the value-type specific parts in
plain fields (``value``, ``units``, ``reference``, ``graphic_type`` ...), so that reading a
3,000 item report makes 3,000 small objects and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from dicomkit.errors import InvalidValueError
from dicomkit.sr._code import Code

if TYPE_CHECKING:
    from dicomkit.core._dataset import Dataset

__all__ = ["ContentItem", "Reference", "Relationship", "ValueType"]


class ValueType(StrEnum):
    """Value Type (0040,A040) enumerated values (PS3.3 C.17.3.2.1)."""

    CONTAINER = "CONTAINER"
    TEXT = "TEXT"
    CODE = "CODE"
    NUM = "NUM"
    DATETIME = "DATETIME"
    DATE = "DATE"
    TIME = "TIME"
    UIDREF = "UIDREF"
    PNAME = "PNAME"
    COMPOSITE = "COMPOSITE"
    IMAGE = "IMAGE"
    WAVEFORM = "WAVEFORM"
    SCOORD = "SCOORD"
    SCOORD3D = "SCOORD3D"
    TCOORD = "TCOORD"
    TABLE = "TABLE"


class Relationship(StrEnum):
    """Relationship Type (0040,A010) defined terms (PS3.3 C.17.3.2.4)."""

    CONTAINS = "CONTAINS"
    HAS_PROPERTIES = "HAS PROPERTIES"
    INFERRED_FROM = "INFERRED FROM"
    HAS_OBS_CONTEXT = "HAS OBS CONTEXT"
    HAS_ACQ_CONTEXT = "HAS ACQ CONTEXT"
    HAS_CONCEPT_MOD = "HAS CONCEPT MOD"
    SELECTED_FROM = "SELECTED FROM"


#: value types whose value is a string (the attribute holding it is in reader/writer)
STRING_TYPES = frozenset({"TEXT", "DATETIME", "DATE", "TIME", "UIDREF", "PNAME"})
REFERENCE_TYPES = frozenset({"COMPOSITE", "IMAGE", "WAVEFORM"})


@dataclass(frozen=True, slots=True)
class Reference:
    """A referenced SOP instance (PS3.3 Table 10-3/10-4, the SOP Instance Reference macros):
    the value of COMPOSITE, IMAGE and WAVEFORM items. ``frames`` / ``segments`` select parts
    of a multi-frame image or segmentation, ``channels`` the (M,C) pairs of a waveform
    flattened; ``presentation`` an optional (SOP class, SOP instance) of a presentation state."""

    sop_class: str
    sop_instance: str
    frames: tuple[int, ...] = ()
    segments: tuple[int, ...] = ()
    channels: tuple[int, ...] = ()
    presentation: tuple[str, str] | None = None


class ContentItem:
    """One content item (PS3.3 C.17.3.2). Build one with the value-type helpers
    (:func:`dicomkit.sr.text`, :func:`dicomkit.sr.num` ...) or directly.

    ``value`` by value type: CONTAINER its continuity ("SEPARATE"/"CONTINUOUS"); TEXT,
    DATETIME, DATE, TIME, UIDREF, PNAME a str; CODE a :class:`Code`; NUM the numeric value as
    text (DS) or ``None`` for an empty measured value; COMPOSITE/IMAGE/WAVEFORM a
    :class:`Reference`; SCOORD/SCOORD3D the graphic data as floats; TCOORD the sample positions,
    time offsets or datetimes; TABLE the Tabulated Values item (a :class:`Dataset`).
    """

    __slots__ = (
        "children",
        "concept",
        "extra",
        "frame_of_reference",
        "graphic_type",
        "observation_datetime",
        "observation_uid",
        "qualifier",
        "ref",
        "reference",
        "relationship",
        "template",
        "units",
        "value",
        "value_type",
    )

    def __init__(
        self,
        value_type: str,
        concept: Code | None = None,
        value: Any = None,
        *,
        relationship: str | None = None,
        units: Code | None = None,
        qualifier: Code | None = None,
        reference: Reference | None = None,
        graphic_type: str | None = None,
        frame_of_reference: str | None = None,
        children: list[ContentItem] | None = None,
        template: tuple[str, str] | None = None,
        observation_uid: str | None = None,
        observation_datetime: str | None = None,
    ) -> None:
        self.value_type: str = value_type
        self.concept = concept
        self.value = value
        self.relationship = relationship
        self.units = units
        self.qualifier = qualifier
        self.reference = reference
        #: SCOORD / SCOORD3D: Graphic Type; TCOORD: Temporal Range Type
        self.graphic_type = graphic_type
        #: SCOORD3D: Referenced Frame of Reference UID; TCOORD: which of (0040,A132),
        #: (0040,A138), (0040,A13A) holds the value ("SAMPLE", "OFFSET", "DATETIME")
        self.frame_of_reference = frame_of_reference
        self.children: list[ContentItem] = children if children is not None else []
        #: (Mapping Resource, Template Identifier) of a Content Template Sequence
        self.template = template
        self.observation_uid = observation_uid
        self.observation_datetime = observation_datetime
        #: by-reference relationship: the target's Referenced Content Item Identifier
        self.ref: tuple[int, ...] | None = None
        #: other elements of the item kept as read (written back unchanged)
        self.extra: Dataset | None = None

    # -- construction helpers ------------------------------------------------------------
    @classmethod
    def by_reference(cls, relationship: str, target: tuple[int, ...]) -> ContentItem:
        """A by-reference relationship to the item at ``target`` (PS3.3 C.17.3.2.5)."""
        if not target or target[0] != 1:
            raise InvalidValueError(
                f"Referenced Content Item Identifier {target!r} must start at the root (1)"
            )
        item = cls("", relationship=relationship)
        item.ref = tuple(target)
        return item

    def add(self, relationship: str, child: ContentItem) -> ContentItem:
        """Append ``child`` with ``relationship`` (from this item to it); returns the child."""
        child.relationship = str(Relationship(relationship))
        self.children.append(child)
        return child

    def contains(self, *children: ContentItem) -> ContentItem:
        """Append ``children`` with relationship CONTAINS; returns ``self`` (for chaining)."""
        for c in children:
            self.add(Relationship.CONTAINS, c)
        return self

    # -- navigation ----------------------------------------------------------------------
    def walk(
        self, position: tuple[int, ...] = (1,)
    ) -> Iterator[tuple[tuple[int, ...], ContentItem]]:
        """Every item of the subtree in document order, with its position (the Referenced
        Content Item Identifier it has when ``self`` is the root)."""
        stack: list[tuple[tuple[int, ...], ContentItem]] = [(position, self)]
        while stack:
            pos, item = stack.pop()
            yield pos, item
            kids = item.children
            for i in range(len(kids) - 1, -1, -1):
                stack.append(((*pos, i + 1), kids[i]))

    def __iter__(self) -> Iterator[ContentItem]:
        return iter(self.children)

    def __len__(self) -> int:
        return len(self.children)

    def __getitem__(self, index: int) -> ContentItem:
        return self.children[index]

    def item_at(self, position: tuple[int, ...] | list[int]) -> ContentItem:
        """The item at ``position`` (a Referenced Content Item Identifier, root = (1,))."""
        pos = tuple(position)
        if not pos or pos[0] != 1:
            raise InvalidValueError(f"content item position {pos!r} must start at the root (1)")
        item = self
        for n in pos[1:]:
            if not 1 <= n <= len(item.children):
                raise InvalidValueError(
                    f"content item position {pos!r}: no item {n} under "
                    f"{item.label()} (it has {len(item.children)})"
                )
            item = item.children[n - 1]
        return item

    def find(self, concept: Code | str, *, recursive: bool = True) -> ContentItem | None:
        """The first item (document order, not ``self``) whose concept name is ``concept``
        (a :class:`Code`, or a code meaning / code value as a str); ``None`` if none."""
        return next(self.find_all(concept, recursive=recursive), None)

    def find_all(self, concept: Code | str, *, recursive: bool = True) -> Iterator[ContentItem]:
        """Every item under this one whose concept name is ``concept`` (see :meth:`find`)."""
        match = _matcher(concept)
        if not recursive:
            yield from (c for c in self.children if match(c.concept))
            return
        it = self.walk()
        next(it)
        for _, item in it:
            if match(item.concept):
                yield item

    def path(self, path: str) -> ContentItem | None:
        """The item at ``path``: concept names (meanings or code values) separated by
        ``/``, each a child of the previous (``"Imaging Measurements/Measurement Group"``);
        ``*`` matches any one level. ``None`` if there is none."""
        found = list(self.paths(path))
        return found[0] if found else None

    def paths(self, path: str) -> Iterator[ContentItem]:
        """Every item at ``path`` (see :meth:`path`)."""
        parts = [p for p in path.strip("/").split("/") if p]
        level: list[ContentItem] = [self]
        for part in parts:
            match = (lambda c: True) if part == "*" else _matcher(part)
            level = [c for item in level for c in item.children if match(c.concept)]
        yield from level

    def label(self) -> str:
        """A short description: value type and concept name meaning."""
        name = self.concept.meaning if self.concept else ""
        return f"{self.value_type or 'by-reference'} {name!r}".strip()

    def __repr__(self) -> str:
        return f"<ContentItem {self.relationship or 'root'} {self.label()} = {self.value!r}>"

    def __eq__(self, other: object) -> bool:
        """Same content: value type, concept, value and its qualifiers, children (recursive)."""
        if not isinstance(other, ContentItem):
            return NotImplemented
        return _key(self) == _key(other)

    __hash__ = None  # type: ignore[assignment]


def _key(item: ContentItem) -> tuple[Any, ...]:
    value = item.value
    if item.value_type == "TABLE" and value is not None:
        value = sorted((int(t), repr(value.get(t))) for t in value.tags())
    return (
        item.value_type,
        item.relationship,
        item.concept,
        value if not isinstance(value, Code) else (value, value.meaning),
        item.units,
        item.qualifier,
        item.reference,
        item.graphic_type,
        item.frame_of_reference,
        item.ref,
        item.template,
        tuple(_key(c) for c in item.children),
    )


def _matcher(concept: Code | str) -> Any:
    if isinstance(concept, Code):
        return lambda c: c is not None and c == concept
    want = concept.casefold()
    return lambda c: c is not None and (c.meaning.casefold() == want or c.value == concept)

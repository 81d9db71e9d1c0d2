"""The information model of PS3.3 and PS3.4: attributes form modules, modules form information
entities, and those form IODs; a SOP class is an IOD with a DIMSE service group.

Built lazily over the generated tables (:mod:`._modules`, :mod:`._iods`, :mod:`._values`).
Macros (PS3.3 Annex C "... Macro") are expanded in place where a module invokes them; a
conditional invocation adds its condition to the attributes' ``guards``. Expansion happens one
level at a time (``Attribute.children`` is computed on first use), because some macros nest
themselves through sequences (the SR content tree).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Literal

from dicomkit.iod._iods import IODS, SOP_CLASSES
from dicomkit.iod._modules import MODULES
from dicomkit.iod._values import BINARY_VALUES, STRING_VALUES, TAG_VALUES

__all__ = [
    "IOD",
    "Attribute",
    "Check",
    "Module",
    "ModuleUsage",
    "SOPClass",
    "ValueSet",
    "iod",
    "iod_for_sop_class",
    "iods",
    "module",
    "modules",
    "sop_class",
]

Usage = Literal["M", "C", "U"]
_Rows = tuple[tuple[Any, ...], ...]


@dataclass(frozen=True, slots=True)
class ValueSet:
    """Allowed values of an attribute (or of one of its values, ``index`` >= 0)."""

    index: int  # -1: every value
    kind: str  # "enum" | "defined" | "binary" | "tag" | "nonzero"
    name: str  # the set's name in the templates ("nonzero": severity)
    values: tuple[Any, ...]

    @property
    def strict(self) -> bool:
        """Enumerated values must match; defined terms may be extended (PS3.3 5.3)."""
        return self.kind != "defined" and not (self.kind == "nonzero" and self.name != "error")


@dataclass(frozen=True, slots=True)
class Check:
    """An extra rule on an attribute: a message when ``condition`` holds, or a value set."""

    tag: int
    keyword: str
    condition: str
    severity: str  # "error" | "warning" | "" (value sets only)
    message: str
    values: tuple[ValueSet, ...]
    guards: tuple[str, ...] = ()


@dataclass(frozen=True)
class Attribute:
    """One attribute of a module or macro (PS3.3 Annex C tables, PS3.5 7.4 types)."""

    tag: int
    keyword: str
    type: str  # "1" "1C" "2" "2C" "3"
    vm: str  # from the module table ("" -> the dictionary's)
    condition: str  # a condition name, "" for none, "?" undecidable
    may_be_present_otherwise: bool
    values: tuple[ValueSet, ...]
    is_sequence: bool
    guards: tuple[str, ...] = ()  # conditions of the conditional macros that brought it in
    _child_rows: _Rows = field(default=(), repr=False, compare=False)

    @property
    def children(self) -> tuple[Attribute, ...]:
        """The attributes of each item of a sequence (macros expanded)."""
        return expand(self._child_rows)[0]

    @property
    def checks(self) -> tuple[Check, ...]:
        """The checks (enumerated values, defined terms ...) on this attribute's sequence items."""
        return expand(self._child_rows)[1]

    @property
    def is_conditional(self) -> bool:
        """True for Type 1C, 2C or 3C attributes (present only under a condition)."""
        return self.type.endswith("C")


@dataclass(frozen=True)
class Module:
    """A module (or macro) of PS3.3 with its attributes (macros expanded)."""

    name: str
    kind: str  # "module" | "macro"
    information_entity: str
    source: str
    _rows: _Rows = field(repr=False, compare=False)

    @property
    def attributes(self) -> tuple[Attribute, ...]:
        """The module's attributes, nested sequence contents as ``children``."""
        return expand(self._rows)[0]

    @property
    def checks(self) -> tuple[Check, ...]:
        """The value checks of the module's top-level attributes."""
        return expand(self._rows)[1]

    def find(self, tag: int) -> Attribute | None:
        """The first attribute with ``tag`` at the top level of the module."""
        return next((a for a in self.attributes if a.tag == tag), None)


@dataclass(frozen=True, slots=True)
class ModuleUsage:
    """A module's place in an IOD: its information entity, usage and condition."""

    name: str
    information_entity: str
    usage: Usage
    condition: str

    @property
    def module(self) -> Module:
        """The :class:`Module` this usage refers to."""
        return module(self.name)


@dataclass(frozen=True, slots=True)
class IOD:
    """A composite IOD (PS3.3 Annex A): information entities made of modules."""

    name: str
    condition: str
    retired: bool
    profile: str
    modules: tuple[ModuleUsage, ...]

    @property
    def information_entities(self) -> tuple[str, ...]:
        """The IOD's information entities (Patient, Study, Series ...), in module order."""
        return tuple(dict.fromkeys(m.information_entity for m in self.modules))


@dataclass(frozen=True, slots=True)
class SOPClass:
    """A SOP class (PS3.4): an IOD and the DIMSE services that carry it."""

    uid: str
    keyword: str
    name: str
    iod_name: str
    dimse: tuple[str, ...]
    reference_iod: str  # the IOD title innolitics gives (cross-check)

    @property
    def iod(self) -> IOD | None:
        """The IOD of this SOP class, or ``None`` when it has none (e.g. a service SOP class)."""
        return iod(self.iod_name) if self.iod_name else None


# --------------------------------------------------------------------------------------------
# expansion
# --------------------------------------------------------------------------------------------
def _value_sets(raw: tuple[tuple[int, str, str], ...]) -> tuple[ValueSet, ...]:
    out = []
    for index, kind, name in raw:
        if kind == "nonzero":
            out.append(ValueSet(index, kind, name, ()))
            continue
        table: dict[str, Any] = (
            BINARY_VALUES if kind == "binary" else TAG_VALUES if kind == "tag" else STRING_VALUES
        )
        out.append(ValueSet(index, kind, name, tuple(table.get(name, ()))))
    return tuple(out)


def _expand(
    rows: _Rows,
    guards: tuple[str, ...],
    seen: tuple[str, ...],
    attrs: list[Attribute],
    checks: list[Check],
) -> None:
    for kind, keyword, tag, typ, vm, cond, mbpo, values, extra in rows:
        if kind == "M":
            if keyword in seen or keyword not in MODULES:
                continue
            more = guards + ((cond,) if cond and cond != "Always" else ())
            _expand(MODULES[keyword][3], more, (*seen, keyword), attrs, checks)
        elif kind == "V":
            severity, message = extra if extra else ("", "")
            checks.append(Check(tag, keyword, cond, severity, message, _value_sets(values), guards))
        else:
            attrs.append(
                Attribute(
                    tag,
                    keyword,
                    typ,
                    vm,
                    cond,
                    mbpo,
                    _value_sets(values),
                    kind == "S",
                    guards,
                    extra if kind == "S" else (),
                )
            )


@functools.lru_cache(maxsize=4096)
def _expand_cached(rows_id: int) -> tuple[tuple[Attribute, ...], tuple[Check, ...]]:
    rows = _ROWS_BY_ID[rows_id]
    attrs: list[Attribute] = []
    checks: list[Check] = []
    _expand(rows, (), (), attrs, checks)
    return tuple(attrs), tuple(checks)


_ROWS_BY_ID: dict[int, _Rows] = {}


def expand(rows: _Rows) -> tuple[tuple[Attribute, ...], tuple[Check, ...]]:
    """The attributes and checks of one level of a module, macros inlined."""
    # The row tuples live as long as the generated module, so their id is a stable key.
    _ROWS_BY_ID.setdefault(id(rows), rows)
    return _expand_cached(id(rows))


# --------------------------------------------------------------------------------------------
# look-ups
# --------------------------------------------------------------------------------------------
@functools.cache
def module(name: str) -> Module:
    """The module or macro called ``name`` (the templates' name, e.g. ``"GeneralSeries"``)."""
    kind, ie, source, rows = MODULES[name]
    return Module(name, kind, ie, source, rows)


def modules() -> list[str]:
    """Names of every module and macro."""
    return sorted(MODULES)


@functools.cache
def iod(name: str) -> IOD:
    """The IOD called ``name`` (e.g. ``"CTImage"``)."""
    cond, retired, profile, _source, rows = IODS[name]
    usages = tuple(ModuleUsage(m, ie, usage, c) for ie, m, usage, c in rows)  # type: ignore[arg-type]
    return IOD(name, cond, retired, profile, usages)


def iods() -> list[str]:
    """Names of every IOD (profile variants included)."""
    return sorted(IODS)


def _dimse(keyword: str) -> tuple[str, ...]:
    # The templates do not say which DIMSE services carry a SOP class; PS3.4 names them by
    # service class, which the SOP class keyword spells out. Composite (storage) objects go by
    # C-STORE (PS3.4 B), query/retrieve models by C-FIND/C-MOVE/C-GET (PS3.4 C).
    k = keyword
    if "StorageCommitment" in k:
        return ("N-ACTION", "N-EVENT-REPORT")
    if k.endswith(("Storage", "StorageTrial")) or "StorageFor" in k:
        return ("C-STORE",)
    for suffix, service in (("Find", "C-FIND"), ("Move", "C-MOVE"), ("Get", "C-GET")):
        if k.endswith(suffix):
            return (service,)
    if k == "Verification":
        return ("C-ECHO",)
    return ()


@functools.cache
def sop_class(uid: str) -> SOPClass | None:
    """The SOP class with this UID, or ``None`` when the model does not know it."""
    row = SOP_CLASSES.get(str(uid).strip().rstrip("\0"))
    if row is None:
        return None
    keyword, name, iod_name, reference = row
    return SOPClass(str(uid), keyword, name, iod_name, _dimse(keyword), reference)


def iod_for_sop_class(uid: str) -> IOD:
    """The IOD a SOP class's instances follow (PS3.4 B.5); ``KeyError`` when none is known."""
    sop = sop_class(uid)
    if sop is None or not sop.iod_name:
        raise KeyError(f"no IOD known for SOP class {uid}")
    return iod(sop.iod_name)

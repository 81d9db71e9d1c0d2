"""Evaluate the standard's named conditions (Type 1C/2C, conditional modules) over a data set.

The conditions come from dicom3tools' ``condn.tpl`` (generated into :mod:`._conditions`): each
is a list of terms read left to right, ``a Or b And c`` meaning ``(a Or b) And c``, with
parenthesised groups. A term tests one attribute: presence, a value, a sequence's item count,
in the current data set, an enclosing one, the root, or the items of a named sequence.

:func:`evaluate` answers ``True``/``False``, or ``None`` when the condition cannot be decided
from the data set (the standard's wording needs knowledge outside it, or the name is unknown):
callers report that as *not checked* rather than guessing.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from dicomkit.core._dataset import Dataset
from dicomkit.iod._conditions import CONDITIONS

__all__ = ["UNDECIDABLE", "Context", "evaluate"]

#: The marker the generator writes for "the standard has a condition no program can check".
UNDECIDABLE = "?"

_FILE_META_GROUP = 0x0002


@dataclass(frozen=True, slots=True)
class Context:
    """Where a condition is evaluated: the current data set and the ones enclosing it.

    ``parents`` runs from the root (the top-level data set) down to the current data set's
    parent; ``file_meta`` holds group 0002, which dicomkit keeps apart from the data set.
    """

    ds: Dataset
    parents: tuple[Dataset, ...] = ()
    file_meta: Dataset | None = None

    @property
    def root(self) -> Dataset:
        """The top-level data set (the item's outermost parent)."""
        return self.parents[0] if self.parents else self.ds

    def child(self, item: Dataset) -> Context:
        """The context of a sequence item of this data set."""
        return Context(item, (*self.parents, self.ds), self.file_meta)

    @classmethod
    def for_root(cls, ds: Dataset) -> Context:
        """The context of a top-level data set (with its File Meta, when it has one)."""
        return cls(ds, (), getattr(ds, "file_meta", None))


# --------------------------------------------------------------------------------------------
# looking values up
# --------------------------------------------------------------------------------------------
def _holder(ds: Dataset, tag: int, ctx: Context) -> Dataset | None:
    if tag >> 16 == _FILE_META_GROUP and ctx.file_meta is not None and tag not in ds:
        return ctx.file_meta
    return ds


def _has(ds: Dataset, tag: int, ctx: Context) -> bool:
    holder = _holder(ds, tag, ctx)
    return holder is not None and tag in holder


def _element_value(ds: Dataset, tag: int, ctx: Context) -> tuple[bool, Any]:
    holder = _holder(ds, tag, ctx)
    if holder is None or tag not in holder:
        return False, None
    return True, holder[tag].value


def values_of(value: Any) -> list[Any]:
    """An element's value as a list of its values (empty for an empty value)."""
    if value is None or value == "" or value == b"":
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _items(ds: Dataset, tag: int, ctx: Context) -> list[Dataset]:
    present, value = _element_value(ds, tag, ctx)
    if not present or not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, Dataset)]


def _selected(value: Any, index: int) -> list[Any]:
    vals = values_of(value)
    if index < 0:
        return vals
    return [vals[index]] if index < len(vals) else []


def _text(v: Any) -> str:
    return str(v).strip()


_BIN_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "&": lambda a, b: bool(int(a) & b),
}


def _number(v: Any) -> float | int | None:
    if isinstance(v, (int, float)):
        return v
    try:
        return float(str(v))
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------
# terms
# --------------------------------------------------------------------------------------------
Term = tuple[Any, ...]


def _where(ds: Dataset, within: int, ctx: Context) -> Iterator[Dataset]:
    if within:
        yield from _items(ds, within, ctx)
    else:
        yield ds


def _value_test(
    ds: Dataset, tag: int, index: int, ctx: Context, test: Callable[[Any], bool]
) -> bool:
    present, value = _element_value(ds, tag, ctx)
    return present and any(test(v) for v in _selected(value, index))


def _is_there(ds: Dataset, tag: int) -> bool:
    return tag in ds


def _has_items(ds: Dataset, tag: int) -> bool:
    # a sequence with items; for another VR (the templates use a few) a value
    return tag in ds and bool(values_of(ds[tag].value))


def _in_path(ds: Dataset, tag: int, want: Callable[[Dataset, int], bool], depth: int = 0) -> bool:
    if want(ds, tag):
        return True
    if depth > 8:
        return False
    for el in ds.elements():
        if el.vr == "SQ":
            value = el.value
            if isinstance(value, list) and any(
                isinstance(i, Dataset) and _in_path(i, tag, want, depth + 1) for i in value
            ):
                return True
    return False


def _above(ctx: Context, tag: int) -> Dataset | None:
    for parent in reversed(ctx.parents):
        if tag in parent:
            return parent
    return None


def _term(term: Term, ctx: Context) -> bool:
    _op, _neg, test, tag, index, arg, within = term
    ds = ctx.ds
    root = ctx.root
    if test == "ElementPresent":
        return any(_has(d, tag, ctx) for d in _where(ds, within, ctx))
    if test == "ElementPresentAbove":
        return _above(ctx, tag) is not None
    if test == "ElementPresentInRoot":
        return _has(root, tag, ctx)
    if test == "ElementPresentWithin":
        return any(tag in item for item in _items(ds, arg, ctx))
    if "InPathFromRoot" in test:
        # the items of a sequence of the root, searched down through their nested sequences
        items = _items(root, arg, ctx)
        if "FirstItem" in test:
            items = items[:1]
        want = _has_items if test.startswith("Sequence") else _is_there
        return any(_in_path(item, tag, want) for item in items)
    if test == "GroupPresent":
        group = tag >> 16
        if group == _FILE_META_GROUP and ctx.file_meta is not None and len(ctx.file_meta):
            return True
        return any(t >> 16 == group for t in ds)
    if test == "ValuePresent":
        # a value index (e.g. Image Type value 3) asks for that value, non-empty
        return any(
            any(_text(v) for v in _selected(_element_value(d, tag, ctx)[1], index))
            for d in _where(ds, within, ctx)
        )
    if test.startswith("SequenceHas"):
        n = len(_items(ds, tag, ctx))
        return {
            "SequenceHasItems": n > 0,
            "SequenceHasOneItem": n == 1,
            "SequenceHasTwoItems": n == 2,
            "SequenceHasMultipleItems": n > 1,
        }[test]
    if test.startswith(("StringValue", "StringConstant")):
        if test in (
            "StringValueFromRoot",
            "StringValueFromRootAttribute",
            "StringConstantFromRootAttribute",
        ):
            places: list[Dataset] = [root]
        elif test == "StringValueAbove":
            found = _above(ctx, tag)
            places = [found] if found is not None else []
        else:
            places = list(_where(ds, within, ctx))
        return any(_value_test(d, tag, index, ctx, lambda v: _text(v) == arg) for d in places)
    if test.startswith("BinaryValue"):
        place = root if test == "BinaryValueFromRootAttribute" else ds
        op, number = arg
        fn = _BIN_OPS[op]

        def compare(v: Any) -> bool:
            n = _number(v)
            return n is not None and fn(n, number)

        return _value_test(place, tag, index, ctx, compare)
    if test == "TagValue":
        return _value_test(ds, tag, index, ctx, lambda v: isinstance(v, int) and int(v) == arg)
    raise KeyError(test)


def _terms(terms: tuple[Term, ...], ctx: Context) -> bool:
    result = False
    for i, term in enumerate(terms):
        value = _terms(term[5], ctx) if term[2] == "(" else _term(term, ctx)
        if term[1]:
            value = not value
        if i == 0:
            result = value
        elif term[0] == "and":
            result = result and value
        else:
            result = result or value
    return result


def evaluate(name: str, ctx: Context) -> bool | None:
    """Evaluate the named condition in ``ctx``; ``None`` when it cannot be decided."""
    if not name or name == "Always":
        return True
    if name == "Never":
        return False
    terms = CONDITIONS.get(name)
    if terms is None:
        return None
    try:
        return _terms(terms, ctx)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None

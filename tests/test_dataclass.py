"""The network stack's ``dataclass`` (cheaper to import) behaves like ``dataclasses.dataclass``
for frozen classes: each class is declared twice, once with each, and compared."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
from collections.abc import Callable
from typing import Any

import pytest

from dicomkit import _dataclass
from dicomkit.net.proto._dimse import CEchoRequest, CStoreRequest


def declare(decorator: Callable[..., Any]) -> tuple[Any, Any, Any]:
    @decorator(frozen=True, slots=True)
    class Point:
        x: int
        y: int = 0
        tags: list[int] = dataclasses.field(default_factory=list, compare=False)
        note: str = dataclasses.field(default="", repr=False)

    @decorator(frozen=True, slots=True, kw_only=True)
    class Named(Point):
        name: str

    @decorator(frozen=True)
    class Checked:
        value: int
        doubled: int = 0

        def __post_init__(self) -> None:
            if self.value < 0:
                raise ValueError("negative")
            object.__setattr__(self, "doubled", 2 * self.value)

    return Point, Named, Checked


OURS = declare(_dataclass.dataclass)
STDLIB = declare(dataclasses.dataclass)


@pytest.mark.parametrize("kind", [0, 1, 2])
def test_signature_fields_and_match_args_match_the_standard(kind: int) -> None:
    ours, std = OURS[kind], STDLIB[kind]
    assert str(inspect.signature(ours)) == str(inspect.signature(std))
    assert [f.name for f in dataclasses.fields(ours)] == [f.name for f in dataclasses.fields(std)]
    assert ours.__match_args__ == std.__match_args__
    assert hasattr(ours, "__slots__") == hasattr(std, "__slots__")


def test_repr_eq_hash_as_the_standard() -> None:
    for (point, named, _), name in ((OURS, "ours"), (STDLIB, "std")):
        a = point(1, 2, [3], "n")
        assert repr(a).endswith("Point(x=1, y=2, tags=[3])"), name
        assert a == point(1, 2, [9], "n")  # tags compare=False
        assert a != point(1, 2, [3], "other")  # note compared
        assert a != point(1, 3)
        assert hash(point(1, 2)) == hash((1, 2, ""))
        assert a.__eq__(named(1, 2, name="n")) is NotImplemented
        b = named(x=1, name="b")
        assert repr(b).endswith("Named(x=1, y=0, tags=[], name='b')")
        assert b == named(x=1, name="b") and b != named(x=1, name="c")
    assert {OURS[0](1), OURS[0](1), OURS[0](2)} == {OURS[0](1), OURS[0](2)}


def test_frozen_defaults_post_init_and_copies() -> None:
    point, named, checked = OURS
    p = point(5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.x = 6
    with pytest.raises(dataclasses.FrozenInstanceError):
        del p.x
    assert point(1).tags is not point(1).tags  # default_factory called per instance
    assert checked(4).doubled == 8
    with pytest.raises(ValueError, match="negative"):
        checked(-1)
    with pytest.raises(TypeError):
        named(1, 2, [], "", "x")  # name is keyword-only
    q = named(x=1, y=2, tags=[7], note="n", name="q")
    for twin in (copy.copy(q), copy.deepcopy(q), dataclasses.replace(q)):
        assert twin == q and twin.tags == [7] and twin.note == "n"
    assert dataclasses.replace(q, name="r").name == "r"


def test_pickle_round_trip_of_messages() -> None:
    for obj in (
        CEchoRequest(message_id=3),
        CStoreRequest(
            message_id=1, affected_sop_class_uid="1.2.3", affected_sop_instance_uid="1.2"
        ),
    ):
        again = pickle.loads(pickle.dumps(obj))
        assert again == obj and again is not obj
        assert repr(again) == repr(obj)


def test_init_compiled_on_first_use_and_plain_subclasses_share_it() -> None:
    point, _, _ = declare(_dataclass.dataclass)
    assert not inspect.isfunction(point.__dict__["__init__"])  # nothing compiled yet
    assert str(inspect.signature(point)).startswith("(x: 'int', y: 'int' = 0")
    assert inspect.isfunction(point.__dict__["__init__"])

    fresh, _, _ = declare(_dataclass.dataclass)

    class Plain(fresh):  # type: ignore[misc,valid-type]
        pass

    assert (
        Plain(3) == Plain(3)
        and fresh(3).x == 3
        and repr(Plain(3)).endswith("Plain(x=3, y=0, tags=[])")
    )


CALLS: list[tuple[int, tuple[Any, ...], dict[str, Any]]] = [
    (0, (1,), {}),
    (0, (1, 2, [3], "n"), {}),
    (0, (), {"x": 4, "note": "k"}),
    (1, (1,), {"name": "a"}),
    (1, (), {"x": 1, "y": 5, "name": "b"}),
    (2, (3,), {}),
    (2, (-1,), {}),  # __post_init__ raises
    (0, (), {}),  # missing x
    (1, (1, 2, [], "", "x"), {}),  # name is keyword-only
    (1, (1,), {}),  # missing keyword-only name
    (0, (1,), {"x": 2}),  # x twice
    (0, (1,), {"z": 2}),  # no such field
    (0, (1, 2, [], "", 5), {}),  # too many
]


def made(cls: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[str, Any]:
    """What a call gives: the fields (repr and note) or the error's type and message."""
    try:
        obj = cls(*args, **kwargs)
    except (TypeError, ValueError) as exc:
        return type(exc).__name__, str(exc).rsplit("__init__()", 1)[-1]
    return repr(obj).rsplit(".", 1)[-1], getattr(obj, "note", None)


def test_shared_init_until_compiled_does_what_the_compiled_one_does() -> None:
    warm = declare(_dataclass.dataclass)
    compiled = declare(_dataclass.dataclass)
    for cls in compiled:
        inspect.signature(cls)  # compiles its __init__
        assert inspect.isfunction(cls.__dict__["__init__"])
    for kind, args, kwargs in CALLS:
        expected = made(compiled[kind], args, kwargs)
        assert made(warm[kind], args, kwargs) == expected, (kind, args, kwargs)
        assert made(STDLIB[kind], args, kwargs) == expected, (kind, args, kwargs)
    ours = declare_mutable(_dataclass.dataclass, _dataclass.field)
    box = ours(1)
    box.item = 2
    assert (box.item, box.label, box.seen, box.serial) == (2, "x", [], 7)
    assert ours(1).seen is not ours(1).seen


def test_init_compiled_once_the_class_made_enough_instances() -> None:
    point, _, _ = declare(_dataclass.dataclass)
    for i in range(_dataclass._COMPILE_AFTER):
        assert not inspect.isfunction(point.__dict__["__init__"])
        assert point(i).x == i
    assert point(99).x == 99
    assert inspect.isfunction(point.__dict__["__init__"])


def declare_mutable(decorator: Callable[..., Any], make_field: Callable[..., Any]) -> Any:
    @decorator(slots=True)
    class Box:
        item: int
        label: str = "x"
        seen: list[int] = make_field(default_factory=list, repr=False)
        serial: int = make_field(default=7, init=False)

    return Box


@pytest.mark.parametrize("make_field", [_dataclass.field, dataclasses.field])
def test_mutable_classes_and_init_false_fields_as_the_standard(
    make_field: Callable[..., Any],
) -> None:
    ours = declare_mutable(_dataclass.dataclass, make_field)
    std = declare_mutable(dataclasses.dataclass, dataclasses.field)
    assert str(inspect.signature(ours)) == str(inspect.signature(std))
    for cls in (ours, std):
        box = cls(1)
        box.item = 2  # not frozen
        assert (box.item, box.label, box.seen, box.serial) == (2, "x", [], 7)
        assert repr(box).endswith("Box(item=2, label='x', serial=7)")
        assert box == cls(2) and box != cls(3)
        assert cls.__hash__ is None  # eq without frozen: unhashable, as dataclasses makes it
        assert cls.__match_args__ == ("item", "label", "seen")
        with pytest.raises(AttributeError):
            box.other = 1  # slots
    assert dataclasses.asdict(ours(5)) == {"item": 5, "label": "x", "seen": [], "serial": 7}


def test_standard_functions_see_our_classes_and_the_names_need_no_import() -> None:
    point, named, checked = declare(_dataclass.dataclass)
    assert _dataclass.field_names(named) == ("x", "y", "tags", "note", "name")
    assert _dataclass.field_names(point(1)) == ("x", "y", "tags", "note")
    assert "__dataclass_fields__" in point.__dict__  # a view until looked up
    assert dataclasses.is_dataclass(point) and dataclasses.is_dataclass(checked(1))
    assert point.__dataclass_params__.frozen
    assert [f.name for f in dataclasses.fields(named)] == list(_dataclass.field_names(named))
    assert [f.kw_only for f in dataclasses.fields(named)] == [False] * 4 + [True]


def test_what_only_dataclasses_does_goes_to_it() -> None:
    @_dataclass.dataclass(order=True, frozen=True)
    class Ordered:
        a: int

    @_dataclass.dataclass
    class WithInitVar:
        a: int
        scale: dataclasses.InitVar[int] = 1

    assert Ordered(1) < Ordered(2)
    assert WithInitVar(2, 3).a == 2 and "__dk_fields__" not in WithInitVar.__dict__
    with pytest.raises(TypeError, match="non-default argument"):

        @_dataclass.dataclass(frozen=True)
        class Bad:
            a: int = 0
            b: int  # type: ignore[misc]

    with pytest.raises(ValueError, match="mutable default"):

        @_dataclass.dataclass(frozen=True)
        class Shared:
            a: list[int] = []  # noqa: RUF012

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

from dicomkit.net.proto import _dataclass
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

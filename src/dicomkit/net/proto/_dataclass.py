"""``dataclass`` for the many frozen value classes of the network stack, cheaper to import.

On Python 3.11 ``dataclasses.dataclass`` compiles six methods per frozen class from source
(``exec``) when its module loads; with ~90 such classes that was most of what ``dicomkit
echo`` spent before sending a byte. This drop-in lets ``dataclasses`` collect the fields (and
make the slots, ``__match_args__``, ``fields()``, ``replace()``) but compiles only
``__init__`` -- written as ``dataclass(frozen=True)`` writes it, on the class's first use, so a
message type a command never sends costs nothing. ``__setattr__``/``__delattr__`` are shared
functions raising ``FrozenInstanceError``; ``__repr__``, ``__eq__`` and ``__hash__`` are
closures over the field names with the same results: ``Name(a=1, b=2)`` over the ``repr=True``
fields; equal when of the same class with equal ``compare=True`` fields (``NotImplemented``
otherwise); the hash of the tuple of those fields. Slotted classes pickle and copy as with
``dataclasses``. A method the class body defines is kept. Anything else (``order=True``,
``unsafe_hash=True``, not frozen, an own ``__init__``) goes to ``dataclasses.dataclass``.
``__dataclass_params__`` says ``frozen=False``: derive from these classes with this
decorator, not with ``dataclasses.dataclass(frozen=True)``.

Modules import it as ``dataclass`` at run time only; type checkers see the standard one::

    if TYPE_CHECKING:
        from dataclasses import dataclass
    else:
        from dicomkit.net.proto._dataclass import dataclass
"""

from __future__ import annotations

import _thread
import dataclasses
import operator
from collections.abc import Callable
from typing import Any

__all__ = ["dataclass"]

_Getter = Callable[[Any], tuple[Any, ...]]


def dataclass(cls: type | None = None, /, **options: Any) -> Any:
    """``dataclasses.dataclass`` with ``__repr__``/``__eq__``/``__hash__`` made without
    ``exec`` for frozen classes (see the module docstring)."""
    if cls is None:
        return lambda c: _process(c, options)
    return _process(cls, options)


def _process(cls: type, options: dict[str, Any]) -> Any:
    if (
        not options.get("frozen", False)
        or options.get("order", False)
        or options.get("unsafe_hash", False)
        or not options.get("init", True)
    ):
        return dataclasses.dataclass(cls, **options)
    own = cls.__dict__
    for name in ("__init__", "__setattr__", "__delattr__"):
        if name in own:  # dataclass would refuse or keep it: leave such a class to it
            return dataclasses.dataclass(cls, **options)
    want_repr = options.get("repr", True) and "__repr__" not in own
    want_eq = options.get("eq", True) and "__eq__" not in own
    class_hash = own.get("__hash__", dataclasses.MISSING)
    explicit_hash = not (
        class_hash is dataclasses.MISSING or (class_hash is None and "__eq__" in own)
    )
    want_hash = options.get("eq", True) and not explicit_hash
    # fields, slots, __match_args__ by dataclasses; no method compiled there
    plain = {**options, "frozen": False, "init": False, "repr": False, "eq": False}
    undocumented = not cls.__doc__
    if undocumented:  # dataclass would describe it with inspect.signature (tokenize, slow)
        cls.__doc__ = "-"
    new: Any = dataclasses.dataclass(cls, **plain)
    fields = dataclasses.fields(new)
    if undocumented:
        new.__doc__ = f"{new.__name__}({', '.join(f.name for f in fields)})"
    qualname = new.__qualname__
    new.__init__ = _LazyInit(new, fields)
    new.__setattr__ = _frozen_setattr
    new.__delattr__ = _frozen_delattr
    if options.get("slots", False):
        new.__getstate__ = _getstate
        new.__setstate__ = _setstate
    if want_repr:
        new.__repr__ = _repr_fn(tuple(f.name for f in fields if f.repr), qualname)
    compared = tuple(f.name for f in fields if f.compare)
    getter = _getter(compared)
    if want_eq:
        new.__eq__ = _eq_fn(getter, qualname)
    if want_hash:
        hashed = tuple(f.name for f in fields if (f.compare if f.hash is None else f.hash))
        new.__hash__ = _hash_fn(_getter(hashed), qualname)
    return new


def _init_fn(cls: type, fields: tuple[dataclasses.Field[Any], ...], qualname: str) -> Any:
    """``__init__`` as ``dataclass(frozen=True)`` writes it: the one method still compiled."""
    names: dict[str, Any] = {"__set": object.__setattr__, "__factory": _FACTORY}
    positional: list[str] = []
    keyword: list[str] = []
    body: list[str] = []
    for f in fields:
        if f.default is not dataclasses.MISSING:
            names[f"__d_{f.name}"] = f.default
            param = f"{f.name}=__d_{f.name}"
            value = f.name
        elif f.default_factory is not dataclasses.MISSING:
            names[f"__f_{f.name}"] = f.default_factory
            param = f"{f.name}=__factory"
            value = f"__f_{f.name}() if {f.name} is __factory else {f.name}"
        else:
            param = f.name
            value = f.name
        (keyword if f.kw_only else positional).append(param)
        body.append(f"  __set(self, {f.name!r}, {value})")
    if hasattr(cls, "__post_init__"):
        body.append("  self.__post_init__()")
    params = ", ".join(["self", *positional, *(["*", *keyword] if keyword else [])])
    source = f"def __init__({params}) -> None:\n" + ("\n".join(body) or "  pass") + "\n"
    namespace: dict[str, Any] = {}
    exec(source, names, namespace)  # noqa: S102 -- our own text, from the field names
    init = namespace["__init__"]
    init.__qualname__ = f"{qualname}.__init__"
    init.__annotations__ = {**{f.name: f.type for f in fields}, "return": None}
    return init


class _LazyInit:
    """A class's ``__init__`` until first looked up (the first instance, or ``inspect``): then
    compiled and put in its place -- a message class a command never uses costs no ``exec``."""

    __slots__ = ("cls", "fields")

    def __init__(self, cls: type, fields: tuple[dataclasses.Field[Any], ...]) -> None:
        self.cls = cls
        self.fields = fields

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        init: Any = self.cls.__dict__.get("__init__")
        if init is self:
            init = _init_fn(self.cls, self.fields, self.cls.__qualname__)
            type.__setattr__(self.cls, "__init__", init)
        return init if obj is None else init.__get__(obj, owner)


class _Factory:
    def __repr__(self) -> str:
        return "<factory>"


_FACTORY = _Factory()


def _frozen_setattr(self: Any, name: str, value: Any) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self: Any, name: str) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")


def _getstate(self: Any) -> list[Any]:
    return [getattr(self, f.name) for f in dataclasses.fields(self)]


def _setstate(self: Any, state: list[Any]) -> None:
    for f, value in zip(dataclasses.fields(self), state, strict=True):
        object.__setattr__(self, f.name, value)


def _getter(names: tuple[str, ...]) -> _Getter:
    if not names:
        return lambda self: ()
    if len(names) == 1:
        name = names[0]
        return lambda self: (getattr(self, name),)
    return operator.attrgetter(*names)


def _repr_fn(names: tuple[str, ...], qualname: str) -> Callable[[Any], str]:
    busy: set[tuple[int, int]] = set()  # a value that contains itself prints as ...

    def __repr__(self: Any) -> str:
        key = (id(self), _thread.get_ident())
        if key in busy:
            return "..."
        busy.add(key)
        try:
            inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        finally:
            busy.discard(key)
        return f"{self.__class__.__qualname__}({inner})"

    __repr__.__qualname__ = f"{qualname}.__repr__"
    return __repr__


def _eq_fn(getter: _Getter, qualname: str) -> Callable[[Any, object], Any]:
    def __eq__(self: Any, other: object) -> Any:
        if other.__class__ is self.__class__:
            return getter(self) == getter(other)
        return NotImplemented

    __eq__.__qualname__ = f"{qualname}.__eq__"
    return __eq__


def _hash_fn(getter: _Getter, qualname: str) -> Callable[[Any], int]:
    def __hash__(self: Any) -> int:
        return hash(getter(self))

    __hash__.__qualname__ = f"{qualname}.__hash__"
    return __hash__

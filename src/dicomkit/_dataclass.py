"""``dataclass`` for the many value classes of the network stack (and the transfer syntax
table), without ``dataclasses``.

On Python 3.11 ``dataclasses`` itself costs a short command several milliseconds to import
(it loads ``inspect``, ``ast``, ``dis`` ...), and its decorator compiles six methods per frozen
class from source and reads every annotation through regular expressions; with ~85 classes
that was most of what ``dicomkit echo`` spent before sending a byte. This drop-in collects the
fields itself (string annotations, ``ClassVar`` skipped; defaults, :func:`field` or
``dataclasses.field`` specifications; inherited fields of classes it made), makes the slots
and ``__match_args__`` as ``dataclasses`` does, and compiles only ``__init__`` -- written as
``dataclass`` writes it, once the class has made :data:`_COMPILE_AFTER` instances (or when
``inspect`` asks for its signature): until then one shared function reads the field
specifications instead (same arguments, defaults, errors), so a one-shot command, which makes
most of its classes' instances once or twice, compiles nothing. ``__setattr__``/``__delattr__`` of frozen classes are shared functions raising
``FrozenInstanceError``; ``__repr__``, ``__eq__`` and ``__hash__`` are closures over the field
names with the same results: ``Name(a=1, b=2)`` over the ``repr=True`` fields; equal when of
the same class with equal ``compare=True`` fields (``NotImplemented`` otherwise); the hash of
the tuple of those fields (frozen; ``__hash__`` is None for a mutable class, as with
``eq=True``). Slotted classes pickle and copy as with ``dataclasses``. A method the class body
defines is kept.

``dataclasses.fields()``, ``replace()``, ``asdict()`` and ``is_dataclass()`` work on these
classes: ``__dataclass_fields__`` and ``__dataclass_params__`` are made by ``dataclasses``
(imported then) when first looked up. :func:`field_names` gives the names without that.
Anything else (``order=True``, ``unsafe_hash=True``, ``init=False``, ``InitVar``, ``KW_ONLY``,
an own ``__init__``, a base made by ``dataclasses``) goes to ``dataclasses.dataclass``.

Modules import it at run time only; type checkers see the standard one::

    if TYPE_CHECKING:
        from dataclasses import dataclass, field
    else:
        from dicomkit._dataclass import dataclass, field
"""

from __future__ import annotations

import _thread
import operator
import re
import sys
from collections.abc import Callable
from typing import Any, cast

__all__ = ["dataclass", "field", "field_names"]

_Getter = Callable[[Any], tuple[Any, ...]]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


#: no default / no factory
MISSING: Any = _Missing()


class _Spec:
    """One field: what ``dataclasses.Field`` says, without that module."""

    __slots__ = (
        "compare",
        "default",
        "default_factory",
        "hash",
        "init",
        "kw_only",
        "metadata",
        "name",
        "repr",
        "type",
    )

    def __init__(
        self,
        default: Any = MISSING,
        default_factory: Any = MISSING,
        init: bool = True,
        repr: bool = True,
        hash: bool | None = None,
        compare: bool = True,
        metadata: Any = None,
        kw_only: Any = MISSING,
    ) -> None:
        if default is not MISSING and default_factory is not MISSING:
            raise ValueError("cannot specify both default and default_factory")
        self.name = ""
        self.type: Any = None
        self.default = default
        self.default_factory = default_factory
        self.init = init
        self.repr = repr
        self.hash = hash
        self.compare = compare
        self.metadata = metadata
        self.kw_only = kw_only

    def copy(self) -> _Spec:
        new = _Spec.__new__(_Spec)
        for name in _Spec.__slots__:
            setattr(new, name, getattr(self, name))
        return new


def field(
    *,
    default: Any = MISSING,
    default_factory: Any = MISSING,
    init: bool = True,
    repr: bool = True,
    hash: bool | None = None,
    compare: bool = True,
    metadata: Any = None,
    kw_only: Any = MISSING,
) -> Any:
    """``dataclasses.field`` for :func:`dataclass` (same arguments)."""
    return _Spec(default, default_factory, init, repr, hash, compare, metadata, kw_only)


def __getattr__(name: str) -> Any:
    if name == "FrozenInstanceError":  # the standard exception, so that callers catch one
        import dataclasses

        return dataclasses.FrozenInstanceError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def dataclass(cls: type | None = None, /, **options: Any) -> Any:
    """``dataclasses.dataclass`` made without the ``dataclasses`` module and without
    ``exec`` except for ``__init__`` (see the module docstring)."""
    if cls is None:
        return lambda c: _process(c, options)
    return _process(cls, options)


def field_names(cls_or_instance: Any) -> tuple[str, ...]:
    """The field names of a data class (ours without importing ``dataclasses``)."""
    cls = cls_or_instance if isinstance(cls_or_instance, type) else type(cls_or_instance)
    specs = cls.__dict__.get("__dk_fields__") if "__dk_fields__" in cls.__dict__ else None
    if specs is None:
        for base in cls.__mro__:
            if "__dk_fields__" in base.__dict__:
                specs = base.__dict__["__dk_fields__"]
                break
    if specs is not None:
        return tuple(s.name for s in specs)
    import dataclasses

    return tuple(f.name for f in dataclasses.fields(cls))


_SUPPORTED = {"frozen", "slots", "eq", "repr", "kw_only", "match_args", "init"}
#: ``Name`` or ``module.Name`` at the start of a string annotation (as dataclasses reads it)
_ANNOTATION = re.compile(r"^(?:\s*(\w+)\s*\.)?\s*(\w+)")


def _standard(cls: type, options: dict[str, Any]) -> Any:
    import dataclasses

    return dataclasses.dataclass(cls, **options)


def _process(cls: type, options: dict[str, Any]) -> Any:
    own = cls.__dict__
    if (
        set(options) - _SUPPORTED
        or not options.get("init", True)
        or "__slots__" in own
        or any(name in own for name in ("__init__", "__setattr__", "__delattr__"))
    ):
        return _standard(cls, options)
    frozen = bool(options.get("frozen", False))
    collected = _collect(cls, bool(options.get("kw_only", False)))
    if collected is None:  # something only dataclasses handles (InitVar, KW_ONLY, its bases)
        return _standard(cls, options)
    specs, mine = collected
    positional = [s for s in specs if s.init and not s.kw_only]
    seen_default = False
    for s in positional:  # a non-default after a default: dataclasses' TypeError
        has = s.default is not MISSING or s.default_factory is not MISSING
        if seen_default and not has:
            return _standard(cls, options)
        seen_default = seen_default or has
    for s in mine:
        if isinstance(s.default, (list, dict, set)):  # dataclasses' ValueError
            return _standard(cls, options)
    want_repr = options.get("repr", True) and "__repr__" not in own
    eq = options.get("eq", True)
    want_eq = eq and "__eq__" not in own
    class_hash = own.get("__hash__", MISSING)
    explicit_hash = not (class_hash is MISSING or (class_hash is None and "__eq__" in own))
    names = tuple(s.name for s in specs)
    qualname = cls.__qualname__
    # what the class gets: put in the namespace of a slotted class's twin before it is made
    # (each dunder set on a class afterwards costs a slot update: most of a class's making)
    init = _LazyInit(cls)
    views = [
        _StandardView(cls, options, a) for a in ("__dataclass_fields__", "__dataclass_params__")
    ]
    made: dict[str, Any] = {
        "__dk_fields__": tuple(specs),
        "__dk_frozen__": frozen,
        "__dataclass_fields__": views[0],
        "__dataclass_params__": views[1],
        "__init__": init,
    }
    if not cls.__doc__:  # dataclasses says the signature (with inspect: slow)
        made["__doc__"] = f"{cls.__name__}({', '.join(names)})"
    if options.get("match_args", True) and "__match_args__" not in own:
        made["__match_args__"] = tuple(s.name for s in positional)
    if frozen:
        made["__setattr__"] = _frozen_setattr
        made["__delattr__"] = _frozen_delattr
    if want_repr:
        made["__repr__"] = _repr_fn(tuple(s.name for s in specs if s.repr), qualname)
    compared = tuple(s.name for s in specs if s.compare)
    if want_eq:
        made["__eq__"] = _eq_fn(_getter(compared), qualname)
    if eq and not explicit_hash:
        if frozen:
            hashed = tuple(s.name for s in specs if (s.compare if s.hash is None else s.hash))
            made["__hash__"] = _hash_fn(_getter(hashed), qualname)
        else:
            made["__hash__"] = None
    new: Any
    if options.get("slots", False):
        cls_dict = dict(own)
        inherited = {n for base in cls.__mro__[1:-1] for n in _slots_of(base)}
        cls_dict["__slots__"] = tuple(n for n in names if n not in inherited)
        for name in names:
            cls_dict.pop(name, None)
        cls_dict.pop("__dict__", None)
        cls_dict.pop("__weakref__", None)
        if frozen:
            if "__getstate__" not in cls_dict:
                made["__getstate__"] = _getstate
            if "__setstate__" not in cls_dict:
                made["__setstate__"] = _setstate
        cls_dict.update(made)
        cls_dict["__qualname__"] = qualname
        new = type(cls)(cls.__name__, cls.__bases__, cls_dict)
        init.cls = views[0].cls = views[1].cls = new
    else:
        new = cls
        for s in mine:  # class attributes as dataclasses leaves them
            if s.default is MISSING:
                if s.name in own and isinstance(own[s.name], _Spec | _std_field_type()):
                    delattr(new, s.name)
            else:
                setattr(new, s.name, s.default)
        for name, value in made.items():
            type.__setattr__(new, name, value)
    return new


def _std_field_type() -> type:
    """``dataclasses.Field`` when that module is loaded (a ``dataclasses.field(...)`` default
    exists only then), else a type nothing is an instance of."""
    module = sys.modules.get("dataclasses")
    return module.Field if module is not None else _Nothing


class _Nothing:
    """No object is one of these."""


def _collect(cls: type, kw_only: bool) -> tuple[list[_Spec], list[_Spec]] | None:
    """(all fields in order, this class's own) or None when ``dataclasses`` must decide."""
    fields: dict[str, _Spec] = {}
    for base in reversed(cls.__mro__[1:]):
        if "__dk_fields__" in base.__dict__:
            for s in base.__dict__["__dk_fields__"]:
                fields[s.name] = s
        elif "__dataclass_fields__" in base.__dict__:
            return None
    own = cls.__dict__
    annotations = own.get("__annotations__", {})
    module = sys.modules.get(cls.__module__)
    namespace = vars(module) if module is not None else {}
    std_field = _std_field_type()
    mine: list[_Spec] = []
    for name, annotation in annotations.items():
        kind = _kind(annotation, namespace)
        if kind == "classvar":
            continue
        if kind != "field":
            return None
        default: Any = own.get(name, MISSING)
        if isinstance(default, _Spec):
            spec = default.copy()
        elif isinstance(default, std_field):
            default = cast(Any, default)
            spec = _Spec(
                default.default if default.default is not _std_missing() else MISSING,
                default.default_factory
                if default.default_factory is not _std_missing()
                else MISSING,
                default.init,
                default.repr,
                default.hash,
                default.compare,
                default.metadata,
                default.kw_only if default.kw_only is not _std_missing() else MISSING,
            )
        else:
            spec = _Spec(default)
        spec.name = name
        spec.type = annotation
        if spec.kw_only is MISSING:
            spec.kw_only = kw_only
        fields[name] = spec
        mine.append(spec)
    return list(fields.values()), mine


def _std_missing() -> Any:
    module = sys.modules.get("dataclasses")
    return module.MISSING if module is not None else MISSING


def _kind(annotation: Any, namespace: dict[str, Any]) -> str:
    """ "field", "classvar", or "other" (InitVar, KW_ONLY: for dataclasses)."""
    if isinstance(annotation, str):
        match = _ANNOTATION.match(annotation)
        name = match.group(2) if match else ""
        if name == "ClassVar":
            return "classvar"
        if name in ("InitVar", "KW_ONLY"):
            return "other"
        return "field"
    import typing

    if annotation is typing.ClassVar or getattr(annotation, "__origin__", None) is typing.ClassVar:
        return "classvar"
    if getattr(type(annotation), "__module__", None) == "dataclasses" or (
        getattr(annotation, "__module__", None) == "dataclasses"
    ):
        return "other"
    return "field"


def _slots_of(cls: type) -> tuple[str, ...]:
    slots = cls.__dict__.get("__slots__")
    if slots is None:
        return ()
    return (slots,) if isinstance(slots, str) else tuple(slots)


class _StandardView:
    """``__dataclass_fields__`` / ``__dataclass_params__`` of a class made here, made by
    ``dataclasses`` on first look-up (a twin class gives the standard objects) and then put
    in the descriptor's place."""

    __slots__ = ("attr", "cls", "options")

    def __init__(self, cls: type, options: dict[str, Any], attr: str) -> None:
        self.cls = cls
        self.options = options
        self.attr = attr

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        import dataclasses

        cls = self.cls
        specs = cls.__dict__["__dk_fields__"]
        namespace: dict[str, Any] = {"__module__": cls.__module__, "__annotations__": {}}
        for s in specs:
            namespace["__annotations__"][s.name] = s.type
            namespace[s.name] = dataclasses.field(
                default=s.default if s.default is not MISSING else dataclasses.MISSING,
                default_factory=s.default_factory
                if s.default_factory is not MISSING
                else dataclasses.MISSING,
                init=s.init,
                repr=s.repr,
                hash=s.hash,
                compare=s.compare,
                metadata=s.metadata,
                kw_only=s.kw_only,
            )
        twin = type(cls.__name__, (), namespace)
        keep = {k: v for k, v in self.options.items() if k in ("frozen", "eq", "kw_only")}
        twin = dataclasses.dataclass(twin, init=False, repr=False, match_args=False, **keep)
        for attr in ("__dataclass_fields__", "__dataclass_params__"):
            type.__setattr__(cls, attr, twin.__dict__[attr])
        return cls.__dict__[self.attr]


def _init_fn(cls: type, specs: tuple[_Spec, ...], qualname: str) -> Any:
    """``__init__`` as ``dataclass`` writes it: the one method compiled from source."""
    frozen = cls.__dict__.get("__dk_frozen__", True)
    names: dict[str, Any] = {"__set": object.__setattr__, "__factory": _FACTORY}
    positional: list[str] = []
    keyword: list[str] = []
    body: list[str] = []
    for f in specs:
        if f.default is not MISSING:
            names[f"__d_{f.name}"] = f.default
            param = f"{f.name}=__d_{f.name}"
            value = f.name if f.init else f"__d_{f.name}"
        elif f.default_factory is not MISSING:
            names[f"__f_{f.name}"] = f.default_factory
            param = f"{f.name}=__factory"
            value = (
                f"__f_{f.name}() if {f.name} is __factory else {f.name}"
                if f.init
                else f"__f_{f.name}()"
            )
        else:
            param = f.name
            value = f.name
            if not f.init:
                continue
        if f.init:
            (keyword if f.kw_only else positional).append(param)
        if frozen:
            body.append(f"  __set(self, {f.name!r}, {value})")
        else:
            body.append(f"  self.{f.name} = {value}")
    if hasattr(cls, "__post_init__"):
        body.append("  self.__post_init__()")
    params = ", ".join(["self", *positional, *(["*", *keyword] if keyword else [])])
    source = f"def __init__({params}) -> None:\n" + ("\n".join(body) or "  pass") + "\n"
    namespace: dict[str, Any] = {}
    exec(source, names, namespace)  # noqa: S102 -- our own text, from the field names
    init = namespace["__init__"]
    init.__qualname__ = f"{qualname}.__init__"
    init.__annotations__ = {**{f.name: f.type for f in specs if f.init}, "return": None}
    return init


#: instances a class makes through the shared ``__init__`` before its own is compiled
_COMPILE_AFTER = 8


class _LazyInit:
    """A class's ``__init__`` until it has made :data:`_COMPILE_AFTER` instances (or is looked
    up on the class: ``inspect``): then compiled and put in its place. Before that each
    instance is made by :func:`_init_from_specs` -- a compile costs as much as dozens of such
    calls, and a class a command never uses, or uses a few times, costs no ``exec``."""

    __slots__ = ("cls", "uses")

    def __init__(self, cls: type) -> None:
        self.cls = cls
        self.uses = 0

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        cls = self.cls
        init: Any = cls.__dict__.get("__init__")
        if init is self:
            if obj is not None and self.uses < _COMPILE_AFTER:
                self.uses += 1
                return _BoundInit(obj, cls)
            init = _init_fn(cls, cls.__dict__["__dk_fields__"], cls.__qualname__)
            type.__setattr__(cls, "__init__", init)
        return init if obj is None else init.__get__(obj, owner)


class _BoundInit:
    """``instance.__init__`` before the class's own is compiled: :func:`_init_from_specs`."""

    __slots__ = ("cls", "obj")

    def __init__(self, obj: Any, cls: type) -> None:
        self.obj = obj
        self.cls = cls

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        _init_from_specs(self.cls, self.obj, args, kwargs)


def _init_from_specs(cls: type, self: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """What the ``__init__`` :func:`_init_fn` writes does, read from the field specifications:
    positional and keyword-only parameters, defaults and factories, ``init=False`` fields,
    ``__post_init__``, and the same ``TypeError`` for a wrong call."""
    specs: tuple[_Spec, ...] = cls.__dict__["__dk_fields__"]
    where = f"{cls.__qualname__}.__init__()"
    positional = [s.name for s in specs if s.init and not s.kw_only]
    if len(args) > len(positional):
        required = sum(
            1
            for s in specs
            if s.init and not s.kw_only and s.default is MISSING and s.default_factory is MISSING
        )
        most = len(positional) + 1
        takes = f"from {required + 1} to {most}" if required < len(positional) else str(most)
        plural = "s" * (takes != "1")
        raise TypeError(
            f"{where} takes {takes} positional argument{plural} but {len(args) + 1} were given"
        )
    given = dict(zip(positional, args, strict=False))
    for name, value in kwargs.items():
        if name in given:
            raise TypeError(f"{where} got multiple values for argument {name!r}")
        given[name] = value
    init_names = {s.name for s in specs if s.init}
    unexpected = [name for name in given if name not in init_names]
    if unexpected:
        raise TypeError(f"{where} got an unexpected keyword argument {unexpected[0]!r}")
    for kw_only, kind in ((False, "positional"), (True, "keyword-only")):
        missing = [
            repr(s.name)
            for s in specs
            if s.init
            and bool(s.kw_only) is kw_only
            and s.name not in given
            and s.default is MISSING
            and s.default_factory is MISSING
        ]
        if missing:  # worded as Python words it
            names = (
                " and ".join(missing)
                if len(missing) < 3
                else ", ".join(missing[:-1]) + ", and " + missing[-1]
            )
            plural = "s" * (len(missing) > 1)
            raise TypeError(
                f"{where} missing {len(missing)} required {kind} argument{plural}: {names}"
            )
    put = object.__setattr__ if cls.__dict__.get("__dk_frozen__", True) else setattr
    for s in specs:
        if s.init and s.name in given:
            value = given[s.name]
        elif s.default is not MISSING:
            value = s.default
        elif s.default_factory is not MISSING:
            value = s.default_factory()
        else:
            continue  # init=False without a default: left unset, as dataclasses does
        put(self, s.name, value)
    if hasattr(cls, "__post_init__"):
        self.__post_init__()


class _Factory:
    def __repr__(self) -> str:
        return "<factory>"


_FACTORY = _Factory()


def _frozen_setattr(self: Any, name: str, value: Any) -> None:
    import dataclasses

    raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self: Any, name: str) -> None:
    import dataclasses

    raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")


def _getstate(self: Any) -> list[Any]:
    return [getattr(self, name) for name in field_names(self)]


def _setstate(self: Any, state: list[Any]) -> None:
    for name, value in zip(field_names(self), state, strict=True):
        object.__setattr__(self, name, value)


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

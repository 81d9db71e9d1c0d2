"""Every public name of the API reference has a docstring: the functions and classes in the
``__all__`` of each public module, and the public methods and properties those classes define
(the API reference at docs/reference/api is generated from them)."""

from __future__ import annotations

import dataclasses
import enum
import importlib
import inspect
from collections.abc import Iterator

import pytest

#: The modules whose ``__all__`` is the public API (those the API reference pages render).
PUBLIC_MODULES = (
    "dicomkit",
    "dicomkit.errors",
    "dicomkit.core",
    "dicomkit.io",
    "dicomkit.io._json",
    "dicomkit.io._xml",
    "dicomkit.pixels",
    "dicomkit.dictionary",
    "dicomkit.iod",
    "dicomkit.deid",
    "dicomkit.media",
    "dicomkit.net",
    "dicomkit.net._sync",
    "dicomkit.services",
    "dicomkit.archive",
    "dicomkit.sr",
    "dicomkit.builders",
    # modules without __all__: the functions and classes they define are their API
    "dicomkit.core._uid",
    "dicomkit.core.values._person_name",
    "dicomkit.pixels._lut",
    "dicomkit.pixels._colour",
    "dicomkit.net._tls",
    "dicomkit.services._query_retrieve",
    "dicomkit.archive._config",
)
#: Single classes the API reference renders from otherwise private modules.
PUBLIC_CLASSES = ("dicomkit.archive._app.ArchiveNode",)


def _own_members(cls: type) -> Iterator[tuple[str, object]]:
    """Public methods and properties a class defines itself (dataclass and enum machinery and
    what it inherits from the standard library are not ours to document)."""
    for name, member in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(member, (staticmethod, classmethod)):
            member = member.__func__
        if isinstance(member, property) or inspect.isfunction(member):
            yield name, member


def public_objects() -> Iterator[tuple[str, object]]:
    for modname in PUBLIC_MODULES:
        module = importlib.import_module(modname)
        names = getattr(module, "__all__", None)
        if names is None:
            names = [
                n
                for n, o in vars(module).items()
                if not n.startswith("_") and getattr(o, "__module__", None) == modname
            ]
        for name in names:
            obj = getattr(module, name)
            if inspect.ismodule(obj) or not (inspect.isclass(obj) or inspect.isroutine(obj)):
                continue  # constants, type aliases and sub-modules
            yield f"{modname}.{name}", obj
            if inspect.isclass(obj) and not issubclass(obj, enum.Enum):
                for member_name, member in _own_members(obj):
                    yield f"{modname}.{name}.{member_name}", member

    for path in PUBLIC_CLASSES:
        modname, _, name = path.rpartition(".")
        cls = getattr(importlib.import_module(modname), name)
        yield path, cls
        for member_name, member in _own_members(cls):
            yield f"{path}.{member_name}", member


def _doc(obj: object) -> str:
    if isinstance(obj, property):
        return (obj.fget.__doc__ if obj.fget else "") or ""
    if not inspect.isclass(obj):
        return obj.__doc__ or ""
    doc = obj.__dict__.get("__doc__") or ""
    # a dataclass without a docstring gets its signature as __doc__: that is no documentation
    return "" if doc.startswith(f"{obj.__name__}(") else doc


def test_every_public_name_has_a_docstring() -> None:
    missing = sorted({name for name, obj in public_objects() if not _doc(obj).strip()})
    assert not missing, f"{len(missing)} public names without a docstring:\n" + "\n".join(missing)


def test_the_check_sees_a_missing_docstring() -> None:
    class Probe:
        def documented(self) -> None:
            """Yes."""

        def bare(self) -> None:
            pass

        @property
        def prop(self) -> int:
            return 1

    found = {name: _doc(obj).strip() for name, obj in _own_members(Probe)}
    assert found == {"documented": "Yes.", "bare": "", "prop": ""}

    @dataclasses.dataclass
    class Undocumented:
        x: int = 0

    assert _doc(Undocumented) == ""


@pytest.mark.parametrize("modname", PUBLIC_MODULES)
def test_public_module_is_documented(modname: str) -> None:
    assert (importlib.import_module(modname).__doc__ or "").strip(), modname

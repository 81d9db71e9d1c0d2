"""Names a package exports but imports on first use (PEP 562 module ``__getattr__``).

A package root lists ``name -> module that defines it``; ``lazy_exports`` gives the module's
``__getattr__`` and ``__dir__``. The first access imports the defining module and caches the
value in the package's namespace, so later accesses cost a plain attribute lookup. This keeps
``import dicomkit.net`` (what ``dicomkit echo`` needs) from loading the data set model, the
codecs or the asyncio driver.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, table: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package`` over ``table`` (name -> defining module)."""

    def __getattr__(name: str) -> Any:
        where = table.get(name)
        if where is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(where), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *table})

    return __getattr__, __dir__

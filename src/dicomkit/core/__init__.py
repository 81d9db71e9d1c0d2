"""The data model: tags, VRs, data elements, data sets, sequences (PS3.5 7)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dicomkit.core.dataset import Dataset
    from dicomkit.core.element import DataElement
    from dicomkit.core.sequence import Sequence
    from dicomkit.core.tag import Tag

__all__ = ["DataElement", "Dataset", "Sequence", "Tag"]

#: imported on first use: ``dicomkit.core.uid`` (what the network stack needs) does not load
#: the data set model
_LAZY = {
    "Dataset": "dicomkit.core.dataset",
    "DataElement": "dicomkit.core.element",
    "Sequence": "dicomkit.core.sequence",
    "Tag": "dicomkit.core.tag",
}


def __getattr__(name: str) -> Any:
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module 'dicomkit.core' has no attribute {name!r}")
    value = getattr(importlib.import_module(where), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})

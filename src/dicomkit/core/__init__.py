"""The data model: tags, VRs, data elements, data sets, sequences (PS3.5 7)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dicomkit.core._dataset import Dataset
    from dicomkit.core._element import DataElement
    from dicomkit.core._private import PrivateBlock
    from dicomkit.core._sequence import Sequence
    from dicomkit.core._tag import Tag
    from dicomkit.core._uid import UID, generate_uid

__all__ = [
    "UID",
    "DataElement",
    "Dataset",
    "PrivateBlock",
    "Sequence",
    "Tag",
    "generate_uid",
]

#: imported on first use: ``dicomkit.core._uid`` (what the network stack needs) does not load
#: the data set model
_LAZY = {
    "Dataset": "dicomkit.core._dataset",
    "DataElement": "dicomkit.core._element",
    "Sequence": "dicomkit.core._sequence",
    "Tag": "dicomkit.core._tag",
    "UID": "dicomkit.core._uid",
    "generate_uid": "dicomkit.core._uid",
    "PrivateBlock": "dicomkit.core._private",
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

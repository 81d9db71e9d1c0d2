"""The data model: tags, VRs, data elements, data sets, sequences (PS3.5 7)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dicomkit._lazy import lazy_exports

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


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)

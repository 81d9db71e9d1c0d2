"""dicomkit: a complete DICOM toolkit.

>>> import dicomkit
>>> ds = dicomkit.read("ct.dcm")                 # doctest: +SKIP
>>> ds.PatientName, ds[0x00100010].vr            # doctest: +SKIP
>>> dicomkit.write(ds, "out.dcm", transfer_syntax="ImplicitVRLittleEndian")  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dicomkit import errors
    from dicomkit.core._dataset import Dataset
    from dicomkit.core._element import DataElement
    from dicomkit.core._sequence import Sequence
    from dicomkit.core._tag import Tag
    from dicomkit.core._uid import UID
    from dicomkit.core._vr import VR
    from dicomkit.io._part10 import read, write

__version__ = "0.1.0"

__all__ = [
    "UID",
    "VR",
    "DataElement",
    "Dataset",
    "Sequence",
    "Tag",
    "__version__",
    "errors",
    "read",
    "write",
]

#: name -> module that holds it: imported on first use, so that ``import dicomkit.net`` (what
#: ``dicomkit echo`` needs) does not load the data set model, the codecs and part 10 I/O
_LAZY = {
    "errors": "dicomkit",
    "Dataset": "dicomkit.core._dataset",
    "DataElement": "dicomkit.core._element",
    "Sequence": "dicomkit.core._sequence",
    "Tag": "dicomkit.core._tag",
    "UID": "dicomkit.core._uid",
    "VR": "dicomkit.core._vr",
    "read": "dicomkit.io._part10",
    "write": "dicomkit.io._part10",
}


def __getattr__(name: str) -> Any:
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module 'dicomkit' has no attribute {name!r}")
    if name == "errors":
        value: Any = importlib.import_module("dicomkit.errors")
    else:
        value = getattr(importlib.import_module(where), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})

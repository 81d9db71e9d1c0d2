"""dicomkit: a complete DICOM toolkit.

>>> import dicomkit
>>> ds = dicomkit.read("ct.dcm")                 # doctest: +SKIP
>>> ds.PatientName, ds[0x00100010].vr            # doctest: +SKIP
>>> dicomkit.write(ds, "out.dcm", transfer_syntax=dicomkit.UID("1.2.840.10008.1.2"))  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dicomkit import errors
from dicomkit.core.dataset import Dataset
from dicomkit.core.element import DataElement
from dicomkit.core.sequence import Sequence
from dicomkit.core.tag import Tag
from dicomkit.core.vr import VR
from dicomkit.io.part10 import read, write

if TYPE_CHECKING:
    from dicomkit.core.uid import UID

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


def __getattr__(name: str) -> Any:
    # UID lives with the dictionary layer; imported on first use so that importing dicomkit
    # stays cheap.
    if name == "UID":
        from dicomkit.core.uid import UID

        return UID
    raise AttributeError(f"module 'dicomkit' has no attribute {name!r}")

"""Data sets a service reads from a file the user supplies: a display system description, a
substance catalogue ...

:func:`read_datasets` takes a Part 10 file (``.dcm``), or JSON: the DICOM JSON Model
(PS3.18 F.2, tags as keys, ``{"00080070": {"vr": "LO", "Value": ["ACME"]}}``) or plain
keyword JSON (``{"Manufacturer": "ACME", "DisplaySubsystemSequence": [{...}]}``, a list of
objects is a sequence). A file may hold one object or a list of them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from dicomkit.core._dataset import Dataset
from dicomkit.core._sequence import Sequence
from dicomkit.errors import DicomError

_TAG_KEY = re.compile(r"^[0-9A-Fa-f]{8}$")


def read_datasets(path: str | Path) -> list[Dataset]:
    """The data sets in ``path`` (see the module doc). Raises
    :class:`~dicomkit.errors.DicomError` saying what is wrong with the file."""
    p = Path(path)
    if not p.is_file():
        raise DicomError(f"{p}: no such file")
    if p.suffix.lower() != ".json":
        import dicomkit

        try:
            return [dicomkit.read(p)]
        except DicomError as exc:
            raise DicomError(f"{p}: not a DICOM file ({exc}); give a .dcm or .json file") from None
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise DicomError(f"{p}: not JSON ({exc})") from None
    objects = data if isinstance(data, list) else [data]
    out = []
    for n, obj in enumerate(objects, 1):
        if not isinstance(obj, dict):
            raise DicomError(f"{p}: entry {n} is not a JSON object")
        try:
            out.append(from_object(obj))
        except (DicomError, AttributeError, ValueError, TypeError) as exc:
            raise DicomError(f"{p}: entry {n}: {exc}") from None
    return out


def from_object(obj: dict[str, Any]) -> Dataset:
    """One data set from a DICOM JSON Model object or a keyword object."""
    if obj and all(_TAG_KEY.match(k) for k in obj):
        from dicomkit.io._json import from_json

        return from_json(obj)
    ds = Dataset()
    for key, value in obj.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            ds.set(key, Sequence([from_object(v) for v in value]))
        elif isinstance(value, list) and not value and key.endswith("Sequence"):
            ds.set(key, Sequence())
        else:
            ds.set(key, value)
    return ds


__all__ = ["from_object", "read_datasets"]

"""pynetdicom as an outside SCU of `dicomkit serve`: store, find, get (test-only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from archive_helpers import CT, MR, SR, to_dataset
from peers import require_module

import dicomkit

STUDY_FIND = "1.2.840.10008.5.1.4.1.2.2.1"
STUDY_GET = "1.2.840.10008.5.1.4.1.2.2.3"
CLASSES = (CT, MR, SR)


def store_rows(port: int, rows: list[dict[str, Any]], tmp: Path) -> list[int]:
    """C-STORE each row (as a Part 10 file read back by pydicom): the statuses."""
    pynetdicom = require_module("pynetdicom")
    pydicom = require_module("pydicom")
    ae = pynetdicom.AE(ae_title="PYSCU")
    for c in CLASSES:
        ae.add_requested_context(c)
    assoc = ae.associate("127.0.0.1", port, ae_title="DICOMKIT")
    assert assoc.is_established
    out = []
    try:
        for row in rows:
            path = tmp / "send.dcm"
            dicomkit.write(to_dataset(row, pixels=True), path)
            out.append(int(assoc.send_c_store(pydicom.dcmread(path)).Status))
    finally:
        assoc.release()
    return out


def ident(level: str, **keys: Any) -> Any:
    from pydicom.dataset import Dataset

    ds = Dataset()
    ds.QueryRetrieveLevel = level
    for k, v in keys.items():
        setattr(ds, k, v)
    return ds


def find(port: int, level: str, **keys: Any) -> list[Any]:
    """C-FIND (Study Root): the matches' identifiers."""
    pynetdicom = require_module("pynetdicom")
    ae = pynetdicom.AE(ae_title="PYSCU")
    ae.add_requested_context(STUDY_FIND)
    assoc = ae.associate("127.0.0.1", port, ae_title="DICOMKIT")
    assert assoc.is_established
    got = []
    try:
        for status, found in assoc.send_c_find(ident(level, **keys), STUDY_FIND):
            if status and status.Status in (0xFF00, 0xFF01):
                got.append(found)
    finally:
        assoc.release()
    return got


def get(port: int, level: str, **keys: Any) -> tuple[list[Any], list[Any]]:
    """C-GET (Study Root): (the responses' status datasets, the data sets received)."""
    pynetdicom = require_module("pynetdicom")
    from pynetdicom import build_role, evt

    received: list[Any] = []

    def on_store(event: Any) -> int:
        received.append(event.dataset)
        return 0

    ae = pynetdicom.AE(ae_title="PYSCU")
    ae.add_requested_context(STUDY_GET)
    for c in CLASSES:
        ae.add_requested_context(c)
    roles = [build_role(c, scp_role=True) for c in CLASSES]
    assoc = ae.associate(
        "127.0.0.1",
        port,
        ae_title="DICOMKIT",
        ext_neg=roles,
        evt_handlers=[(evt.EVT_C_STORE, on_store)],
    )
    assert assoc.is_established
    try:
        statuses = [s for s, _i in assoc.send_c_get(ident(level, **keys), STUDY_GET) if s]
        still_up = assoc.is_established
    finally:
        if assoc.is_established:
            assoc.release()
    assert still_up, "the C-GET broke the association"
    return statuses, received

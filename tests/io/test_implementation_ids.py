"""Files we write name us in (0002,0012) / (0002,0013) (PS3.10 7.1) whenever the File Meta
is rebuilt; a copy (nothing changed) keeps its meta byte for byte."""

from __future__ import annotations

import io

import dicomkit
from dicomkit.core._element import DataElement
from dicomkit.core._uid import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME

FOREIGN_UID = "1.2.276.0.7230010.3.0.3.6.7"


def _foreign() -> bytes:
    ds = dicomkit.Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.2.1125.1"
    ds.PatientName = "IMPL^TEST"
    out = io.BytesIO()
    dicomkit.write(ds, out)
    back = dicomkit.read(out.getvalue())
    assert back.file_meta is not None
    back.file_meta.add(DataElement(0x00020012, "UI", FOREIGN_UID))
    back.file_meta.add(DataElement(0x00020013, "SH", "OFFIS_DCMTK_367"))
    out = io.BytesIO()
    dicomkit.write(back, out)
    return out.getvalue()


def _ids(data: bytes) -> tuple[str, str]:
    meta = dicomkit.read(data).file_meta
    assert meta is not None
    return str(meta.ImplementationClassUID), str(meta.ImplementationVersionName)


def test_a_copy_keeps_the_writers_ids() -> None:
    src = _foreign()
    assert _ids(src) == (FOREIGN_UID, "OFFIS_DCMTK_367")
    out = io.BytesIO()
    dicomkit.write(dicomkit.read(src), out)
    assert out.getvalue() == src


def test_new_instance_uid_or_syntax_names_us() -> None:
    src = _foreign()
    ds = dicomkit.read(src)
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.2.1125.2"  # what de-identification does
    out = io.BytesIO()
    dicomkit.write(ds, out)
    assert _ids(out.getvalue()) == (IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME)
    out = io.BytesIO()
    dicomkit.write(dicomkit.read(src), out, transfer_syntax="1.2.840.10008.1.2")
    assert _ids(out.getvalue()) == (IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME)


def test_ids_set_by_the_caller_are_kept() -> None:
    ds = dicomkit.read(_foreign())
    assert ds.file_meta is not None
    ds.file_meta.ImplementationVersionName = "MINE_1"
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.2.1125.3"
    out = io.BytesIO()
    dicomkit.write(ds, out)
    assert _ids(out.getvalue()) == (IMPLEMENTATION_CLASS_UID, "MINE_1")

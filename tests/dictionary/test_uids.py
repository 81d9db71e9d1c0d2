"""UID registry lookups (PS3.6 Annex A) and the literal constants module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from dicomkit import dictionary as d
from dicomkit.dictionary import uids
from dicomkit.dictionary._uids import UIDS


def test_registry_size_and_order() -> None:
    assert len(UIDS) >= 490
    keys = [[int(p) for p in row[0].split(".")] for row in UIDS]
    assert keys == sorted(keys)
    assert len({row[0] for row in UIDS}) == len(UIDS)
    keywords = [row[2] for row in UIDS if row[2]]
    assert len(keywords) == len(set(keywords))


def test_uid_info() -> None:
    info = d.uid_info("1.2.840.10008.5.1.4.1.1.2")
    assert info == d.UIDInfo(
        "1.2.840.10008.5.1.4.1.1.2", "CT Image Storage", "CTImageStorage", "SOP Class", False
    )
    ts = d.uid_info("1.2.840.10008.1.2.2")
    assert ts is not None and ts.type == "Transfer Syntax" and ts.retired
    assert d.uid_info("1.2.840.10008.1.2\x00") == d.uid_info("1.2.840.10008.1.2")
    assert d.uid_info("1.2.3.4") is None


def test_uid_for_keyword() -> None:
    assert d.uid_for_keyword("CTImageStorage") == "1.2.840.10008.5.1.4.1.1.2"
    assert d.uid_for_keyword("Verification") == "1.2.840.10008.1.1"
    assert d.uid_for_keyword("DICOMApplicationContext") == "1.2.840.10008.3.1.1.1"
    assert d.uid_for_keyword("NoSuchThing") is None
    for uid, _name, keyword, _typ, _ret in UIDS:
        if keyword:
            assert d.uid_for_keyword(keyword) == uid


def test_dicom3tools_cross_check_adds_missing_standard_uids() -> None:
    info = d.uid_info("1.2.840.10008.3.1.4.32.2")
    assert info is not None and info.retired and info.type == "SOP Class"


def test_storage_sop_classes() -> None:
    storage = d.storage_sop_classes()
    assert len(storage) >= 200
    assert "1.2.840.10008.5.1.4.1.1.2" in storage  # CT
    assert "1.2.840.10008.5.1.4.1.1.88.11" in storage  # Basic Text SR
    assert "1.2.840.10008.5.1.4.38.1" in storage  # Hanging Protocol
    assert "1.2.840.10008.1.20.1" not in storage  # Storage Commitment Push Model
    assert "1.2.840.10008.1.3.10" not in storage  # Media Storage Directory
    assert "1.2.840.10008.5.1.4.1.2.2.1" not in storage  # Q/R FIND
    for uid in storage:
        info = d.uid_info(uid)
        assert info is not None and info.type == "SOP Class"


def test_transfer_syntaxes() -> None:
    ts = d.transfer_syntaxes()
    assert len(ts) >= 60
    for uid in (
        "1.2.840.10008.1.2",
        "1.2.840.10008.1.2.1",
        "1.2.840.10008.1.2.4.50",
        "1.2.840.10008.1.2.4.201",
        "1.2.840.10008.1.2.4.112",
        "1.2.840.10008.1.2.8.1",
    ):
        assert uid in ts


def test_constants() -> None:
    assert uids.CTImageStorage == "1.2.840.10008.5.1.4.1.1.2"
    assert uids.ExplicitVRLittleEndian == "1.2.840.10008.1.2.1"
    assert uids.ImplicitVRLittleEndian == "1.2.840.10008.1.2"
    assert uids.Verification == "1.2.840.10008.1.1"
    assert uids.StudyRootQueryRetrieveInformationModelFind == "1.2.840.10008.5.1.4.1.2.2.1"
    assert uids.DICOMApplicationContext == "1.2.840.10008.3.1.1.1"
    assert uids.StorageCommitmentPushModelInstance == "1.2.840.10008.1.20.1.1"
    assert uids.ModalityWorklistInformationModelFind == "1.2.840.10008.5.1.4.31"


def test_constants_cover_every_keyword_as_literal_finals() -> None:
    source = Path(uids.__file__).read_text(encoding="utf-8")
    tree = ast.parse(source)
    names = {}
    for node in tree.body:
        if isinstance(node, ast.AnnAssign):
            assert isinstance(node.target, ast.Name)
            assert isinstance(node.annotation, ast.Name) and node.annotation.id == "Final"
            assert isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
            names[node.target.id] = node.value.value
    expected = {row[2]: row[0] for row in UIDS if row[2]}
    assert names == expected


def test_agrees_with_pydicom_oracle() -> None:
    pu = pytest.importorskip("pydicom.uid")
    from pydicom._uid_dict import UID_dictionary

    for uid, (_name, typ, _info, _retired, keyword) in UID_dictionary.items():
        info = d.uid_info(uid)
        if info is None:
            continue  # added to pydicom after 2024d
        assert info.type == typ, uid
        if keyword:
            assert info.keyword == keyword, uid
    assert pu.CTImageStorage == uids.CTImageStorage

"""Hanging Protocol Q/R matching of PS3.4 U.6.1.2 on `dicomkit serve`, pynetdicom as the SCU:
Hanging Protocol instances built with pydicom are stored, then C-FIND matches the keys of
Table U.6-1 -- name, level, the Hanging Protocol Definition Sequence item by item (Modality,
Laterality, and the nested Anatomic Region / Procedure Code / Reason for Requested Procedure
code sequences), the User Identification Code Sequence and User Group Name -- and C-GET
brings back what was found."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "archive"))
from archive_helpers import serving
from peers import free_port, require_module

from dicomkit.dictionary import uids

pytestmark = pytest.mark.interop
HP = uids.HangingProtocolStorage
HP_FIND = uids.HangingProtocolInformationModelFind
HP_GET = uids.HangingProtocolInformationModelGet
ROOT = "1.2.826.0.1.3680043.8.498.78"

KNEE = ("T-15720", "SRT", "Knee")
CHEST = ("T-D3000", "SRT", "Chest")
BRAIN = ("T-A0100", "SRT", "Brain")


def _ds(**kw: Any) -> Any:
    from pydicom.dataset import Dataset

    ds = Dataset()
    for k, v in kw.items():
        setattr(ds, k, v)
    return ds


def _code(code: tuple[str, str, str]) -> Any:
    return _ds(CodeValue=code[0], CodingSchemeDesignator=code[1], CodeMeaning=code[2])


def _definition(modality: str, region: tuple[str, str, str], laterality: str = "") -> Any:
    item = _ds(Modality=modality, Laterality=laterality)
    item.AnatomicRegionSequence = [_code(region)]
    item.ProcedureCodeSequence = [_code(("P-" + modality, "LOCAL", modality + " exam"))]
    item.ReasonForRequestedProcedureCodeSequence = [_code(("R-" + region[0], "LOCAL", "why"))]
    return item


#: (name, level, user group, definition items as (modality, region, laterality), priors)
PROTOCOLS = [
    ("MR KNEE LEFT", "USER_GROUP", "MSK", [("MR", KNEE, "L")], 1),
    ("MR CHEST + CT KNEE", "SITE", "BODY", [("MR", CHEST, ""), ("CT", KNEE, "R")], 0),
    ("CT BRAIN", "SITE", "NEURO", [("CT", BRAIN, "")], 2),
]


def _hanging_protocol(i: int) -> Any:
    from pydicom.uid import ExplicitVRLittleEndian

    name, level, group, items, priors = PROTOCOLS[i]
    ds = _ds(
        SOPClassUID=HP,
        SOPInstanceUID=f"{ROOT}.{i}",
        HangingProtocolName=name,
        HangingProtocolDescription=name.lower(),
        HangingProtocolLevel=level,
        HangingProtocolCreator="DR^WHO",
        HangingProtocolCreationDateTime=f"2024010{i + 1}030405",
        NumberOfPriorsReferenced=priors,
        NumberOfScreens=1,
        HangingProtocolUserGroupName=group,
    )
    ds.HangingProtocolDefinitionSequence = [_definition(*it) for it in items]
    ds.HangingProtocolUserIdentificationCodeSequence = [_code((f"U{i}", "LOCAL", f"user {i}"))]
    ds.file_meta = _ds(TransferSyntaxUID=ExplicitVRLittleEndian)
    return ds


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    pynetdicom = require_module("pynetdicom")
    require_module("pydicom")
    tmp = tmp_path_factory.mktemp("hp")
    port = free_port()
    with serving(tmp / "arch", port):
        ae = pynetdicom.AE(ae_title="PYSCU")
        ae.add_requested_context(HP)
        assoc = ae.associate("127.0.0.1", port, ae_title="DICOMKIT")
        assert assoc.is_established
        statuses = [assoc.send_c_store(_hanging_protocol(i)).Status for i in range(3)]
        assoc.release()
        assert statuses == [0, 0, 0]
        yield port


def _find(port: int, ident: Any) -> list[Any]:
    import pynetdicom

    ae = pynetdicom.AE(ae_title="PYSCU")
    ae.add_requested_context(HP_FIND)
    assoc = ae.associate("127.0.0.1", port, ae_title="DICOMKIT")
    assert assoc.is_established
    got, final = [], None
    for status, ds in assoc.send_c_find(ident, HP_FIND):
        if status.Status in (0xFF00, 0xFF01):
            got.append(ds)
        else:
            final = status.Status
    assoc.release()
    assert final == 0
    return got


def _names(found: list[Any]) -> set[str]:
    return {str(d.HangingProtocolName) for d in found}


def _want(pred: Any) -> set[str]:
    return {p[0] for p in PROTOCOLS if pred(p)}


def _query(**keys: Any) -> Any:
    return _ds(**{"SOPInstanceUID": "", "HangingProtocolName": "", **keys})


def test_definition_sequence_items_match_as_a_whole(port: int) -> None:
    # MR and Knee in the same item: the protocol with MR chest and CT knee does not match
    item = _ds(Modality="MR")
    item.AnatomicRegionSequence = [_ds(CodeValue=KNEE[0], CodingSchemeDesignator=KNEE[1])]
    found = _find(port, _query(HangingProtocolDefinitionSequence=[item]))
    want = _want(lambda p: any(m == "MR" and r == KNEE for m, r, _l in p[3]))
    assert want and _names(found) == want
    # knee alone: both protocols with a knee item
    item = _ds()
    item.AnatomicRegionSequence = [_ds(CodeValue=KNEE[0])]
    found = _find(port, _query(HangingProtocolDefinitionSequence=[item]))
    want = _want(lambda p: any(r == KNEE for _m, r, _l in p[3]))
    assert len(want) == 2 and _names(found) == want


def test_laterality_procedure_and_reason_codes(port: int) -> None:
    item = _ds(Laterality="R")
    found = _find(port, _query(HangingProtocolDefinitionSequence=[item]))
    assert _names(found) == _want(lambda p: any(lat == "R" for _m, _r, lat in p[3]))
    item = _ds()
    item.ProcedureCodeSequence = [_ds(CodeValue="P-CT", CodingSchemeDesignator="LOCAL")]
    found = _find(port, _query(HangingProtocolDefinitionSequence=[item]))
    assert _names(found) == _want(lambda p: any(m == "CT" for m, _r, _l in p[3]))
    item = _ds()
    item.ReasonForRequestedProcedureCodeSequence = [_ds(CodeValue="R-" + BRAIN[0])]
    found = _find(port, _query(HangingProtocolDefinitionSequence=[item]))
    assert _names(found) == _want(lambda p: any(r == BRAIN for _m, r, _l in p[3]))


def test_level_user_group_and_user_code(port: int) -> None:
    found = _find(port, _query(HangingProtocolLevel="SITE", NumberOfPriorsReferenced=None))
    assert _names(found) == _want(lambda p: p[1] == "SITE")
    assert {int(d.NumberOfPriorsReferenced) for d in found} == {
        p[4] for p in PROTOCOLS if p[1] == "SITE"
    }
    found = _find(port, _query(HangingProtocolUserGroupName="NEURO"))
    assert _names(found) == _want(lambda p: p[2] == "NEURO")
    found = _find(
        port,
        _query(HangingProtocolUserIdentificationCodeSequence=[_ds(CodeValue="U0")]),
    )
    assert _names(found) == {PROTOCOLS[0][0]}


def test_nested_return_keys(port: int) -> None:
    item = _ds(Modality="", Laterality="")
    item.AnatomicRegionSequence = [_ds(CodeValue="", CodeMeaning="")]
    found = _find(
        port, _query(HangingProtocolName="CT BRAIN", HangingProtocolDefinitionSequence=[item])
    )
    assert len(found) == 1
    got = found[0].HangingProtocolDefinitionSequence[0]
    assert got.Modality == "CT"
    assert got.AnatomicRegionSequence[0].CodeValue == BRAIN[0]
    assert got.AnatomicRegionSequence[0].CodeMeaning == BRAIN[2]


def test_get_what_was_found(port: int) -> None:
    import pynetdicom
    from pynetdicom import build_role, evt

    item = _ds(Modality="MR", Laterality="L")
    found = _find(port, _query(HangingProtocolDefinitionSequence=[item]))
    assert len(found) == 1
    received: list[Any] = []

    def on_store(event: Any) -> int:
        received.append(event.dataset)
        return 0

    ae = pynetdicom.AE(ae_title="PYSCU")
    ae.add_requested_context(HP_GET)
    ae.add_requested_context(HP)
    assoc = ae.associate(
        "127.0.0.1",
        port,
        ae_title="DICOMKIT",
        ext_neg=[build_role(HP, scp_role=True)],
        evt_handlers=[(evt.EVT_C_STORE, on_store)],
    )
    ident = _ds(SOPInstanceUID=found[0].SOPInstanceUID)
    statuses = [s.Status for s, _i in assoc.send_c_get(ident, HP_GET)]
    assoc.release()
    assert statuses[-1] == 0
    assert len(received) == 1
    got = received[0]
    assert got.HangingProtocolName == found[0].HangingProtocolName
    region = got.HangingProtocolDefinitionSequence[0].AnatomicRegionSequence[0]
    assert region.CodeValue == KNEE[0]

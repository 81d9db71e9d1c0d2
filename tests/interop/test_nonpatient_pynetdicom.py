"""Non-patient objects on `dicomkit serve` with pynetdicom as the SCU: Hanging Protocol,
Color Palette and Defined Procedure Protocol instances are stored (not C000 "no Study
Instance UID") and found / retrieved through their own information models (PS3.4 U, X, HH)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "archive"))
from archive_helpers import serving
from peers import free_port, require_module

import dicomkit
from dicomkit.core._dataset import Dataset
from dicomkit.core._sequence import Sequence
from dicomkit.core._uid import generate_uid
from dicomkit.dictionary import uids

pytestmark = pytest.mark.interop
HP, CP, DPP = (
    uids.HangingProtocolStorage,
    uids.ColorPaletteStorage,
    uids.CTDefinedProcedureProtocolStorage,
)
HP_FIND = uids.HangingProtocolInformationModelFind
HP_GET = uids.HangingProtocolInformationModelGet
CP_FIND = uids.ColorPaletteQueryRetrieveInformationModelFind
CP_MOVE = uids.ColorPaletteQueryRetrieveInformationModelMove
DPP_FIND = uids.DefinedProcedureProtocolInformationModelFind
STUDY_FIND = uids.StudyRootQueryRetrieveInformationModelFind


def _item(**kw: Any) -> Dataset:
    it = Dataset()
    for k, v in kw.items():
        it.set(k, v)
    return it


def _hanging_protocol(name: str, modality: str, level: str) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = HP
    ds.SOPInstanceUID = generate_uid()
    ds.HangingProtocolName = name
    ds.HangingProtocolDescription = f"{modality} reading"
    ds.HangingProtocolLevel = level
    ds.HangingProtocolCreator = "DR^WHO"
    ds.HangingProtocolCreationDateTime = "20240102030405"
    ds.NumberOfPriorsReferenced = 0
    ds.NumberOfScreens = 1
    ds.HangingProtocolDefinitionSequence = Sequence([_item(Modality=modality, Laterality="")])
    return ds


def _color_palette(label: str) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = CP
    ds.SOPInstanceUID = generate_uid()
    ds.ContentLabel = label
    ds.ContentDescription = f"{label} palette"
    ds.ContentCreatorName = "PAINTER^A"
    ds.InstanceCreationDate = "20240301"
    ds.RedPaletteColorLookupTableDescriptor = [4, 0, 8]
    ds.RedPaletteColorLookupTableData = b"\x00\x40\x80\xff"
    return ds


def _dpp(name: str) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = DPP
    ds.SOPInstanceUID = generate_uid()
    ds.ProtocolName = name
    ds.Modality = "CT"
    ds.ContentLabel = name.upper().replace(" ", "_")[:16]
    ds.InstanceCreationDate = "20240401"
    return ds


OBJECTS = [
    _hanging_protocol("CT CHEST 2", "CT", "SITE"),
    _hanging_protocol("MR KNEE", "MR", "USER_GROUP"),
    _color_palette("HOT_IRON"),
    _color_palette("PET"),
    _dpp("Head routine"),
]


def _ident(**keys: Any) -> Any:
    from pydicom.dataset import Dataset as PDataset

    ds = PDataset()
    for k, v in keys.items():
        setattr(ds, k, v)
    return ds


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int, Path]]:
    pynetdicom = require_module("pynetdicom")
    pydicom = require_module("pydicom")
    tmp = tmp_path_factory.mktemp("np")
    port, dest_port = free_port(), free_port()
    with serving(tmp / "arch", port, "--peer", f"PYDEST=127.0.0.1:{dest_port}"):
        ae = pynetdicom.AE(ae_title="PYSCU")
        for c in (HP, CP, DPP):
            ae.add_requested_context(c)
        assoc = ae.associate("127.0.0.1", port, ae_title="DICOMKIT")
        assert assoc.is_established
        statuses = []
        for ds in OBJECTS:
            path = tmp / "x.dcm"
            dicomkit.write(ds, path)
            statuses.append(assoc.send_c_store(pydicom.dcmread(path)).Status)
        assoc.release()
        assert statuses == [0] * len(OBJECTS)
        yield port, dest_port, tmp / "arch"


def _find(port: int, sop_class: str, ident: Any) -> list[Any]:
    import pynetdicom

    ae = pynetdicom.AE(ae_title="PYSCU")
    ae.add_requested_context(sop_class)
    assoc = ae.associate("127.0.0.1", port, ae_title="DICOMKIT")
    assert assoc.is_established
    got = []
    final = None
    for status, ds in assoc.send_c_find(ident, sop_class):
        if status.Status in (0xFF00, 0xFF01):
            got.append(ds)
        else:
            final = status.Status
    assoc.release()
    assert final == 0
    return got


def test_stored_in_their_own_folder(node: tuple[int, int, Path]) -> None:
    _p, _d, arch = node
    names = {p.stem for p in (arch / ".nonpatient").rglob("*.dcm")}
    assert names == {str(ds.SOPInstanceUID) for ds in OBJECTS}


def test_hanging_protocol_find_by_name_and_definition(node: tuple[int, int, Path]) -> None:
    port, _d, _a = node
    got = _find(
        port,
        HP_FIND,
        _ident(
            SOPInstanceUID="",
            HangingProtocolName="CT*",
            HangingProtocolLevel="",
            HangingProtocolCreator="",
        ),
    )
    assert [str(d.HangingProtocolName) for d in got] == ["CT CHEST 2"]
    assert got[0].HangingProtocolLevel == "SITE"
    assert got[0].SOPInstanceUID == OBJECTS[0].SOPInstanceUID
    from pydicom.dataset import Dataset as PDataset
    from pydicom.sequence import Sequence as PSequence

    item = PDataset()
    item.Modality = "MR"
    ident = _ident(SOPInstanceUID="", HangingProtocolName="")
    ident.HangingProtocolDefinitionSequence = PSequence([item])
    got = _find(port, HP_FIND, ident)
    assert [str(d.HangingProtocolName) for d in got] == ["MR KNEE"]
    assert got[0].HangingProtocolDefinitionSequence[0].Modality == "MR"


def test_color_palette_find(node: tuple[int, int, Path]) -> None:
    port, _d, _a = node
    got = _find(port, CP_FIND, _ident(SOPInstanceUID="", ContentLabel="", ContentDescription=""))
    assert sorted(d.ContentLabel for d in got) == ["HOT_IRON", "PET"]
    got = _find(port, CP_FIND, _ident(SOPInstanceUID="", ContentLabel="PET"))
    assert [d.SOPInstanceUID for d in got] == [OBJECTS[3].SOPInstanceUID]


def test_defined_procedure_protocol_find(node: tuple[int, int, Path]) -> None:
    port, _d, _a = node
    got = _find(port, DPP_FIND, _ident(SOPInstanceUID="", ProtocolName="head*", Modality=""))
    # wildcards are case-sensitive outside person names: no match; then the exact case
    assert got == []
    got = _find(port, DPP_FIND, _ident(SOPInstanceUID="", ProtocolName="Head*", Modality=""))
    assert [d.ProtocolName for d in got] == ["Head routine"]


def test_non_patient_objects_are_not_studies(node: tuple[int, int, Path]) -> None:
    port, _d, _a = node
    got = _find(port, STUDY_FIND, _ident(QueryRetrieveLevel="STUDY", StudyInstanceUID=""))
    assert got == []


def test_hanging_protocol_get(node: tuple[int, int, Path]) -> None:
    import pynetdicom
    from pynetdicom import build_role, evt

    port, _d, _a = node
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
    want = OBJECTS[1]
    statuses = [
        s.Status for s, _i in assoc.send_c_get(_ident(SOPInstanceUID=want.SOPInstanceUID), HP_GET)
    ]
    assoc.release()
    assert statuses[-1] == 0
    assert [str(d.HangingProtocolName) for d in received] == ["MR KNEE"]


def test_color_palette_move(node: tuple[int, int, Path]) -> None:
    import pynetdicom
    from pynetdicom import evt

    port, dest_port, _a = node
    received: list[Any] = []

    def on_store(event: Any) -> int:
        received.append(event.dataset)
        return 0

    dest = pynetdicom.AE(ae_title="PYDEST")
    dest.add_supported_context(CP)
    server = dest.start_server(
        ("127.0.0.1", dest_port), block=False, evt_handlers=[(evt.EVT_C_STORE, on_store)]
    )
    try:
        ae = pynetdicom.AE(ae_title="PYSCU")
        ae.add_requested_context(CP_MOVE)
        assoc = ae.associate("127.0.0.1", port, ae_title="DICOMKIT")
        uids_ = [OBJECTS[2].SOPInstanceUID, OBJECTS[3].SOPInstanceUID]
        statuses = [
            s.Status for s, _i in assoc.send_c_move(_ident(SOPInstanceUID=uids_), "PYDEST", CP_MOVE)
        ]
        assoc.release()
    finally:
        server.shutdown()
    assert statuses[-1] == 0
    assert sorted(d.ContentLabel for d in received) == ["HOT_IRON", "PET"]
    assert all(bytes(d.RedPaletteColorLookupTableData) == b"\x00\x40\x80\xff" for d in received)


FIND_ARGS = ["--model", "hanging-protocol", "-k", "HangingProtocolName=MR*", "--json", "keyword"]


def test_cli_find_and_get_hanging_protocol(node: tuple[int, int, Path], tmp_path: Path) -> None:
    import json
    import subprocess

    port, _d, _a = node
    base = [sys.executable, "-m", "dicomkit"]
    proc = subprocess.run(
        [*base, "find", "127.0.0.1", str(port), "--aec", "DICOMKIT", *FIND_ARGS],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [r["SOPInstanceUID"] for r in rows] == [str(OBJECTS[1].SOPInstanceUID)]
    out = tmp_path / "got"
    get_args = ["--model", "hanging-protocol", "--sop-class", HP, "-o", str(out)]
    get_args += ["-k", f"SOPInstanceUID={OBJECTS[0].SOPInstanceUID}"]
    proc = subprocess.run(
        [*base, "get", "127.0.0.1", str(port), "--aec", "DICOMKIT", *get_args],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
    [got] = list(out.rglob("*.dcm"))
    assert dicomkit.read(got).HangingProtocolName == "CT CHEST 2"

"""Non-patient objects in the archive (dicomkit.archive._nonpatient): stored apart from the
patient index, matched on any attribute, kept across a restart and its consistency check."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import dicomkit
from dicomkit.archive._node import Archive
from dicomkit.archive._store import DuplicateInstanceError, DuplicatePolicy
from dicomkit.core._dataset import Dataset
from dicomkit.core._sequence import Sequence
from dicomkit.core._uid import generate_uid
from dicomkit.dictionary import uids
from dicomkit.services._query_retrieve import Model, identifier


def _implant(name: str, manufacturer: str) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = uids.GenericImplantTemplateStorage
    ds.SOPInstanceUID = generate_uid()
    ds.Manufacturer = manufacturer
    ds.ImplantName = name
    ds.ImplantPartNumber = name[:4]
    ds.EffectiveDateTime = "20230101120000"
    item = Dataset()
    item.CodeValue = "T-D0300"
    item.CodingSchemeDesignator = "SRT"
    item.CodeMeaning = "Extremity"
    ds.ImplantTargetAnatomySequence = Sequence([item])
    return ds


def _ingest(arch: Archive, tmp: Path, ds: Dataset, **kw: object) -> str:
    path = arch.incoming_path()
    dicomkit.write(ds, path)
    return arch.ingest(path, **kw).outcome  # type: ignore[arg-type]


def _query(**keys: object) -> Dataset:
    q = identifier("IMAGE", dict(keys))
    del q["QueryRetrieveLevel"]
    return q


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    if request.param == "sqlite":
        yield None
        return
    from pg_server import postgres_server

    with postgres_server() as url:
        yield url


def test_implant_templates_stored_found_and_kept(tmp_path: Path, db_url: str | None) -> None:
    a, b = _implant("HIP STEM 12", "ACME"), _implant("KNEE 3", "OTHER")
    with Archive(tmp_path / "arch", db_url=db_url) as arch:
        assert [_ingest(arch, tmp_path, ds) for ds in (a, b)] == ["stored", "stored"]
        assert _ingest(arch, tmp_path, a) == "kept"
        with pytest.raises(DuplicateInstanceError):
            _ingest(arch, tmp_path, a, policy=DuplicatePolicy.REJECT)
        found, _ = arch.non_patient.find(
            _query(SOPInstanceUID="", ImplantName="HIP*", Manufacturer=""),
            Model.GENERIC_IMPLANT_TEMPLATE,
        )
        assert [(d.SOPInstanceUID, d.Manufacturer) for d in found] == [(a.SOPInstanceUID, "ACME")]
        assert arch.index.paths() == {}  # not in the patient / study index
    # a restart runs the consistency check: the files under .nonpatient stay, rows too
    with Archive(tmp_path / "arch", db_url=db_url) as arch:
        assert arch.last_check is not None and not arch.last_check.orphan_files
        assert arch.non_patient.count(Model.GENERIC_IMPLANT_TEMPLATE) == 2
        found, _ = arch.non_patient.find(
            _query(SOPInstanceUID="", EffectiveDateTime="2022-2024", ImplantName=""),
            Model.GENERIC_IMPLANT_TEMPLATE,
        )
        assert sorted(d.ImplantName for d in found) == ["HIP STEM 12", "KNEE 3"]
        items = arch.non_patient.retrieve(
            _query(SOPInstanceUID=b.SOPInstanceUID), Model.GENERIC_IMPLANT_TEMPLATE
        )
        assert [(sop, path.exists()) for _c, sop, _t, path in items] == [(b.SOPInstanceUID, True)]
        assert arch.non_patient.find(_query(SOPInstanceUID=""), Model.HANGING_PROTOCOL)[0] == []

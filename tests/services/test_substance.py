"""Substance Administration Query (PS3.4 V): product characteristics and approvals over a
catalogue file, statuses."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from dicomkit.core._dataset import Dataset
from dicomkit.dictionary import tags
from dicomkit.errors import DicomError, DimseError
from dicomkit.net import AE, Association
from dicomkit.net._memory import memory_pair
from dicomkit.services import (
    PRODUCT_CHARACTERISTICS_QUERY,
    SUBSTANCE_APPROVAL_QUERY,
    SUBSTANCE_QUERY_CLASSES,
    SubstanceCatalogue,
    SubstanceQuerySCP,
    product_characteristics,
    substance_approval,
)
from dicomkit.services import _worklist as wl
from dicomkit.services._n_common import supported_for

IV = ("47625008", "SCT", "Intravenous route")
ORAL = ("26643006", "SCT", "Oral route")
CATALOGUE = [
    {
        "ProductPackageIdentifier": "0123456789012",
        "ProductName": "Iopamidol 370",
        "ProductDescription": "Iodinated contrast, 100 ml",
        "ProductLotIdentifier": "LOT7",
        "ProductExpirationDateTime": "20271231000000",
        "ProductTypeCodeSequence": [
            {"CodeValue": "C-B0300", "CodingSchemeDesignator": "SRT", "CodeMeaning": "Iodine"}
        ],
    },
    {"ProductPackageIdentifier": "999", "ProductName": "Saline"},
    {
        "PatientID": "P1",
        "ProductPackageIdentifier": "0123456789012",
        "SubstanceAdministrationApproval": "APPROVED",
    },
    {
        "PatientID": "P2",
        "ProductPackageIdentifier": "0123456789012",
        "SubstanceAdministrationApproval": "WARNING",
        "ApprovalStatusFurtherDescription": "eGFR 40: hydrate first",
    },
    {
        "PatientID": "P2",
        "ProductPackageIdentifier": "0123456789012",
        "AdministrationRouteCodeSequence": [
            {"CodeValue": IV[0], "CodingSchemeDesignator": IV[1], "CodeMeaning": IV[2]}
        ],
        "SubstanceAdministrationApproval": "CONTRA_INDICATED",
        "ApprovalStatusFurtherDescription": "prior anaphylaxis",
    },
]


def run(scp: SubstanceQuerySCP, body: Callable[[Association], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        client, server = memory_pair()
        await AE(
            "PHARM", handlers=scp.handlers(), supported=supported_for(SUBSTANCE_QUERY_CLASSES)
        ).serve_transport(server)
        async with AE("INJ").associate(
            "", 0, transport=client, contexts=list(SUBSTANCE_QUERY_CLASSES)
        ) as assoc:
            return await body(assoc)

    return asyncio.run(main())


@pytest.fixture
def scp(tmp_path: Path) -> SubstanceQuerySCP:
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps(CATALOGUE))
    return SubstanceQuerySCP(SubstanceCatalogue.from_file(path))


def test_product_characteristics(scp: SubstanceQuerySCP) -> None:
    async def body(assoc: Association) -> Any:
        return (
            await product_characteristics(assoc, "0123456789012"),
            await product_characteristics(assoc, "nope"),
        )

    found, none = run(scp, body)
    assert none is None
    assert found.ProductName == "Iopamidol 370" and found.ProductLotIdentifier == "LOT7"
    assert found.ProductTypeCodeSequence[0].CodeMeaning == "Iodine"
    assert "PatientID" not in found  # only the keys asked for


def test_approvals(scp: SubstanceQuerySCP) -> None:
    async def body(assoc: Association) -> Any:
        return [
            await substance_approval(assoc, "P1", "0123456789012"),
            await substance_approval(assoc, "P2", "0123456789012", route=ORAL),
            await substance_approval(assoc, "P2", "0123456789012", route=IV),
            await substance_approval(assoc, "P2", "0123456789012"),
            await substance_approval(assoc, "P3", "0123456789012"),
        ]

    p1, oral, iv, any_route, unknown = run(scp, body)
    assert p1.decision == "APPROVED"
    assert (oral.decision, oral.description) == ("WARNING", "eGFR 40: hydrate first")
    assert (iv.decision, iv.description) == ("CONTRA_INDICATED", "prior anaphylaxis")
    assert any_route.decision == "CONTRA_INDICATED"  # the most restrictive of the matches
    assert unknown.decision == ""  # no decision: zero pending responses (V.6.2.2.3)


def test_required_keys(scp: SubstanceQuerySCP) -> None:
    async def body(assoc: Association) -> list[Any]:
        out = []
        for sop_class, query in (
            (PRODUCT_CHARACTERISTICS_QUERY, Dataset()),
            (SUBSTANCE_APPROVAL_QUERY, _approval_without_patient()),
        ):
            with pytest.raises(DimseError) as info:
                await wl.find_all(assoc, query, sop_class=sop_class)
            out.append((info.value.status, str(info.value)))
        return out

    (s1, m1), (s2, m2) = run(scp, body)
    assert s1 == 0xA900 and "(0044,0001)" in m1
    assert s2 == 0xA900 and "(0010,0020)" in m2


def _approval_without_patient() -> Dataset:
    ds = Dataset()
    ds.ProductPackageIdentifier = "0123456789012"
    ds.SubstanceAdministrationApproval = None
    return ds


def test_bad_catalogues(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps([{"ProductName": "no id"}]))
    with pytest.raises(DicomError, match="entry 1: a product needs ProductPackageIdentifier"):
        SubstanceCatalogue.from_file(path)
    path.write_text(json.dumps([{"PatientID": "P", "ProductPackageIdentifier": "1",
                                 "SubstanceAdministrationApproval": "MAYBE"}]))  # fmt: skip
    with pytest.raises(DicomError, match="APPROVED, WARNING or CONTRA_INDICATED"):
        SubstanceCatalogue.from_file(path)
    assert tags.ProductPackageIdentifier == 0x00440001

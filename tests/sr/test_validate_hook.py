"""``dicomkit validate`` (dicomkit.iod.validate) includes the SR content-tree checks."""

from __future__ import annotations

from allkinds import all_kinds
from corpus import CORPUS

from dicomkit.iod import validate
from dicomkit.sr import _items as items
from dicomkit.sr import read
from dicomkit.sr._codes import DCM


def _sr_findings(ds):  # type: ignore[no-untyped-def]
    return [f for f in validate(ds) if f.module == "SRContentTree"]


def test_clean_sr_has_no_content_findings() -> None:
    assert _sr_findings(all_kinds().to_dataset()) == []
    assert _sr_findings(read(CORPUS / "dcmqi/sr-example/sr.dcm").to_dataset()) == []


def test_a_broken_tree_is_reported() -> None:
    doc = all_kinds()
    doc.root.item_at((1, 4, 1)).add("CONTAINS", items.text(DCM.Finding, "x"))
    found = _sr_findings(doc.to_dataset())
    assert len(found) == 1 and found[0].severity == "error"
    assert "TEXT CONTAINS TEXT is not allowed in the Comprehensive 3D SR IOD" in found[0].message


def test_non_sr_is_untouched() -> None:
    from dicomkit.core._dataset import Dataset

    ds = Dataset()
    ds.set(0x00080016, "1.2.840.10008.5.1.4.1.1.2", "UI")
    assert _sr_findings(ds) == []


def test_template_rules_are_reported() -> None:
    from test_templates import tid1500_doc

    doc = tid1500_doc()
    doc.root.children = [c for c in doc.root.children if c.concept != DCM.ProcedureReported]
    found = [f.message for f in _sr_findings(doc.to_dataset())]
    assert found == ["content item 1: TID 1500 row 4: Procedure reported missing"]

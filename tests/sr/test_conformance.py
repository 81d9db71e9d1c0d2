"""Template conformance checks (TID 1500, TID 2010, TID 2000)."""

from __future__ import annotations

from test_templates import image, tid1500_doc

from dicomkit.sr import Code
from dicomkit.sr import _items as items
from dicomkit.sr._codes import DCM
from dicomkit.sr.templates._conformance import template_of, template_problems
from dicomkit.sr.templates._kos import key_object_selection


def test_builders_conform() -> None:
    doc = tid1500_doc()
    assert template_of(doc.root) == "1500"
    assert template_problems(doc.root) == []
    kos = key_object_selection([image(1)])  # type: ignore[list-item]
    assert template_of(kos.root) == "2010" and template_problems(kos.root) == []


def test_tid1500_rules() -> None:
    doc = tid1500_doc()
    root = doc.root
    # drop "Procedure reported" and the tracking UID of the first group
    root.children = [c for c in root.children if c.concept != DCM.ProcedureReported]
    group = root.path("Imaging Measurements/Measurement Group")
    assert group is not None
    group.children = [c for c in group.children if c.concept != DCM.TrackingUniqueIdentifier]
    group.add("CONTAINS", items.num(Code("1", "99T", "x"), None, None))
    messages = [str(p) for p in template_problems(root)]
    assert "content item 1: TID 1500 row 4: Procedure reported missing" in messages
    assert any("needs one Tracking Unique Identifier (TID 4108), has 0" in m for m in messages)
    assert any("needs a Numeric Value Qualifier" in m for m in messages)
    assert any(m.startswith("content item 1") for m in doc.check())


def test_kos_needs_references() -> None:
    kos = key_object_selection([image(1)])  # type: ignore[list-item]
    kos.root.children = [c for c in kos.root.children if c.value_type != "IMAGE"]
    assert [str(p) for p in template_problems(kos.root)] == [
        "content item 1: TID 2010 rows 6-8: at least one IMAGE, WAVEFORM or COMPOSITE is required"
    ]

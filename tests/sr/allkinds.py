"""A document with a content item of every value type (shared by the SR tests)."""

from __future__ import annotations

from dicomkit.core._dataset import Dataset
from dicomkit.sr import Code, ContentItem, new_document
from dicomkit.sr import _items as items
from dicomkit.sr._document import COMPREHENSIVE_3D_SR, Document

CT = "1.2.840.10008.5.1.4.1.1.2"
ECG = "1.2.840.10008.5.1.4.1.1.9.1.1"
DCM = "DCM"
FINDING = Code("121071", DCM, "Finding")
MM = Code("mm", "UCUM", "millimeter")


def ct_header(n: int = 1) -> Dataset:
    ds = Dataset()
    ds.set(0x00080016, CT, "UI")
    ds.set(0x00080018, f"1.2.826.0.1.3680043.2.1125.9.{n}", "UI")
    ds.set(0x0020000D, "1.2.826.0.1.3680043.2.1125.1", "UI")
    ds.set(0x0020000E, "1.2.826.0.1.3680043.2.1125.2", "UI")
    ds.set(0x00100010, "Doe^Jane", "PN")
    ds.set(0x00100020, "PID-7", "LO")
    return ds


def all_kinds() -> Document:
    ct = ct_header()
    root = items.container(Code("18748-4", "LN", "Diagnostic Imaging Report"))
    root.template = ("99TEST", "1")  # a template of our own: the round trip keeps it
    root.add(
        "HAS CONCEPT MOD",
        items.code(
            Code("121049", DCM, "Language of Content Item and Descendants"),
            Code("eng", "RFC5646", "English"),
        ),
    )
    root.add(
        "HAS OBS CONTEXT", items.pname(Code("121008", DCM, "Person Observer Name"), "Smith^John")
    )
    root.add("HAS OBS CONTEXT", items.uidref(Code("121012", DCM, "Device Observer UID"), "1.2.3.4"))
    section = root.add("CONTAINS", items.container(Code("121070", DCM, "Findings")))
    finding = section.add("CONTAINS", items.text(FINDING, "a <b>mass</b> & more\nsecond line"))
    finding.add("HAS PROPERTIES", items.date(Code("111060", DCM, "Study Date"), "20240102"))
    finding.add("HAS PROPERTIES", items.time(Code("111061", DCM, "Study Time"), "101112"))
    finding.add(
        "HAS PROPERTIES", items.datetime(Code("111526", DCM, "DateTime Started"), "20240102101112")
    )
    finding.add(
        "INFERRED FROM",
        items.image(Code("121112", DCM, "Source of Measurement"), CT, str(ct.get(0x00080018))),
    )
    size = section.add("CONTAINS", items.num(Code("410668003", "SCT", "Length"), 12.5, MM))
    coords = size.add(
        "INFERRED FROM",
        items.scoord(Code("111030", DCM, "Image Region"), "POLYLINE", [1, 2, 30, 40]),
    )
    coords.add("SELECTED FROM", items.image(None, CT, str(ct.get(0x00080018)), frames=[1]))
    size.add(
        "INFERRED FROM",
        items.scoord3d(
            Code("111030", DCM, "Image Region"),
            "POINT",
            [1.5, 2.5, -3.0],
            "1.2.826.0.1.3680043.2.1125.3",
        ),
    )
    section.add(
        "CONTAINS",
        items.num(
            Code("410668003", "SCT", "Length"),
            None,
            None,
            qualifier=Code("114006", DCM, "Measurement failure"),
        ),
    )
    wave = section.add(
        "CONTAINS", items.waveform(None, ECG, "1.2.826.0.1.3680043.2.1125.7", channels=[1, 1])
    )
    tc = section.add("CONTAINS", items.tcoord(Code("111030", DCM, "Image Region"), "POINT", [5]))
    tc.add("SELECTED FROM", items.waveform(None, ECG, "1.2.826.0.1.3680043.2.1125.7"))
    section.add(
        "CONTAINS",
        items.composite(
            Code("121112", DCM, "Source of Measurement"),
            "1.2.840.10008.5.1.4.1.1.66.4",
            "1.2.826.0.1.3680043.2.1125.8",
        ),
    )
    section.add("CONTAINS", ContentItem.by_reference("CONTAINS", (1, 4, 1)))
    assert wave.value_type == "WAVEFORM"
    return new_document(root, sop_class=COMPREHENSIVE_3D_SR, evidence=[ct])

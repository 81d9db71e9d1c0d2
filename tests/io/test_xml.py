"""Native DICOM Model (PS3.19 Annex A) both ways."""

from __future__ import annotations

import base64
import io
import math
import subprocess
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from corpus import manifest
from helpers import examples, pydicom_charset_files
from peers import dcmtk

import dicomkit
from dicomkit.core._dataset import Dataset
from dicomkit.core._element import DataElement
from dicomkit.core._sequence import Sequence
from dicomkit.core.values import DS, IS, PersonName
from dicomkit.errors import InvalidDicomError
from dicomkit.io._json import to_json
from dicomkit.io._xml import NAMESPACE, from_xml, to_xml

FILES = [row for row in manifest() if not row.broken]
NS = {"n": NAMESPACE}


def _example() -> Dataset:
    ds = Dataset()
    ds.add(DataElement(0x00080005, "CS", ["", "ISO 2022 IR 87"]))
    ds.add(DataElement(0x00100010, "PN", PersonName("Yamada^Tarou=山田^太郎=やまだ^たろう")))
    ds.add(DataElement(0x00080090, "PN", PersonName("^^^^")))
    ds.add(DataElement(0x00081070, "PN", [PersonName("A^B"), PersonName("C")]))
    ds.add(DataElement(0x00200013, "IS", IS("0007")))
    ds.add(DataElement(0x00280030, "DS", [DS("0.50"), DS("2")]))
    ds.add(DataElement(0x00280010, "US", 512))
    ds.add(DataElement(0x00189327, "FD", 1.25))
    ds.add(DataElement(0x00209165, "AT", [0x00100010, 0x7FE00010]))
    ds.add(DataElement(0x00204000, "LT", "  two\r\nlines"))
    ds.add(DataElement(0x00660023, "OF", b"\x00\x00\x80\x3f"))
    ds.add(DataElement(0x00080020, "DA", ""))
    ds.add(DataElement(0x00091010, "LO", "creator"))
    ds.add(DataElement(0x00091001, "LO", "wrong creator slot"))
    ds.add(DataElement(0x00090010, "LO", "ACME 1.0"))
    ds.add(DataElement(0x00091005, "UL", 9))
    item = Dataset()
    item.add(DataElement(0x00080100, "SH", "121327"))
    ds.add(DataElement(0x00089215, "SQ", Sequence([item, Dataset()])))
    return ds


def test_example_structure() -> None:
    text = to_xml(_example())
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(text)
    assert root.tag == f"{{{NAMESPACE}}}NativeDicomModel"
    attrs = [a for a in root.findall("n:DicomAttribute", NS) if not a.get("privateCreator")]
    assert [a.get("tag") for a in attrs] == sorted(a.get("tag") for a in attrs)
    pn = root.find("n:DicomAttribute[@tag='00100010']", NS)
    assert pn is not None and pn.get("keyword") == "PatientName" and pn.get("vr") == "PN"
    assert pn.findtext("n:PersonName[@number='1']/n:Ideographic/n:GivenName", None, NS) == "太郎"
    cs = root.find("n:DicomAttribute[@tag='00080005']", NS)
    assert cs is not None
    assert [v.text for v in cs.findall("n:Value", NS)] == [None, "ISO 2022 IR 87"]
    at = root.find("n:DicomAttribute[@tag='00209165']", NS)
    assert at is not None and [v.text for v in at] == ["00100010", "7FE00010"]
    ds_ = root.find("n:DicomAttribute[@tag='00280030']", NS)
    assert ds_ is not None and [v.text for v in ds_] == ["0.50", "2"]
    of = root.find("n:DicomAttribute[@tag='00660023']/n:InlineBinary", NS)
    assert of is not None and base64.b64decode(of.text or "") == b"\x00\x00\x80\x3f"
    private = root.find("n:DicomAttribute[@tag='00090005']", NS)
    assert private is not None and private.get("privateCreator") == "ACME 1.0"
    items = root.findall("n:DicomAttribute[@tag='00089215']/n:Item", NS)
    assert [i.get("number") for i in items] == ["1", "2"] and len(items[1]) == 0


def test_example_roundtrip() -> None:
    ds = _example()
    back = from_xml(to_xml(ds, indent=True))
    assert back == ds
    assert back[0x00200013].value.original == "0007"
    assert back[0x00080090].value == "^^^^"
    assert back[0x00204000].value == "  two\r\nlines"


def test_private_blocks_are_placed_by_creator() -> None:
    xml = f"""<NativeDicomModel xmlns="{NAMESPACE}">
      <DicomAttribute tag="00090010" vr="LO"><Value number="1">OTHER</Value></DicomAttribute>
      <DicomAttribute tag="00090005" vr="UL" privateCreator="ACME"><Value number="1">7</Value>
      </DicomAttribute>
      <DicomAttribute tag="00090006" vr="UL" privateCreator="OTHER"><Value number="1">8</Value>
      </DicomAttribute></NativeDicomModel>"""
    ds = from_xml(xml)
    assert ds[0x00090011].value == "ACME"
    assert ds[0x00091105].value == 7
    assert ds[0x00091006].value == 8


def test_bulk_data() -> None:
    ds = Dataset()
    ds.add(DataElement(0x7FE00010, "OW", bytes(4096)))
    text = to_xml(ds, bulk_data_threshold=10, bulk_data_uri_handler=lambda el: "http://x/1")
    assert 'uri="http://x/1"' in text
    assert from_xml(text, lambda tag, vr, uri: b"\x01\x02")[0x7FE00010].value == b"\x01\x02"
    assert from_xml(text)[0x7FE00010].value == b""


def test_errors() -> None:
    for bad in (
        "<not xml",
        "<Other/>",
        (
            f'<NativeDicomModel xmlns="{NAMESPACE}"><DicomAttribute tag="xyz" vr="CS"/>'
            "</NativeDicomModel>"
        ),
        (
            '<NativeDicomModel><DicomAttribute tag="00280010" vr="US"><Value number="1">'
            "abc</Value></DicomAttribute></NativeDicomModel>"
        ),
    ):
        with pytest.raises(InvalidDicomError):
            from_xml(bad)
    # no namespace and no vr: accepted, VR from the dictionary
    ds = from_xml(
        '<NativeDicomModel><DicomAttribute tag="00100020"><Value number="1">X'
        "</Value></DicomAttribute></NativeDicomModel>"
    )
    assert ds[0x00100020].vr == "LO" and ds.PatientID == "X"


def test_invalid_xml_characters_replaced() -> None:
    ds = Dataset()
    ds.add(DataElement(0x00204000, "LT", "bell\x07"))
    assert from_xml(to_xml(ds))[0x00204000].value == "bell\ufffd"


@pytest.mark.parametrize("row", FILES, ids=lambda r: r.rel)
def test_corpus_roundtrip(row: Any) -> None:
    ds = dicomkit.read(row.path)
    back = from_xml(to_xml(ds))
    assert to_json(back) == to_json(ds)
    if ds.file_meta is not None and "SOPInstanceUID" in ds:
        back.file_meta = ds.file_meta
        buf = io.BytesIO()
        dicomkit.write(back, buf)
        assert to_json(dicomkit.read(buf.getvalue())) == to_json(ds)


# -- agreement with DCMTK's dcm2xml --native-format ----------------------------------------------
# Normalised differences: dcm2xml +U8 rewrites (0008,0005) to ISO_IR 192; it drops trailing
# empty PN components ("DOE^JOHN^^" -> "DOE^JOHN") and all-empty names; it writes word-sized
# binary VRs (OW, OF, OD, OL) big endian where we write little endian (PS3.18 F.2.7 / PS3.5
# rules: DICOM's default byte order); it leaves out encapsulated pixel data; it prints floats
# with 6 significant digits; it keeps as UN private elements our reader types; it writes private
# elements as "gggg00ee" without privateCreator when the creator is UN (so they are skipped).


def _swap(data: bytes, size: int) -> bytes:
    return b"".join(data[i : i + size][::-1] for i in range(0, len(data), size))


def _pn(v: Any) -> Any:
    if not isinstance(v, dict):
        return v
    out = {k: "=".join(g.rstrip("^") for g in x.split("=")) for k, x in v.items()}
    return {k: x for k, x in out.items() if x} or None


def _agree(a: dict[str, Any] | None, b: dict[str, Any] | None, path: str) -> None:
    if a is not None and a.get("vr") == "PN":
        a = {**a, "Value": [_pn(v) for v in a.get("Value", [])]}
        if not any(a["Value"]):
            a.pop("Value")
    if b is not None and b.get("vr") == "PN":
        b = {**b, "Value": [_pn(v) for v in b.get("Value", [])]}
        if not any(b["Value"]):
            b.pop("Value")
    if a is None or b is None:
        assert a is b or "UN" in (a or b or {}).get("vr", ""), path
        return
    if "UN" in (a["vr"], b["vr"]):
        return
    if path.endswith("7FE00010") and "InlineBinary" not in b:
        return  # encapsulated pixel data: not written by dcm2xml
    assert a["vr"] == b["vr"], path
    if "InlineBinary" in a or "InlineBinary" in b:
        x = base64.b64decode(a.get("InlineBinary", ""))
        y = base64.b64decode(b.get("InlineBinary", ""))
        size = {"OW": 2, "OF": 4, "OL": 4, "OD": 8, "OV": 8}.get(a["vr"], 1)
        assert x == y or _swap(x, size) == y, path
        return
    if a["vr"] == "SQ":
        xs, ys = a.get("Value", []), b.get("Value", [])
        assert len(xs) == len(ys), path
        for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
            for key in sorted(set(x) | set(y)):
                if int(key[:4], 16) & 1:
                    continue
                _agree(x.get(key), y.get(key), f"{path}[{i}]/{key}")
        return
    xs, ys = a.get("Value", []), b.get("Value", [])
    assert len(xs) == len(ys), path
    for x, y in zip(xs, ys, strict=True):
        if isinstance(x, (int, float)) and isinstance(y, (int, float)):
            assert math.isclose(x, y, rel_tol=1e-5, abs_tol=1e-30), path
        else:
            assert x == y, path


@pytest.mark.interop
@pytest.mark.parametrize("row", FILES, ids=lambda r: r.rel)
def test_agrees_with_dcmtk(row: Any) -> None:
    tool = dcmtk("dcm2xml")
    proc = subprocess.run(
        [tool, "--native-format", "+Eb", "+U8", str(row.path)],
        check=False,
        capture_output=True,
        timeout=60,
    )
    if proc.returncode != 0:
        pytest.skip(f"dcm2xml cannot convert: {proc.stderr[:120]!r}")
    theirs = to_json(from_xml(proc.stdout))
    ours = to_json(dicomkit.read(row.path))
    for key in sorted(set(ours) | set(theirs)):
        if key == "00080005" or int(key[:4], 16) & 1:
            continue  # dcm2xml drops the block of private tags whose creator it cannot type
        _agree(ours.get(key), theirs.get(key), key)


@pytest.mark.parametrize("path", pydicom_charset_files(), ids=lambda p: p.name)
def test_charset_files_roundtrip_through_xml_and_file(path: Any) -> None:
    ds = dicomkit.read(path)
    back = from_xml(to_xml(ds).encode("utf-8"))
    back.file_meta = ds.file_meta
    buf = io.BytesIO()
    dicomkit.write(back, buf)
    again = dicomkit.read(buf.getvalue())
    assert to_json(again) == to_json(ds)
    if "PatientName" in ds:
        assert again.PatientName.groups == ds.PatientName.groups


import importlib.util
from pathlib import Path

from hypothesis import HealthCheck, given, settings

# the random data set strategy lives in test_json.py (tests import with importlib mode)
_spec = importlib.util.spec_from_file_location(
    "_dicomkit_test_json", Path(__file__).with_name("test_json.py")
)
assert _spec is not None and _spec.loader is not None
_test_json = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_test_json)
datasets = _test_json.datasets


@given(datasets())
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=examples(60))
def test_random_datasets_roundtrip(ds: Dataset) -> None:
    assert from_xml(to_xml(ds)) == ds

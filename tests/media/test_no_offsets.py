"""DICOMDIRs whose records carry no offsets: the tree rebuilt from order and record types."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest
from peers import run_dcmtk

from dicomkit.core._dataset import Dataset
from dicomkit.core._element import DataElement
from dicomkit.core._sequence import Sequence
from dicomkit.io._encoder import encode_dataset
from dicomkit.io._part10 import build_file_meta
from dicomkit.media import read_dicomdir
from dicomkit.media._dicomdir import DicomDir
from dicomkit.media._records import make_record
from dicomkit.media._writer import Node, encode_dicomdir, nodes_from

OFFSET_TAGS = (0x00041200, 0x00041202, 0x00041400, 0x00041420)


def _keys(pid: str, study: str, series: str, number: int) -> Dataset:
    ds = Dataset()
    ds.PatientName = f"NAME^{pid}"
    ds.PatientID = pid
    ds.StudyDate = "20240101"
    ds.StudyTime = "120000"
    ds.StudyID = "S1"
    ds.StudyInstanceUID = study
    ds.Modality = "MR"
    ds.SeriesInstanceUID = series
    ds.SeriesNumber = "1"
    ds.InstanceNumber = str(number)
    return ds


def _leaf(kind: str, ds: Dataset, name: str) -> Node:
    rec = make_record(kind, ds)
    rec.ReferencedFileID = ["DICOM", name]
    rec.ReferencedSOPClassUIDInFile = "1.2.840.10008.5.1.4.1.1.4"
    rec.ReferencedSOPInstanceUIDInFile = f"1.2.3.9.{name[1:]}"
    rec.ReferencedTransferSyntaxUIDInFile = "1.2.840.10008.1.2.1"
    return Node(rec)


def _tree() -> list[Node]:
    """Two patients (the first with two studies, one of two series), leaves of several
    types, and a hanging protocol at the root after the patients."""
    n = 0
    roots = []
    for p, studies in (("P1", 2), ("P2", 1)):
        pnode = Node(make_record("PATIENT", _keys(p, "", "", 0)))
        for s in range(studies):
            suid = f"1.2.3.{p[1]}.{s}"
            snode = Node(make_record("STUDY", _keys(p, suid, "", 0)))
            for r in range(2 if s == 0 and p == "P1" else 1):
                ruid = f"{suid}.{r}"
                rnode = Node(make_record("SERIES", _keys(p, suid, ruid, 0)))
                for i in range(2):
                    n += 1
                    kind = "SR DOCUMENT" if i == 1 and r == 1 else "IMAGE"
                    rnode.children.append(_leaf(kind, _keys(p, suid, ruid, i + 1), f"I{n}"))
                snode.children.append(rnode)
            pnode.children.append(snode)
        roots.append(pnode)
    hp = Dataset()
    hp.HangingProtocolName = "HP"
    roots.append(Node(make_record("HANGING PROTOCOL", hp)))
    return roots


def _zero_offsets(data: bytes) -> bytes:
    """Every (0004,1200) (0004,1202) (0004,1400) (0004,1420) value set to 0."""
    out = bytearray(data)
    for tag in OFFSET_TAGS:
        needle = struct.pack("<HH", tag >> 16, tag & 0xFFFF) + b"UL\x04\x00"
        for m in re.finditer(re.escape(needle), data):
            out[m.end() : m.end() + 4] = b"\x00\x00\x00\x00"
    return bytes(out)


def _shape(dd: DicomDir) -> list[tuple[int, str, str]]:
    return [
        (
            depth,
            rec.record_type,
            str(
                rec.get("ReferencedSOPInstanceUIDInFile")
                or rec.get("SeriesInstanceUID")
                or rec.get("StudyInstanceUID")
                or rec.get("PatientID")
                or rec.get("HangingProtocolName")
            ),
        )
        for depth, rec in dd.walk()
    ]


def test_zero_offsets_give_the_same_tree(tmp_path: Path) -> None:
    linked = tmp_path / "linked"
    zeroed = tmp_path / "zeroed"
    data = encode_dicomdir(_tree(), fileset_id="T")
    linked.write_bytes(data)
    zeroed.write_bytes(_zero_offsets(data))
    assert zeroed.read_bytes() != data  # the patch changed something
    want = read_dicomdir(linked)
    assert not want.inferred
    got = read_dicomdir(zeroed)  # strict: no error
    assert _shape(got) == _shape(want)
    assert len(got.instances()) == 8
    assert not got.orphans and not got.problems
    assert got.inferred and "rebuilt from their order" in got.inferred[0]
    assert len(got.inferred) == 1  # nothing out of place
    # parents agree with the tree
    for _, rec in got.walk():
        for child in rec.children:
            assert child.parent is rec


def test_absent_offset_elements(tmp_path: Path) -> None:
    """Records written without any offset element at all (some writers omit them)."""
    items = []
    for node in (n for root in _tree() for n in root.walk()):
        rec = node.dataset
        for tag in (0x00041400, 0x00041420):
            if tag in rec:
                del rec[tag]
        items.append(rec)
    top = Dataset()
    top.add(DataElement(0x00041130, "CS", "T"))
    top.add(DataElement(0x00041220, "SQ", Sequence(items)))
    meta = build_file_meta("1.2.840.10008.1.3.10", "1.2.3.4", "1.2.840.10008.1.2.1")
    path = tmp_path / "DICOMDIR"
    path.write_bytes(
        b"\x00" * 128
        + b"DICM"
        + encode_dataset(meta, implicit=False, little=True)
        + encode_dataset(top, implicit=False, little=True)
    )
    dd = read_dicomdir(path)
    reference = tmp_path / "ref"
    reference.write_bytes(encode_dicomdir(_tree()))
    assert _shape(dd) == _shape(read_dicomdir(reference))
    assert dd.inferred


def test_out_of_place_records_are_noted(tmp_path: Path) -> None:
    """An IMAGE before any SERIES and a SERIES right under a PATIENT: placed, and said."""
    keys = _keys("P1", "1.2.3", "1.2.3.1", 1)
    lone = _leaf("IMAGE", keys, "I1")
    series = Node(make_record("SERIES", keys), [_leaf("IMAGE", keys, "I2")])
    patient = Node(make_record("PATIENT", keys), [series])
    path = tmp_path / "DICOMDIR"
    path.write_bytes(_zero_offsets(encode_dicomdir([lone, patient])))
    dd = read_dicomdir(path)
    assert [r.record_type for r in dd.roots] == ["IMAGE", "PATIENT"]
    assert dd.roots[1].children[0].record_type == "SERIES"
    assert dd.roots[1].children[0].children[0].file_id == ("DICOM", "I2")
    notes = " ".join(dd.inferred[1:])
    assert "no SERIES record precedes it" in notes
    assert "a level is missing" in notes


def test_rewrite_restores_the_offsets(tmp_path: Path) -> None:
    zeroed = tmp_path / "zeroed"
    zeroed.write_bytes(_zero_offsets(encode_dicomdir(_tree())))
    dd = read_dicomdir(zeroed)
    fixed = tmp_path / "fixed"
    fixed.write_bytes(encode_dicomdir(nodes_from(dd)))
    again = read_dicomdir(fixed)
    assert not again.inferred
    assert _shape(again) == _shape(dd)


def test_partial_offsets_are_not_inferred(tmp_path: Path) -> None:
    """One link left: the offsets are used (and the records they miss are orphans)."""
    data = encode_dicomdir(_tree())
    zeroed = bytearray(_zero_offsets(data))
    needle = b"\x04\x00\x00\x12UL\x04\x00"
    at = data.index(needle) + len(needle)
    zeroed[at : at + 4] = data[at : at + 4]  # (0004,1200) kept
    path = tmp_path / "DICOMDIR"
    path.write_bytes(bytes(zeroed))
    dd = read_dicomdir(path)
    assert not dd.inferred
    assert len(dd.roots) == 1 and dd.orphans


@pytest.mark.interop
def test_dcmdump_reads_every_record(tmp_path: Path) -> None:
    path = tmp_path / "DICOMDIR"
    path.write_bytes(_zero_offsets(encode_dicomdir(_tree())))
    proc = run_dcmtk("dcmdump", str(path))
    assert "W:" not in proc.stdout + proc.stderr and "E:" not in proc.stdout + proc.stderr
    theirs = re.findall(r'"Directory Record" (\w[\w ]*?) #', proc.stdout)
    dd = read_dicomdir(path)
    assert [t.strip() for t in theirs] == [r.record_type for r in dd.records]
    assert len(theirs) == sum(1 for _ in dd.walk())


@pytest.mark.interop
def test_records_whose_lengths_were_not_updated(dicomdirtests: Path) -> None:
    """pydicom's DICOMDIR-nooffset: zero offset elements were removed from the records but
    the item lengths kept, so the last item's length runs past the sequence. dcmdump reads all
    52 records; so do the lenient read (noting it) and read_dicomdir (strict)."""
    import dicomkit
    from dicomkit.errors import InvalidDicomError

    path = dicomdirtests / "DICOMDIR-nooffset"
    theirs = run_dcmtk("dcmdump", str(path)).stdout.count('"Directory Record"')
    assert theirs == 52
    ds = dicomkit.read(path, lenient=True)
    assert "item length 248 past the end" in str(ds.read_errors[0])
    records = ds.DirectoryRecordSequence
    assert len(records) == theirs
    assert int(records[-1].InstanceNumber) == 7 and len(records[-1]) == 8
    with pytest.raises(InvalidDicomError, match="past the end"):
        dicomkit.read(path).DirectoryRecordSequence  # noqa: B018 - strict: the defect raises
    dd = read_dicomdir(path)
    assert len(dd.records) == theirs and len(dd.instances()) == 31

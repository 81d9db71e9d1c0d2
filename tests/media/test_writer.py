"""Writing DICOMDIRs: layout, offsets and what DCMTK and pydicom make of them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from peers import require_module, run_dcmtk

import dicomkit
from dicomkit.core._dataset import Dataset
from dicomkit.media import read_dicomdir
from dicomkit.media._records import make_record
from dicomkit.media._writer import Node, encode_dicomdir, write_dicomdir


def _instance(pid: str, study: str, series: str, sop: str, number: int) -> Dataset:
    ds = Dataset()
    ds.PatientName = f"NAME^{pid}"
    ds.PatientID = pid
    ds.StudyDate = "20240101"
    ds.StudyTime = "120000"
    ds.StudyID = "S1"
    ds.StudyInstanceUID = study
    ds.Modality = "CT"
    ds.SeriesInstanceUID = series
    ds.SeriesNumber = "3"
    ds.InstanceNumber = str(number)
    ds.SOPInstanceUID = sop
    return ds


def _tree(n_patients: int = 2, n_images: int = 3) -> list[Node]:
    roots = []
    for p in range(n_patients):
        pid = f"P{p}"
        first = _instance(pid, f"1.2.3.{p}", f"1.2.3.{p}.1", "", 0)
        series = Node(make_record("SERIES", first))
        for i in range(n_images):
            rec = make_record("IMAGE", _instance(pid, "", "", "", i + 1))
            rec.ReferencedFileID = ["DICOM", f"P{p}", f"I{i}"]
            rec.ReferencedSOPClassUIDInFile = "1.2.840.10008.5.1.4.1.1.2"
            rec.ReferencedSOPInstanceUIDInFile = f"1.2.3.{p}.1.{i}"
            rec.ReferencedTransferSyntaxUIDInFile = "1.2.840.10008.1.2.1"
            series.children.append(Node(rec))
        study = Node(make_record("STUDY", first), [series])
        roots.append(Node(make_record("PATIENT", first), [study]))
    return roots


@pytest.mark.parametrize("undefined", [False, True])
def test_offsets_link_the_tree(tmp_path: Path, undefined: bool) -> None:
    path = tmp_path / "DICOMDIR"
    write_dicomdir(path, _tree(), fileset_id="TEST_1", undefined_lengths=undefined)
    ds = dicomkit.read(path)
    assert ds.file_meta.MediaStorageSOPClassUID == "1.2.840.10008.1.3.10"
    assert ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
    assert ds.FileSetID == "TEST_1"
    assert ds.FileSetConsistencyFlag == 0
    seq = ds[0x00041220]
    assert seq.is_undefined_length is undefined
    assert all(i.is_undefined_length_item is undefined for i in seq.value)
    dd = read_dicomdir(path)
    assert [(d, r.record_type) for d, r in dd.walk()] == [
        (0, "PATIENT"),
        (1, "STUDY"),
        (2, "SERIES"),
        (3, "IMAGE"),
        (3, "IMAGE"),
        (3, "IMAGE"),
    ] * 2
    assert ds.OffsetOfTheFirstDirectoryRecordOfTheRootDirectoryEntity == dd.roots[0].offset
    assert ds.OffsetOfTheLastDirectoryRecordOfTheRootDirectoryEntity == dd.roots[1].offset
    last_images = [r for r in dd.records if r.record_type == "IMAGE"][2::3]
    assert all(r.OffsetOfTheNextDirectoryRecord == 0 for r in last_images)
    assert all(r.OffsetOfReferencedLowerLevelDirectoryEntity == 0 for r in last_images)
    assert all(r.RecordInUseFlag == 0xFFFF for r in dd.records)


def test_empty_file_set(tmp_path: Path) -> None:
    path = tmp_path / "DICOMDIR"
    write_dicomdir(path, [])
    ds = dicomkit.read(path)
    assert ds.OffsetOfTheFirstDirectoryRecordOfTheRootDirectoryEntity == 0
    assert ds.OffsetOfTheLastDirectoryRecordOfTheRootDirectoryEntity == 0
    assert list(ds.DirectoryRecordSequence) == []
    assert ds.FileSetID == ""
    assert read_dicomdir(path).records == []


def test_pydicom_sees_the_same_offsets(tmp_path: Path) -> None:
    pydicom = require_module("pydicom")
    path = tmp_path / "DICOMDIR"
    write_dicomdir(path, _tree())
    theirs = pydicom.dcmread(path)
    tells = [i.seq_item_tell for i in theirs.DirectoryRecordSequence]
    assert tells == [r.offset for r in read_dicomdir(path).records]
    by_offset = {i.seq_item_tell: i for i in theirs.DirectoryRecordSequence}
    # every non-zero link points at an item, as pydicom finds the items
    for item in theirs.DirectoryRecordSequence:
        for kw in ("OffsetOfTheNextDirectoryRecord", "OffsetOfReferencedLowerLevelDirectoryEntity"):
            off = getattr(item, kw)
            assert off == 0 or off in by_offset


@pytest.mark.interop
@pytest.mark.parametrize("undefined", [False, True])
def test_dcmdump_reads_it_cleanly(tmp_path: Path, undefined: bool) -> None:
    path = tmp_path / "DICOMDIR"
    write_dicomdir(path, _tree(), fileset_id="TEST", undefined_lengths=undefined)
    proc = run_dcmtk("dcmdump", str(path))
    assert proc.stderr == ""
    assert "W:" not in proc.stdout and "E:" not in proc.stdout
    # dcmdump annotates each directory record with the offset it found it at
    theirs = [int(m) for m in re.findall(r"#\s+offset=\$(\d+)", proc.stdout)]
    assert theirs == [r.offset for r in read_dicomdir(path).records]
    assert proc.stdout.count('"Directory Record" IMAGE') == 6


def test_layout_is_deterministic() -> None:
    a = encode_dicomdir(_tree(), sop_instance_uid="1.2.3")
    b = encode_dicomdir(_tree(), sop_instance_uid="1.2.3")
    assert a == b
    assert a[128:132] == b"DICM"


@pytest.mark.parametrize(
    "name",
    [
        "DICOMDIR",
        "DICOMDIR-bigEnd",
        "DICOMDIR-implicit",
        "DICOMDIR-reordered",
        "TINY_ALPHA/DICOMDIR",
    ],
)
def test_rewrite_a_read_dicomdir(dicomdirtests: Path, tmp_path: Path, name: str) -> None:
    from dicomkit.media._writer import nodes_from

    source = read_dicomdir(dicomdirtests / name)
    path = tmp_path / "DICOMDIR"
    write_dicomdir(path, nodes_from(source), fileset_id="REWRITTEN")
    again = read_dicomdir(path)

    def shape(dd):  # type: ignore[no-untyped-def]
        return [
            (
                d,
                r.record_type,
                r.file_id,
                r.get("PatientID"),
                r.get("StudyInstanceUID"),
                r.get("SeriesInstanceUID"),
                r.sop_instance_uid,
            )
            for d, r in dd.walk()
        ]

    assert shape(again) == shape(source)
    assert dicomkit.read(path).file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
    proc = run_dcmtk("dcmdump", str(path))
    assert proc.stderr == ""

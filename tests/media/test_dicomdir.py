"""Reading DICOMDIRs: offsets, the record tree, file IDs; pydicom's FileSet as the oracle."""

from __future__ import annotations

import struct
import warnings
from pathlib import Path

import pytest
from corpus import CORPUS
from peers import require_module

from dicomkit.core._dataset import Dataset
from dicomkit.errors import InvalidDicomError
from dicomkit.media import read_dicomdir, resolve_file_id
from dicomkit.media._records import make_record
from dicomkit.media._writer import Node, encode_dicomdir

DCM4CHE = CORPUS / "dcm4che" / "DICOMDIR"
VARIANTS = [
    "DICOMDIR",
    "DICOMDIR-bigEnd",
    "DICOMDIR-implicit",
    "DICOMDIR-nooffset",
    "DICOMDIR-reordered",
    "DICOMDIR-nopatient",
    "DICOMDIR-empty.dcm",
    "TINY_ALPHA/DICOMDIR",
]


def _pydicom_read(path: Path):  # type: ignore[no-untyped-def]
    pydicom = require_module("pydicom")
    return pydicom.dcmread(path)


@pytest.mark.parametrize("name", VARIANTS)
def test_record_offsets_match_pydicom(dicomdirtests: Path, name: str) -> None:
    path = dicomdirtests / name
    dd = read_dicomdir(path, lenient=True)
    theirs = _pydicom_read(path)
    assert [r.offset for r in dd.records] == [
        item.seq_item_tell for item in theirs.DirectoryRecordSequence
    ]
    assert [r.record_type for r in dd.records] == [
        item.DirectoryRecordType for item in theirs.DirectoryRecordSequence
    ]


def test_record_offsets_match_pydicom_dcm4che() -> None:
    if not DCM4CHE.exists():
        pytest.skip("shared corpus not present")
    dd = read_dicomdir(DCM4CHE)
    theirs = _pydicom_read(DCM4CHE)
    assert [r.offset for r in dd.records] == [
        item.seq_item_tell for item in theirs.DirectoryRecordSequence
    ]


def _pydicom_instances(path: Path) -> set[tuple[str, str, str, str, str]]:
    pydicom = require_module("pydicom")
    from pydicom.fileset import FileSet

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fs = FileSet(pydicom.dcmread(path))
    # FileInstance looks keys up in its record and the records above it
    return {
        (
            str(Path(inst.path).resolve()),
            str(inst.SOPInstanceUID),
            str(inst.PatientID),
            str(inst.StudyInstanceUID),
            str(inst.SeriesInstanceUID),
        )
        for inst in fs
    }


def _our_instances(path: Path) -> set[tuple[str, str, str, str, str]]:
    dd = read_dicomdir(path, lenient=True)
    out = set()
    for rec in dd.instances():
        up: dict[str, object] = {}
        p = rec.parent
        while p is not None:
            up[p.record_type] = p
            p = p.parent
        assert rec.path is not None, rec.file_id
        out.add(
            (
                str(rec.path.resolve()),
                str(rec.sop_instance_uid),
                str(up["PATIENT"].PatientID),
                str(up["STUDY"].StudyInstanceUID),  # type: ignore[attr-defined]
                str(up["SERIES"].SeriesInstanceUID),
            )
        )  # type: ignore[attr-defined]
    return out


@pytest.mark.parametrize(
    "name",
    [
        "DICOMDIR",
        "DICOMDIR-bigEnd",
        "DICOMDIR-implicit",
        "DICOMDIR-nooffset",
        "DICOMDIR-reordered",
        "TINY_ALPHA/DICOMDIR",
    ],
)
def test_tree_matches_pydicom_fileset(dicomdirtests: Path, name: str) -> None:
    ours = _our_instances(dicomdirtests / name)
    theirs = _pydicom_instances(dicomdirtests / name)
    assert ours == theirs
    assert len(ours) == (50 if name.startswith("TINY") else 31)


def test_tree_shape(dicomdirtests: Path) -> None:
    dd = read_dicomdir(dicomdirtests / "DICOMDIR")
    assert dd.fileset_id == "PYDICOM_TEST"
    assert [r.PatientID for r in dd.roots] == ["77654033", "98890234"]
    first = dd.roots[0]
    assert [c.record_type for c in first.children] == ["STUDY", "STUDY"]
    series = first.children[0].children
    assert [s.Modality for s in series] == ["CR", "CR", "CR"]
    image = series[0].children[0]
    assert image.file_id == ("77654033", "CR1", "6154")
    assert image.path == dicomdirtests / "77654033" / "CR1" / "6154"
    assert image.parent is series[0]
    assert not dd.orphans and not dd.problems
    depths = {d for d, _ in dd.walk()}
    assert depths == {0, 1, 2, 3}


def test_reordered_gives_the_same_tree(dicomdirtests: Path) -> None:
    def shape(name: str) -> list[tuple[int, str, str]]:
        dd = read_dicomdir(dicomdirtests / name)
        return [
            (
                d,
                r.record_type,
                str(
                    r.get("ReferencedSOPInstanceUIDInFile")
                    or r.get("SeriesInstanceUID")
                    or r.get("StudyInstanceUID")
                    or r.get("PatientID")
                ),
            )
            for d, r in dd.walk()
        ]

    assert shape("DICOMDIR") == shape("DICOMDIR-reordered")


def test_nooffset_item_length_is_tolerated(dicomdirtests: Path) -> None:
    dd = read_dicomdir(dicomdirtests / "DICOMDIR-nooffset")
    assert len(dd.instances()) == 31
    assert any("past the end" in p for p in dd.problems)
    # the data set holds every record, the last one included
    assert len(dd.dataset.DirectoryRecordSequence) == 52
    assert dd.dataset.DirectoryRecordSequence[-1] is dd.records[-1].dataset


def test_nopatient_keeps_unknown_records(dicomdirtests: Path) -> None:
    dd = read_dicomdir(dicomdirtests / "DICOMDIR-nopatient")
    assert len(dd.records) == 52
    assert dd.orphans  # the first root record is an IMAGE whose chain ends at once
    assert all(r.in_use for r in dd.records)


def test_empty(dicomdirtests: Path) -> None:
    dd = read_dicomdir(dicomdirtests / "DICOMDIR-empty.dcm")
    assert dd.records == [] and dd.roots == [] and dd.instances() == []


def test_dcm4che_charsets_and_missing_files() -> None:
    if not DCM4CHE.exists():
        pytest.skip("shared corpus not present")
    dd = read_dicomdir(DCM4CHE)
    theirs = _pydicom_read(DCM4CHE)
    names = [
        str(i.PatientName)
        for i in theirs.DirectoryRecordSequence
        if i.DirectoryRecordType == "PATIENT"
    ]
    # our PersonName keeps the text as read; pydicom drops an empty last component group
    assert [str(r.PatientName).rstrip("=") for r in dd.roots] == names
    assert len(dd.roots) == 11
    for pat in dd.roots:
        (study,) = pat.children
        (series,) = study.children
        (image,) = series.children
        assert image.record_type == "IMAGE" and image.path is None  # files not in corpus
    assert dd.roots[0].PatientName.startswith("שרון")


# -- crafted DICOMDIRs ------------------------------------------------------------------------
def _small(tmp_path: Path, **options: object) -> tuple[Path, bytes]:
    pat = Dataset()
    pat.PatientName = "DOE^J"
    pat.PatientID = "P1"
    a = Node(make_record("PATIENT", pat))
    b = Node(make_record("PATIENT", pat))
    data = encode_dicomdir([a, b], fileset_id="X", **options)  # type: ignore[arg-type]
    path = tmp_path / "DICOMDIR"
    path.write_bytes(data)
    return path, data


def _patch_ul(data: bytes, at: int, value: int) -> bytes:
    return data[:at] + struct.pack("<L", value) + data[at + 4 :]


def _value_offset(data: bytes, tag: int, nth: int = 0) -> int:
    needle = struct.pack("<HH", tag >> 16, tag & 0xFFFF) + b"UL"
    pos = -1
    for _ in range(nth + 1):
        pos = data.index(needle, pos + 1)
    return pos + 8


def test_broken_link_strict_and_lenient(tmp_path: Path) -> None:
    path, data = _small(tmp_path)
    path.write_bytes(_patch_ul(data, _value_offset(data, 0x00041400), 12345))
    with pytest.raises(InvalidDicomError, match="no directory record starts"):
        read_dicomdir(path)
    dd = read_dicomdir(path, lenient=True)
    assert len(dd.roots) == 1 and dd.problems and len(dd.orphans) == 1


def test_cycle_is_detected(tmp_path: Path) -> None:
    path, data = _small(tmp_path)
    dd = read_dicomdir(path)
    first = dd.records[0].offset
    # the second record's "next" points back at the first
    path.write_bytes(_patch_ul(data, _value_offset(data, 0x00041400, 1), first))
    with pytest.raises(InvalidDicomError, match="cycle"):
        read_dicomdir(path)
    assert len(read_dicomdir(path, lenient=True).roots) == 2


def test_inactive_record_is_left_out(tmp_path: Path) -> None:
    path, data = _small(tmp_path)
    needle = b"\x04\x00\x10\x14US\x02\x00\xff\xff"
    at = data.index(needle)
    path.write_bytes(data[: at + 8] + b"\x00\x00" + data[at + 10 :])
    dd = read_dicomdir(path)
    assert len(dd.records) == 2 and len(dd.roots) == 1
    assert not dd.records[0].in_use


@pytest.mark.parametrize("undefined", [False, True])
def test_undefined_lengths_read_back(tmp_path: Path, undefined: bool) -> None:
    path, _ = _small(tmp_path, undefined_lengths=undefined)
    dd = read_dicomdir(path)
    assert [r.PatientID for r in dd.roots] == ["P1", "P1"]
    assert [r.offset for r in dd.records] == [
        i.seq_item_tell for i in _pydicom_read(path).DirectoryRecordSequence
    ]


def test_resolve_file_id_case_and_version(tmp_path: Path) -> None:
    (tmp_path / "dicom" / "pat1").mkdir(parents=True)
    (tmp_path / "dicom" / "pat1" / "img1").write_bytes(b"x")
    (tmp_path / "dicom" / "pat1" / "IMG2;1").write_bytes(b"x")
    (tmp_path / "dicom" / "pat1" / "IMG3.").write_bytes(b"x")
    assert (
        resolve_file_id(tmp_path, ("DICOM", "PAT1", "IMG1")) == tmp_path / "dicom" / "pat1" / "img1"
    )
    assert resolve_file_id(tmp_path, "DICOM\\PAT1\\IMG2") == tmp_path / "dicom" / "pat1" / "IMG2;1"
    assert (
        resolve_file_id(tmp_path, ["DICOM", "PAT1", "IMG3"])
        == tmp_path / "dicom" / "pat1" / "IMG3."
    )
    assert resolve_file_id(tmp_path, ("DICOM", "PAT1", "IMG4")) is None


def test_not_dicom_raises(tmp_path: Path) -> None:
    path = tmp_path / "DICOMDIR"
    path.write_bytes(b"hello world, not DICOM at all" * 10)
    with pytest.raises(InvalidDicomError):
        read_dicomdir(path)

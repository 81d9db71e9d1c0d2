"""Making File-sets from folders: file IDs, copies, and checks by pydicom and DCMTK."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from corpus import CORPUS
from peers import require_module, run_dcmtk

import dicomkit
from dicomkit.dictionary import uids
from dicomkit.errors import DicomError
from dicomkit.media import create_dicomdir, is_conformant_file_id, read_dicomdir
from dicomkit.media._profiles import conform

CT = CORPUS / "nema-wg04" / "RLE" / "CT1_RLE"


def _explicit_ct(dest: Path) -> Path:
    """The corpus CT (RLE) decompressed to Explicit VR Little Endian, as STD-GEN-CD wants."""
    conform(CT, dest, uids.ExplicitVRLittleEndian)
    return dest


def _pydicom_fileset(path: Path) -> dict[str, Path]:
    pydicom = require_module("pydicom")
    from pydicom.fileset import FileSet

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fs = FileSet(pydicom.dcmread(path))
    return {str(i.SOPInstanceUID): Path(i.path) for i in fs}


def test_file_id_rules() -> None:
    assert is_conformant_file_id(["DICOM", "PAT00001", "IMG_0001"])
    assert not is_conformant_file_id([])
    assert not is_conformant_file_id(["img1"])
    assert not is_conformant_file_id(["IMG.DCM"])
    assert not is_conformant_file_id(["TOOLONGNAME"])
    assert not is_conformant_file_id(["A"] * 9)
    assert is_conformant_file_id(["A"] * 8)


@pytest.mark.slow  # 40 corpus files copied and indexed
def test_create_copies_into_conformant_names(corpus_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = create_dicomdir(corpus_folder, fileset_id="CORPUS", output=out)
    assert result.dicomdir == out / "DICOMDIR"
    assert len(result.copied) + len(result.converted) == len(result.instances) > 20
    assert result.converted  # the corpus holds implicit VR, big endian, compressed files
    dd = read_dicomdir(result.dicomdir)
    assert dd.fileset_id == "CORPUS"
    refs = dd.instances()
    assert len(refs) == len(result.instances)
    for rec in refs:
        assert rec.file_id is not None and is_conformant_file_id(rec.file_id)
        assert rec.path is not None and rec.path.exists()
        ds = dicomkit.read(rec.path, stop_before_pixels=True)
        assert rec.sop_instance_uid == ds.file_meta.MediaStorageSOPInstanceUID
        assert rec.transfer_syntax_uid == ds.file_meta.TransferSyntaxUID
        assert rec.transfer_syntax_uid == uids.ExplicitVRLittleEndian  # STD-GEN-CD
    # the tree: leaves under SERIES under STUDY under PATIENT
    for rec in refs:
        assert rec.parent is not None and rec.parent.record_type == "SERIES"
        assert rec.parent.parent is not None and rec.parent.parent.record_type == "STUDY"
        assert rec.parent.parent.parent.record_type == "PATIENT"  # type: ignore[union-attr]
    assert result.counts["PATIENT"] == len(dd.roots)


@pytest.mark.slow  # 40 corpus files copied and indexed
def test_pydicom_finds_every_instance(corpus_folder: Path, tmp_path: Path) -> None:
    result = create_dicomdir(corpus_folder, output=tmp_path / "out")
    theirs = _pydicom_fileset(result.dicomdir)
    ours = {r.sop_instance_uid: r.path for r in read_dicomdir(result.dicomdir).instances()}
    assert set(theirs) == set(ours) == {i.sop_instance for i in result.instances}
    for uid, path in theirs.items():
        assert path.resolve() == ours[uid].resolve()  # type: ignore[union-attr]


@pytest.mark.interop
def test_dcmtk_reads_and_updates_it(corpus_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = create_dicomdir(corpus_folder, fileset_id="CORPUS", output=out)
    proc = run_dcmtk("dcmdump", str(result.dicomdir))
    assert proc.stderr == ""
    before = proc.stdout.count('"Directory Record"')
    assert before == sum(result.counts.values())
    # dcmmkdir --update loads our DICOMDIR, matches every file against its records and writes
    # it back: had it not understood our offsets and keys, it would add duplicate records.
    files = sorted("/".join(i.file_id) for i in result.instances)
    upd = run_dcmtk(
        "dcmmkdir",
        "+U",
        "+I",
        "-Nec",
        "-Nrc",
        "+D",
        "DICOMDIR",
        *files,
        cwd=out,
        check=False,
    )
    # errors may name odd input files (DCMTK refuses some), never the DICOMDIR itself
    errors = [ln for ln in (upd.stdout + upd.stderr).splitlines() if ln.startswith("E:")]
    assert all("DICOM/PAT" in ln or "(0040,a170)" in ln for ln in errors), errors
    after = run_dcmtk("dcmdump", str(out / "DICOMDIR")).stdout.count('"Directory Record"')
    assert after == before
    assert len(read_dicomdir(out / "DICOMDIR").instances()) == len(result.instances)


@pytest.mark.interop
def test_dcmtk_makes_the_same_file_set(corpus_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = create_dicomdir(corpus_folder, output=out)
    files = sorted("/".join(i.file_id) for i in result.instances)
    run_dcmtk("dcmmkdir", "+I", "-Nec", "-Nrc", "+D", "DCMTKDIR", *files, cwd=out, check=False)
    theirs = read_dicomdir(out / "DCMTKDIR")
    ours = read_dicomdir(out / "DICOMDIR")
    pairs = {(r.file_id, r.sop_instance_uid) for r in ours.instances()}
    dcmtk_pairs = {(r.file_id, r.sop_instance_uid) for r in theirs.instances()}
    assert dcmtk_pairs and dcmtk_pairs <= pairs  # DCMTK refuses a few odd files
    assert len(dcmtk_pairs) >= len(pairs) - 3


def test_in_place_is_refused_when_files_would_be_copied(corpus_folder: Path) -> None:
    before = sorted(p for p in corpus_folder.rglob("*"))
    with pytest.raises(DicomError, match=r"in place: \d+ file\(s\) would have to be copied"):
        create_dicomdir(corpus_folder)
    assert sorted(p for p in corpus_folder.rglob("*")) == before  # nothing written


@pytest.mark.slow  # 40 corpus files copied and indexed
def test_output_then_rerun_in_place(corpus_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = create_dicomdir(corpus_folder, output=out)
    (out / "DICOMDIR").unlink()
    second = create_dicomdir(out)  # every file conforms: referenced where it is
    assert not second.copied and not second.converted
    assert {i.sop_instance for i in second.instances} == {i.sop_instance for i in first.instances}
    assert len(read_dicomdir(second.dicomdir).instances()) == len(first.instances)


@pytest.mark.slow  # 40 corpus files copied and indexed
def test_keep_names(corpus_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = create_dicomdir(corpus_folder, output=out, keep_names=True)
    dd = read_dicomdir(result.dicomdir)
    for rec in dd.instances():
        assert rec.path is not None and rec.path.is_relative_to(out)
        assert (corpus_folder / Path(*rec.file_id)).exists()  # its own relative path
    assert len(_pydicom_fileset(result.dicomdir)) == len(result.instances)


def test_conformant_names_are_referenced_in_place(tmp_path: Path) -> None:
    if not CT.exists():
        pytest.skip("shared corpus not present")
    _explicit_ct(tmp_path / "IMAGES" / "CT1")
    (tmp_path / "README.TXT").write_text("not DICOM")
    result = create_dicomdir(tmp_path, fileset_id="ONE")
    assert not result.copied
    assert [p.name for p, _ in result.skipped] == ["README.TXT"]
    (rec,) = read_dicomdir(tmp_path / "DICOMDIR").instances()
    assert rec.file_id == ("IMAGES", "CT1")
    assert rec.record_type == "IMAGE"
    ds = dicomkit.read(CT, stop_before_pixels=True)
    assert rec.parent.parent.parent.PatientID == ds.PatientID  # type: ignore[union-attr]


def test_charset_is_carried_into_records(tmp_path: Path) -> None:
    if not CT.exists():
        pytest.skip("shared corpus not present")
    ds = dicomkit.read(_explicit_ct(tmp_path / "ct"))
    (tmp_path / "ct").unlink()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.PatientName = "Müller^Jürgen"
    (tmp_path / "A").mkdir()
    dicomkit.write(ds, tmp_path / "A" / "CT1")
    create_dicomdir(tmp_path)
    dd = read_dicomdir(tmp_path / "DICOMDIR")
    (patient,) = dd.roots
    assert patient.SpecificCharacterSet == "ISO_IR 100"
    assert str(patient.PatientName) == "Müller^Jürgen"
    pydicom = require_module("pydicom")
    theirs = pydicom.dcmread(tmp_path / "DICOMDIR").DirectoryRecordSequence[0]
    assert str(theirs.PatientName) == "Müller^Jürgen"


def test_descriptor_and_bad_ids(tmp_path: Path) -> None:
    if not CT.exists():
        pytest.skip("shared corpus not present")
    _explicit_ct(tmp_path / "IMG" / "CT1")
    (tmp_path / "README").write_text("about this disc\n")
    create_dicomdir(
        tmp_path, fileset_id="DISC_1", descriptor="README", descriptor_charset="ISO_IR 100"
    )
    dd = read_dicomdir(tmp_path / "DICOMDIR")
    assert dd.descriptor_file_id == ("README",)
    assert dd.dataset.SpecificCharacterSetOfFileSetDescriptorFile == "ISO_IR 100"
    with pytest.raises(DicomError, match="File-set ID"):
        create_dicomdir(tmp_path, fileset_id="lower case")
    with pytest.raises(DicomError, match="descriptor"):
        create_dicomdir(tmp_path, descriptor="/etc/hostname")
    with pytest.raises(DicomError, match="not a folder"):
        create_dicomdir(tmp_path / "nothing")

"""deidentify() on the shared corpus: nothing marked X survives anywhere, D/Z/U are applied,
private tags are gone, UIDs stay consistent across a series and its references, and the
output is readable by pydicom and DCMTK's dcmdump."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from corpus import CORPUS, manifest
from peers import require_module, run_dcmtk

import dicomkit
from dicomkit.core._dataset import Dataset
from dicomkit.deid import DEFAULT_DUMMIES, UIDMap, deidentify, rule_for
from dicomkit.deid._engine import (
    DEIDENTIFICATION_METHOD,
    DEIDENTIFICATION_METHOD_CODES,
    LONGITUDINAL_MODIFIED,
    PATIENT_IDENTITY_REMOVED,
)

FILES = [f for f in manifest() if not f.broken and f.path.is_file()] if CORPUS.is_dir() else []
DUMMY_VALUES = {v for v in DEFAULT_DUMMIES.values() if isinstance(v, str)}
OURS = {
    PATIENT_IDENTITY_REMOVED,
    DEIDENTIFICATION_METHOD,
    DEIDENTIFICATION_METHOD_CODES,
    LONGITUDINAL_MODIFIED,
}


def _read(path: Path) -> Dataset | None:
    try:
        return dicomkit.read(path)
    except Exception:  # noqa: BLE001 -- files our reader refuses are other tests' business
        return None


def _originals(ds: Dataset) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for el in ds.walk():
        if el.vr == "UI" and rule_for(int(el.tag)) is not None:
            val = el.value
            for v in val if isinstance(val, list) else [val]:
                if v:
                    out.setdefault(int(el.tag), set()).add(str(v))
    return out


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == b"" or (isinstance(value, list) and not value)


@pytest.mark.skipif(not FILES, reason="shared corpus missing")
@pytest.mark.parametrize("cf", FILES, ids=[f.rel for f in FILES])
def test_corpus_file(cf: Any, tmp_path: Path) -> None:
    ds = _read(cf.path)
    if ds is None:
        pytest.skip("not readable by dicomkit")
    before = _originals(ds)
    out = deidentify(ds, salt=b"corpus")
    all_uids_before = {v for vs in before.values() for v in vs}
    for el in out.walk():
        tag = int(el.tag)
        if tag in OURS or ((tag >> 16) == 0x0008 and (tag & 0xFFFF) in (0x0100, 0x0102, 0x0104)):
            continue
        assert not tag >> 16 & 1, f"private {el.tag} left"
        rule = rule_for(tag)
        if rule is None:
            continue
        assert rule.basic != "X", f"{el.tag} {rule.name} (X) left"
        if rule.basic == "D" and el.vr != "SQ":
            assert not _empty(el.value), f"{el.tag} {rule.name} (D) is empty"
        if rule.basic == "Z" and el.vr not in ("SQ", "UI"):
            # Z, or a dummy where the attribute is Type 1 in its IOD (E.1.1 allows both)
            assert _empty(el.value) or el.value in DUMMY_VALUES, f"{el.tag} {el.value!r}"
        if rule.basic == "U" and el.vr == "UI" and el.value:
            for v in el.value if isinstance(el.value, list) else [el.value]:
                assert str(v).startswith("2.25."), f"{el.tag} kept {v}"
                assert str(v) not in all_uids_before
    assert out.PatientIdentityRemoved == "YES"
    if out.file_meta is None and ("SOPClassUID" not in out or "SOPInstanceUID" not in out):
        return  # a bare data set without SOP UIDs cannot become a Part 10 file
    dst = tmp_path / "out.dcm"
    dicomkit.write(out, dst)
    back = dicomkit.read(dst)
    assert back.PatientIdentityRemoved == "YES"
    if back.file_meta is not None and "SOPInstanceUID" in back:
        assert back.file_meta.get(0x00020003) == back.SOPInstanceUID
    pydicom = require_module("pydicom")
    pds = pydicom.dcmread(dst, force=True)
    assert pds.PatientIdentityRemoved == "YES"
    original = run_dcmtk("dcmdump", "-q", "-dc", str(cf.path), check=False, errors="replace")
    if original.returncode != 0 or "E:" in original.stderr:
        return  # dcmdump refuses the input itself: nothing to compare against
    proc = run_dcmtk("dcmdump", "-q", "-dc", str(dst), check=False, errors="replace")
    assert proc.returncode == 0, proc.stderr
    assert "E:" not in proc.stderr, proc.stderr


def _series(folder: str) -> list[Path]:
    root = CORPUS / folder
    return sorted(p for p in root.rglob("*") if p.is_file())


@pytest.mark.skipif(
    not (CORPUS / "dcmqi/segmentations/24x38x3").is_dir(), reason="corpus series missing"
)
def test_series_and_references_stay_consistent() -> None:
    uids = UIDMap(b"series")
    images = [dicomkit.read(p) for p in _series("dcmqi/segmentations/24x38x3/image")]
    seg = dicomkit.read(CORPUS / "dcmqi/segmentations/24x38x3/seg/label.seg")
    outs = [deidentify(ds, uid_map=uids) for ds in images]
    seg_out = deidentify(seg, uid_map=uids)
    assert len({o.StudyInstanceUID for o in outs}) == 1
    assert len({o.SeriesInstanceUID for o in outs}) == 1
    assert outs[0].StudyInstanceUID == uids[images[0].StudyInstanceUID]
    assert outs[0].StudyInstanceUID != images[0].StudyInstanceUID
    assert len({o.SOPInstanceUID for o in outs}) == len(outs)
    if seg.StudyInstanceUID == images[0].StudyInstanceUID:
        assert seg_out.StudyInstanceUID == outs[0].StudyInstanceUID
    refs = {str(el.value) for el in seg_out.walk() if int(el.tag) == 0x00081155}
    assert refs, "the segmentation references its source images"
    new_sops = {o.SOPInstanceUID for o in outs}
    old_refs = {str(el.value) for el in seg.walk() if int(el.tag) == 0x00081155}
    old_sops = {ds.SOPInstanceUID for ds in images}
    if old_refs & old_sops:
        assert refs & new_sops == {uids[r] for r in old_refs & old_sops}


@pytest.mark.skipif(not FILES, reason="shared corpus missing")
@pytest.mark.slow  # the whole corpus, validated before and after
def test_no_new_iod_errors() -> None:
    """Combined codes resolve against the IOD: de-identifying adds no validation error, but
    for attributes the table says to remove outright (X) where an IOD wants them (e.g. Study
    Description, Type 2 in a DICOMDIR study record)."""
    from dicomkit.iod import validate

    problems = []
    for cf in FILES:
        ds = _read(cf.path)
        if ds is None:
            continue
        before = {(f.path, f.message) for f in validate(ds) if f.severity == "error"}
        out = deidentify(ds, salt=b"iod")
        for f in validate(out):
            if f.severity != "error" or (f.path, f.message) in before:
                continue
            rule = rule_for(int(f.tag)) if f.tag is not None else None
            if rule is not None and rule.basic == "X":
                continue
            problems.append(f"{cf.rel}: {f.path} {f.message}")
    assert not problems, "\n".join(problems[:20])


@pytest.mark.skipif(not FILES, reason="shared corpus missing")
@pytest.mark.slow  # the whole corpus
def test_patient_names_and_ids_do_not_survive() -> None:
    """No text element anywhere still holds a patient's name or ID (numbers and code
    strings such as a DICOMDIR's Referenced File ID may equal one by chance)."""
    keys = {0x00100010, 0x00100020, 0x00101001, 0x00101000}
    leaks = []
    for cf in FILES:
        ds = _read(cf.path)
        if ds is None:
            continue
        secrets = {
            str(el.value).strip()
            for el in ds.walk()
            if int(el.tag) in keys and el.value not in (None, "", b"")
        }
        secrets = {s for s in secrets if len(s) >= 4 and s.upper() != "ANONYMIZED"}
        if not secrets:
            continue
        out = deidentify(ds, salt=b"leak")
        for el in out.walk():
            if el.vr in ("SQ", "IS", "DS", "CS", "UI") or isinstance(el.value, bytes):
                continue
            text = str(el.value)
            leaks += [
                f"{cf.rel}: {el.tag} holds {s!r}"
                for s in secrets
                if text.strip() == s or (len(s) >= 6 and not s.isdigit() and s in text)
            ]
    assert not leaks, "\n".join(leaks[:20])

"""File-sets made for a media profile (PS3.11): conversion, refusal, updates; DCMTK's dcmmkdir
checks what we write in its check mode (-w), appends to it (+A), and we read what it writes."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from corpus import CORPUS
from peers import run_dcmtk

import dicomkit
from dicomkit.dictionary import uids
from dicomkit.errors import DicomError
from dicomkit.media import _profiles as profiles
from dicomkit.media import create_dicomdir, read_dicomdir
from dicomkit.media._profiles import PROFILES, get_profile, plan_syntax
from dicomkit.pixels import pixel_array

SOURCES = {
    "IMPL": CORPUS / "dcmqi" / "segmentations" / "24x38x3" / "image" / "IMG0001.dcm",
    "BIGEND": CORPUS / "dcm4che" / "US-RGB-8-epicard",
    "DEFL": CORPUS / "dcm4che" / "report_dfl",
    "RLE": CORPUS / "nema-wg04" / "RLE" / "CT1_RLE",
    "J2KR": CORPUS / "nema-wg04" / "J2KR" / "MR4_J2KR",
    "JPLY": CORPUS / "nema-wg04" / "JPLY" / "MR4_JPLY",
}
LOSSLESS = ("IMPL", "BIGEND", "RLE", "J2KR")

pytestmark = pytest.mark.skipif(
    not all(p.exists() for p in SOURCES.values()), reason="shared corpus not present"
)


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    """Files in six transfer syntaxes under conformant names (so that only the syntax
    stands between them and STD-GEN-CD), and a text file."""
    src = tmp_path / "SRC"
    src.mkdir()
    for name, path in SOURCES.items():
        shutil.copyfile(path, src / name)
    (src / "NOTES").write_text("not DICOM")
    return src


def _dcmmkdir_check(root: Path, option: str) -> tuple[int, str]:
    """dcmmkdir in check mode (-w: nothing written, no backup) over every file under root."""
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    files = [f for f in files if f != "DICOMDIR" and "NOTES" not in f]
    proc = run_dcmtk(
        "dcmmkdir", "-w", "-nb", "+I", option, "+D", "CHECKDIR", *files, cwd=root, check=False
    )
    return proc.returncode, proc.stdout + proc.stderr


# -- the profile table ------------------------------------------------------------------------
def test_plan_per_syntax() -> None:
    cd, jpeg, j2k = (get_profile(n) for n in ("std-gen-cd", "STD-GEN-DVD-JPEG", "STD-GEN-DVD-J2K"))
    explicit = uids.ExplicitVRLittleEndian
    for ts in (uids.ImplicitVRLittleEndian, uids.ExplicitVRBigEndian):
        plan = plan_syntax(ts, cd, has_pixels=True)
        assert plan.target == explicit and plan.convert and "re-encoded" in plan.reason
    assert plan_syntax(explicit, cd, has_pixels=True) == profiles.Plan(explicit, False)
    plan = plan_syntax(uids.RLELossless, cd, has_pixels=True)
    assert plan.target == explicit and "decompressed" in plan.reason
    # a JPEG profile keeps JPEG files, a J2K one decompresses them
    assert plan_syntax(uids.JPEGBaseline8Bit, jpeg, has_pixels=True).convert is False
    assert plan_syntax(uids.JPEGBaseline8Bit, j2k, has_pixels=True).target == explicit
    # compress: native images go to the lossless syntax, allowed compressed ones stay
    assert plan_syntax(explicit, j2k, has_pixels=True, compress=True).target == (
        uids.JPEG2000Lossless
    )
    assert plan_syntax(explicit, jpeg, has_pixels=True, compress=True).target == (
        uids.JPEGLosslessSV1
    )
    assert plan_syntax(uids.JPEG2000, j2k, has_pixels=True, compress=True).convert is False
    assert plan_syntax(explicit, j2k, has_pixels=False, compress=True).convert is False
    # no codec for a syntax: refused, with the reason
    plan = plan_syntax("1.2.3.4.5.6", cd, has_pixels=True)
    assert plan.target is None and "no decoder" in plan.reason and "STD-GEN-CD" in plan.reason


def test_profiles_and_their_syntaxes() -> None:
    assert PROFILES["STD-GEN-CD"].syntaxes == {uids.ExplicitVRLittleEndian}
    assert uids.JPEGLosslessSV1 in PROFILES["STD-GEN-USB-JPEG"].syntaxes
    assert uids.JPEG2000 in PROFILES["STD-GEN-BD-J2K"].syntaxes
    with pytest.raises(DicomError, match=r"unknown media profile 'STD-GEN-XYZ'.*STD-GEN-CD"):
        get_profile("STD-GEN-XYZ")


# -- making File-sets -------------------------------------------------------------------------
@pytest.mark.interop
def test_std_gen_cd_converts_and_dcmmkdir_agrees(mixed: Path, tmp_path: Path) -> None:
    # DCMTK refuses the sources: they are not in Explicit VR Little Endian
    rc, text = _dcmmkdir_check(mixed, "-Pgp")
    assert rc != 0 and "E:" in text
    out = tmp_path / "CD"
    result = create_dicomdir(mixed, output=out, fileset_id="MIXED")
    assert result.profile == "STD-GEN-CD"
    assert not result.refused and [p.name for p, _ in result.skipped] == ["NOTES"]
    assert len(result.converted) == 6 and not result.copied
    for source, dest, ts in result.converted:
        assert ts == uids.ExplicitVRLittleEndian
        assert str(dicomkit.read(dest, stop_before_pixels=True).transfer_syntax) == ts
        if source.name in LOSSLESS:  # the pixels are the same after the conversion
            np.testing.assert_array_equal(
                pixel_array(dicomkit.read(dest)), pixel_array(dicomkit.read(source))
            )
    assert {p.name for p in mixed.iterdir()} == {*SOURCES, "NOTES"}  # originals untouched
    rc, text = _dcmmkdir_check(out, "-Pgp")
    assert rc == 0 and "E:" not in text and "cannot be added" not in text, text
    dd = read_dicomdir(out / "DICOMDIR")
    assert all(r.transfer_syntax_uid == uids.ExplicitVRLittleEndian for r in dd.instances())
    assert len(dd.instances()) == 6


@pytest.mark.interop
@pytest.mark.parametrize(
    ("profile", "option", "target"),
    [
        ("STD-GEN-DVD-J2K", "-Pd2", uids.JPEG2000Lossless),
        ("STD-GEN-DVD-JPEG", "-Pdv", uids.JPEGLosslessSV1),
    ],
)
def test_compressed_profiles(
    mixed: Path, tmp_path: Path, profile: str, option: str, target: str
) -> None:
    if not profiles.PROFILES[profile].lossless or profiles.can_compress(get_profile(profile)):
        pytest.skip(f"no encoder for {profile}")
    out = tmp_path / "DVD"
    result = create_dicomdir(mixed, output=out, profile=profile, compress=True)
    written = {src.name: ts for src, _, ts in result.converted}
    written |= {
        src.name: str(dicomkit.read(dst, stop_before_pixels=True).transfer_syntax)
        for src, dst in result.copied
    }
    allowed = get_profile(profile).syntaxes
    assert set(written.values()) <= allowed
    assert written["IMPL"] == written["RLE"] == target  # native / other codecs: compressed
    assert written["DEFL"] == uids.ExplicitVRLittleEndian  # no pixels
    by_name = {src.name: dst for src, dst, _ in result.converted}
    for name in ("IMPL", "RLE"):
        np.testing.assert_array_equal(
            pixel_array(dicomkit.read(by_name[name])), pixel_array(dicomkit.read(SOURCES[name]))
        )
    rc, text = _dcmmkdir_check(out, option)
    assert rc == 0 and "E:" not in text and "cannot be added" not in text, text
    _, text = _dcmmkdir_check(out, "-Pgp")  # compressed files are no STD-GEN-CD
    assert "LittleEndianExplicit expected" in text


def test_unconvertible_file_is_refused(tmp_path: Path) -> None:
    ds = dicomkit.read(SOURCES["RLE"])
    ds.file_meta.TransferSyntaxUID = "1.2.3.4.5.6"  # a private syntax no codec knows
    ds.transfer_syntax = "1.2.3.4.5.6"
    src = tmp_path / "SRC"
    src.mkdir()
    dicomkit.write(ds, src / "PRIV")
    shutil.copyfile(SOURCES["IMPL"], src / "IMPL")
    result = create_dicomdir(src, output=tmp_path / "OUT")
    assert [(p.name, "no decoder" in why) for p, why in result.refused] == [("PRIV", True)]
    assert len(result.instances) == 1
    assert len(read_dicomdir(tmp_path / "OUT" / "DICOMDIR").instances()) == 1


def test_compress_without_encoder_is_refused(
    mixed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(profiles, "_can", lambda registry, what, ts: what == "decode")
    with pytest.raises(DicomError, match="no encoder for JPEG 2000"):
        create_dicomdir(mixed, output=tmp_path / "X", profile="STD-GEN-DVD-J2K", compress=True)
    with pytest.raises(DicomError, match="STD-GEN-CD allows no compression"):
        create_dicomdir(mixed, output=tmp_path / "X", compress=True)
    assert not (tmp_path / "X").exists()


def test_in_place_only_when_nothing_is_copied(mixed: Path) -> None:
    with pytest.raises(DicomError, match=r"in place: 6 file\(s\).*--output OUT"):
        create_dicomdir(mixed)
    assert not (mixed / "DICOMDIR").exists() and not (mixed / "DICOM").exists()
    for name in ("IMPL", "BIGEND", "DEFL", "RLE", "JPLY"):
        (mixed / name).unlink()
    with pytest.raises(DicomError, match=r"1 file\(s\).*J2KR: JPEG 2000"):
        create_dicomdir(mixed)  # STD-GEN-CD would need it decompressed
    result = create_dicomdir(mixed, profile="STD-GEN-DVD-J2K")  # allowed there as it is
    assert not result.copied and not result.converted
    assert [i.file_id for i in result.instances] == [("J2KR",)]
    assert (mixed / "DICOMDIR").exists()


def test_in_place_when_everything_conforms(tmp_path: Path) -> None:
    src = tmp_path / "SRC"
    first = create_dicomdir(_one_folder(tmp_path), output=src)
    assert len(first.converted) == 2
    (src / "DICOMDIR").unlink()
    again = create_dicomdir(src)  # every file conforms now: referenced where it is
    assert not again.copied and not again.converted
    assert {i.file_id for i in again.instances} == {i.file_id for i in first.instances}


def _one_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copyfile(SOURCES["IMPL"], folder / "a.dcm")
    shutil.copyfile(SOURCES["RLE"], folder / "b.dcm")
    return folder


# -- updating ---------------------------------------------------------------------------------
@pytest.mark.interop
def test_update_adds_files_and_dcmtk_agrees(tmp_path: Path) -> None:
    out = tmp_path / "CD"
    first = tmp_path / "first"
    first.mkdir()
    shutil.copyfile(SOURCES["IMPL"], first / "i1")
    create_dicomdir(first, output=out, fileset_id="GROWS")
    with pytest.raises(DicomError, match="already holds a DICOMDIR"):
        create_dicomdir(first, output=out)
    more = tmp_path / "more"
    more.mkdir()
    for name in ("IMG0002.dcm", "IMG0003.dcm"):  # same patient, study and series
        shutil.copyfile(SOURCES["IMPL"].with_name(name), more / name)
    shutil.copyfile(SOURCES["IMPL"], more / "again")  # already in the File-set
    shutil.copyfile(SOURCES["RLE"], more / "ct")  # another patient
    result = create_dicomdir(more, output=out, update=True)
    assert result.existing == 1 and len(result.instances) == 3
    assert [(p.name, why) for p, why in result.skipped] == [("again", "already in the File-set")]
    dd = read_dicomdir(out / "DICOMDIR")
    assert dd.fileset_id == "GROWS"
    assert len(dd.roots) == 2  # the new images joined the existing patient
    series = dd.roots[0].children[0].children
    assert len(series) == 1 and len(series[0].children) == 3
    rc, text = _dcmmkdir_check(out, "-Pgp")
    assert rc == 0 and "E:" not in text and "cannot be added" not in text, text
    # DCMTK appends to our DICOMDIR (+A): it reads our records and adds one more file
    profiles.conform(
        CORPUS / "nema-wg04" / "RLE" / "MR1_RLE", out / "EXTRA" / "MR1", uids.ExplicitVRLittleEndian
    )
    before = len(dd.instances())
    proc = run_dcmtk("dcmmkdir", "+A", "-nb", "+I", "+D", "DICOMDIR", "EXTRA/MR1", cwd=out)
    assert "E:" not in proc.stdout + proc.stderr
    after = read_dicomdir(out / "DICOMDIR")  # and we read what DCMTK wrote
    assert len(after.instances()) == before + 1
    assert not after.problems and not after.orphans
    assert {r.file_id for r in dd.instances()} < {r.file_id for r in after.instances()}


def test_update_needs_a_dicomdir(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(DicomError, match="no DICOMDIR to update"):
        create_dicomdir(_one_folder(tmp_path), output=tmp_path / "empty", update=True)


def test_a_file_whose_conversion_fails_is_refused(tmp_path: Path) -> None:
    from dicomkit import DataElement
    from dicomkit.pixels._encapsulation import encapsulate

    ds = dicomkit.read(SOURCES["J2KR"])
    del ds[0x7FE00010]
    ds.add(
        DataElement(0x7FE00010, "OB", encapsulate([b"not a codestream" * 4]), undefined_length=True)
    )
    src = tmp_path / "SRC"
    src.mkdir()
    dicomkit.write(ds, src / "BROKEN")
    shutil.copyfile(SOURCES["IMPL"], src / "IMPL")
    result = create_dicomdir(src, output=tmp_path / "OUT")
    assert [p.name for p, _ in result.refused] == ["BROKEN"]
    assert "converting it failed" in result.refused[0][1]
    assert [i.path.name for i in result.instances] == ["IMG00001"]
    assert len(read_dicomdir(tmp_path / "OUT" / "DICOMDIR").instances()) == 1
    assert not any(p.name.startswith(".") for p in (tmp_path / "OUT").rglob("*"))  # no leftovers


def test_retired_sop_classes_are_refused_unless_allowed(tmp_path: Path) -> None:
    retired = CORPUS / "dcm4che" / "Tag-0040-A170-VR-CS.dcm"  # Detail SR Storage - Trial
    src = tmp_path / "SRC"
    src.mkdir()
    shutil.copyfile(retired, src / "SR")
    shutil.copyfile(SOURCES["IMPL"], src / "IMPL")
    result = create_dicomdir(src, output=tmp_path / "A")
    assert [p.name for p, _ in result.refused] == ["SR"]
    assert "Detail SR Storage - Trial" in result.refused[0][1] and "retired" in result.refused[0][1]
    assert len(result.instances) == 1
    allowed = create_dicomdir(src, output=tmp_path / "B", allow_retired=True)
    assert not allowed.refused and len(allowed.instances) == 2
    assert allowed.counts["SR DOCUMENT"] == 1

"""Part 10 files (PS3.10 7.1): preamble, DICM, File Meta, transfer syntaxes, big files."""

from __future__ import annotations

import io
import os
import struct
import sys
import tracemalloc
import zlib
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import peers
from builders import exp

import dicomkit
from dicomkit import Dataset
from dicomkit.core._element import DataElement
from dicomkit.dictionary.syntaxes import encoding as ts_encoding
from dicomkit.errors import InvalidDicomError, InvalidValueError, PixelDataError, TruncatedDataError
from dicomkit.io._deflate import deflate, inflate
from dicomkit.io._encoder import encode_element
from dicomkit.io._part10 import build_file_meta, read_file_meta

# every test here runs with the C element scan and with the pure-Python loops
pytestmark = pytest.mark.usefixtures("decoder_path")

CT = "1.2.840.10008.5.1.4.1.1.2"
IMPLICIT, EXPLICIT, BIG, DEFLATED = (
    "1.2.840.10008.1.2",
    "1.2.840.10008.1.2.1",
    "1.2.840.10008.1.2.2",
    "1.2.840.10008.1.2.1.99",
)


def _ct() -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = CT
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.10.1.1"
    ds.PatientName = "DOE^JANE"
    ds.PatientID = "P1"
    ds.Rows = 2
    ds.Columns = 2
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.set("PixelData", b"\x01\x00\x02\x00\x03\x00\x04\x00", vr="OW")
    return ds


@pytest.mark.parametrize("ts", [EXPLICIT, IMPLICIT, BIG, DEFLATED])
def test_write_and_read_each_syntax(ts: str, tmp_path: Path) -> None:
    path = tmp_path / "ct.dcm"
    dicomkit.write(_ct(), path, transfer_syntax=ts)
    data = path.read_bytes()
    assert data[:128] == b"\x00" * 128 and data[128:132] == b"DICM"
    ds = dicomkit.read(path)
    assert ds.transfer_syntax == ts
    assert ds.filename == str(path)
    assert ds.PatientName == "DOE^JANE"
    assert ds.Rows == 2
    meta = ds.file_meta
    assert meta is not None
    assert meta.MediaStorageSOPClassUID == CT
    assert meta.MediaStorageSOPInstanceUID == "1.2.826.0.1.3680043.10.1.1"
    assert meta.FileMetaInformationVersion == b"\x00\x01"
    from dicomkit.core._uid import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME

    assert meta.ImplementationClassUID == IMPLEMENTATION_CLASS_UID
    assert meta.ImplementationVersionName == IMPLEMENTATION_VERSION_NAME
    # group length counts everything after it
    _, start = read_file_meta(data)
    assert meta.FileMetaInformationGroupLength == start - 132 - 12
    if ts == BIG:
        assert ds.PixelData == b"\x00\x01\x00\x02\x00\x03\x00\x04"  # OW in file byte order
    else:
        assert ds.PixelData == b"\x01\x00\x02\x00\x03\x00\x04\x00"
    # unchanged write-back is byte-identical (deflated: the stream as read is kept)
    out = io.BytesIO()
    dicomkit.write(ds, out)
    assert out.getvalue() == data


@pytest.mark.interop
@pytest.mark.parametrize("ts", [EXPLICIT, IMPLICIT, BIG, DEFLATED])
def test_dcmtk_reads_what_we_write(ts: str, tmp_path: Path) -> None:
    path = tmp_path / "ct.dcm"
    ds = _ct()
    ds.ReferencedStudySequence = [
        Dataset({"ReferencedSOPClassUID": CT, "ReferencedSOPInstanceUID": "1.2.3"})
    ]
    dicomkit.write(ds, path, transfer_syntax=ts)
    proc = peers.run_dcmtk("dcmdump", str(path))
    bad = [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln[:3] in ("W: ", "E: ")]
    assert not bad
    assert "DOE^JANE" in proc.stdout


def test_read_sources(tmp_path: Path) -> None:
    path = tmp_path / "a.dcm"
    dicomkit.write(_ct(), path)
    data = path.read_bytes()
    assert dicomkit.read(str(path)).PatientID == "P1"
    assert dicomkit.read(data).PatientID == "P1"
    assert dicomkit.read(bytearray(data)).PatientID == "P1"
    assert dicomkit.read(memoryview(data)).PatientID == "P1"
    with open(path, "rb") as fp:
        ds = dicomkit.read(fp)
    assert ds.PatientID == "P1" and ds.filename == str(path)
    assert dicomkit.read(io.BytesIO(data)).filename is None
    with pytest.raises(TypeError):
        dicomkit.read(3.5)  # type: ignore[arg-type]


def test_read_file_meta(tmp_path: Path) -> None:
    path = tmp_path / "a.dcm"
    dicomkit.write(_ct(), path)
    with open(path, "rb") as fp:
        meta, start = read_file_meta(fp)
    assert meta.TransferSyntaxUID == EXPLICIT
    assert meta.preamble == b"\x00" * 128
    data = path.read_bytes()
    assert data[start : start + 2] == b"\x08\x00"


def test_no_preamble_and_no_meta() -> None:
    body = dicomkit.io.encode_dataset(_ct(), implicit=True, little=True)
    ds = dicomkit.read(body)
    assert ds.file_meta is None and ds.preamble is None
    assert ds.transfer_syntax == IMPLICIT
    assert ds.PatientID == "P1"
    be = dicomkit.io.encode_dataset(_ct(), implicit=False, little=False)
    ds = dicomkit.read(be)
    assert ds.transfer_syntax == BIG and ds.Rows == 2
    meta = dicomkit.io.encode_dataset(
        build_file_meta(CT, "1.2.3", IMPLICIT), implicit=False, little=True
    )
    ds = dicomkit.read(b"DICM" + meta + body)
    assert ds.preamble is None and ds.file_meta is not None and ds.PatientID == "P1"
    ds = dicomkit.read(meta + body)  # meta without preamble or DICM
    assert ds.transfer_syntax == IMPLICIT and ds.PatientID == "P1"


def test_meta_says_explicit_data_is_implicit() -> None:
    meta = dicomkit.io.encode_dataset(
        build_file_meta(CT, "1.2.3", EXPLICIT), implicit=False, little=True
    )
    body = dicomkit.io.encode_dataset(_ct(), implicit=True, little=True)
    ds = dicomkit.read(b"\x00" * 128 + b"DICM" + meta + body)
    assert ds.PatientID == "P1" and ds.is_implicit_vr


def test_not_dicom() -> None:
    with pytest.raises(InvalidDicomError, match="not a DICOM file"):
        dicomkit.read(b"%PDF-1.4 hello world, this is not dicom at all" * 4)
    with pytest.raises(InvalidDicomError):
        dicomkit.read(b"%PDF-1.4 hello world" * 4, force=True)
    with pytest.raises(InvalidDicomError):
        dicomkit.read(b"")


def test_specific_tags_and_stop_before_pixels(tmp_path: Path) -> None:
    path = tmp_path / "a.dcm"
    dicomkit.write(_ct(), path)
    ds = dicomkit.read(path, specific_tags=["PatientID", 0x00280010])
    assert set(ds.tags()) == {0x00100020, 0x00280010}
    ds = dicomkit.read(path, stop_before_pixels=True)
    assert "PixelData" not in ds and "Rows" in ds


def test_header_bigger_than_first_chunk(tmp_path: Path) -> None:
    ds = _ct()
    ds.set(0x00091001, b"\x00" * 200_000, vr="OB")
    ds.set(0x00090010, "ACME")
    big = bytes(2_000_000)
    ds.set("PixelData", big, vr="OW")
    path = tmp_path / "big.dcm"
    dicomkit.write(ds, path)
    head = dicomkit.read(path, stop_before_pixels=True)
    assert len(head[0x00091001].value) == 200_000
    assert "PixelData" not in head


def test_gigabyte_file_header_is_cheap(tmp_path: Path) -> None:
    """A 1 GB sparse file: the header read and even the full read touch only the header."""
    size = 1 << 30
    ds = _ct()
    del ds.PixelData
    path = tmp_path / "huge.dcm"
    dicomkit.write(ds, path)
    with open(path, "ab") as fp:
        fp.write(exp(0x7FE00010, "OW", b"", length=size))
        fp.truncate(fp.tell() + size)
    tracemalloc.start()
    head = dicomkit.read(path, stop_before_pixels=True)
    full = dicomkit.read(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert head.PatientID == "P1"
    assert isinstance(full[0x7FE00010].raw, memoryview)
    assert len(full[0x7FE00010].raw) == size
    assert peak < 16 * 1024 * 1024  # memory mapped: the 1 GB value is never loaded


def test_truncated_file_lenient_and_strict(tmp_path: Path) -> None:
    path = tmp_path / "a.dcm"
    dicomkit.write(_ct(), path)
    data = path.read_bytes()[:-5]
    with pytest.raises(TruncatedDataError) as info:
        dicomkit.read(data)
    assert info.value.tag == 0x7FE00010
    ds = dicomkit.read(data, lenient=True)
    assert ds.PatientID == "P1" and "PixelData" not in ds
    assert ds.read_errors and isinstance(ds.read_errors[0], TruncatedDataError)


def test_huge_length_in_small_file() -> None:
    meta = dicomkit.io.encode_dataset(
        build_file_meta(CT, "1.2.3", EXPLICIT), implicit=False, little=True
    )
    data = b"\x00" * 128 + b"DICM" + meta + exp(0x00100010, "UT", b"x" * 600, length=0xFFFFFFF0)
    assert len(data) < 1024
    with pytest.raises(TruncatedDataError, match="past the end"):
        dicomkit.read(data)


def test_deflate_roundtrip_and_bomb() -> None:
    data = b"DICOM" * 1000
    assert inflate(deflate(data)) == data
    bomb = deflate(b"\x00" * (10 << 20))
    assert len(bomb) < 20_000
    with pytest.raises(InvalidDicomError, match="limit"):
        inflate(bomb, max_size=1 << 20)
    with pytest.raises(InvalidDicomError, match="bad deflate"):
        inflate(b"\xff\xff\xff\xff garbage")
    with pytest.raises(TruncatedDataError):
        inflate(deflate(os.urandom(5000))[:50])
    # in a file
    meta = dicomkit.io.encode_dataset(
        build_file_meta(CT, "1.2.3", DEFLATED), implicit=False, little=True
    )
    with pytest.raises(InvalidDicomError):
        dicomkit.read(b"\x00" * 128 + b"DICM" + meta + zlib.compress(b"x" * 100)[:20])


def test_write_options(tmp_path: Path) -> None:
    ds = _ct()
    out = io.BytesIO()
    dicomkit.write(ds, out, preamble=b"P" * 128)
    assert out.getvalue()[:128] == b"P" * 128
    with pytest.raises(InvalidValueError):
        dicomkit.write(ds, io.BytesIO(), preamble=b"short")
    bare = Dataset()
    bare.PatientID = "x"
    with pytest.raises(InvalidValueError, match="SOPClassUID"):
        dicomkit.write(bare, io.BytesIO())


def test_meta_rebuilt_on_new_syntax(tmp_path: Path) -> None:
    path = tmp_path / "a.dcm"
    dicomkit.write(_ct(), path)
    ds = dicomkit.read(path)
    ds.SOPInstanceUID = "9.9.9"
    dicomkit.write(ds, path, transfer_syntax=IMPLICIT)
    back = dicomkit.read(path)
    assert back.file_meta.TransferSyntaxUID == IMPLICIT
    assert back.file_meta.MediaStorageSOPInstanceUID == "9.9.9"


def test_encapsulated_cannot_become_native() -> None:
    from builders import item, seq_delim

    ds = _ct()
    ds.add(
        dicomkit.DataElement(0x7FE00010, "OB", item(b"") + item(b"\xff\xd8"), undefined_length=True)
    )
    ds.file_meta = build_file_meta(CT, "1.2.3", "1.2.840.10008.1.2.4.50")
    out = io.BytesIO()
    dicomkit.write(ds, out)
    assert dicomkit.read(out.getvalue())[0x7FE00010].is_undefined_length
    assert out.getvalue().endswith(seq_delim())
    with pytest.raises(PixelDataError):
        dicomkit.write(ds, io.BytesIO(), transfer_syntax=EXPLICIT)
    with pytest.raises(PixelDataError):
        dicomkit.write(_ct(), io.BytesIO(), transfer_syntax="1.2.840.10008.1.2.4.50")


def test_ts_encoding() -> None:
    assert ts_encoding(IMPLICIT) == (True, True, False)
    assert ts_encoding(EXPLICIT + "\x00") == (False, True, False)
    assert ts_encoding(BIG) == (False, False, False)
    assert ts_encoding(DEFLATED) == (False, True, True)
    assert ts_encoding("1.2.840.10008.1.2.4.50") == (False, True, False)


def test_meta_in_implicit_vr_is_read(tmp_path: Path) -> None:
    meta = build_file_meta(CT, "1.2.3", EXPLICIT)
    raw_meta = dicomkit.io.encode_dataset(meta, implicit=True, little=True)
    body = dicomkit.io.encode_dataset(_ct(), implicit=False, little=True)
    ds = dicomkit.read(b"\x00" * 128 + b"DICM" + raw_meta + body)
    assert ds.file_meta.TransferSyntaxUID == EXPLICIT
    assert ds.PatientID == "P1"
    out = io.BytesIO()
    dicomkit.write(ds, out)  # meta rewritten in explicit VR
    assert struct.unpack_from("<2s", out.getvalue(), 136)[0] == b"UL"


def test_write_over_the_memory_mapped_source(tmp_path: Path) -> None:
    ds = _ct()
    ds.set("PixelData", bytes(6 << 20), vr="OW")  # big enough to be memory-mapped
    path = tmp_path / "big.dcm"
    dicomkit.write(ds, path)
    back = dicomkit.read(path)
    assert isinstance(back[0x7FE00010].raw, memoryview)
    back.PatientID = "P2"
    dicomkit.write(back, path)  # must not truncate the mapped file under our feet
    again = dicomkit.read(path)
    assert again.PatientID == "P2" and len(again.PixelData) == 6 << 20
    assert [p.name for p in tmp_path.iterdir()] == ["big.dcm"]
    os.chmod(path, 0o640)
    dicomkit.write(again, path)
    assert os.stat(path).st_mode & 0o777 == 0o640


def test_edited_meta_gets_a_new_group_length(tmp_path: Path) -> None:
    path = tmp_path / "a.dcm"
    dicomkit.write(_ct(), path)
    ds = dicomkit.read(path)
    ds.file_meta.SourceApplicationEntityTitle = "MYAE"
    dicomkit.write(ds, path)
    data = path.read_bytes()
    back = dicomkit.read(data)
    _, start = read_file_meta(data)
    assert back.file_meta.FileMetaInformationGroupLength == start - 144
    assert back.file_meta.SourceApplicationEntityTitle == "MYAE"


def test_new_sop_instance_updates_meta(tmp_path: Path) -> None:
    path = tmp_path / "a.dcm"
    dicomkit.write(_ct(), path)
    ds = dicomkit.read(path)
    ds.SOPInstanceUID = "1.2.3.999"
    dicomkit.write(ds, path)
    assert dicomkit.read(path).file_meta.MediaStorageSOPInstanceUID == "1.2.3.999"


def test_lenient_damaged_meta_uses_group_length() -> None:
    meta = build_file_meta(CT, "1.2.3", EXPLICIT)
    raw_meta = bytearray(dicomkit.io.encode_dataset(meta, implicit=False, little=True))
    pos = raw_meta.index(b"UI", 12 + 14)  # the VR of (0002,0002)
    raw_meta[pos : pos + 2] = b"??"
    body = dicomkit.io.encode_dataset(_ct(), implicit=False, little=True)
    data = b"\x00" * 128 + b"DICM" + bytes(raw_meta) + body
    with pytest.raises(InvalidDicomError, match="unknown VR"):
        dicomkit.read(data)
    ds = dicomkit.read(data, lenient=True)
    assert ds.PatientID == "P1"
    # the damage, and that the transfer syntax (not read) was detected from the data set
    assert [str(e).split(" ")[0] for e in ds.read_errors] == ["unknown", "the"]
    assert "no Transfer Syntax UID" in str(ds.read_errors[1])


@pytest.mark.parametrize(
    "values",
    [
        ("1.2.840.10008.5.1.4.1.1.2", "1.2.3.4", "1.2.840.10008.1.2.1", "STORESCU"),
        ("1.2.840.10008.5.1.4.1.1.4", "1.2.3.45", "1.2.840.10008.1.2", "ODD"),
        ("1.2.840.10008.5.1.4.1.1.4", "1.2.3.45", "1.2.840.10008.1.2", ""),
        ("1.2.3", "1.2", "1.2.840.10008.1.2.4.50", "ÄE"),
    ],
)
def test_file_meta_bytes_match_the_general_encoder(values: tuple[str, str, str, str]) -> None:
    """The one File Meta builder (written directly, for speed) gives what the general encoder
    gives for the same elements, and reads back as the meta of a file."""
    from dicomkit.core._uid import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME
    from dicomkit.io._part10 import file_meta_bytes

    sop_class, sop_instance, ts, ae = values
    ref = Dataset()
    ref.add(DataElement(0x00020001, "OB", b"\x00\x01"))
    ref.add(DataElement(0x00020002, "UI", sop_class))
    ref.add(DataElement(0x00020003, "UI", sop_instance))
    ref.add(DataElement(0x00020010, "UI", ts))
    ref.add(DataElement(0x00020012, "UI", str(IMPLEMENTATION_CLASS_UID)))
    ref.add(DataElement(0x00020013, "SH", str(IMPLEMENTATION_VERSION_NAME)))
    if ae:
        ref.add(DataElement(0x00020016, "AE", ae))
    body = dicomkit.io.encode_dataset(ref, implicit=False, little=True)
    group = DataElement(0x00020000, "UL", len(body))
    head = encode_element(group, implicit=False, little=True)
    assert file_meta_bytes(*values) == b"\x00" * 128 + b"DICM" + head + body
    assert file_meta_bytes(*values, prefix=False) == head + body
    meta, offset = read_file_meta(file_meta_bytes(*values))
    assert offset == 132 + len(head + body) and meta.get(0x00020003) == sop_instance
    assert build_file_meta(sop_class, sop_instance, ts, ae) == meta


def _meta_and(body: bytes) -> bytes:
    meta = exp(0x00020010, "UI", b"1.2.840.10008.1.2.1\x00")
    return (
        b"\x00" * 128 + b"DICM" + exp(0x00020000, "UL", struct.pack("<L", len(meta))) + meta + body
    )


def test_specific_tags_read_stops_after_the_last_tag_asked_for() -> None:
    # what comes after the last tag asked for is not read: a damaged element there does not
    # fail a strict read (a lenient one reads on and notes it)
    body = (
        exp(0x00100010, "PN", b"DOE^J ")
        + exp(0x00100020, "LO", b"ID1 ")
        + exp(0x00200013, "IS", b"7 ")
        + b"\x28\x00\x10\x00ZZ\x02\x00\x00\x02"  # an unknown VR
    )
    data = _meta_and(body)
    with pytest.raises(InvalidDicomError, match="unknown VR"):
        dicomkit.read(data)
    ds = dicomkit.read(data, specific_tags=["PatientID", "PatientName"])
    assert ds.get("PatientID") == "ID1" and ds.get("PatientName") == "DOE^J"
    assert 0x00200013 not in ds
    lenient = dicomkit.read(data, specific_tags=["PatientID"], lenient=True)
    assert lenient.get("PatientID") == "ID1"
    assert [e.tag for e in lenient.read_errors] == [0x00280010]


def test_specific_tags_header_read_of_a_large_file_reads_only_its_head(
    tmp_path: Path, chunk_reads: list[int]
) -> None:
    from dicomkit.io import _part10 as part10

    body = (
        exp(0x00100020, "LO", b"ID1 ")
        + exp(0x00280010, "US", b"\x02\x00")
        + exp(0x00291010, "OB", b"\x01" * part10.HEAD_FIRST)  # the header outgrows HEAD_FIRST
        + exp(0x7FE00010, "OW", b"\x00" * (4 * part10.HEAD_CHUNK + 2))
    )
    path = tmp_path / "big.dcm"
    path.write_bytes(_meta_and(body))
    ds = dicomkit.read(path, stop_before_pixels=True, specific_tags=["PatientID"])
    assert ds.get("PatientID") == "ID1" and 0x00280010 not in ds
    assert chunk_reads == [part10.HEAD_FIRST]  # the first chunk held every tag asked for
    chunk_reads.clear()
    assert dicomkit.read(path, stop_before_pixels=True).get("Rows") == 2
    assert chunk_reads == [part10.HEAD_FIRST, part10.HEAD_CHUNK]

"""Deflated Explicit VR Little Endian (PS3.5 A.5) round trips: a data set read from a deflated
file and written back unchanged keeps the deflate stream it was read from (byte-identical
file); one that changed is deflated anew."""

from __future__ import annotations

import io
import os
import zlib
from pathlib import Path

import corpus
import pytest

import dicomkit
from dicomkit import Dataset
from dicomkit.dictionary.syntaxes import encoding as ts_encoding
from dicomkit.io._deflate import deflate, inflate, inflates_to
from dicomkit.io._encoder import encode_dataset
from dicomkit.io._part10 import MMAP_MIN, build_file_meta, read_file_meta

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

DEFLATED = "1.2.840.10008.1.2.1.99"
EXPLICIT = "1.2.840.10008.1.2.1"
IMPLICIT = "1.2.840.10008.1.2"
SR = "1.2.840.10008.5.1.4.1.1.88.22"
CT = "1.2.840.10008.5.1.4.1.1.2"

ROWS = [r for r in corpus.manifest() if ts_encoding(r.ts)[2] and not r.broken]


def _write(ds: Dataset, **kw: str) -> bytes:
    out = io.BytesIO()
    dicomkit.write(ds, out, **kw)
    return out.getvalue()


def _stream(data: bytes) -> bytes:
    """The bytes after the File Meta."""
    return data[read_file_meta(data)[1] :]


def _sr() -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = SR
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.10.1.7"
    ds.PatientName = "DOE^JANE"
    ds.PatientID = "P1"
    items = []
    for i in range(3):
        it = Dataset()
        it.RelationshipType = "CONTAINS"
        it.ValueType = "TEXT"
        it.TextValue = f"finding {i}"
        items.append(it)
    ds.ContentSequence = items
    return ds


def _foreign(ds: Dataset, level: int = 0, tail: bytes = b"") -> bytes:
    """A deflated file as another writer might make it: its own compression level and block
    boundaries (so a new deflate by dicomkit gives other bytes), and optional bytes after the
    stream."""
    meta = encode_dataset(
        build_file_meta(ds.SOPClassUID, ds.SOPInstanceUID, DEFLATED), implicit=False, little=True
    )
    body = encode_dataset(ds, implicit=False, little=True)
    c = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
    half = len(body) // 2
    stream = c.compress(body[:half]) + c.flush(zlib.Z_FULL_FLUSH) + c.compress(body[half:])
    stream += c.flush()
    assert stream != deflate(body) and inflate(stream) == body
    return b"\x00" * 128 + b"DICM" + meta + stream + tail


# -- (1) the corpus ------------------------------------------------------------------------------
def test_corpus_has_deflated_files() -> None:
    assert ROWS, "no deflated data set in the shared corpus"


@pytest.mark.parametrize("row", ROWS, ids=[r.rel for r in ROWS])
def test_corpus_deflated_byte_identical(row: corpus.CorpusFile, tmp_path: Path) -> None:
    src = row.path.read_bytes()
    with open(row.path, "rb") as fp:
        sources = [
            row.path,
            str(row.path),
            src,
            bytearray(src),
            memoryview(src),
            io.BytesIO(src),
            fp,
        ]
        for source in sources:
            ds = dicomkit.read(source)
            assert _write(ds) == src, type(source).__name__
    out = tmp_path / "copy.dcm"
    dicomkit.write(dicomkit.read(row.path), out)
    assert out.read_bytes() == src
    dicomkit.write(dicomkit.read(out), out)  # over the file it was read from
    assert out.read_bytes() == src
    assert _write(dicomkit.read(src).copy()) == src


@pytest.mark.parametrize("row", ROWS, ids=[r.rel for r in ROWS])
def test_corpus_deflated_changed_in_item(row: corpus.CorpusFile) -> None:
    src = row.path.read_bytes()
    ds = dicomkit.read(src)
    # the deepest item that holds a text value: change it there
    target = None
    for item in ds.walk_datasets():
        if item is not ds and any(item[t].vr in ("CS", "LO", "SH", "UT") for t in item):
            target = item
    assert target is not None
    tag = next(t for t in target if target[t].vr in ("CS", "LO", "SH", "UT"))
    target[tag].value = "CHANGED"
    data = _write(ds)
    assert data != src
    back = dicomkit.read(data)
    found = [it for it in back.walk_datasets() if it.get(tag) == "CHANGED"]
    assert len(found) == 1
    assert inflate(_stream(data)) == encode_dataset(ds, implicit=False, little=True)


@pytest.mark.parametrize("row", ROWS, ids=[r.rel for r in ROWS])
def test_corpus_deflated_touched_not_changed(row: corpus.CorpusFile) -> None:
    src = row.path.read_bytes()
    ds = dicomkit.read(src)
    for el in ds.walk():
        _ = el.value  # every element decoded, every sequence parsed
    if "PatientName" in ds:
        ds.PatientName = str(ds.PatientName)  # set to what it was
    data = _write(ds)
    assert dicomkit.read(data) == dicomkit.read(src)
    assert data == src  # the encoding did not change, so neither does the file


# -- (2) changes are deflated anew ---------------------------------------------------------------
@pytest.mark.parametrize("name", ["DOE^JOHN", "ROE^JANE", "A^VERY^LONG^NAME"])
def test_changed_element_is_deflated_anew(name: str) -> None:
    src = _foreign(_sr())
    ds = dicomkit.read(src)
    ds.PatientName = name  # ROE^JANE: same length, differs within the stream
    data = _write(ds)
    assert _stream(data) == deflate(encode_dataset(ds, implicit=False, little=True))
    back = dicomkit.read(data)
    assert back.PatientName == name
    assert back.transfer_syntax == DEFLATED
    assert back.ContentSequence[2].TextValue == "finding 2"


def test_changed_sequence_item_is_deflated_anew() -> None:
    src = _foreign(_sr())
    ds = dicomkit.read(src)
    ds.ContentSequence[1].TextValue = "finding X"  # same length
    back = dicomkit.read(_write(ds))
    assert [it.TextValue for it in back.ContentSequence] == ["finding 0", "finding X", "finding 2"]
    ds = dicomkit.read(src)
    ds.ContentSequence.append(Dataset({"ValueType": "TEXT", "TextValue": "new"}))
    assert len(dicomkit.read(_write(ds)).ContentSequence) == 4
    ds = dicomkit.read(src)
    ds.ContentSequence[0].ValueType = "TEXT"  # mutated in place: encodes differently
    assert dicomkit.read(_write(ds)).ContentSequence[0].ValueType == "TEXT"


def test_removed_and_added_elements_are_deflated_anew() -> None:
    src = _foreign(_sr())
    ds = dicomkit.read(src)
    del ds.PatientID
    back = dicomkit.read(_write(ds))
    assert "PatientID" not in back and back.PatientName == "DOE^JANE"
    ds = dicomkit.read(src)
    ds.StudyID = "S1"
    assert dicomkit.read(_write(ds)).StudyID == "S1"
    ds = dicomkit.read(src)
    ds.SpecificCharacterSet = "ISO_IR 100"
    assert dicomkit.read(_write(ds)).SpecificCharacterSet == "ISO_IR 100"


def test_copy_changed_original_kept() -> None:
    src = _foreign(_sr())
    ds = dicomkit.read(src)
    other = ds.copy()
    other.PatientName = "COPY^ONE"
    assert dicomkit.read(_write(other)).PatientName == "COPY^ONE"
    assert _write(ds) == src
    assert _write(ds.copy()) == src


# -- (3) touched, not changed --------------------------------------------------------------------
def test_touched_not_changed_keeps_the_stream() -> None:
    src = _foreign(_sr(), tail=b"\x00")  # e.g. padded to even length
    ds = dicomkit.read(src)
    assert ds.PatientName == "DOE^JANE"
    ds.PatientName = "DOE^JANE"
    for item in ds.ContentSequence:
        item.TextValue = str(item.TextValue)
    data = _write(ds)
    assert dicomkit.read(data) == dicomkit.read(src)
    assert data == src


# -- the stream kept, and when it is not ---------------------------------------------------------
def test_foreign_stream_and_trailing_bytes_kept() -> None:
    for tail in (b"", b"\x00", b"\x12\x34\x56\x78\x9a\xbc\xde\xf0"):
        src = _foreign(_sr(), level=9, tail=tail)
        assert _write(dicomkit.read(src)) == src


def test_meta_rewritten_stream_kept() -> None:
    src = _foreign(_sr())
    ds = dicomkit.read(src)
    ds.file_meta.ImplementationVersionName = "OTHER_1"
    data = _write(ds)
    assert data != src
    assert _stream(data) == _stream(src)
    assert dicomkit.read(data).file_meta.ImplementationVersionName == "OTHER_1"
    # a new preamble, too
    assert _stream(_write(dicomkit.read(src), preamble=b"P" * 128)) == _stream(src)


def test_other_syntax_encodes_normally(tmp_path: Path) -> None:
    src = _foreign(_sr())
    ds = dicomkit.read(src)
    for ts in (EXPLICIT, IMPLICIT):
        data = _write(ds, transfer_syntax=ts)
        implicit = ts == IMPLICIT
        assert _stream(data) == encode_dataset(ds, implicit=implicit, little=True)
        back = dicomkit.read(data)
        assert back.transfer_syntax == ts and back == ds
        assert back.deflated_source is None
        # and from there back to deflated: a new stream, same content
        again = _write(back, transfer_syntax=DEFLATED)
        assert inflate(_stream(again)) == inflate(_stream(src))
    assert _write(ds) == src  # still the stream as read


def test_partial_reads_do_not_keep_the_stream() -> None:
    ds = _sr()
    ds.Rows = 1
    ds.Columns = 1
    ds.BitsAllocated = 8
    ds.set("PixelData", b"\x01\x02", vr="OB")
    src = _foreign(ds)
    assert dicomkit.read(src).deflated_source is not None
    head = dicomkit.read(src, stop_before_pixels=True)
    assert head.deflated_source is None
    assert "PixelData" not in dicomkit.read(_write(head))
    some = dicomkit.read(src, specific_tags=["PatientName", "SOPClassUID", "SOPInstanceUID"])
    assert set(some.tags()) == {0x00080016, 0x00080018, 0x00100010}
    assert some.file_meta.TransferSyntaxUID == DEFLATED  # the meta is read whole
    assert some.deflated_source is None
    assert "PatientID" not in dicomkit.read(_write(some))
    # without pixel data a header read is the whole data set
    assert _write(dicomkit.read(_foreign(_sr()), stop_before_pixels=True)) == _foreign(_sr())


def test_lenient_read_of_damaged_stream_not_kept() -> None:
    src = _foreign(_sr())
    ds = dicomkit.read(src[: len(src) - 12], lenient=True)  # the stream ends early
    assert ds.read_errors and ds.deflated_source is None
    data = _write(ds)
    assert inflate(_stream(data)) == encode_dataset(ds, implicit=False, little=True)


def test_unfinished_stream_never_written_again() -> None:
    """A stream cut between two elements reads leniently without an error; the data set it
    gives encodes to what the stream held so far, but the stream does not end: deflated anew."""
    full = _sr()
    first = Dataset()
    for tag in list(full)[:2]:
        first.add(full[tag])
    head = encode_dataset(first, implicit=False, little=True)
    meta = encode_dataset(
        build_file_meta(SR, full.SOPInstanceUID, DEFLATED), implicit=False, little=True
    )
    c = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    cut = c.compress(head) + c.flush(zlib.Z_FULL_FLUSH)  # no final block
    ds = dicomkit.read(b"\x00" * 128 + b"DICM" + meta + cut, lenient=True)
    assert ds == first and not ds.read_errors
    data = _write(ds)
    assert _stream(data) != cut
    assert inflate(_stream(data)) == head


def test_implicit_data_in_deflated_file_not_kept() -> None:
    """The meta says explicit VR (deflated), the data is implicit: the reader trusts the
    data, the writer writes explicit VR as the syntax says, so the stream cannot be kept."""
    ds = _sr()
    meta = encode_dataset(
        build_file_meta(SR, ds.SOPInstanceUID, DEFLATED), implicit=False, little=True
    )
    src = b"\x00" * 128 + b"DICM" + meta + deflate(encode_dataset(ds, implicit=True, little=True))
    back = dicomkit.read(src)
    assert back.is_implicit_vr and back.deflated_source is None
    data = _write(back)
    assert inflate(_stream(data)) == encode_dataset(ds, implicit=False, little=True)


def test_memory_mapped_file_round_trip(tmp_path: Path) -> None:
    ds = _sr()
    ds.add(dicomkit.DataElement(0x00091010, "OB", os.urandom(MMAP_MIN + 1024)))
    ds.add(dicomkit.DataElement(0x00090010, "LO", "ACME"))
    path = tmp_path / "big.dcm"
    path.write_bytes(_foreign(ds))
    src = path.read_bytes()
    assert len(src) >= MMAP_MIN
    back = dicomkit.read(path)
    dicomkit.write(back, path)  # over the memory-mapped file
    assert path.read_bytes() == src
    back = dicomkit.read(path)
    back.PatientName = "BIG^FILE"
    dicomkit.write(back, path)
    again = dicomkit.read(path)
    assert again.PatientName == "BIG^FILE"
    assert again[0x00091010].value == ds[0x00091010].value


def test_new_deflated_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "sr.dcm"
    dicomkit.write(_sr(), path, transfer_syntax=DEFLATED)
    src = path.read_bytes()
    out = tmp_path / "out.dcm"
    dicomkit.write(dicomkit.read(path), out)
    assert out.read_bytes() == src


# -- inflates_to ---------------------------------------------------------------------------------
def test_inflates_to() -> None:
    data = os.urandom(3000) + b"DICOM" * 400_000  # more than one step of input and output
    stream = deflate(data)
    assert inflates_to(stream, data)
    assert inflates_to(stream + b"\x00junk", data)  # bytes after the end are ignored
    assert inflates_to(stream, bytearray(data)) and inflates_to(memoryview(stream), data)
    assert not inflates_to(stream, data[:-1])
    assert not inflates_to(stream, data + b"x")
    assert not inflates_to(stream, data[:100] + b"?" + data[101:])
    assert not inflates_to(stream[:-10], data)  # the stream does not end
    assert not inflates_to(b"\xff\xff\xff\xff garbage", data)
    assert not inflates_to(b"", data)
    assert inflates_to(deflate(b""), b"")
    bomb = deflate(b"\x00" * (64 << 20))
    assert not inflates_to(bomb, b"\x00" * 10)  # stops after the first step

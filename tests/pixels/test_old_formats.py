"""Pixel data as old and damaged files hold it: ACR-NEMA 12-bit packed samples, values
shorter than Rows x Columns x frames (padded with zeros, as DCMTK does), and pre-Part 10
files written as Part 10 once their SOP UIDs are supplied. DCMTK's dcm2pnm is the reference."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pytest
from peers import run_dcmtk
from pixhelp import EXPLICIT_BE, make_ds

import dicomkit
from dicomkit import DataElement, Dataset
from dicomkit.core._uid import generate_uid
from dicomkit.errors import InvalidValueError
from dicomkit.io._encoder import encode_dataset
from dicomkit.pixels import frame, pixel_array
from dicomkit.pixels._info import PixelDataWarning, PixelInfo
from dicomkit.pixels._native import pack

RNG = np.random.default_rng(12)
SC = "1.2.840.10008.5.1.4.1.1.7"


def _packed12(values: list[int]) -> bytes:
    """The ACR-NEMA layout written out by hand: pixel 0 is byte 0 plus the low nibble of
    byte 1, pixel 1 the high nibble of byte 1 plus byte 2 (a little endian bit stream)."""
    out = bytearray()
    for i in range(0, len(values), 2):
        p0 = values[i]
        p1 = values[i + 1] if i + 1 < len(values) else 0
        out += bytes([p0 & 0xFF, (p0 >> 8) | ((p1 & 0x0F) << 4), p1 >> 4])
    return bytes(out + b"\0" * (len(out) % 2))


def _acr_nema(a: np.ndarray, *, bs: int = 12, pr: int = 0) -> bytes:
    """An ACR-NEMA style data set (implicit VR little endian, no preamble, no File Meta,
    no SOP Instance UID) holding ``a`` as 12-bit packed pixel data."""
    ds = Dataset()
    ds.SOPClassUID = SC
    ds.PatientName = "ACR^NEMA"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = a.shape[-2:]
    if a.ndim == 3:
        ds.NumberOfFrames = a.shape[0]
    ds.BitsAllocated = 12
    ds.BitsStored = bs
    ds.HighBit = bs - 1
    ds.PixelRepresentation = pr
    raw = _packed12([int(v) & 0xFFF for v in a.reshape(-1)])
    ds.add(DataElement(0x7FE00010, "OW", raw))
    return encode_dataset(ds, implicit=True, little=True)


def _pgm(text: str) -> np.ndarray:
    """The samples of an ASCII PGM (P2) as dcm2pnm writes it."""
    tokens = text.split()
    assert tokens[0] == "P2"
    width, height = int(tokens[1]), int(tokens[2])
    return np.array([int(t) for t in tokens[4:]], dtype=np.int64).reshape(height, width)


# -- BitsAllocated 12 -------------------------------------------------------------------------
def test_packed12_hand_layout() -> None:
    values = [0x123, 0xABC, 0xFFF, 0x001, 0x800]
    ds = make_ds(_packed12(values), rows=1, cols=5, ba=12, vr="OW")
    out = pixel_array(ds)
    assert out.dtype == np.uint16
    assert out.tolist() == [values]


@pytest.mark.parametrize("shape", [(5, 7), (3, 5, 7), (2, 3, 3)])
def test_packed12_frames_and_pack_round_trip(shape: tuple[int, ...]) -> None:
    a = RNG.integers(0, 4096, size=shape, dtype=np.uint16)
    frames = shape[0] if len(shape) == 3 else None
    raw = _packed12([int(v) for v in a.reshape(-1)])
    ds = make_ds(raw, rows=shape[-2], cols=shape[-1], ba=12, frames=frames, vr="OW")
    np.testing.assert_array_equal(pixel_array(ds), a)
    if frames:  # odd-sized frames start mid-byte
        for i in range(frames):
            np.testing.assert_array_equal(frame(ds, i), a[i])
    info = PixelInfo.from_dataset(ds)
    assert pack(a, info) == raw


def test_packed12_signed_and_fewer_bits() -> None:
    a = RNG.integers(-512, 512, size=(4, 6), dtype=np.int16)
    ds = make_ds(
        _packed12([int(v) & 0x3FF for v in a.reshape(-1)]),
        rows=4,
        cols=6,
        ba=12,
        bs=10,
        pr=1,
        vr="OW",
    )
    out = pixel_array(ds)
    assert out.dtype == np.int16
    np.testing.assert_array_equal(out, a)


def test_packed12_big_endian_words() -> None:
    a = RNG.integers(0, 4096, size=(3, 4), dtype=np.uint16)
    info = PixelInfo(rows=3, columns=4, bits_allocated=12, bits_stored=12, high_bit=11)
    raw = pack(a, info, little=False)
    assert raw != pack(a, info)  # the 16-bit words were swapped
    ds = make_ds(raw, rows=3, cols=4, ba=12, vr="OW", ts=EXPLICIT_BE)
    np.testing.assert_array_equal(pixel_array(ds), a)


@pytest.mark.interop
def test_packed12_matches_dcm2pnm(tmp_path: Path) -> None:
    a = RNG.integers(0, 4096, size=(9, 11), dtype=np.uint16)
    path = tmp_path / "acr.img"
    path.write_bytes(_acr_nema(a))
    ds = dicomkit.read(path)
    assert ds.file_meta is None or len(ds.file_meta) == 0
    ours = pixel_array(ds)
    theirs = _pgm(run_dcmtk("dcm2pnm", "+opn", "12", str(path)).stdout)
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(ours, a)


@pytest.mark.parametrize("target", [None, "1.2.840.10008.1.2.5", "1.2.840.10008.1.2.4.70"])
def test_packed12_decompressed_or_compressed_becomes_16_bit(target: str | None) -> None:
    from dicomkit.pixels import compress, decompress

    a = RNG.integers(0, 4096, size=(2, 5, 7), dtype=np.uint16)
    ds = dicomkit.read(_acr_nema(a))
    ds.SOPInstanceUID = str(generate_uid())
    if target is None:
        decompress(ds)
    else:
        compress(ds, target)
    assert ds.BitsAllocated == 16 and ds.BitsStored == 12
    out = io.BytesIO()
    dicomkit.write(ds, out)
    back = dicomkit.read(out.getvalue())
    np.testing.assert_array_equal(pixel_array(back), a)
    if target is None:
        assert len(bytes(back.PixelData)) == a.size * 2


# -- short pixel data ---------------------------------------------------------------------------
def test_short_data_is_padded_with_a_warning() -> None:
    a = np.arange(3 * 16, dtype=np.uint8).reshape(3, 4, 4)
    ds = make_ds(a.tobytes()[:40], rows=4, cols=4, frames=3)
    with pytest.warns(PixelDataWarning, match="8 byte\\(s\\) shorter.*padded with zeros"):
        out = pixel_array(ds)
    want = a.copy()
    want.reshape(-1)[40:] = 0
    np.testing.assert_array_equal(out, want)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a whole frame before the cut: no warning
        np.testing.assert_array_equal(frame(ds, 1), a[1])
    with pytest.warns(PixelDataWarning):
        np.testing.assert_array_equal(frame(ds, 2), want[2])


def test_short_big_endian_ow_8bit() -> None:
    """8-bit data in OW of a big endian file, cut short: the word swap stays aligned."""
    a = np.arange(2 * 3 * 5, dtype=np.uint8).reshape(2, 3, 5)
    swapped = bytearray(a.tobytes())
    swapped[0::2], swapped[1::2] = a.tobytes()[1::2], a.tobytes()[0::2]
    ds = make_ds(bytes(swapped[:22]), rows=3, cols=5, frames=2, vr="OW", ts=EXPLICIT_BE)
    with pytest.warns(PixelDataWarning):
        out = frame(ds, 1)
    want = a.copy()
    want.reshape(-1)[22:] = 0
    np.testing.assert_array_equal(out, want[1])


@pytest.mark.interop
def test_short_data_matches_dcm2pnm(tmp_path: Path) -> None:
    a = (np.arange(48, dtype=np.uint16) * 50).reshape(3, 4, 4)
    ds = make_ds(a.tobytes()[:70], rows=4, cols=4, ba=16, bs=12, frames=3, vr="OW")
    ds.SOPClassUID = SC
    ds.SOPInstanceUID = str(generate_uid())
    path = tmp_path / "short.dcm"
    dicomkit.write(ds, path)
    with pytest.warns(PixelDataWarning):
        ours = pixel_array(dicomkit.read(path))
    proc = run_dcmtk("dcm2pnm", "+opn", "12", "+Fa", str(path), str(tmp_path / "f"))
    assert "pixel count differ" in proc.stdout + proc.stderr  # DCMTK warns too
    for i in range(3):
        theirs = _pgm((tmp_path / f"f.{i}.pgm").read_text())
        np.testing.assert_array_equal(ours[i], theirs)
    assert ours[2].reshape(-1)[3:].max() == 0 and ours[2].reshape(-1)[2] == 1700


# -- pre-Part 10 files written as Part 10 -------------------------------------------------------
@pytest.mark.interop
def test_acr_nema_written_as_part10_once_uids_are_supplied(tmp_path: Path) -> None:
    a = RNG.integers(0, 4096, size=(4, 6), dtype=np.uint16)
    ds = dicomkit.read(_acr_nema(a))
    with pytest.raises(InvalidValueError, match=r"no SOP Instance UID \(0008,0018\)") as info:
        dicomkit.write(ds, io.BytesIO())
    assert "SOP Class UID" not in str(info.value).split("and no File Meta")[0]
    assert "generate_uid" in str(info.value)
    del ds.SOPClassUID
    with pytest.raises(InvalidValueError, match=r"SOP Class UID .* and SOP Instance UID"):
        dicomkit.write(ds, io.BytesIO())
    ds.SOPClassUID = SC
    ds.SOPInstanceUID = uid = str(generate_uid())
    path = tmp_path / "part10.dcm"
    dicomkit.write(ds, path, transfer_syntax="1.2.840.10008.1.2.1")
    back = dicomkit.read(path)
    assert back.file_meta is not None
    assert str(back.file_meta.MediaStorageSOPInstanceUID) == uid
    np.testing.assert_array_equal(pixel_array(back), a)
    proc = run_dcmtk("dcmdump", str(path))
    assert "W:" not in proc.stdout + proc.stderr and "E:" not in proc.stdout + proc.stderr
    np.testing.assert_array_equal(_pgm(run_dcmtk("dcm2pnm", "+opn", "12", str(path)).stdout), a)


# -- odd-length values ------------------------------------------------------------------------
def _odd_ow_file(implicit: bool) -> bytes:
    """A Part 10 file whose 3x5 8-bit pixels are stored as a 15-byte (odd) OW value."""
    ds = Dataset()
    ds.SOPClassUID = SC
    ds.SOPInstanceUID = "1.2.3.4.5"
    ds.PatientName = "ODD"  # odd text too: padded with a space
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = 3, 5
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    body = b"".join(
        [
            encode_dataset(ds, implicit=implicit, little=True),
            (b"\xe0\x7f\x10\x00" + (15).to_bytes(4, "little"))
            if implicit
            else (b"\xe0\x7f\x10\x00OW\x00\x00" + (15).to_bytes(4, "little")),
            bytes(range(15)),
        ]
    )
    ts = "1.2.840.10008.1.2" if implicit else "1.2.840.10008.1.2.1"
    from dicomkit.io._part10 import file_meta_bytes

    return file_meta_bytes(SC, "1.2.3.4.5", ts) + body


@pytest.mark.interop
@pytest.mark.parametrize("implicit", [True, False])
@pytest.mark.parametrize("target", [None, "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2"])
def test_odd_length_ow_is_padded_on_write(
    tmp_path: Path, implicit: bool, target: str | None
) -> None:
    src = tmp_path / "odd.dcm"
    src.write_bytes(_odd_ow_file(implicit))
    before = run_dcmtk("dcmdump", str(src), check=False)
    ds = dicomkit.read(src)
    want = np.arange(15, dtype=np.uint8).reshape(3, 5)
    np.testing.assert_array_equal(pixel_array(ds), want)
    out = tmp_path / "out.dcm"
    dicomkit.write(ds, out, transfer_syntax=target)
    back = dicomkit.read(out)
    assert len(bytes(back.PixelData)) == 16  # padded to even length
    np.testing.assert_array_equal(pixel_array(back), want)
    after = run_dcmtk("dcmdump", str(out))
    assert "odd" in (before.stdout + before.stderr).lower()  # DCMTK warned about the source
    assert "W:" not in after.stdout + after.stderr and "E:" not in after.stdout + after.stderr


@pytest.mark.interop
def test_corpus_file_without_uids_written_as_part10(tmp_path: Path) -> None:
    """dcm4che's no_preamble_dicm_in_data: a bare data set (no File Meta, no SOP UIDs), the one
    corpus file the Part 10 round trip of tests/io/test_corpus.py cannot take as it is."""
    from corpus import CORPUS

    src = CORPUS / "dcm4che" / "no_preamble_dicm_in_data"
    if not src.exists():
        pytest.skip("shared corpus not present")
    ds = dicomkit.read(src)
    assert not ds.file_meta and "SOPClassUID" not in ds
    with pytest.raises(InvalidValueError, match=r"SOP Class UID .* and SOP Instance UID"):
        dicomkit.write(ds, io.BytesIO())
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.1.2"  # Digital Mammography (Modality MG)
    ds.SOPInstanceUID = str(generate_uid())
    out = tmp_path / "part10.dcm"
    dicomkit.write(ds, out)
    back = dicomkit.read(out)
    assert back.preamble is not None and back.file_meta is not None
    assert str(back.file_meta.MediaStorageSOPClassUID) == ds.SOPClassUID
    assert set(back.tags()) == set(ds.tags())
    proc = run_dcmtk("dcmdump", str(out))
    assert "E:" not in proc.stdout + proc.stderr


# -- compressed frames narrower than Columns --------------------------------------------------
def _narrow_jpeg(tmp_path: Path) -> tuple[Path, np.ndarray]:
    """A 4 x 3 image compressed as JPEG Lossless SV1, in a data set that says Columns 5."""
    from dicomkit.pixels import compress, set_pixels

    a = (np.arange(12, dtype=np.uint8) * 20).reshape(4, 3)
    ds = Dataset()
    ds.SOPClassUID = SC
    ds.SOPInstanceUID = str(generate_uid())
    set_pixels(ds, a, photometric="MONOCHROME2")
    ds.transfer_syntax = "1.2.840.10008.1.2.1"
    compress(ds, "1.2.840.10008.1.2.4.70")
    ds.Columns = 5
    path = tmp_path / "narrow.dcm"
    dicomkit.write(ds, path)
    return path, a


@pytest.mark.interop
def test_narrow_compressed_frame_is_padded_as_dcmtk_does(tmp_path: Path) -> None:
    try:
        path, a = _narrow_jpeg(tmp_path)
    except Exception as exc:  # noqa: BLE001 - no JPEG lossless encoder installed
        pytest.skip(f"cannot make the JPEG: {exc}")
    ds = dicomkit.read(path)
    with pytest.warns(PixelDataWarning, match="3 x 4 pixels, smaller than Columns x Rows 5 x 4"):
        ours = pixel_array(ds)
    assert ours.shape == (4, 5)
    want = np.zeros(20, np.uint8)
    want[:12] = a.reshape(-1)
    np.testing.assert_array_equal(ours.reshape(-1), want)  # filled in order, then zeros
    theirs = _pgm(run_dcmtk("dcmj2pnm", "+opb", str(path)).stdout)
    np.testing.assert_array_equal(ours, theirs)

"""Classes of file that other toolkits read and we once did not (issue #10, Reading 1-6, 10).

Each file is built here by hand (PS3.5 / PS3.10 byte layouts), read, written back, and -- where
DCMTK can read it -- dumped with ``dcmdump`` to check that it reads the same values.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import peers
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from builders import UNDEF, exp, imp, item, seq_delim

import dicomkit
from dicomkit.errors import InvalidDicomError, TruncatedDataError

# every test here runs with the C element scan and with the pure-Python loops
pytestmark = pytest.mark.usefixtures("decoder_path")

EXPLICIT_LE = "1.2.840.10008.1.2.1"
IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_BE = "1.2.840.10008.1.2.2"
SC = "1.2.840.10008.5.1.4.1.1.7"


def _ui(uid: str) -> bytes:
    raw = uid.encode()
    return raw + b"\x00" if len(raw) % 2 else raw


def _meta(ts: str | None, instance: str = "1.2.3.4") -> bytes:
    """Preamble, DICM and a File Meta group (explicit VR LE) naming ``ts`` (none: left out)."""
    body = exp(0x00020001, "OB", b"\x00\x01")
    body += exp(0x00020002, "UI", _ui(SC)) + exp(0x00020003, "UI", _ui(instance))
    if ts is not None:
        body += exp(0x00020010, "UI", _ui(ts))
    body += exp(0x00020012, "UI", _ui("1.2.3.999"))
    return b"\x00" * 128 + b"DICM" + exp(0x00020000, "UL", struct.pack("<L", len(body))) + body


def _head(little: bool = True, implicit: bool = False) -> bytes:
    """SOP Class / Instance UID and Patient Name."""
    if implicit:
        return (
            imp(0x00080016, _ui(SC))
            + imp(0x00080018, _ui("1.2.3.4"))
            + imp(0x00100010, b"DOE^JANE")
        )
    return (
        exp(0x00080016, "UI", _ui(SC), little)
        + exp(0x00080018, "UI", _ui("1.2.3.4"), little)
        + exp(0x00100010, "PN", b"DOE^JANE", little)
    )


def _write_back(ds: dicomkit.Dataset, tmp_path: Path) -> bytes:
    out = tmp_path / "back.dcm"
    dicomkit.write(ds, out)
    return out.read_bytes()


def _dcmdump(path: Path, *options: str) -> str:
    """dcmdump's output; its errors ("E: ") must be none."""
    proc = peers.run_dcmtk("dcmdump", *options, str(path), check=False)
    text = proc.stdout + proc.stderr
    assert not [ln for ln in text.splitlines() if ln.startswith("E: ")], text
    return text


# -- 1. the File Meta ends where its group length says (PS3.10 7.1) ---------------------------
def test_second_group_0002_block_stays_in_the_data_set(tmp_path: Path) -> None:
    old_block = exp(0x00020010, "UI", _ui(IMPLICIT_LE)) + exp(0x00020013, "SH", b"OLDTOOL ")
    pixels = exp(0x00280010, "US", b"\x02\x00") + exp(0x7FE00010, "OW", b"\x01\x02\x03\x04")
    data = _meta(EXPLICIT_LE) + old_block + _head() + pixels
    path = tmp_path / "two-blocks.dcm"
    path.write_bytes(data)
    ds = dicomkit.read(path)
    assert ds.transfer_syntax == EXPLICIT_LE  # from the real meta, not the second block
    assert ds.PatientName == "DOE^JANE" and ds.Rows == 2
    assert ds[0x00020010].value == IMPLICIT_LE  # kept in the data set ...
    assert [e for e in ds.read_errors if "group 0002" in str(e)]  # ... and flagged
    assert ds.file_meta is not None and 0x00020013 not in ds.file_meta
    assert _write_back(ds, tmp_path) == data  # byte for byte
    assert "DOE^JANE" in _dcmdump(path)


# -- 2. UN of undefined length: implicit VR LE items (PS3.5 6.2.2, CP-246) ----------------------
def _un_dataset(little: bool) -> bytes:
    inner = imp(0x00080100, b"CODE") + imp(0x00080102, b"DCM ")
    nested = imp(0x00191002, item(imp(0x00080104, b"MEANING ")), length=None)  # defined
    deep = exp(0x00191003, "UN", item(inner, undefined=True) + seq_delim(), little, UNDEF)
    un = exp(
        0x00191001,
        "UN",
        item(inner + nested, undefined=True) + item(inner) + seq_delim(),
        little,
        UNDEF,
    )
    return (
        exp(0x00080016, "UI", _ui(SC), little)
        + exp(0x00080018, "UI", _ui("1.2.3.4"), little)
        + exp(0x00100010, "PN", b"DOE^JANE", little)
        + exp(0x00190010, "LO", b"ACME", little)
        + un
        + deep
        + exp(0x00200013, "IS", b"7 ", little)
    )


@pytest.mark.parametrize("ts", [EXPLICIT_LE, EXPLICIT_BE])
def test_un_undefined_length_read_and_written_back_unchanged(ts: str, tmp_path: Path) -> None:
    little = ts == EXPLICIT_LE
    data = _meta(ts) + _un_dataset(little)
    path = tmp_path / "un.dcm"
    path.write_bytes(data)
    ds = dicomkit.read(path)
    seq = ds[0x00191001].value
    assert len(seq) == 2 and seq[0].CodeValue == "CODE" and seq[1].CodingSchemeDesignator == "DCM"
    assert ds[0x00191003].value[0].CodeValue == "CODE"
    assert ds.InstanceNumber == 7 and ds.read_errors == []
    assert _write_back(ds, tmp_path) == data  # UN stays UN, byte for byte
    assert "DOE^JANE" in _dcmdump(path)


def test_un_sequence_converted_only_when_asked(tmp_path: Path) -> None:
    # (0008,1032) Procedure Code Sequence sent as UN by a node that did not know it
    items = item(imp(0x00080100, b"CODE") + imp(0x00080102, b"DCM "), undefined=True)
    data = _meta(EXPLICIT_LE) + exp(0x00080016, "UI", _ui(SC)) + exp(0x00080018, "UI", _ui("1.2"))
    data += exp(0x00081032, "UN", items + seq_delim(), length=UNDEF)
    data += exp(0x00100010, "PN", b"DOE^JANE")
    ds = dicomkit.read(data)
    assert ds[0x00081032].un_sequence and _write_back(ds, tmp_path) == data
    typed = dicomkit.read(data, known_vr_for_un=True)
    assert not typed[0x00081032].un_sequence
    back = _write_back(typed, tmp_path)
    assert b"\x08\x00\x32\x10SQ" in back and b"\x08\x00\x32\x10UN" not in back
    assert dicomkit.read(back).ProcedureCodeSequence[0].CodeValue == "CODE"


# -- 3. a File Meta without Transfer Syntax UID ---------------------------------------------------
@pytest.mark.parametrize(
    ("little", "implicit", "expected"),
    [(True, True, IMPLICIT_LE), (True, False, EXPLICIT_LE), (False, False, EXPLICIT_BE)],
)
def test_missing_transfer_syntax_detected_from_the_data_set(
    little: bool, implicit: bool, expected: str, tmp_path: Path
) -> None:
    body = _head(little, implicit)
    rows = struct.pack("<H" if little else ">H", 2)
    body += imp(0x00280010, rows) if implicit else exp(0x00280010, "US", rows, little)
    path = tmp_path / "no-ts.dcm"
    path.write_bytes(_meta(None) + body)
    ds = dicomkit.read(path)
    assert ds.transfer_syntax == expected
    assert ds.PatientName == "DOE^JANE" and ds.Rows == 2
    notes = [str(e) for e in ds.read_errors]
    assert len(notes) == 1 and "no Transfer Syntax UID" in notes[0]
    assert dicomkit.read(_write_back(ds, tmp_path)).transfer_syntax == expected
    dumped = _dcmdump(path)  # DCMTK detects the same encoding
    assert "[DOE^JANE]" in dumped and "US 2 " in dumped


# -- 4. a VR of two spaces or two NULs -------------------------------------------------------
def test_blank_vr_read_with_a_two_byte_length(tmp_path: Path) -> None:
    blank = struct.pack("<HH2sH", 0x0008, 0x0060, b"  ", 2) + b"CT"
    nuls = struct.pack("<HH2sH", 0x0010, 0x0020, b"\x00\x00", 4) + b"ID42"
    data = _meta(EXPLICIT_LE) + _head()[:-16] + blank + exp(0x00100010, "PN", b"DOE^JANE") + nuls
    data += exp(0x00200013, "IS", b"7 ")
    path = tmp_path / "blank-vr.dcm"
    path.write_bytes(data)
    ds = dicomkit.read(path)  # strict: the rest of the file is read
    assert ds.Modality == "CT" and ds[0x00080060].vr == "CS"
    assert ds.PatientID == "ID42" and ds[0x00100020].vr == "LO"
    assert ds.InstanceNumber == 7
    assert [e.tag for e in ds.read_errors] == [0x00080060, 0x00100020]
    again = dicomkit.read(_write_back(ds, tmp_path))  # written with the dictionary's VRs
    assert again.Modality == "CT" and again.read_errors == []
    dumped = _dcmdump(path)  # DCMTK too reads on (and shows the blank VR as "??")
    assert "43\\54" in dumped and "49\\44\\34\\32" in dumped and "IS [7]" in dumped


# -- 5. stray delimiters and items ----------------------------------------------------------------
def test_sequence_delimiter_at_the_end_of_the_file(tmp_path: Path) -> None:
    data = _meta(EXPLICIT_LE) + _head() + exp(0x7FE00010, "OW", b"\x01\x02") + seq_delim()
    path = tmp_path / "trailing-delimiter.dcm"
    path.write_bytes(data)
    ds = dicomkit.read(path)
    assert ds[0x7FE00010].value == b"\x01\x02"
    assert len(ds.read_errors) == 1 and "stray delimiter (FFFE,E0DD)" in str(ds.read_errors[0])
    # dcmdump reports the delimiter as an error; with +E it prints the data set up to it
    proc = peers.run_dcmtk("dcmdump", "+E", str(path), check=False)
    assert "DOE^JANE" in proc.stdout and "(7fe0,0010) OW 0201" in proc.stdout


def test_item_where_an_element_belongs(tmp_path: Path) -> None:
    stray = item(exp(0x00080100, "SH", b"CODE"))
    data = _meta(EXPLICIT_LE) + _head() + stray + exp(0x00200013, "IS", b"7 ")
    data += exp(0x7FE00010, "OW", b"\x01\x02")
    path = tmp_path / "stray-item.dcm"
    path.write_bytes(data)
    with pytest.raises(InvalidDicomError, match=r"\(FFFE,E000\)"):
        dicomkit.read(path)
    ds = dicomkit.read(path, lenient=True)  # the rest of the data set, Pixel Data included
    assert ds.InstanceNumber == 7 and ds[0x7FE00010].value == b"\x01\x02"
    assert 0x00080100 not in ds
    assert [e.tag for e in ds.read_errors] == [0xFFFEE000]
    # dcmdump stops at the item ("Invalid tag") with the same elements before it
    proc = peers.run_dcmtk("dcmdump", "+E", str(path), check=False)
    assert "[DOE^JANE]" in proc.stdout and "Invalid tag" in proc.stderr


# -- 6. truncated files ---------------------------------------------------------------------------
def test_truncated_file_keeps_every_complete_element(tmp_path: Path) -> None:
    inner = item(exp(0x00081150, "UI", _ui(SC)) + exp(0x00081155, "UI", _ui("1.2.3")))
    head = (
        _meta(EXPLICIT_LE)
        + exp(0x00080016, "UI", _ui(SC))
        + exp(0x00080018, "UI", _ui("1.2.3.4"))
        + exp(0x00081140, "SQ", inner)
        + exp(0x00100010, "PN", b"DOE^JANE")
    )
    number = exp(0x00200013, "IS", b"7 ")
    pixels = exp(0x7FE00010, "OW", bytes(64))
    full = head + number + pixels
    # cut inside the pixel value, inside the IS value, inside the IS header (tag still there)
    for cut, lost in (
        (len(full) - 10, 0x7FE00010),
        (len(head) + 9, 0x00200013),
        (len(head) + 5, 0x00200013),
    ):
        path = tmp_path / "cut.dcm"
        path.write_bytes(full[:cut])
        with pytest.raises(TruncatedDataError):
            dicomkit.read(path)
        ds = dicomkit.read(path, lenient=True)
        assert ds.PatientName == "DOE^JANE"
        assert ds.ReferencedImageSequence[0].ReferencedSOPInstanceUID == "1.2.3"
        assert lost not in ds and (lost == 0x00200013 or ds.InstanceNumber == 7)
        assert isinstance(ds.read_errors[-1], TruncatedDataError)
        assert ds.read_errors[-1].tag == lost and "cut off" in str(ds.read_errors[-1])
        # dcmdump reads the same elements before the cut
        proc = peers.run_dcmtk("dcmdump", "+E", str(path), check=False)
        assert "DOE^JANE" in proc.stdout and "[1.2.3]" in proc.stdout


# -- 10. UN where the dictionary knows the VR ----------------------------------------------------
def test_known_vr_for_un(tmp_path: Path) -> None:
    body = (
        exp(0x00080016, "UI", _ui(SC))
        + exp(0x00080018, "UI", _ui("1.2.3.4"))
        + exp(0x00100010, "UN", b"DOE^JANE")
        + exp(0x00280010, "UN", b"\x00\x02")
        + exp(0x00290010, "UN", b"SIEMENS CSA HEADER")
        + exp(0x00290011, "UN", b"siemens csa header")
        + exp(0x00291008, "UN", b"IMAGE NUM 4 ")
        + exp(0x00291108, "UN", b"IMAGE NUM 4 ")
    )
    path = tmp_path / "un.dcm"
    path.write_bytes(_meta(EXPLICIT_LE) + body)
    plain = dicomkit.read(path)  # UN stays UN by default, as DCMTK keeps it
    assert {plain[t].vr for t in plain} == {"UI", "UN"}
    ds = dicomkit.read(path, known_vr_for_un=True)
    assert ds[0x00100010].vr == "PN" and ds.PatientName == "DOE^JANE"
    assert ds[0x00280010].vr == "US" and ds.Rows == 512
    assert ds[0x00290010].vr == "LO" and ds[0x00290011].vr == "LO"
    assert ds[0x00291008].vr == "CS" and ds[0x00291008].value == "IMAGE NUM 4"
    # the creator of block 11 is not the dictionary's (creators compare case-exact, PS3.5 7.8.1)
    assert ds[0x00291108].vr == "UN"
    assert dicomkit.read(_write_back(ds, tmp_path)).PatientName == "DOE^JANE"
    head = dicomkit.read(path, known_vr_for_un=True, stop_before_pixels=True)
    assert head.Rows == 512

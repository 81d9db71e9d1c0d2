"""The one element-header scanner (io/scan.py) and the readers that use it agree."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from builders import UNDEF, exp, imp, item, seq_delim

from dicomkit.errors import InvalidDicomError
from dicomkit.io import _scan as scan
from dicomkit.io import _vrlookup as vrlookup
from dicomkit.io._decoder import decode_dataset
from dicomkit.io._headcheck import HeadCheck
from dicomkit.media._dicomdir import _Walker

EXPLICIT_LE, EXPLICIT_BE = "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2"
SC = "1.2.840.10008.5.1.4.1.1.7"


def test_header_forms() -> None:
    short = exp(0x00100010, "PN", b"DOE^")
    assert scan.header(short, 0, len(short), False, True) == (0x00100010, b"PN", 4, 8)
    long = exp(0x7FE00010, "OB", b"\x00\x01", little=False)
    assert scan.header(long, 0, len(long), False, False) == (0x7FE00010, b"OB", 2, 12)
    delim = seq_delim()
    assert scan.header(delim, 0, 8, False, True) == (0xFFFEE0DD, b"", 0, 8)  # no VR
    implicit = imp(0x00100010, b"DOE^")
    assert scan.header(implicit, 0, len(implicit), True, True) == (0x00100010, b"", 4, 8)
    blank = struct.pack("<HH2sH", 0x0008, 0x0060, b"  ", 2) + b"CT"
    assert scan.header(blank, 0, len(blank), False, True) == (0x00080060, b"  ", 2, 8)
    with pytest.raises(scan.ShortData):
        scan.header(long[:10], 0, 10, False, False)
    with pytest.raises(InvalidDicomError, match="no valid VR"):
        scan.header(b"\x08\x00\x60\x00ZZ\x02\x00CT", 0, 10, False, True)


def test_skip_undefined_un_items_are_little_endian_in_big_endian() -> None:
    body = item(imp(0x00080100, b"CODE"), undefined=True) + seq_delim()
    un = exp(0x00191001, "UN", body, little=False, length=UNDEF)
    tag, vr, length, value = scan.header(un, 0, len(un), False, False)
    assert (tag, vr, length) == (0x00191001, b"UN", UNDEF)
    assert scan.skip_undefined(un, value, len(un), True, True) == len(un)
    with pytest.raises(scan.ShortData):
        scan.skip_undefined(un[:-4], value, len(un) - 4, True, True)


def _dataset(modality_vr: bytes) -> bytes:
    return (
        exp(0x00080016, "UI", SC.encode() + b"\x00")
        + exp(0x00080018, "UI", b"1.2.3.4\x00")
        + struct.pack("<HH2sH", 0x0008, 0x0060, modality_vr, 2)
        + b"CT"
        + exp(0x00100010, "PN", b"DOE^JANE")
    )


def _head_check(data: bytes) -> tuple[int, str] | None:
    check = HeadCheck(EXPLICIT_LE, SC, "1.2.3.4")
    check.feed(data)
    return check.finish()


def _walk(data: bytes) -> int:
    walker, pos = _Walker(data, True), 0
    while pos < len(data):
        pos = walker.skip_element(pos, False)
    return pos


@pytest.mark.parametrize("vr", [b"  ", b"\x00\x00"])
def test_blank_vr_is_one_thing_everywhere(vr: bytes) -> None:
    data = _dataset(vr)
    ds = decode_dataset(data, implicit=False, little=True)
    assert ds.Modality == "CT" and ds.PatientName == "DOE^JANE" and len(ds.read_errors) == 1
    assert _head_check(data) is None
    assert _walk(data) == len(data)


def test_invalid_vr_is_one_thing_everywhere() -> None:
    data = _dataset(b"ZZ")
    with pytest.raises(InvalidDicomError, match="unknown VR"):
        decode_dataset(data, implicit=False, little=True)
    failure = _head_check(data)
    assert failure is not None and failure[0] == 0xC000 and "no valid VR" in failure[1]
    with pytest.raises(InvalidDicomError, match="no valid VR"):
        _walk(data)


def test_private_vr_cache_is_bounded() -> None:
    # every creator is a new key: the cache must not grow past its bound
    parts = []
    for group in range(0x0009, 0x0009 + 2 * 20, 2):
        for block in range(0x10, 0x100):
            creator = f"CREATOR {group:04X} {block:02X}".encode()
            parts.append((group << 16 | block, creator))
            parts.append((group << 16 | block << 8 | 0x01, b"XY"))
    parts.sort()
    data = b"".join(imp(tag, value) for tag, value in parts)
    ds = decode_dataset(data, implicit=True, little=True)
    assert len(ds) == len(parts) and len(parts) // 2 > vrlookup.PRIVATE_CACHE_SIZE
    assert len(vrlookup._PRIVATE_CACHE) <= vrlookup.PRIVATE_CACHE_SIZE
    assert ds[0x00091001].vr == "UN" and ds[0x00090010].vr == "LO"


def test_standard_vr_cache_is_bounded_for_tags_the_dictionary_does_not_know() -> None:
    tags = [(0x0F00 + 2 * (i // 4000)) << 16 | (0x1000 + i % 4000) for i in range(20000)]
    data = b"".join(imp(tag, b"") for tag in tags)
    ds = decode_dataset(data, implicit=True, little=True)
    assert len(ds) == len(tags) and ds[tags[-1]].vr == "UN"
    cached = sum(1 for tag in tags if tag in vrlookup._VR_CACHE)
    assert cached <= vrlookup._OTHER_TAGS_CACHED < len(tags)

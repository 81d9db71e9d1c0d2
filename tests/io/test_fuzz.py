"""Mutated real files either read or fail with InvalidDicomError -- never another exception,
never a hang (hypothesis; crashing inputs found on the way are kept as regression tests)."""

from __future__ import annotations

import struct

import corpus
import pytest
from helpers import examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dicomkit
from dicomkit.errors import InvalidDicomError

# every test here runs with the C element scan and with the pure-Python loops
pytestmark = pytest.mark.usefixtures("decoder_path")

SEEDS = [
    "dcm4che/DICOMDIR",
    "dcm4che/Tag-0040-A170-VR-CS.dcm",
    "dcm4che/no_preamble_dicm_in_data",
    "dcm4che/report_dfl",
    "dcmqi/sr-example/seg.dcm",
    "dcmqi/segmentations/24x38x3/image/IMG0001.dcm",
    "pydicom-data/SC_rgb_expb.dcm",
    "pydicom-data/liver_rle.dcm",
    "dcmqi/segmentations/24x38x3/seg/label.seg",
]
_DATA = {rel: (corpus.CORPUS / rel).read_bytes() for rel in SEEDS if (corpus.CORPUS / rel).exists()}
NASTY = [0xFFFFFFFF, 0xFFFFFFF0, 0x7FFFFFFF, 0x80000000, 0, 1, 3, 0xFFFF, 0xFFFE, 0x10000]


def _check(data: bytes) -> None:
    for lenient in (False, True):
        try:
            ds = dicomkit.read(data, lenient=lenient)
        except InvalidDicomError:
            continue
        try:
            # Sequences are parsed on first access: walking may meet a malformed one, which
            # must then be a typed error too, never another exception.
            for el in ds.walk():
                assert el.vr
            ds.copy()
        except InvalidDicomError:
            continue


mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 1 << 20), st.integers(0, 255)),
    st.tuples(st.just("u32"), st.integers(0, 1 << 20), st.sampled_from(NASTY)),
    st.tuples(st.just("u16"), st.integers(0, 1 << 20), st.sampled_from(NASTY)),
    st.tuples(st.just("cut"), st.integers(0, 1 << 20), st.just(0)),
    st.tuples(st.just("del"), st.integers(0, 1 << 20), st.integers(1, 16)),
    st.tuples(st.just("dup"), st.integers(0, 1 << 20), st.integers(1, 64)),
    st.tuples(
        st.just("item"),
        st.integers(0, 1 << 20),
        st.sampled_from([0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD]),
    ),
)


def _mutate(data: bytes, muts: list[tuple[str, int, int]]) -> bytes:
    buf = bytearray(data)
    for kind, pos, arg in muts:
        if not buf:
            break
        pos %= len(buf)
        if kind == "flip":
            buf[pos] ^= arg or 1
        elif kind == "u32":
            buf[pos : pos + 4] = struct.pack("<L", arg & 0xFFFFFFFF)
        elif kind == "u16":
            buf[pos : pos + 2] = struct.pack("<H", arg & 0xFFFF)
        elif kind == "cut":
            del buf[pos:]
        elif kind == "del":
            del buf[pos : pos + arg]
        elif kind == "dup":
            buf[pos:pos] = buf[pos : pos + arg]
        elif kind == "item":
            buf[pos : pos + 4] = struct.pack("<HH", arg >> 16, arg & 0xFFFF)
    return bytes(buf)


@pytest.mark.skipif(not _DATA, reason="corpus missing")
@settings(max_examples=examples(400), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.sampled_from(sorted(_DATA)), muts=st.lists(mutation, min_size=1, max_size=4))
def test_mutated_files(seed: str, muts: list[tuple[str, int, int]]) -> None:
    data = _DATA[seed]
    # bias positions into the first 4 KB, where the header structure is
    muts = [(k, p % min(len(data), 4096) if p & 1 else p, a) for k, p, a in muts]
    _check(_mutate(data, muts))


@settings(max_examples=examples(300), deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes(data: bytes) -> None:
    _check(data)
    _check(b"\x00" * 128 + b"DICM" + data)


# Regression inputs kept from fuzzing (each once crashed or hung an earlier version).
REGRESSIONS = [
    # an item tag where a data element was expected at the top level
    b"\x00" * 128 + b"DICM" + struct.pack("<HHL", 0xFFFE, 0xE000, 0),
    # undefined-length UN whose content is not items
    struct.pack("<HH2sHL", 0x0009, 0x1001, b"UN", 0, 0xFFFFFFFF) + b"\x08\x00\x10\x00ab",
    # explicit VR big endian guess with a zero-length tail
    struct.pack(">HH2sH", 0x0008, 0x0016, b"UI", 0),
    # a sequence delimiter in a defined-length sequence
    struct.pack("<HH2sHL", 0x0040, 0xA730, b"SQ", 0, 8) + struct.pack("<HHL", 0xFFFE, 0xE0DD, 0),
    # implicit VR: a huge length on an element the dictionary calls SQ
    struct.pack("<HHL", 0x0040, 0xA730, 0xFFFFFFF0) + b"\xfe\xff\x00\xe0",
    # encapsulated pixel data whose fragment claims 4 GB
    struct.pack("<HH2sHL", 0x7FE0, 0x0010, b"OB", 0, 0xFFFFFFFF)
    + struct.pack("<HHL", 0xFFFE, 0xE000, 0xFFFFFFF0),
    # meta group followed by nothing
    b"\x00" * 128 + b"DICM" + struct.pack("<HH2sH", 0x0002, 0x0010, b"UI", 4) + b"1.2\x00",
    # deflated syntax with garbage after the meta
    b"\x00" * 128
    + b"DICM"
    + struct.pack("<HH2sH", 0x0002, 0x0010, b"UI", 22)
    + b"1.2.840.10008.1.2.1.99"
    + b"\xff" * 40,
]


@pytest.mark.parametrize("data", REGRESSIONS)
def test_regressions(data: bytes) -> None:
    _check(data)

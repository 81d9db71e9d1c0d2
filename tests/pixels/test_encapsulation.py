"""Encapsulated pixel data (PS3.5 A.4): items, offset tables, frame boundaries."""

from __future__ import annotations

import struct

import pytest

from dicomkit.errors import PixelDataError
from dicomkit.pixels import _encapsulation as enc

ITEM = b"\xfe\xff\x00\xe0"


def item(data: bytes) -> bytes:
    return ITEM + struct.pack("<L", len(data)) + data


JPEG_A = b"\xff\xd8" + b"A" * 10 + b"\xff\xd9"
JPEG_B = b"\xff\xd8" + b"B" * 6 + b"\xff\xd9"
J2K = b"\xff\x4f\xff\x51" + b"C" * 6 + b"\xff\xd9"


def test_encapsulate_with_basic_offset_table_round_trips() -> None:
    frames = [b"abc", b"defghi", b"j"]
    data = enc.encapsulate(frames)
    parsed = enc.parse(data)
    assert parsed.offsets == [0, 12, 26]
    assert [bytes(f) for f in parsed.fragments] == [b"abc\0", b"defghi", b"j\0"]
    assert all(len(f) % 2 == 0 for f in parsed.fragments)
    assert enc.frames(data, 3) == [b"abc\0", b"defghi", b"j\0"]
    assert enc.frame(data, 1, 3) == b"defghi"


def test_frames_split_over_fragments_with_bot() -> None:
    data = enc.encapsulate([JPEG_A, JPEG_B], fragment_size=4)
    assert len(enc.parse(data).fragments) == 4 + 3
    assert enc.frames(data, 2) == [JPEG_A, JPEG_B]
    assert enc.frame(data, 1, 2) == JPEG_B


def test_empty_bot_one_fragment_per_frame() -> None:
    data = enc.encapsulate([b"xy", b"zw"], basic_offset_table=False)
    assert enc.parse(data).offsets == []
    assert enc.frames(data, 2) == [b"xy", b"zw"]
    assert enc.frame(data, 1, 2) == b"zw"


def test_empty_bot_single_frame_joins_all_fragments() -> None:
    data = item(b"") + item(b"ab") + item(b"cd")
    assert enc.frames(data, 1) == [b"abcd"]


@pytest.mark.parametrize("family", ["jpeg", "j2k", ""])
def test_empty_bot_splits_on_start_markers(family: str) -> None:
    first = JPEG_A if family != "j2k" else J2K
    frags = [first[:4], first[4:], JPEG_B[:6], JPEG_B[6:]]
    if family == "j2k":
        frags = [J2K[:4], J2K[4:], J2K[:6], J2K[6:]]
    data = item(b"") + b"".join(item(f) for f in frags)
    out = enc.frames(data, 2, family=family)
    assert out == [frags[0] + frags[1], frags[2] + frags[3]]
    assert enc.frame(data, 1, 2, family=family) == frags[2] + frags[3]


def test_empty_bot_splits_on_end_markers_when_starts_are_ambiguous() -> None:
    frags = [b"\x00\x01" + b"xx", b"yy\xff\xd9", b"zz\xff\xd9\x00"]
    data = item(b"") + b"".join(item(f) for f in frags)
    assert enc.frames(data, 2, family="jpeg") == [frags[0] + frags[1], frags[2]]


def test_unsplittable_fragments_raise() -> None:
    data = item(b"") + item(b"aa") + item(b"bb") + item(b"cc")
    with pytest.raises(PixelDataError, match="frame boundaries"):
        enc.frames(data, 2, family="rle")


def test_extended_offset_table() -> None:
    value, eot, lengths = enc.encapsulate_extended([JPEG_A, b"odd"])
    offsets = enc.decode_offset_table(eot)
    lens = enc.decode_offset_table(lengths)
    assert offsets == [0, 8 + len(JPEG_A)]
    assert lens == [len(JPEG_A), 4]
    assert enc.parse(value).offsets == []
    assert enc.frames(value, 2, eot=offsets, eot_lengths=lens) == [JPEG_A, b"odd\0"]
    assert enc.frame(value, 1, 2, eot=offsets, eot_lengths=lens) == b"odd\0"
    assert enc.frame(value, 0, 2, eot=offsets) == JPEG_A
    assert enc.decode_offset_table([1, 2]) == [1, 2]


def test_trailing_sequence_delimiter_is_tolerated() -> None:
    data = enc.encapsulate([b"ab"]) + b"\xfe\xff\xdd\xe0\0\0\0\0"
    assert enc.frames(data, 1) == [b"ab"]


@pytest.mark.parametrize(
    "bad, message",
    [
        (b"", "no items"),
        (b"\x10\x00\x10\x00\0\0\0\0", "expected an Item tag"),
        (ITEM + struct.pack("<L", 10) + b"abc", "declares 10 bytes"),
        (ITEM + struct.pack("<L", 2) + b"ab", "multiple of 4"),
        (ITEM + b"\xff\xff\xff\xff", "undefined length"),
    ],
)
def test_malformed_items_raise(bad: bytes, message: str) -> None:
    with pytest.raises(PixelDataError, match=message):
        enc.frames(bad, 1)


def test_bad_offset_table_entry_raises() -> None:
    data = item(struct.pack("<2L", 0, 5)) + item(b"ab") + item(b"cd")
    with pytest.raises(PixelDataError, match="does not point"):
        enc.frames(data, 2)


def test_fragment_size_must_be_even() -> None:
    with pytest.raises(ValueError):
        enc.encapsulate([b"abc"], fragment_size=3)


def test_incomplete_offset_table_is_ignored() -> None:
    data = item(struct.pack("<L", 0)) + item(JPEG_A) + item(JPEG_B)
    assert enc.frames(data, 2, family="jpeg") == [JPEG_A, JPEG_B]
    assert enc.frame(data, 1, 2, family="jpeg") == JPEG_B

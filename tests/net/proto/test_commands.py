"""Command set codec (group 0000, implicit VR LE) against hand-made bytes and pydicom."""

from __future__ import annotations

import struct

import pytest

from dicomkit.errors import InvalidDicomError, InvalidValueError
from dicomkit.net.proto import _commands as c


def test_group_length_first_and_tags_sorted() -> None:
    raw = c.encode_command(
        {
            c.MESSAGE_ID: 7,
            c.COMMAND_FIELD: 0x30,
            c.AFFECTED_SOP_CLASS_UID: "1.2.840.10008.1.1",
            c.COMMAND_DATA_SET_TYPE: c.NO_DATA_SET,
        }
    )
    group, elem, length, value = struct.unpack_from("<HHII", raw)
    assert (group, elem, length) == (0, 0, 4)
    assert value == len(raw) - 12
    tags = []
    pos = 12
    while pos < len(raw):
        g, e, n = struct.unpack_from("<HHI", raw, pos)
        tags.append(g << 16 | e)
        pos += 8 + n
    assert tags == sorted(tags)
    assert tags[0] == c.AFFECTED_SOP_CLASS_UID


def test_round_trip_every_vr() -> None:
    elements = {
        c.AFFECTED_SOP_CLASS_UID: "1.2.3",  # odd: NUL padded
        c.COMMAND_FIELD: 0x8001,
        c.MOVE_DESTINATION: "DEST",
        c.STATUS: 0xA700,
        c.OFFENDING_ELEMENT: (0x00100010, 0x00100020),
        c.ERROR_COMMENT: "odd text",
        c.MOVE_ORIGINATOR_AE_TITLE: "ABC",
    }
    raw = c.encode_command(elements)
    assert len(raw) % 2 == 0
    back = c.decode_command(raw)
    assert back.pop(c.COMMAND_GROUP_LENGTH) == len(raw) - 12
    assert back == elements
    assert b"1.2.3\x00" in raw and b"ABC " in raw


def test_none_skipped_and_bytes_passthrough() -> None:
    raw = c.encode_command({c.MESSAGE_ID: 1, c.ERROR_COMMENT: None, 0x00000010: b"ab"})
    back = c.decode_command(raw)
    assert back[0x00000010] == b"ab" and c.ERROR_COMMENT not in back


@pytest.mark.parametrize(
    "elements",
    [
        {0x00100010: "X"},
        {c.MOVE_DESTINATION: "A" * 17},
        {c.MOVE_DESTINATION: "é"},  # an Error Comment is made to fit instead (below)
    ],
)
def test_encode_refuses(elements: dict[int, object]) -> None:
    with pytest.raises(InvalidValueError):
        c.encode_command(elements)


def test_decode_rejects_malformed() -> None:
    good = c.encode_command({c.MESSAGE_ID: 1, c.COMMAND_FIELD: 0x30})
    with pytest.raises(InvalidDicomError):
        c.decode_command(good[:-1])  # truncated value
    with pytest.raises(InvalidDicomError):
        c.decode_command(good[:-7])  # truncated header
    lying = bytearray(good)
    struct.pack_into("<I", lying, 8, 1000)
    with pytest.raises(InvalidDicomError):
        c.decode_command(bytes(lying))  # group length lies
    with pytest.raises(InvalidDicomError):
        c.decode_command(struct.pack("<HHI", 0x0008, 0x0016, 2) + b"12")
    with pytest.raises(InvalidDicomError):
        c.decode_command(struct.pack("<HHI", 0, 0x0110, 3) + b"123")  # US of length 3


def test_missing_group_length_tolerated() -> None:
    raw = c.encode_command({c.MESSAGE_ID: 3})[12:]
    assert c.decode_command(raw) == {c.MESSAGE_ID: 3}


def test_matches_pydicom_implicit_encoding() -> None:
    pydicom = pytest.importorskip("pydicom")
    from pydicom.filebase import DicomBytesIO
    from pydicom.filewriter import write_dataset

    ds = pydicom.Dataset()
    ds.AffectedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ds.CommandField = 1
    ds.MessageID = 5
    ds.Priority = 0
    ds.CommandDataSetType = 1
    ds.AffectedSOPInstanceUID = "1.2.3.4.5"
    ds.MoveOriginatorApplicationEntityTitle = "MOVER"
    ds.MoveOriginatorMessageID = 3
    fp = DicomBytesIO()
    fp.is_little_endian = True
    fp.is_implicit_VR = True
    write_dataset(fp, ds)
    body = fp.getvalue()
    ours = c.encode_command(
        {
            c.AFFECTED_SOP_CLASS_UID: ds.AffectedSOPClassUID,
            c.COMMAND_FIELD: 1,
            c.MESSAGE_ID: 5,
            c.PRIORITY: 0,
            c.COMMAND_DATA_SET_TYPE: 1,
            c.AFFECTED_SOP_INSTANCE_UID: "1.2.3.4.5",
            c.MOVE_ORIGINATOR_AE_TITLE: "MOVER",
            c.MOVE_ORIGINATOR_MESSAGE_ID: 3,
        }
    )
    assert ours[12:] == body


def test_error_comment_fits_lo_and_is_cut_between_words() -> None:
    from dicomkit.net.proto._commands import (
        ERROR_COMMENT,
        decode_command,
        encode_command,
        fit_comment,
    )

    long = "the archive could not open its index database because the disk is full again"
    fitted = fit_comment(long)
    assert len(fitted) <= 64 and fitted.endswith("...")
    assert long.startswith(fitted[:-3]) and long[len(fitted) - 3] == " "  # cut at a space
    assert fit_comment("caf\u00e9\nline\\two") == "caf? line/two"  # ASCII, no controls, no "\\"
    assert fit_comment("x" * 100) == "x" * 61 + "..."
    # the encoder applies it: a sender's long comment never fails the response
    raw = encode_command({0x00000100: 0x8001, 0x00000900: 0xC000, ERROR_COMMENT: long})
    assert decode_command(raw)[ERROR_COMMENT] == fitted

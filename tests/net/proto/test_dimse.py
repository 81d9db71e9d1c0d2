"""Typed DIMSE messages, the PDV assembler and the fragmenter."""

from __future__ import annotations

import dataclasses

import pytest

from dicomkit.errors import InvalidDicomError, RemoteProtocolError
from dicomkit.net.proto import _commands as c
from dicomkit.net.proto import _dimse as d
from dicomkit.net.proto._pdu import PDV, PDataTF, pdata_pdus

EXAMPLES: list[d.DimseMessage] = [
    d.CEchoRequest(message_id=1),
    d.CEchoResponse(message_id_being_responded_to=1, affected_sop_class_uid="1.2.840.10008.1.1"),
    d.CStoreRequest(
        message_id=2,
        affected_sop_class_uid="1.2.840.10008.5.1.4.1.1.2",
        affected_sop_instance_uid="1.2.3",
        priority=d.Priority.HIGH,
        move_originator_aet="MOVER",
        move_originator_message_id=9,
    ),
    d.CStoreResponse(
        message_id_being_responded_to=2,
        status=0xA700,
        error_comment="full",
        affected_sop_class_uid="1.2",
        affected_sop_instance_uid="1.2.3",
    ),
    d.CFindRequest(message_id=3, affected_sop_class_uid="1.2.840.10008.5.1.4.1.2.2.1"),
    d.CFindResponse(message_id_being_responded_to=3, status=0xFF00, has_dataset=True),
    d.CGetRequest(message_id=4, affected_sop_class_uid="1.2.3", priority=d.Priority.LOW),
    d.CGetResponse(
        message_id_being_responded_to=4,
        status=0xFF00,
        remaining=3,
        completed=1,
        failed=0,
        warning=0,
    ),
    d.CMoveRequest(message_id=5, affected_sop_class_uid="1.2.3", move_destination="DEST"),
    d.CMoveResponse(
        message_id_being_responded_to=5,
        status=0xB000,
        completed=2,
        failed=1,
        warning=0,
        remaining=0,
        has_dataset=True,
    ),
    d.CCancelRequest(message_id_being_responded_to=5),
    d.NEventReportRequest(
        message_id=6,
        affected_sop_class_uid="1.2",
        affected_sop_instance_uid="1.2.9",
        event_type_id=1,
        has_dataset=True,
    ),
    d.NEventReportResponse(message_id_being_responded_to=6, event_type_id=1),
    d.NGetRequest(
        message_id=7,
        requested_sop_class_uid="1.2",
        requested_sop_instance_uid="1.3",
        attribute_identifier_list=(0x00100010, 0x00100020),
    ),
    d.NGetResponse(message_id_being_responded_to=7, has_dataset=True, status=0x0001),
    d.NSetRequest(message_id=8, requested_sop_class_uid="1.2", requested_sop_instance_uid="1.3"),
    d.NSetResponse(message_id_being_responded_to=8, status=0x0106, offending_element=(0x00100010,)),
    d.NActionRequest(
        message_id=9,
        requested_sop_class_uid="1.2",
        requested_sop_instance_uid="1.3",
        action_type_id=1,
        has_dataset=True,
    ),
    d.NActionResponse(message_id_being_responded_to=9, action_type_id=1),
    d.NCreateRequest(message_id=10, affected_sop_class_uid="1.2", has_dataset=True),
    d.NCreateResponse(message_id_being_responded_to=10, affected_sop_instance_uid="1.2.3.4"),
    d.NDeleteRequest(
        message_id=11, requested_sop_class_uid="1.2", requested_sop_instance_uid="1.3"
    ),
    d.NDeleteResponse(message_id_being_responded_to=11, status=0x0112, error_id=3),
]


@pytest.mark.parametrize("msg", EXAMPLES, ids=lambda m: type(m).__name__)
def test_round_trip(msg: d.DimseMessage) -> None:
    raw = d.encode_message(msg)
    back = d.decode_message(raw)
    assert back == msg
    assert type(back) is type(msg)
    elements = c.decode_command(raw)
    assert elements[c.COMMAND_FIELD] == msg.COMMAND_FIELD
    assert elements[c.COMMAND_DATA_SET_TYPE] == (0 if msg.has_dataset else 0x0101)


def test_every_command_field_has_a_class() -> None:
    assert set(d.MESSAGE_TYPES) == {int(cf) for cf in d.CommandField}
    assert {type(m) for m in EXAMPLES} == set(d.MESSAGE_TYPES.values())
    assert d.RESPONSE_FOR[d.NActionRequest] is d.NActionResponse
    assert d.CCancelRequest not in d.RESPONSE_FOR


def test_frozen_and_replace() -> None:
    msg = d.CEchoRequest(message_id=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        msg.message_id = 2  # type: ignore[misc]
    assert msg.replace(message_id=2).message_id == 2
    assert msg.is_request and not d.CEchoResponse(message_id_being_responded_to=1).is_request
    rsp = d.CFindResponse(message_id_being_responded_to=1, status=0xFF01)
    assert rsp.is_pending and rsp.category.value == "pending"


def test_unknown_elements_kept_in_extra() -> None:
    elements = d.message_elements(d.CEchoRequest(message_id=1))
    elements[0x00000010] = b"RECOGNIZED"  # a retired command element
    msg = d.message_from_elements(elements)
    assert msg.extra == {0x00000010: b"RECOGNIZED"}
    assert c.decode_command(d.encode_message(msg))[0x00000010] == b"RECOGNIZED"


def test_decode_errors() -> None:
    with pytest.raises(InvalidDicomError, match="command field"):
        d.decode_message(c.encode_command({c.COMMAND_FIELD: 0x1234}))
    with pytest.raises(InvalidDicomError, match="missing required"):
        d.decode_message(c.encode_command({c.COMMAND_FIELD: 0x0001, c.MESSAGE_ID: 1}))


def test_pynetdicom_decodes_our_commands() -> None:
    pytest.importorskip("pynetdicom")
    from pydicom.filebase import DicomBytesIO
    from pydicom.filereader import read_dataset

    msg = EXAMPLES[2]
    raw = d.encode_message(msg)
    ds = read_dataset(DicomBytesIO(raw), is_implicit_VR=True, is_little_endian=True)
    assert ds.CommandField == 1 and ds.MessageID == 2 and ds.Priority == 1
    assert ds.AffectedSOPInstanceUID == "1.2.3"
    assert ds.MoveOriginatorApplicationEntityTitle == "MOVER"
    assert ds.CommandGroupLength == len(raw) - 12


def fragment(context_id: int, command: bytes, data: bytes | None, max_pdu: int) -> list[PDV]:
    """The PDVs a sender makes of a message, by the package's one fragmenter."""
    raws = pdata_pdus(context_id, command, is_command=True, max_pdu_length=max_pdu)
    if data is not None:
        raws += pdata_pdus(context_id, data, is_command=False, max_pdu_length=max_pdu)
    return [pdv for raw in raws for pdv in PDataTF.decode(memoryview(raw)[6:]).pdvs]


def feed_all(asm: d.DimseAssembler, frags: list[PDV]) -> list[d.AssemblerEvent]:
    out: list[d.AssemblerEvent] = []
    for f in frags:
        out += asm.feed(f.context_id, f.is_command, f.is_last, f.data)
    return out


@pytest.mark.parametrize("max_pdu", [0, 7, 16, 100, 16384])
@pytest.mark.parametrize("size", [0, 1, 9, 10, 11, 1000, 70000])
def test_fragment_then_assemble(max_pdu: int, size: int) -> None:
    msg = EXAMPLES[2]
    data = bytes(range(256)) * (size // 256 + 1)
    data = data[:size]
    frags = fragment(3, d.encode_message(msg), data, max_pdu)
    if max_pdu:
        assert all(len(f.data) <= max_pdu - 6 for f in frags)
    assert [f.is_last for f in frags if f.is_command].count(True) == 1
    assert [f.is_last for f in frags if not f.is_command][-1] is True
    assert sum(f.is_last for f in frags if not f.is_command) == 1
    events = feed_all(d.DimseAssembler(), frags)
    assert events == [d.MessageReceived(3, msg, data)]


def test_no_dataset_fragment() -> None:
    frags = fragment(1, d.encode_message(EXAMPLES[0]), None, 16384)
    assert len(frags) == 1 and frags[0].is_command and frags[0].is_last
    assert feed_all(d.DimseAssembler(), frags) == [d.MessageReceived(1, EXAMPLES[0])]


def test_streaming_mode() -> None:
    msg = EXAMPLES[2]
    asm = d.DimseAssembler(stream=lambda ctx, m: isinstance(m, d.CStoreRequest))
    frags = fragment(5, d.encode_message(msg), b"z" * 25, 16)
    events = feed_all(asm, frags)
    assert events[0] == d.MessageReceived(5, msg, None)
    pieces = events[1:]
    assert all(isinstance(e, d.DatasetFragment) for e in pieces)
    assert b"".join(e.data for e in pieces) == b"z" * 25  # type: ignore[union-attr]
    assert [e.last for e in pieces] == [False, False, True]  # type: ignore[union-attr]
    assert asm.idle
    # a non-streamed message after it is buffered again
    frags = fragment(5, d.encode_message(EXAMPLES[5]), b"q" * 3, 16)
    assert feed_all(asm, frags) == [d.MessageReceived(5, EXAMPLES[5], b"qqq")]


def test_assembler_protocol_errors() -> None:
    cmd = d.encode_message(EXAMPLES[2])
    asm = d.DimseAssembler()
    with pytest.raises(RemoteProtocolError):
        asm.feed(1, False, True, b"data before command")
    asm = d.DimseAssembler()
    asm.feed(1, True, True, cmd)
    with pytest.raises(RemoteProtocolError):
        asm.feed(3, False, True, b"wrong context")
    asm = d.DimseAssembler()
    asm.feed(1, True, True, cmd)
    with pytest.raises(RemoteProtocolError):
        asm.feed(1, True, True, cmd)  # command while data set expected
    asm = d.DimseAssembler()
    asm.feed(1, True, False, cmd[:10])
    with pytest.raises(RemoteProtocolError):
        asm.feed(3, True, True, cmd[10:])
    with pytest.raises(RemoteProtocolError, match="malformed"):
        d.DimseAssembler().feed(1, True, True, b"\x00\x00\x00\x00\x04\x00")
    asm = d.DimseAssembler(max_buffered=10)
    asm.feed(1, True, True, cmd)
    with pytest.raises(RemoteProtocolError, match="limit"):
        asm.feed(1, False, False, b"x" * 11)


def test_command_size_limit_counts_bytes_not_fragments() -> None:
    asm = d.DimseAssembler()
    asm.feed(1, True, False, b"\x00" * (d.MAX_COMMAND_SIZE - 10))
    with pytest.raises(RemoteProtocolError, match="command set larger"):
        asm.feed(1, True, False, b"\x00" * 11)

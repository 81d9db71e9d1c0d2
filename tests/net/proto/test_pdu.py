"""PDU and item codec (PS3.8 9.3, PS3.7 D.3.3): known vectors, round trips, malformed input."""

from __future__ import annotations

import struct

import pytest
from helpers import examples
from hypothesis import given, settings
from hypothesis import strategies as st

from dicomkit.errors import RemoteProtocolError
from dicomkit.net.proto import _items as it
from dicomkit.net.proto import _pdu as p
from dicomkit.net.proto._items import PDUDecodeError

from .strategies import pdus, user_sub_items

# -- byte-exact vectors built by hand from the field layouts of PS3.8 9.3 ---------------------

APP = b"\x10\x00\x00\x15" + b"1.2.840.10008.3.1.1.1"
ABSTRACT = b"\x30\x00\x00\x11" + b"1.2.840.10008.1.1"
TRANSFER = b"\x40\x00\x00\x11" + b"1.2.840.10008.1.2"
PC_RQ = b"\x20\x00\x00\x2e" + b"\x01\x00\x00\x00" + ABSTRACT + TRANSFER
MAXLEN = b"\x51\x00\x00\x04" + b"\x00\x00\x40\x00"
USER = b"\x50\x00\x00\x08" + MAXLEN
FIXED = b"\x00\x01\x00\x00" + b"ANY-SCP         " + b"ECHOSCU         " + bytes(32)
RQ_BODY = FIXED + APP + PC_RQ + USER
RQ_BYTES = b"\x01\x00" + struct.pack(">I", len(RQ_BODY)) + RQ_BODY

RQ = p.AAssociateRQ(
    "ANY-SCP",
    "ECHOSCU",
    (it.PresentationContextRQItem(1, "1.2.840.10008.1.1", ("1.2.840.10008.1.2",)),),
    it.UserInformationItem((it.MaximumLengthItem(16384),)),
)


def test_associate_rq_vector() -> None:
    assert len(RQ_BODY) == 0x9B
    assert RQ.encode() == RQ_BYTES
    assert p.decode_pdu(RQ_BYTES) == RQ


def test_associate_ac_vector() -> None:
    pc = b"\x21\x00\x00\x19" + b"\x01\x00\x00\x00" + TRANSFER
    body = FIXED + APP + pc + USER
    raw = b"\x02\x00" + struct.pack(">I", len(body)) + body
    ac = p.AAssociateAC(
        "ANY-SCP",
        "ECHOSCU",
        (it.PresentationContextACItem(1, 0, "1.2.840.10008.1.2"),),
        it.UserInformationItem((it.MaximumLengthItem(16384),)),
    )
    assert ac.encode() == raw
    assert p.decode_pdu(raw) == ac


@pytest.mark.parametrize(
    ("pdu", "raw"),
    [
        (p.AAssociateRJ(1, 1, 7), b"\x03\x00\x00\x00\x00\x04\x00\x01\x01\x07"),
        (p.AAssociateRJ(2, 3, 2), b"\x03\x00\x00\x00\x00\x04\x00\x02\x03\x02"),
        (p.AReleaseRQ(), b"\x05\x00\x00\x00\x00\x04\x00\x00\x00\x00"),
        (p.AReleaseRP(), b"\x06\x00\x00\x00\x00\x04\x00\x00\x00\x00"),
        (p.AAbort(0, 0), b"\x07\x00\x00\x00\x00\x04\x00\x00\x00\x00"),
        (p.AAbort(2, 6), b"\x07\x00\x00\x00\x00\x04\x00\x00\x02\x06"),
        (
            p.PDataTF((p.PDV(3, True, True, b"\x01\x02"), p.PDV(5, False, False, b""))),
            b"\x04\x00\x00\x00\x00\x0e\x00\x00\x00\x04\x03\x03\x01\x02\x00\x00\x00\x02\x05\x00",
        ),
    ],
)
def test_fixed_vectors(pdu: p.PDU, raw: bytes) -> None:
    assert pdu.encode() == raw
    assert p.decode_pdu(raw) == pdu


@pytest.mark.parametrize(
    ("item", "raw"),
    [
        (it.ImplementationClassUIDItem("1.2.3"), b"\x52\x00\x00\x05" + b"1.2.3"),
        (it.ImplementationVersionNameItem("DK_1"), b"\x55\x00\x00\x04DK_1"),
        (it.AsyncOperationsWindowItem(5, 0), b"\x53\x00\x00\x04\x00\x05\x00\x00"),
        (it.RoleSelectionItem("1.2", False, True), b"\x54\x00\x00\x07\x00\x031.2\x00\x01"),
        (
            it.SOPClassExtendedNegotiationItem("1.2", b"\x01\x00\x01"),
            b"\x56\x00\x00\x08\x00\x031.2\x01\x00\x01",
        ),
        (
            it.SOPClassCommonExtendedNegotiationItem("1.2", "1.3", ("1.4", "1.55")),
            b"\x57\x00\x00\x17"
            + b"\x00\x031.2"
            + b"\x00\x031.3"
            + b"\x00\x0b"
            + b"\x00\x031.4"
            + b"\x00\x041.55",
        ),
        (
            it.UserIdentityRQItem(2, b"bob", b"pw", True),
            b"\x58\x00\x00\x0b\x02\x01\x00\x03bob\x00\x02pw",
        ),
        (it.UserIdentityRQItem(1, b"al"), b"\x58\x00\x00\x08\x01\x00\x00\x02al\x00\x00"),
        (it.UserIdentityACItem(b"ok"), b"\x59\x00\x00\x04\x00\x02ok"),
        (it.UnknownItem(0x60, b"\xaa"), b"\x60\x00\x00\x01\xaa"),
    ],
)
def test_user_sub_item_vectors(item: it.UserSubItem, raw: bytes) -> None:
    assert item.encode() == raw
    assert it.decode_user_sub_items(memoryview(raw)) == (item,)


def test_user_information_accessors() -> None:
    ui = it.UserInformationItem(
        (
            it.MaximumLengthItem(0),
            it.ImplementationClassUIDItem("1.2"),
            it.ImplementationVersionNameItem("X"),
            it.AsyncOperationsWindowItem(2, 3),
            it.RoleSelectionItem("1.3", True, True),
            it.SOPClassExtendedNegotiationItem("1.4", b"\x01"),
            it.SOPClassCommonExtendedNegotiationItem("1.5", "1.6"),
            it.UserIdentityRQItem(5, b"jwt"),
            it.UserIdentityACItem(b"r"),
            it.UnknownItem(0x77, b"z"),
        )
    )
    assert ui.max_length == 0
    assert ui.implementation_class_uid == "1.2"
    assert ui.implementation_version_name == "X"
    assert ui.async_window == it.AsyncOperationsWindowItem(2, 3)
    assert ui.role_selections[0].sop_class_uid == "1.3"
    assert ui.extended_negotiations[0].application_info == b"\x01"
    assert ui.common_extended_negotiations[0].service_class_uid == "1.6"
    assert ui.user_identity is not None and ui.user_identity.identity_type == 5
    assert ui.user_identity_response == it.UserIdentityACItem(b"r")
    assert it.UserInformationItem().max_length is None


def test_uid_padding_stripped() -> None:
    raw = b"\x52\x00\x00\x06" + b"1.2.3\x00"
    assert it.decode_user_sub_items(memoryview(raw)) == (it.ImplementationClassUIDItem("1.2.3"),)


def test_rejected_ac_context_without_transfer_syntax() -> None:
    value = memoryview(b"\x03\x00\x03\x00")
    assert it.PresentationContextACItem.decode(value) == it.PresentationContextACItem(3, 3, "")


# -- round trips -------------------------------------------------------------------------------


@settings(max_examples=examples(150), deadline=None)
@given(pdus)
def test_pdu_round_trip(pdu: p.PDU) -> None:
    raw = pdu.encode()
    assert p.decode_pdu(raw) == pdu
    assert p.decode_pdu(raw).encode() == raw


@settings(max_examples=examples(100), deadline=None)
@given(st.lists(user_sub_items, max_size=6))
def test_user_sub_items_round_trip(subs: list[it.UserSubItem]) -> None:
    raw = b"".join(s.encode() for s in subs)
    assert it.decode_user_sub_items(memoryview(raw)) == tuple(subs)


@settings(max_examples=examples(100), deadline=None)
@given(pdus, st.data())
def test_reader_any_split(pdu: p.PDU, data: st.DataObject) -> None:
    raw = pdu.encode() * 2
    cuts = sorted(data.draw(st.lists(st.integers(0, len(raw)), max_size=6)))
    reader = p.PDUReader()
    got = []
    prev = 0
    for cut in [*cuts, len(raw)]:
        reader.feed(raw[prev:cut])
        prev = cut
        while (one := reader.next_pdu()) is not None:
            got.append(one)
    assert got == [pdu, pdu]
    assert reader.buffered == 0


# -- malformed input ---------------------------------------------------------------------------


def _err(raw: bytes) -> PDUDecodeError:
    with pytest.raises(PDUDecodeError) as info:
        p.decode_pdu(raw)
    assert isinstance(info.value, RemoteProtocolError)
    return info.value


@pytest.mark.parametrize("pdu_type", [0x00, 0x08, 0x09, 0x10, 0x7F, 0xFF])
def test_unknown_pdu_type(pdu_type: int) -> None:
    e = _err(bytes((pdu_type, 0, 0, 0, 0, 4, 0, 0, 0, 0)))
    assert e.abort_reason == it.ABORT_UNRECOGNIZED_PDU
    reader = p.PDUReader()
    reader.feed(bytes((pdu_type, 0, 0, 0, 0, 4)))
    with pytest.raises(PDUDecodeError):
        reader.next_pdu()


def test_pdu_length_lies() -> None:
    assert "declared length" in str(_err(RQ_BYTES[:-1]))  # shorter than declared
    assert "declared length" in str(_err(RQ_BYTES + b"\x00"))
    _err(b"\x05\x00\x00\x00\x00\x05\x00\x00\x00\x00\x00")  # release RQ must be 4 bytes
    _err(b"\x07\x00\x00\x00\x00\x03\x00\x00\x00")
    _err(b"\x04\x00\x00\x00\x00\x00")  # P-DATA-TF without a PDV
    _err(b"\x01\x00")  # truncated header


def test_item_length_past_container() -> None:
    # the presentation context item claims 0x40 bytes but only 0x2e are there
    bad = RQ_BODY.replace(b"\x20\x00\x00\x2e", b"\x20\x00\x00\x40")
    e = _err(b"\x01\x00" + struct.pack(">I", len(bad)) + bad)
    assert "runs past" in str(e)
    assert e.offset == 6 + 68 + len(APP)
    assert "A-ASSOCIATE-RQ" in str(e)


def test_sub_item_length_past_item() -> None:
    bad_pc = (
        b"\x20\x00\x00\x2e" + b"\x01\x00\x00\x00" + b"\x30\x00\x00\x30" + ABSTRACT[4:] + TRANSFER
    )
    body = FIXED + APP + bad_pc + USER
    e = _err(b"\x01\x00" + struct.pack(">I", len(body)) + body)
    assert "Presentation Context" in str(e)


def test_truncated_item_header() -> None:
    body = FIXED + APP + PC_RQ + USER + b"\x50\x00"
    e = _err(b"\x01\x00" + struct.pack(">I", len(body)) + body)
    assert "truncated item header" in str(e)


@pytest.mark.parametrize(
    "raw",
    [
        b"\x51\x00\x00\x03\x00\x00\x40",  # maximum length must be 4 bytes
        b"\x53\x00\x00\x02\x00\x01",  # async window must be 4 bytes
        b"\x54\x00\x00\x05\x00\x031.2",  # role selection without the role bytes
        b"\x54\x00\x00\x07\x00\x091.2\x00\x01",  # UID length past the item
        b"\x54\x00\x00\x07\x00\x031.2\x02\x01",  # role value 2
        b"\x56\x00\x00\x01\x00",  # truncated UID length
        b"\x57\x00\x00\x05\x00\x031.2",  # missing service class
        b"\x58\x00\x00\x04\x01\x00\x00\x05",  # primary field past the item
        b"\x58\x00\x00\x01\x01",
        b"\x59\x00\x00\x03\x00\x02o",
        b"\x52\x00\x00\x04\xff\xfe12",  # UID not ASCII
    ],
)
def test_malformed_user_sub_items(raw: bytes) -> None:
    with pytest.raises(PDUDecodeError):
        it.decode_user_sub_items(memoryview(raw))


def test_pdv_length_lies() -> None:
    _err(b"\x04\x00\x00\x00\x00\x08\x00\x00\x00\x09\x01\x03\x00\x00")  # PDV past the PDU
    _err(b"\x04\x00\x00\x00\x00\x06\x00\x00\x00\x01\x01\x03")  # PDV length < 2
    _err(b"\x04\x00\x00\x00\x00\x05\x00\x00\x00\x01\x01")  # truncated PDV header
    e = _err(b"\x04\x00\x00\x00\x00\x06\x00\x00\x00\x02\x01\x07")  # reserved MCH bits
    assert "message control header" in str(e)


def test_associate_rq_structure_errors() -> None:
    def rq(body: bytes) -> bytes:
        return b"\x01\x00" + struct.pack(">I", len(body)) + body

    _err(rq(FIXED[:60]))  # shorter than the fixed part
    _err(rq(FIXED + PC_RQ + USER))  # no application context
    _err(rq(FIXED + APP + USER))  # no presentation context
    _err(rq(FIXED + APP + APP + PC_RQ + USER))  # two application contexts
    _err(rq(FIXED + APP + PC_RQ + USER + USER))  # two user information items
    _err(rq(FIXED + APP + PC_RQ + b"\x99\x00\x00\x00" + USER))  # unknown item
    pc_no_ts = b"\x20\x00\x00\x19" + b"\x01\x00\x00\x00" + ABSTRACT
    _err(rq(FIXED + APP + pc_no_ts + USER))
    pc_no_as = b"\x20\x00\x00\x19" + b"\x01\x00\x00\x00" + TRANSFER
    _err(rq(FIXED + APP + pc_no_as + USER))


def test_rj_and_abort_values_checked() -> None:
    _err(b"\x03\x00\x00\x00\x00\x04\x00\x03\x01\x01")  # result 3
    _err(b"\x03\x00\x00\x00\x00\x04\x00\x01\x04\x01")  # source 4
    _err(b"\x07\x00\x00\x00\x00\x04\x00\x00\x05\x00")  # abort source 5


# -- the reader's limits -----------------------------------------------------------------------


def test_reader_rejects_huge_associate_without_buffering() -> None:
    reader = p.PDUReader()
    reader.feed(b"\x01\x00\xff\xff\xff\xff")  # a 4 GB A-ASSOCIATE-RQ
    with pytest.raises(PDUDecodeError) as info:
        reader.next_pdu()
    assert "exceeds" in str(info.value) and "A-ASSOCIATE-RQ" in str(info.value)
    assert reader.buffered == 6


def test_reader_associate_cap_and_pdu_cap() -> None:
    reader = p.PDUReader(max_pdu_size=1000, max_associate_size=100)
    reader.feed(b"\x02\x00\x00\x00\x00\x65")  # 101 > 100
    with pytest.raises(PDUDecodeError):
        reader.next_pdu()
    reader = p.PDUReader(max_pdu_size=1000, max_associate_size=100)
    reader.feed(b"\x04\x00\x00\x00\x03\xe9")  # 1001 > 1000
    with pytest.raises(PDUDecodeError):
        reader.next_pdu()
    reader = p.PDUReader(max_pdu_size=1000, max_associate_size=100)
    raw = p.PDataTF((p.PDV(1, False, True, bytes(994)),)).encode()
    reader.feed(raw)
    assert isinstance(reader.next_pdu(), p.PDataTF)


def test_reader_pdv_is_zero_copy_view() -> None:
    raw = p.PDataTF((p.PDV(1, False, True, b"payload"),)).encode()
    reader = p.PDUReader()
    chunk = raw + raw[:3]
    reader.feed(chunk)
    pdu = reader.next_pdu()
    assert isinstance(pdu, p.PDataTF)
    data = pdu.pdvs[0].data
    assert isinstance(data, memoryview) and data.obj is chunk
    assert bytes(data) == b"payload"
    assert reader.next_pdu() is None and reader.buffered == 3


def test_reader_copies_bytearray() -> None:
    buf = bytearray(p.AReleaseRQ().encode())
    reader = p.PDUReader()
    reader.feed(buf)
    buf[0] = 0x09
    assert reader.next_pdu() == p.AReleaseRQ()


# -- fragmentation -----------------------------------------------------------------------------


@settings(max_examples=examples(100), deadline=None)
@given(st.binary(max_size=5000), st.integers(7, 600), st.booleans(), st.booleans())
def test_pdata_pdus_split(payload: bytes, max_len: int, is_command: bool, last: bool) -> None:
    raws = list(p.pdata_pdus(7, payload, is_command=is_command, last=last, max_pdu_length=max_len))
    got = b""
    for n, raw in enumerate(raws):
        assert len(raw) - 6 <= max_len
        pdu = p.decode_pdu(raw)
        assert isinstance(pdu, p.PDataTF) and len(pdu.pdvs) == 1
        pdv = pdu.pdvs[0]
        assert pdv.context_id == 7 and pdv.is_command == is_command
        assert pdv.is_last == (last and n == len(raws) - 1)
        got += bytes(pdv.data)
    assert got == payload
    assert len(raws) == max(1, -(-len(payload) // (max_len - 6)))


def test_pdata_pdus_unlimited_and_memoryview() -> None:
    payload = memoryview(bytes(range(256)) * 100)
    (raw,) = p.pdata_pdus(1, payload, is_command=False, max_pdu_length=0)
    assert raw[12:] == payload
    with pytest.raises(ValueError):
        list(p.pdata_pdus(1, b"x", is_command=False, max_pdu_length=6))


def test_ae_title_too_long() -> None:
    with pytest.raises(ValueError):
        p.AAssociateRQ("X" * 17, "Y", RQ.presentation_contexts).encode()


@given(
    size=st.integers(0, 5000),
    max_pdu=st.sampled_from([0, 7, 100, 1000, 4096]),
    is_command=st.booleans(),
    last=st.booleans(),
)
@settings(max_examples=examples(60))
def test_pdata_vectors_are_pdata_pdus_without_the_copy(
    size: int, max_pdu: int, is_command: bool, last: bool
) -> None:
    payload = bytes(i % 251 for i in range(size))
    kw = {"is_command": is_command, "last": last, "max_pdu_length": max_pdu}
    vectors = p.pdata_vectors(3, bytearray(payload), **kw)  # type: ignore[arg-type]
    pdus = p.pdata_pdus(3, payload, **kw)  # type: ignore[arg-type]
    assert len(vectors) == 2 * len(pdus)
    assert [bytes(vectors[i]) + bytes(vectors[i + 1]) for i in range(0, len(vectors), 2)] == pdus
    assert all(isinstance(v, memoryview) for v in vectors[1::2])  # views, not copies
    decoded = [p.decode_pdu(pdu) for pdu in pdus]
    assert b"".join(bytes(d.pdvs[0].data) for d in decoded) == payload  # type: ignore[union-attr]

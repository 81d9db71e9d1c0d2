"""StorageSCP checks the leading elements of each streamed data set (PS3.4 B.2.3): garbage is
answered C000, a SOP Class UID other than the command's A900, a SOP Instance UID other than
the command's C000; nothing is stored for them, and the association goes on."""

from __future__ import annotations

import asyncio
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dicomkit.core._dataset import Dataset
from dicomkit.core._element import DataElement
from dicomkit.io._encoder import encode_dataset
from dicomkit.io._headcheck import HEAD_CHECK_BYTES, HeadCheck
from dicomkit.net import AE
from dicomkit.net._memory import memory_pair
from dicomkit.net.proto import _dimse as dimse
from dicomkit.services._storage import StorageSCP

IMPLICIT, EXPLICIT = "1.2.840.10008.1.2", "1.2.840.10008.1.2.1"
DEFLATED, BIG = "1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.2"
JPEG_BASELINE = "1.2.840.10008.1.2.4.50"
SC = "1.2.840.10008.5.1.4.1.1.7"
CT = "1.2.840.10008.5.1.4.1.1.2"
SYNTAXES = [EXPLICIT, IMPLICIT, DEFLATED, BIG, JPEG_BASELINE]
GARBAGE = bytes(range(7, 47))  # 40 bytes, not a data set in any syntax


def dataset(
    sop_class: str = SC, instance: str = "1.2.3.4", *, language: bool = False, pixels: int = 16
) -> Dataset:
    ds = Dataset()
    ds.add(DataElement(0x00080005, "CS", "ISO_IR 100"))
    if language:  # a sequence before (0008,0016)
        item = Dataset()
        item.add(DataElement(0x00080100, "SH", "eng"))
        ds.add(DataElement(0x00080006, "SQ", [item]))
    ds.add(DataElement(0x00080016, "UI", sop_class))
    ds.add(DataElement(0x00080018, "UI", instance))
    ds.add(DataElement(0x00100010, "PN", "DOE^JANE"))
    ds.add(DataElement(0x7FE00010, "OB", bytes(pixels)))
    return ds


def encode(ds: Dataset, ts: str = EXPLICIT) -> bytes:
    if ts == IMPLICIT:
        return encode_dataset(ds, implicit=True, little=True)
    if ts == BIG:
        return encode_dataset(ds, implicit=False, little=False)
    raw = encode_dataset(ds, implicit=False, little=True)
    if ts == DEFLATED:
        comp = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        raw = comp.compress(raw) + comp.flush()
        return raw + b"\0" * (len(raw) % 2)
    return raw


def encapsulated(instance: str) -> bytes:
    """Explicit VR LE with a Language Code Sequence of undefined length before (0008,0016)
    and encapsulated pixel data (basic offset table + one fragment)."""

    def el(tag: int, vr: bytes, value: bytes) -> bytes:
        return struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, vr, len(value)) + value

    item = el(0x00080100, b"SH", b"eng ")
    seq = (
        struct.pack("<HH2sHI", 8, 6, b"SQ", 0, 0xFFFFFFFF)
        + struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF)
        + item
        + struct.pack("<HHI", 0xFFFE, 0xE00D, 0)
        + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
    )
    uid = instance.encode() + b"\0" * (len(instance) % 2)
    pixels = (
        struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OB", 0, 0xFFFFFFFF)
        + struct.pack("<HHI", 0xFFFE, 0xE000, 0)
        + struct.pack("<HHI", 0xFFFE, 0xE000, 6)
        + b"\xff\xd8\x00\x00\xff\xd9"
        + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
    )
    return (
        el(0x00080005, b"CS", b"ISO_IR 100")
        + seq
        + el(0x00080016, b"UI", SC.encode() + b"\0")
        + el(0x00080018, b"UI", uid)
        + pixels
    )


async def exchange(folder: Path, sends: list[tuple[str, str, str, Any]]) -> list[Any]:
    """C-STORE each (transfer syntax, SOP class, SOP instance, data) on one association."""
    client, server = memory_pair()
    scp = AE(
        "STORESCP",
        handlers={dimse.CStoreRequest: StorageSCP(folder, fsync=False)},
        supported={SC: SYNTAXES, CT: SYNTAXES},
    )
    await scp.serve_transport(server)
    contexts = [(SC, [ts]) for ts in SYNTAXES]
    out = []
    async with AE("SCU").associate("", 0, transport=client, contexts=contexts) as assoc:
        for ts, sop_class, instance, data in sends:
            ctx = assoc.negotiated.find(SC, ts)
            assert ctx is not None
            rsp = await assoc.request(
                dimse.CStoreRequest(
                    affected_sop_class_uid=sop_class, affected_sop_instance_uid=instance
                ),
                data,
                context=ctx,
            )
            out.append(rsp.message)
    return out


def stored(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


@pytest.mark.parametrize("ts", SYNTAXES[:4])
def test_garbage_mismatches_and_valid_on_one_association(tmp_path: Path, ts: str) -> None:
    sends = [
        (ts, SC, "1.2.3.1", GARBAGE),
        (ts, SC, "1.2.3.2", encode(dataset(CT, "1.2.3.2"), ts)),  # the data set says CT
        (ts, SC, "1.2.3.3", encode(dataset(SC, "1.2.3.99"), ts)),  # another instance
        (ts, SC, "1.2.3.4", encode(dataset(SC, "1.2.3.4"), ts)),  # fine
    ]
    garbage, cls, inst, ok = asyncio.run(exchange(tmp_path, sends))
    assert 0xC000 <= garbage.status <= 0xCFFF and "cannot understand" in garbage.error_comment
    assert cls.status == 0xA900 and CT in cls.error_comment
    assert 0xC000 <= inst.status <= 0xCFFF and "1.2.3.99" in inst.error_comment
    assert "1.2.3.3" in inst.error_comment  # both UIDs, when they fit in 64 characters
    assert ok.status == 0
    assert stored(tmp_path) == ["1.2.3.4.dcm"]  # no temporary files either


def test_long_uids_still_name_the_data_sets(tmp_path: Path) -> None:
    mine, theirs = "1.2.826.0.1.3680043.10.1393." + "7" * 30, "1.2.826.0.1.3680043.10.1393.1"
    [rsp] = asyncio.run(exchange(tmp_path, [(EXPLICIT, SC, mine, encode(dataset(SC, theirs)))]))
    assert 0xC000 <= rsp.status <= 0xCFFF and theirs in rsp.error_comment
    assert stored(tmp_path) == []


def test_truncated_and_empty_data_sets_are_refused(tmp_path: Path) -> None:
    whole = encode(dataset(SC, "1.2.3.5"))
    sends = [
        (EXPLICIT, SC, "1.2.3.5", whole[:-5]),
        (EXPLICIT, SC, "1.2.3.6", b""),
        (DEFLATED, SC, "1.2.3.7", GARBAGE),
    ]
    rsps = asyncio.run(exchange(tmp_path, sends))
    assert [r.status for r in rsps] == [0xC000] * 3, [r.error_comment for r in rsps]
    assert stored(tmp_path) == []


def test_encapsulated_pixel_data_and_sequences_pass(tmp_path: Path) -> None:
    sends = [
        (JPEG_BASELINE, SC, "1.2.3.8", encapsulated("1.2.3.8")),
        (JPEG_BASELINE, SC, "1.2.3.9", encapsulated("1.2.3.10")),
        (IMPLICIT, SC, "1.2.3.11", encode(dataset(SC, "1.2.3.11", language=True), IMPLICIT)),
    ]
    ok, bad, ok2 = asyncio.run(exchange(tmp_path, sends))
    assert (ok.status, ok2.status) == (0, 0)
    assert 0xC000 <= bad.status <= 0xCFFF
    assert stored(tmp_path) == ["1.2.3.11.dcm", "1.2.3.8.dcm"]


def chunks(head: bytes, total: int, step: int = 256 * 1024) -> Iterator[bytes]:
    yield head
    while total > 0:
        yield bytes(min(step, total))
        total -= step


@pytest.mark.parametrize(
    ("instance", "sop_class", "status"),
    [("1.2.3.20", SC, 0), ("1.2.3.99", SC, 0xC000), ("1.2.3.20", CT, 0xA900)],
)
def test_large_streamed_instance_is_judged_from_its_head(
    tmp_path: Path, instance: str, sop_class: str, status: int
) -> None:
    """4 MiB streamed: the verdict comes from the first bytes, the temporary file goes."""
    size = 4 << 20
    ds = dataset(sop_class, instance, pixels=0)
    head = encode(ds)[:-4] + struct.pack("<I", size)  # the OB length, then the value
    [rsp] = asyncio.run(exchange(tmp_path, [(EXPLICIT, SC, "1.2.3.20", chunks(head, size))]))
    assert rsp.status == status
    assert stored(tmp_path) == (["1.2.3.20.dcm"] if status == 0 else [])
    if status == 0:
        assert (tmp_path / "1.2.3.20.dcm").stat().st_size > size


# -- HeadCheck on its own -----------------------------------------------------------------------


def verdict(
    data: bytes, ts: str = EXPLICIT, step: int = 0, instance: str = "1.2.3.4"
) -> tuple[int, str] | None:
    check = HeadCheck(ts, SC, instance)
    for i in range(0, len(data), step or len(data) or 1):
        check.feed(data[i : i + (step or len(data))])
    return check.finish()


@pytest.mark.parametrize("ts", SYNTAXES[:4])
def test_head_check_does_not_depend_on_fragmentation(ts: str) -> None:
    for data, expected in (
        (encode(dataset(), ts), None),
        (encode(dataset(CT), ts), 0xA900),
        (encode(dataset(SC, "1.2.3.5"), ts), 0xC000),
    ):
        for step in (0, 1, 3, 64):
            got = verdict(data, ts, step)
            assert (got and got[0]) == expected, (ts, step, got)


def test_head_check_lets_through_what_the_head_cannot_decide() -> None:
    # a long element before (0008,0016): the head fills up before the UIDs
    big = struct.pack("<HH2sHI", 0x0008, 0x0006, b"UN", 0, 2 * HEAD_CHECK_BYTES)
    check = HeadCheck(EXPLICIT, SC, "1.2.3.4")
    check.feed(big + bytes(HEAD_CHECK_BYTES))
    assert check.done and check.failure is None
    check.feed(bytes(HEAD_CHECK_BYTES))
    assert check.finish() is None
    # no (0008,0016)/(0008,0018) at all: nothing to compare
    lone = Dataset()
    lone.add(DataElement(0x00100010, "PN", "DOE^J"))
    assert verdict(encode_dataset(lone, implicit=False, little=True)) is None
    # a transfer syntax we do not know is not checked
    assert verdict(GARBAGE, "1.2.3.4.5.6") is None

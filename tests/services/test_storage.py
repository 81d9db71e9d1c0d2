"""Storage service: files streamed into Part 10 files, sent from disk, converted when needed."""

from __future__ import annotations

import asyncio
import os
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from corpus import manifest

import dicomkit
from dicomkit.errors import AssociationAborted, DimseError, InvalidDicomError
from dicomkit.net import AE, Association
from dicomkit.net._memory import memory_pair
from dicomkit.net.proto import _dimse as dimse
from dicomkit.services._storage import (
    Instance,
    StorageSCP,
    contexts_for,
    find_files,
    read_instance,
    store,
    store_files,
)

IMPLICIT, EXPLICIT = "1.2.840.10008.1.2", "1.2.840.10008.1.2.1"
WANTED_TS = [
    IMPLICIT,
    EXPLICIT,
    "1.2.840.10008.1.2.1.99",
    "1.2.840.10008.1.2.2",
    "1.2.840.10008.1.2.4.70",
    "1.2.840.10008.1.2.5",
    "1.2.840.10008.1.2.4.91",
    "1.2.840.10008.1.2.4.80",
    "1.2.840.10008.1.2.4.50",
]


def corpus_files() -> list[Path]:
    """The smallest corpus file of each wanted transfer syntax (distinct instances)."""
    chosen: dict[str, Any] = {}
    for row in manifest():
        if row.broken or not row.preamble or row.ts not in WANTED_TS or "Directory" in row.sop:
            continue
        size = row.path.stat().st_size
        if row.ts not in chosen or size < chosen[row.ts][0]:
            chosen[row.ts] = (size, row.path)
    if not chosen:
        pytest.skip("corpus not available")
    return [path for _, path in chosen.values()]


def assert_same_dataset(original: Path, stored: Path) -> None:
    """Element by element, with pydicom as the oracle (values, not bytes: the syntax may
    differ after conversion)."""
    pydicom = pytest.importorskip("pydicom")
    a = pydicom.dcmread(original)
    b = pydicom.dcmread(stored)

    def tags(ds: Any) -> list[int]:  # group lengths (retired) may be dropped on conversion
        return [e.tag for e in ds if e.tag & 0xFFFF]

    assert tags(a) == tags(b)
    for elem in a:
        if not elem.tag & 0xFFFF:
            continue
        if "UN" in (elem.VR, b[elem.tag].VR) and elem.VR != b[elem.tag].VR:
            continue  # a private element read back from implicit VR: pydicom cannot type it
        if elem.VR == "SQ":
            assert len(elem.value) == len(b[elem.tag].value), elem.tag
        else:
            assert elem.value == b[elem.tag].value, elem.tag
    assert b.file_meta.MediaStorageSOPInstanceUID == a.SOPInstanceUID


async def _with_scp(folder: Path, fn: Any, *, supported: Any = None, **scp_kw: Any) -> Any:
    client, server = memory_pair()
    scp = AE(
        "STORESCP",
        handlers={dimse.CStoreRequest: StorageSCP(folder, fsync=False, **scp_kw)},
        supported=supported,
    )
    await scp.serve_transport(server)
    return await fn(client)


def test_store_corpus_files_and_compare(tmp_path: Path) -> None:
    files = corpus_files()
    instances = [read_instance(p) for p in files]

    async def send(client: Any) -> list[Any]:
        async with AE("SCU").associate(
            "", 0, transport=client, contexts=contexts_for(instances)
        ) as assoc:
            return await store_files(assoc, instances)

    results = asyncio.run(_with_scp(tmp_path, send))
    assert all(r.ok for r in results), results
    for inst in instances:
        stored = tmp_path / f"{inst.sop_instance}.dcm"
        assert stored.exists()
        meta = read_instance(stored)
        assert meta.transfer_syntax == inst.transfer_syntax  # the file's syntax was accepted
        assert (meta.sop_class, meta.sop_instance) == (inst.sop_class, inst.sop_instance)
        # the data set bytes are the original bytes
        with open(inst.path, "rb") as a, open(stored, "rb") as b:
            a.seek(inst.offset)
            b.seek(meta.offset)
            assert a.read() == b.read()
        assert_same_dataset(inst.path, stored)
    assert not list(tmp_path.glob(".dicomkit-*"))


@pytest.mark.parametrize(("source_ts", "accepted"), [(EXPLICIT, IMPLICIT), (IMPLICIT, EXPLICIT)])
def test_conversion_when_the_file_syntax_is_refused(
    tmp_path: Path, source_ts: str, accepted: str
) -> None:
    row = next(
        r
        for r in manifest()
        if r.ts == source_ts and not r.broken and r.preamble and "Directory" not in r.sop
    )
    inst = read_instance(row.path)
    out = tmp_path / "out"

    async def send(client: Any) -> dimse.CStoreResponse:
        async with AE("SCU").associate(
            "", 0, transport=client, contexts=contexts_for([inst])
        ) as assoc:
            assert {c.transfer_syntax for c in assoc.accepted_contexts} == {accepted}
            return await store(assoc, row.path)

    rsp = asyncio.run(_with_scp(out, send, supported={inst.sop_class: [accepted]}))
    assert rsp.status == 0
    stored = out / f"{inst.sop_instance}.dcm"
    assert read_instance(stored).transfer_syntax == accepted
    assert_same_dataset(row.path, stored)


def test_compressed_file_is_decompressed_for_an_uncompressed_context(tmp_path: Path) -> None:
    from dicomkit.pixels import pixel_array

    row = next(r for r in manifest() if r.ts == "1.2.840.10008.1.2.4.70" and not r.broken)
    inst = read_instance(row.path)

    async def send(client: Any) -> list[Any]:
        async with AE("SCU").associate(
            "", 0, transport=client, contexts=[(inst.sop_class, [EXPLICIT])]
        ) as assoc:
            return await store_files(assoc, [inst])

    [result] = asyncio.run(_with_scp(tmp_path, send))
    assert result.ok, result.error
    stored = tmp_path / f"{inst.sop_instance}.dcm"
    assert read_instance(stored).transfer_syntax == EXPLICIT
    assert (pixel_array(dicomkit.read(stored)) == pixel_array(dicomkit.read(row.path))).all()


def test_lossy_file_is_not_recompressed_and_fails_locally(tmp_path: Path) -> None:
    row = next(r for r in manifest() if r.ts == "1.2.840.10008.1.2.4.51" and not r.broken)
    inst = read_instance(row.path)
    jpeg_ls = "1.2.840.10008.1.2.4.80"

    async def send(client: Any) -> list[Any]:
        async with AE("SCU").associate(
            "", 0, transport=client, contexts=[(inst.sop_class, [jpeg_ls])]
        ) as assoc:
            return await store_files(assoc, [inst])

    [result] = asyncio.run(_with_scp(tmp_path, send, supported={inst.sop_class: [jpeg_ls]}))
    assert not result.ok and "no presentation context" in result.error


def test_store_a_dataset(tmp_path: Path) -> None:
    row = next(
        r
        for r in manifest()
        if r.ts == EXPLICIT and not r.broken and r.preamble and "Directory" not in r.sop
    )
    ds = dicomkit.read(row.path)

    async def send(client: Any) -> dimse.CStoreResponse:
        async with AE("SCU").associate(
            "", 0, transport=client, contexts=[(str(ds.SOPClassUID), [EXPLICIT])]
        ) as assoc:
            return await store(assoc, ds)

    rsp = asyncio.run(_with_scp(tmp_path, send))
    assert rsp.status == 0 and rsp.affected_sop_instance_uid == ds.SOPInstanceUID
    assert_same_dataset(row.path, tmp_path / f"{ds.SOPInstanceUID}.dcm")


def _big_file(folder: Path, megabytes: int) -> Path:
    """An explicit-LE Secondary Capture file with ``megabytes`` of OB data, written directly."""
    import struct

    from dicomkit.io._part10 import file_meta_bytes

    uid = "1.2.826.0.1.3680043.10.1393.99." + str(megabytes)

    def el(tag: int, vr: str, value: bytes) -> bytes:
        head = struct.pack("<HH", tag >> 16, tag & 0xFFFF) + vr.encode()
        if vr in ("OB", "OW", "UN"):
            return head + b"\0\0" + struct.pack("<I", len(value)) + value
        return head + struct.pack("<H", len(value)) + value

    body = (
        el(0x00080016, "UI", b"1.2.840.10008.5.1.4.1.1.7\0")
        + el(0x00080018, "UI", uid.encode() + (b"\0" if len(uid) % 2 else b""))
        + el(0x00100020, "LO", b"BIG ")
        + el(0x7FE00010, "OB", b"\xab" * (megabytes << 20))
    )
    path = folder / "big.dcm"
    path.write_bytes(file_meta_bytes("1.2.840.10008.5.1.4.1.1.7", uid, EXPLICIT, "") + body)
    return path


def test_memory_stays_bounded_for_a_large_instance(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    path = _big_file(src, 48)
    inst = read_instance(path)

    async def send(client: Any) -> int:
        async with AE("SCU").associate(
            "", 0, transport=client, contexts=contexts_for([inst])
        ) as assoc:
            tracemalloc.start()
            rsp = await store(assoc, path)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            assert rsp.status == 0
            return peak

    peak = asyncio.run(_with_scp(tmp_path / "out", send))
    assert peak < 12 << 20, f"peak {peak / 2**20:.1f} MiB for a 48 MiB instance"
    stored = tmp_path / "out" / f"{inst.sop_instance}.dcm"
    assert read_instance(stored).size == inst.size


def test_aborted_store_leaves_no_partial_file(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    path = _big_file(src, 4)
    inst = read_instance(path)
    out = tmp_path / "out"

    async def send(client: Any) -> None:
        assoc: Association = await AE("SCU").associate(
            "", 0, transport=client, contexts=contexts_for([inst])
        )
        ctx = assoc.accepted_contexts[0]
        request = dimse.CStoreRequest(
            message_id=1,
            affected_sop_class_uid=inst.sop_class,
            affected_sop_instance_uid=inst.sop_instance,
        )

        def chunks() -> Any:
            yield b"\x08\x00\x20\x00" + b"x" * 300_000
            yield b"y" * 300_000
            raise RuntimeError("the sender dies mid-data-set")

        with pytest.raises(RuntimeError):
            await assoc.send_message(ctx, request, chunks())
        for _ in range(10_000):  # let the SCP task run (bounded; no timed sleep)
            if list(out.glob(".dicomkit-*.part")):
                break
            await asyncio.sleep(0)
        assert list(out.glob(".dicomkit-*.part"))  # being written while data arrive
        await assoc.abort()
        await asyncio.sleep(0)

    asyncio.run(_with_scp(out, send))
    assert list(out.iterdir()) == []


def test_unwritable_destination_answers_out_of_resources(tmp_path: Path) -> None:
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("x")
    row = corpus_files()[0]

    async def send(client: Any) -> DimseError:
        inst = read_instance(row)
        async with AE("SCU").associate(
            "", 0, transport=client, contexts=contexts_for([inst])
        ) as assoc:
            with pytest.raises(DimseError) as failed:  # the client contract: failure raises
                await store(assoc, inst)
            return failed.value

    err = asyncio.run(_with_scp(blocker / "sub", send))
    assert err.status == 0xA700
    assert str(err).startswith("C-STORE failed: 0xA700") and "(" in str(err)  # + the comment


def test_naming_and_on_stored_callback(tmp_path: Path) -> None:
    row = corpus_files()[0]
    inst = read_instance(row)
    seen: list[Path] = []

    async def send(client: Any) -> dimse.CStoreResponse:
        async with AE("SCU").associate(
            "", 0, transport=client, contexts=contexts_for([inst])
        ) as assoc:
            return await store(assoc, inst)

    rsp = asyncio.run(
        _with_scp(
            tmp_path,
            send,
            naming=lambda rq: f"x/{rq.message_id}.dcm",
            on_stored=lambda path, incoming: seen.append(path),
        )
    )
    assert rsp.status == 0 and seen == [tmp_path / "x" / "1.dcm"]


def test_contexts_for_and_find_files(tmp_path: Path) -> None:
    def inst(ts: str, sop: str = "1.2.3") -> Instance:
        return Instance(Path("x"), sop, "1.9", ts, 0, 0)

    contexts = contexts_for(
        [inst(IMPLICIT), inst(IMPLICIT), inst("1.2.840.10008.1.2.4.50"), inst(EXPLICIT, "1.2.4")]
    )
    from dicomkit.services._convert import lossless_encoders

    lossless = lossless_encoders()
    assert lossless  # the codecs the test environment installs
    # the file's syntax first (native files: the other native ones after it); then fallback
    # contexts per class: native ones for compressed files, lossless ones for exact sources
    assert contexts == [
        ("1.2.3", [IMPLICIT, EXPLICIT]),
        ("1.2.3", ["1.2.840.10008.1.2.4.50"]),
        ("1.2.4", [EXPLICIT, IMPLICIT]),
        ("1.2.3", lossless),
        ("1.2.4", lossless),
    ]
    # a compressed file alone: a native fallback context of its own
    assert contexts_for([inst("1.2.840.10008.1.2.4.70", "1.2.5")]) == [
        ("1.2.5", ["1.2.840.10008.1.2.4.70"]),
        ("1.2.5", [EXPLICIT, IMPLICIT]),
        ("1.2.5", lossless),
    ]
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "1.dcm").write_bytes(b"")
    (tmp_path / "a" / ".hidden").write_bytes(b"")
    (tmp_path / "c.dcm").write_bytes(b"")
    assert find_files([tmp_path / "a", tmp_path / "c.dcm"]) == [
        tmp_path / "a" / "b" / "1.dcm",
        tmp_path / "c.dcm",
    ]


def test_read_instance_rejects_non_dicom(tmp_path: Path) -> None:
    path = tmp_path / "x.txt"
    path.write_bytes(b"hello, not dicom at all" * 10)
    with pytest.raises((InvalidDicomError, Exception)):
        read_instance(path)


def test_association_abort_error_type() -> None:
    assert issubclass(AssociationAborted, Exception)
    assert os.sep

"""The archive node's receive path checks the leading elements of each data set, whether it is
collected in memory (<= 1 MiB) or spilled to ``.incoming``: garbage is answered C000, a SOP
Class UID other than the command's A900, a SOP Instance UID other than the command's C000;
nothing is stored or indexed for them, and the association goes on."""

from __future__ import annotations

import asyncio
import zlib
from pathlib import Path
from typing import Any

import pytest
from archive_helpers import synthetic, to_dataset

from dicomkit.archive import Archive
from dicomkit.archive._app import MEMORY_BYTES, ArchiveStorageSCP
from dicomkit.archive._store import FileStore
from dicomkit.core._element import DataElement
from dicomkit.io._encoder import encode_dataset
from dicomkit.net import AE
from dicomkit.net._memory import memory_pair
from dicomkit.net.proto import _dimse as dimse

IMPLICIT, EXPLICIT, DEFLATED = "1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.1.99"
CT = "1.2.840.10008.5.1.4.1.1.2"
MR = "1.2.840.10008.5.1.4.1.1.4"
GARBAGE = bytes(range(7, 47))  # 40 bytes, not a data set
ROW = next(r for r in synthetic(4) if r["SOPClassUID"] == CT)


def instance(uid: str, *, sop_class: str = CT, ts: str = EXPLICIT, big: bool = False) -> bytes:
    ds = to_dataset({**ROW, "SOPInstanceUID": uid, "SOPClassUID": sop_class})
    if big:  # past MEMORY_BYTES: spilled to .incoming as it arrives
        ds.add(DataElement(0x7FE00010, "OB", bytes(MEMORY_BYTES + (256 << 10))))
    raw = encode_dataset(ds, implicit=ts == IMPLICIT, little=True)
    if ts == DEFLATED:
        comp = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        raw = comp.compress(raw) + comp.flush()
        raw += b"\0" * (len(raw) % 2)
    return raw


@pytest.fixture
def archive(tmp_path: Path) -> Any:
    arch = Archive(tmp_path / "arch")
    yield arch
    arch.close()


async def exchange(archive: Archive, sends: list[tuple[str, str, bytes]]) -> list[Any]:
    """C-STORE each (transfer syntax, command SOP instance UID, data) as CT on one association."""
    scp_handler = ArchiveStorageSCP(archive, workers=2)
    client, server = memory_pair()
    syntaxes = [EXPLICIT, IMPLICIT, DEFLATED]
    scp = AE("ARCHIVE", handlers={dimse.CStoreRequest: scp_handler}, supported={CT: syntaxes})
    await scp.serve_transport(server)
    out = []
    try:
        async with AE("SCU").associate(
            "", 0, transport=client, contexts=[(CT, [ts]) for ts in syntaxes]
        ) as assoc:
            for ts, uid, data in sends:
                ctx = assoc.negotiated.find(CT, ts)
                assert ctx is not None
                rsp = await assoc.request(
                    dimse.CStoreRequest(affected_sop_class_uid=CT, affected_sop_instance_uid=uid),
                    data,
                    context=ctx,
                )
                out.append(rsp.message)
    finally:
        scp_handler.close()
    return out


def dcm_files(archive: Archive) -> list[str]:
    return sorted(p.name for p in archive.root.rglob("*") if p.is_file() and p.suffix == ".dcm")


def incoming(archive: Archive) -> list[Path]:
    folder = archive.root / FileStore.INCOMING
    return [p for p in folder.iterdir() if p.is_file()] if folder.exists() else []


@pytest.mark.parametrize("big", [False, True], ids=["in-memory", "spilled"])
def test_refused_instances_leave_nothing_and_the_association_goes_on(
    archive: Archive, big: bool
) -> None:
    base = f"1.2.826.0.1.3680043.10.543.77.{int(big)}"
    sends = [
        (EXPLICIT, f"{base}.1", GARBAGE),
        (EXPLICIT, f"{base}.2", instance(f"{base}.2", sop_class=MR, big=big)),
        (EXPLICIT, f"{base}.3", instance(f"{base}.99", big=big)),
        (EXPLICIT, f"{base}.4", instance(f"{base}.4", big=big)),
    ]
    garbage, cls, inst, ok = asyncio.run(exchange(archive, sends))
    assert 0xC000 <= garbage.status <= 0xCFFF, garbage
    assert "cannot understand" in garbage.error_comment
    assert cls.status == 0xA900, cls
    assert MR in cls.error_comment
    assert 0xC000 <= inst.status <= 0xCFFF, inst
    assert f"{base}.99" in inst.error_comment
    assert ok.status == 0, ok
    assert dcm_files(archive) == [f"{base}.4.dcm"]
    assert archive.index.count() == 1
    assert incoming(archive) == []


def test_other_syntaxes(archive: Archive) -> None:
    uid = "1.2.826.0.1.3680043.10.543.78"
    sends = [
        (IMPLICIT, f"{uid}.1", GARBAGE),
        (DEFLATED, f"{uid}.2", GARBAGE),
        (DEFLATED, f"{uid}.3", instance(f"{uid}.3", sop_class=MR, ts=DEFLATED)),
        (IMPLICIT, f"{uid}.4", instance(f"{uid}.5", ts=IMPLICIT)),
        (DEFLATED, f"{uid}.6", instance(f"{uid}.6", ts=DEFLATED)),
        (IMPLICIT, f"{uid}.7", instance(f"{uid}.7", ts=IMPLICIT)),
    ]
    rsps = asyncio.run(exchange(archive, sends))
    assert [r.status for r in rsps] == [0xC000, 0xC000, 0xA900, 0xC000, 0, 0], [
        (r.status, r.error_comment) for r in rsps
    ]
    assert dcm_files(archive) == [f"{uid}.6.dcm", f"{uid}.7.dcm"]
    assert incoming(archive) == []


def test_a_data_set_broken_past_its_leading_elements_is_refused(archive: Archive) -> None:
    """The head check stops after (0008,0018) for the archive, which parses every in-memory
    data set whole before keeping it: damage further on is refused (C000), nothing kept."""
    uid = "1.2.826.0.1.3680043.10.543.79"
    good = instance(f"{uid}.1")
    # a last element whose length runs past the end of the data set
    broken = (
        instance(f"{uid}.2")
        + bytes.fromhex("e07f1000")
        + b"OW\0\0"
        + (4096).to_bytes(4, "little")
        + b"\0" * 16
    )
    # a data set that ends inside an element header
    cut = instance(f"{uid}.3") + bytes.fromhex("e07f10004f")
    rsps = asyncio.run(
        exchange(
            archive,
            [
                (EXPLICIT, f"{uid}.2", broken),
                (EXPLICIT, f"{uid}.3", cut),
                (EXPLICIT, f"{uid}.1", good),
            ],
        )
    )
    assert [r.status for r in rsps] == [0xC000, 0xC000, 0], [
        (r.status, r.error_comment) for r in rsps
    ]
    assert dcm_files(archive) == [f"{uid}.1.dcm"]
    assert archive.index.count() == 1
    assert incoming(archive) == []

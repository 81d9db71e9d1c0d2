"""Media Creation Management (PS3.4 S): request, build (File-set folder + ISO 9660 image),
status, cancel and the refusals, both sides in memory."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

import dicomkit
from dicomkit.core._dataset import Dataset
from dicomkit.dictionary import tags, uids
from dicomkit.errors import DimseError
from dicomkit.media import build_media, read_dicomdir
from dicomkit.net import AE, Association
from dicomkit.net._memory import memory_pair
from dicomkit.net.proto import _dimse as dimse
from dicomkit.services import (
    MEDIA_CREATION_MANAGEMENT,
    MediaCreationSCP,
    MediaJob,
    MediaResult,
    media_creation,
)
from dicomkit.services._n_common import supported_for

SC = uids.SecondaryCaptureImageStorage


def make_instances(folder: Path, n: int = 3) -> dict[str, Path]:
    """Small Secondary Capture files; SOP Instance UID -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    study, series = "1.2.826.0.1.3680043.10.7.1", "1.2.826.0.1.3680043.10.7.1.1"
    for i in range(n):
        ds = Dataset()
        ds.SOPClassUID = SC
        ds.SOPInstanceUID = f"1.2.826.0.1.3680043.10.7.1.1.{i + 1}"
        ds.PatientName = "MEDIA^TEST"
        ds.PatientID = "M1"
        ds.StudyInstanceUID = study
        ds.SeriesInstanceUID = series
        ds.StudyDate = "20260101"
        ds.StudyTime = "120000"
        ds.StudyID = "1"
        ds.AccessionNumber = ""
        ds.ReferringPhysicianName = ""
        ds.PatientBirthDate = ""
        ds.PatientSex = ""
        ds.Modality = "OT"
        ds.SeriesNumber = 1
        ds.InstanceNumber = i + 1
        ds.ConversionType = "WSD"
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows = 4
        ds.Columns = 4
        ds.BitsAllocated = 8
        ds.BitsStored = 8
        ds.HighBit = 7
        ds.PixelRepresentation = 0
        ds.set(tags.PixelData, bytes(range(i, i + 16)), vr="OB")
        path = folder / f"sc{i}.dcm"
        dicomkit.write(ds, path, transfer_syntax=uids.ExplicitVRLittleEndian)
        out[str(ds.SOPInstanceUID)] = path
    return out


def run(scp: MediaCreationSCP, body: Callable[[Association], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        client, server = memory_pair()
        await AE(
            "MEDIA", handlers=scp.handlers(), supported=supported_for([MEDIA_CREATION_MANAGEMENT])
        ).serve_transport(server)
        async with AE("SCU").associate(
            "", 0, transport=client, contexts=[MEDIA_CREATION_MANAGEMENT]
        ) as assoc:
            return await body(assoc)

    return asyncio.run(main())


def test_builds_fileset_folder_and_iso(tmp_path: Path) -> None:
    import pycdlib  # the media extra, in the test extra: never skipped

    held = make_instances(tmp_path / "held")
    scp = MediaCreationSCP(held.get, build_media, tmp_path / "out")
    refs = [(SC, uid) for uid in held] + [(SC, "1.2.3.404")]

    async def body(assoc: Association) -> Any:
        attrs = media_creation.media_request(refs, fileset_id="STUDY1", label="Test disc")
        return await media_creation.create_media(assoc, attrs, poll=0.01, timeout=60)

    uid, got = run(scp, body)
    assert got.status == "DONE" and got.info == "NORMAL" and got.pieces == 1
    assert got.failed == (("1.2.3.404", 0x0112),)
    result = scp.requests[uid].result
    assert result is not None and result.image is not None
    dd = read_dicomdir(result.folder / "DICOMDIR")
    assert dd.fileset_id == "STUDY1"
    assert sorted(r.sop_instance_uid or "" for r in dd.instances()) == sorted(held)
    assert got.fileset_uid == scp.requests[uid].job.fileset_uid  # type: ignore[union-attr]
    # the ISO image holds the same File-set: read it back with pycdlib
    iso = pycdlib.PyCdlib()
    iso.open(str(result.image))
    try:
        names = [c.file_identifier().decode() for c in iso.list_children(iso_path="/")]
        assert "DICOMDIR.;1" in names
        first = next(r for r in dd.instances())
        iso_file = "/" + "/".join(first.file_id or ()) + ".;1"
        from io import BytesIO

        buf = BytesIO()
        iso.get_file_from_iso_fp(buf, iso_path=iso_file)
    finally:
        iso.close()
    assert buf.getvalue() == (result.folder.joinpath(*(first.file_id or ()))).read_bytes()


def test_cancel_states_and_refusals(tmp_path: Path) -> None:
    held = make_instances(tmp_path / "held", 1)
    gate = threading.Event()
    started = threading.Event()

    def slow(job: MediaJob) -> MediaResult:
        started.set()
        gate.wait(10)
        if job.cancelled.is_set():
            raise media_creation.MediaCancelled("cancelled")
        job.output.mkdir(parents=True, exist_ok=True)
        return MediaResult(job.output)

    scp = MediaCreationSCP(held.get, slow, tmp_path / "out", interruptible=False)
    refs = [(SC, next(iter(held)))]

    async def body(assoc: Association) -> dict[str, Any]:
        out: dict[str, Any] = {}

        async def fails(name: str, call: Awaitable[Any]) -> None:
            with pytest.raises(DimseError) as info:
                await call
            out[name] = info.value.status

        async def raw(name: str, msg: Any, data: Dataset | None) -> None:
            rsp = (await assoc.request(msg, data)).message
            out[name] = (rsp.status, rsp.offending_element)

        create = dimse.NCreateRequest(affected_sop_class_uid=MEDIA_CREATION_MANAGEMENT)
        await raw("no refs", create, Dataset())
        odd = media_creation.media_request(refs)
        odd.PatientID = "X"
        await raw("unknown attribute", create, odd)
        await raw("profile", create, media_creation.media_request(refs, profile="STD-XA1K-DVD"))
        await raw("coerced", create, media_creation.media_request(refs, fileset_id="my disc!"))
        out["coerced uid"] = next(iter(scp.requests))
        first = await media_creation.create_request(assoc, media_creation.media_request(refs))
        out["idle"] = (await media_creation.status(assoc, first)).status
        await media_creation.cancel(assoc, first)  # idle: cancelled at once
        out["cancelled"] = await media_creation.status(assoc, first)
        await fails("cancel finished", media_creation.cancel(assoc, first))
        await fails("initiate cancelled", media_creation.initiate(assoc, first))
        second = await media_creation.create_request(assoc, media_creation.media_request(refs))
        await media_creation.initiate(assoc, second)
        await asyncio.to_thread(started.wait, 10)
        out["creating"] = (await media_creation.status(assoc, second)).status
        await fails("cancel creating", media_creation.cancel(assoc, second))
        await fails("initiate twice", media_creation.initiate(assoc, second))
        gate.set()
        while not (await media_creation.status(assoc, second)).finished:
            await asyncio.sleep(0.01)
        out["done"] = (await media_creation.status(assoc, second)).status
        await fails("unknown", media_creation.status(assoc, "1.2.3.4"))
        await fails("unknown action", media_creation.initiate(assoc, "1.2.3.4"))
        bad = dimse.NActionRequest(
            requested_sop_class_uid=MEDIA_CREATION_MANAGEMENT,
            requested_sop_instance_uid=second,
            action_type_id=9,
        )
        await raw("action type", bad, None)
        return out

    out = run(scp, body)
    assert out["no refs"] == (0x0120, (tags.ReferencedSOPSequence,))
    assert out["unknown attribute"] == (0x0105, (tags.PatientID,))
    assert out["profile"] == (0x0106, (tags.RequestedMediaApplicationProfile,))
    assert out["coerced"] == (0x0116, (tags.StorageMediaFileSetID,))
    coerced = scp.requests[out["coerced uid"]].attributes.StorageMediaFileSetID
    assert coerced == "MY_DISC_"
    assert out["idle"] == "IDLE"
    assert (out["cancelled"].status, out["cancelled"].info) == ("FAILURE", "CANCELED")
    assert out["cancel finished"] == 0xC201
    assert out["initiate cancelled"] == 0xA510
    assert out["creating"] == "CREATING"
    assert out["cancel creating"] == 0xC202
    assert out["initiate twice"] == 0xA510
    assert out["done"] == "DONE"
    assert out["unknown"] == 0x0112 and out["unknown action"] == 0x0112
    assert out["action type"][0] == 0x0123


def test_cancel_while_creating_when_interruptible(tmp_path: Path) -> None:
    held = make_instances(tmp_path / "held", 1)
    gate, started = threading.Event(), threading.Event()

    def slow(job: MediaJob) -> MediaResult:
        started.set()
        gate.wait(10)
        if job.cancelled.is_set():
            raise media_creation.MediaCancelled("cancelled")
        return MediaResult(job.output)

    scp = MediaCreationSCP(held.get, slow, tmp_path / "out")

    async def body(assoc: Association) -> Any:
        uid = await media_creation.create_request(
            assoc, media_creation.media_request([(SC, next(iter(held)))])
        )
        await media_creation.initiate(assoc, uid)
        await asyncio.to_thread(started.wait, 10)
        await media_creation.cancel(assoc, uid)
        gate.set()
        while not (got := await media_creation.status(assoc, uid)).finished:
            await asyncio.sleep(0.01)
        return got

    got = run(scp, body)
    assert (got.status, got.info) == ("FAILURE", "CANCELED")


def test_priority_orders_pending_requests(tmp_path: Path) -> None:
    held = make_instances(tmp_path / "held", 1)
    gate, started = threading.Event(), threading.Event()
    built: list[str] = []

    def record(job: MediaJob) -> MediaResult:
        started.set()
        gate.wait(10)
        built.append(job.sop_instance_uid)
        return MediaResult(job.output)

    scp = MediaCreationSCP(held.get, record, tmp_path / "out")
    refs = [(SC, next(iter(held)))]

    async def body(assoc: Association) -> list[str]:
        uids = [
            await media_creation.create_request(assoc, media_creation.media_request(refs))
            for _ in range(3)
        ]
        await media_creation.initiate(assoc, uids[0], priority="LOW")
        await asyncio.to_thread(started.wait, 10)  # the first is being built
        await media_creation.initiate(assoc, uids[1], priority="LOW")
        await media_creation.initiate(assoc, uids[2], priority="HIGH")
        with pytest.raises(DimseError) as info:
            await media_creation.initiate(
                assoc, await media_creation.create_request(assoc, media_creation.media_request(refs)),
                priority="URGENT",
            )  # fmt: skip
        assert info.value.status == 0x0115 and "HIGH, MED or LOW" in str(info.value)
        gate.set()
        for uid in uids:
            while not (await media_creation.status(assoc, uid)).finished:
                await asyncio.sleep(0.01)
        return uids

    uids = run(scp, body)
    assert built == [uids[0], uids[2], uids[1]]  # HIGH overtakes the LOW one waiting


def test_requests_survive_a_restart_and_interrupted_ones_are_built_again(
    tmp_path: Path,
) -> None:
    """With a journal, N-GET status outlives the SCP; a request the "restart" caught while
    being built (its builder had not returned) is PENDING again and ``resume`` builds it."""
    held = make_instances(tmp_path / "held", 2)
    first, second = list(held)
    started, gate = threading.Event(), threading.Event()
    built: list[str] = []

    def hangs(job: MediaJob) -> MediaResult:
        if job.fileset_id == "HANGS":
            started.set()
            gate.wait(10)  # the node "stops" meanwhile
        job.output.mkdir(parents=True, exist_ok=True)
        return MediaResult(job.output)

    def works(job: MediaJob) -> MediaResult:
        built.append(job.fileset_id)
        job.output.mkdir(parents=True, exist_ok=True)
        return MediaResult(job.output)

    journal = tmp_path / "out" / "requests"

    def associate(scp: MediaCreationSCP) -> Any:
        client, server = memory_pair()
        ae = AE(
            "MEDIA", handlers=scp.handlers(), supported=supported_for([MEDIA_CREATION_MANAGEMENT])
        )
        return (
            ae,
            server,
            AE("SCU").associate("", 0, transport=client, contexts=[MEDIA_CREATION_MANAGEMENT]),
        )

    async def main() -> tuple[Any, ...]:
        scp = MediaCreationSCP(held.get, hangs, tmp_path / "out", journal=journal)
        ae, server, associating = associate(scp)
        await ae.serve_transport(server)
        async with associating as assoc:
            done = await media_creation.create_request(
                assoc, media_creation.media_request([(SC, first)], fileset_id="FINE")
            )
            await media_creation.initiate(assoc, done)
            while not (await media_creation.status(assoc, done)).finished:
                await asyncio.sleep(0.01)
            stuck = await media_creation.create_request(
                assoc, media_creation.media_request([(SC, second)], fileset_id="HANGS")
            )
            await media_creation.initiate(assoc, stuck)
            await asyncio.to_thread(started.wait, 10)
        # the "restart": a new SCP over the same journal while the old build still hangs
        again = MediaCreationSCP(held.get, works, tmp_path / "out", journal=journal)
        states = (again.requests[done].status, again.requests[stuck].status)
        ae, server, associating = associate(again)
        await ae.serve_transport(server)
        async with associating as assoc:
            old = await media_creation.status(assoc, done)
            resumed = await again.resume()
            now = await media_creation.status(assoc, stuck)
        gate.set()
        return done, stuck, states, old, resumed, now, again

    try:
        done, stuck, states, old, resumed, now, again = asyncio.run(main())
    finally:
        gate.set()
    assert states == ("DONE", "PENDING")
    assert (old.status, old.info, old.pieces) == ("DONE", "NORMAL", 1)
    assert (now.status, now.info, resumed, built) == ("DONE", "NORMAL", 1, ["HANGS"])
    assert now.fileset_uid == again.requests[stuck].job.fileset_uid
    # a damaged record is left out (with a warning naming it), the others still load
    (journal / "9.9.9.json").write_text("{not json")
    third = MediaCreationSCP(held.get, works, tmp_path / "out", journal=journal)
    assert set(third.requests) == {done, stuck}

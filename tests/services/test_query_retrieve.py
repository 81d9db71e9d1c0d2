"""Q/R SCP and SCU in one process over loopback: C-FIND, C-MOVE, C-GET, cancel, refusals."""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "archive"))
from archive_helpers import CT, MR, SR, synthetic, to_dataset
from corpus import manifest

import dicomkit
from dicomkit.archive._app import ArchiveNode
from dicomkit.archive._config import NodeConfig, Peer
from dicomkit.errors import DimseError, DimseMoveDestinationUnknown, DimseOutOfResources
from dicomkit.net import AE, AEConfig
from dicomkit.net.proto import _dimse as dimse
from dicomkit.services import _query_retrieve as qr
from dicomkit.services._storage import StorageSCP

ROWS = synthetic(6)
CLASSES = [CT, MR, SR]


def run(
    tmp: Path,
    body: Callable[[ArchiveNode, int, Any], Awaitable[None]],
    peers: bool = True,
    dest_ops: tuple[int, int] = (1, 1),
) -> None:
    """``dest_ops``: the asynchronous operations window the DEST peer grants."""

    async def main() -> None:
        dest = await AE("DEST", config=AEConfig(async_ops=dest_ops)).serve(
            0, {dimse.CStoreRequest: StorageSCP(tmp / "dest")}
        )
        cfg = NodeConfig(
            archive=tmp / "arch",
            host="127.0.0.1",
            port=0,
            peers={
                "DEST": Peer("DEST", "127.0.0.1", dest.port),
                "DOWN": Peer("DOWN", "127.0.0.1", 1),
            }
            if peers
            else {},
        )
        node = ArchiveNode(cfg)
        server = await node.start()
        try:
            for row in ROWS:
                node.archive.store_dataset(to_dataset(row, pixels=True))
            await body(node, server.port, dest)
        finally:
            await server.close()
            await dest.close()
            node.archive.close()

    asyncio.run(asyncio.wait_for(main(), 60))


def assoc_for(port: int, contexts: list[Any], **kw: Any) -> Any:
    return AE("SCU").associate("127.0.0.1", port, contexts=contexts, ae_title="DICOMKIT", **kw)


@pytest.mark.parametrize("model", [qr.Model.STUDY_ROOT, qr.Model.PATIENT_ROOT])
def test_find_each_level(tmp_path: Path, model: qr.Model) -> None:
    async def body(node: ArchiveNode, port: int, _dest: Any) -> None:
        async with assoc_for(port, [qr.FIND[model]]) as a:
            study = ROWS[3]
            keys: dict[str, Any] = {"StudyInstanceUID": study["StudyInstanceUID"]}
            if model is qr.Model.PATIENT_ROOT:
                keys["PatientID"] = study["PatientID"]
                pats = [
                    ds
                    async for ds in qr.find(
                        a, qr.identifier("PATIENT", {"PatientID": "", "PatientName": "D*"}), model
                    )
                ]
                assert {str(d.PatientID) for d in pats} == {
                    r["PatientID"] for r in ROWS if r["PatientName"].startswith("D")
                }
            series = [
                ds
                async for ds in qr.find(
                    a,
                    qr.identifier("SERIES", {**keys, "SeriesInstanceUID": "", "Modality": ""}),
                    model,
                )
            ]
            assert {str(d.SeriesInstanceUID) for d in series} == {
                r["SeriesInstanceUID"]
                for r in ROWS
                if r["StudyInstanceUID"] == study["StudyInstanceUID"]
            }
            one = series[0]
            images = [
                ds
                async for ds in qr.find(
                    a,
                    qr.identifier(
                        "IMAGE",
                        {
                            **keys,
                            "SeriesInstanceUID": str(one.SeriesInstanceUID),
                            "SOPInstanceUID": "",
                            "SOPClassUID": "",
                            "InstanceNumber": "",
                        },
                    ),
                    model,
                )
            ]
            assert {str(d.SOPInstanceUID) for d in images} == {
                r["SOPInstanceUID"]
                for r in ROWS
                if r["SeriesInstanceUID"] == str(one.SeriesInstanceUID)
            }
            assert all(str(d.QueryRetrieveLevel) == "IMAGE" for d in images)

    run(tmp_path, body)


def test_find_study_keys_and_charset(tmp_path: Path) -> None:
    async def body(node: ArchiveNode, port: int, _dest: Any) -> None:
        async with assoc_for(port, [qr.FIND[qr.Model.STUDY_ROOT]]) as a:
            got = [
                ds
                async for ds in qr.find(
                    a,
                    qr.identifier(
                        "STUDY",
                        {
                            "StudyInstanceUID": "",
                            "PatientName": "M*",
                            "ModalitiesInStudy": "",
                            "RetrieveAETitle": "",
                            "NumberOfStudyRelatedInstances": "",
                            "StudyDate": "20200101-20201231",
                        },
                    ),
                )
            ]
            want = {r["StudyInstanceUID"] for r in ROWS if r["PatientName"].startswith("M")}
            assert want and {str(d.StudyInstanceUID) for d in got} == want
            for d in got:
                assert str(d.PatientName) == "MÜLLER^JÖRG"  # UTF-8 round trip
                assert str(d.RetrieveAETitle) == "DICOMKIT"
                n = sum(1 for r in ROWS if r["StudyInstanceUID"] == str(d.StudyInstanceUID))
                assert int(d.NumberOfStudyRelatedInstances) == n

    run(tmp_path, body)


def test_find_cancel(tmp_path: Path) -> None:
    async def body(node: ArchiveNode, port: int, _dest: Any) -> None:
        async with assoc_for(port, [qr.FIND[qr.Model.STUDY_ROOT]]) as a:
            got = [
                ds
                async for ds in qr.find(
                    a, qr.identifier("STUDY", {"StudyInstanceUID": ""}), limit=2
                )
            ]
            assert len(got) == 2
            # the association is still usable after the cancelled query
            again = [
                ds async for ds in qr.find(a, qr.identifier("STUDY", {"StudyInstanceUID": ""}))
            ]
            assert len(again) == len({r["StudyInstanceUID"] for r in ROWS})

    run(tmp_path, body)


@pytest.mark.parametrize(
    "keys,status",
    [
        ({"StudyInstanceUID": "1.2.*"}, 0xA900),
        ({"StudyInstanceUID": [f"1.2.{i}" for i in range(1500)]}, 0xC000),
    ],
)
def test_find_refusals(tmp_path: Path, keys: dict[str, Any], status: int) -> None:
    async def body(node: ArchiveNode, port: int, _dest: Any) -> None:
        async with assoc_for(port, [qr.FIND[qr.Model.STUDY_ROOT]]) as a:
            with pytest.raises(DimseError) as info:
                [ds async for ds in qr.find(a, qr.identifier("STUDY", keys))]
            assert info.value.status == status
            # a hierarchical SERIES query without the study UID
            with pytest.raises(DimseError) as info:
                [ds async for ds in qr.find(a, qr.identifier("SERIES", {"SeriesInstanceUID": ""}))]
            assert info.value.status == 0xA900

    run(tmp_path, body)


@pytest.mark.parametrize("interval", [0.0, 3600.0])
def test_move_pending_responses_at_most_one_per_interval(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, interval: float
) -> None:
    """Pending C-MOVE responses are optional (PS3.7 9.1.4): with no interval every
    sub-operation but the last is followed by one; with a long one only the first is, and
    its counts are right."""
    from dicomkit.services import _qr_scp

    monkeypatch.setattr(_qr_scp, "PENDING_INTERVAL", interval)
    pid = ROWS[-1]["PatientID"]
    want = [r for r in ROWS if r["PatientID"] == pid]
    assert len(want) >= 3

    async def body(node: ArchiveNode, port: int, _dest: Any) -> None:
        async with assoc_for(port, [qr.MOVE[qr.Model.PATIENT_ROOT]]) as a:
            msg = dimse.CMoveRequest(
                message_id=a.next_message_id(),
                affected_sop_class_uid=qr.MOVE[qr.Model.PATIENT_ROOT],
                move_destination="DEST",
            )
            query = qr.identifier("PATIENT", {"PatientID": pid})
            got = [r.message async for r in a.request_iter(msg, query, timeout=None)]
        pending = [m for m in got if m.is_pending]
        assert len(pending) == (len(want) - 1 if interval == 0 else 1)
        assert (pending[0].remaining, pending[0].completed) == (len(want) - 1, 1)
        assert (got[-1].status, got[-1].completed) == (0, len(want))

    run(tmp_path, body)


@pytest.mark.parametrize("path", ["thread", "asyncio"])
@pytest.mark.parametrize(("granted", "most"), [((1, 1), 1), ((0, 0), 16), ((3, 1), 3)])
def test_move_sub_operations_pipelined_within_the_destination_window(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    granted: tuple[int, int],
    most: int,
    path: str,
) -> None:
    """The node proposes an asynchronous operations window to the move destination; as many
    C-STORE sub-operations are outstanding as it grants (one when it grants none), and every
    instance arrives with the right counts. ``path``: the node's own (sub-operations from a
    worker thread over a blocking association), or the asyncio one (a QueryRetrieveSCP
    given only an asyncio connector)."""
    from dicomkit.services import _move_thread, _qr_scp

    outstanding = [0, 0]  # now, most
    if path == "asyncio":
        inner = _qr_scp.QueryRetrieveSCP._send_one

        async def counted(self: Any, *args: Any) -> int:
            outstanding[0] += 1
            outstanding[1] = max(outstanding[1], outstanding[0])
            try:
                return await inner(self, *args)
            finally:
                outstanding[0] -= 1

        monkeypatch.setattr(_qr_scp.QueryRetrieveSCP, "_send_one", counted)
    else:
        send, answer = _move_thread._Mover._send, _move_thread._Mover._answer

        def sent(self: Any, *args: Any) -> int:
            mid = send(self, *args)
            outstanding[0] += 1
            outstanding[1] = max(outstanding[1], outstanding[0])
            return mid

        def answered(*args: Any) -> int:
            outstanding[0] -= 1
            return answer(*args)

        monkeypatch.setattr(_move_thread._Mover, "_send", sent)
        monkeypatch.setattr(_move_thread._Mover, "_answer", staticmethod(answered))
    pid = ROWS[-1]["PatientID"]
    want = {r["SOPInstanceUID"] for r in ROWS if r["PatientID"] == pid}
    assert len(want) >= 3

    async def body(node: ArchiveNode, port: int, _dest: Any) -> None:
        if path == "asyncio":
            node.qr.connect_blocking = None
        async with assoc_for(port, [qr.MOVE[qr.Model.PATIENT_ROOT]]) as a:
            res = await qr.move(
                a, qr.identifier("PATIENT", {"PatientID": pid}), "DEST", qr.Model.PATIENT_ROOT
            )
        assert (res.status, res.completed, res.failed) == (0, len(want), 0)

    run(tmp_path, body, dest_ops=granted)
    assert outstanding[1] == min(most, len(want))
    got = {dicomkit.read(p).SOPInstanceUID for p in (tmp_path / "dest").rglob("*.dcm")}
    assert got == want


def test_move_to_peer(tmp_path: Path) -> None:
    study = ROWS[-1]["StudyInstanceUID"]
    want = {r["SOPInstanceUID"] for r in ROWS if r["StudyInstanceUID"] == study}

    async def body(node: ArchiveNode, port: int, _dest: Any) -> None:
        async with assoc_for(port, [qr.MOVE[qr.Model.STUDY_ROOT]]) as a:
            res = await qr.move(a, qr.identifier("STUDY", {"StudyInstanceUID": study}), "DEST")
            assert (res.status, res.completed, res.failed) == (0, len(want), 0)
            # one pending right after the first sub-operation, then at most one per
            # PENDING_INTERVAL, and the final response
            assert 2 <= res.responses <= len(want)
            # failure statuses raise the typed error (the client contract)
            with pytest.raises(DimseMoveDestinationUnknown) as unknown:
                await qr.move(a, qr.identifier("STUDY", {"StudyInstanceUID": study}), "NOBODY")
            assert unknown.value.status == 0xA801
            with pytest.raises(DimseOutOfResources) as down:
                await qr.move(a, qr.identifier("STUDY", {"StudyInstanceUID": study}), "DOWN")
            assert down.value.status == 0xA702 and "completed" in str(down.value)
            none = await qr.move(a, qr.identifier("STUDY", {"StudyInstanceUID": "1.2.3"}), "DEST")
            assert (none.status, none.completed) == (0, 0)

    run(tmp_path, body)
    got = {dicomkit.read(p).SOPInstanceUID for p in (tmp_path / "dest").iterdir()}
    assert got == want
    for p in (tmp_path / "dest").iterdir():
        sent = dicomkit.read(p)
        assert sent.PixelData == b"\x01\x00\x02\x00\x03\x00\x04\x00"


def test_move_with_failures_lists_failed_uids(tmp_path: Path) -> None:
    study = ROWS[-1]["StudyInstanceUID"]

    async def body(node: ArchiveNode, port: int, _dest: Any) -> None:
        insts = node.archive.index.instances(
            __import__("dicomkit.archive._matching", fromlist=["parse_query"]).parse_query(
                {"QueryRetrieveLevel": "STUDY", "StudyInstanceUID": study},
                qr.Model.STUDY_ROOT,
                retrieve=True,
            )
        )
        broken = insts[0]
        node.archive.path_of(broken).write_bytes(b"garbage")  # damaged on disk
        gone = insts[1]
        node.archive.path_of(gone).unlink()  # vanished
        async with assoc_for(port, [qr.MOVE[qr.Model.STUDY_ROOT]]) as a:
            res = await qr.move(a, qr.identifier("STUDY", {"StudyInstanceUID": study}), "DEST")
        assert res.status == 0xB000
        assert res.failed == 2 and res.completed == len(insts) - 2
        assert res.failed_uids == [broken.sop_instance_uid, gone.sop_instance_uid]

    run(tmp_path, body)


def test_get_same_association(tmp_path: Path) -> None:
    study = ROWS[2]["StudyInstanceUID"]
    want = {r["SOPInstanceUID"] for r in ROWS if r["StudyInstanceUID"] == study}
    out = tmp_path / "got"

    async def body(node: ArchiveNode, port: int, _dest: Any) -> None:
        roles = dict.fromkeys(CLASSES, (False, True))
        async with assoc_for(
            port,
            [qr.GET[qr.Model.STUDY_ROOT], *CLASSES],
            roles=roles,
            handlers={dimse.CStoreRequest: StorageSCP(out)},
        ) as a:
            res = await qr.get(a, qr.identifier("STUDY", {"StudyInstanceUID": study}))
            assert (res.status, res.completed, res.failed) == (0, len(want), 0)
        # without the SCP role, every sub-operation fails
        async with assoc_for(port, [qr.GET[qr.Model.STUDY_ROOT], *CLASSES]) as a:
            res = await qr.get(a, qr.identifier("STUDY", {"StudyInstanceUID": study}))
            assert res.status == 0xB000 and res.failed == len(want)
            assert set(res.failed_uids) == want

    run(tmp_path, body)
    assert {dicomkit.read(p).SOPInstanceUID for p in out.iterdir()} == want


def test_get_cancel(tmp_path: Path) -> None:
    async def body(node: ArchiveNode, port: int, _dest: Any) -> None:
        roles = dict.fromkeys(CLASSES, (False, True))
        async with assoc_for(
            port,
            [qr.GET[qr.Model.PATIENT_ROOT], *CLASSES],
            roles=roles,
            handlers={dimse.CStoreRequest: StorageSCP(tmp_path / "g")},
        ) as a:
            pid = ROWS[-1]["PatientID"]
            total = sum(1 for r in ROWS if r["PatientID"] == pid)
            assert total >= 3
            res = await qr.get(
                a,
                qr.identifier("PATIENT", {"PatientID": pid}),
                qr.Model.PATIENT_ROOT,
                cancel_after=1,
            )
            assert res.status == 0xFE00
            assert 1 <= res.completed < total

    run(tmp_path, body)


def test_get_compressed_corpus_file(tmp_path: Path) -> None:
    src = next(f for f in manifest() if f.rel == "dcm4che/MR-JPEGLosslessSV1.dcm")
    jpeg = "1.2.840.10008.1.2.4.70"

    async def body(node: ArchiveNode, port: int, _dest: Any) -> None:
        tmp = node.archive.incoming_path()
        shutil.copyfile(src.path, tmp)
        res = node.archive.ingest(tmp)
        ident = qr.identifier(
            "IMAGE",
            {
                "StudyInstanceUID": str(dicomkit.read(res.path).StudyInstanceUID),
                "SeriesInstanceUID": str(dicomkit.read(res.path).SeriesInstanceUID),
                "SOPInstanceUID": res.sop_instance_uid,
            },
        )
        async with assoc_for(
            port,
            [qr.GET[qr.Model.STUDY_ROOT], (MR, [jpeg])],
            roles={MR: (False, True)},
            handlers={dimse.CStoreRequest: StorageSCP(tmp_path / "c")},
        ) as a:
            got = await qr.get(a, ident)
            assert (got.status, got.completed) == (0, 1)

    run(tmp_path, body)
    out = next((tmp_path / "c").iterdir())
    assert dicomkit.read(out).PixelData == dicomkit.read(src.path).PixelData


def test_find_binary_return_keys(tmp_path: Path) -> None:
    """US / unknown binary return keys travel as numbers or zero length, never as text."""
    row = ROWS[0]

    async def body(node: ArchiveNode, port: int, _dest: Any) -> None:
        async with assoc_for(port, [qr.FIND[qr.Model.STUDY_ROOT]]) as a:
            got = [
                ds
                async for ds in qr.find(
                    a,
                    qr.identifier(
                        "IMAGE",
                        {
                            "StudyInstanceUID": row["StudyInstanceUID"],
                            "SeriesInstanceUID": row["SeriesInstanceUID"],
                            "SOPInstanceUID": "",
                            "Rows": "",
                            "Columns": "",
                            "SamplesPerPixel": "",
                            "NumberOfFrames": "",
                        },
                    ),
                )
            ]
        assert len(got) == 1
        assert got[0].Rows == 2 and got[0].Columns == 2
        assert got[0].get("SamplesPerPixel") in (None, "")  # not indexed: zero length

    run(tmp_path, body)


def test_move_cancel_reports_counts(tmp_path: Path) -> None:
    async def body(node: ArchiveNode, port: int, _dest: Any) -> None:
        pid = ROWS[-1]["PatientID"]
        total = sum(1 for r in ROWS if r["PatientID"] == pid)
        async with assoc_for(port, [qr.MOVE[qr.Model.PATIENT_ROOT]]) as a:
            res = await qr.move(
                a,
                qr.identifier("PATIENT", {"PatientID": pid}),
                "DEST",
                qr.Model.PATIENT_ROOT,
                cancel_after=1,
            )
        assert res.status == 0xFE00
        assert 1 <= res.completed < total and res.failed == 0

    run(tmp_path, body)


def test_get_compressed_file_over_uncompressed_context(tmp_path: Path) -> None:
    """The SCU only takes uncompressed data: the SCP decompresses the JPEG Lossless file."""
    src = next(f for f in manifest() if f.rel == "dcm4che/MR-JPEGLosslessSV1.dcm")
    from dicomkit.pixels._encode import decompress

    async def body(node: ArchiveNode, port: int, _dest: Any) -> None:
        tmp = node.archive.incoming_path()
        shutil.copyfile(src.path, tmp)
        res = node.archive.ingest(tmp)
        head = dicomkit.read(res.path, stop_before_pixels=True)
        ident = qr.identifier(
            "SERIES",
            {
                "StudyInstanceUID": str(head.StudyInstanceUID),
                "SeriesInstanceUID": str(head.SeriesInstanceUID),
            },
        )
        async with assoc_for(
            port,
            [qr.GET[qr.Model.STUDY_ROOT], MR],
            roles={MR: (False, True)},
            handlers={dimse.CStoreRequest: StorageSCP(tmp_path / "u")},
        ) as a:
            got = await qr.get(a, ident)
            assert (got.status, got.completed) == (0, 1)

    run(tmp_path, body)
    out = dicomkit.read(next((tmp_path / "u").iterdir()))
    assert str(out.transfer_syntax) in ("1.2.840.10008.1.2.1", "1.2.840.10008.1.2")
    want = dicomkit.read(src.path)
    decompress(want)
    assert out.PixelData == want.PixelData


# -- elements_to_dataset: response identifiers from index values ---------------------------------


def _roundtrip(ds: Any, ts: str) -> Any:
    from dicomkit.net._messages import decode_data, encode_data

    return decode_data(encode_data(ds, ts), ts)


@pytest.mark.parametrize("ts", ["1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2"])
def test_elements_to_dataset_text_values_encode_in_every_syntax(ts: str) -> None:
    elements = [
        (0x00080005, "SpecificCharacterSet", "CS", "ISO_IR 192"),
        (0x00080052, "QueryRetrieveLevel", "CS", "STUDY"),
        (0x00080061, "ModalitiesInStudy", "CS", ["CT", "MR"]),
        (0x00100010, "PatientName", "PN", "MÜLLER^JÖRG"),
        (0x00100020, "PatientID", "LO", "ID1"),  # odd length: space padded
        (0x00201208, "NumberOfStudyRelatedInstances", "IS", "25"),
        (0x0020000D, "StudyInstanceUID", "UI", "1.2.3"),  # odd length: NUL padded
        (0x00080020, "StudyDate", "DA", ""),
    ]
    from dicomkit.core.values._codec import encode_value

    ds = qr.elements_to_dataset(elements)
    assert ds.tags() == sorted(t for t, *_ in elements)
    back = _roundtrip(ds, ts)
    assert str(back.PatientName) == "MÜLLER^JÖRG"
    assert list(back.ModalitiesInStudy) == ["CT", "MR"]
    assert back.PatientID == "ID1"
    assert back.StudyInstanceUID == "1.2.3"
    assert int(back.NumberOfStudyRelatedInstances) == 25
    assert back.StudyDate in ("", None)
    assert bytes(encode_value("UI", "1.2.3")) == b"1.2.3\x00"
    assert ds[0x0020000D].raw == b"1.2.3\x00" and ds[0x00100020].raw == b"ID1 "


def test_elements_to_dataset_non_ascii_without_utf8_uses_the_full_encoder() -> None:
    # no Specific Character Set: the text cannot be written raw as UTF-8; the encoder decides
    ds = qr.elements_to_dataset(
        [
            (0x00100010, "PatientName", "PN", "DOE^JOHN"),
            (0x00081030, "StudyDescription", "LO", "Épaule"),
        ]
    )
    assert ds.StudyDescription == "Épaule"  # kept as a value, not as raw UTF-8 bytes
    assert ds.PatientName == "DOE^JOHN"


def test_elements_to_dataset_sequences_and_numbers() -> None:
    ds = qr.elements_to_dataset(
        [
            (
                0x00081032,
                "ProcedureCodeSequence",
                "SQ",
                [{"CodeValue": "X1", "CodingSchemeDesignator": "L"}],
            ),
            (0x00280010, "Rows", "US", "512"),
        ]
    )
    back = _roundtrip(ds, "1.2.840.10008.1.2.1")
    assert back.ProcedureCodeSequence[0].CodeValue == "X1"
    assert back.Rows == 512


def test_meta_syntax_agrees_with_the_full_reader_or_declines(tmp_path: Path) -> None:
    """The byte search that finds a stored file's transfer syntax and data set offset for a
    sub-operation gives what the File Meta Information reader gives, for every corpus file
    with a meta; a layout it does not know gives None (the full reader then decides)."""
    from dicomkit.io._part10 import read_file_meta
    from dicomkit.services._qr_scp import _meta_syntax

    checked = 0
    for f in manifest():
        if f.error or not f.preamble:
            continue
        whole = f.path.read_bytes()
        found = _meta_syntax(whole)
        if found is None:
            continue
        meta, offset = read_file_meta(whole)
        assert found == (str(meta["TransferSyntaxUID"].value), offset), f.rel
        checked += 1
    assert checked >= 10
    dicomkit.write(to_dataset(ROWS[0], pixels=True), tmp_path / "one.dcm")
    whole = (tmp_path / "one.dcm").read_bytes()
    ts, offset = _meta_syntax(whole) or ("", 0)
    assert ts == "1.2.840.10008.1.2.1" and whole[offset : offset + 4] == b"\x08\x00\x05\x00"
    no_length = whole[:132] + whole[144:]  # (0002,0000) left out: not the usual layout
    assert _meta_syntax(no_length) is None
    assert _meta_syntax(whole[:150]) is None  # cut inside the meta
    assert _meta_syntax(b"\x00" * 128 + b"DICM") is None

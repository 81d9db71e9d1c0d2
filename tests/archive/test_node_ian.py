"""Instance Availability Notification on the node (PS3.4 R), both roles, against pynetdicom:
a pynetdicom SCU notifies the node (kept, listed, bad ones refused with their statuses); the
node announces what a C-STORE association stored to a pynetdicom SCP subscriber (on release,
and once stable); ``dicomkit ian send`` to pynetdicom and ``dicomkit ian list``."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from archive_helpers import cli, synthetic, write_files
from helpers import poll
from peers import free_port, require_module

from dicomkit.archive import _outbox as outbox
from dicomkit.archive._app import ArchiveNode
from dicomkit.archive._config import from_mapping
from dicomkit.net import AE
from dicomkit.services._ian import instances_of, notification
from dicomkit.services._storage import contexts_for, read_instance, store

pytestmark = pytest.mark.interop

IAN = "1.2.840.10008.5.1.4.33"
STUDY = "1.2.826.0.1.3680043.10.543.33.1"


def _node_cfg(tmp_path: Path, **ian: Any) -> Any:
    data: dict[str, Any] = {"server": {"archive": str(tmp_path / "arch"), "port": 0}}
    if ian:
        data["ian"] = ian
        data["peers"] = {"RIS": {"host": "127.0.0.1", "port": ian.pop("_port")}}
    return from_mapping(data)


def _run_node(cfg: Any, body: Any) -> None:
    async def main() -> None:
        node = ArchiveNode(cfg.replace(host="127.0.0.1"))
        server = await node.start()
        try:
            await body(node, server.port)
        finally:
            await server.close()
            await node.hosted.stop()
            node.archive.close()

    asyncio.run(asyncio.wait_for(main(), 90))


def _pnd_ian(series: dict[str, list[tuple[str, str]]], availability: str = "ONLINE") -> Any:
    from pydicom.dataset import Dataset as PDataset
    from pydicom.sequence import Sequence as PSequence

    ds = PDataset()
    ds.ReferencedPerformedProcedureStepSequence = PSequence([])
    ds.StudyInstanceUID = STUDY
    items = []
    for series_uid, refs in series.items():
        s = PDataset()
        s.SeriesInstanceUID = series_uid
        sops = []
        for cls, inst in refs:
            r = PDataset()
            r.ReferencedSOPClassUID = cls
            r.ReferencedSOPInstanceUID = inst
            r.InstanceAvailability = availability
            r.RetrieveAETitle = "PACS"
            sops.append(r)
        s.ReferencedSOPSequence = PSequence(sops)
        items.append(s)
    ds.ReferencedSeriesSequence = PSequence(items)
    return ds


@pytest.mark.slow  # pynetdicom's association set-up and release
def test_pynetdicom_notifies_the_node_which_keeps_and_lists_them(tmp_path: Path) -> None:
    pynetdicom = require_module("pynetdicom")
    series = {f"{STUDY}.1": [("1.2.840.10008.5.1.4.1.1.2", f"{STUDY}.1.{i}") for i in (1, 2)]}

    def scu(port: int) -> list[int]:
        ae = pynetdicom.AE(ae_title="PACS")
        ae.add_requested_context(IAN)
        assoc = ae.associate("127.0.0.1", port, ae_title="DICOMKIT")
        assert assoc.is_established
        try:
            uid = "1.2.826.0.1.3680043.10.543.33.9"
            statuses = []
            for ds, inst in (
                (_pnd_ian(series), uid),
                (_pnd_ian(series), uid),  # again: duplicate
                (_pnd_ian(series, availability="SOMEWHERE"), None),
            ):
                rsp, _ = assoc.send_n_create(ds, IAN, inst or "1.2.826.0.1.3680043.10.543.33.8")
                statuses.append(int(rsp.Status))
            bad = _pnd_ian(series)
            del bad.ReferencedSeriesSequence
            rsp, _ = assoc.send_n_create(bad, IAN, "1.2.826.0.1.3680043.10.543.33.7")
            statuses.append(int(rsp.Status))
            return statuses
        finally:
            assoc.release()

    got: dict[str, Any] = {}

    async def body(node: ArchiveNode, port: int) -> None:
        got["statuses"] = await asyncio.to_thread(scu, port)
        assert node.hosted.ian is not None
        got["received"] = node.hosted.ian.received(STUDY)
        got["other"] = node.hosted.ian.received("1.2.3")

    _run_node(_node_cfg(tmp_path), body)
    assert got["statuses"] == [0x0000, 0x0111, 0x0106, 0x0120]
    ((uid, calling, _when, ds),) = got["received"]
    assert (uid, calling) == ("1.2.826.0.1.3680043.10.543.33.9", "PACS")
    assert sorted(i[2] for i in instances_of(ds)) == [f"{STUDY}.1.1", f"{STUDY}.1.2"]
    assert got["other"] == []
    code, text, _ = cli("ian", "list", str(tmp_path / "arch"))
    assert code == 0 and "from PACS" in text and "2 instance(s)" in text
    assert "1 notification(s)" in text


@pytest.fixture
def subscriber() -> Iterator[tuple[int, list[Any], Any]]:
    """A pynetdicom IAN SCP titled RIS collecting the notifications it receives."""
    pynetdicom = require_module("pynetdicom")
    received: list[Any] = []
    lock = threading.Lock()

    def on_create(event: Any) -> Any:
        with lock:
            received.append((event.request.AffectedSOPInstanceUID, event.attribute_list))
        return 0x0000, event.attribute_list

    ae = pynetdicom.AE(ae_title="RIS")
    ae.add_supported_context(IAN)
    port = free_port()
    server = ae.start_server(
        ("127.0.0.1", port), block=False, evt_handlers=[(pynetdicom.evt.EVT_N_CREATE, on_create)]
    )
    try:
        yield port, received, server
    finally:
        server.shutdown()


def _study_rows(n_studies: int) -> list[dict[str, Any]]:
    rows = synthetic(4)
    studies = sorted({r["StudyInstanceUID"] for r in rows})[:n_studies]
    return [r for r in rows if r["StudyInstanceUID"] in studies]


async def _store_rows(port: int, rows: list[dict[str, Any]], folder: Path) -> None:
    files = [read_instance(p) for p in write_files(rows, folder)]
    async with AE("MODALITY").associate(
        "127.0.0.1", port, contexts=contexts_for(files), ae_title="DICOMKIT"
    ) as assoc:
        for inst in files:
            await store(assoc, inst)


@pytest.mark.parametrize("trigger", ["release", "stable"])
def test_node_announces_stored_studies_to_a_pynetdicom_subscriber(
    tmp_path: Path, subscriber: tuple[int, list[Any], Any], trigger: str
) -> None:
    port, received, server = subscriber
    if trigger == "release":  # the timer would take an hour: the release must trigger it
        settings = {"subscribers": ["RIS"], "stable_after": 3600, "_port": port}
    else:
        settings = {"subscribers": ["RIS"], "stable_after": 0.3, "on_release": False}
        settings["_port"] = port
    rows = _study_rows(2)
    want: dict[str, set[tuple[str, str, str]]] = {}
    for r in rows:
        want.setdefault(r["StudyInstanceUID"], set()).add(
            (r["SeriesInstanceUID"], r["SOPClassUID"], r["SOPInstanceUID"])
        )
    assert len(want) == 2

    def announced() -> dict[str, set[tuple[str, str, str]]]:
        """The instances of each study as its latest notification names them."""
        latest: dict[str, set[tuple[str, str, str]]] = {}
        for _uid, ds in list(received):
            latest[str(ds.StudyInstanceUID)] = {
                (
                    str(s.SeriesInstanceUID),
                    str(r.ReferencedSOPClassUID),
                    str(r.ReferencedSOPInstanceUID),
                )
                for s in ds.ReferencedSeriesSequence
                for r in s.ReferencedSOPSequence
            }
        return latest

    async def body(node: ArchiveNode, node_port: int) -> None:
        await _store_rows(node_port, rows, tmp_path / "files")
        await poll(lambda: announced() == want, "every study announced in full", 60)
        # stop only once the node has nothing left to send (no association in flight)
        await poll(
            lambda: not outbox.items(node.archive.index.db) and not server.active_associations,
            "an idle node",
            60,
        )

    _run_node(_node_cfg(tmp_path, **settings), body)
    assert announced() == want
    for _uid, ds in received:
        study = str(ds.StudyInstanceUID)
        for s in ds.ReferencedSeriesSequence:
            for r in s.ReferencedSOPSequence:
                assert r.InstanceAvailability == "ONLINE" and r.RetrieveAETitle == "DICOMKIT"
                key = (str(s.SeriesInstanceUID), str(r.ReferencedSOPClassUID))
                assert (*key, str(r.ReferencedSOPInstanceUID)) in want[study]
    if trigger == "release":  # one per study, sent when the storing association ended
        assert len(received) == 2


def test_ian_send_cli_to_pynetdicom(tmp_path: Path, subscriber: tuple[int, list[Any], Any]) -> None:
    port, received, _server = subscriber
    rows = _study_rows(1)
    files = write_files(rows, tmp_path / "files")
    code, text, err = cli(
        "ian", "send", "127.0.0.1", str(port), str(tmp_path / "files"), "--aec", "RIS"
    )
    assert code == 0, err
    assert f"{len(files)} instance(s)" in text
    ((_, ds),) = received
    assert {
        str(r.ReferencedSOPInstanceUID)
        for s in ds.ReferencedSeriesSequence
        for r in s.ReferencedSOPSequence
    } == {r["SOPInstanceUID"] for r in rows}


def test_notification_builder_and_checks() -> None:
    from dicomkit.services._ian import problem

    ds = notification(STUDY, {f"{STUDY}.1": [("1.2.3", f"{STUDY}.1.1")]}, retrieve_aet="A")
    assert problem(ds) is None
    assert instances_of(ds) == [(f"{STUDY}.1", "1.2.3", f"{STUDY}.1.1")]
    ds.ReferencedSeriesSequence[0].ReferencedSOPSequence[0].InstanceAvailability = "LOST"
    wrong = problem(ds)
    assert wrong is not None and wrong[0] == 0x0106
    with pytest.raises(ValueError, match="Instance Availability"):
        notification(STUDY, {}, availability="LOST")

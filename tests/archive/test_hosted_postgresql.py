"""The hosted services' tables on a real PostgreSQL server (commitment, worklist, MPPS, UPS):
the same SQL as on SQLite (upserts, ON CONFLICT, rowcounts), state kept across a new node."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from pg_server import postgres_server, reset

from dicomkit.archive._app import ArchiveNode
from dicomkit.archive._config import NodeConfig
from dicomkit.core._dataset import Dataset
from dicomkit.errors import ArchiveError
from dicomkit.services._worklist import worklist_query

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pg() -> Iterator[str]:
    with postgres_server() as url:
        yield url


def _node(url: str, tmp: Path) -> ArchiveNode:
    return ArchiveNode(NodeConfig(archive=tmp / "arch", db=url, host="127.0.0.1", port=0))


def test_hosted_state_on_postgresql(pg: str, tmp_path: Path) -> None:
    url = reset(pg)
    node = _node(url, tmp_path)
    hosted = node.hosted
    assert node.archive.index.db.dialect == "postgresql"
    assert hosted.commitment and hosted.worklist and hosted.mpps is not None and hosted.ups

    # commitment: persisted, rescheduled, then delivered
    txn = "1.2.826.0.1.3680043.10.543.8.1"
    hosted.commitment._persist(txn, "SCU", [("1.2.3", "4.5.6")])
    hosted.commitment._persist(txn, "SCU", [("1.2.3", "4.5.6")])  # a repeat is harmless
    hosted.commitment._reschedule(txn, "peer down")
    [(got_txn, calling, _)] = hosted.commitment.pending()
    assert (got_txn, calling) == (txn, "SCU")

    # worklist
    item = worklist_query(patient_name="DOE^PG", patient_id="PG1", modality="CT")
    item.StudyInstanceUID = "1.2.826.0.1.3680043.10.543.8.2"
    key = hosted.worklist.add(item)
    assert [e.patient_id for e in hosted.worklist.entries()] == ["PG1"]
    assert [str(d.PatientName) for d in hosted.worklist.items()] == ["DOE^PG"]

    # MPPS: a final state is never overwritten
    step = Dataset()
    step.PerformedProcedureStepStatus = "IN PROGRESS"
    hosted.mpps["9.8.7"] = step
    done = Dataset()
    done.PerformedProcedureStepStatus = "COMPLETED"
    hosted.mpps["9.8.7"] = done
    with pytest.raises(ArchiveError, match="final state"):
        hosted.mpps["9.8.7"] = step

    # UPS: a workitem changed in place and flushed
    ups = hosted.ups
    work = Dataset()
    work.ProcedureStepState = "SCHEDULED"
    work.ProcedureStepLabel = "pg"
    ups.workitems["7.7.7"] = work
    work.ProcedureStepState = "IN PROGRESS"
    ups.workitems.flush()
    ups.subscriptions["WATCH"] = {"7.7.7"}
    ups.global_subscribers["WATCH"] = True

    class _Msg:
        requested_sop_instance_uid = "7.7.7"

    class _Incoming:
        message = _Msg()

    ups._save(_Incoming())  # type: ignore[arg-type]
    node.archive.close()

    again = _node(url, tmp_path).hosted  # a new node on the same database
    assert again.commitment is not None and [p[0] for p in again.commitment.pending()] == [txn]
    assert again.worklist is not None and [e.item_uid for e in again.worklist.entries()] == [key]
    assert (
        again.mpps is not None and again.mpps["9.8.7"].PerformedProcedureStepStatus == "COMPLETED"
    )
    assert again.ups is not None
    assert again.ups.workitems["7.7.7"].ProcedureStepState == "IN PROGRESS"
    assert again.ups.subscriptions == {"WATCH": {"7.7.7"}}
    assert again.ups.global_subscribers == {"WATCH": True}
    assert again.worklist.remove(key) and not again.worklist.entries()
    asyncio.run(again.commitment.stop())
    again.node.archive.close()

"""The synchronous front runs the async driver on a background loop thread."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from dicomkit.core.dataset import Dataset
from dicomkit.net import Incoming
from dicomkit.net.proto import dimse
from dicomkit.net.sync import SyncAE

FIND = "1.2.840.10008.5.1.4.1.2.2.1"
LE = ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2"]


def test_sync_echo_find_and_release() -> None:
    def find(incoming: Incoming) -> Any:
        for name in ("A", "B"):
            ds = Dataset()
            ds.PatientName = name
            yield 0xFF00, ds

    with SyncAE("SCP", supported={FIND: LE, "1.2.840.10008.1.1": LE}) as scp_ae, \
            scp_ae.serve(0, {dimse.CFindRequest: find}) as server, SyncAE("SCU") as ae:
        with ae.associate("127.0.0.1", server.port, contexts=[FIND, "1.2.840.10008.1.1"]) as a:
            assert a.is_established
            assert a.echo() == 0
            got = list(a.request_iter(dimse.CFindRequest(affected_sop_class_uid=FIND),
                                      Dataset()))
            assert [r.status for r in got] == [0xFF00, 0xFF00, 0]
            assert [str(r.dataset.PatientName) for r in got[:2]] == ["A", "B"]
        assert not a.is_established
    # the loop threads are gone
    assert not [t for t in threading.enumerate() if t.name == "dicomkit-loop"]


def test_sync_call_from_loop_thread_refused() -> None:
    with SyncAE("X") as ae:
        runner = ae.runner

        async def inner() -> None:
            coro = ae.ae.serve(0)
            with pytest.raises(RuntimeError, match="deadlock"):
                runner.run(coro)

        runner.run(inner())

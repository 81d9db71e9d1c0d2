"""The synchronous front runs the async driver on a background loop thread."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from dicomkit.core._dataset import Dataset
from dicomkit.net import Incoming
from dicomkit.net._sync import SyncAE
from dicomkit.net.proto import _dimse as dimse

FIND = "1.2.840.10008.5.1.4.1.2.2.1"
LE = ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2"]


def test_sync_echo_find_and_release() -> None:
    def find(incoming: Incoming) -> Any:
        for name in ("A", "B"):
            ds = Dataset()
            ds.PatientName = name
            yield 0xFF00, ds

    with (
        SyncAE("SCP", supported={FIND: LE, "1.2.840.10008.1.1": LE}) as scp_ae,
        scp_ae.serve(0, {dimse.CFindRequest: find}) as server,
        SyncAE("SCU") as ae,
    ):
        with ae.associate("127.0.0.1", server.port, contexts=[FIND, "1.2.840.10008.1.1"]) as a:
            assert a.is_established
            assert a.echo().status == 0
            got = list(a.request_iter(dimse.CFindRequest(affected_sop_class_uid=FIND), Dataset()))
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


def test_sync_ae_wraps_a_given_ae_and_runs_coroutines() -> None:
    from dicomkit.net import AE

    commitment = "1.2.840.10008.1.20.1"

    class Custom(AE):
        pass

    async def report(incoming: Incoming) -> int:
        return 0

    inner = Custom(
        "SCP", roles={commitment: (False, True)}, handlers={dimse.NEventReportRequest: report}
    )
    with SyncAE(ae=inner) as scp_ae, scp_ae.serve(0) as server, SyncAE("SCU") as ae:
        assert scp_ae.ae is inner
        with ae.associate(
            "127.0.0.1", server.port, contexts=[commitment], roles={commitment: (False, True)}
        ) as a:
            assert a.accepted_contexts[0].scp_role  # the wrapped AE's roles were granted

        async def answer() -> int:
            return 42

        assert scp_ae.run(answer()) == 42
        assert ae.run(answer(), timeout=10) == 42


def test_sync_ae_with_ae_refuses_other_options() -> None:
    from dicomkit.net import AE

    with pytest.raises(TypeError):
        SyncAE(ae=AE("X"), handlers={dimse.CEchoRequest: lambda i: 0})

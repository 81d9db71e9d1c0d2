"""Handlers added from code: the node's acceptor (and a plain AE's) offers their SOP classes;
``dicomkit.services`` exports the service modules' public names."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from dicomkit import services
from dicomkit.archive._app import ArchiveNode
from dicomkit.archive._config import ConfigError, NodeConfig, from_mapping
from dicomkit.errors import LocalProtocolError
from dicomkit.net import AE, Incoming, response_for
from dicomkit.net.proto import _dimse as dimse
from dicomkit.services._commitment import STORAGE_COMMITMENT

#: a private SOP class nobody serves by default
PRIVATE = "1.2.826.0.1.3680043.9.7433.1.99"


def _action_handler(seen: list[str]) -> Any:
    def handle(incoming: Incoming) -> dimse.DimseResponse:
        msg = incoming.message
        assert isinstance(msg, dimse.NActionRequest)
        seen.append(msg.requested_sop_class_uid)
        return response_for(msg, 0)

    return handle


def _action() -> dimse.NActionRequest:
    return dimse.NActionRequest(
        requested_sop_class_uid=PRIVATE, requested_sop_instance_uid="1.2.3", action_type_id=1
    )


def run_node(cfg: NodeConfig, body: Any, setup: Any = None) -> None:
    async def main() -> None:
        node = ArchiveNode(cfg)
        if setup is not None:
            setup(node)
        server = await node.start()
        try:
            await body(node, server.port)
        finally:
            await server.close()
            await node.hosted.stop()
            node.archive.close()

    asyncio.run(asyncio.wait_for(main(), 60))


def test_node_offers_an_added_handler(tmp_path: Path) -> None:
    seen: list[str] = []
    cfg = NodeConfig(archive=tmp_path / "a", host="127.0.0.1", port=0)

    async def body(node: ArchiveNode, port: int) -> None:
        async with AE("SCU").associate(
            "127.0.0.1", port, contexts=[PRIVATE], ae_title="DICOMKIT"
        ) as a:
            rsp = await a.request(_action(), context=a.context_for(PRIVATE))
            assert rsp.status == 0
        # added while running: new associations see it
        node.add_handler(dimse.NEventReportRequest, _action_handler(seen), sop_classes=["1.2.9"])
        async with AE("SCU").associate(
            "127.0.0.1", port, contexts=["1.2.9"], ae_title="DICOMKIT"
        ) as a:
            a.context_for("1.2.9")

    run_node(
        cfg,
        body,
        lambda node: node.add_handler(
            dimse.NActionRequest, _action_handler(seen), sop_classes=[PRIVATE]
        ),
    )
    assert seen == [PRIVATE]


def test_node_without_the_handler_refuses_the_context(tmp_path: Path) -> None:
    cfg = NodeConfig(archive=tmp_path / "a", host="127.0.0.1", port=0)

    async def body(_node: ArchiveNode, port: int) -> None:
        async with AE("SCU").associate(
            "127.0.0.1", port, contexts=[PRIVATE, STORAGE_COMMITMENT], ae_title="DICOMKIT"
        ) as a:
            with pytest.raises(LocalProtocolError):
                a.context_for(PRIVATE)
            a.context_for(STORAGE_COMMITMENT)  # hosted by default

    run_node(cfg, body)


def test_commitment_can_be_turned_off(tmp_path: Path) -> None:
    cfg = from_mapping(
        {
            "server": {"archive": str(tmp_path / "a"), "host": "127.0.0.1", "port": 0},
            "commitment": {"enabled": False},
        }
    )

    async def body(node: ArchiveNode, port: int) -> None:
        assert node.hosted.commitment is None
        async with AE("SCU").associate(
            "127.0.0.1", port, contexts=[STORAGE_COMMITMENT], ae_title="DICOMKIT"
        ) as a:
            with pytest.raises(LocalProtocolError):
                a.context_for(STORAGE_COMMITMENT)

    run_node(cfg, body)


def test_bad_service_sections_are_refused() -> None:
    with pytest.raises(ConfigError, match="retry_max"):
        from_mapping({"commitment": {"retry_max": "soon"}})
    with pytest.raises(ConfigError, match="unknown key"):
        from_mapping({"commitment": {"retries": 3}})
    with pytest.raises(ConfigError, match="unknown config section"):
        from_mapping({"autopilot": {}})


def test_plain_ae_add_handler_with_explicit_supported() -> None:
    seen: list[str] = []

    async def main() -> None:
        ae = AE("SCP", supported={"1.2.840.10008.1.1": ["1.2.840.10008.1.2"]})
        ae.add_handler(dimse.NActionRequest, _action_handler(seen), sop_classes=[PRIVATE])
        server = await ae.serve(0)
        try:
            async with AE("SCU").associate("127.0.0.1", server.port, contexts=[PRIVATE]) as a:
                rsp = await a.request(_action(), context=a.context_for(PRIVATE))
                assert rsp.status == 0
        finally:
            await server.close()

    asyncio.run(asyncio.wait_for(main(), 30))
    assert seen == [PRIVATE]


def test_services_exports_the_service_modules() -> None:
    for name in services.__all__:
        assert getattr(services, name) is not None, name
    assert services.mpps.MPPSSCP is services.MPPSSCP
    assert services.StorageCommitmentSCP.__module__ == "dicomkit.services._commitment"
    assert services.UPSSCP.__module__ == "dicomkit.services._ups"
    assert callable(services.worklist.find) and callable(services.commitment.commit)
    with pytest.raises(AttributeError):
        _ = services.no_such_name


def test_start_up_line_names_the_hosted_services(tmp_path: Path) -> None:
    from dicomkit.archive._app import describe
    from dicomkit.archive._node import Archive

    with Archive(tmp_path / "a") as archive:
        line = describe(NodeConfig(), 11112, archive)
        assert line.endswith(
            "; also Storage Commitment, Modality Worklist, MPPS, UPS, "
            "Instance Availability Notification, IOCM rejection notes"
        )
        off = from_mapping(
            {"worklist": {"enabled": False}, "ups": {"enabled": False}, "ian": {"enabled": False}}
        )
        assert describe(off, 11112, archive).endswith(
            "; also Storage Commitment, MPPS, IOCM rejection notes"
        )

"""Negotiation options at the AE level (PS3.7 D.3.3, PS3.8 9.3.4): calling / called AE title
checks, SOP class extended negotiation (mapping or callable), the asynchronous operations
window; and the CLI options built on them (``--username``, ``find --relational``).
In-memory transport, or 127.0.0.1 for the CLI; no sleeps."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import run

from dicomkit.cli._main import main as cli_main
from dicomkit.errors import AssociationRejected
from dicomkit.net import AE, AEConfig, Association, Incoming
from dicomkit.net._config import UserIdentity
from dicomkit.net._memory import memory_pair
from dicomkit.net._sync import SyncAE
from dicomkit.net.proto import _dimse as dimse
from dicomkit.net.proto._items import SOPClassExtendedNegotiationItem, UserIdentityACItem

VERIFICATION = "1.2.840.10008.1.1"
FIND = "1.2.840.10008.5.1.4.1.2.2.1"  # Study Root Q/R FIND
MOVE = "1.2.840.10008.5.1.4.1.2.2.2"
LE = ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2"]
SUPPORTED = {VERIFICATION: LE, FIND: LE, MOVE: LE}


async def connect(
    cfg: AEConfig, *, calling: str = "SCU", called: str = "SCP", **kw: Any
) -> tuple[Association, Association]:
    client, server = memory_pair()
    srv = await AE(cfg.ae_title, config=cfg, supported=SUPPORTED).serve_transport(server)
    assoc = await AE(calling).associate(
        "", 0, transport=client, ae_title=called, contexts=[VERIFICATION, FIND, MOVE], **kw
    )
    return assoc, srv


async def reject_reason(cfg: AEConfig, **kw: Any) -> tuple[int, int, int]:
    with pytest.raises(AssociationRejected) as info:
        await connect(cfg, **kw)
    exc = info.value
    return exc.result, exc.source, exc.reason


# -- AE titles -------------------------------------------------------------------------------


def test_accepted_calling_aets() -> None:
    async def main() -> None:
        cfg = AEConfig(ae_title="SCP", accepted_calling_aets=["SCU ", "OTHER"])
        assert cfg.accepted_calling_aets == frozenset({"SCU", "OTHER"})
        assoc, srv = await connect(cfg)
        assert srv.calling_ae == "SCU"
        await assoc.release()
        assert await reject_reason(cfg, calling="STRANGER") == (1, 1, 3)

    run(main())


def test_required_called_aet() -> None:
    async def main() -> None:
        cfg = AEConfig(ae_title="SCP", require_called_aet=True)
        assoc, _srv = await connect(cfg)
        await assoc.release()
        assert await reject_reason(cfg, called="NOT-SCP") == (1, 1, 7)
        # both wrong: the called title is looked at first
        both = AEConfig(ae_title="SCP", require_called_aet=True, accepted_calling_aets={"X"})
        assert await reject_reason(both, called="NOT-SCP") == (1, 1, 7)

    run(main())


def test_acceptor_config_reflects_the_options() -> None:
    cfg = AEConfig(
        ae_title="SCP",
        accepted_calling_aets={"A"},
        require_called_aet=True,
        extended={FIND: b"\x01"},
        async_ops=(4, 2),
    )
    acc = AE("SCP", config=cfg).acceptor_config({})
    assert acc.calling_ae_titles == frozenset({"A"})
    assert acc.called_ae_titles == frozenset({"SCP"})
    assert dict(acc.extended) == {FIND: b"\x01"}
    assert acc.async_window == (4, 2)
    default = AE("SCP").acceptor_config({})
    assert default.calling_ae_titles is None and dict(default.extended) == {}
    assert default.async_window == (1, 1)
    # a callable policy is applied per request, not through the AcceptorConfig
    assert (
        dict(
            AE("SCP", config=AEConfig(extended=lambda uid, info: info)).acceptor_config({}).extended
        )
        == {}
    )


# -- SOP class extended negotiation ------------------------------------------------------------


def test_extended_not_configured_is_not_answered() -> None:
    async def main() -> None:
        assoc, srv = await connect(AEConfig(ae_title="SCP"), extended={FIND: b"\x01"})
        assert assoc.extended == {} and srv.extended == {}
        rq = srv.engine.associate_rq
        assert rq is not None
        assert [
            (e.sop_class_uid, e.application_info) for e in rq.user_information.extended_negotiations
        ] == [(FIND, b"\x01")]
        await assoc.release()

    run(main())


def test_extended_mapping_answers_what_both_support() -> None:
    async def main() -> None:
        cfg = AEConfig(ae_title="SCP", extended={FIND: b"\x01\x00\x01"})
        assoc, srv = await connect(cfg, extended={FIND: b"\x01\x01\x01", MOVE: b"\x01"})
        assert assoc.extended == {FIND: b"\x01\x00\x01"}
        assert srv.extended == {FIND: b"\x01\x00\x01"}
        await assoc.release()

    run(main())


def test_extended_callable_decides_each_answer() -> None:
    asked: list[tuple[str, bytes]] = []

    def policy(sop_class: str, info: bytes) -> bytes | None:
        asked.append((sop_class, info))
        if sop_class == MOVE:
            raise RuntimeError("bug in a policy: that class gets no answer")
        return b"\x01\x00" if sop_class == FIND else None

    async def main() -> None:
        cfg = AEConfig(ae_title="SCP", extended=policy, identity_check=lambda ident: b"tok")
        assoc, srv = await connect(
            cfg,
            extended={FIND: b"\x01\x01", MOVE: b"\x01", VERIFICATION: b"\x07"},
            user_identity=UserIdentity(1, "u", positive_response_requested=True),
        )
        assert asked == [(FIND, b"\x01\x01"), (MOVE, b"\x01"), (VERIFICATION, b"\x07")]
        assert assoc.extended == {FIND: b"\x01\x00"} == srv.extended
        assert assoc.user_identity_response == b"tok"
        ac = assoc.engine.associate_ac
        assert ac is not None
        kinds = [type(s) for s in ac.user_information.sub_items]
        # the extended answers come before the user identity answer
        assert kinds.index(SOPClassExtendedNegotiationItem) < kinds.index(UserIdentityACItem)
        await assoc.release()

    run(main())


# -- asynchronous operations window ------------------------------------------------------------


@pytest.mark.parametrize(
    ("ours", "asked", "expected"),
    [
        ((1, 1), (5, 3), (1, 1)),
        ((4, 2), (5, 3), (4, 2)),
        ((0, 0), (5, 3), (5, 3)),
        ((4, 0), (0, 3), (4, 3)),
        ((4, 4), None, (1, 1)),  # not proposed: the default window
    ],
)
def test_async_ops_window(
    ours: tuple[int, int], asked: tuple[int, int] | None, expected: tuple[int, int]
) -> None:
    async def main() -> None:
        assoc, srv = await connect(AEConfig(ae_title="SCP", async_ops=ours), async_ops=asked)
        assert assoc.async_ops == expected == srv.async_ops
        assert [(await assoc.echo()).status for _ in range(3)] == [0, 0, 0]
        await assoc.release()

    run(main())


# -- the sync front, and the CLI over 127.0.0.1 ------------------------------------------------


@pytest.fixture
def recording_scp() -> Any:
    seen: list[Association] = []

    async def on_echo(incoming: Incoming) -> int:
        seen.append(incoming.association)
        return 0

    async def on_find(incoming: Incoming) -> int:
        seen.append(incoming.association)
        return 0

    cfg = AEConfig(
        ae_title="SCP",
        extended={FIND: b"\x01"},
        identity_check=lambda ident: ident is None or ident.passcode == "pw",
    )
    sync = SyncAE("SCP", config=cfg, supported=SUPPORTED)
    with sync, sync.serve(0, {dimse.CEchoRequest: on_echo, dimse.CFindRequest: on_find}) as srv:
        yield srv.port, seen, sync


def test_sync_ae_passes_the_options(recording_scp: Any) -> None:
    port, _seen, _sync = recording_scp
    with (
        SyncAE("SCU") as scu,
        scu.associate(
            "127.0.0.1",
            port,
            ae_title="SCP",
            contexts=[FIND],
            user_identity=UserIdentity(2, "u", "pw"),
            extended={FIND: b"\x01\x01"},
            async_ops=(2, 2),
        ) as assoc,
    ):
        assert assoc.association.extended == {FIND: b"\x01"}
        assert assoc.association.async_ops == (1, 1)
        assert assoc.association.user_identity == UserIdentity(2, "u", "pw")
    with SyncAE("SCU") as scu, pytest.raises(AssociationRejected):
        scu.associate("127.0.0.1", port, ae_title="SCP", user_identity=UserIdentity(2, "u", "x"))


def test_cli_echo_username_password(recording_scp: Any, capsys: pytest.CaptureFixture[str]) -> None:
    port, seen, _sync = recording_scp
    assert (
        cli_main(
            [
                "echo",
                "127.0.0.1",
                str(port),
                "--aec",
                "SCP",
                "--username",
                "u",
                "--password",
                "pw",
                "--pos-response",
            ]
        )
        == 0
    )
    assert seen[-1].user_identity == UserIdentity(2, "u", "pw", True)
    assert (
        cli_main(
            ["echo", "127.0.0.1", str(port), "--aec", "SCP", "--user", "u", "--password", "wrong"]
        )
        == 1
    )
    assert "rejected" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        cli_main(["echo", "127.0.0.1", str(port), "--password", "pw"])
    assert info.value.code == 2


def test_cli_find_relational(recording_scp: Any, capsys: pytest.CaptureFixture[str]) -> None:
    port, seen, _sync = recording_scp
    assert cli_main(["find", "127.0.0.1", str(port), "--aec", "SCP", "--relational"]) == 0
    assert seen[-1].extended == {FIND: b"\x01"}
    assert "did not accept" not in capsys.readouterr().err
    assert cli_main(["find", "127.0.0.1", str(port), "--aec", "SCP"]) == 0
    assert seen[-1].extended == {}


def test_cli_find_relational_declined(capsys: pytest.CaptureFixture[str]) -> None:
    sync = SyncAE("SCP", supported=SUPPORTED)
    with sync, sync.serve(0) as srv:
        code = cli_main(["find", "127.0.0.1", str(srv.port), "--aec", "SCP", "--relational"])
    assert code == 1  # no C-FIND handler: 0211H
    assert "did not accept relational queries" in capsys.readouterr().err

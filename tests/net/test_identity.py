"""User identity negotiation at the AE level (PS3.7 D.3.3.7): ``AE.associate(user_identity=)``
and ``AEConfig.identity_check``. In-memory transport: no sockets, no sleeps."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import pytest
from helpers import run

from dicomkit.errors import AssociationAborted, AssociationRejected
from dicomkit.net import AE, AEConfig, Association, Timeouts
from dicomkit.net._config import UserIdentity
from dicomkit.net._memory import memory_pair
from dicomkit.net.proto._items import UserIdentityACItem, UserIdentityRQItem

VERIFICATION = "1.2.840.10008.1.1"
USER = UserIdentity(UserIdentity.USERNAME_PASSCODE, "alice", "s3cret", True)


async def connect(
    scp_config: AEConfig | None = None, scu_config: AEConfig | None = None, **kw: Any
) -> tuple[Association, Association]:
    client, server = memory_pair()
    srv = await AE("SCP", config=scp_config).serve_transport(server)
    assoc = await AE("SCU", config=scu_config).associate(
        "", 0, transport=client, ae_title="SCP", **kw
    )
    return assoc, srv


async def rejected(scp_config: AEConfig, **kw: Any) -> tuple[AssociationRejected, Association]:
    client, server = memory_pair()
    srv = await AE("SCP", config=scp_config).serve_transport(server)
    with pytest.raises(AssociationRejected) as info:
        await AE("SCU").associate("", 0, transport=client, ae_title="SCP", **kw)
    await srv.wait_closed()
    return info.value, srv


def test_user_identity_value() -> None:
    ident = UserIdentity(2, "jöe", "pw")
    assert ident.primary == "jöe".encode() and ident.secondary == b"pw"
    assert ident.username == "jöe" and ident.passcode == "pw"
    assert ident.to_item() == UserIdentityRQItem(2, "jöe".encode(), b"pw", False)
    assert UserIdentity.from_item(ident.to_item()) == ident
    assert "pw" not in repr(ident) and "jöe" not in repr(ident)
    with pytest.raises(ValueError):
        UserIdentity(0, b"x")


def test_identity_reaches_scp_without_a_check_and_no_response_is_sent() -> None:
    async def main() -> None:
        assoc, srv = await connect(user_identity=USER)
        assert srv.user_identity == USER
        assert assoc.user_identity == USER
        assert assoc.user_identity_response is None
        assert srv.user_identity_response is None
        assert (await assoc.echo()).status == 0
        await assoc.release()
        await srv.wait_closed()

    run(main())


def test_config_user_identity_is_the_default() -> None:
    async def main() -> None:
        assoc, srv = await connect(scu_config=AEConfig(ae_title="SCU", user_identity=USER))
        assert srv.user_identity == USER
        await assoc.release()
        other = UserIdentity(1, "bob")
        assoc, srv = await connect(
            scu_config=AEConfig(ae_title="SCU", user_identity=USER), user_identity=other
        )
        assert srv.user_identity == other
        await assoc.release()

    run(main())


def test_sync_check_accepts_with_server_response() -> None:
    seen: list[tuple[UserIdentity | None, bool]] = []

    def check(ident: UserIdentity | None) -> bytes | bool:
        # plain functions run in a worker thread, like handlers
        seen.append((ident, threading.current_thread() is threading.main_thread()))
        assert ident is not None
        return b"token-42" if ident.passcode == "s3cret" else False

    async def main() -> None:
        assoc, srv = await connect(
            AEConfig(ae_title="SCP", identity_check=check), user_identity=USER
        )
        assert seen == [(USER, False)]
        assert assoc.user_identity_response == b"token-42"
        assert srv.user_identity_response == b"token-42"
        ac = assoc.engine.associate_ac
        assert ac is not None
        assert ac.user_information.user_identity_response == UserIdentityACItem(b"token-42")
        assert (await assoc.echo()).status == 0
        await assoc.release()

    run(main())


def test_async_check_true_accepts_without_response() -> None:
    async def check(ident: UserIdentity | None) -> bool:
        await asyncio.sleep(0)
        return ident is not None and ident.username == "alice"

    async def main() -> None:
        assoc, srv = await connect(
            AEConfig(ae_title="SCP", identity_check=check), user_identity=USER
        )
        assert assoc.user_identity_response is None
        assert srv.user_identity == USER
        await assoc.release()

    run(main())


def test_async_callable_object_check() -> None:
    class Directory:
        async def __call__(self, ident: UserIdentity | None) -> bytes:
            return b"ok"

    async def main() -> None:
        assoc, _srv = await connect(
            AEConfig(ae_title="SCP", identity_check=Directory()), user_identity=USER
        )
        assert assoc.user_identity_response == b"ok"
        await assoc.release()

    run(main())


def test_response_only_when_positive_response_requested() -> None:
    async def main() -> None:
        cfg = AEConfig(ae_title="SCP", identity_check=lambda ident: b"token")
        plain = UserIdentity(UserIdentity.USERNAME, "alice")
        assoc, srv = await connect(cfg, user_identity=plain)
        assert assoc.user_identity_response is None
        assert srv.user_identity == plain
        await assoc.release()

    run(main())


def wrong_password(ident: UserIdentity | None) -> bool:
    return ident is not None and ident.passcode == "right"


def forgets_to_return(ident: UserIdentity | None) -> None:
    pass


def fails(ident: UserIdentity | None) -> bool:
    raise RuntimeError("directory down")


async def async_false(ident: UserIdentity | None) -> bool:
    return False


@pytest.mark.parametrize(
    "check", [wrong_password, forgets_to_return, fails, async_false, lambda ident: 1]
)
def test_rejected_identity_is_1_1_1(check: Any, caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        with caplog.at_level(logging.INFO, logger="dicomkit.net"):
            exc, srv = await rejected(
                AEConfig(ae_title="SCP", identity_check=check), user_identity=USER
            )
        assert (exc.result, exc.source, exc.reason) == (1, 1, 1)
        assert srv.negotiated is None
        assert "user identity rejected" in caplog.text
        assert "s3cret" not in caplog.text

    run(main())


def test_check_sees_none_when_no_identity_is_sent() -> None:
    seen: list[Any] = []

    def check(ident: UserIdentity | None) -> bool:
        seen.append(ident)
        return ident is not None

    async def main() -> None:
        exc, _srv = await rejected(AEConfig(ae_title="SCP", identity_check=check))
        assert (exc.result, exc.source, exc.reason) == (1, 1, 1)
        assert seen == [None]

    run(main())


def test_check_not_consulted_when_titles_reject() -> None:
    seen: list[Any] = []

    def check(ident: UserIdentity | None) -> bool:
        seen.append(ident)
        return True

    async def main() -> None:
        cfg = AEConfig(ae_title="SCP", identity_check=check, accepted_calling_aets={"OTHER"})
        exc, _srv = await rejected(cfg, user_identity=USER)
        assert (exc.result, exc.source, exc.reason) == (1, 1, 3)
        assert seen == []

    run(main())


def test_check_without_answer_is_rejected_after_acse_timeout() -> None:
    never = asyncio.Event()

    async def check(ident: UserIdentity | None) -> bool:
        await never.wait()
        return True

    async def main() -> None:
        cfg = AEConfig(
            ae_title="SCP",
            identity_check=check,
            timeouts=Timeouts(acse=0.05, dimse=None, idle=None),
        )
        exc, _srv = await rejected(cfg, user_identity=USER)
        assert (exc.result, exc.source, exc.reason) == (1, 1, 1)

    run(main())


def test_requestor_abort_while_the_check_runs() -> None:
    entered = asyncio.Event()
    never = asyncio.Event()
    cancelled: list[bool] = []

    async def check(ident: UserIdentity | None) -> bool:
        entered.set()
        try:
            await never.wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise
        return True

    async def main() -> None:
        client, server = memory_pair()
        srv = await AE(
            "SCP", config=AEConfig(ae_title="SCP", identity_check=check)
        ).serve_transport(server)
        task = asyncio.ensure_future(
            AE("SCU").associate("", 0, transport=client, user_identity=USER)
        )
        await entered.wait()
        task.cancel()  # the requestor gives up: A-ABORT
        with pytest.raises(asyncio.CancelledError):
            await task
        await srv.wait_closed()
        assert srv.negotiated is None
        assert isinstance(srv.error, AssociationAborted)
        check_task = srv.link._identity_task
        assert check_task is not None
        await asyncio.gather(check_task, return_exceptions=True)
        assert check_task.cancelled() and cancelled == [True]

    run(main())

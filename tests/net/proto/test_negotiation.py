"""Association negotiation (PS3.8 7.1.1, 9.3.3-9.3.4; PS3.7 D.3.3)."""

from __future__ import annotations

import pytest

from dicomkit.errors import RemoteProtocolError
from dicomkit.net.proto import _items as it
from dicomkit.net.proto._negotiation import (
    AcceptorConfig,
    accept,
    build_request,
    negotiate,
)
from dicomkit.net.proto._pdu import AAssociateAC, AAssociateRJ, AAssociateRQ

from .helpers import CT, EXPLICIT, IMPLICIT, VERIFICATION

DEFLATED = "1.2.840.10008.1.2.1.99"
MR = "1.2.840.10008.5.1.4.1.1.4"
FIND = "1.2.840.10008.5.1.4.1.2.2.1"


def _ac(rq: AAssociateRQ, config: AcceptorConfig, **kw: object) -> AAssociateAC:
    ac = accept(rq, config, **kw)  # type: ignore[arg-type]
    assert isinstance(ac, AAssociateAC)
    return ac


def test_build_request_ids_and_items() -> None:
    rq = build_request(
        "B",
        "A",
        [(VERIFICATION, [IMPLICIT]), (CT, [EXPLICIT, IMPLICIT])],
        max_pdu_length=32768,
        roles={CT: (True, True)},
        async_window=(4, 2),
        extended={FIND: b"\x01"},
        common_extended=[it.SOPClassCommonExtendedNegotiationItem(CT, "1.2.840.10008.4.2")],
        user_identity=it.UserIdentityRQItem(2, b"u", b"p", True),
    )
    assert [pc.context_id for pc in rq.presentation_contexts] == [1, 3]
    ui = rq.user_information
    assert ui.max_length == 32768
    assert ui.implementation_class_uid and ui.implementation_version_name
    assert ui.async_window == it.AsyncOperationsWindowItem(4, 2)
    assert ui.role_selections == (it.RoleSelectionItem(CT, True, True),)
    assert ui.user_identity is not None and ui.user_identity.identity_type == 2
    assert len(ui.common_extended_negotiations) == 1


def test_build_request_limits() -> None:
    ids = build_request("B", "A", [(f"1.2.{i}", [IMPLICIT]) for i in range(128)])
    assert ids.presentation_contexts[-1].context_id == 255
    with pytest.raises(ValueError):
        build_request("B", "A", [(f"1.2.{i}", [IMPLICIT]) for i in range(129)])
    with pytest.raises(ValueError):
        build_request("B", "A", [])


def test_context_results() -> None:
    rq = build_request(
        "B",
        "A",
        [
            (VERIFICATION, [IMPLICIT]),  # 1 accepted
            (CT, [DEFLATED]),  # 3 transfer syntaxes not supported
            ("1.2.3", [IMPLICIT]),  # 5 abstract syntax not supported
            (MR, [IMPLICIT]),  # 7 user rejection
        ],
    )
    config = AcceptorConfig(
        supported={VERIFICATION: [IMPLICIT], CT: [EXPLICIT], MR: [IMPLICIT]},
        user_rejected=frozenset({MR}),
    )
    ac = _ac(rq, config)
    assert [(pc.context_id, pc.result) for pc in ac.presentation_contexts] == [
        (1, 0),
        (3, 4),
        (5, 3),
        (7, 1),
    ]
    assert ac.presentation_contexts[0].transfer_syntax == IMPLICIT
    assert ac.called_ae == "B" and ac.calling_ae == "A"


def test_even_and_duplicate_ids_rejected_no_reason() -> None:
    pcs = (
        it.PresentationContextRQItem(2, VERIFICATION, (IMPLICIT,)),
        it.PresentationContextRQItem(1, VERIFICATION, (IMPLICIT,)),
        it.PresentationContextRQItem(1, VERIFICATION, (IMPLICIT,)),
    )
    rq = AAssociateRQ("B", "A", pcs)
    ac = _ac(rq, AcceptorConfig(supported={VERIFICATION: [IMPLICIT]}))
    assert [pc.result for pc in ac.presentation_contexts] == [2, 0, 2]


def test_transfer_syntax_preference() -> None:
    rq = build_request("B", "A", [(CT, [IMPLICIT, EXPLICIT])])
    config = AcceptorConfig(supported={CT: [EXPLICIT, IMPLICIT]})
    assert _ac(rq, config).presentation_contexts[0].transfer_syntax == EXPLICIT
    config = AcceptorConfig(supported={CT: [EXPLICIT, IMPLICIT]}, prefer_requestor_order=True)
    assert _ac(rq, config).presentation_contexts[0].transfer_syntax == IMPLICIT


@pytest.mark.parametrize(
    ("kwargs", "config", "rj"),
    [
        ({}, AcceptorConfig(called_ae_titles=frozenset({"OTHER"})), AAssociateRJ(1, 1, 7)),
        ({}, AcceptorConfig(calling_ae_titles=frozenset({"OTHER"})), AAssociateRJ(1, 1, 3)),
        ({"busy": True}, AcceptorConfig(), AAssociateRJ(2, 3, 1)),
        ({"limit_exceeded": True}, AcceptorConfig(), AAssociateRJ(2, 3, 2)),
    ],
)
def test_rejections(kwargs: dict[str, bool], config: AcceptorConfig, rj: AAssociateRJ) -> None:
    rq = build_request("B", "A", [(VERIFICATION, [IMPLICIT])])
    assert accept(rq, config, **kwargs) == rj


def test_reject_application_context_and_too_many_contexts() -> None:
    rq = build_request("B", "A", [(VERIFICATION, [IMPLICIT])])
    bad = AAssociateRQ("B", "A", rq.presentation_contexts, rq.user_information, "1.2.3")
    assert accept(bad, AcceptorConfig()) == AAssociateRJ(1, 1, 2)
    many = tuple(
        it.PresentationContextRQItem(1 + 2 * (i % 128), VERIFICATION, (IMPLICIT,))
        for i in range(129)
    )
    assert accept(AAssociateRQ("B", "A", many), AcceptorConfig()) == AAssociateRJ(1, 1, 1)


def test_ae_titles_accepted() -> None:
    rq = build_request("B", "A", [(VERIFICATION, [IMPLICIT])])
    config = AcceptorConfig(
        supported={VERIFICATION: [IMPLICIT]},
        called_ae_titles=frozenset({"B"}),
        calling_ae_titles=frozenset({"A"}),
    )
    assert isinstance(accept(rq, config), AAssociateAC)


def test_roles_negotiated() -> None:
    rq = build_request(
        "B",
        "A",
        [(CT, [IMPLICIT]), (MR, [IMPLICIT]), (VERIFICATION, [IMPLICIT])],
        roles={CT: (True, True), MR: (False, True)},
    )
    config = AcceptorConfig(
        supported={CT: [IMPLICIT], MR: [IMPLICIT], VERIFICATION: [IMPLICIT]},
        roles={CT: (False, True)},  # MR not listed: no reply, default roles
    )
    ac = _ac(rq, config)
    assert ac.user_information.role_selections == (it.RoleSelectionItem(CT, False, True),)
    n = negotiate(rq, ac)
    assert (n.contexts[1].scu_role, n.contexts[1].scp_role) == (False, True)
    assert (n.contexts[3].scu_role, n.contexts[3].scp_role) == (True, False)  # default
    assert (n.contexts[5].scu_role, n.contexts[5].scp_role) == (True, False)


def test_extended_async_identity() -> None:
    rq = build_request(
        "B",
        "A",
        [(FIND, [IMPLICIT])],
        async_window=(0, 5),
        extended={FIND: b"\x01\x01\x01"},
        user_identity=it.UserIdentityRQItem(1, b"bob", positive_response_requested=True),
    )
    config = AcceptorConfig(
        supported={FIND: [IMPLICIT]}, extended={FIND: b"\x01\x00"}, async_window=(3, 2)
    )
    ac = _ac(rq, config, user_identity_response=b"")
    ui = ac.user_information
    assert ui.async_window == it.AsyncOperationsWindowItem(3, 2)
    assert ui.extended_negotiations == (it.SOPClassExtendedNegotiationItem(FIND, b"\x01\x00"),)
    assert ui.user_identity_response == it.UserIdentityACItem(b"")
    n = negotiate(rq, ac)
    assert (n.max_operations_invoked, n.max_operations_performed) == (3, 2)
    assert n.extended == {FIND: b"\x01\x00"}
    assert n.user_identity_response == b""
    assert n.user_identity is not None and n.user_identity.primary == b"bob"
    # no positive response requested -> none sent
    rq2 = build_request(
        "B", "A", [(FIND, [IMPLICIT])], user_identity=it.UserIdentityRQItem(1, b"x")
    )
    assert (
        _ac(rq2, config, user_identity_response=b"r").user_information.user_identity_response
        is None
    )


def test_negotiate_max_pdu_and_find() -> None:
    rq = build_request("B", "A", [(CT, [EXPLICIT]), (CT, [IMPLICIT])], max_pdu_length=0)
    ac = _ac(rq, AcceptorConfig(supported={CT: [EXPLICIT, IMPLICIT]}, max_pdu_length=12345))
    n = negotiate(rq, ac)
    assert n.requestor_max_pdu_length == 0 and n.acceptor_max_pdu_length == 12345
    assert n.find(CT) == n.contexts[1]
    assert n.find(CT, IMPLICIT) == n.contexts[3]
    assert n.find(MR) is None
    assert len(n.accepted) == 2
    assert n.calling_ae == "A" and n.called_ae == "B"


def test_negotiate_rejects_bogus_ac() -> None:
    rq = build_request("B", "A", [(CT, [EXPLICIT])])
    with pytest.raises(RemoteProtocolError):
        negotiate(rq, AAssociateAC("B", "A", (it.PresentationContextACItem(3, 0, EXPLICIT),)))
    with pytest.raises(RemoteProtocolError):
        negotiate(rq, AAssociateAC("B", "A", (it.PresentationContextACItem(1, 0, IMPLICIT),)))

"""Two upper-layer engines wired back to back in memory (no sockets, no sleeps)."""

from __future__ import annotations

from dicomkit.net.proto import _events as ev
from dicomkit.net.proto._negotiation import AcceptorConfig, accept, build_request
from dicomkit.net.proto._pdu import AAssociateAC, AAssociateRQ
from dicomkit.net.proto._upper_layer import Role, UpperLayer

VERIFICATION = "1.2.840.10008.1.1"
CT = "1.2.840.10008.5.1.4.1.1.2"
IMPLICIT = "1.2.840.10008.1.2"
EXPLICIT = "1.2.840.10008.1.2.1"


def make_rq(max_pdu_length: int = 16384) -> AAssociateRQ:
    return build_request(
        "STORESCP",
        "STORESCU",
        [(VERIFICATION, [IMPLICIT]), (CT, [EXPLICIT, IMPLICIT]), ("1.2.3.4", [IMPLICIT])],
        max_pdu_length=max_pdu_length,
    )


CONFIG = AcceptorConfig(supported={VERIFICATION: [IMPLICIT], CT: [EXPLICIT, IMPLICIT]})


def sent(ul: UpperLayer) -> bytes:
    """What the engine has to send (its outbound buffer, emptied), as one byte string."""
    return b"".join(ul.data_to_send())


class Pair:
    """A requestor and an acceptor; ``pump`` carries bytes until both are quiet."""

    def __init__(self, **kwargs: int) -> None:
        self.scu = UpperLayer(Role.REQUESTOR, **kwargs)
        self.scp = UpperLayer(Role.ACCEPTOR, **kwargs)
        self.to_scp: list[bytes] = []
        self.to_scu: list[bytes] = []
        self.scu_events: list[ev.OutputEvent] = []
        self.scp_events: list[ev.OutputEvent] = []

    def pump(self) -> None:
        while self.to_scp or self.to_scu:
            if self.to_scp:
                self.scp.receive_data(self.to_scp.pop(0))
                out = sent(self.scp)
                if out:
                    self.to_scu.append(out)
            if self.to_scu:
                self.scu.receive_data(self.to_scu.pop(0))
                out = sent(self.scu)
                if out:
                    self.to_scp.append(out)
        self.scu_events += self.scu.events()
        self.scp_events += self.scp.events()

    def scu_send(self, event: ev.InputEvent) -> None:
        self.scu.send(event)
        out = sent(self.scu)
        if out:
            self.to_scp.append(out)

    def scp_send(self, event: ev.InputEvent) -> None:
        self.scp.send(event)
        out = sent(self.scp)
        if out:
            self.to_scu.append(out)

    def associate(self, rq: AAssociateRQ | None = None) -> AAssociateAC:
        self.scp.connection_made()
        assert sent(self.scp) == b""
        self.scu_send(ev.AssociateRequest(rq or make_rq()))
        self.scu.connection_made()
        self.to_scp.append(sent(self.scu))
        self.pump()
        (req,) = self.scp_events
        assert isinstance(req, ev.AssociateRequested)
        self.scp_events.clear()
        ac = accept(req.pdu, CONFIG)
        assert isinstance(ac, AAssociateAC)
        self.scp_send(ev.AssociateAccept(ac))
        self.pump()
        (acc,) = self.scu_events
        assert isinstance(acc, ev.AssociateAccepted)
        self.scu_events.clear()
        return ac

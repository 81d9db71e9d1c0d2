"""Frozen option values for the network driver: timeouts, limits, TLS (one per AE / call).

Nothing here is module-level mutable state: build an :class:`AEConfig` (or use the defaults)
and pass it to :class:`~dicomkit.net.AE`; change one field with ``dataclasses.replace``.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field

#: Our default Maximum Length (PS3.8 D.1): the largest P-DATA-TF variable field we accept.
DEFAULT_MAX_PDU = 262_144


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds; ``None`` waits forever.

    ``connect``: TCP (and TLS) connection set-up. ``acse``: association request/accept and
    release exchanges (also the ARTIM timer of PS3.8 9.1.5 fed to the engine). ``dimse``: how
    long an SCU waits for a response, and an SCP for the rest of a message once it started.
    ``idle``: an association with no traffic for this long is released/aborted.
    """

    connect: float | None = 30.0
    acse: float | None = 30.0
    dimse: float | None = 60.0
    idle: float | None = 300.0


@dataclass(frozen=True, slots=True)
class TLSConfig:
    """TLS for an AE: an ``ssl.SSLContext`` for each side (see :mod:`dicomkit.net.tls`).

    ``server_hostname`` is checked by the client when its context has ``check_hostname``.
    """

    client: ssl.SSLContext | None = None
    server: ssl.SSLContext | None = None
    server_hostname: str | None = None


@dataclass(frozen=True, slots=True)
class AEConfig:
    """Everything an application entity needs that is not a handler.

    ``max_pdu``: the Maximum Length we advertise (what we are willing to receive).
    ``max_associations``: simultaneous associations an SCP accepts (more are rejected,
    transient, "local limit exceeded"). ``max_buffered``: bytes of a data set one association
    may hold in memory before it is streamed to disk or refused (streamed C-STORE data sets do
    not count). ``write_buffer``: bytes queued on a socket before the writer waits (back-
    pressure). ``require_called_aet``: reject associations whose called AE title is not ours.
    ``accept_any_transfer_syntax``: accept the first proposed transfer syntax we know.
    """

    ae_title: str = "DICOMKIT"
    max_pdu: int = DEFAULT_MAX_PDU
    timeouts: Timeouts = field(default_factory=Timeouts)
    max_associations: int = 64
    max_buffered: int = 64 * 1024 * 1024
    write_buffer: int = 1024 * 1024
    require_called_aet: bool = False
    tls: TLSConfig | None = None


__all__ = ["DEFAULT_MAX_PDU", "AEConfig", "TLSConfig", "Timeouts"]

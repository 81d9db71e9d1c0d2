"""``dicomkit echo HOST PORT``: C-ECHO a peer (PS3.4 A), like DCMTK's echoscu.

It runs the protocol engine over a blocking socket (:mod:`dicomkit.net._blocking`): no event
loop to import or start, so a one-shot echo costs little more than the interpreter's start;
``--repeat N`` reuses the request's bytes on the one association.

Also home of the network options shared by ``echo``, ``store`` and ``receive``
(:func:`add_network_options`, :func:`config_from_args`).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import itertools
import sys
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dicomkit.net._config import AEConfig

#: the network stack is imported when a command runs, not when ``dicomkit --help`` builds its
#: parser (keep in step with dicomkit.net._config.DEFAULT_MAX_PDU)
DEFAULT_MAX_PDU = 262_144


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """While a one-shot command talks to its peer, the cyclic garbage collector leaves what
    start-up made alone (``gc.freeze``: it lives to the end anyway); undone afterwards, for
    callers that run commands in process."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def port_number(text: str) -> int:
    """argparse type of a port to connect to: 1-65535 (anything else is a usage error)."""
    return _port(text, low=1)


def listen_port(text: str) -> int:
    """argparse type of a port to listen on: 0-65535 (0: any free port)."""
    return _port(text, low=0)


def _port(text: str, *, low: int) -> int:
    try:
        number = int(text.strip(), 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a TCP port number") from None
    if not low <= number <= 65535:
        raise argparse.ArgumentTypeError(f"port {number} is out of range ({low}-65535)")
    return number


def add_network_options(parser: argparse.ArgumentParser, *, server: bool = False) -> None:
    """--aet, --max-pdu, TLS and timeout options (and --aec, user identity for clients)."""
    net = parser.add_argument_group("network")
    net.add_argument(
        "--aet",
        default="DICOMKIT" if not server else "STORESCP",
        help="our AE title (default %(default)s)",
    )
    if not server:
        net.add_argument("--aec", default="ANY-SCP", help="called AE title (default %(default)s)")
    net.add_argument(
        "--max-pdu",
        type=int,
        default=DEFAULT_MAX_PDU,
        metavar="BYTES",
        help="maximum PDU length we receive (default %(default)s)",
    )
    net.add_argument("--connect-timeout", type=float, default=30.0, metavar="S")
    net.add_argument(
        "--acse-timeout",
        type=float,
        default=30.0,
        metavar="S",
        help="association set-up / release timeout (ARTIM)",
    )
    net.add_argument("--dimse-timeout", type=float, default=60.0, metavar="S")
    net.add_argument("--idle-timeout", type=float, default=300.0, metavar="S")
    tls = parser.add_argument_group("TLS (PS3.15 B.1)")
    tls.add_argument("--tls-cert", metavar="PEM", help="our certificate (enables TLS)")
    tls.add_argument("--tls-key", metavar="PEM", help="our private key")
    tls.add_argument(
        "--tls-ca",
        metavar="PEM",
        help="CA to verify the peer with"
        + (" (clients must present a certificate)" if server else " (enables TLS)"),
    )
    if not server:
        tls.add_argument(
            "--tls-no-verify",
            action="store_true",
            help="TLS without verifying the server certificate",
        )
        who = parser.add_argument_group("user identity (PS3.7 D.3.3.7)")
        who.add_argument(
            "--username", "--user", metavar="NAME", help="send this user name when associating"
        )
        who.add_argument(
            "--password", metavar="PASSCODE", help="and this passcode (only with --username)"
        )
        who.add_argument(
            "--pos-response",
            action="store_true",
            help="ask the SCP for a positive user identity response",
        )


def config_from_args(args: Any, *, server: bool = False) -> AEConfig:
    """An :class:`AEConfig` from parsed network options."""
    from dicomkit.net._config import AEConfig, Timeouts, TLSConfig

    tls_config = None
    if args.tls_cert or args.tls_ca or getattr(args, "tls_no_verify", False):
        from dicomkit.net import _tls as dktls  # ssl loads only for TLS
    if server and args.tls_cert:
        ctx = dktls.server_context(
            cert=args.tls_cert,
            key=args.tls_key,
            ca=args.tls_ca,
            require_client_cert=bool(args.tls_ca),
        )
        tls_config = TLSConfig(server=ctx)
    elif not server and (args.tls_cert or args.tls_ca or args.tls_no_verify):
        ctx = dktls.client_context(
            ca=args.tls_ca, cert=args.tls_cert, key=args.tls_key, verify=not args.tls_no_verify
        )
        tls_config = TLSConfig(client=ctx)
    identity = None
    username = getattr(args, "username", None)
    if username is not None:
        from dicomkit.net._config import UserIdentity

        password = getattr(args, "password", None)
        identity = UserIdentity(
            UserIdentity.USERNAME_PASSCODE if password is not None else UserIdentity.USERNAME,
            username,
            password or b"",
            bool(getattr(args, "pos_response", False)),
        )
    elif getattr(args, "password", None) is not None:
        print("dicomkit: --password needs --username", file=sys.stderr)
        raise SystemExit(2)
    return AEConfig(
        ae_title=args.aet,
        max_pdu=args.max_pdu,
        tls=tls_config,
        user_identity=identity,
        timeouts=Timeouts(
            connect=args.connect_timeout,
            acse=args.acse_timeout,
            dimse=args.dimse_timeout,
            idle=args.idle_timeout,
        ),
    )


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "echo",
        help="C-ECHO a DICOM peer (verification)",
        description="Send C-ECHO requests on one association.",
    )
    p.add_argument("host")
    p.add_argument("port", type=port_number)
    p.add_argument(
        "-r",
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help="send N C-ECHOs on the one association (default 1)",
    )
    add_network_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # a blocking socket drives the protocol engine: no event loop (asyncio) to import or run;
    # the cyclic collector waits while the modules load (their objects live to the end)
    collecting = gc.isenabled()
    gc.disable()
    try:
        from dicomkit.net._blocking import associate
        from dicomkit.net.proto._status import describe
    finally:
        if collecting:
            gc.enable()

    repeat = max(args.repeat, 1)
    statuses: list[int] = []
    clock = time.perf_counter
    config = config_from_args(args)
    with frozen_heap(), associate(args.host, args.port, config, ae_title=args.aec) as assoc:
        marks = [clock()]  # one reading between two echoes: each one's time is a difference
        for _ in range(repeat):
            statuses.append(assoc.echo_status())
            marks.append(clock())
    seconds = [end - start for start, end in itertools.pairwise(marks)]
    for status, took in zip(statuses, seconds, strict=True):
        if status != 0 or args.repeat <= 10:
            print(
                f"C-ECHO {args.aec}@{args.host}:{args.port}: {describe(status, 'verification')} "
                f"({took * 1000:.1f} ms)"
            )
    if args.repeat > 10:
        total = sum(seconds)
        print(
            f"{len(statuses)} C-ECHOs, {sum(s == 0 for s in statuses)} "
            f"succeeded, {len(statuses) / total:.0f}/s",
            file=sys.stdout,
        )
    return 0 if all(s == 0 for s in statuses) else 1

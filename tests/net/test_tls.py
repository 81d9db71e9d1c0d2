"""TLS (PS3.15 B.1): server-authenticated and mutually authenticated associations."""

from __future__ import annotations

import asyncio
import datetime
import logging
import ssl
from pathlib import Path

import pytest

from dicomkit.errors import NetworkError, TransportError
from dicomkit.net import AE, AEConfig, TLSConfig
from dicomkit.net import _tls as dktls

x509 = pytest.importorskip("cryptography.x509")


def _write_pki(folder: Path) -> dict[str, Path]:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, as PEM files."""
    import ipaddress

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def make(
        cn: str, issuer: x509.Name | None, issuer_key: object | None, ca: bool, san: bool = False
    ) -> tuple[object, x509.Certificate]:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(name(cn))
            .issuer_name(issuer or name(cn))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if san:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False,
            )
        cert = builder.sign(issuer_key or key, hashes.SHA256())  # type: ignore[arg-type]
        return key, cert

    ca_key, ca_cert = make("dicomkit test CA", None, None, True)
    files = {}
    for label, (key, cert) in {
        "ca": (ca_key, ca_cert),
        "server": make("server", ca_cert.subject, ca_key, False, san=True),
        "client": make("client", ca_cert.subject, ca_key, False),
    }.items():
        files[f"{label}_cert"] = folder / f"{label}.pem"
        files[f"{label}_cert"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        files[f"{label}_key"] = folder / f"{label}.key"
        files[f"{label}_key"].write_bytes(
            key.private_bytes(  # type: ignore[attr-defined]
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return files


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return _write_pki(tmp_path_factory.mktemp("pki"))


def test_tls_echo_server_auth(pki: dict[str, Path]) -> None:
    async def main() -> None:
        server_ctx = dktls.server_context(cert=pki["server_cert"], key=pki["server_key"])
        server = await AE("SCP", config=AEConfig(tls=TLSConfig(server=server_ctx))).serve(0)
        async with server:
            client_ctx = dktls.client_context(ca=pki["ca_cert"])
            async with AE("SCU", config=AEConfig(tls=TLSConfig(client=client_ctx))).associate(
                "127.0.0.1", server.port
            ) as assoc:
                assert (await assoc.echo()).status == 0
            # a client that does not trust the CA is refused during the handshake
            with pytest.raises(TransportError):
                await AE("SCU").associate(
                    "127.0.0.1", server.port, ssl_context=ssl.create_default_context()
                )

    asyncio.run(main())


def test_tls_mutual_auth(pki: dict[str, Path]) -> None:
    async def main() -> None:
        server_ctx = dktls.server_context(
            cert=pki["server_cert"],
            key=pki["server_key"],
            ca=pki["ca_cert"],
            require_client_cert=True,
        )
        server = await AE("SCP").serve(0, ssl_context=server_ctx)
        async with server:
            good = dktls.client_context(
                ca=pki["ca_cert"], cert=pki["client_cert"], key=pki["client_key"]
            )
            async with AE("SCU").associate("127.0.0.1", server.port, ssl_context=good) as assoc:
                assert (await assoc.echo()).status == 0
            anonymous = dktls.client_context(ca=pki["ca_cert"])
            with pytest.raises(NetworkError):
                async with AE("SCU").associate(
                    "127.0.0.1", server.port, ssl_context=anonymous
                ) as assoc:
                    await assoc.echo()
            async with AE("SCU").associate("127.0.0.1", server.port, ssl_context=good) as assoc:
                assert (await assoc.echo()).status == 0  # still serving

    asyncio.run(main())


def test_require_client_cert_needs_ca(pki: dict[str, Path]) -> None:
    with pytest.raises(ValueError):
        dktls.server_context(
            cert=pki["server_cert"], key=pki["server_key"], require_client_cert=True
        )


def test_blocking_requestor_and_cli_echo_over_tls(
    pki: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """``dicomkit echo``'s blocking requestor over TLS, the server verified by our CA."""
    from dicomkit.cli._main import main
    from dicomkit.net._blocking import associate
    from dicomkit.net._sync import SyncAE

    server_ctx = dktls.server_context(cert=pki["server_cert"], key=pki["server_key"])
    with (
        SyncAE("SCP", config=AEConfig(tls=TLSConfig(server=server_ctx))) as ae,
        ae.serve(0) as server,
    ):
        client = AEConfig(tls=TLSConfig(client=dktls.client_context(ca=pki["ca_cert"])))
        with associate("127.0.0.1", server.port, client) as assoc:
            assert [assoc.echo_status() for _ in range(5)] == [0] * 5
        port = str(server.port)
        assert main(["echo", "127.0.0.1", port, "--tls-ca", str(pki["ca_cert"]), "-r", "2"]) == 0
        assert capsys.readouterr().out.count("Success") == 2
    root = logging.getLogger()  # the CLI's handler writes to this test's captured stderr
    for handler in [h for h in root.handlers if h.get_name() == "dicomkit-cli"]:
        root.removeHandler(handler)

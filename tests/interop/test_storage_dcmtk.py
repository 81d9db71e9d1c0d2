"""Interop with DCMTK (echoscu, storescu, storescp by absolute path, TCP_NODELAY=1).

DCMTK as SCU against our SCP, our SCU against DCMTK's storescp, over several transfer
syntaxes including compressed corpus files; every stored file is compared element by element
with its original. TLS both ways with DCMTK's ``+tls`` options.
"""

from __future__ import annotations

import datetime
import ipaddress
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import peers
import pytest
from corpus import manifest

from dicomkit.net import AEConfig, TLSConfig
from dicomkit.net import _tls as dktls
from dicomkit.net._sync import SyncAE
from dicomkit.net.proto import _dimse as dimse
from dicomkit.services._storage import (
    StorageSCP,
    contexts_for,
    read_instance,
    store,
    store_files,
)

pytestmark = pytest.mark.interop
VERIFICATION = "1.2.840.10008.1.1"

#: transfer syntax -> the storescu option that proposes it
PROPOSE = {
    "1.2.840.10008.1.2": "-xi",
    "1.2.840.10008.1.2.1": "-xe",
    "1.2.840.10008.1.2.2": "-xb",
    "1.2.840.10008.1.2.4.70": "-xs",
    "1.2.840.10008.1.2.4.51": "-xx",
    "1.2.840.10008.1.2.4.90": "-xv",
    "1.2.840.10008.1.2.4.91": "-xw",
    "1.2.840.10008.1.2.4.80": "-xt",
    "1.2.840.10008.1.2.5": "-xr",
    "1.2.840.10008.1.2.1.99": "-xd",
}


def corpus_by_ts() -> dict[str, Path]:
    chosen: dict[str, tuple[int, Path]] = {}
    for row in manifest():
        if row.broken or not row.preamble or row.ts not in PROPOSE or "Directory" in row.sop:
            continue
        size = row.path.stat().st_size
        if size < 2_000_000 and (row.ts not in chosen or size < chosen[row.ts][0]):
            chosen[row.ts] = (size, row.path)
    if not chosen:
        pytest.skip("corpus not available")
    return {ts: path for ts, (_, path) in chosen.items()}


NATIVE = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2"}


def assert_same(original: Path, stored: Path, *, converted_ok: bool = False) -> None:
    pydicom = peers.require_module("pydicom")
    a, b = pydicom.dcmread(original), pydicom.dcmread(stored)
    tags_a = [e.tag for e in a if e.tag & 0xFFFF]
    assert tags_a == [e.tag for e in b if e.tag & 0xFFFF]
    for tag in tags_a:
        ea, eb = a[tag], b[tag]
        if ea.VR == "SQ":
            assert len(ea.value) == len(eb.value), tag
        elif "UN" not in (ea.VR, eb.VR):
            assert ea.value == eb.value, tag
    if converted_ok and a.file_meta.TransferSyntaxUID in NATIVE:
        assert b.file_meta.TransferSyntaxUID in NATIVE  # the peer chose another native syntax
    else:
        assert b.file_meta.TransferSyntaxUID == a.file_meta.TransferSyntaxUID


@pytest.fixture
def our_scp(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    out = tmp_path / "received"
    with (
        SyncAE("OURSCP") as ae,
        ae.serve(0, {dimse.CStoreRequest: StorageSCP(out, fsync=False)}) as server,
    ):
        yield server.port, out


def test_echoscu_against_our_scp(our_scp: tuple[int, Path]) -> None:
    port, _ = our_scp
    proc = peers.run_dcmtk("echoscu", "-v", "-aec", "OURSCP", "127.0.0.1", str(port))
    assert "Received Echo Response (Success)" in proc.stdout + proc.stderr


@pytest.mark.parametrize("ts", sorted(PROPOSE))
def test_storescu_against_our_scp(our_scp: tuple[int, Path], ts: str) -> None:
    files = corpus_by_ts()
    if ts not in files:
        pytest.skip(f"no corpus file in {ts}")
    port, out = our_scp
    path = files[ts]
    peers.run_dcmtk("storescu", PROPOSE[ts], "-R", "127.0.0.1", str(port), str(path))
    inst = read_instance(path)
    stored = out / f"{inst.sop_instance}.dcm"
    assert stored.exists(), list(out.iterdir())
    assert read_instance(stored).transfer_syntax == ts
    assert_same(path, stored)


def test_storescu_many_files_one_association(our_scp: tuple[int, Path]) -> None:
    port, out = our_scp
    files = [
        p for ts, p in corpus_by_ts().items() if ts in ("1.2.840.10008.1.2", "1.2.840.10008.1.2.1")
    ]
    rows = [
        r.path
        for r in manifest()
        if r.ts in ("1.2.840.10008.1.2", "1.2.840.10008.1.2.1")
        and not r.broken
        and r.preamble
        and "Directory" not in r.sop
    ][:20]
    # only files DCMTK itself can parse (some corpus files are deliberately odd)
    rows = [
        p
        for p in rows
        if subprocess.run(
            [peers.dcmtk("dcmdump"), "-q", str(p)], capture_output=True, check=False
        ).returncode
        == 0
    ][:12]
    peers.run_dcmtk("storescu", "-R", "127.0.0.1", str(port), *map(str, rows + files))
    for path in rows:
        assert (out / f"{read_instance(path).sop_instance}.dcm").exists()


@pytest.fixture
def storescp(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    out = tmp_path / "dcmtk"
    out.mkdir()
    port = peers.free_port()
    with peers.dcmtk_server(
        "storescp", "-od", str(out), "+xa", "-aet", "STORESCP", str(port), port=port
    ):
        yield port, out


def _stored_by_dcmtk(out: Path, sop_instance: str) -> Path:
    matches = [p for p in out.iterdir() if p.name.endswith(sop_instance)]
    assert len(matches) == 1, list(out.iterdir())
    return matches[0]


def test_our_scu_against_storescp(storescp: tuple[int, Path]) -> None:
    port, out = storescp
    instances = [read_instance(p) for p in corpus_by_ts().values()]
    with (
        SyncAE("OURSCU") as ae,
        ae.associate(
            "127.0.0.1",
            port,
            ae_title="STORESCP",
            contexts=[*contexts_for(instances), VERIFICATION],
        ) as assoc,
    ):
        assert assoc.echo().status == 0
        results = ae.runner.run(store_files(assoc.association, instances))
    assert all(r.ok for r in results), [(r.path, r.status, r.error) for r in results]
    for inst in instances:
        stored = _stored_by_dcmtk(out, inst.sop_instance)
        assert_same(inst.path, stored, converted_ok=True)


def test_our_cli_echo_and_store_against_storescp(storescp: tuple[int, Path]) -> None:
    from dicomkit.cli._main import main

    port, out = storescp
    assert main(["echo", "127.0.0.1", str(port), "--aec", "STORESCP", "--repeat", "3"]) == 0
    path = corpus_by_ts()["1.2.840.10008.1.2.1"]
    assert main(["store", "127.0.0.1", str(port), str(path), "--aec", "STORESCP"]) == 0
    assert_same(path, _stored_by_dcmtk(out, read_instance(path).sop_instance), converted_ok=True)


# -- TLS ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    folder = tmp_path_factory.mktemp("pki")
    now = datetime.datetime.now(datetime.UTC)

    def cert(cn: str, issuer: Any, issuer_key: Any, ca: bool) -> tuple[Any, Any]:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
        b = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer or subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False,
            )
        )
        return key, b.sign(issuer_key or key, hashes.SHA256())

    ca_key, ca = cert("CA", None, None, True)
    files: dict[str, Path] = {}
    for name, (key, c) in {
        "ca": (ca_key, ca),
        "server": cert("server", ca.subject, ca_key, False),
        "client": cert("client", ca.subject, ca_key, False),
    }.items():
        files[name] = folder / f"{name}.pem"
        files[name].write_bytes(c.public_bytes(serialization.Encoding.PEM))
        files[name + "_key"] = folder / f"{name}.key"
        files[name + "_key"].write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )
    return files


def _dcmtk_has_tls() -> bool:
    proc = subprocess.run(
        [peers.dcmtk("echoscu"), "--help"], capture_output=True, text=True, check=False
    )
    return "--enable-tls" in proc.stdout


def test_tls_dcmtk_scu_against_our_scp(pki: dict[str, Path], tmp_path: Path) -> None:
    if not _dcmtk_has_tls():
        peers.missing("DCMTK built with TLS")
    server_ctx = dktls.server_context(
        cert=pki["server"], key=pki["server_key"], ca=pki["ca"], require_client_cert=True
    )
    out = tmp_path / "tls"
    with (
        SyncAE("OURSCP", config=AEConfig(tls=TLSConfig(server=server_ctx))) as ae,
        ae.serve(0, {dimse.CStoreRequest: StorageSCP(out, fsync=False)}) as server,
    ):
        tls = ["+tls", str(pki["client_key"]), str(pki["client"]), "+cf", str(pki["ca"])]
        peers.run_dcmtk("echoscu", *tls, "127.0.0.1", str(server.port))
        path = corpus_by_ts()["1.2.840.10008.1.2.1"]
        peers.run_dcmtk("storescu", *tls, "-R", "127.0.0.1", str(server.port), str(path))
    assert_same(path, out / f"{read_instance(path).sop_instance}.dcm")


def test_tls_our_scu_against_dcmtk_storescp(pki: dict[str, Path], tmp_path: Path) -> None:
    if not _dcmtk_has_tls():
        peers.missing("DCMTK built with TLS")
    out = tmp_path / "dcmtk-tls"
    out.mkdir()
    port = peers.free_port()
    args = [
        "+tls",
        str(pki["server_key"]),
        str(pki["server"]),
        "+cf",
        str(pki["ca"]),
        "-od",
        str(out),
        "+xa",
        str(port),
    ]
    with peers.dcmtk_server("storescp", *args, port=port):
        ctx = dktls.client_context(ca=pki["ca"], cert=pki["client"], key=pki["client_key"])
        path = corpus_by_ts()["1.2.840.10008.1.2.1"]
        inst = read_instance(path)
        with (
            SyncAE("OURSCU", config=AEConfig(tls=TLSConfig(client=ctx))) as ae,
            ae.associate(
                "127.0.0.1", port, contexts=[*contexts_for([inst]), VERIFICATION]
            ) as assoc,
        ):
            assert assoc.echo().status == 0
            assert assoc.call(store, path).status == 0
    assert_same(path, _stored_by_dcmtk(out, inst.sop_instance), converted_ok=True)
